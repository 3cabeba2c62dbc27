// Errors that reach the user: a stable code (for JSON consumers) and a message that says
// what is wrong and where (file, JSON path, flag).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace vramcalc {

enum class ErrorCode {
  invalid_argument, // a flag or positional value
  unknown_model,
  unknown_gpu,
  invalid_model,    // a model spec file
  invalid_catalog,  // the GPU catalog or a models directory
  io,               // a file could not be read
  overflow,         // an exact quantity does not fit in 64 bits
  output,           // the output could not be written (a full disk, a closed stdout): exit 74
};

[[nodiscard]] std::string_view error_code_name(ErrorCode code);

struct Error {
  Error() = default;
  Error(ErrorCode c, std::string m, std::string f = {}, std::uint64_t l = 0, std::uint64_t col = 0)
      : code(c), message(std::move(m)), file(std::move(f)), line(l), column(col) {}

  ErrorCode code = ErrorCode::invalid_argument;
  std::string message;
  // The input file the error is in, and where (1-based; 0: not known), for CI annotations.
  std::string file;
  std::uint64_t line = 0, column = 0;
};

} // namespace vramcalc
