// parse_weight_format (and parse_dtype) on any name: a format whose canonical id parses
// back to itself, or an error.
#include "fuzz_util.hpp"

#include "vramcalc/format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vramcalc;
  using fuzz::check;
  const std::string_view name = fuzz::as_text(data, size);
  (void)parse_dtype(name);
  for (const Dtype native : {Dtype::bf16, Dtype::f16, Dtype::f32}) {
    const auto format = parse_weight_format(name, native);
    if (!format) {
      check(!format.error().message.empty(), "a refused format says why");
      continue;
    }
    check(!format->id.empty(), "a format has an id");
    const auto again = parse_weight_format(format->id, native);
    check(again && again->id == format->id && again->kind == format->kind, "a format's id names the same format");
  }
  return 0;
}
