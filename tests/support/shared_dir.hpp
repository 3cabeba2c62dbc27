// Where the shared reference material lives: $VRAMCALC_SHARED_DIR, else ../shared next to
// the repository. Tests tagged [shared] skip when it is absent (VRAMCALC_SKIP, skip.hpp).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace vramcalc::test {

inline std::string shared_dir() {
  if (const char* env = std::getenv("VRAMCALC_SHARED_DIR"); env != nullptr && *env != '\0') return env;
  // VRAMCALC_TEST_DATA is <repo>/tests/data
  return (std::filesystem::path(VRAMCALC_TEST_DATA) / ".." / ".." / ".." / "shared").lexically_normal().string();
}

} // namespace vramcalc::test
