// The parsers of what users type: sizes, token counts, counts and percentages. Each gives
// a value in its documented range or an error; token counts read back the same.
#include "fuzz_util.hpp"

#include "vramcalc/units.hpp"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vramcalc;
  using fuzz::check;
  const std::string_view text = fuzz::as_text(data, size);

  if (const auto tokens = parse_tokens(text)) {
    check(*tokens >= 1 && *tokens <= max_context_tokens, "a token count is in 1 .. 2^40");
    const auto again = parse_tokens(std::to_string(*tokens));
    check(again && *again == *tokens, "a token count reads back from its digits");
  } else {
    check(!tokens.error().message.empty(), "a refused token count says why");
  }
  for (const std::uint64_t limit : {std::uint64_t{1}, std::uint64_t{1024}, std::uint64_t{1} << 32, ~std::uint64_t{0}}) {
    if (const auto n = parse_count(text, limit)) check(*n >= 1 && *n <= limit, "a count is in 1 .. limit");
  }
  if (const auto bytes = parse_size(text)) check(*bytes <= (std::uint64_t{1} << 62), "a size is at most 2^62 bytes");
  if (const auto bp = parse_percent_bp(text)) check(*bp <= 10000, "a percentage is at most 100%");
  return 0;
}
