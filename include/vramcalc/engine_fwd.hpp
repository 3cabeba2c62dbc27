// What every engine's header (engine_<id>.hpp) starts from: the types its options, results
// and plans are made of, and the declarations of what its section builder and renderers take
// but it does not define. One list, so an engine's header holds only its own.
#pragma once

#include "vramcalc/dtype.hpp"
#include "vramcalc/engine_option.hpp"
#include "vramcalc/format.hpp"
#include "vramcalc/gpu.hpp"
#include "vramcalc/model.hpp"
#include "vramcalc/placement.hpp"

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc {

// A separate draft model (vLLM's draft_model method, llama.cpp's -md, vramcalc's --draft): its
// spec and the format its weights are in, resolved by the application.
struct DraftModel {
  ModelSpec spec;
  WeightFormat format;
  std::string name; // as given
};


// Declared elsewhere: the report's engine section and fit row (report.hpp), the settings
// (estimate.hpp), the renderers' options (render.hpp) and their private text style and JSON
// object (src/report).
struct EngineSection;
struct EngineVerdict;
struct FitRow;
struct Report;
struct RenderOptions;
struct Settings;
enum class UnitSystem;
namespace detail {
struct Style;
struct JsonObject;
} // namespace detail

} // namespace vramcalc
