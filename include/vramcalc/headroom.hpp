// The signed room between what a GPU has and what a plan needs, in bytes: one rule for the
// engines' fit rows (src/core) and their renderers' verdicts (src/report).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

namespace vramcalc {

// have - need as a signed quantity, saturated at the int64 range (2^63 bytes is far beyond
// any GPU, but a wrapped number must never reach a verdict).
[[nodiscard]] constexpr std::int64_t headroom_bytes(std::uint64_t have, std::uint64_t need) {
  constexpr auto cap = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  return have >= need ? static_cast<std::int64_t>(std::min(have - need, cap))
                      : -static_cast<std::int64_t>(std::min(need - have, cap));
}

static_assert(headroom_bytes(5, 3) == 2 && headroom_bytes(3, 5) == -2);
static_assert(headroom_bytes(UINT64_MAX, 0) == std::numeric_limits<std::int64_t>::max());
static_assert(headroom_bytes(0, UINT64_MAX) == -std::numeric_limits<std::int64_t>::max());

} // namespace vramcalc
