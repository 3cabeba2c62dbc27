#include "vramcalc/model.hpp"

#include "vramcalc/architecture.hpp"

#include <algorithm>
#include <iterator>
#include <string>

namespace vramcalc {

std::string_view attention_kind_name(AttentionKind k) {
  switch (k) {
  case AttentionKind::full: return "full";
  case AttentionKind::sliding: return "sliding";
  case AttentionKind::chunked: return "chunked";
  case AttentionKind::none: return "none";
  }
  return "?";
}

std::string_view recurrent_kind_name(RecurrentKind k) {
  switch (k) {
  case RecurrentKind::mamba: return "mamba";
  case RecurrentKind::mamba2: return "mamba2";
  case RecurrentKind::gated_deltanet: return "gated_deltanet";
  case RecurrentKind::kda: return "kda";
  }
  return "?";
}

void apply_arch_layout(ModelSpec& spec) {
  // The architecture table's fused_qkv / fused_gate_up (architecture.cpp).
  const ArchitectureFacts* row = architecture_layout(spec.arch);
  spec.attention.fused_qkv = !spec.attention.mla && !spec.attention.output_gate && row != nullptr && row->fused_qkv;
  spec.fused_gate_up = row != nullptr && row->fused_gate_up && spec.mlp == MlpKind::gated;
}

namespace {

// The tokens a layer of this kind keeps: its window or chunk; 0 for the whole context.
std::uint64_t window_of(AttentionKind kind, const AttentionSpec& attention) {
  switch (kind) {
  case AttentionKind::sliding: return attention.sliding_window;
  case AttentionKind::chunked: return attention.chunk_size;
  case AttentionKind::full:
  case AttentionKind::none: return 0;
  }
  return 0;
}

} // namespace

void expand_layers(ModelSpec& spec, const std::vector<LayerKind>& pattern) {
  spec.layers.assign(spec.num_layers, LayerSpec{});
  for (std::uint64_t i = 0; i < spec.num_layers; ++i) {
    LayerSpec& l = spec.layers[i];
    const LayerKind kind = pattern.empty() ? LayerKind{} : pattern[i % pattern.size()];
    l.attention = kind.attention;
    l.has_mixer = !kind.mlp_only;
    l.has_mlp = kind.mlp_only || !spec.separate_mlp;
    l.window = window_of(l.attention, spec.attention);
    l.num_kv_heads = spec.attention.num_kv_heads;
    l.head_dim_k = spec.attention.head_dim;
    l.head_dim_v = spec.attention.v_head_dim;
    const AttentionSpec& a = spec.attention;
    if (l.attention == AttentionKind::full && l.has_mixer && (a.global_head_dim != 0 || a.global_num_kv_heads != 0)) {
      // Gemma 4's global layers: their own head size (queries, keys and values alike) and KV heads.
      if (a.global_head_dim != 0) l.head_dim_q = l.head_dim_k = l.head_dim_v = a.global_head_dim;
      if (a.global_num_kv_heads != 0) l.num_kv_heads = a.global_num_kv_heads;
    }
    l.k_eq_v = l.attention == AttentionKind::full && l.has_mixer && a.global_k_eq_v;
    if (spec.moe) {
      const MoeSpec& m = *spec.moe;
      l.moe = l.has_mlp && i >= m.first_dense_layers && m.layer_step > 0 && i % m.layer_step == m.layer_offset;
    }
  }
}

std::string attention_summary(const ModelSpec& spec) {
  if (spec.attention.mla && !spec.attention.mla->latent_cache) {
    return "MLA weights, cached per head (" + std::to_string(spec.attention.num_kv_heads) + " KV heads: a GGUF without "
           "llama.cpp's MLA metadata)";
  }
  std::uint64_t full = 0, sliding = 0, chunked = 0, none = 0;
  for (const auto& l : spec.layers) {
    if (!l.has_mixer) continue;
    switch (l.attention) {
    case AttentionKind::full: ++full; break;
    case AttentionKind::sliding: ++sliding; break;
    case AttentionKind::chunked: ++chunked; break;
    case AttentionKind::none: ++none; break;
    }
  }
  std::string out;
  if (spec.attention.mla) {
    out = "MLA (latent " + std::to_string(spec.attention.mla->kv_lora_rank) + "+" +
          std::to_string(spec.attention.mla->qk_rope_head_dim) + ")";
    // A hybrid (Kimi-Linear): the MLA layers, then the recurrent ones.
    if (none == 0 || !spec.recurrent) return out;
    return std::to_string(full) + " " + out + " + " + std::to_string(none) + " " +
           std::string(recurrent_kind_name(spec.recurrent->kind));
  }
  auto add = [&](std::uint64_t n, const std::string& what) {
    if (n == 0) return;
    if (!out.empty()) out += " + ";
    out += std::to_string(n) + " " + what;
  };
  // Full layers with their own shape (Gemma 4's global layers) say which.
  const AttentionSpec& a = spec.attention;
  std::string full_name = "full";
  if (a.global_head_dim != 0 || a.global_num_kv_heads != 0) {
    full_name += "(" + std::to_string(a.global_num_kv_heads != 0 ? a.global_num_kv_heads : a.num_kv_heads) + " KV heads x " +
                 std::to_string(a.global_head_dim != 0 ? a.global_head_dim : a.head_dim) + (a.global_k_eq_v ? ", K=V" : "") + ")";
  }
  if (sliding == 0 && chunked == 0 && none == 0) return full_name;
  add(full, full_name);
  add(sliding, "sliding(" + std::to_string(spec.attention.sliding_window) + ")");
  add(chunked, "chunked(" + std::to_string(spec.attention.chunk_size) + ")");
  add(none, spec.recurrent ? std::string(recurrent_kind_name(spec.recurrent->kind)) : "no-attention");
  return out;
}

} // namespace vramcalc
