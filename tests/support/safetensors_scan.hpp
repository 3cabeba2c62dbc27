// The safetensors header scanner (src/io/safetensors_header.cpp) as the tests and the fuzz
// target compare it with the reader it replaced: its refusal (a LoadFailure) as the message.
#pragma once

#include "io/safetensors_header.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace vramcalc::test {

// Reads `text` into `set`; the scanner's message when it refuses, nullopt when it reads it.
inline std::optional<std::string> scan_safetensors_header(std::string_view text, const std::string& origin,
                                                          io::SafetensorsSet& set) {
  try {
    io::detail::read_safetensors_header(text, origin, set);
  } catch (const io::detail::LoadFailure& f) {
    return f.error.message;
  }
  return std::nullopt;
}

} // namespace vramcalc::test
