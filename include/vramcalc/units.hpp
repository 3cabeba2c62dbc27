// Exact integer quantities: checked arithmetic, and parsing of the sizes users type.
//
// Bytes, element counts and tokens are std::uint64_t. Every product or sum that could
// exceed 64 bits goes through checked_mul / checked_add, which throw OverflowError
// (never wrap). Units (GiB, GB) appear only when parsing input and rendering output.
#pragma once

#include "vramcalc/error.hpp"

#include <cstdint>
#include <expected>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc {

// Thrown by the checked arithmetic when an exact result does not fit in 64 bits.
// The only way the pure math can fail; estimate() turns it into an Error.
class OverflowError : public std::overflow_error {
public:
  explicit OverflowError(const std::string& what) : std::overflow_error(what) {}
};

// Runs `f`, turning the checked arithmetic's OverflowError into an Error (code overflow): the
// one place where the pure math's only exception becomes a value.
template <typename F>
[[nodiscard]] auto overflow_as_error(F&& f) -> std::expected<decltype(f()), Error> {
  try {
    return f();
  } catch (const OverflowError& e) {
    return std::unexpected(Error{ErrorCode::overflow, e.what()});
  }
}

[[nodiscard]] inline std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b,
                                               const char* what = "a byte count") {
  std::uint64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) {
    throw OverflowError(std::string(what) + " does not fit in 64 bits");
  }
  return r;
}

[[nodiscard]] inline std::uint64_t checked_add(std::uint64_t a, std::uint64_t b,
                                               const char* what = "a byte count") {
  std::uint64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) {
    throw OverflowError(std::string(what) + " does not fit in 64 bits");
  }
  return r;
}

// ceil(a / b) for b > 0, without the a + b - 1 overflow.
[[nodiscard]] constexpr std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) {
  return a / b + (a % b != 0 ? 1 : 0);
}

// Rounds a up to a multiple of m (m > 0), checked.
[[nodiscard]] inline std::uint64_t round_up(std::uint64_t a, std::uint64_t m) {
  return checked_mul(ceil_div(a, m), m, "a padded size");
}

inline constexpr std::uint64_t KiB = 1024;
inline constexpr std::uint64_t MiB = 1024 * KiB;
inline constexpr std::uint64_t GiB = 1024 * MiB;
inline constexpr std::uint64_t TiB = 1024 * GiB;
inline constexpr std::uint64_t GB = 1000ull * 1000 * 1000;

// Largest context accepted anywhere: 2^40 tokens.
inline constexpr std::uint64_t max_context_tokens = 1ull << 40;

// "70,553,706,496": digits grouped by three, for messages and tables.
[[nodiscard]] std::string with_commas(std::uint64_t v);

// Parses a token count: "131072", "128k"/"128K" (x1024), "1m"/"1M" (x1048576),
// with optional '_' or ',' digit separators. Rejects 0, negatives, fractions and
// anything above max_context_tokens. The error text says what is wrong, without the flag.
[[nodiscard]] std::expected<std::uint64_t, Error> parse_tokens(std::string_view text);

// Parses a positive count (sequences, GPUs): digits only, 1 .. limit.
[[nodiscard]] std::expected<std::uint64_t, Error> parse_count(std::string_view text,
                                                                    std::uint64_t limit);

// Parses a memory size: "80GB" (10^9), "80GiB" (2^30), "512MiB", "1.5GiB", plain digits =
// bytes. A bare "24G" is rejected as ambiguous (tools disagree on it). Fractions are exact
// decimal: "1.5GiB" = 1,610,612,736 bytes; a part of a byte left over is rounded down.
// A refused text is an ErrorCode::invalid_argument whose message says why, without the flag.
[[nodiscard]] std::expected<std::uint64_t, Error> parse_size(std::string_view text);

// Parses a percentage "5%" into a (numerator, 10000) fraction in basis points.
[[nodiscard]] std::expected<std::uint64_t, Error> parse_percent_bp(std::string_view text);

// Parses a fraction in (0, 1] into millionths: "0.9" = 900000, "0.8455555" rounded at the
// seventh digit. The error text says what is wrong, without the flag.
[[nodiscard]] std::expected<std::uint32_t, Error> parse_fraction_ppm(std::string_view text);

// Splits "a, b,c" into its trimmed entries; an empty entry, or digits grouped by thousands
// ("32,000", one number, not a list), is refused. The error text is without the flag.
[[nodiscard]] std::expected<std::vector<std::string>, Error> parse_list(std::string_view text);

} // namespace vramcalc
