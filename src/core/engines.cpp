// What each serving engine loads (docs/engines.md, "Weight formats each engine loads").
#include "vramcalc/engine.hpp"

#include "engine_sections.hpp"

#include "vramcalc/names.hpp"

#include <algorithm>
#include <stdexcept>

namespace vramcalc {

std::optional<EngineKind> find_engine(std::string_view name) {
  for (const EngineTraits& e : engine_table) {
    if (iequals(name, e.id) || (!e.alias.empty() && iequals(name, e.alias))) return e.kind;
  }
  return std::nullopt;
}

std::string engine_ids() {
  std::string out;
  for (std::size_t i = 0; i < std::size(engine_table); ++i) {
    out += std::string(i == 0 ? "" : i + 1 == std::size(engine_table) ? " or " : ", ") + std::string(engine_table[i].id);
  }
  return out;
}

bool engine_takes_kv(EngineKind engine, Dtype kv) {
  const auto dtypes = engine_traits(engine).kv_dtypes;
  return dtypes.empty() || std::find(dtypes.begin(), dtypes.end(), kv) != dtypes.end();
}

bool engine_loads(EngineKind engine, const WeightFormat& f) {
  switch (engine) {
  case EngineKind::generic: return true;
  case EngineKind::vllm:
    // vLLM's quantization methods (vllm/model_executor/layers/quantization/__init__.py):
    // fp8, compressed-tensors (W8A8, W4A16, NVFP4), gptq / awq (Marlin), bitsandbytes,
    // mxfp4 (gpt-oss), modelopt (NVFP4). GGUF is experimental there (one file, dequantized
    // at load for some types) and not modelled; ExLlamaV2 is not loaded at all.
    switch (f.kind) {
    case FormatKind::plain:
    case FormatKind::fp8:
    case FormatKind::int_channel:
    case FormatKind::int_group:
    case FormatKind::bnb4:
    case FormatKind::bnb8:
    case FormatKind::mxfp4:
    case FormatKind::nvfp4: return true;
    case FormatKind::file: return f.file && !f.file->gguf;
    case FormatKind::exl2:
    case FormatKind::gguf: return false;
    }
    return false;
  case EngineKind::llamacpp:
    // GGUF files; a plain float format means the GGUF of that type (convert_hf_to_gguf.py
    // writes f32, f16 and bf16).
    switch (f.kind) {
    case FormatKind::gguf: return true;
    case FormatKind::file: return f.file && f.file->gguf;
    case FormatKind::plain: return f.dtype == Dtype::f32 || f.dtype == Dtype::f16 || f.dtype == Dtype::bf16;
    default: return false;
    }
  }
  return false;
}

} // namespace vramcalc

// ---- the engines' part of an estimate -----------------------------------------------

namespace vramcalc::detail {

EngineSection engine_section(const ModelSpec& model, const Settings& settings, const Parallel& layout) {
  switch (settings.engine) {
  case EngineKind::vllm: return vllm_section(model, settings, layout);
  case EngineKind::llamacpp: return llamacpp_section(model, settings);
  case EngineKind::generic: break;
  }
  throw std::logic_error("engine_section: the generic estimate has no engine section");
}

std::uint32_t engine_most_gpus(EngineKind engine, const ModelSpec& model) {
  switch (engine) {
  case EngineKind::llamacpp:
    // It splits by layers: more GPUs than layers + the output layer hold nothing more.
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(model.num_layers + 1, 64));
  case EngineKind::vllm:
  case EngineKind::generic: break;
  }
  return 64;
}

} // namespace vramcalc::detail
