#include "vramcalc/render.hpp"
#include "vramcalc/units.hpp"

#include <fmt/format.h>

namespace vramcalc {

namespace {
double as_double(std::uint64_t v) { return static_cast<double>(v); }
} // namespace

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&apos;"; break;
    default: out += c;
    }
  }
  return out;
}

std::string format_bytes(std::uint64_t bytes, UnitSystem units) {
  // GiB (GB) from 1 GiB (1 GB) up, so tables compare at a glance; smaller values at
  // their own scale rather than as "0.00 GiB".
  const std::uint64_t giga = units == UnitSystem::si ? GB : GiB;
  if (bytes < giga) return format_bytes_auto(bytes, units);
  if (units == UnitSystem::si) return fmt::format("{:.2f} GB", as_double(bytes) / as_double(GB));
  return fmt::format("{:.2f} GiB", as_double(bytes) / as_double(GiB));
}

std::string format_bytes_auto(std::uint64_t bytes, UnitSystem units) {
  const bool si = units == UnitSystem::si;
  const double k = si ? 1000.0 : 1024.0;
  static constexpr const char* binary[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  static constexpr const char* decimal[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  double v = as_double(bytes);
  std::size_t u = 0;
  while (v >= k && u < 6) {
    v /= k;
    ++u;
  }
  if (u == 0) return fmt::format("{} B", bytes);
  return fmt::format("{:.2f} {}", v, si ? decimal[u] : binary[u]);
}

std::string format_params(std::uint64_t params) {
  const double p = as_double(params);
  if (params >= 1'000'000'000'000ull) return fmt::format("{:.2f}T", p / 1e12);
  if (params >= 1'000'000'000ull) return fmt::format("{:.2f}B", p / 1e9);
  if (params >= 1'000'000ull) return fmt::format("{:.1f}M", p / 1e6);
  return with_commas(params);
}

} // namespace vramcalc
