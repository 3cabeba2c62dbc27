// KV-cache bytes, summed layer by layer.
//
// Per layer and token: K row + V row, each kv_heads x head_dim elements of the KV dtype
// (block types count their scales: q8_0 is 34 bytes per 32 elements). MLA layers hold one
// latent of kv_lora_rank + qk_rope_head_dim elements instead. A layer holds
// min(context, window) tokens if sliding or chunked, none if it has no attention.
// docs/kv-cache.md has the formulas and their sources.
#pragma once

#include "vramcalc/dtype.hpp"
#include "vramcalc/model.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace vramcalc {

// Bytes one token adds to one layer's cache (0 for layers without attention).
[[nodiscard]] std::uint64_t kv_bytes_per_token(const ModelSpec& spec, const LayerSpec& layer, Dtype dtype);

// A KV eviction policy from the literature (docs/kv-policies.md):
//   StreamingLLM (Xiao et al. 2023): keep `sinks` first tokens and the last `window` tokens;
//   H2O (Zhang et al. 2023): keep a budget of heavy-hitter and recent tokens, given in
//   tokens or as a share of the context.
struct KvPolicy {
  enum class Kind : std::uint8_t { none, streaming, h2o } kind = Kind::none;
  std::uint64_t sinks = 0, window = 0; // streaming
  std::uint64_t budget = 0;            // h2o, tokens (0: use ratio)
  std::uint32_t ratio_bp = 0;          // h2o, share of the context in basis points
};

// Tokens a policy keeps of a context (the context itself when there is no policy).
[[nodiscard]] std::uint64_t policy_tokens(const KvPolicy& policy, std::uint64_t context);

// "streaming: 4 sinks + 4,096 recent tokens", "" for none.
[[nodiscard]] std::string describe(const KvPolicy& policy);

// Tokens a layer keeps for one sequence whose context is `context` tokens.
[[nodiscard]] std::uint64_t kv_tokens_held(const LayerSpec& layer, std::uint64_t context, const KvPolicy& policy = {});

// The same, given what the policy keeps (policy_tokens): for loops over the layers.
[[nodiscard]] inline std::uint64_t kv_tokens_kept(const LayerSpec& layer, std::uint64_t kept) {
  switch (layer.attention) {
  case AttentionKind::full: return kept;
  case AttentionKind::sliding:
  case AttentionKind::chunked: return kept < layer.window ? kept : layer.window;
  case AttentionKind::none: return 0;
  }
  return kept;
}

struct KvCache {
  std::uint64_t bytes_per_token = 0; // sum over layers with a KV cache: growth per token while
                                     // the context is inside every window
  std::uint64_t bytes_per_sequence = 0;
  std::uint64_t total_bytes = 0;     // x batch
  std::uint64_t state_bytes_per_sequence = 0; // recurrent state, independent of context
  std::uint64_t state_total_bytes = 0;        // x batch
  // 2 x layers x attention heads x head_dim x dtype x tokens x batch: what the common
  // formula says, for comparison (absent if it does not fit in 64 bits).
  std::optional<std::uint64_t> naive_bytes;
};

// Bytes of the fixed recurrent state one sequence needs in one layer without attention
// (0 for attention layers, or when the model has no recurrent mixer):
//   mamba:          ((d_conv - 1) x d_inner + d_inner x d_state) elements
//   mamba2:         ((d_conv - 1) x (d_inner + 2 n_groups d_state) + heads x head_dim x d_state)
//   gated_deltanet: ((d_conv - 1) x (2 key_dim + value_dim) + v_heads x head_k_dim x head_v_dim)
//   kda:            3 x (d_conv - 1) x heads x head_dim in the state dtype
//                   + heads x head_dim x head_dim in float32
// in the state dtype (the model's dtype unless the spec says otherwise); KDA's recurrent part
// is float32 whatever it is (vLLM MambaStateDtypeCalculator.kda_state_dtype).
[[nodiscard]] std::uint64_t state_bytes_per_sequence(const ModelSpec& spec, const LayerSpec& layer);

// The two parts of that state, in elements of `dtype` (all 0 for a layer without one).
struct StateElements {
  std::uint64_t conv = 0, ssm = 0;
  Dtype dtype = Dtype::bf16;     // of the conv part (and of the recurrent part but for KDA)
  Dtype ssm_dtype = Dtype::bf16; // of the recurrent part
};
[[nodiscard]] StateElements state_elements(const ModelSpec& spec, const LayerSpec& layer);

[[nodiscard]] KvCache kv_cache(const ModelSpec& spec, Dtype dtype, std::uint64_t context_tokens,
                               std::uint64_t batch, const KvPolicy& policy = {});

// One layer's context-independent KV figures: kv_bytes_per_token at a KV dtype and
// state_bytes_per_sequence.
struct LayerKvBytes {
  std::uint64_t kv_bytes_per_token = 0;
  std::uint64_t state_bytes = 0;
};

// kv_cache() given those figures for the layers of `spec`, in order (at most one per
// layer), as a caller that evaluates many contexts keeps them.
[[nodiscard]] KvCache kv_cache(const ModelSpec& spec, std::span<const LayerKvBytes> layers, Dtype dtype,
                               std::uint64_t context_tokens, std::uint64_t batch, const KvPolicy& policy = {});

} // namespace vramcalc
