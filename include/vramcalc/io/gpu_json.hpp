// Loads the GPU catalog (format vramcalc-gpus/1, docs/gpus.md) from JSON text.
#pragma once

#include "vramcalc/error.hpp"
#include "vramcalc/gpu.hpp"

#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc::io {

struct GpuCatalog {
  std::string revision;
  std::vector<GpuSpec> gpus;
};

[[nodiscard]] std::expected<GpuCatalog, Error> parse_gpu_catalog(std::string_view text, std::string_view origin);

} // namespace vramcalc::io
