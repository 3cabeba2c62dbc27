// The tensors a model's checkpoint holds, derived from its ModelSpec.
//
// Each tensor has a role (named as in GGUF files, so llama.cpp's per-tensor rules can
// be applied), a layer, and a shape in ggml order: ne0 is the row length (input
// features), ne1 the rows (output features), ne2 the experts of a stacked MoE tensor.
// Parameter counts and weight bytes are sums over this list.
#pragma once

#include "vramcalc/model.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc {

enum class TensorRole : std::uint8_t {
  token_embd, output, output_norm,
  attn_norm, attn_q, attn_k, attn_v, attn_qkv, attn_output, attn_q_norm, attn_k_norm, attn_sinks,
  attn_q_a, attn_q_a_norm, attn_q_b, attn_kv_a_mqa, attn_kv_a_norm, attn_kv_b,
  post_attention_norm, ffn_norm, post_ffw_norm,
  ffn_gate, ffn_up, ffn_down,
  ffn_gate_inp, ffn_gate_exps, ffn_up_exps, ffn_down_exps,
  ffn_gate_inp_shexp, ffn_gate_shexp, ffn_up_shexp, ffn_down_shexp,
  // recurrent / linear-attention mixers
  ssm_in, ssm_ba, ssm_conv1d, ssm_x, ssm_dt, ssm_a, ssm_d, ssm_norm, ssm_out,
  ssm_dt_norm, ssm_b_norm, ssm_c_norm,
  // multi-token prediction blocks (besides a regular block)
  nextn_enorm, nextn_hnorm, nextn_eh_proj, nextn_shared_head_norm, nextn_embed_tokens, nextn_shared_head_head,
  vision, // the vision tower, as one lump of parameters
  // Gemma 4 (llama.cpp's names): a MoE block's norms around its dense MLP and its experts,
  // the router's input scale and the experts' output scales, and each layer's output scalar
  post_ffw_norm_1, pre_ffw_norm_2, post_ffw_norm_2, ffn_gate_inp_scale, ffn_down_exps_scale, layer_output_scale,
  // Kimi Delta Attention (its q, k, v and output projections are attn_q, attn_k, attn_v and
  // attn_output, as llama.cpp names them): the depthwise convolutions of q, k and v, the
  // low-rank forget gate (f_a, f_b), beta (b_proj) and the low-rank output gate (g_a, g_b)
  ssm_conv1d_q, ssm_conv1d_k, ssm_conv1d_v, ssm_f_a, ssm_f_b, ssm_beta, ssm_g_a, ssm_g_b,
};

// Groups used to report weights and to decide what a quantization method touches.
enum class TensorGroup : std::uint8_t {
  token_embedding, output_head, attention, mlp, experts, shared_experts, router, norms, recurrent, vision, mtp,
  other, // tensors of a model's files that vramcalc does not recognise
};

[[nodiscard]] std::string_view tensor_role_name(TensorRole r);   // "attn_q"
[[nodiscard]] std::string_view tensor_group_name(TensorGroup g); // "attention"

struct Tensor {
  TensorRole role;
  std::int32_t layer = -1; // -1 for tensors outside the blocks
  bool bias = false;       // a bias vector rather than a weight
  bool mtp = false;        // part of a multi-token-prediction block
  std::uint64_t ne0 = 1, ne1 = 1, ne2 = 1;
  // The checkpoint stores it in float32 whatever the model's dtype, and engines load it so
  // (KDA's A_log and dt_bias: float32 nn.Parameters in vLLM's kda.py); a GGUF keeps every
  // 1-D tensor in f32 anyway.
  bool stored_f32 = false;

  [[nodiscard]] std::uint64_t elements() const;        // checked
  [[nodiscard]] bool is_matrix() const { return ne1 > 1 && !bias; }
  [[nodiscard]] bool is_routed_expert() const;
  [[nodiscard]] TensorGroup group() const; // inline below: sums over every tensor call it
  [[nodiscard]] std::string gguf_name() const;         // "blk.3.attn_q.weight"
  // The same name appended to `out`: a caller naming every tensor of a model reuses one buffer
  // (a 4,096-layer model has 36,000 names, each longer than std::string's inline storage).
  void append_gguf_name(std::string& out) const;
};

// The group of a tensor of this role outside an MTP block (what Tensor::group() returns).
[[nodiscard]] constexpr TensorGroup role_group(TensorRole role) {
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
  case TensorRole::attn_qkv:
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
  case TensorRole::ssm_in:
  case TensorRole::ssm_ba:
  case TensorRole::ssm_conv1d:
  case TensorRole::ssm_x:
  case TensorRole::ssm_dt:
  case TensorRole::ssm_a:
  case TensorRole::ssm_d:
  case TensorRole::ssm_norm:
  case TensorRole::ssm_out:
  case TensorRole::ssm_dt_norm:
  case TensorRole::ssm_b_norm:
  case TensorRole::ssm_c_norm:
  case TensorRole::ssm_conv1d_q:
  case TensorRole::ssm_conv1d_k:
  case TensorRole::ssm_conv1d_v:
  case TensorRole::ssm_f_a:
  case TensorRole::ssm_f_b:
  case TensorRole::ssm_beta:
  case TensorRole::ssm_g_a:
  case TensorRole::ssm_g_b: return TensorGroup::recurrent;
  case TensorRole::nextn_enorm:
  case TensorRole::nextn_hnorm:
  case TensorRole::nextn_eh_proj:
  case TensorRole::nextn_shared_head_norm:
  case TensorRole::nextn_embed_tokens:
  case TensorRole::nextn_shared_head_head: return TensorGroup::mtp;
  case TensorRole::vision: return TensorGroup::vision;
  case TensorRole::post_ffw_norm_1:
  case TensorRole::pre_ffw_norm_2:
  case TensorRole::post_ffw_norm_2:
  case TensorRole::layer_output_scale: return TensorGroup::norms;
  case TensorRole::ffn_gate_inp_scale:
  case TensorRole::ffn_down_exps_scale: return TensorGroup::router;
  }
  return TensorGroup::norms;
}

inline TensorGroup Tensor::group() const { return mtp ? TensorGroup::mtp : role_group(role); }

// Every tensor of the language model, blocks in layer order, in the order llama.cpp's
// converter writes them (token_embd, blocks, output_norm, output), then the vision tower
// (when the checkpoint ships one) and the MTP blocks (when `with_mtp`).
[[nodiscard]] std::vector<Tensor> model_tensors(const ModelSpec& spec, bool with_mtp = false);

struct ParamCounts {
  std::uint64_t total = 0;     // the language model: embeddings, blocks, head
  std::uint64_t active = 0;    // per token: shared weights + experts_per_token routed experts
  std::uint64_t embedding = 0; // token embedding (and untied output head)
  std::uint64_t vision = 0;    // vision tower, not in total
  std::uint64_t mtp = 0;       // multi-token-prediction blocks, not in total
};

[[nodiscard]] ParamCounts count_params(const ModelSpec& spec);

} // namespace vramcalc
