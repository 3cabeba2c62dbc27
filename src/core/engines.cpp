// What each serving engine loads: the loaded_by bits of weight_format_table (format_table.hpp;
// docs/engines.md, "Weight formats each engine loads").
#include "vramcalc/engine.hpp"

namespace vramcalc {

namespace {

// The table's bit for an engine; 0 for generic, which loads every format.
std::uint8_t loaded_by_bit(EngineKind engine) {
  switch (engine) {
  case EngineKind::generic: return loaded_by_no_engine;
  case EngineKind::vllm: return loaded_by_vllm;
  case EngineKind::llamacpp: return loaded_by_llamacpp;
  }
  return loaded_by_no_engine;
}

} // namespace

bool engine_loads(EngineKind engine, const WeightFormat& f) {
  if (engine == EngineKind::generic) return true;
  // A model's own files: llama.cpp runs GGUF files, vLLM safetensors (its GGUF loading is
  // experimental and not modelled).
  if (f.kind == FormatKind::file) return f.file && f.file->gguf == (engine == EngineKind::llamacpp);
  for (const WeightFormatTraits& row : weight_format_table) {
    // Rows of one kind agree on their engines (format_table.hpp checks it); plain ones are
    // told apart by their dtype.
    if (row.kind != f.kind || (row.kind == FormatKind::plain && row.dtype != f.dtype)) continue;
    return (row.loaded_by & loaded_by_bit(engine)) != 0;
  }
  return false;
}

} // namespace vramcalc
