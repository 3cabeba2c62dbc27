#include "vramcalc/tensors.hpp"

#include "vramcalc/units.hpp"

namespace vramcalc {

std::string_view tensor_role_name(TensorRole r) {
  switch (r) {
  case TensorRole::token_embd: return "token_embd";
  case TensorRole::output: return "output";
  case TensorRole::output_norm: return "output_norm";
  case TensorRole::attn_norm: return "attn_norm";
  case TensorRole::attn_q: return "attn_q";
  case TensorRole::attn_k: return "attn_k";
  case TensorRole::attn_v: return "attn_v";
  case TensorRole::attn_output: return "attn_output";
  case TensorRole::attn_q_norm: return "attn_q_norm";
  case TensorRole::attn_k_norm: return "attn_k_norm";
  case TensorRole::attn_sinks: return "attn_sinks";
  case TensorRole::attn_q_a: return "attn_q_a";
  case TensorRole::attn_q_a_norm: return "attn_q_a_norm";
  case TensorRole::attn_q_b: return "attn_q_b";
  case TensorRole::attn_kv_a_mqa: return "attn_kv_a_mqa";
  case TensorRole::attn_kv_a_norm: return "attn_kv_a_norm";
  case TensorRole::attn_kv_b: return "attn_kv_b";
  case TensorRole::post_attention_norm: return "post_attention_norm";
  case TensorRole::ffn_norm: return "ffn_norm";
  case TensorRole::post_ffw_norm: return "post_ffw_norm";
  case TensorRole::ffn_gate: return "ffn_gate";
  case TensorRole::ffn_up: return "ffn_up";
  case TensorRole::ffn_down: return "ffn_down";
  case TensorRole::ffn_gate_inp: return "ffn_gate_inp";
  case TensorRole::ffn_gate_exps: return "ffn_gate_exps";
  case TensorRole::ffn_up_exps: return "ffn_up_exps";
  case TensorRole::ffn_down_exps: return "ffn_down_exps";
  case TensorRole::ffn_gate_inp_shexp: return "ffn_gate_inp_shexp";
  case TensorRole::ffn_gate_shexp: return "ffn_gate_shexp";
  case TensorRole::ffn_up_shexp: return "ffn_up_shexp";
  case TensorRole::ffn_down_shexp: return "ffn_down_shexp";
  }
  return "?";
}

std::string_view tensor_group_name(TensorGroup g) {
  switch (g) {
  case TensorGroup::token_embedding: return "token_embedding";
  case TensorGroup::output_head: return "output_head";
  case TensorGroup::attention: return "attention";
  case TensorGroup::mlp: return "mlp";
  case TensorGroup::experts: return "experts";
  case TensorGroup::shared_experts: return "shared_experts";
  case TensorGroup::router: return "router";
  case TensorGroup::norms: return "norms";
  }
  return "?";
}

std::uint64_t Tensor::elements() const {
  return checked_mul(checked_mul(ne0, ne1, "a tensor's element count"), ne2, "a tensor's element count");
}

bool Tensor::is_routed_expert() const {
  return role == TensorRole::ffn_gate_exps || role == TensorRole::ffn_up_exps ||
         role == TensorRole::ffn_down_exps;
}

TensorGroup Tensor::group() const {
  switch (role) {
  case TensorRole::token_embd: return TensorGroup::token_embedding;
  case TensorRole::output: return TensorGroup::output_head;
  case TensorRole::output_norm:
  case TensorRole::attn_norm:
  case TensorRole::attn_q_norm:
  case TensorRole::attn_k_norm:
  case TensorRole::attn_q_a_norm:
  case TensorRole::attn_kv_a_norm:
  case TensorRole::post_attention_norm:
  case TensorRole::ffn_norm:
  case TensorRole::post_ffw_norm: return TensorGroup::norms;
  case TensorRole::attn_q:
  case TensorRole::attn_k:
  case TensorRole::attn_v:
  case TensorRole::attn_output:
  case TensorRole::attn_sinks:
  case TensorRole::attn_q_a:
  case TensorRole::attn_q_b:
  case TensorRole::attn_kv_a_mqa:
  case TensorRole::attn_kv_b: return TensorGroup::attention;
  case TensorRole::ffn_gate:
  case TensorRole::ffn_up:
  case TensorRole::ffn_down: return TensorGroup::mlp;
  case TensorRole::ffn_gate_inp: return TensorGroup::router;
  case TensorRole::ffn_gate_exps:
  case TensorRole::ffn_up_exps:
  case TensorRole::ffn_down_exps: return TensorGroup::experts;
  case TensorRole::ffn_gate_inp_shexp:
  case TensorRole::ffn_gate_shexp:
  case TensorRole::ffn_up_shexp:
  case TensorRole::ffn_down_shexp: return TensorGroup::shared_experts;
  }
  return TensorGroup::norms;
}

std::string Tensor::gguf_name() const {
  std::string out;
  if (layer >= 0) out = "blk." + std::to_string(layer) + ".";
  out += tensor_role_name(role);
  out += bias ? ".bias" : ".weight";
  return out;
}

namespace {

struct Builder {
  const ModelSpec& spec;
  std::vector<Tensor> out;
  std::int32_t layer = -1;

  void matrix(TensorRole role, std::uint64_t in, std::uint64_t outf, std::uint64_t experts = 1) {
    out.push_back(Tensor{role, layer, false, in, outf, experts});
  }
  void vector(TensorRole role, std::uint64_t n, bool bias = false) {
    out.push_back(Tensor{role, layer, bias, n, 1, 1});
  }
  // Stacked expert biases keep the experts in ne2, like stacked expert weights.
  void bias(TensorRole role, std::uint64_t n, std::uint64_t experts = 1) {
    out.push_back(Tensor{role, layer, true, n, 1, experts});
  }
  void norm(TensorRole role, std::uint64_t n) {
    vector(role, n);
    if (spec.norm == NormKind::layernorm && spec.norm_bias) vector(role, n, true);
  }
};

void add_attention(Builder& b, const LayerSpec& l) {
  const ModelSpec& s = b.spec;
  const AttentionSpec& a = s.attention;
  const std::uint64_t h = s.hidden_size;
  if (a.mla) {
    const MlaSpec& m = *a.mla;
    const std::uint64_t q_head = checked_add(m.qk_nope_head_dim, m.qk_rope_head_dim);
    const std::uint64_t q_out = checked_mul(a.num_heads, q_head);
    if (m.q_lora_rank > 0) {
      b.matrix(TensorRole::attn_q_a, h, m.q_lora_rank);
      b.norm(TensorRole::attn_q_a_norm, m.q_lora_rank);
      b.matrix(TensorRole::attn_q_b, m.q_lora_rank, q_out);
    } else {
      b.matrix(TensorRole::attn_q, h, q_out);
    }
    b.matrix(TensorRole::attn_kv_a_mqa, h, checked_add(m.kv_lora_rank, m.qk_rope_head_dim));
    b.norm(TensorRole::attn_kv_a_norm, m.kv_lora_rank);
    b.matrix(TensorRole::attn_kv_b, m.kv_lora_rank,
             checked_mul(a.num_heads, checked_add(m.qk_nope_head_dim, m.v_head_dim)));
    b.matrix(TensorRole::attn_output, checked_mul(a.num_heads, m.v_head_dim), h);
    if (a.o_bias) b.bias(TensorRole::attn_output, h);
    return;
  }
  const std::uint64_t q = checked_mul(a.num_heads, a.head_dim);
  const std::uint64_t k = checked_mul(l.num_kv_heads, l.head_dim_k);
  const std::uint64_t v = checked_mul(l.num_kv_heads, l.head_dim_v);
  const std::uint64_t o = checked_mul(a.num_heads, a.v_head_dim);
  b.matrix(TensorRole::attn_q, h, q);
  if (a.qkv_bias) b.bias(TensorRole::attn_q, q);
  b.matrix(TensorRole::attn_k, h, k);
  if (a.qkv_bias) b.bias(TensorRole::attn_k, k);
  b.matrix(TensorRole::attn_v, h, v);
  if (a.qkv_bias) b.bias(TensorRole::attn_v, v);
  b.matrix(TensorRole::attn_output, o, h);
  if (a.o_bias) b.bias(TensorRole::attn_output, h);
  if (a.qk_norm) {
    b.norm(TensorRole::attn_q_norm, a.head_dim);
    b.norm(TensorRole::attn_k_norm, l.head_dim_k);
  }
  if (a.sinks) b.vector(TensorRole::attn_sinks, a.num_heads);
}

void add_mlp(Builder& b, TensorRole gate, TensorRole up, TensorRole down, std::uint64_t inter,
             bool with_bias, std::uint64_t experts = 1) {
  const std::uint64_t h = b.spec.hidden_size;
  if (b.spec.mlp == MlpKind::gated) {
    b.matrix(gate, h, inter, experts);
    if (with_bias) b.bias(gate, inter, experts);
  }
  b.matrix(up, h, inter, experts);
  if (with_bias) b.bias(up, inter, experts);
  b.matrix(down, inter, h, experts);
  if (with_bias) b.bias(down, h, experts);
}

} // namespace

std::vector<Tensor> model_tensors(const ModelSpec& spec) {
  Builder b{spec, {}, -1};
  const std::uint64_t h = spec.hidden_size;
  b.out.reserve(spec.layers.size() * 16 + 4);
  b.matrix(TensorRole::token_embd, h, spec.vocab_size);
  for (std::size_t i = 0; i < spec.layers.size(); ++i) {
    const LayerSpec& l = spec.layers[i];
    b.layer = static_cast<std::int32_t>(i);
    b.norm(TensorRole::attn_norm, h);
    if (l.attention != AttentionKind::none) add_attention(b, l);
    if (spec.norms_per_layer >= 4) b.norm(TensorRole::post_attention_norm, h);
    if (spec.norms_per_layer >= 2) b.norm(TensorRole::ffn_norm, h);
    if (l.moe) {
      const MoeSpec& m = *spec.moe;
      b.matrix(TensorRole::ffn_gate_inp, h, m.num_experts);
      if (m.router_bias) b.bias(TensorRole::ffn_gate_inp, m.num_experts);
      add_mlp(b, TensorRole::ffn_gate_exps, TensorRole::ffn_up_exps, TensorRole::ffn_down_exps,
              m.expert_intermediate_size, m.expert_bias, m.num_experts);
      if (m.shared_experts > 0) {
        if (m.shared_expert_gate) b.matrix(TensorRole::ffn_gate_inp_shexp, h, 1);
        add_mlp(b, TensorRole::ffn_gate_shexp, TensorRole::ffn_up_shexp, TensorRole::ffn_down_shexp,
                checked_mul(m.shared_experts, m.shared_intermediate_size), false);
      }
    } else {
      add_mlp(b, TensorRole::ffn_gate, TensorRole::ffn_up, TensorRole::ffn_down, spec.intermediate_size,
              spec.mlp_bias);
    }
    if (spec.norms_per_layer >= 4) b.norm(TensorRole::post_ffw_norm, h);
  }
  b.layer = -1;
  b.norm(TensorRole::output_norm, h);
  if (!spec.tie_word_embeddings) b.matrix(TensorRole::output, h, spec.vocab_size);
  return std::move(b.out);
}

ParamCounts count_params(const ModelSpec& spec) {
  ParamCounts c;
  for (const Tensor& t : model_tensors(spec)) {
    const std::uint64_t n = t.elements();
    c.total = checked_add(c.total, n, "the parameter count");
    if (t.is_routed_expert()) {
      // Per token only experts_per_token of the ne2 experts are read.
      // ne0 * ne1 <= n, so it cannot overflow.
      c.active = checked_add(c.active, checked_mul(t.ne0 * t.ne1, spec.moe->experts_per_token),
                             "the parameter count");
    } else {
      c.active = checked_add(c.active, n, "the parameter count");
    }
    if (t.group() == TensorGroup::token_embedding || t.group() == TensorGroup::output_head) {
      c.embedding = checked_add(c.embedding, n);
    }
  }
  return c;
}

} // namespace vramcalc
