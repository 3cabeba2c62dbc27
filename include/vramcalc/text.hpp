// Text that came from a file or a flag, made safe to show. One policy per destination
// (docs/reliability.md, "Text from files"): the renderers and the error printer apply it;
// the loaders quote untrusted text in messages only through `excerpt`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vramcalc {

// For a terminal (and every text format printed to one): each byte of a control character
// (C0, DEL, the C1 range U+0080..U+009F), of a bidirectional override or isolate
// (U+202A..U+202E, U+2066..U+2069), or of a sequence that is not UTF-8 is shown as \xNN;
// everything else is kept. The result holds no byte below 0x20, no DEL and only valid UTF-8.
[[nodiscard]] std::string terminal_safe(std::string_view text);

// Whether terminal_safe would change `text`.
[[nodiscard]] bool needs_escaping(std::string_view text);

// Untrusted text quoted in a message: at most `max_bytes` of it (cut at a character
// boundary), made terminal_safe, and when cut followed by "... (N bytes)". The result is
// at most 4 * max_bytes + 32 bytes, whatever the input.
inline constexpr std::size_t excerpt_bytes = 80;
[[nodiscard]] std::string excerpt(std::string_view text, std::size_t max_bytes = excerpt_bytes);

} // namespace vramcalc
