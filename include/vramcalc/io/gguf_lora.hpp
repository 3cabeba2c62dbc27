// The side files llama-server loads beside a model: a LoRA adapter GGUF
// (convert_lora_to_gguf.py) as llama.cpp loads it, its lora_a / lora_b pairs, each with the
// layer of the base tensor it modifies (docs/engines.md, llama.cpp "LoRA adapters"); and a
// multimodal projector (--mmproj FILE.gguf), its tensors' bytes.
#pragma once

#include "vramcalc/engine_llamacpp.hpp"
#include "vramcalc/io/gguf.hpp"

namespace vramcalc::io {

// The adapter of `file` for `spec`: general.type "adapter" and adapter.type "lora" (else
// llama.cpp refuses it), every tensor `<base>.lora_a` / `<base>.lora_b` paired (`*_norm.weight`
// skipped, as llama.cpp does), `blk.N.` bases placed at layer N (N within the model's layers),
// `output.weight` at the output layer and the rest on the CPU. Errors name the file.
[[nodiscard]] std::expected<LlamaCppLora, Error> llamacpp_lora_from_gguf(const GgufFile& file, const ModelSpec& spec);

// The same read from a path: the header only (the tensor data is not read).
[[nodiscard]] std::expected<LlamaCppLora, Error> read_llamacpp_lora(const std::string& path, const ModelSpec& spec);

// A multimodal projector file (convert_hf_to_gguf.py --mmproj) as clip.cpp loads it: its
// tensors' bytes (ggml_nbytes summed: clip_model_loader::load_tensors allocates them all in one
// buffer) and their count. general.architecture must be "clip" (else it is not a projector).
// Its clip.projector_type and, for gemma3 (the projector whose compute buffer is measured), the
// tower at the warmup image clip.cpp uses (image_size: (image_size / patch_size)^2 patches) when
// the rule covers it (2,304 patches or more, 2 blocks or more).
struct LlamaCppMmproj {
  std::uint64_t bytes = 0;
  std::uint64_t tensors = 0;
  std::string projector;              // "" when the file has no clip.projector_type
  std::optional<ClipTower> clip;
};
[[nodiscard]] std::expected<LlamaCppMmproj, Error> llamacpp_mmproj_from_gguf(const GgufFile& file);
[[nodiscard]] std::expected<LlamaCppMmproj, Error> read_llamacpp_mmproj(const std::string& path);

} // namespace vramcalc::io
