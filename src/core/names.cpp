#include "vramcalc/names.hpp"

#include <algorithm>
#include <cctype>
#include <tuple>

namespace vramcalc {

namespace {
char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

std::string_view family_of(std::string_view s) {
  const auto dash = s.rfind('-');
  return dash == std::string_view::npos ? s : s.substr(0, dash);
}
} // namespace

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (std::size_t j = 0; j <= m; ++j) prev[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1])) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[m];
}

std::vector<std::string> suggest(std::string_view typed, std::span<const NameCandidate> candidates,
                                 std::size_t limit) {
  // Names are short: a longer "name" is no typo of one, and comparing it would cost its
  // length times every candidate's (a 1 MiB name took 35 s).
  if (typed.size() > max_suggested_name_bytes) return {};
  const std::size_t threshold = std::max<std::size_t>(2, typed.size() / 4);
  const std::string typed_family = to_lower(family_of(typed));
  struct Scored {
    std::size_t distance;
    bool other_family;
    std::size_t length;
    std::string_view id;
  };
  std::vector<Scored> scored;
  for (const auto& c : candidates) {
    // The distance is at least the difference in length: skip without the table.
    const std::size_t gap = typed.size() > c.key.size() ? typed.size() - c.key.size() : c.key.size() - typed.size();
    if (gap > threshold || c.key.size() > max_suggested_name_bytes) continue;
    const std::size_t d = edit_distance(typed, c.key);
    if (d > threshold) continue;
    scored.push_back({d, to_lower(family_of(c.key)) != typed_family, c.id.size(), c.id});
  }
  std::sort(scored.begin(), scored.end(), [](const Scored& x, const Scored& y) {
    return std::tie(x.distance, x.other_family, x.length, x.id) <
           std::tie(y.distance, y.other_family, y.length, y.id);
  });
  std::vector<std::string> out;
  for (const auto& s : scored) {
    if (s.distance != scored.front().distance || s.other_family != scored.front().other_family) break;
    if (std::find(out.begin(), out.end(), s.id) != out.end()) continue;
    out.emplace_back(s.id);
    if (out.size() == limit) break;
  }
  return out;
}

} // namespace vramcalc
