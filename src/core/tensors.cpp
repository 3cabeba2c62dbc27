#include "vramcalc/tensors.hpp"

#include "vramcalc/units.hpp"

#include "weights_detail.hpp"

#include <charconv>

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
  case TensorRole::attn_qkv: return "attn_qkv";
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
  case TensorRole::ssm_in: return "ssm_in";
  case TensorRole::ssm_ba: return "ssm_ba";
  case TensorRole::ssm_conv1d: return "ssm_conv1d";
  case TensorRole::ssm_x: return "ssm_x";
  case TensorRole::ssm_dt: return "ssm_dt";
  case TensorRole::ssm_a: return "ssm_a";
  case TensorRole::ssm_d: return "ssm_d";
  case TensorRole::ssm_norm: return "ssm_norm";
  case TensorRole::ssm_out: return "ssm_out";
  case TensorRole::ssm_dt_norm: return "ssm_dt_norm";
  case TensorRole::ssm_b_norm: return "ssm_b_norm";
  case TensorRole::ssm_c_norm: return "ssm_c_norm";
  case TensorRole::nextn_enorm: return "nextn.enorm";
  case TensorRole::nextn_hnorm: return "nextn.hnorm";
  case TensorRole::nextn_eh_proj: return "nextn.eh_proj";
  case TensorRole::nextn_shared_head_norm: return "nextn.shared_head_norm";
  case TensorRole::nextn_embed_tokens: return "nextn.embed_tokens";
  case TensorRole::nextn_shared_head_head: return "nextn.shared_head_head";
  case TensorRole::vision: return "vision";
  case TensorRole::post_ffw_norm_1: return "post_ffw_norm_1";
  case TensorRole::pre_ffw_norm_2: return "pre_ffw_norm_2";
  case TensorRole::post_ffw_norm_2: return "post_ffw_norm_2";
  case TensorRole::ffn_gate_inp_scale: return "ffn_gate_inp_scale";
  case TensorRole::ffn_down_exps_scale: return "ffn_down_exps_scale";
  case TensorRole::layer_output_scale: return "layer_output_scale";
  case TensorRole::ssm_conv1d_q: return "ssm_conv1d_q";
  case TensorRole::ssm_conv1d_k: return "ssm_conv1d_k";
  case TensorRole::ssm_conv1d_v: return "ssm_conv1d_v";
  case TensorRole::ssm_f_a: return "ssm_f_a";
  case TensorRole::ssm_f_b: return "ssm_f_b";
  case TensorRole::ssm_beta: return "ssm_beta";
  case TensorRole::ssm_g_a: return "ssm_g_a";
  case TensorRole::ssm_g_b: return "ssm_g_b";
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
  case TensorGroup::recurrent: return "recurrent";
  case TensorGroup::vision: return "vision";
  case TensorGroup::mtp: return "mtp";
  case TensorGroup::other: return "other";
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


std::string Tensor::gguf_name() const {
  std::string out;
  append_gguf_name(out);
  return out;
}

void Tensor::append_gguf_name(std::string& out) const {
  if (layer >= 0) {
    out += "blk.";
    char digits[12];
    const auto end = std::to_chars(digits, digits + sizeof digits, layer).ptr;
    out.append(digits, end);
    out += '.';
  }
  out += tensor_role_name(role);
  out += bias ? ".bias" : ".weight";
}

namespace {

struct Builder {
  const ModelSpec& spec;
  std::vector<Tensor> out;
  std::int32_t layer = -1;
  bool mtp = false;

  void push(TensorRole role, bool is_bias, std::uint64_t ne0, std::uint64_t ne1, std::uint64_t ne2) {
    out.push_back(Tensor{role, layer, is_bias, mtp, ne0, ne1, ne2});
  }
  void matrix(TensorRole role, std::uint64_t in, std::uint64_t outf, std::uint64_t experts = 1) {
    push(role, false, in, outf, experts);
  }
  void vector(TensorRole role, std::uint64_t n) { push(role, false, n, 1, 1); }
  // A 1-D tensor the checkpoint keeps in float32 (Tensor::stored_f32).
  void f32(TensorRole role, std::uint64_t n, bool is_bias) {
    push(role, is_bias, n, 1, 1);
    out.back().stored_f32 = true;
  }
  // Stacked expert biases keep the experts in ne2, like stacked expert weights.
  void bias(TensorRole role, std::uint64_t n, std::uint64_t experts = 1) { push(role, true, n, 1, experts); }
  void norm(TensorRole role, std::uint64_t n) {
    vector(role, n);
    if (spec.norm == NormKind::layernorm && spec.norm_bias) bias(role, n);
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
  // With an output gate, q_proj yields the query and a same-sized gate. A layer with its own
  // query head size (Gemma 4's global layers) has its output projection as wide.
  const std::uint64_t q_head = l.head_dim_q != 0 ? l.head_dim_q : a.head_dim;
  const std::uint64_t q = checked_mul(checked_mul(a.num_heads, q_head), a.output_gate ? 2 : 1);
  const std::uint64_t k = checked_mul(l.num_kv_heads, l.head_dim_k);
  const std::uint64_t v = l.k_eq_v ? 0 : checked_mul(l.num_kv_heads, l.head_dim_v);
  const std::uint64_t o = checked_mul(a.num_heads, l.head_dim_q != 0 ? l.head_dim_q : a.v_head_dim);
  if (a.fused_qkv) {
    // One matrix of q + k + v rows (Phi-3's qkv_proj, Falcon's query_key_value).
    const std::uint64_t qkv = checked_add(checked_add(q, k), v);
    b.matrix(TensorRole::attn_qkv, h, qkv);
    if (a.qkv_bias) b.bias(TensorRole::attn_qkv, qkv);
  } else {
    b.matrix(TensorRole::attn_q, h, q);
    if (a.qkv_bias) b.bias(TensorRole::attn_q, q);
    b.matrix(TensorRole::attn_k, h, k);
    if (a.qkv_bias) b.bias(TensorRole::attn_k, k);
    if (!l.k_eq_v) { // attention_k_eq_v: no v_proj, the keys' projection yields the values
      b.matrix(TensorRole::attn_v, h, v);
      if (a.qkv_bias) b.bias(TensorRole::attn_v, v);
    }
  }
  b.matrix(TensorRole::attn_output, o, h);
  if (a.o_bias) b.bias(TensorRole::attn_output, h);
  if (a.qk_norm) {
    b.norm(TensorRole::attn_q_norm, q_head);
    b.norm(TensorRole::attn_k_norm, l.head_dim_k);
  }
  if (a.sinks) b.vector(TensorRole::attn_sinks, a.num_heads);
}

// The mixer of a layer without attention (shapes as the Hugging Face modules declare them).
void add_recurrent(Builder& b) {
  const RecurrentSpec& r = *b.spec.recurrent;
  const std::uint64_t h = b.spec.hidden_size;
  switch (r.kind) {
  case RecurrentKind::mamba: {
    // in_proj h -> 2D; conv1d D x K (+ bias); x_proj D -> R + 2N; dt_proj R -> D (+ bias);
    // A_log D x N; D; out_proj D -> h.
    const std::uint64_t d = r.d_inner, n = r.d_state;
    b.matrix(TensorRole::ssm_in, h, checked_mul(2, d));
    b.matrix(TensorRole::ssm_conv1d, r.d_conv, d);
    if (r.conv_bias) b.bias(TensorRole::ssm_conv1d, d);
    b.matrix(TensorRole::ssm_x, d, checked_add(r.dt_rank, checked_mul(2, n)));
    b.matrix(TensorRole::ssm_dt, r.dt_rank, d);
    b.bias(TensorRole::ssm_dt, d);
    b.matrix(TensorRole::ssm_a, n, d);
    b.vector(TensorRole::ssm_d, d);
    if (r.dt_norms) {
      b.vector(TensorRole::ssm_dt_norm, r.dt_rank);
      b.vector(TensorRole::ssm_b_norm, n);
      b.vector(TensorRole::ssm_c_norm, n);
    }
    b.matrix(TensorRole::ssm_out, d, h);
    return;
  }
  case RecurrentKind::mamba2: {
    // in_proj h -> 2D + 2GN + H; conv1d (D + 2GN) x K (+ bias); dt_bias, A_log, D: H each;
    // gated norm D; out_proj D -> h.
    const std::uint64_t d = r.d_inner;
    const std::uint64_t gn = checked_mul(checked_mul(2, r.n_groups), r.d_state);
    b.matrix(TensorRole::ssm_in, h, checked_add(checked_add(checked_mul(2, d), gn), r.num_heads));
    b.matrix(TensorRole::ssm_conv1d, r.d_conv, checked_add(d, gn));
    if (r.conv_bias) b.bias(TensorRole::ssm_conv1d, checked_add(d, gn));
    b.bias(TensorRole::ssm_dt, r.num_heads);
    b.vector(TensorRole::ssm_a, r.num_heads);
    b.vector(TensorRole::ssm_d, r.num_heads);
    b.vector(TensorRole::ssm_norm, d);
    b.matrix(TensorRole::ssm_out, d, h);
    return;
  }
  case RecurrentKind::gated_deltanet: {
    // in_proj_qkvz h -> 2 key_dim + 2 value_dim; in_proj_ba h -> 2 Hv; conv1d
    // (2 key_dim + value_dim) x K; dt_bias, A_log: Hv; gated norm head_v_dim; out_proj value_dim -> h.
    const std::uint64_t key_dim = checked_mul(r.num_k_heads, r.head_k_dim);
    const std::uint64_t value_dim = checked_mul(r.num_heads, r.head_v_dim);
    const std::uint64_t conv_dim = checked_add(checked_mul(2, key_dim), value_dim);
    b.matrix(TensorRole::ssm_in, h, checked_add(checked_mul(2, key_dim), checked_mul(2, value_dim)));
    b.matrix(TensorRole::ssm_ba, h, checked_mul(2, r.num_heads));
    b.matrix(TensorRole::ssm_conv1d, r.d_conv, conv_dim);
    if (r.conv_bias) b.bias(TensorRole::ssm_conv1d, conv_dim);
    b.bias(TensorRole::ssm_dt, r.num_heads);
    b.vector(TensorRole::ssm_a, r.num_heads);
    b.vector(TensorRole::ssm_norm, r.head_v_dim);
    b.matrix(TensorRole::ssm_out, value_dim, h);
    return;
  }
  case RecurrentKind::kda: {
    // vLLM vllm/model_executor/layers/kda.py, KimiDeltaAttention, with H heads of d, P = H x d:
    // q_proj, k_proj, v_proj h -> P; q/k/v_conv1d P x K (depthwise, no bias); f_a_proj h -> d,
    // f_b_proj d -> P, dt_bias P (float32); b_proj h -> H; A_log H (float32); g_a_proj h -> d,
    // g_b_proj d -> P; o_norm d; o_proj P -> h. The checkpoint stores the convolutions in its
    // dtype (bf16) and A_log, dt_bias in float32.
    const std::uint64_t d = r.head_dim;
    const std::uint64_t p = checked_mul(r.num_heads, d);
    b.matrix(TensorRole::attn_q, h, p);
    b.matrix(TensorRole::attn_k, h, p);
    b.matrix(TensorRole::attn_v, h, p);
    b.matrix(TensorRole::ssm_conv1d_q, r.d_conv, p);
    b.matrix(TensorRole::ssm_conv1d_k, r.d_conv, p);
    b.matrix(TensorRole::ssm_conv1d_v, r.d_conv, p);
    b.matrix(TensorRole::ssm_f_a, h, d);
    b.matrix(TensorRole::ssm_f_b, d, p);
    b.f32(TensorRole::ssm_dt, p, true);
    b.matrix(TensorRole::ssm_beta, h, r.num_heads);
    b.f32(TensorRole::ssm_a, r.num_heads, false);
    b.matrix(TensorRole::ssm_g_a, h, d);
    b.matrix(TensorRole::ssm_g_b, d, p);
    b.vector(TensorRole::ssm_norm, d);
    b.matrix(TensorRole::attn_output, p, h);
    return;
  }
  }
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

void add_block(Builder& b, const LayerSpec& l) {
  const ModelSpec& spec = b.spec;
  const std::uint64_t h = spec.hidden_size;
  b.norm(TensorRole::attn_norm, h);
  if (l.has_mixer) {
    if (l.attention != AttentionKind::none) add_attention(b, l);
    else if (spec.recurrent) add_recurrent(b);
  }
  if (spec.norms_per_layer >= 4) b.norm(TensorRole::post_attention_norm, h);
  if (spec.norms_per_layer >= 2 && l.has_mlp && l.has_mixer) b.norm(TensorRole::ffn_norm, h);
  if (!l.has_mlp) {
    // a mixer-only layer: nothing more
  } else if (l.moe) {
    const MoeSpec& m = *spec.moe;
    if (m.dense_mlp_beside) {
      // Gemma 4: the dense MLP runs beside the experts (transformers Gemma4TextDecoderLayer:
      // hidden_states_1 + hidden_states_2), each with its norms, and the router's scales.
      add_mlp(b, TensorRole::ffn_gate, TensorRole::ffn_up, TensorRole::ffn_down, spec.intermediate_size, spec.mlp_bias);
      b.norm(TensorRole::post_ffw_norm_1, h);
      b.norm(TensorRole::pre_ffw_norm_2, h);
      b.norm(TensorRole::post_ffw_norm_2, h);
      b.vector(TensorRole::ffn_gate_inp_scale, h);
      b.vector(TensorRole::ffn_down_exps_scale, m.num_experts);
    }
    b.matrix(TensorRole::ffn_gate_inp, h, m.num_experts);
    if (m.router_bias) b.bias(TensorRole::ffn_gate_inp, m.num_experts);
    add_mlp(b, TensorRole::ffn_gate_exps, TensorRole::ffn_up_exps, TensorRole::ffn_down_exps,
            m.expert_intermediate_size, m.expert_bias, m.num_experts);
    if (m.shared_experts > 0) {
      if (m.shared_expert_gate) b.matrix(TensorRole::ffn_gate_inp_shexp, h, 1);
      add_mlp(b, TensorRole::ffn_gate_shexp, TensorRole::ffn_up_shexp, TensorRole::ffn_down_shexp,
              checked_mul(m.shared_experts, m.shared_intermediate_size), false);
    }
  } else if (spec.fused_gate_up && spec.mlp == MlpKind::gated) {
    // Gate and up in one ffn_up of 2 x intermediate rows (Phi-3's gate_up_proj).
    const std::uint64_t up = checked_mul(2, spec.intermediate_size);
    b.matrix(TensorRole::ffn_up, h, up);
    if (spec.mlp_bias) b.bias(TensorRole::ffn_up, up);
    b.matrix(TensorRole::ffn_down, spec.intermediate_size, h);
    if (spec.mlp_bias) b.bias(TensorRole::ffn_down, h);
  } else {
    add_mlp(b, TensorRole::ffn_gate, TensorRole::ffn_up, TensorRole::ffn_down, spec.intermediate_size,
            spec.mlp_bias);
  }
  if (spec.norms_per_layer >= 4) b.norm(TensorRole::post_ffw_norm, h);
  if (spec.layer_scalar) b.vector(TensorRole::layer_output_scale, 1);
}

} // namespace

std::vector<Tensor> model_tensors(const ModelSpec& spec, bool with_mtp) {
  Builder b{spec, {}, -1, false};
  const std::uint64_t h = spec.hidden_size;
  b.out.reserve(spec.layers.size() * 16 + 4);
  b.matrix(TensorRole::token_embd, h, spec.vocab_size);
  for (std::size_t i = 0; i < spec.layers.size(); ++i) {
    b.layer = static_cast<std::int32_t>(i);
    add_block(b, spec.layers[i]);
  }
  b.layer = -1;
  b.norm(TensorRole::output_norm, h);
  if (!spec.tie_word_embeddings) b.matrix(TensorRole::output, h, spec.vocab_size);
  if (spec.vision_params > 0) b.vector(TensorRole::vision, spec.vision_params);
  if (with_mtp) {
    // A DeepSeek-V3-style MTP block: norms of the embedding and the hidden state, a
    // projection of their concatenation, one full-attention block (MoE when the model
    // is), and (DeepSeek, GLM) its own copies of the embedding and output head, as the
    // checkpoint stores them; Qwen3-Next's MTP block shares the main ones.
    b.mtp = true;
    for (std::uint64_t k = 0; k < spec.mtp_layers; ++k) {
      b.layer = static_cast<std::int32_t>(spec.num_layers + k);
      b.norm(TensorRole::nextn_enorm, h);
      b.norm(TensorRole::nextn_hnorm, h);
      b.matrix(TensorRole::nextn_eh_proj, checked_mul(2, h), h);
      LayerSpec l;
      l.num_kv_heads = spec.attention.num_kv_heads;
      l.head_dim_k = spec.attention.head_dim;
      l.head_dim_v = spec.attention.v_head_dim;
      l.moe = spec.moe.has_value();
      add_block(b, l);
      b.norm(TensorRole::nextn_shared_head_norm, h);
      if (spec.mtp_own_embeddings) {
        b.matrix(TensorRole::nextn_embed_tokens, h, spec.vocab_size);
        b.matrix(TensorRole::nextn_shared_head_head, h, spec.vocab_size);
      }
    }
  }
  return std::move(b.out);
}

ParamCounts count_params(const ModelSpec& spec) { return detail::count_params(spec, model_tensors(spec, true)); }

ParamCounts detail::count_params(const ModelSpec& spec, std::span<const Tensor> tensors,
                                 std::span<const std::uint64_t> times) {
  ParamCounts c;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    const std::uint64_t k = i < times.size() ? times[i] : 1;
    if (k == 0) continue; // counted with the layer it repeats
    const std::uint64_t n = checked_mul(t.elements(), k, "the parameter count");
    if (t.mtp) {
      c.mtp = checked_add(c.mtp, n, "the parameter count");
      continue;
    }
    if (t.group() == TensorGroup::vision) {
      c.vision = checked_add(c.vision, n, "the parameter count");
      continue;
    }
    c.total = checked_add(c.total, n, "the parameter count");
    if (t.is_routed_expert()) {
      // Per token only experts_per_token of the ne2 experts are read; ne0 * ne1 <= n.
      c.active = checked_add(c.active, checked_mul(checked_mul(t.ne0 * t.ne1, spec.moe->experts_per_token), k),
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
