// Writing a file the user named (--plot). Reading files: FileSource (gguf.hpp) and
// read_text_file (catalog.hpp), both through one safe open.
#pragma once

#include "vramcalc/error.hpp"

#include <expected>
#include <string>
#include <string_view>

namespace vramcalc::io {

// Writes `text` to `path` whole or not at all: a new temporary file beside it (O_EXCL, never
// through a link), written, synced, then renamed over `path`. Only a new path or an
// existing regular file the user owns and may write is replaced; a directory, device, FIFO,
// socket or symbolic link, another user's file or a read-only one is refused
// (ErrorCode::invalid_argument) and left untouched. A write that fails (a full disk) is
// ErrorCode::output; the temporary file is removed. Messages start with 'PATH'.
[[nodiscard]] std::expected<void, Error> write_output_file(const std::string& path, std::string_view text);

} // namespace vramcalc::io
