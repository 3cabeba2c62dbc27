// io::parse_hf_config (and looks_like_hf_config) on any bytes: a ModelSpec with warnings,
// or an Error with a message.
#include "fuzz_util.hpp"

#include "vramcalc/io/hf_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using vramcalc::fuzz::check;
  const std::string_view text = vramcalc::fuzz::as_text(data, size);
  (void)vramcalc::io::looks_like_hf_config(text);
  const auto imported = vramcalc::io::parse_hf_config(text, "fuzz/config.json", "fuzz");
  if (!imported) {
    check(!imported.error().message.empty(), "a refused config says why");
    return 0;
  }
  check(imported->spec.layers.size() == imported->spec.num_layers, "an imported spec has one LayerSpec per layer");
  return 0;
}
