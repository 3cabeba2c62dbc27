// What each serving engine loads: the loaded_by bits of weight_format_table (format_table.hpp;
// docs/engines.md, "Weight formats each engine loads").
#include "vramcalc/engine.hpp"

#include "engine_sections.hpp"

#include "vramcalc/names.hpp"

#include <algorithm>
#include <variant>
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
  if (engine == EngineKind::generic) return true;
  // A model's own files: llama.cpp runs GGUF files, vLLM safetensors (its GGUF loading is
  // experimental and not modelled).
  if (f.kind == FormatKind::file) return f.file && f.file->gguf == (engine == EngineKind::llamacpp);
  for (const WeightFormatTraits& row : weight_format_table) {
    // Rows of one kind agree on their engines (format_table.hpp checks it); plain ones are
    // told apart by their dtype.
    if (row.kind != f.kind || (row.kind == FormatKind::plain && row.dtype != f.dtype)) continue;
    return (row.loaded_by & engine_traits(engine).loaded_by) != 0;
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
  case EngineKind::sglang: return sglang_section(model, settings, layout);
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
  case EngineKind::sglang:
  case EngineKind::generic: break;
  }
  return 64;
}

namespace {
void decide(FitRow& row, const EngineSection& e, const VllmSection& v, std::uint64_t batch) { vllm_decide(row, e, v, batch); }
void decide(FitRow& row, const EngineSection&, const LlamaCppSection& l, std::uint64_t) { llamacpp_decide(row, l); }
void decide(FitRow& row, const EngineSection& e, const SglangSection& s, std::uint64_t batch) { sglang_decide(row, e, s, batch); }
} // namespace

void engine_decide(FitRow& row, const EngineSection& e, std::uint64_t batch) {
  std::visit([&](const auto& alternative) { decide(row, e, alternative, batch); }, e.detail);
}

} // namespace vramcalc::detail
