#include "vramcalc/units.hpp"

#include <cctype>

namespace vramcalc {

std::string with_commas(std::uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}
namespace {

__extension__ typedef unsigned __int128 u128; // exact intermediate products

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

struct Decimal {
  std::uint64_t mantissa = 0; // all digits, integer and fraction, as one integer
  std::uint64_t scale = 1;    // 10^(digits after the point)
  std::string_view suffix;
};

// Splits "1.5GiB" into 15 / 10 and "GiB". Digit separators '_' and ',' are allowed
// between digits. Fails on no digits, a sign, or more than 18 significant digits.
std::expected<Decimal, std::string> split_decimal(std::string_view text) {
  Decimal d;
  std::size_t i = 0;
  bool any = false, point = false;
  int digits = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c >= '0' && c <= '9') {
      if (++digits > 18) return std::unexpected("too many digits in " + quoted(text));
      d.mantissa = d.mantissa * 10 + static_cast<std::uint64_t>(c - '0');
      if (point) d.scale *= 10;
      any = true;
    } else if ((c == '_' || c == ',') && any && i + 1 < text.size() &&
               std::isdigit(static_cast<unsigned char>(text[i + 1])) && !point) {
      // separator between digits
    } else if (c == '.' && !point && any) {
      point = true;
    } else {
      break;
    }
    ++i;
  }
  if (!any) return std::unexpected("no number");
  d.suffix = text.substr(i);
  return d;
}

std::unexpected<Error> refused(std::string message) {
  return std::unexpected(Error{ErrorCode::invalid_argument, std::move(message)});
}

} // namespace

std::expected<std::uint64_t, Error> parse_tokens(std::string_view text) {
  const std::string_view original = text;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if (text.empty()) return refused("expected a token count, got an empty value");
  if (text.front() == '-') {
    return refused(quoted(original) + " is negative; a token count must be at least 1");
  }
  auto d = split_decimal(text);
  const std::string hint = " (examples: 8192, 128k, 1m)";
  if (!d) return refused(quoted(original) + " is not a token count" + hint);
  std::uint64_t mult = 1;
  if (d->suffix.empty()) {
    mult = 1;
  } else if (ieq(d->suffix, "k")) {
    mult = 1024;
  } else if (ieq(d->suffix, "m")) {
    mult = 1024 * 1024;
  } else if (ieq(d->suffix, "g")) {
    mult = 1024ull * 1024 * 1024;
  } else {
    return refused(quoted(original) + " is not a token count" + hint);
  }
  u128 v = static_cast<u128>(d->mantissa) * mult;
  if (v % d->scale != 0) {
    return refused(quoted(original) + " is not a whole number of tokens");
  }
  v /= d->scale;
  if (v == 0) return refused(quoted(original) + " is zero; a token count must be at least 1");
  if (v > max_context_tokens) {
    return refused(quoted(original) +
                           " is more than the largest context accepted (2^40 = 1,099,511,627,776 tokens)");
  }
  return static_cast<std::uint64_t>(v);
}

std::expected<std::uint64_t, Error> parse_count(std::string_view text, std::uint64_t limit) {
  if (text.empty()) return refused("expected a number, got an empty value");
  if (text.front() == '-') return refused(quoted(text) + " is negative; it must be at least 1");
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return refused(quoted(text) + " is not a whole number");
    // v * 10 + d <= limit exactly when v <= (limit - d) / 10: no step can wrap, whatever
    // the limit (up to 2^64 - 1).
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (d > limit || v > (limit - d) / 10) return refused(quoted(text) + " is more than " + std::to_string(limit));
    v = v * 10 + d;
  }
  if (v == 0) return refused(quoted(text) + " is zero; it must be at least 1");
  return v;
}

std::expected<std::uint64_t, Error> parse_size(std::string_view text) {
  const std::string_view original = text;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  const std::string hint = " (examples: 24GiB, 80GB, 512MiB)";
  if (text.empty()) return refused("expected a memory size, got an empty value");
  if (text.front() == '-') return refused(quoted(original) + " is negative");
  auto d = split_decimal(text);
  if (!d) return refused(quoted(original) + " is not a memory size" + hint);
  std::string_view s = d->suffix;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  struct Unit {
    std::string_view name;
    std::uint64_t mult;
  };
  static constexpr Unit units[] = {
      {"", 1},           {"b", 1},
      {"kib", KiB},      {"kb", 1000},
      {"mib", MiB},      {"mb", 1000 * 1000},
      {"gib", GiB},      {"gb", GB},
      {"tib", TiB},      {"tb", 1000 * GB},
  };
  struct Bare {
    std::string_view name, decimal, binary;
  };
  static constexpr Bare bare_units[] = {{"k", "kB (10^3)", "KiB (2^10)"},
                                        {"m", "MB (10^6)", "MiB (2^20)"},
                                        {"g", "GB (10^9)", "GiB (2^30)"},
                                        {"t", "TB (10^12)", "TiB (2^40)"}};
  for (const auto& b : bare_units) {
    if (ieq(s, b.name)) {
      return refused(quoted(original) + " has an ambiguous unit '" + std::string(s) + "': write " +
                             std::string(b.decimal) + " or " + std::string(b.binary));
    }
  }
  for (const auto& u : units) {
    if (!ieq(s, u.name)) continue;
    // A fraction of a byte is rounded down: "0.35GiB" is 375,809,638 bytes.
    u128 v = static_cast<u128>(d->mantissa) * u.mult / d->scale;
    if (v > (static_cast<u128>(1) << 62)) {
      return refused(quoted(original) + " is too large");
    }
    return static_cast<std::uint64_t>(v);
  }
  return refused(quoted(original) + " has an unknown unit" + hint);
}

std::expected<std::uint64_t, Error> parse_percent_bp(std::string_view text) {
  if (text.empty() || text.back() != '%') return refused(quoted(text) + " is not a percentage");
  auto d = split_decimal(text.substr(0, text.size() - 1));
  if (!d || !d->suffix.empty()) return refused(quoted(text) + " is not a percentage");
  u128 v = static_cast<u128>(d->mantissa) * 100;
  if (v % d->scale != 0) return refused(quoted(text) + " has more than two decimals");
  v /= d->scale;
  if (v > 10000) return refused(quoted(text) + " is more than 100%");
  return static_cast<std::uint64_t>(v);
}

std::expected<std::uint32_t, Error> parse_fraction_ppm(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return std::unexpected(Error{ErrorCode::invalid_argument, quoted(text) + " " + std::string(why)});
  };
  std::size_t i = 0;
  std::uint64_t whole = 0, frac_ppm = 0, digits = 0;
  bool round_up_last = false, any = false;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, any = true) {
    if (whole > 10) return bad("is more than 1");
    whole = whole * 10 + static_cast<std::uint64_t>(text[i] - '0');
  }
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits, any = true) {
      if (digits < 6) frac_ppm = frac_ppm * 10 + static_cast<std::uint64_t>(text[i] - '0');
      else if (digits == 6) round_up_last = text[i] >= '5';
    }
  }
  if (!any || i != text.size()) return bad("is not a decimal fraction such as 0.9 or 0.845");
  for (std::uint64_t d = digits; d < 6; ++d) frac_ppm *= 10;
  const std::uint64_t ppm = whole * 1'000'000 + frac_ppm + (round_up_last ? 1 : 0);
  if (ppm > 1'000'000) return bad("is more than 1");
  if (ppm == 0) return bad("is not more than 0");
  return static_cast<std::uint32_t>(ppm);
}

std::expected<std::vector<std::string>, Error> parse_list(std::string_view value) {
  const auto bad = [&](std::string message) { return std::unexpected(Error{ErrorCode::invalid_argument, std::move(message)}); };
  // "32,000" is a thousands separator, not the list 32 and 000.
  {
    std::size_t i = 0, group = 0;
    bool separated = false, digits_only = !value.empty() && value.size() <= 64;
    for (; i < value.size() && digits_only; ++i) {
      if (value[i] == ',') {
        digits_only = group >= 1 && group <= 3 && (!separated || group == 3);
        separated = true;
        group = 0;
      } else {
        digits_only = std::isdigit(static_cast<unsigned char>(value[i])) != 0;
        ++group;
      }
    }
    if (digits_only && separated && group == 3) {
      std::string plain;
      for (char c : value) {
        if (c != ',') plain += c;
      }
      return bad(quoted(value) + " is a list of " + std::string(value.substr(0, value.find(','))) +
                 " and more; for one number write " + plain + " (no thousands separators)");
    }
  }
  std::vector<std::string> out;
  std::string_view rest = value;
  while (true) {
    const auto comma = rest.find(',');
    std::string_view one = rest.substr(0, comma);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
    if (one.empty()) return bad(quoted(value) + " has an empty entry");
    out.emplace_back(one);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

} // namespace vramcalc
