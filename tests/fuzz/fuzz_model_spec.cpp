// io::parse_model_spec on any bytes: a ModelSpec whose layers were expanded, or an Error
// with a message. Never a crash, an exception or a sanitizer report.
#include "fuzz_util.hpp"

#include "vramcalc/io/model_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using vramcalc::fuzz::check;
  const auto spec = vramcalc::io::parse_model_spec(vramcalc::fuzz::as_text(data, size), "fuzz.json");
  if (!spec) {
    check(!spec.error().message.empty(), "a refused spec says why");
    return 0;
  }
  check(spec->layers.size() == spec->num_layers, "a parsed spec has one LayerSpec per layer");
  return 0;
}
