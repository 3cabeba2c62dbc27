// TensorRT-LLM (PyTorch backend) KV-cache planning. Formulas, sources and their error on
// public logs: docs/engines.md, "TensorRT-LLM".
#include "vramcalc/engine.hpp"

#include "vramcalc/names.hpp"
#include "vramcalc/units.hpp"
#include "engine_sections.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace vramcalc {

namespace {

__extension__ typedef unsigned __int128 u128; // exact products of bytes and a float32's mantissa

// Memory in use outside torch's allocator during the profiling run when no measurement is
// given, besides the CUDA graphs' pool: the CUDA context and library workspaces (cuBLAS,
// attention), and NCCL's buffers with more than one GPU. Approximations fitted to the one
// discrete-GPU log with the inputs to derive them (tests/data/trtllm/logs.md, L2; NCCL not in
// any log read): docs/engines.md.
constexpr std::uint64_t default_context_bytes = GiB / 2;
constexpr std::uint64_t default_nccl_bytes = GiB / 2;

// The all-reduce fusion workspace of the newest sources (2026; the 64 MiB default of PR #9145,
// merged 2025-11-13): allocate_allreduce_fusion_workspace (tensorrt_llm/_torch/distributed)
// cudaMallocs, through IpcMemory, size x tp of IPC buffers, 3 x size x tp of Lamport buffers
// and 256 x tp bytes of barriers, each rounded up to 2 MiB, once per GPU of a tp group, with
// size = CustomAllReduceHelper.max_workspace_size_auto() = 64 MiB. Outside torch. The 1.1
// line's smaller workspace (8 or 16 MB a rank) is not counted.
std::uint64_t allreduce_workspace_bytes(std::uint32_t tp, TrtllmRelease release) {
  if (tp <= 1 || release != TrtllmRelease::newest) return 0;
  constexpr std::uint64_t size = 64 * MiB, align = 2 * MiB;
  const std::uint64_t barriers = ceil_div(checked_mul(256, tp), align) * align;
  return checked_add(checked_mul(checked_mul(4, size), tp, "the all-reduce workspace"), barriers,
                     "the all-reduce workspace");
}

bool takes_kv(Dtype kv) {
  for (Dtype d : trtllm_kv_dtypes) {
    if (d == kv) return true;
  }
  return false;
}

// The layers of the cache: every layer with attention. Sliding-window and chunked layers keep
// a full-length cache too: kv_cache_config.max_attention_window is unset by default, so the
// window of every layer is max_seq_len (_util.py _create_kv_cache_manager passes
// num_hidden_layers; a per-layer window is the VSWA path, not modelled).
std::uint64_t attention_layers(const ModelSpec& spec, std::uint64_t first, std::uint64_t last) {
  std::uint64_t n = 0;
  for (std::uint64_t i = first; i < last && i < spec.layers.size(); ++i) {
    if (spec.layers[i].attention != AttentionKind::none && spec.layers[i].has_mixer) ++n;
  }
  return n;
}

// The attention layers of the pipeline stage holding the most (the pool is sized per rank and
// the ranks agree on the smallest: calculate_max_num_blocks' allreduce MIN), the last stage
// with `spec_layers` more (resource_manager.py get_pp_layers appends get_num_spec_layers to
// the last pipeline rank). At least one, as get_cache_size_per_token provides.
std::uint64_t busiest_stage_layers(const ModelSpec& spec, std::uint32_t pp, std::uint64_t spec_layers = 0) {
  std::uint64_t most = 0;
  for (std::uint32_t stage = 0; stage < pp; ++stage) {
    const auto [first, last] = stage_layers(spec.num_layers, pp, stage);
    most = std::max(most, attention_layers(spec, first, last) + (stage + 1 == pp ? spec_layers : 0));
  }
  return std::max<std::uint64_t>(most, 1);
}

// Bytes of `elements` KV elements of `kv` as TensorRT-LLM counts them: get_size_in_bytes
// (FP8 1, HALF / BF16 2, FLOAT 4, NVFP4 half a byte) plus NVFP4's FP8 scale per 16 elements
// (calculate_scaling_factor_size_bytes).
std::uint64_t kv_element_bytes(std::uint64_t elements, Dtype kv) {
  if (kv == Dtype::nvfp4) return checked_add(elements / 2, elements / 16, "the KV bytes per token");
  return checked_mul(elements, traits(kv).block_bytes, "the KV bytes per token");
}

// One token's activations in one layer, per GPU, in the model dtype: the residual stream and
// its normalized copy, and the widest intermediate of one layer (layers free theirs before the
// next): attention's fused qkv output and its output; the dense MLP's fused gate_up (2I) and
// the activation (I); a routed MoE's per selected expert copy of the input, fc1 (2I) and the
// activation (I), unless `moe_in_workspace` (the CUTLASS workspace below holds those).
std::uint64_t token_activation_bytes(const ModelSpec& spec, const Parallel& p, bool moe_in_workspace = false) {
  const std::uint64_t h = spec.hidden_size, tp = p.tp;
  const AttentionSpec& a = spec.attention;
  std::uint64_t widest = 0;
  if (a.mla) {
    const MlaSpec& m = *a.mla;
    const std::uint64_t q = a.num_heads * (m.qk_nope_head_dim + m.qk_rope_head_dim);
    const std::uint64_t kv = a.num_heads * (m.qk_nope_head_dim + m.v_head_dim);
    widest = ceil_div(q + kv + a.num_heads * m.v_head_dim, tp) + m.kv_lora_rank + m.qk_rope_head_dim;
  } else {
    const std::uint64_t qkv = (a.num_heads + 2 * a.num_kv_heads) * a.head_dim;
    widest = ceil_div(qkv + a.num_heads * a.v_head_dim, tp);
  }
  // A dense MLP where a layer has one (a MoE model's config may give intermediate_size unused).
  const bool dense = !spec.moe || spec.moe->first_dense_layers > 0 || spec.moe->layer_step > 1 || spec.moe->dense_mlp_beside;
  if (spec.intermediate_size > 0 && dense) widest = std::max(widest, ceil_div(3 * spec.intermediate_size, tp));
  if (spec.moe && !moe_in_workspace) {
    const MoeSpec& m = *spec.moe;
    widest = std::max(widest, checked_mul(m.experts_per_token, h + ceil_div(3 * m.expert_intermediate_size, tp),
                                          "the activations"));
  }
  return checked_mul(2 * h + widest, traits(spec.dtype).block_bytes, "the activations");
}

std::uint64_t align_up(std::uint64_t n, std::uint64_t to) { return checked_mul(ceil_div(n, to), to, "the MoE workspace"); }

// The CUTLASS fused-MoE workspace of a forward pass over `tokens` tokens, one buffer the
// layers share (moe_config.backend CUTLASS, the default; MoERunner.runner_dict, a class
// attribute, gives the layers one FusedMoeRunner): thop moeOp.cpp
// FusedMoeRunner::getWorkspaceInfo keeps it in mStreamWorkspaces per stream, grown only, sized by
// CutlassMoeFCRunner::getWorkspaceDeviceBufferSizes (cpp/tensorrt_llm/kernels/cutlass_kernels/
// moe_gemm/moe_kernels.cu), each buffer rounded up to kCudaMemAlign = 128 bytes. R = tokens x
// top-k rows, H hidden, I the expert's intermediate on this GPU (/ tp, or whole under EP with
// E / tp experts), a gated activation (glu_inter 2RI). Activations of T bytes (NVFP4: half a
// byte; 16-bit weights: 2), GEMM outputs in bf16 (2): the GEMM inputs max(R H T, R I T, R H 2)
// and outputs max(2 R I 2, R H 2, R I T); four int32 index arrays of R, the experts' first-token
// offsets (E + 1) x 8, the final scales R x 4 and two pointer arrays E x 8; NVFP4 adds the
// activations' FP8 block scales, getOffsetActivationSF at E experts: (min(R, tokens x E) +
// E x 127) rounded up to 128 rows x K / 16 (K padded to 64), the larger of K = H and K = I. The
// sorter's, the TMA groups' and the GEMM's own workspaces (a few MiB) are not counted. 0 for
// other weight formats (their T and paths are not read): the per-token estimate keeps them.
std::uint64_t cutlass_moe_workspace_bytes(const ModelSpec& spec, const WeightFormat& format, const Parallel& p,
                                          std::uint64_t tokens) {
  if (!spec.moe || spec.moe->num_experts == 0) return 0;
  const bool fp4 = format.kind == FormatKind::nvfp4;
  const bool wide = format.kind == FormatKind::plain && (format.dtype == Dtype::bf16 || format.dtype == Dtype::f16);
  if (!fp4 && !wide) return 0;
  const MoeSpec& m = *spec.moe;
  const char* what = "the MoE workspace";
  const std::uint64_t h = spec.hidden_size;
  const std::uint64_t experts = p.expert_parallel ? ceil_div(m.num_experts, p.tp) : m.num_experts;
  const std::uint64_t inter = p.expert_parallel ? m.expert_intermediate_size : ceil_div(m.expert_intermediate_size, p.tp);
  const std::uint64_t rows = checked_mul(tokens, m.experts_per_token, what);
  const auto act = [&](std::uint64_t elements) { return fp4 ? ceil_div(elements, 2) : checked_mul(elements, 2, what); };
  const std::uint64_t rh = checked_mul(rows, h, what), ri = checked_mul(rows, inter, what);
  const std::uint64_t fc2 = checked_mul(rh, 2, what), fc1 = act(ri);
  const std::uint64_t glu = spec.mlp == MlpKind::gated ? checked_mul(ri, 4, what) : 0;
  std::uint64_t total = 0;
  const auto add = [&](std::uint64_t bytes) { total = checked_add(total, align_up(bytes, 128), what); };
  for (int i = 0; i < 4; ++i) add(checked_mul(rows, 4, what));
  add(checked_mul(experts + 1, 8, what));
  add(checked_mul(rows, 4, what));
  add(std::max({act(rh), fc2, glu > 0 ? fc1 : 0}));
  add(glu > 0 ? std::max({glu, fc2, fc1}) : fc1);
  add(experts * 8);
  add(experts * 8);
  if (fp4) {
    const std::uint64_t sf_rows = align_up(checked_add(std::min(rows, checked_mul(tokens, experts, what)),
                                                       checked_mul(experts, 127, what), what), 128);
    add(checked_mul(sf_rows, align_up(std::max(h, inter), 64) / 16, what));
  }
  return total;
}

// The profiling run's activations (inside torch): a forward pass over `tokens` tokens (the
// dummy context requests of max_num_tokens in one batch), then the logits of each request's
// last token in fp32. With the CUTLASS MoE workspace: the residual stream and its normalized
// copy, the workspace (kept from the first MoE layer on), and the larger of the other layers'
// widest intermediate and the MoE layer's own output (H, model dtype) and fp32 router logits
// (one per expert).
std::uint64_t activation_estimate(const ModelSpec& spec, const WeightFormat& format, const Parallel& p,
                                  std::uint64_t tokens, std::uint64_t requests) {
  const std::uint64_t workspace = cutlass_moe_workspace_bytes(spec, format, p, tokens);
  std::uint64_t forward = checked_mul(tokens, token_activation_bytes(spec, p, workspace > 0), "the activations");
  if (workspace > 0) {
    const std::uint64_t b = traits(spec.dtype).block_bytes;
    const std::uint64_t moe_layer = checked_mul(tokens, 2 * spec.hidden_size * b + spec.hidden_size * b +
                                                            spec.moe->num_experts * 4, "the activations");
    forward = checked_add(std::max(forward, moe_layer), workspace, "the activations");
  }
  const std::uint64_t logits = checked_mul(checked_mul(requests, spec.vocab_size, "the activations"), 4, "the activations");
  return checked_add(forward, logits, "the activations");
}

// The CUDA graphs' private pool, captured before the profiling run and held outside what torch
// counts as allocated: the largest decode graph's intermediates, its batch of one layer's
// activations and its logits in fp32 (an approximation: docs/engines.md).
std::uint64_t cuda_graph_pool_estimate(const ModelSpec& spec, const Parallel& p, std::uint64_t max_graph_batch) {
  const std::uint64_t row = checked_add(token_activation_bytes(spec, p), checked_mul(spec.vocab_size, 4, "the CUDA graphs"),
                                        "the CUDA graphs");
  return checked_mul(max_graph_batch, row, "the CUDA graphs");
}

} // namespace

std::string_view trtllm_release_name(TrtllmRelease release) {
  switch (release) {
  case TrtllmRelease::v1_1: return "1.1";
  case TrtllmRelease::newest: return "newest";
  }
  return "1.1";
}

std::string_view trtllm_spec_kind_name(TrtllmSpecKind kind) {
  switch (kind) {
  case TrtllmSpecKind::none: return "";
  case TrtllmSpecKind::mtp: return "MTP";
  case TrtllmSpecKind::eagle3: return "Eagle3";
  case TrtllmSpecKind::draft_target: return "DraftTarget";
  }
  return "";
}

std::string trtllm_eagle3_shape_problem(const ModelSpec& target, const ModelSpec& draft) {
  // Eagle3DraftModel (modeling_speculative.py): fc reads the target's hidden states (3 x its
  // hidden size), the first layer's qkv_proj the embedding and the hidden state (2h); the
  // embedding is the target's unless the head's config names another target_hidden_size (not
  // modelled); an MLA head (Eagle3DeepSeekV3ForCausalLM) is not modelled either.
  const std::string id = draft.id.empty() ? std::string("the draft") : draft.id;
  if (draft.hidden_size != target.hidden_size) {
    return id + " is not an EAGLE-3 head of " + target.id + ": its hidden_size " + std::to_string(draft.hidden_size) +
           " is not the target's " + std::to_string(target.hidden_size) +
           " (the head reads the target's hidden states and shares its embedding)";
  }
  if (draft.num_layers == 0 || draft.num_layers >= target.num_layers) {
    return id + " is not an EAGLE-3 head of " + target.id + ": it has " + std::to_string(draft.num_layers) +
           " layers, the target " + std::to_string(target.num_layers) +
           " (a head has a few; a whole draft model is decoding_type DraftTarget)";
  }
  if (draft.moe || draft.recurrent || draft.attention.mla) {
    return id + " is not an EAGLE-3 head vramcalc models: its layers are not dense attention with a gated MLP "
                "(EAGLE3LlamaForCausalLM)";
  }
  return {};
}

std::vector<std::uint64_t> trtllm_cuda_graph_batch_sizes(const TrtllmOptions& o) {
  std::vector<std::uint64_t> sizes;
  if (!o.cuda_graphs) return sizes;
  if (!o.cuda_graph_batch_sizes.empty()) {
    sizes = o.cuda_graph_batch_sizes;
  } else {
    // llm_args.py CudaGraphConfig._generate_cuda_graph_batch_sizes (1.1): padding 1, 2, 4 and
    // multiples of 8 to 128, else 1-31, 32, 64, 128; powers of two from 256 below
    // 2^ceil(log2 max); those above max left out, max itself added.
    const std::uint64_t max_bs = o.cuda_graph_max_batch_size != 0 ? o.cuda_graph_max_batch_size : 128;
    if (o.cuda_graph_padding) {
      sizes = {1, 2, 4};
      for (std::uint64_t i = 1; i <= 16; ++i) sizes.push_back(8 * i);
    } else {
      for (std::uint64_t i = 1; i < 32; ++i) sizes.push_back(i);
      sizes.insert(sizes.end(), {32, 64, 128});
    }
    std::uint64_t ceil_log2 = 0;
    while (ceil_log2 < 63 && (1ull << ceil_log2) < max_bs) ++ceil_log2;
    for (std::uint64_t e = 8; e < ceil_log2; ++e) sizes.push_back(1ull << e);
    std::erase_if(sizes, [&](std::uint64_t s) { return s > max_bs; });
    if (sizes.empty() || sizes.back() != max_bs) sizes.push_back(max_bs);
  }
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  // The model engine captures only the sizes the executor can run (<= max_batch_size): the
  // 1.1.0rc3 log of tests/data/trtllm/logs.md captures 11 of 19 at max_batch_size 64.
  std::erase_if(sizes, [&](std::uint64_t s) { return s > o.max_batch_size; });
  return sizes;
}

std::uint64_t trtllm_bytes_per_token(const ModelSpec& spec, Dtype kv, std::uint64_t layers, std::uint32_t tp,
                                     bool attention_dp) {
  // KVCacheManager.get_cache_bytes_per_token: kv_factor x sum over the layers of the heads on
  // this GPU x head_dim, in the KV dtype. MLA (CacheType.SELFKONLY): one head of kv_lora_rank +
  // qk_rope_head_dim, kv_factor 1, on every GPU; otherwise K and V of ceil(kv_heads / tp)
  // heads (tp 1 with attention DP).
  std::uint64_t per_layer = 0;
  if (spec.attention.mla) {
    per_layer = spec.attention.mla->kv_lora_rank + spec.attention.mla->qk_rope_head_dim;
  } else {
    const std::uint64_t t = attention_dp ? 1 : tp;
    per_layer = checked_mul(2 * ceil_div(spec.attention.num_kv_heads, t), spec.attention.head_dim, "the KV bytes per token");
  }
  return kv_element_bytes(checked_mul(per_layer, layers, "the KV bytes per token"), kv);
}

std::uint64_t trtllm_estimate_bytes_per_token(const ModelSpec& spec, Dtype kv, std::uint64_t layers, std::uint32_t tp,
                                              bool attention_dp, TrtllmRelease release) {
  // KVCacheManager.get_cache_size_per_token, what the profiled budget is divided by: the
  // model's KV heads x head_dim // tp (a floor: below one head per GPU it counts a fraction
  // where the pool keeps a whole head), x 2 for K and V; MLA's latent once, not divided.
  std::uint64_t elements = 0;
  if (spec.attention.mla) {
    elements = spec.attention.mla->kv_lora_rank + spec.attention.mla->qk_rope_head_dim;
  } else {
    const std::uint64_t t = attention_dp ? 1 : tp;
    elements = 2 * (checked_mul(spec.attention.head_dim, spec.attention.num_kv_heads, "the KV bytes per token") / t);
  }
  elements = checked_mul(elements, layers, "the KV bytes per token");
  // Bytes per element: FP8 1; NVFP4 counted as 2 in 1.1 (only FP8 is tested for), in the
  // newest as ceil(x / 2) + ceil(x / 16); everything else 2 (FLOAT too).
  if (kv == Dtype::f8_e4m3 || kv == Dtype::f8_e5m2) return elements;
  if (kv == Dtype::nvfp4 && release == TrtllmRelease::newest) return ceil_div(elements, 2) + ceil_div(elements, 16);
  return checked_mul(elements, 2, "the KV bytes per token");
}

std::uint64_t trtllm_fraction_of(std::uint64_t bytes, std::uint32_t ppm) {
  // The float32 nearest to ppm / 10^6 is m x 2^(e - 24) with m < 2^24 (frexp).
  int e = 0;
  const float f = std::frexp(static_cast<float>(static_cast<double>(ppm) / 1e6), &e);
  const auto m = static_cast<std::uint64_t>(std::ldexp(f, 24));
  const int shift = 24 - e;
  if (m == 0 || shift >= 128) return 0;
  const u128 product = static_cast<u128>(bytes) * m;
  const u128 result = shift >= 0 ? product >> shift : product << -shift;
  if (result > UINT64_MAX) throw OverflowError("the KV budget");
  return static_cast<std::uint64_t>(result);
}

namespace {

// What the plan cannot model or TensorRT-LLM rejects; empty when the inputs are plannable.
std::string unplannable_reason(const ModelSpec& spec, Dtype kv, const TrtllmOptions& o) {
  for (const LayerSpec& layer : spec.layers) {
    if (layer.attention == AttentionKind::none && layer.has_mixer) {
      return "TensorRT-LLM keeps the state of recurrent layers in its MambaHybridCacheManager, which vramcalc "
             "does not model; this model has such layers";
    }
  }
  for (const LayerSpec& layer : spec.layers) {
    if (layer.head_dim_q != 0 && layer.head_dim_k != spec.attention.head_dim) {
      return "TensorRT-LLM's KVCacheManager takes one head size for every layer (sizePerHead; its pools differ "
             "by KV heads and window only); this model's full-attention layers have their own (" +
             std::to_string(layer.head_dim_k) + " against " + std::to_string(spec.attention.head_dim) +
             "), which vramcalc does not model for TensorRT-LLM";
    }
  }
  if (!takes_kv(kv)) {
    return "TensorRT-LLM's KV cache takes fp16, bf16, fp32, fp8 (e4m3) or nvfp4, not " +
           std::string(traits(kv).name);
  }
  if (o.free_gpu_memory_fraction_ppm == 0 || o.free_gpu_memory_fraction_ppm >= 1'000'000) {
    return "free_gpu_memory_fraction must be above 0 and below 1 (KVCacheManager asserts < 1.0)";
  }
  if (o.tokens_per_block == 0 || o.max_batch_size == 0 || o.max_num_tokens == 0 || o.max_beam_width == 0) {
    return "max_batch_size, max_num_tokens, tokens_per_block and max_beam_width must be positive";
  }
  if (o.max_tokens && *o.max_tokens == 0) {
    return "kv_cache_config.max_tokens must be positive";
  }
  return {};
}

// The device, the options echoed and the lengths the executor runs with.
void set_device_and_lengths(TrtllmResult& r, const ModelSpec& spec, std::uint64_t requested_max_seq_len,
                            const GpuSpec& gpu, const TrtllmOptions& o) {
  r.device_total_bytes = cuda_visible_bytes(gpu);
  r.device_total_source = cuda_visible_source(gpu);
  r.fraction_ppm = o.free_gpu_memory_fraction_ppm;
  r.tokens_per_block = o.tokens_per_block;
  r.max_batch_size = o.max_batch_size;
  // max_seq_len: given, else the model's (model_engine.py _infer_max_seq_len_from_config:
  // max_position_embeddings); a larger one is clamped to it. max_num_tokens at most
  // max_seq_len x max_batch_size (_init_max_num_tokens).
  r.max_seq_len = requested_max_seq_len == 0 ? spec.max_context : std::min(requested_max_seq_len, spec.max_context);
  if (r.max_seq_len == 0) r.max_seq_len = 8192; // default_max_seq_len without a model config
  const std::uint64_t seq_times_batch = checked_mul(r.max_seq_len, o.max_batch_size, "max_num_tokens");
  r.max_num_tokens = std::min(o.max_num_tokens, seq_times_batch);
  r.longest_prompt_tokens = o.enable_chunked_prefill ? r.max_seq_len : std::min(r.max_num_tokens, r.max_seq_len);
  r.cuda_graph_batch_sizes = trtllm_cuda_graph_batch_sizes(o);
}

// The profiling requests (KvCacheCreator._create_dummy_context_requests): max_num_tokens
// split into prompts of min(max_num_tokens, max_seq_len - 1), repeated tp times with
// attention DP. Their cache (_get_token_num_for_estimation): each request's tokens + 1
// generated (+ 1 with the overlap scheduler) in whole blocks, x beam width. With speculative
// decoding (the newest sources): + 1 generated, + max_total_draft_tokens (tokens_per_gen_step
// - 1) with the overlap scheduler, + max_total_draft_tokens, + get_num_extra_kv_tokens.
void size_profiling_cache(TrtllmResult& r, const Parallel& p, const TrtllmOptions& o) {
  const std::uint64_t prompt = std::min(r.max_num_tokens, std::max<std::uint64_t>(1, r.max_seq_len - 1));
  const std::uint64_t full = r.max_num_tokens / prompt, rest = r.max_num_tokens % prompt;
  const std::uint64_t draft = r.spec_max_draft_len;
  const std::uint64_t extra = r.spec_mode.empty() ? (o.disable_overlap_scheduler ? 1 : 2)
                                                  : 1 + (o.disable_overlap_scheduler ? 0 : draft) + draft + r.spec_extra_kv_tokens;
  std::uint64_t blocks = checked_mul(full, ceil_div(prompt + extra, o.tokens_per_block), "the profiling cache");
  if (rest > 0) blocks = checked_add(blocks, ceil_div(rest + extra, o.tokens_per_block), "the profiling cache");
  r.estimation_requests = full + (rest > 0 ? 1 : 0);
  if (o.attention_dp) {
    blocks = checked_mul(blocks, p.tp, "the profiling cache");
    r.estimation_requests = checked_mul(r.estimation_requests, p.tp, "the profiling cache");
  }
  r.estimation_tokens = checked_mul(checked_mul(blocks, o.tokens_per_block, "the profiling cache"), o.max_beam_width,
                                    "the profiling cache");
  r.estimation_kv_bytes = checked_mul(r.estimation_tokens, r.bytes_per_token, "the profiling cache");
}

// MLA's k_b_proj_trans (tensorrt_llm/_torch/modules/attention.py, MLA.create_weights): a
// [heads on this GPU, kv_lora_rank, qk_nope_head_dim] transposed copy of kv_b_proj's K part,
// held beside kv_b_proj in the model dtype (FP8 with its f32 scale per 128 x 128 under FP8
// block scales); v_b_proj views into kv_b_proj's weight and adds nothing. Per MLA layer.
std::uint64_t mla_k_b_copy_bytes(const ModelSpec& spec, const WeightFormat& format, const Parallel& p, bool attention_dp,
                                 std::uint64_t layers) {
  if (!spec.attention.mla) return 0;
  const MlaSpec& m = *spec.attention.mla;
  const std::uint64_t heads = attention_dp ? spec.attention.num_heads : ceil_div(spec.attention.num_heads, p.tp);
  const std::uint64_t elements = checked_mul(checked_mul(heads, m.kv_lora_rank, "the weights"), m.qk_nope_head_dim, "the weights");
  const bool fp8_block = format.kind == FormatKind::fp8 && format.fp8_scale == Fp8Scale::block;
  const std::uint64_t one = fp8_block ? elements + heads * (m.kv_lora_rank / 128) * (m.qk_nope_head_dim / 128) * 4
                                      : checked_mul(elements, traits(spec.dtype).block_bytes, "the weights");
  return checked_mul(one, layers, "the weights");
}

// Eagle3's head on one GPU (modeling_speculative.py, one-model: Eagle3DraftModel,
// Eagle3DecoderLayer, Eagle3Attention): its decoder layers sharded at the target's tp (qkv_proj
// column-parallel, the first layer's reading 2h, the embedding and the hidden state; o_proj
// row-parallel; GatedMLP), input_layernorm on the first layer only (the later ones are
// "regular"), hidden_norm and post_attention_layernorm on each, the final norm; fc =
// Linear(3h, h), unsharded (num_capture_layers 3: the default eagle3_layers_to_capture); its
// lm_head of draft_vocab_size rows split by tp (LMHead: ceil(rows / tp) a GPU; vocab_size when
// the config gives none); d2t, int32 per draft token, when draft_vocab_size differs from
// vocab_size. The embedding is the target's. The layers in the head's format; fc, norms and
// lm_head in its dtype.
std::uint64_t eagle3_head_bytes(const DraftModel& d, const Parallel& p) {
  const ModelSpec& s = d.spec;
  const char* what = "the EAGLE-3 head";
  std::vector<Tensor> t = rank_tensors(s, Parallel{p.tp, 1, false}, 0);
  std::erase_if(t, [](const Tensor& x) { return x.layer < 0 || (x.layer > 0 && x.role == TensorRole::attn_norm); });
  for (Tensor& x : t) {
    const bool qkv = x.role == TensorRole::attn_q || x.role == TensorRole::attn_k || x.role == TensorRole::attn_v ||
                     x.role == TensorRole::attn_qkv;
    if (x.layer == 0 && qkv && !x.bias) x.ne0 = checked_mul(2, x.ne0, what);
  }
  const std::uint64_t h = s.hidden_size, b = traits(s.dtype).block_bytes;
  const std::uint64_t rows = s.draft_vocab_size != 0 ? s.draft_vocab_size : s.vocab_size;
  std::uint64_t own = checked_mul(3 * h, h, what);                                  // fc
  own = checked_add(own, checked_mul(s.num_layers + 1, h, what), what);             // hidden_norm, final norm
  own = checked_add(own, checked_mul(ceil_div(rows, p.tp), h, what), what);         // lm_head
  const std::uint64_t d2t = rows != s.vocab_size ? checked_mul(rows, 4, what) : 0;
  return checked_add(checked_add(detail::shards_bytes(s, t, d.format), checked_mul(own, b, what), what), d2t, what);
}

// The speculative weights on the busiest GPU. MTP's layers (modeling_deepseekv3.py
// DeepseekV3MTP, built for the checkpoint's num_nextn_predict_layers): decoder layer, enorm,
// hnorm, eh_proj and shared_head's norm; the embedding and lm_head are the target's; their MLA
// layers hold k_b_proj_trans too. Eagle3's head (above). DraftTarget's draft model whole, in
// its own format, sharded at the target's tp (the draft config takes the target's mapping:
// modeling_speculative.py), its own embedding and lm_head included.
std::uint64_t spec_weights(const ModelSpec& spec, const WeightFormat& format, Dtype kv, const Parallel& p,
                           const TrtllmOptions& o, const DraftModel* draft) {
  switch (o.speculative.kind) {
  case TrtllmSpecKind::mtp:
    return checked_add(detail::mtp_layers_bytes(spec, format, p, false),
                       mla_k_b_copy_bytes(spec, format, p, o.attention_dp, spec.mtp_layers), "the weights");
  case TrtllmSpecKind::eagle3: return eagle3_head_bytes(*draft, p);
  case TrtllmSpecKind::draft_target: {
    const Parallel dp{p.tp, 1, false};
    RankCosts costs(draft->spec, draft->format, kv, 1, 0);
    return checked_add(costs.busiest(dp).weights_bytes,
                       mla_k_b_copy_bytes(draft->spec, draft->format, dp, false, busiest_stage_layers(draft->spec, 1)),
                       "the weights");
  }
  case TrtllmSpecKind::none: break;
  }
  return 0;
}

// Eagle3's hidden-state buffers, allocated in torch before the profiling run: speculative/utils.py
// get_spec_resource_manager's Eagle3ResourceManager (eagle3.py): (min(max_num_tokens,
// max_batch_size x max_seq_len) + (max_total_draft_tokens + 1) x max_batch_size) rows of
// 3 hidden states (num_capture_layers) in the model dtype; and get_spec_metadata's
// Eagle3OneModelSpecMetadata: max_num_tokens rows of 3 hidden states in bfloat16 (its default
// dtype). 0 for the other kinds (MTP Eagle's and DraftTarget's managers hold none by default).
std::uint64_t spec_buffers(const TrtllmResult& r, const ModelSpec& spec, const TrtllmOptions& o) {
  if (o.speculative.kind != TrtllmSpecKind::eagle3) return 0;
  const char* what = "the EAGLE-3 buffers";
  const std::uint64_t row = checked_mul(3, spec.hidden_size, what);
  const std::uint64_t tokens = std::min(r.max_num_tokens, checked_mul(r.max_batch_size, r.max_seq_len, what));
  const std::uint64_t rows = checked_add(tokens, checked_mul(r.spec_max_draft_len + 1, r.max_batch_size, what), what);
  return checked_add(checked_mul(checked_mul(rows, row, what), traits(spec.dtype).block_bytes, what),
                     checked_mul(checked_mul(r.max_num_tokens, row, what), 2, what), what);
}

// The peak of the profiling run (configure_kv_cache_capacity): torch's peak (weights, the
// profiling cache, the speculative buffers, the forward pass's activations) + everything outside torch.
void size_profiled_peak(TrtllmResult& r, const ModelSpec& spec, const WeightFormat& format, Dtype kv,
                        const Parallel& p, const TrtllmOptions& o, const DraftModel* draft) {
  RankCosts costs(spec, format, kv, 1, 0);
  r.weights_bytes = checked_add(costs.busiest(p).weights_bytes,
                                mla_k_b_copy_bytes(spec, format, p, o.attention_dp, busiest_stage_layers(spec, p.pp)),
                                "the weights");
  if (!r.spec_mode.empty()) {
    r.spec_weights_bytes = spec_weights(spec, format, kv, p, o, draft);
    r.weights_bytes = checked_add(r.weights_bytes, r.spec_weights_bytes, "the weights");
    r.spec_buffer_bytes = spec_buffers(r, spec, o);
  }
  r.activation_given = o.activation_bytes.has_value();
  r.moe_workspace_bytes = cutlass_moe_workspace_bytes(spec, format, p, r.max_num_tokens);
  r.activation_bytes = o.activation_bytes ? *o.activation_bytes
                                          : activation_estimate(spec, format, p, r.max_num_tokens, r.estimation_requests);
  r.non_torch_given = o.non_torch_bytes.has_value();
  const std::uint64_t max_graph_batch = r.cuda_graph_batch_sizes.empty() ? 0 : r.cuda_graph_batch_sizes.back();
  r.cuda_graph_bytes = cuda_graph_pool_estimate(spec, p, max_graph_batch);
  r.non_torch_bytes = o.non_torch_bytes ? *o.non_torch_bytes
                                        : checked_add(default_context_bytes + (p.gpus() > 1 ? default_nccl_bytes : 0) +
                                                          allreduce_workspace_bytes(p.tp, o.release),
                                                      r.cuda_graph_bytes, "the profiled peak");
  r.peak_bytes = checked_add(checked_add(checked_add(r.weights_bytes, r.spec_buffer_bytes, "the profiled peak"),
                                         r.estimation_kv_bytes, "the profiled peak"),
                             checked_add(r.activation_bytes, r.non_torch_bytes, "the profiled peak"), "the profiled peak");
}

// The budget (_cal_max_memory): (total - peak + the profiling cache) x fraction, in bytes
// (int()); max_tokens = budget // kv size, at most kv_cache_config.max_tokens.
void size_kv_budget(TrtllmResult& r, const TrtllmOptions& o) {
  const std::uint64_t room = checked_add(r.device_total_bytes, r.estimation_kv_bytes, "the KV budget");
  r.kv_budget_bytes = room > r.peak_bytes ? trtllm_fraction_of(room - r.peak_bytes, r.fraction_ppm) : 0;
  r.max_tokens = r.kv_budget_bytes / r.estimate_bytes_per_token;
  r.max_tokens_given = o.max_tokens.has_value();
  if (o.max_tokens) r.max_tokens = std::min(r.max_tokens, *o.max_tokens);
}

// The pool (KVCacheManager.calculate_max_num_blocks, after the profiling executor is torn
// down): min(max_tokens, fraction x free now / bytes per token), free now being the device
// less the weights, the speculative buffers and what stays outside torch; in blocks, rounded
// up in 1.1, down in the newest sources. A separate draft pool (_util.py build_managers, the
// draft manager created after the target's: a V1 pool without VSWA takes the shared
// max_tokens, "V1 non-VSWA GPU uses shared max_tokens") is sized the same way with its own
// bytes per token and the memory the target's pool left.
void size_kv_pool(TrtllmResult& r, const TrtllmOptions& o) {
  const auto blocks_of = [&](std::uint64_t free, std::uint64_t per_token) {
    const std::uint64_t tokens = std::min(r.max_tokens, trtllm_fraction_of(free, r.fraction_ppm) / per_token);
    return o.release == TrtllmRelease::v1_1 ? ceil_div(tokens, o.tokens_per_block) : tokens / o.tokens_per_block;
  };
  const std::uint64_t held = checked_add(checked_add(r.weights_bytes, r.non_torch_bytes, "the KV pool"), r.spec_buffer_bytes,
                                         "the KV pool");
  const std::uint64_t free_now = r.device_total_bytes > held ? r.device_total_bytes - held : 0;
  const std::uint64_t draft = r.spec_separate_pool ? r.spec_layer_bytes_per_token : 0;
  const std::uint64_t target = r.bytes_per_token - draft;
  r.free_cap_tokens = trtllm_fraction_of(free_now, r.fraction_ppm) / target;
  r.blocks = blocks_of(free_now, target);
  r.kv_tokens = checked_mul(r.blocks, o.tokens_per_block, "the KV pool");
  r.kv_cache_bytes = checked_mul(r.kv_tokens, target, "the KV pool");
  if (draft == 0) return;
  const std::uint64_t left = free_now > r.kv_cache_bytes ? free_now - r.kv_cache_bytes : 0;
  r.draft_kv_tokens = checked_mul(blocks_of(left, draft), o.tokens_per_block, "the KV pool");
  r.draft_kv_cache_bytes = checked_mul(r.draft_kv_tokens, draft, "the KV pool");
  r.kv_cache_bytes = checked_add(r.kv_cache_bytes, r.draft_kv_cache_bytes, "the KV pool");
}

// max_seq_len as the pool allows (_validate_and_adjust_attention_windows,
// get_max_atten_window_upper_bound): whole blocks per beam, one block less with beams when
// it binds; "Impossible to fit in any sequence in kvCache" when not one block.
void bound_max_seq_len(TrtllmResult& r, const TrtllmOptions& o) {
  const std::uint64_t per_seq_blocks = r.blocks / o.max_beam_width;
  std::uint64_t bound = checked_mul(per_seq_blocks, o.tokens_per_block, "the KV pool");
  if (o.max_beam_width > 1 && r.max_seq_len > bound && bound >= o.tokens_per_block) bound -= o.tokens_per_block;
  r.max_seq_len_final = std::min(r.max_seq_len, bound);
  r.max_seq_len_reduced = r.max_seq_len_final < r.max_seq_len;
  r.starts = r.peak_bytes <= r.device_total_bytes && per_seq_blocks > 0 && bound > 0;
}

// speculative_config (the newest sources). MTP: llm_args.py MTPDecodingConfig (spec_dec_mode:
// MTP_EAGLE_ONE_MODEL when the checkpoint has one MTP layer, else vanilla MTP) and
// speculative/utils.py update_spec_config_from_model_config (max_draft_len: given, else the
// checkpoint's layers, 1 for MTP Eagle; vanilla at most the checkpoint's layers),
// get_num_spec_layers (MTP Eagle 1, vanilla the checkpoint's layers). Eagle3 (one-model, the
// default eagle3_one_model): get_num_spec_layers = the head's num_hidden_layers
// (update_spec_config_from_draft_model_config); DraftTarget (one-model): the draft model's
// layers in the draft pool (_util.py _get_num_draft_layers, an external drafter). Every
// one-model mode: get_num_extra_kv_tokens = max_draft_len - 1. Empty, or why it is not modelled.
std::string size_speculative(TrtllmResult& r, const ModelSpec& spec, const DraftModel* draft, Dtype kv,
                             const Parallel& p, const TrtllmOptions& o) {
  const TrtllmSpeculative& sc = o.speculative;
  if (sc.kind == TrtllmSpecKind::none) return {};
  if (o.release != TrtllmRelease::newest) return std::string(trtllm_speculative_release_refusal);
  if (p.pp > 1) {
    return "speculative decoding with pipeline parallelism is not modelled for TensorRT-LLM (where the draft's "
           "weights sit among the stages was not read in the sources)";
  }
  r.spec_separate_pool = !o.attention_dp; // _should_create_separate_draft_kv_cache
  if (sc.kind == TrtllmSpecKind::mtp) {
    if (spec.mtp_layers == 0) {
      return "speculative_config decoding_type MTP drafts with the checkpoint's own MTP layers (num_nextn_predict_layers); " +
             spec.id + " has none";
    }
    const std::uint64_t n = spec.mtp_layers;
    const bool eagle = n == 1;
    r.spec_mode = eagle ? "MTP Eagle" : "MTP";
    r.spec_max_draft_len = sc.max_draft_len == 0 ? (eagle ? 1 : n)
                           : eagle               ? sc.max_draft_len
                                                 : std::min<std::uint64_t>(sc.max_draft_len, n);
    r.spec_layers = eagle ? 1 : n;
    r.spec_extra_kv_tokens = r.spec_max_draft_len - 1;
    return {};
  }
  const bool eagle3 = sc.kind == TrtllmSpecKind::eagle3;
  const std::string type(trtllm_spec_kind_name(sc.kind));
  if (draft == nullptr) return "speculative_config decoding_type " + type + " needs its draft model (speculative_model)";
  if (o.attention_dp) {
    return "decoding_type " + type + " with attention DP is not modelled (the draft's layers then share the "
           "target's KV cache manager with their own heads)";
  }
  if (sc.max_draft_len == 0) return "max_draft_len must be > 0 for " + type + " (llm_args.py)";
  if (eagle3) {
    if (std::string why = trtllm_eagle3_shape_problem(spec, draft->spec); !why.empty()) return why;
  }
  const Dtype draft_kv = kv == Dtype::f8_e4m3 || kv == Dtype::nvfp4 ? kv : draft->spec.dtype;
  if (!takes_kv(draft_kv)) {
    return "the draft's KV cache would be " + std::string(traits(draft_kv).name) + ", which TensorRT-LLM's pool does not take";
  }
  if (std::string why = unplannable_reason(draft->spec, draft_kv, o); !why.empty()) return "the draft model: " + why;
  r.spec_mode = eagle3 ? "Eagle3" : "DraftTarget";
  r.spec_draft_model = draft->name;
  r.spec_max_draft_len = sc.max_draft_len;
  r.spec_layers = eagle3 ? draft->spec.num_layers : attention_layers(draft->spec, 0, draft->spec.num_layers);
  r.spec_extra_kv_tokens = r.spec_max_draft_len - 1;
  return {};
}

// The KV cell: the target's layers of this stage (+ MTP's spec layers, in the target's manager
// with attention DP) and, in the draft's own manager otherwise, the spec layers: MTP's of the
// target's shape (_get_effective_draft_config), Eagle3's and DraftTarget's of the draft's
// config, their KV dtype the target's quantized one (the draft config copies the target's
// kv_cache_quant_algo: modeling_speculative.py) or else the draft's own dtype. The budget's kv
// size adds the draft manager's get_cache_size_per_token (_util.py _get_kv_size_per_token).
void size_cell(TrtllmResult& r, const ModelSpec& spec, const DraftModel* draft, Dtype kv, const Parallel& p,
               const TrtllmOptions& o) {
  const bool mtp = o.speculative.kind == TrtllmSpecKind::mtp;
  const std::uint64_t joint = mtp && !r.spec_separate_pool ? r.spec_layers : 0;
  const std::uint64_t layers = busiest_stage_layers(spec, p.pp, joint);
  r.bytes_per_token = trtllm_bytes_per_token(spec, kv, layers, p.tp, o.attention_dp);
  r.estimate_bytes_per_token = trtllm_estimate_bytes_per_token(spec, kv, layers, p.tp, o.attention_dp, o.release);
  if (r.spec_layers == 0) return;
  const ModelSpec& d = mtp ? spec : draft->spec;
  const Dtype draft_kv = mtp || kv == Dtype::f8_e4m3 || kv == Dtype::nvfp4 ? kv : d.dtype;
  r.spec_layer_bytes_per_token = trtllm_bytes_per_token(d, draft_kv, r.spec_layers, p.tp, o.attention_dp);
  if (joint != 0) return; // already in the target's cell
  r.bytes_per_token = checked_add(r.bytes_per_token, r.spec_layer_bytes_per_token, "the KV bytes per token");
  r.estimate_bytes_per_token =
      checked_add(r.estimate_bytes_per_token,
                  trtllm_estimate_bytes_per_token(d, kv, r.spec_layers, p.tp, o.attention_dp, o.release),
                  "the KV bytes per token");
}

} // namespace

std::uint64_t trtllm_request_tokens(const TrtllmResult& r, std::uint64_t context_tokens) {
  if (r.tokens_per_block == 0) return 0;
  const std::uint64_t tokens = checked_add(std::max<std::uint64_t>(1, context_tokens),
                                           r.spec_max_draft_len + r.spec_extra_kv_tokens, "the KV pool");
  return checked_mul(ceil_div(tokens, r.tokens_per_block), r.tokens_per_block, "the KV pool");
}

TrtllmResult trtllm_plan(const ModelSpec& spec, const WeightFormat& format, Dtype kv, std::uint64_t max_seq_len,
                         const GpuSpec& gpu, const Parallel& p, const TrtllmOptions& o, const DraftModel* draft) {
  TrtllmResult r;
  r.release = o.release;
  r.error = unplannable_reason(spec, kv, o);
  if (!r.error.empty()) return r;
  if (std::string why = size_speculative(r, spec, draft, kv, p, o); !why.empty()) {
    r = TrtllmResult{};
    r.release = o.release;
    r.error = std::move(why);
    return r;
  }
  set_device_and_lengths(r, spec, max_seq_len, gpu, o);
  size_cell(r, spec, draft, kv, p, o);
  if (r.bytes_per_token == 0 || r.estimate_bytes_per_token == 0) {
    // head_dim x kv_heads // tp is 0 past head_dim x kv_heads GPUs: TensorRT-LLM divides by it.
    const TrtllmRelease release = r.release;
    r = TrtllmResult{};
    r.release = release;
    r.error = "TensorRT-LLM's estimate counts 0 KV bytes per token at tp " + std::to_string(p.tp) +
              " (head_dim x KV heads // tp) and fails dividing by it";
    return r;
  }

  size_profiling_cache(r, p, o);
  size_profiled_peak(r, spec, format, kv, p, o, draft);
  size_kv_budget(r, o);
  size_kv_pool(r, o);
  bound_max_seq_len(r, o);
  return r;
}

} // namespace vramcalc

// ---- TensorRT-LLM's part of an estimate (engine_sections.hpp) ------------------------

namespace vramcalc::detail {

EngineSection trtllm_section(const ModelSpec& model, const Settings& settings, const Parallel& layout) {
  const GpuRequest& g = settings.gpus.front();
  TrtllmOptions o = settings.engine_options.trtllm;
  // --overhead replaces the memory outside torch (a log's "Memory used outside torch").
  if (settings.overhead_given) o.non_torch_bytes = settings.overhead_bytes;
  TrtllmSection s{trtllm_plan(model, settings.weights, settings.kv_dtype, settings.context_tokens, g.gpu, layout, o,
                              settings.draft.get())};
  if (s.plan.error.empty() && !engine_loads(EngineKind::trtllm, settings.weights)) {
    s.plan = TrtllmResult{};
    s.plan.release = o.release;
    s.plan.error = "TensorRT-LLM loads Hugging Face and ModelOpt checkpoints, not " + settings.weights.id +
                   " (GGUF and ExLlamaV2 files); give -q with a format it loads, such as bf16, fp8, nvfp4 or awq";
  }
  EngineSection e = section_head(std::string(trtllm_release_name(o.release)), g.gpu, layout.tp, layout.pp,
                                 settings.context_tokens, settings.batch);
  const TrtllmResult& r = s.plan;
  if (r.error.empty()) {
    // A request holds whole blocks (beam width 1), its draft and extra KV tokens too; one over
    // max_seq_len is refused.
    // A separate draft pool holds the same requests' draft KV: the smaller pool bounds them.
    const std::uint64_t per_request = trtllm_request_tokens(r, settings.context_tokens);
    const std::uint64_t pool_tokens = r.spec_separate_pool && !r.spec_mode.empty() ? std::min(r.kv_tokens, r.draft_kv_tokens)
                                                                                  : r.kv_tokens;
    if (r.starts && settings.context_tokens <= r.max_seq_len_final) {
      s.holds_requests = std::min(pool_tokens / per_request, r.max_batch_size);
    }
    e.fits = r.starts && settings.batch <= s.holds_requests;
    if (settings.context_tokens > r.max_seq_len) {
      e.notes.push_back("TensorRT-LLM clamps max_seq_len to the model's " + with_commas(r.max_seq_len) +
                        " tokens (max_position_embeddings): requests of " + with_commas(settings.context_tokens) +
                        " tokens are refused.");
    }
    if (!o.enable_chunked_prefill && settings.context_tokens > r.max_num_tokens) {
      e.notes.push_back("Without chunked prefill a prompt must fit in one forward pass: prompts over max_num_tokens (" +
                        with_commas(r.max_num_tokens) + " tokens) are refused; raise --max-num-tokens or give "
                        "--enable-chunked-prefill.");
    }
    if (r.bytes_per_token != r.estimate_bytes_per_token) {
      e.notes.push_back("The budget is divided by " + with_commas(r.estimate_bytes_per_token) +
                        " bytes a token (get_cache_size_per_token) where the pool allocates " +
                        with_commas(r.bytes_per_token) + " (get_cache_bytes_per_token): the pool fills " +
                        std::to_string(r.kv_budget_bytes == 0 ? 0 : r.kv_cache_bytes * 100 / r.kv_budget_bytes) +
                        "% of its budget.");
    }
    if (!r.spec_draft_model.empty()) {
      e.notes.push_back("The draft's forward pass in the profiling run and its CUDA graphs are not counted apart (the "
                        "activations are the target's; --overhead gives a log's memory outside torch).");
    }
    if (!r.activation_given || !r.non_torch_given) {
      e.notes.push_back("The profiled peak's activations and memory outside torch are estimates (docs/engines.md, "
                        "\"TensorRT-LLM\"); --overhead gives the log's \"Memory used outside torch\".");
    }
  }
  e.detail = std::move(s);
  return e;
}

void engine_decide(FitRow& row, const EngineSection& common, const TrtllmSection& trtllm, std::uint64_t batch) {
  const TrtllmResult& r = trtllm.plan;
  // TensorRT-LLM holds its weights, what stays outside torch and its KV pool, and needs its
  // activations at run time: usable is that with the pool, required the same with `batch`
  // full-length requests in whole blocks, so the headroom is the spare pool.
  const std::uint64_t per_request = trtllm_request_tokens(r, common.context_tokens);
  const std::uint64_t need = checked_mul(checked_mul(batch, per_request, "the KV pool"), r.bytes_per_token, "the KV pool");
  const std::uint64_t rest = checked_add(checked_add(checked_add(r.weights_bytes, r.activation_bytes, "the TensorRT-LLM budget"),
                                                     r.non_torch_bytes, "the TensorRT-LLM budget"),
                                         r.spec_buffer_bytes, "the TensorRT-LLM budget");
  budget_fit_row(row, common, checked_add(rest, r.kv_cache_bytes, "the TensorRT-LLM budget"),
                 checked_add(rest, need, "the TensorRT-LLM budget"), r.weights_bytes, need);
}

} // namespace vramcalc::detail

// ---- TensorRT-LLM's options: the LLM API's names (trtllm-serve, extra_llm_api_options), a deployment's engine_options ----

namespace vramcalc {

namespace {

// "1.1", "1.0", "0.20", "1.1.0rc3": the 1.1 rules (checked on 0.20.0 and 1.1.0rc3); "newest".
std::optional<Error> trtllm_version(std::string_view t, Settings& s) {
  if (iequals(t, "newest") || iequals(t, "latest")) {
    s.engine_options.trtllm.release = TrtllmRelease::newest;
    return std::nullopt;
  }
  std::uint32_t major = 0, minor = 0;
  const char* end = t.data() + t.size();
  auto [p, ec] = std::from_chars(t.data(), end, major);
  bool ok = ec == std::errc() && p != end && *p == '.';
  if (ok) {
    auto [q, ec2] = std::from_chars(p + 1, end, minor);
    ok = ec2 == std::errc() && (q == end || *q == '.' || *q == 'r');
  }
  if (!ok) return value_error("'" + std::string(t) + "' is not a release like 1.1 or 1.1.0rc3, or newest");
  if ((major == 0 && minor >= 20) || (major == 1 && minor <= 1)) {
    s.engine_options.trtllm.release = TrtllmRelease::v1_1;
    return std::nullopt;
  }
  return value_error("release " + std::string(t) + " is not modelled: 0.20 to 1.1 follow the 1.1 rules, "
                          "'newest' the current sources (docs/engines.md, \"TensorRT-LLM\")");
}

constexpr EngineOptionSpec trtllm_options[] = {
    {"--free-gpu-memory-fraction", "free_gpu_memory_fraction",
     "TensorRT-LLM: share of the memory left after the profiled peak for the KV cache (default 0.9)", false, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       auto ppm = parse_fraction_ppm(t);
       if (!ppm) return ppm.error();
       if (*ppm >= 1'000'000) return value_error("must be below 1 (KVCacheManager asserts free_gpu_memory_fraction < 1.0)");
       s.engine_options.trtllm.free_gpu_memory_fraction_ppm = *ppm;
       return std::nullopt;
     }, 1},
    {"--max-tokens", "max_tokens", "TensorRT-LLM: most tokens in the KV cache (kv_cache_config.max_tokens; default: no cap)",
     false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.trtllm.max_tokens, parse_tokens(t));
     }, 3},
    {"--max-batch-size", "max_batch_size", "TensorRT-LLM: most requests scheduled at once (default 2048)", false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.trtllm.max_batch_size, parse_count(t, 1ull << 24));
     }},
    {"--max-num-tokens", "max_num_tokens",
     "TensorRT-LLM: tokens of one forward pass, the profiling run's size (default 8192)", false, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       auto n = parse_tokens(t);
       if (!n) return n.error();
       if (*n == 0 || *n > (1ull << 24)) return value_error("must be between 1 and 16,777,216");
       s.engine_options.trtllm.max_num_tokens = *n;
       return std::nullopt;
     }, 2},
    {"--tokens-per-block", "tokens_per_block", "TensorRT-LLM: tokens per KV-cache block (default 32)", false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.trtllm.tokens_per_block, parse_count(t, 1u << 16));
     }},
    {"--enable-chunked-prefill", "enable_chunked_prefill",
     "TensorRT-LLM: split prompts longer than max_num_tokens over forward passes", true, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       s.engine_options.trtllm.enable_chunked_prefill = t == "true";
       return std::nullopt;
     }},
    {"--enable-attention-dp", "enable_attention_dp",
     "TensorRT-LLM: attention data parallel (each GPU keeps every KV head)", true, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       s.engine_options.trtllm.attention_dp = t == "true";
       return std::nullopt;
     }},
    {"--cuda-graph-max-batch-size", "cuda_graph_max_batch_size",
     "TensorRT-LLM: largest CUDA-graph batch (cuda_graph_config.max_batch_size; default 128)", false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.trtllm.cuda_graph_max_batch_size, parse_count(t, 1u << 16));
     }},
    {"--cuda-graph-enable-padding", "cuda_graph_enable_padding",
     "TensorRT-LLM: CUDA graphs for 1, 2, 4 and multiples of 8 (cuda_graph_config.enable_padding)", true, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       s.engine_options.trtllm.cuda_graph_padding = t == "true";
       return std::nullopt;
     }},
    {"--no-cuda-graphs", "no_cuda_graphs", "TensorRT-LLM: no CUDA graphs (cuda_graph_config: null)", true, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       s.engine_options.trtllm.cuda_graphs = t != "true";
       return std::nullopt;
     }},
    {"--speculative-mtp", "speculative_mtp",
     "TensorRT-LLM (newest): speculative_config decoding_type MTP with the model's own MTP layers; max_draft_len "
     "(draft tokens a step) or auto",
     false, false,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       TrtllmSpeculative& sc = s.engine_options.trtllm.speculative;
       sc.kind = TrtllmSpecKind::mtp;
       sc.max_draft_len = 0;
       if (iequals(t, "auto")) return std::nullopt;
       auto n = parse_count(t, 64);
       if (!n) return n.error();
       sc.max_draft_len = static_cast<std::uint32_t>(*n);
       return std::nullopt;
     }},
    {"--speculative-decoding-type", "speculative_decoding_type",
     "TensorRT-LLM (newest): speculative_config's decoding_type for a draft model, Eagle3 (Eagle) or DraftTarget "
     "(Draft_Target); the draft is the draft key",
     false, false,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       TrtllmSpeculative& sc = s.engine_options.trtllm.speculative;
       if (iequals(t, "eagle3") || iequals(t, "eagle")) sc.kind = TrtllmSpecKind::eagle3;
       else if (iequals(t, "draft_target") || iequals(t, "drafttarget")) sc.kind = TrtllmSpecKind::draft_target;
       else return value_error("'" + std::string(t) + "' is not Eagle3, Eagle, DraftTarget or Draft_Target");
       return std::nullopt;
     }},
    {"--trtllm-version", "version",
     "TensorRT-LLM: the release whose rules to model, 1.1 (0.20 to 1.1) or newest (default 1.1)", false, true,
     trtllm_version},
};

} // namespace

std::span<const EngineOptionSpec> trtllm_option_specs() { return trtllm_options; }

} // namespace vramcalc
