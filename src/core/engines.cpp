// What each serving engine loads (docs/engines.md, "Weight formats each engine loads").
#include "vramcalc/engine.hpp"

namespace vramcalc {

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
