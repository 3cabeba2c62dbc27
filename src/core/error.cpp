#include "vramcalc/error.hpp"

namespace vramcalc {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
  case ErrorCode::invalid_argument: return "invalid_argument";
  case ErrorCode::unknown_model: return "unknown_model";
  case ErrorCode::unknown_gpu: return "unknown_gpu";
  case ErrorCode::invalid_model: return "invalid_model";
  case ErrorCode::invalid_catalog: return "invalid_catalog";
  case ErrorCode::io: return "io";
  case ErrorCode::overflow: return "overflow";
  case ErrorCode::output: return "output";
  }
  return "error";
}

} // namespace vramcalc
