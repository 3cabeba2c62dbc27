// io::parse_safetensors over a memory source: a header whose tensors lie inside the file,
// or an Error with a message. And the header scanner against the reader it replaced
// (tests/support/safetensors_reference.hpp): on the file's JSON header (or, when the input
// has no valid length prefix, the whole input as a header), the same tensors and metadata or
// the same message.
#include "fuzz_util.hpp"

#include "../support/safetensors_reference.hpp"
#include "../support/safetensors_scan.hpp"
#include "io/safetensors_header.hpp"
#include "vramcalc/io/safetensors.hpp"

#include <algorithm>

namespace {

void compare_with_reference(std::string_view text) {
  using vramcalc::fuzz::check;
  namespace io = vramcalc::io;
  const auto ref = vramcalc::test::reference::read_header(text, "fuzz.safetensors");
  io::SafetensorsSet set;
  const std::string message = vramcalc::test::scan_safetensors_header(text, "fuzz.safetensors", set).value_or("");
  if (!ref) {
    if (message != ref.error()) std::fprintf(stderr, "previous: %s\nscanner: %s\n", ref.error().c_str(), message.c_str());
    check(message == ref.error(), "the scanner refuses with the previous reader's message");
    return;
  }
  if (!message.empty()) std::fprintf(stderr, "scanner: %s\n", message.c_str());
  check(message.empty(), "the scanner reads what the previous reader read");
  check(set.metadata == ref->metadata, "the same metadata");
  check(set.tensors.size() == ref->tensors.size(), "the same number of tensors");
  for (std::size_t i = 0; i < set.tensors.size(); ++i) {
    const auto& t = set.tensors[i];
    const auto& r = ref->tensors[i];
    check(t.name == r.name && t.dtype == r.dtype && std::ranges::equal(t.shape, r.shape) && t.begin == r.begin &&
              t.end == r.end,
          "the same tensors, in the same order");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using vramcalc::fuzz::check;
  const std::string_view bytes = vramcalc::fuzz::as_text(data, size);
  const auto set = vramcalc::io::parse_safetensors(vramcalc::io::memory_source(bytes), "fuzz.safetensors");
  if (!set) {
    check(!set.error().message.empty(), "a refused file says why");
  } else {
    for (const auto& t : set->tensors) {
      check(t.begin <= t.end, "a tensor's data_offsets are ordered");
      check(t.end <= size, "a tensor ends inside the file");
    }
    check(set->tensor_bytes() <= size, "the tensors fit in the file");
  }
  std::uint64_t n = 0;
  for (int i = 7; i >= 0 && size >= 8; --i) n = (n << 8) | data[i];
  compare_with_reference(size >= 8 && n <= size - 8 ? bytes.substr(8, static_cast<std::size_t>(n)) : bytes);
  return 0;
}
