#include "vramcalc/text.hpp"

#include "vramcalc/units.hpp"

namespace vramcalc {

namespace {

// Length of the UTF-8 sequence at s[i] (1..4) when it is valid, shortest-form, not a
// surrogate and at most U+10FFFF; 0 otherwise.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0; // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0; // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0; // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0; // above U+10FFFF
    return 4;
  }
  return 0;
}

// Whether the valid sequence of `n` bytes at s[i] must be escaped anyway.
bool unsafe(std::string_view s, std::size_t i, std::size_t n) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (n == 1) return c < 0x20 || c == 0x7F;
  if (n == 2) return c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0; // C1 controls
  if (n == 3 && c == 0xE2) {
    const auto c1 = static_cast<unsigned char>(s[i + 1]), c2 = static_cast<unsigned char>(s[i + 2]);
    if (c1 == 0x80 && c2 >= 0xAA && c2 <= 0xAE) return true; // U+202A..U+202E
    if (c1 == 0x81 && c2 >= 0xA6 && c2 <= 0xA9) return true; // U+2066..U+2069
  }
  return false;
}

void append_escaped(std::string& out, std::string_view s, std::size_t i, std::size_t n) {
  static constexpr char hex[] = "0123456789abcdef";
  for (std::size_t k = 0; k < n; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    out += "\\x";
    out += hex[c >> 4];
    out += hex[c & 15];
  }
}

} // namespace

std::string terminal_safe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_length(text, i);
    if (n == 0) {
      append_escaped(out, text, i, 1);
      ++i;
      continue;
    }
    if (unsafe(text, i, n)) append_escaped(out, text, i, n);
    else out.append(text.substr(i, n));
    i += n;
  }
  return out;
}

bool needs_escaping(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_length(text, i);
    if (n == 0 || unsafe(text, i, n)) return true;
    i += n;
  }
  return false;
}

std::string excerpt(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return terminal_safe(text);
  std::size_t cut = max_bytes;
  // Back up to a character boundary (at most three continuation bytes).
  for (int k = 0; k < 3 && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80; ++k) --cut;
  return terminal_safe(text.substr(0, cut)) + "\u2026 (" + with_commas(text.size()) + " bytes)";
}

} // namespace vramcalc
