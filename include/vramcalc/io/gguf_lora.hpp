// A LoRA adapter GGUF (convert_lora_to_gguf.py) as llama.cpp loads it: its lora_a / lora_b
// pairs, each with the layer of the base tensor it modifies (docs/engines.md, llama.cpp "LoRA
// adapters").
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

} // namespace vramcalc::io
