// Name matching shared by every lookup: case-insensitive equality and "did you mean".
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc {

[[nodiscard]] bool iequals(std::string_view a, std::string_view b);
[[nodiscard]] std::string to_lower(std::string_view s);

// Optimal-string-alignment edit distance (insert, delete, substitute, swap neighbours),
// case-insensitive.
[[nodiscard]] std::size_t edit_distance(std::string_view a, std::string_view b);

// A candidate a typo may have meant: `key` is what is compared, `id` what is suggested
// (several keys, e.g. aliases, may share an id).
struct NameCandidate {
  std::string_view key;
  std::string_view id;
};

// Names longer than this get no suggestions (and are not compared): each comparison costs
// the product of the two lengths.
inline constexpr std::size_t max_suggested_name_bytes = 256;

// The ids closest to `typed`: those within an edit distance of max(2, |typed| / 4), best
// first; among equally distant ones, candidates whose family (the part before the last
// '-') matches the typed one come first, then shorter ones. Only the best tier is kept,
// at most `limit` ids, each once. Time: at most the candidates times 256 x 256 steps.
[[nodiscard]] std::vector<std::string> suggest(std::string_view typed,
                                               std::span<const NameCandidate> candidates,
                                               std::size_t limit = 5);

} // namespace vramcalc
