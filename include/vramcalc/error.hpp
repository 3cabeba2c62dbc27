// Errors that reach the user: a stable code (for JSON consumers) and a message that says
// what is wrong and where (file, JSON path, flag).
#pragma once

#include <string>
#include <string_view>

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
  ErrorCode code;
  std::string message;
};

} // namespace vramcalc
