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

std::string engine_flag_names(EngineKind kind) {
  std::string out;
  bool more = false;
  const auto specs = engine_option_specs(kind);
  for (std::uint8_t rank = 1; rank <= 3; ++rank) {
    for (const EngineOptionSpec& s : specs) {
      if (s.named_rank == rank) out += (out.empty() ? "" : ", ") + std::string(s.flag());
    }
  }
  for (const EngineOptionSpec& s : specs) more = more || (s.on_command_line && s.named_rank == 0);
  return more ? out + ", ..." : out;
}

bool engine_takes_kv(EngineKind engine, Dtype kv) {
  const auto dtypes = engine_traits(engine).kv_dtypes;
  return dtypes.empty() || std::find(dtypes.begin(), dtypes.end(), kv) != dtypes.end();
}

bool engine_loads(EngineKind engine, const WeightFormat& f) {
  if (engine == EngineKind::generic) return true;
  // A model's own files: llama.cpp (and Ollama over it) runs GGUF files, vLLM safetensors (its GGUF loading is
  // experimental and not modelled).
  if (f.kind == FormatKind::file) return f.file && f.file->gguf == (engine_traits(engine).loaded_by == loaded_by_llamacpp);
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
  const auto section = engine_traits(settings.engine).section;
  if (section == nullptr) throw std::logic_error("engine_section: the generic estimate has no engine section");
  EngineSection e = section(model, settings, layout);
  // The second constraint: the host's memory, when given, must hold what the engine keeps there.
  e.host_mem_bytes = settings.host_mem_bytes;
  e.gpu_fits = e.fits;
  if (settings.host_mem_bytes && e.host_bytes > *settings.host_mem_bytes) {
    e.host_fits = false;
    e.fits = false;
  }
  return e;
}

std::uint32_t engine_most_gpus(EngineKind engine, const ModelSpec& model) {
  const auto most = engine_traits(engine).most_gpus;
  return most == nullptr ? 64 : most(model);
}

void engine_decide(FitRow& row, const EngineSection& e, std::uint64_t batch) {
  // Each engine's engine_decide, by its section's type (engine_<id>.hpp).
  std::visit([&](const auto& alternative) { engine_decide(row, e, alternative, batch); }, e.detail);
  if (!e.host_fits) row.fits = false; // the host's memory does not hold what the engine keeps there
}

} // namespace vramcalc::detail
