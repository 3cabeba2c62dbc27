// io::parse_safetensors over a memory source: a header whose tensors lie inside the file,
// or an Error with a message.
#include "fuzz_util.hpp"

#include "vramcalc/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using vramcalc::fuzz::check;
  const std::string_view bytes = vramcalc::fuzz::as_text(data, size);
  const auto set = vramcalc::io::parse_safetensors(vramcalc::io::memory_source(bytes), "fuzz.safetensors");
  if (!set) {
    check(!set.error().message.empty(), "a refused file says why");
    return 0;
  }
  for (const auto& t : set->tensors) {
    check(t.begin <= t.end, "a tensor's data_offsets are ordered");
    check(t.end <= size, "a tensor ends inside the file");
  }
  check(set->tensor_bytes() <= size, "the tensors fit in the file");
  return 0;
}
