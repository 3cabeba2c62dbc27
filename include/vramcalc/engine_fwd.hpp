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
  // Sized by the engine alone (TensorRT-LLM's EAGLE-3 head: a layer, fc and a head of its own
  // sharing the target's embedding, not a model to load whole): the generic estimate leaves it
  // out, as it leaves out vLLM's EAGLE heads.
  bool engine_only = false;
};

// What --cpu-offload-gb moves off one GPU (of one pipeline stage) in vLLM (V0's
// maybe_offload_to_cpu, V1's UVAOffloader) and SGLang (utils/offloader.py OffloaderV1), which
// walk alike: make_layers hands each decoder layer of the stage in turn to the offloader, which
// moves the layer's parameters (module.parameters() order) while the bytes moved so far are
// below the budget. All zero without a budget.
struct CpuOffload {
  std::uint64_t budget_bytes = 0;   // int(G x 2^30), per GPU
  std::uint64_t bytes = 0;          // the parameters offloaded (>= budget unless every layer's fit under it)
  std::uint64_t params = 0;         // how many parameters (the fused ones: qkv_proj, gate_up_proj, w13, ...)
  std::uint64_t layers = 0;         // decoder layers touched (the last one possibly in part)
  std::uint64_t largest_layer_bytes = 0; // one layer's offloaded parameters, the most (copied back per forward)
  std::uint64_t v_slot_bytes = 0;   // of `bytes`, Gemma 4's V slots in qkv_proj (k_eq_v layers), not in the weights
  bool ignored = false;             // vLLM: the release's V2 model runner never installs the offloader
};

// The walk on one GPU of pipeline stage `stage` under tensor parallel `p`, `budget_bytes` per
// GPU (src/core/engine_vllm.cpp, with the parameters' order of the model definitions SGLang
// ported from vLLM).
[[nodiscard]] CpuOffload cpu_offload_walk(const ModelSpec& spec, const WeightFormat& format, const Parallel& p,
                                          std::uint32_t stage, std::uint64_t budget_bytes);

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
