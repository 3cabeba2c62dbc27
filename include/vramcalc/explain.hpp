// `vramcalc explain`: the arithmetic behind an estimate, as numbers a reader can redo by
// hand: every distinct tensor (shape, type, bytes), the KV cache per kind of layer, the
// recurrent state, the totals. The same functions as estimate() compute each number.
#pragma once

#include "vramcalc/dtype.hpp"
#include "vramcalc/estimate.hpp"
#include "vramcalc/kv.hpp"
#include "vramcalc/model.hpp"
#include "vramcalc/tensors.hpp"

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

namespace vramcalc {

// Tensors of one role, shape and storage type, and how many there are.
struct ExplainTensor {
  std::string name;            // GGUF role name with its kind: "attn_q.weight"
  TensorGroup group;
  std::uint64_t ne0 = 0, ne1 = 1, ne2 = 1;
  Dtype dtype = Dtype::bf16;
  std::uint64_t bytes_each = 0; // storage of one, scales included
  std::uint64_t count = 0;      // in how many layers (1 for tensors outside the blocks)
};

// Layers that cache the same way.
struct ExplainKvGroup {
  AttentionKind kind = AttentionKind::full;
  std::uint64_t layers = 0;
  std::uint64_t window = 0;          // sliding / chunked
  std::uint64_t kv_heads = 0, head_dim_k = 0, head_dim_v = 0;
  std::uint64_t mla_rank = 0, mla_rope = 0; // MLA: kv_lora_rank and qk_rope_head_dim (0: not MLA)
  std::uint64_t bytes_per_token = 0; // one layer
  std::uint64_t tokens_held = 0;     // per sequence
  std::uint64_t bytes = 0;           // all layers of the group, all sequences
};

// A llama.cpp LoRA adapter as loaded (--lora FILE or --lora RANK[xN]): its lora_a / lora_b
// pairs and their ggml_nbytes summed, before each is padded in its device's buffer.
struct ExplainAdapter {
  std::string name;
  std::uint64_t rank = 0;  // --lora RANK; 0: read from a file
  std::uint64_t pairs = 0;
  std::uint64_t bytes = 0;
};

struct Explanation {
  std::vector<ExplainTensor> tensors;
  std::vector<ExplainKvGroup> kv;
  Dtype kv_dtype = Dtype::f16;
  std::uint64_t state_layers = 0, state_bytes_per_layer = 0; // per sequence
  StateElements state;                                      // one layer's
  std::vector<ExplainAdapter> adapters;                     // --engine llamacpp with --lora: each adapter
  // --engine llamacpp: the options whose steps the plan's figures do not name by themselves.
  std::optional<Dtype> mmproj_dtype;   // --mmproj f16|bf16|f32 (the vision tower's parameters at that size)
  std::string mmproj_file;             // --mmproj FILE.gguf
  std::uint64_t mmproj_tensors = 0;    // its tensors
  bool no_kv_offload = false;          // -nkvo
  Report report;                                            // the estimate the numbers add up to
};

// Fails, like estimate(), only when an exact quantity does not fit in 64 bits.
[[nodiscard]] std::expected<Explanation, Error> explain(const ModelSpec& model, const Settings& settings, std::span<const GpuSpec> catalog);

} // namespace vramcalc
