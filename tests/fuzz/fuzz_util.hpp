// Shared by the fuzz targets: the input as text, and oracle checks that abort (so libFuzzer
// records the input) with a message saying which property broke.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace vramcalc::fuzz {

// The targets that run estimate() skip specs with more layers: its cost is linear in layers
// times the layouts it tries, so a spec of 4,096 layers (max_model_layers, allowed by the
// loaders) takes a second per run under the sanitizers and would stall the fuzzer on one
// input. The largest real models have a few hundred layers.
inline constexpr std::uint64_t max_estimated_layers = 1024;

[[nodiscard]] inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

inline void check(bool ok, const char* property) {
  if (ok) return;
  std::fprintf(stderr, "fuzz property violated: %s\n", property);
  std::abort();
}

} // namespace vramcalc::fuzz
