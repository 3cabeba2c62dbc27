#include "vramcalc/kv.hpp"

#include "vramcalc/units.hpp"

#include <algorithm>
#include <vector>

namespace vramcalc {

std::uint64_t kv_bytes_per_token(const ModelSpec& spec, const LayerSpec& layer, Dtype dtype) {
  if (layer.attention == AttentionKind::none || !layer.has_mixer) return 0;
  if (spec.attention.mla && spec.attention.mla->latent_cache) {
    const MlaSpec& m = *spec.attention.mla;
    return row_bytes(dtype, checked_add(m.kv_lora_rank, m.qk_rope_head_dim, "a KV row"));
  }
  const std::uint64_t k = row_bytes(dtype, checked_mul(layer.num_kv_heads, layer.head_dim_k, "a KV row"));
  const std::uint64_t v = row_bytes(dtype, checked_mul(layer.num_kv_heads, layer.head_dim_v, "a KV row"));
  return checked_add(k, v, "a KV row");
}

std::uint64_t policy_tokens(const KvPolicy& p, std::uint64_t context) {
  switch (p.kind) {
  case KvPolicy::Kind::none: return context;
  case KvPolicy::Kind::streaming: return std::min(context, checked_add(p.sinks, p.window, "the policy's tokens"));
  case KvPolicy::Kind::h2o:
    if (p.budget != 0) return std::min(context, p.budget);
    // ceil(context x ratio): a share of the context, at least one token
    return std::max<std::uint64_t>(1, context / 10000 * p.ratio_bp + ceil_div(context % 10000 * p.ratio_bp, 10000));
  }
  return context;
}

std::string describe(const KvPolicy& p) {
  switch (p.kind) {
  case KvPolicy::Kind::none: return "";
  case KvPolicy::Kind::streaming:
    return "streaming: " + std::to_string(p.sinks) + " sink tokens + the last " + std::to_string(p.window);
  case KvPolicy::Kind::h2o:
    if (p.budget != 0) return "h2o: " + std::to_string(p.budget) + " heavy-hitter and recent tokens";
    return "h2o: " + std::to_string(p.ratio_bp / 100) + "." + std::to_string(p.ratio_bp % 100 / 10) +
           std::to_string(p.ratio_bp % 10) + "% of the context";
  }
  return "";
}

std::uint64_t kv_tokens_held(const LayerSpec& layer, std::uint64_t context, const KvPolicy& policy) {
  return kv_tokens_kept(layer, policy_tokens(policy, context));
}


StateElements state_elements(const ModelSpec& spec, const LayerSpec& layer) {
  if (layer.attention != AttentionKind::none || !layer.has_mixer || !spec.recurrent) return {};
  const RecurrentSpec& r = *spec.recurrent;
  const std::uint64_t conv_rows = r.d_conv > 0 ? r.d_conv - 1 : 0;
  std::uint64_t conv = 0, ssm = 0;
  switch (r.kind) {
  case RecurrentKind::mamba:
    conv = checked_mul(conv_rows, r.d_inner, "the recurrent state");
    ssm = checked_mul(r.d_inner, r.d_state, "the recurrent state");
    break;
  case RecurrentKind::mamba2:
    conv = checked_mul(conv_rows, checked_add(r.d_inner, checked_mul(2 * r.n_groups, r.d_state)), "the recurrent state");
    ssm = checked_mul(checked_mul(r.num_heads, r.head_dim), r.d_state, "the recurrent state");
    break;
  case RecurrentKind::gated_deltanet: {
    const std::uint64_t key_dim = checked_mul(r.num_k_heads, r.head_k_dim);
    const std::uint64_t value_dim = checked_mul(r.num_heads, r.head_v_dim);
    conv = checked_mul(conv_rows, checked_add(checked_mul(2, key_dim), value_dim), "the recurrent state");
    ssm = checked_mul(checked_mul(r.num_heads, r.head_k_dim), r.head_v_dim, "the recurrent state");
    break;
  }
  case RecurrentKind::kda: {
    // vLLM MambaStateShapeCalculator.kda_state_shape: conv states of q, k and v, (P, K - 1)
    // each, and the recurrent (H, d, d), kept in float32 (kda_state_dtype).
    const std::uint64_t p = checked_mul(r.num_heads, r.head_dim, "the recurrent state");
    conv = checked_mul(checked_mul(3, conv_rows), p, "the recurrent state");
    ssm = checked_mul(p, r.head_dim, "the recurrent state");
    const Dtype d = r.state_dtype.value_or(spec.dtype);
    return {conv, ssm, d, Dtype::f32};
  }
  }
  const Dtype d = r.state_dtype.value_or(spec.dtype);
  return {conv, ssm, d, d};
}

std::uint64_t state_bytes_per_sequence(const ModelSpec& spec, const LayerSpec& layer) {
  const StateElements e = state_elements(spec, layer);
  return checked_add(row_bytes(e.dtype, e.conv), row_bytes(e.ssm_dtype, e.ssm), "the recurrent state");
}

KvCache kv_cache(const ModelSpec& spec, Dtype dtype, std::uint64_t context_tokens, std::uint64_t batch,
                 const KvPolicy& policy) {
  std::vector<LayerKvBytes> layers;
  layers.reserve(spec.layers.size());
  for (const LayerSpec& layer : spec.layers) {
    layers.push_back({kv_bytes_per_token(spec, layer, dtype), state_bytes_per_sequence(spec, layer)});
  }
  return kv_cache(spec, layers, dtype, context_tokens, batch, policy);
}

KvCache kv_cache(const ModelSpec& spec, std::span<const LayerKvBytes> layers, Dtype dtype,
                 std::uint64_t context_tokens, std::uint64_t batch, const KvPolicy& policy) {
  KvCache kv;
  const std::uint64_t kept = policy_tokens(policy, context_tokens);
  for (std::size_t i = 0; i < std::min(layers.size(), spec.layers.size()); ++i) {
    const std::uint64_t per_token = layers[i].kv_bytes_per_token;
    kv.bytes_per_token = checked_add(kv.bytes_per_token, per_token, "the KV bytes per token");
    kv.bytes_per_sequence = checked_add(
        kv.bytes_per_sequence, checked_mul(per_token, kv_tokens_kept(spec.layers[i], kept), "the KV cache size"),
        "the KV cache size");
    kv.state_bytes_per_sequence =
        checked_add(kv.state_bytes_per_sequence, layers[i].state_bytes, "the recurrent state");
  }
  kv.total_bytes = checked_mul(kv.bytes_per_sequence, batch, "the KV cache size");
  kv.state_total_bytes = checked_mul(kv.state_bytes_per_sequence, batch, "the recurrent state");
  // The naive formula: every layer, every attention head, full context. Informational:
  // absent when it does not fit in 64 bits.
  const auto& a = spec.attention;
  const std::uint64_t head = a.mla ? a.mla->qk_nope_head_dim + a.mla->qk_rope_head_dim : a.head_dim;
  std::uint64_t naive = 2;
  bool ok = true;
  for (std::uint64_t f : {spec.num_layers, a.num_heads, head, context_tokens, batch}) {
    ok = ok && !__builtin_mul_overflow(naive, f, &naive);
  }
  const auto& t = traits(dtype);
  ok = ok && !__builtin_mul_overflow(naive / t.block_elems, t.block_bytes, &naive);
  if (ok) kv.naive_bytes = naive;
  return kv;
}

} // namespace vramcalc
