// vLLM (V1 engine) memory planning. Formulas and sources: docs/engines.md.
#include "vramcalc/engine.hpp"

#include "vramcalc/kv.hpp"
#include "vramcalc/text.hpp"
#include "vramcalc/units.hpp"
#include "engine_sections.hpp"
#include "weights_detail.hpp"

#include <algorithm>
#include <cctype>
#include <map>

namespace vramcalc {

namespace {

bool at_least(const VllmOptions& o, std::uint32_t major, std::uint32_t minor) {
  return o.version_major > major || (o.version_major == major && o.version_minor >= minor);
}

// The V0 engine (before 0.10): no chunked prefill by default, so the profile run processes
// max_model_len tokens; a lighter sampler.
bool is_v0(const VllmOptions& o) { return !at_least(o, 0, 10); }

// vLLM runs dense models on its V2 model runner by default from 0.25 (PR #44443, "Enable by
// default for all dense models", merged 2026-07-02; MoE models keep the V1 runner).
bool v2_model_runner(const ModelSpec& spec, const VllmOptions& o) { return at_least(o, 0, 25) && !spec.moe; }

std::uint64_t contains(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

// Block size: 16 on CUDA; MLA backends force 64 (FlashMLA, Hopper) or 128 (CUTLASS MLA,
// Blackwell) (vllm/platforms/cuda.py check_and_update_config).
std::uint64_t default_block_size(const ModelSpec& spec, const GpuSpec& gpu) {
  if (!spec.attention.mla) return 16;
  if (detail::gpu_is_sm100(gpu)) return 128;
  if (detail::gpu_is_sm90(gpu)) return 64;
  return 16;
}

// A layer as vLLM's KV cache manager sees it: its kind, window and page for one block.
struct LayerKey {
  int kind; // 0 full, 1 sliding, 2 chunked, 3 mamba
  std::uint64_t window;
  // KV bytes of one token of one layer on this GPU: layers of one kind with different head
  // sizes or KV heads (Gemma 4's global layers) have their own spec, hence their own group.
  std::uint64_t token_bytes = 0;
  auto operator<=>(const LayerKey&) const = default;
};

// The spec class vLLM gives an attention layer (FullAttentionSpec, SlidingWindowSpec,
// ChunkedLocalAttentionSpec; MambaSpec for layers without attention). A switch, so a new
// attention kind is a compiler warning here rather than a layer filed under the wrong spec.
int layer_key_kind(AttentionKind kind) {
  switch (kind) {
  case AttentionKind::full: return 0;
  case AttentionKind::sliding: return 1;
  case AttentionKind::chunked: return 2;
  case AttentionKind::none: return 3;
  }
  return 0;
}

struct Plan {
  std::uint64_t block = 16;
  std::uint64_t page = 0;       // bytes of one block of one layer (uniform after alignment)
  std::map<LayerKey, std::uint64_t> layer_counts;
  std::uint64_t group_size = 0;
  std::uint64_t num_groups = 0;
};

// The drafter's attention layers (EAGLE head, MTP blocks, a draft model) and the spec and
// tensor-parallel size their shapes come from; vLLM V1 gives each its own KV cache spec
// beside the target's (gpu_model_runner.py get_kv_cache_spec walks every Attention layer).
struct DrafterLayers {
  const ModelSpec* spec = nullptr;
  std::vector<LayerSpec> layers;
  std::uint32_t tp = 1;
};

// The KV cache of the layers [first, last) one pipeline stage holds (each stage's worker
// sizes its own cache: vllm/v1/worker/gpu_model_runner.py get_kv_cache_spec), and the
// drafter's layers when given (on the last stage).
Plan make_plan(const ModelSpec& spec, Dtype kv_dtype, const Parallel& p, const VllmOptions& o, const GpuSpec& gpu,
               std::uint64_t first, std::uint64_t last, const DrafterLayers* drafter = nullptr) {
  Plan plan;
  plan.block = o.block_size != 0 ? o.block_size : default_block_size(spec, gpu);
  std::uint64_t attn_token_bytes = 0, mamba_page = 0;
  const auto add = [&](const ModelSpec& m, const LayerSpec& layer, std::uint32_t tp) {
    if (!layer.has_mixer) return;
    if (layer.attention == AttentionKind::none) {
      if (!m.recurrent) return;
      mamba_page = std::max(mamba_page, ceil_div(state_bytes_per_sequence(m, layer), tp));
      ++plan.layer_counts[LayerKey{layer_key_kind(AttentionKind::none), 0}];
      return;
    }
    LayerSpec l = layer;
    l.num_kv_heads = kv_heads_per_rank(l.num_kv_heads, tp);
    const std::uint64_t token_bytes = kv_bytes_per_token(m, l, kv_dtype);
    attn_token_bytes = std::max(attn_token_bytes, token_bytes);
    const int kind = layer_key_kind(l.attention);
    ++plan.layer_counts[LayerKey{kind, kind == 0 ? 0 : l.window, token_bytes}];
  };
  for (std::uint64_t i = first; i < last && i < spec.layers.size(); ++i) add(spec, spec.layers[i], p.tp);
  if (drafter != nullptr) {
    for (const LayerSpec& l : drafter->layers) add(*drafter->spec, l, drafter->tp);
  }
  if (mamba_page > 0 && attn_token_bytes > 0 && o.block_size == 0) {
    // Hybrid models: the attention block grows until its page holds a Mamba state, and the
    // Mamba page is padded to match (HybridAttentionMambaModelConfig.verify_and_update_config):
    // in steps of 16 tokens, 64 with MLA (kernel_block_alignment_size; 128 only when the
    // CUTLASS_MLA backend is chosen by hand).
    const std::uint64_t align = spec.attention.mla ? 64 : 16;
    plan.block = std::max(plan.block, align * ceil_div(mamba_page, align * attn_token_bytes));
  }
  plan.page = attn_token_bytes > 0 ? checked_mul(plan.block, attn_token_bytes, "a KV page") : mamba_page;
  // Groups: layers of one kind in groups of min(count per kind) layers, or of max(count) when
  // max < 1.5 x min (kv_cache_utils._get_kv_cache_groups_uniform_page_size).
  std::uint64_t lo = UINT64_MAX, hi = 0;
  for (const auto& [key, n] : plan.layer_counts) {
    lo = std::min(lo, n);
    hi = std::max(hi, n);
  }
  if (plan.layer_counts.empty()) return plan;
  plan.group_size = plan.layer_counts.size() == 1 ? hi : (2 * hi < 3 * lo ? hi : lo);
  for (const auto& [key, n] : plan.layer_counts) plan.num_groups += ceil_div(n, plan.group_size);
  return plan;
}

// The tokens of one block of layers of this key. Every page has the largest layer's size:
// a layer with fewer bytes per token gets a block of page / its bytes per token tokens
// (vllm/v1/core/kv_cache_utils.py unify_kv_cache_spec_page_size: block_size x ratio, when the
// ratio is whole; else the page is padded and the block keeps its size).
std::uint64_t key_block(const LayerKey& key, const Plan& plan) {
  if (key.kind == 3 || key.token_bytes == 0 || plan.page % key.token_bytes != 0) return plan.block;
  return std::max(plan.block, plan.page / key.token_bytes);
}

// KV bytes one request at `len` tokens needs per layer of a kind (max_memory_usage_bytes of
// the spec in vllm/v1/kv_cache_interface.py).
std::uint64_t blocks_per_request(const LayerKey& key, std::uint64_t len, std::uint64_t block, std::uint64_t batched) {
  switch (key.kind) {
  case 0: return ceil_div(len, block);
  case 1: return ceil_div(std::min(key.window - 1 + batched, len), block) + 1;
  case 2: return ceil_div(std::min(key.window + batched, len), block);
  default: return 1; // Mamba: one state per request
  }
}

// Blocks one request needs across groups: Σ_groups cdiv(max usage, page).
std::uint64_t request_blocks(const Plan& plan, std::uint64_t len, std::uint64_t batched) {
  std::uint64_t total = 0;
  for (const auto& [key, n] : plan.layer_counts) {
    total += ceil_div(n, plan.group_size) * blocks_per_request(key, len, key_block(key, plan), batched);
  }
  return total;
}

void fill_blocks(VllmResult& r, const Plan& plan, std::uint64_t max_model_len, const VllmOptions& o) {
  r.block_size = plan.block;
  r.page_bytes = plan.page;
  r.num_groups = plan.num_groups;
  r.group_size = plan.group_size;
  r.widest_block_size = plan.block;
  for (const auto& [key, n] : plan.layer_counts) r.widest_block_size = std::max(r.widest_block_size, key_block(key, plan));
  if (plan.page == 0 || plan.group_size == 0) return;
  r.num_gpu_blocks = r.kv_cache_memory_bytes / plan.page / plan.group_size;
  const std::uint64_t per_request = request_blocks(plan, max_model_len, r.max_num_batched_tokens);
  r.max_concurrency = per_request == 0 ? 0 : static_cast<double>(r.num_gpu_blocks) / static_cast<double>(per_request);
  // "GPU KV cache size": num_blocks // groups x block; newer releases report
  // max_concurrency x max_model_len, larger for sliding-window and hybrid models.
  r.kv_cache_tokens = at_least(o, 0, 21) && plan.num_groups > 1
                          ? static_cast<std::uint64_t>(r.max_concurrency * static_cast<double>(max_model_len))
                          : r.num_gpu_blocks / plan.num_groups * plan.block;
  // One request at max_model_len must fit (kv_cache_utils._check_enough_kv_cache_memory).
  r.needed_bytes = checked_mul(checked_mul(plan.group_size, plan.page, "the KV cache"), per_request, "the KV cache");
  r.starts = r.needed_bytes <= r.kv_cache_memory_bytes;
  // estimate_max_model_len: binary search over max_model_len.
  std::uint64_t lo = 0, hi = max_model_len;
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo + 1) / 2;
    const std::uint64_t need = plan.group_size * plan.page * request_blocks(plan, mid, r.max_num_batched_tokens);
    if (need <= r.kv_cache_memory_bytes) lo = mid;
    else hi = mid - 1;
  }
  r.max_model_len_fit = lo;
}

// What the scheduler's lookahead slots add: the blocks one request at max_model_len may hold
// with num_lookahead_tokens more slots (KVCacheManager.allocate_slots).
void lookahead_blocks(VllmResult& r, const Plan& plan, std::uint64_t max_model_len) {
  VllmSpecDecode& sd = r.speculative;
  if (!sd.active() || plan.group_size == 0) return;
  sd.request_blocks_with_lookahead =
      request_blocks(plan, checked_add(max_model_len, sd.lookahead_tokens, "the KV cache"), r.max_num_batched_tokens);
  sd.request_bytes_with_lookahead = checked_mul(checked_mul(plan.group_size, plan.page, "the KV cache"),
                                                sd.request_blocks_with_lookahead, "the KV cache");
  sd.runtime_concurrency = sd.request_blocks_with_lookahead == 0 ? 0
                           : static_cast<double>(r.num_gpu_blocks) / static_cast<double>(sd.request_blocks_with_lookahead);
}

// V0 turns chunked prefill on by itself for a context above 32K (vllm/engine/arg_utils.py
// EngineArgs.create_engine_config, 0.6-0.9: "Chunked prefill is enabled by default for models
// with max_model_len > 32K"), except for sliding-window, multimodal and MLA models, LoRA
// and speculative decoding.
bool v0_chunked_prefill(const ModelSpec& spec, std::uint64_t max_model_len, const VllmOptions& o) {
  if (max_model_len <= 32768 || spec.attention.mla || spec.vision_params > 0 || o.enable_lora ||
      o.speculative.method != VllmSpecMethod::none) {
    return false;
  }
  return std::none_of(spec.layers.begin(), spec.layers.end(),
                      [](const LayerSpec& l) { return l.attention == AttentionKind::sliding; });
}

void batch_defaults(VllmResult& r, const ModelSpec& spec, std::uint64_t max_model_len, const GpuSpec& gpu,
                    const VllmOptions& o) {
  // vllm/engine/arg_utils.py get_batch_defaults: GPUs with >= 70 GiB, A100s excepted, get
  // 8192 batched tokens and 1024 sequences for `vllm serve`; others 2048 and 256.
  const bool big = gpu.memory_bytes >= 70 * GiB && gpu.id.find("a100") == std::string::npos;
  std::uint64_t tokens = big ? (o.llm_class ? 16384 : 8192) : (o.llm_class ? 8192 : 2048);
  std::uint64_t seqs = big ? 1024 : 256;
  if (is_v0(o)) {
    // V0 (vllm/config.py SchedulerConfig): without chunked prefill a step holds a whole
    // prompt, max(max_model_len, 2048) tokens; with it, _DEFAULT_MAX_NUM_BATCHED_TOKENS (2048).
    tokens = v0_chunked_prefill(spec, max_model_len, o) ? 2048 : std::max<std::uint64_t>(max_model_len, 2048);
    seqs = 256;
  }
  if (o.max_num_seqs != 0) seqs = o.max_num_seqs;
  if (o.max_num_batched_tokens != 0) {
    tokens = o.max_num_batched_tokens;
  } else if (!is_v0(o)) {
    tokens = std::min(checked_mul(seqs, max_model_len), tokens);
  }
  if (o.max_num_seqs == 0) seqs = std::min(seqs, tokens);
  r.max_num_batched_tokens = tokens;
  r.max_num_seqs = seqs;
}

// Which GPU family a catalog id names, for the kernels vLLM picks.
bool is_hopper(const GpuSpec& gpu) { return detail::gpu_is_sm90(gpu); }
bool is_blackwell_dc(const GpuSpec& gpu) { return detail::gpu_is_sm100(gpu); }

// The profile run's forward pass: one batch of `tokens` (attention kernels do not run in
// it). Widest intermediate per token of one layer (elements, per GPU), besides the
// residual: attention q, k, v and the output; dense MLP gate+up (2I) and the activation (I);
// MoE (fused_moe): per routed expert 2I + I + H of intermediate caches.
std::uint64_t forward_peak(const ModelSpec& spec, const Parallel& p, std::uint64_t tokens) {
  const std::uint64_t h = spec.hidden_size, tp = p.tp;
  const auto& a = spec.attention;
  std::uint64_t widest = 0;
  std::uint64_t q = a.num_heads * a.head_dim, kv = a.num_kv_heads * (a.head_dim + a.v_head_dim);
  for (const LayerSpec& l : spec.layers) {
    if (l.head_dim_q == 0) continue; // a layer with its own head size (Gemma 4's global layers)
    q = std::max(q, a.num_heads * l.head_dim_q);
    kv = std::max(kv, l.num_kv_heads * (l.head_dim_k + l.head_dim_v));
  }
  widest = std::max(widest, ceil_div(2 * q + kv, tp));
  if (spec.intermediate_size > 0) widest = std::max(widest, ceil_div(3 * spec.intermediate_size, tp));
  if (spec.moe) {
    const MoeSpec& m = *spec.moe;
    widest = std::max(widest, m.experts_per_token * (ceil_div(3 * m.expert_intermediate_size, tp) + h));
  }
  const std::uint64_t act_bytes = 2; // activations in bf16 / fp16
  return checked_mul(tokens, checked_mul(2 * h + widest, act_bytes), "the activations");
}

// Peak of the profile run (gpu_model_runner.py profile_run: _dummy_run of
// max_num_batched_tokens, then _dummy_sampler_run over one row per request, with
// temperature 0.5, top-p 0.9 and top-k vocab - 1, so top-k/top-p run). `last_stage`: only
// the last pipeline stage samples.
std::uint64_t activation_peak(const ModelSpec& spec, const Parallel& p, std::uint64_t tokens, std::uint64_t seqs,
                              const VllmOptions& o, bool last_stage) {
  const std::uint64_t forward = forward_peak(spec, p, tokens);
  if (!last_stage) return forward;
  const std::uint64_t rows = std::min(tokens, seqs);
  const std::uint64_t logits = checked_mul(rows, spec.vocab_size, "the activations");
  const std::uint64_t held = checked_add(checked_mul(tokens, spec.hidden_size * 2, "the activations"), 52 * MiB);
  if (is_v0(o)) {
    // V0 (vllm/worker/model_runner.py profile_run: SamplingParams(top_p=0.99, top_k=vocab - 1)
    // "to reflect the accurate memory usage"): the forward pass ends holding its logits (bf16
    // and fp32, 6 bytes each); then vllm/model_executor/layers/sampler.py _apply_top_k_top_p
    // sorts them as 0.11's PyTorch-native path does, 38 bytes per logit (0.11's calibration)
    // beside the forward's output. The larger of the two.
    const std::uint64_t with_logits = checked_add(forward, checked_mul(logits, 6, "the activations"));
    return std::max(with_logits, checked_add(held, checked_mul(logits, 38, "the activations")));
  }
  if (at_least(o, 0, 21)) {
    // 0.21: the logits, their fp32 copy and the sort of top-k/top-p, 18 bytes per logit, on
    // top of the forward pass (as modelled before 0.10 and 0.11 were calibrated; no 0.21 log
    // to check against).
    return checked_add(forward, checked_mul(logits, 18, "the activations"));
  }
  // 0.10 / 0.11: the forward pass's intermediates are freed before the sampler runs; what
  // stays is the forward's output (tokens x hidden, model dtype) and about 52 MiB of cuBLAS
  // workspaces. The sampler then holds, per logit: 0.10 about 12 bytes (top-k/top-p in
  // FlashInfer, on by default while VLLM_USE_FLASHINFER_SAMPLER is unset: the logits, an
  // fp32 copy, probabilities); 0.11 about 38 bytes (PyTorch's sort: the logits, the fp32
  // copy, sorted values and int64 indices and the radix sort's buffers). Calibrated on the
  // logs in tests/data/measurements.md (docs/engines.md).
  const std::uint64_t per_logit = at_least(o, 0, 11) ? 38 : 12;
  const std::uint64_t sampler = checked_add(held, checked_mul(logits, per_logit, "the activations"));
  return std::max(forward, sampler);
}

// The V0 engine's CPU swap space on one GPU of the stage holding layers [first, last): whole
// cache blocks of --swap-space (default 4 GiB: CacheConfig.swap_space, "CPU swap space size
// (GiB) per GPU"), pinned (vllm/worker/worker.py determine_num_available_blocks:
// num_cpu_blocks = swap_space_bytes // cache_block_size; vllm/worker/cache_engine.py: a block
// is block_size tokens of K and V of every attention layer of the stage). V1 has no swap space.
std::uint64_t v0_swap_bytes(const ModelSpec& spec, const VllmResult& r, const VllmOptions& o, std::uint64_t first,
                            std::uint64_t last) {
  if (!is_v0(o)) return 0;
  std::uint64_t layers = 0;
  for (std::uint64_t i = first; i < last && i < spec.layers.size(); ++i) {
    layers += spec.layers[i].has_mixer && spec.layers[i].attention != AttentionKind::none ? 1u : 0u;
  }
  const std::uint64_t block = checked_mul(r.page_bytes, layers, "the host memory");
  const std::uint64_t swap = o.swap_space_bytes.value_or(4 * GiB);
  return block == 0 ? 0 : swap / block * block;
}

// One expert's MXFP4 tensors at width `i` and hidden size `hd`: w13 [2i, hd/2] + scales
// [2i, hd/32]; w2 [hd, i/2] + scales [hd, i/32]; biases [2i] + [hd] in bf16.
std::uint64_t mxfp4_expert_bytes(const MoeSpec& m, std::uint64_t i, std::uint64_t hd) {
  const std::uint64_t w13 = 2 * i * (hd / 2) + 2 * i * ceil_div(hd, 32);
  const std::uint64_t w2 = hd * (i / 2) + hd * ceil_div(i, 32);
  const std::uint64_t bias = m.expert_bias ? (2 * i + hd) * 2 : 0;
  return w13 + w2 + bias;
}

// Hopper (vLLM 0.10-0.11, the triton_kernels backend: Mxfp4MoEMethod.process_weights_after_
// loading, TRITON branch). create_weights rounds the expert width to 64 (the hidden size is
// not padded); after loading, the biases are replaced by fp32 copies, and _swizzle_mxfp4
// (mxfp4_utils.py) converts weights and scales to the Hopper layouts. The swizzled weights
// replace the originals ("del layer.w13_weight / w2_weight"); the original e8m0 scales stay
// on the layer beside their swizzled copies. triton_kernels tensor_details/layout.py:
// HopperMXScaleLayout.swizzle_data pads the scales' rows (2i for w13, hd for w2) to
// 2 x num_warps x 2 x 8 and their columns to 2; HopperMXValueLayout.swizzle_data pads the
// weights' rows to 16 and their byte columns to 32. num_warps is 8, or 4 with expert
// parallelism (VLLM_MOE_DP_CHUNK_SIZE, 256 by default, <= 512). Returns the bytes one MoE
// layer holds on one GPU beyond the checkpoint's experts.
std::uint64_t hopper_mxfp4_extra(const ModelSpec& spec, const Parallel& p) {
  const MoeSpec& m = *spec.moe;
  const std::uint64_t experts = p.expert_parallel ? ceil_div(m.num_experts, p.tp) : m.num_experts;
  const std::uint64_t width = p.expert_parallel ? m.expert_intermediate_size : ceil_div(m.expert_intermediate_size, p.tp);
  const std::uint64_t hd = spec.hidden_size;
  const std::uint64_t i = round_up(width, 64);
  const std::uint64_t rows_align = 2 * (p.expert_parallel ? 4 : 8) * 2 * 8;
  // create_weights' padding of the width
  std::uint64_t extra = mxfp4_expert_bytes(m, i, hd) - mxfp4_expert_bytes(m, width, hd);
  // the swizzled weights' padding (rows to 16, byte columns to 32)
  const auto value_pad = [](std::uint64_t rows, std::uint64_t cols) {
    return round_up(rows, 16) * round_up(cols, 32) - rows * cols;
  };
  extra += value_pad(2 * i, hd / 2) + value_pad(hd, i / 2);
  // the swizzled copies of the scales, beside the originals
  extra += round_up(2 * i, rows_align) * round_up(ceil_div(hd, 32), 2) +
           round_up(hd, rows_align) * round_up(ceil_div(i, 32), 2);
  // biases in fp32 instead of bf16
  if (m.expert_bias) extra += (2 * i + hd) * 2;
  return checked_mul(experts, extra, "the weights");
}

// MXFP4 experts as vLLM allocates them (vllm/model_executor/layers/quantization/mxfp4.py
// Mxfp4MoEMethod.create_weights): the Marlin kernels (Ampere, Ada) need the expert width per
// GPU padded to a multiple of 128 and the hidden size to 256; Blackwell's FlashInfer kernels
// both to 256. Returns the bytes the padding adds to one MoE layer on one GPU: weights
// (4 bits), e8m0 scales per 32 and the bf16 expert biases. Hopper: hopper_mxfp4_extra.
std::uint64_t mxfp4_padding_per_layer(const ModelSpec& spec, const Parallel& p, const GpuSpec& gpu) {
  if (is_hopper(gpu)) return hopper_mxfp4_extra(spec, p);
  const MoeSpec& m = *spec.moe;
  const std::uint64_t experts = p.expert_parallel ? ceil_div(m.num_experts, p.tp) : m.num_experts;
  const std::uint64_t width = p.expert_parallel ? m.expert_intermediate_size : ceil_div(m.expert_intermediate_size, p.tp);
  const std::uint64_t h = spec.hidden_size;
  std::uint64_t width_align = 128, hidden_align = 256;
  if (is_blackwell_dc(gpu)) width_align = 256;
  const std::uint64_t padded = mxfp4_expert_bytes(m, round_up(width, width_align), round_up(h, hidden_align));
  const std::uint64_t plain = mxfp4_expert_bytes(m, width, h);
  return padded > plain ? checked_mul(experts, padded - plain, "the weights") : 0;
}

// The weights one GPU of pipeline stage `stage` holds, as vLLM loads them.
std::uint64_t stage_weights(const ModelSpec& spec, const WeightFormat& format, const Parallel& p, std::uint32_t stage,
                            const GpuSpec& gpu, RankCosts& costs) {
  std::uint64_t w = 0;
  const bool first_stage = stage == 0, last_stage = stage + 1 == p.pp;
  if (p.pp == 1 || format.kind == FormatKind::gguf) {
    w = costs.busiest(p).weights_bytes;
  } else {
    const std::vector<Tensor> tensors = rank_tensors(spec, p, stage);
    std::vector<TensorStorage> storage;
    storage.reserve(tensors.size());
    for (const Tensor& t : tensors) storage.push_back(detail::storage_of(spec, t, format));
    w = detail::weight_bytes(tensors, storage, format).total;
  }
  // The rotary embedding's cos/sin cache: max_position x rotary_dim in the model dtype, one
  // copy per GPU (RotaryEmbeddingBase).
  const std::uint64_t rotary = spec.attention.mla ? spec.attention.mla->qk_rope_head_dim : spec.attention.head_dim;
  w = checked_add(w, checked_mul(spec.max_context, rotary * traits(spec.dtype).block_bytes, "the weights"));
  // The vocabulary padded to 64 rows (VocabParallelEmbedding): the embedding on the first
  // stage, the head on the last (one tensor for both when tied on one stage).
  const std::uint64_t pad_rows = round_up(spec.vocab_size, 64) - spec.vocab_size;
  const std::uint64_t one_pad = pad_rows * spec.hidden_size * traits(spec.dtype).block_bytes / p.tp;
  std::uint64_t pads = 0;
  if (p.pp == 1) pads = spec.tie_word_embeddings ? 1u : 2u;
  else pads = (first_stage ? 1u : 0u) + (last_stage ? 1u : 0u);
  w = checked_add(w, one_pad * pads);
  if (format.kind == FormatKind::mxfp4 && spec.moe) {
    const auto [first, last] = stage_layers(spec.num_layers, p.pp, stage);
    std::uint64_t moe_layers = 0;
    for (std::uint64_t i = first; i < last && i < spec.layers.size(); ++i) moe_layers += spec.layers[i].moe ? 1u : 0u;
    w = checked_add(w, checked_mul(moe_layers, mxfp4_padding_per_layer(spec, p, gpu), "the weights"));
  }
  return w;
}

// The element size of vLLM's LoRA buffers: lora_dtype "auto" is the model's dtype
// (LoRAConfig.verify_with_model_config, vllm/config/lora.py, 0.11), which vLLM's own
// "auto" dtype makes fp16/bf16 for an fp32 checkpoint; --dtype float16/bfloat16/float32
// (a plain float weight format here) sets it. Quantized weights do not shrink it.
std::uint64_t lora_dtype_bytes(const ModelSpec& spec, const WeightFormat& format) {
  if (format.kind == FormatKind::plain &&
      (format.dtype == Dtype::f16 || format.dtype == Dtype::bf16 || format.dtype == Dtype::f32)) {
    return traits(format.dtype).block_bytes;
  }
  return spec.dtype == Dtype::f32 ? 2 : traits(spec.dtype).block_bytes;
}

// The elements of one adapter slot of the layers vLLM wraps, for max_lora_rank r, tensor
// parallel size t and --fully-sharded-loras (docs/engines.md, "LoRA"):
// vllm/lora/layers/base_linear.py create_lora_weights, column_parallel_linear.py,
// row_parallel_linear.py, replicated_linear.py; 0.11 and newest alike.
struct LoraShapes {
  std::uint64_t r = 0, t = 1, h = 0;
  bool fully_sharded = false;
  std::uint32_t bits = 0; // --lora-target-modules when applied; 0: every module
  mutable std::uint32_t counted = 0; // the modules asked about and targeted: those the model has and vLLM wraps
  [[nodiscard]] bool targeted(std::uint32_t bit) const {
    const bool yes = bits == 0 || (bits & bit) != 0;
    if (yes) counted |= bit;
    return yes;
  }
  [[nodiscard]] std::uint64_t ra() const { return fully_sharded ? r / t : r; }
  // Column-parallel: lora_a [slots, 1, r, in] per slice (r / t fully sharded); lora_b
  // [slots, 1, out / t, r]. a_in_slices: Σ over slices of lora_a's input width; b_out: Σ of
  // lora_b's output rows on this rank.
  [[nodiscard]] std::uint64_t column(std::uint64_t a_in_slices, std::uint64_t b_out) const {
    return checked_add(checked_mul(a_in_slices, ra(), "the LoRA buffers"), checked_mul(b_out, r, "the LoRA buffers"),
                       "the LoRA buffers");
  }
  // Row-parallel (output h): lora_a [slots, 1, r, in / t]; lora_b [slots, 1, h, r] (h / t fully sharded).
  [[nodiscard]] std::uint64_t row(std::uint64_t in_per_rank) const {
    return checked_mul(in_per_rank + (fully_sharded ? h / t : h), r, "the LoRA buffers");
  }
  // Replicated: lora_a [slots, 1, r, in], lora_b [slots, 1, out, r], whole on every rank.
  [[nodiscard]] std::uint64_t replicated(std::uint64_t in, std::uint64_t out) const {
    return checked_mul(in + out, r, "the LoRA buffers");
  }
};

// A gated MLP's gate_up_proj (two slices, MergedColumnParallelLinearWithLoRA; one when the
// checkpoint fuses them, Phi-3) and down_proj, or a plain MLP's up (one slice of I) and down.
std::uint64_t mlp_slot_elems(const ModelSpec& spec, std::uint64_t inter, const LoraShapes& s) {
  if (inter == 0) return 0;
  std::uint64_t e = 0;
  if (s.targeted(vllm_lora_gate_up_proj)) {
    const std::uint64_t slices = spec.mlp == MlpKind::gated && !spec.fused_gate_up ? 2 : 1;
    const std::uint64_t out_rows = (spec.mlp == MlpKind::gated ? 2 : 1) * ceil_div(inter, s.t);
    e += s.column(slices * s.h, out_rows);
  }
  if (s.targeted(vllm_lora_down_proj)) e += s.row(ceil_div(inter, s.t));
  return e;
}

// Multi-head latent attention (DeepseekV2MLAAttention, vllm/model_executor/models/deepseek_v2.py):
// with q_lora_rank, fused_qkv_a_proj (MergedColumnParallelLinear, disable_tp: slices
// q_lora_rank and kv_lora_rank + rope, whole) and q_b_proj (column, q_lora_rank -> heads x
// (nope + rope)); without, q_proj (column, h -> heads x (nope + rope)) and kv_a_proj_with_mqa
// (ReplicatedLinear, h -> kv_lora_rank + rope). Then kv_b_proj (column, kv_lora_rank ->
// heads x (nope + v)) and o_proj (row, heads x v -> h).
std::uint64_t mla_slot_elems(const AttentionSpec& a, const LoraShapes& s) {
  const MlaSpec& m = *a.mla;
  const std::uint64_t latent = m.kv_lora_rank + m.qk_rope_head_dim;
  const std::uint64_t q_out = ceil_div(a.num_heads * (m.qk_nope_head_dim + m.qk_rope_head_dim), s.t);
  std::uint64_t e = 0;
  if (m.q_lora_rank != 0) {
    if (s.targeted(vllm_lora_fused_qkv_a_proj)) e += s.column(2 * s.h, m.q_lora_rank + latent);
    if (s.targeted(vllm_lora_q_b_proj)) e += s.column(m.q_lora_rank, q_out);
  } else {
    if (s.targeted(vllm_lora_q_proj)) e += s.column(s.h, q_out);
    if (s.targeted(vllm_lora_fused_qkv_a_proj)) e += s.replicated(s.h, latent);
  }
  if (s.targeted(vllm_lora_kv_b_proj)) {
    e += s.column(m.kv_lora_rank, ceil_div(a.num_heads * (m.qk_nope_head_dim + m.v_head_dim), s.t));
  }
  if (s.targeted(vllm_lora_o_proj)) e += s.row(ceil_div(a.num_heads * m.v_head_dim, s.t));
  return e;
}

// The models whose vLLM class sets is_3d_moe_weight (FusedMoE3DWithLoRA: the adapter's w1 and
// w3 stacked on disk, one w13 slice): gpt_oss.py, qwen2_moe.py, qwen3_5.py.
bool moe_3d(const ModelSpec& spec) { return spec.arch == "gpt-oss" || spec.arch == "qwen2moe" || spec.arch == "qwen35moe"; }

// The router of a MoE block, wrapped when it is a plain ReplicatedLinear ("gate"):
// ReplicatedLinearWithLoRA.can_replace_layer takes that type alone. gpt-oss's router is a
// torch.nn.Linear, DeepSeek's a GateLinear subclass, and model_manager.py skips Nemotron-H's
// (non-gated MoE) "mixer.gate".
bool router_wrapped(const ModelSpec& spec) {
  return spec.arch != "gpt-oss" && spec.arch != "deepseek2" && spec.arch != "nemotron_h_moe";
}

// One MoE block's routed experts from v0.12 (FusedMoEWithLoRA, vllm/lora/layers/fused_moe.py,
// PR #21229): per local expert w13_lora_a [slots, E, r, h] per slice (two for a gated MLP, one
// 3D or non-gated; r / t fully sharded), w13_lora_b [slots, E, I / t, r] per slice (3D: one of
// 2I / t), w2_lora_a [slots, E, r, I / t], w2_lora_b [slots, E, h, r] (h / t fully sharded);
// and adapter_enabled, int32 [slots + 1]. Expert parallel: E / t experts of I each.
std::uint64_t expert_bytes(const ModelSpec& spec, const LoraShapes& s, bool three_d, std::uint64_t slots,
                           std::uint64_t b, bool expert_parallel) {
  const MoeSpec& m = *spec.moe;
  const std::uint64_t local = expert_parallel ? ceil_div(m.num_experts, s.t) : m.num_experts;
  const std::uint64_t inter = expert_parallel ? m.expert_intermediate_size : ceil_div(m.expert_intermediate_size, s.t);
  const bool gated = spec.mlp == MlpKind::gated;
  const std::uint64_t w13_slices = gated && !three_d ? 2 : 1;
  const std::uint64_t per_expert =
      checked_add(s.column(w13_slices * s.h, (gated ? 2 : 1) * inter), s.row(inter), "the LoRA buffers");
  const std::uint64_t stacks = checked_mul(checked_mul(checked_mul(per_expert, local, "the LoRA buffers"), slots,
                                                       "the LoRA buffers"), b, "the LoRA buffers");
  return checked_add(stacks, 4 * (slots + 1), "the LoRA buffers");
}

// Before v0.12 the extra vocabulary: embeddings_tensors [slots, E, h] in the embedding's and
// the head's LoRA layers (model dtype); in the Llama family the base weights grow too (0.10 /
// 0.11 LlamaModel: embed_tokens of V + E x max_loras rows; LlamaForCausalLM: lm_head of V + E
// rows padded to 256 instead of 64), sharded by tensor parallelism. A tied head is the embedding.
std::uint64_t extra_vocab_bytes(const ModelSpec& spec, const LoraShapes& s, const VllmLora& lora, bool first_stage,
                                bool last_stage, std::uint64_t slots) {
  const std::uint64_t mb = traits(spec.dtype).block_bytes, e = 256, h = s.h, t = s.t, v = spec.vocab_size;
  std::uint64_t extra = 0;
  if (first_stage && s.targeted(vllm_lora_embed_tokens)) {
    extra += checked_mul(checked_mul(slots, e * h, "the LoRA buffers"), mb, "the LoRA buffers");
  }
  if (first_stage && lora.model_extra_vocab) {
    extra += checked_mul(ceil_div(checked_mul(e, slots, "the LoRA buffers"), t), h * mb, "the LoRA buffers");
  }
  if (last_stage && s.targeted(vllm_lora_lm_head)) {
    extra += checked_mul(checked_mul(slots, e * h, "the LoRA buffers"), mb, "the LoRA buffers");
  }
  if (last_stage && lora.model_extra_vocab && !spec.tie_word_embeddings) {
    const std::uint64_t rows = round_up(v, 256) + e - round_up(v, 64);
    extra += checked_mul(ceil_div(rows, t), h * mb, "the LoRA buffers");
  }
  return extra;
}

} // namespace

VllmLora vllm_lora(const ModelSpec& spec, const WeightFormat& format, const Parallel& p, std::uint32_t stage,
                   const VllmOptions& o) {
  VllmLora out;
  if (!o.enable_lora) return out;
  out.lora_dtype_bytes = lora_dtype_bytes(spec, format);
  // lora_extra_vocab_size (256) until PR #28382 / #28545 removed it for v0.12.
  out.extra_vocab = !at_least(o, 0, 12);
  // --lora-target-modules exists from v0.19 (PR #34984); before, every supported module.
  out.target_modules_applied = o.lora_target_modules != 0 && at_least(o, 0, 19);
  const std::uint64_t b = out.lora_dtype_bytes, slots = o.max_loras, r = o.max_lora_rank, t = p.tp;
  const std::uint64_t h = spec.hidden_size;
  const LoraShapes s{r, t, h, o.fully_sharded_loras, out.target_modules_applied ? o.lora_target_modules : 0u};
  // Routed experts: FusedMoEWithLoRA from v0.12 (the 0.11 patch releases have it too, which
  // vramcalc does not tell from 0.11.0: not counted there, and said); before, vLLM applies no
  // LoRA to them ("does not support fused MoE LoRA inference").
  const bool experts_wrapped = at_least(o, 0, 12);
  out.experts_3d = experts_wrapped && spec.moe && moe_3d(spec);
  out.experts_unwrapped = spec.moe && !at_least(o, 0, 11);
  std::uint64_t per_slot = 0; // elements of one slot
  const auto add = [&](std::uint64_t e) { per_slot = checked_add(per_slot, e, "the LoRA buffers"); };
  const auto& a = spec.attention;
  const auto [first, last] = p.pp == 1 ? std::pair<std::uint64_t, std::uint64_t>{0, spec.layers.size()}
                                       : stage_layers(spec.num_layers, p.pp, stage);
  for (std::uint64_t i = first; i < last && i < spec.layers.size(); ++i) {
    const LayerSpec& l = spec.layers[i];
    if (l.has_mixer && l.attention == AttentionKind::none) {
      ++out.recurrent_layers;
    } else if (l.has_mixer && a.mla) {
      add(mla_slot_elems(a, s));
    } else if (l.has_mixer) {
      const std::uint64_t head = a.head_dim, q = a.num_heads * head * (a.output_gate ? 2 : 1);
      const std::uint64_t k = kv_heads_per_rank(l.num_kv_heads, p.tp) * head;
      // qkv_proj: MergedQKVParallelLinearWithLoRA, three slices q, k, v (KV heads replicated
      // below one per rank); a checkpoint with one fused qkv matrix gets one slice
      // (QKVParallelLinearWithLoRA).
      if (s.targeted(vllm_lora_qkv_proj)) add(s.column((a.fused_qkv ? 1 : 3) * h, ceil_div(q, t) + 2 * k));
      if (s.targeted(vllm_lora_o_proj)) add(s.row(ceil_div(a.num_heads * (a.v_head_dim != 0 ? a.v_head_dim : head), t)));
    }
    if (!l.has_mlp) continue;
    if (!l.moe || !spec.moe) {
      add(mlp_slot_elems(spec, spec.intermediate_size, s));
      continue;
    }
    const MoeSpec& m = *spec.moe;
    // The router (ReplicatedLinear h -> E), the shared experts (one MLP of their summed
    // intermediate size) and a dense MLP beside the experts (Gemma 4) are linear layers.
    if (router_wrapped(spec) && s.targeted(vllm_lora_gate)) add(s.replicated(h, m.num_experts));
    add(mlp_slot_elems(spec, m.shared_experts * m.shared_intermediate_size, s));
    if (m.dense_mlp_beside) add(mlp_slot_elems(spec, spec.intermediate_size, s));
    if (experts_wrapped && s.targeted(vllm_lora_experts)) {
      out.expert_bytes = checked_add(out.expert_bytes, expert_bytes(spec, s, out.experts_3d, slots, b, p.expert_parallel),
                                     "the LoRA buffers");
      ++out.expert_layers;
    } else if (at_least(o, 0, 11) && !experts_wrapped) {
      ++out.moe_layers;
    }
  }
  const bool first_stage = p.pp == 1 || stage == 0, last_stage = p.pp == 1 || stage + 1 == p.pp;
  const std::uint64_t v = spec.vocab_size, e = out.extra_vocab ? 256 : 0;
  // Before v0.12 the Llama family's model files (LlamaModel, and Phi3ForCausalLM built on
  // LlamaForCausalLM) grow the embedding by E x max_loras rows and give the head and its
  // LogitsProcessor V + E rows; Qwen2, Gemma and the rest keep V.
  out.model_extra_vocab = out.extra_vocab && (spec.arch == "llama" || spec.arch == "phi3");
  // LogitsProcessorWithLoRA.create_lora_weights refuses a larger vocabulary: 257,024 before
  // v0.12 (with the extra vocabulary), 258,048 after ("When using LoRA, vocab size must be").
  if (const std::uint64_t most = out.extra_vocab ? 257024 : 258048; v > most) out.refused_vocab_above = most;
  const std::uint64_t head_vocab = v + (out.model_extra_vocab ? e : 0);
  // embed_tokens (VocabParallelEmbeddingWithLoRA, whole vocabulary on every rank): lora_a
  // [slots, V + E, r], lora_b [slots, 1, h, r] (vllm/lora/layers/vocal_parallel_embedding.py).
  if (first_stage && s.targeted(vllm_lora_embed_tokens)) add(s.replicated(v + e, h));
  // lm_head (LogitsProcessorWithLoRA, on the gathered logits): lora_a [slots, 1, r, h],
  // lora_b [slots, 1, V', r]; V' = V from v0.12 (logits_processor.py), before it
  // the LogitsProcessor's vocabulary padded to lora_vocab_padding_size (256) "for kernel
  // compatibility".
  if (last_stage && s.targeted(vllm_lora_lm_head)) add(s.replicated(h, out.extra_vocab ? round_up(head_vocab, 256) : v));
  out.slot_elems = per_slot;
  out.slot_bytes = checked_mul(checked_mul(per_slot, slots, "the LoRA buffers"), b, "the LoRA buffers");
  out.modules = s.counted;
  if (out.extra_vocab) out.extra_vocab_bytes = extra_vocab_bytes(spec, s, out, first_stage, last_stage, slots);
  return out;
}

// ---- speculative decoding (--speculative-config; docs/engines.md, "Speculative decoding") ----

namespace {

// The runtime dtype of an unquantized drafter (an EAGLE head, vLLM's nn.Linear projections):
// the model's dtype as vLLM runs it (lora_dtype_bytes' rule), as a plain format.
WeightFormat runtime_plain(const ModelSpec& spec, const WeightFormat& format) {
  WeightFormat f;
  f.kind = FormatKind::plain;
  f.dtype = lora_dtype_bytes(spec, format) == 4 ? Dtype::f32
            : format.kind == FormatKind::plain && format.dtype == Dtype::f16 ? Dtype::f16
            : spec.dtype == Dtype::f16 ? Dtype::f16
                                       : Dtype::bf16;
  f.bits = traits(f.dtype).block_bytes * 8;
  f.id = std::string(traits(f.dtype).name);
  return f;
}

// The bytes of one GPU's shards (engine_sections.hpp; a GGUF target's drafter is counted in the
// runtime dtype: vLLM's GGUF loader has no drafter of its own).
using detail::shards_bytes;

// The target as a one-layer model: the EAGLE head's decoder layer has the target's attention
// and (dense) MLP shapes, as the published heads' configs copy them (yuhuili/EAGLE-LLaMA3.1-
// Instruct-8B: hidden 4,096, 32 heads, 8 KV heads, intermediate 14,336, 1 layer).
ModelSpec head_spec(const ModelSpec& spec) {
  ModelSpec head = spec;
  LayerSpec l;
  for (const LayerSpec& x : spec.layers) {
    if (x.has_mixer && x.attention != AttentionKind::none) {
      l = x;
      break;
    }
  }
  if (l.num_kv_heads == 0) {
    l.num_kv_heads = spec.attention.num_kv_heads;
    l.head_dim_k = spec.attention.head_dim;
    l.head_dim_v = spec.attention.v_head_dim;
  }
  l.attention = AttentionKind::full;
  l.window = 0;
  l.moe = false;
  l.has_mixer = l.has_mlp = true;
  head.layers = {l};
  head.num_layers = 1;
  head.mtp_layers = 0;
  head.vision_params = 0;
  head.recurrent.reset();
  if (head.intermediate_size == 0 && spec.moe) head.intermediate_size = spec.moe->expert_intermediate_size;
  head.moe.reset();
  return head;
}

// The checkpoint's MTP blocks as layers of a model (model_tensors' MTP block: one
// full-attention layer, MoE when the model is).
ModelSpec mtp_spec(const ModelSpec& spec) {
  ModelSpec m = spec;
  m.layers.assign(spec.mtp_layers, detail::mtp_block_layer(spec));
  m.num_layers = spec.mtp_layers;
  m.mtp_layers = 0;
  m.vision_params = 0;
  m.tie_word_embeddings = false;
  return m;
}

bool is_role(const Tensor& t, std::initializer_list<TensorRole> roles) {
  return std::find(roles.begin(), roles.end(), t.role) != roles.end();
}

std::uint64_t elements(std::span<const Tensor> tensors) {
  std::uint64_t n = 0;
  for (const Tensor& t : tensors) n = checked_add(n, t.elements(), "the drafter's weights");
  return n;
}

// An EAGLE head on one GPU. EAGLE-1 (vllm/model_executor/models/llama_eagle.py, 0.10-0.11):
// the decoder layer without its input norm and fc = nn.Linear(2h, h), unsharded; embedding
// and head are the target's (vllm/v1/spec_decode/eagle.py load_model shares both). EAGLE-3
// (llama_eagle3.py): the layer's qkv_proj reads 2h (embedding and hidden state), a
// hidden_norm beside its input norm, fc = ReplicatedLinear(3h, h), a final norm, its own
// ParallelLMHead of draft_vocab_size rows (padded to 64) and draft_id_to_target_id (int64
// per draft token); the embedding is the target's. Unquantized: the model's dtype.
std::uint64_t eagle_head_bytes(const ModelSpec& spec, const WeightFormat& format, std::uint32_t tp, bool eagle3,
                               std::uint64_t draft_vocab) {
  const ModelSpec head = head_spec(spec);
  const WeightFormat f = runtime_plain(spec, format);
  const std::uint64_t b = traits(f.dtype).block_bytes, h = spec.hidden_size;
  std::vector<Tensor> layer = rank_tensors(head, Parallel{tp, 1, false}, 0);
  std::erase_if(layer, [&](const Tensor& t) {
    if (t.layer < 0) return true; // embedding, final norm, head: added below as the method has them
    return !eagle3 && t.role == TensorRole::attn_norm;
  });
  if (eagle3) {
    for (Tensor& t : layer) {
      if (!t.bias && is_role(t, {TensorRole::attn_q, TensorRole::attn_k, TensorRole::attn_v, TensorRole::attn_qkv})) {
        t.ne0 = checked_mul(2, t.ne0, "the drafter's weights");
      }
    }
  }
  std::uint64_t n = elements(layer);
  n = checked_add(n, checked_mul(eagle3 ? 3 * h : 2 * h, h, "the drafter's weights"), "the drafter's weights"); // fc
  std::uint64_t extra = 0;
  if (eagle3) {
    n = checked_add(n, 2 * h, "the drafter's weights"); // hidden_norm, final norm
    n = checked_add(n, checked_mul(ceil_div(round_up(draft_vocab, 64), tp), h, "the drafter's weights"));
    extra = checked_mul(draft_vocab, 8, "the drafter's weights"); // d2t, int64
  }
  return checked_add(checked_mul(n, b, "the drafter's weights"), extra, "the drafter's weights");
}

// The checkpoint's MTP blocks on one GPU (vllm/model_executor/models/deepseek_mtp.py, 0.11):
// per block enorm, hnorm, eh_proj = nn.Linear(2h, h) (unsharded, the model's dtype), the
// decoder layer (sharded and quantized as the target's), shared_head's norm and its
// ParallelLMHead when the checkpoint stores one (DeepSeek, GLM; Qwen3-Next's block uses the
// target's head); the embedding is the target's (eagle.py load_model shares it).
std::uint64_t mtp_bytes(const ModelSpec& spec, const WeightFormat& format, const Parallel& p) {
  if (spec.mtp_layers == 0) return 0;
  const ModelSpec m = mtp_spec(spec);
  std::vector<Tensor> shards = rank_tensors(m, Parallel{p.tp, 1, p.expert_parallel}, 0);
  std::vector<Tensor> per_block; // shared_head: norm and head, once per block
  std::erase_if(shards, [&](const Tensor& t) {
    if (t.role == TensorRole::token_embd) return true;
    if (t.layer < 0) {
      if (t.role == TensorRole::output_norm || spec.mtp_own_embeddings) per_block.push_back(t);
      return true;
    }
    return false;
  });
  std::uint64_t bytes = shards_bytes(m, shards, format);
  const std::uint64_t head = shards_bytes(m, per_block, format);
  const std::uint64_t b = traits(runtime_plain(spec, format).dtype).block_bytes, h = spec.hidden_size;
  const std::uint64_t own = checked_add(checked_mul(checked_mul(2 * h, h), b), 2 * h * b, "the drafter's weights");
  bytes = checked_add(bytes, checked_mul(spec.mtp_layers, checked_add(head, own), "the drafter's weights"));
  return bytes;
}

// The drafter's attention layers on the last stage (none for ngram): the EAGLE head's one
// layer, the MTP blocks, or the draft model's layers (sharded by its own tp).
DrafterLayers drafter_layers(const ModelSpec& spec, const VllmOptions& o, const DraftModel* draft, const Parallel& p) {
  DrafterLayers d;
  d.spec = &spec;
  d.tp = o.speculative.draft_tp != 0 ? o.speculative.draft_tp : p.tp; // draft_tensor_parallel_size
  switch (o.speculative.method) {
  case VllmSpecMethod::eagle:
  case VllmSpecMethod::eagle3: d.layers = head_spec(spec).layers; break;
  case VllmSpecMethod::mtp: d.layers = mtp_spec(spec).layers; break;
  case VllmSpecMethod::draft_model:
    if (draft != nullptr) {
      d.spec = &draft->spec;
      d.layers = draft->spec.layers;
    }
    break;
  default: break;
  }
  return d;
}

} // namespace

namespace detail {

std::uint64_t shards_bytes(const ModelSpec& spec, std::span<const Tensor> tensors, const WeightFormat& format) {
  const WeightFormat f = format.kind == FormatKind::gguf ? runtime_plain(spec, format) : format;
  std::vector<TensorStorage> storage;
  storage.reserve(tensors.size());
  for (const Tensor& t : tensors) storage.push_back(detail::storage_of(spec, t, f));
  return detail::weight_bytes(tensors, storage, f).total;
}

std::uint64_t mtp_layers_bytes(const ModelSpec& spec, const WeightFormat& format, const Parallel& p, bool own_head) {
  if (own_head) return mtp_bytes(spec, format, p);
  ModelSpec m = spec;
  m.mtp_own_embeddings = false; // shared_head: its norm only
  return mtp_bytes(m, format, p);
}

} // namespace detail

VllmSpecDecode vllm_spec_decode(const ModelSpec& spec, const WeightFormat& format, Dtype kv_dtype, const Parallel& p,
                                std::uint32_t stage, const VllmOptions& o, const DraftModel* draft, const GpuSpec& gpu) {
  VllmSpecDecode sd;
  const VllmSpeculative& c = o.speculative;
  sd.method = c.method;
  sd.method_name = c.method_name;
  if (c.method == VllmSpecMethod::none) return sd;
  // num_speculative_tokens: given, or the checkpoint's n_predict for MTP (speculative.py).
  sd.num_speculative_tokens = c.num_speculative_tokens != 0 ? c.num_speculative_tokens
                              : c.method == VllmSpecMethod::mtp ? std::max<std::uint64_t>(spec.mtp_layers, 1)
                                                                 : 0;
  // The scheduler allocates num_speculative_tokens slots ahead of each running request for
  // EAGLE-style methods (MTP among them) and draft models; ngram drafts nothing on the GPU
  // (vllm/v1/core/sched/scheduler.py Scheduler.__init__, num_lookahead_tokens).
  if (c.method != VllmSpecMethod::ngram) sd.lookahead_tokens = sd.num_speculative_tokens;
  sd.draft_tp = c.draft_tp != 0 ? c.draft_tp : p.tp;
  // The drafter runs with the last pipeline stage.
  if (c.method == VllmSpecMethod::ngram || stage + 1 != p.pp) return sd;
  switch (c.method) {
  case VllmSpecMethod::eagle:
  case VllmSpecMethod::eagle3: {
    const bool e3 = c.method == VllmSpecMethod::eagle3;
    const std::uint64_t dv = c.draft_vocab_size != 0 ? c.draft_vocab_size : std::min<std::uint64_t>(32000, spec.vocab_size);
    sd.weights_bytes = eagle_head_bytes(spec, format, sd.draft_tp, e3, dv);
    sd.derived_head = true;
    break;
  }
  case VllmSpecMethod::mtp:
    sd.weights_bytes = mtp_bytes(spec, format, Parallel{sd.draft_tp, 1, p.expert_parallel});
    break;
  case VllmSpecMethod::draft_model:
    if (draft != nullptr) {
      RankCosts dc(draft->spec, draft->format, kv_dtype, 1, 0);
      sd.weights_bytes = stage_weights(draft->spec, draft->format, Parallel{sd.draft_tp, 1, false}, 0, gpu, dc);
    }
    break;
  default: break;
  }
  const DrafterLayers d = drafter_layers(spec, o, draft, p);
  for (const LayerSpec& l : d.layers) {
    if (!l.has_mixer || l.attention == AttentionKind::none) continue;
    LayerSpec r = l;
    r.num_kv_heads = kv_heads_per_rank(l.num_kv_heads, d.tp);
    ++sd.kv_layers;
    sd.kv_bytes_per_token = checked_add(sd.kv_bytes_per_token, kv_bytes_per_token(*d.spec, r, kv_dtype));
  }
  return sd;
}

namespace {

// A decoder-layer tensor's place among the parameters vLLM registers for its layer
// (module.named_parameters() order): the layer's attention (self_attn), its MLP or MoE block,
// then its norms (LlamaDecoderLayer, Qwen2/3, Mixtral, Qwen2/3-MoE, DeepseekV2, Gemma 2/3 in
// vllm/model_executor/models/: self_attn, mlp, input_layernorm, post_attention_layernorm, and
// Gemma's pre/post_feedforward_layernorm). Tensors of one rank form one fused parameter:
// q, k, v -> qkv_proj (QKVParallelLinear); gate, up -> gate_up_proj (MergedColumnParallelLinear);
// routed experts' gate, up -> w13_weight, down -> w2_weight (FusedMoE.create_weights registers
// w13 first). A bias is the parameter after its weight. Gemma 4 (gemma4.py Gemma4DecoderLayer)
// registers its MoE block after the four norms: router (scale, proj), moe (per_expert_scale,
// experts), then post_feedforward_layernorm_1, _2 and pre_feedforward_layernorm_2.
unsigned vllm_param_rank(const Tensor& t, bool gemma4) {
  unsigned r = 0;
  if (gemma4) {
    switch (t.role) {
    case TensorRole::ffn_gate_inp_scale: return 2 * 44;
    case TensorRole::ffn_gate_inp: return 2 * 45;
    case TensorRole::ffn_down_exps_scale: return 2 * 46;
    case TensorRole::ffn_gate_exps: case TensorRole::ffn_up_exps: return 2 * 47;
    case TensorRole::ffn_down_exps: return 2 * 48;
    case TensorRole::post_ffw_norm_1: return 2 * 49;
    case TensorRole::post_ffw_norm_2: return 2 * 50;
    case TensorRole::pre_ffw_norm_2: return 2 * 51;
    default: break;
    }
  }
  switch (t.role) {
  // self_attn: qkv_proj, o_proj, q_norm, k_norm (Qwen3Attention registers them so); MLA:
  // q_a_proj, q_a_layernorm, q_b_proj (q_proj), kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj, o_proj
  case TensorRole::attn_q: case TensorRole::attn_k: case TensorRole::attn_v: case TensorRole::attn_qkv: r = 3; break;
  case TensorRole::attn_q_a: r = 1; break;
  case TensorRole::attn_q_a_norm: r = 2; break;
  case TensorRole::attn_q_b: r = 3; break;
  case TensorRole::attn_kv_a_mqa: r = 4; break;
  case TensorRole::attn_kv_a_norm: r = 5; break;
  case TensorRole::attn_kv_b: r = 6; break;
  case TensorRole::attn_output: r = 7; break;
  case TensorRole::attn_q_norm: r = 8; break;
  case TensorRole::attn_k_norm: r = 9; break;
  case TensorRole::attn_sinks: r = 10; break;
  // mlp: gate_up_proj, down_proj; a MoE block: its gate (router), experts (w13, w2), shared experts
  case TensorRole::ffn_gate: case TensorRole::ffn_up: r = 20; break;
  case TensorRole::ffn_down: r = 21; break;
  case TensorRole::ffn_gate_inp: r = 22; break;
  case TensorRole::ffn_gate_inp_scale: r = 23; break;
  case TensorRole::ffn_gate_exps: case TensorRole::ffn_up_exps: r = 24; break;
  case TensorRole::ffn_down_exps: r = 25; break;
  case TensorRole::ffn_down_exps_scale: r = 26; break;
  case TensorRole::ffn_gate_shexp: case TensorRole::ffn_up_shexp: r = 27; break;
  case TensorRole::ffn_down_shexp: r = 28; break;
  case TensorRole::ffn_gate_inp_shexp: r = 29; break;
  // the layer's norms: input_layernorm, post_attention_layernorm, pre/post_feedforward_layernorm
  case TensorRole::attn_norm: r = 40; break;
  case TensorRole::post_attention_norm: r = 41; break;
  case TensorRole::ffn_norm: r = 42; break;
  case TensorRole::post_ffw_norm: r = 43; break;
  default: r = 30; break; // recurrent mixers, Gemma 4's extra norms and scales: in the list's order
  }
  return 2 * r + (t.bias ? 1u : 0u);
}

} // namespace

VllmCpuOffload vllm_cpu_offload(const ModelSpec& spec, const WeightFormat& format, const Parallel& p, std::uint32_t stage,
                                const VllmOptions& o) {
  // From 0.25 dense models run on the V2 model runner, which never installs the offloader
  // (set_offloader is called only by the V1 runner: vllm issue #51396, PR #48468 open).
  if (o.cpu_offload_bytes != 0 && v2_model_runner(spec, o)) {
    VllmCpuOffload out;
    out.budget_bytes = o.cpu_offload_bytes;
    out.ignored = true;
    return out;
  }
  return cpu_offload_walk(spec, format, p, stage, o.cpu_offload_bytes);
}

CpuOffload cpu_offload_walk(const ModelSpec& spec, const WeightFormat& format, const Parallel& p, std::uint32_t stage,
                            std::uint64_t budget_bytes) {
  CpuOffload out;
  out.budget_bytes = budget_bytes;
  if (budget_bytes == 0) return out;
  std::vector<Tensor> tensors = rank_tensors(spec, p, stage);
  // Gemma 4's layer_scalar is a buffer, not a parameter (register_buffer): never offloaded.
  std::erase_if(tensors, [](const Tensor& t) { return t.layer < 0 || t.mtp || t.role == TensorRole::layer_output_scale; });
  const bool gemma4 = spec.arch == "gemma4";
  std::vector<std::uint64_t> bytes(tensors.size());
  if (format.kind == FormatKind::gguf) {
    const std::vector<Dtype> choices = detail::gguf_types_chosen(spec, tensors, format);
    for (std::size_t i = 0; i < tensors.size(); ++i) bytes[i] = detail::gguf_storage_as(tensors[i], choices[i]).bytes;
  } else {
    for (std::size_t i = 0; i < tensors.size(); ++i) bytes[i] = detail::storage_of(spec, tensors[i], format).bytes;
  }
  // Each layer's parameters in vLLM's order (a stable sort keeps the list's order within a rank).
  std::vector<std::size_t> order(tensors.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (tensors[a].layer != tensors[b].layer) return tensors[a].layer < tensors[b].layer;
    return vllm_param_rank(tensors[a], gemma4) < vllm_param_rank(tensors[b], gemma4);
  });
  // maybe_offload_to_cpu (vllm/model_executor/offloader/uva.py UVAOffloader; before it
  // vllm/model_executor/models/utils.py; SGLang 0.5's python/sglang/srt/utils/offloader.py
  // OffloaderV1.maybe_offload_to_cpu, through make_layers in utils/common.py), called on each
  // layer of the stage in turn: each parameter is moved while the bytes moved so far are below
  // the budget, so the last one may pass it. The fused parameters of a rank are consecutive
  // tensors here.
  std::int32_t layer = -1;
  std::uint64_t in_layer = 0;
  for (std::size_t k = 0; k < order.size() && out.bytes < out.budget_bytes;) {
    const Tensor& first = tensors[order[k]];
    const unsigned rank = vllm_param_rank(first, gemma4);
    std::uint64_t param = 0;
    for (; k < order.size() && tensors[order[k]].layer == first.layer && vllm_param_rank(tensors[order[k]], gemma4) == rank &&
           (rank / 2 != 30 || &tensors[order[k]] == &first);
         ++k) {
      param = checked_add(param, bytes[order[k]], "the offloaded weights");
      // Gemma 4's k_eq_v layers have no v_proj, but vLLM's qkv_proj keeps a V slot of K's size
      // and loads K into both (vllm/model_executor/models/gemma4.py Gemma4Attention).
      const Tensor& t = tensors[order[k]];
      if (t.role == TensorRole::attn_k && !t.bias && spec.layers[static_cast<std::size_t>(t.layer)].k_eq_v) {
        param = checked_add(param, bytes[order[k]], "the offloaded weights");
        out.v_slot_bytes = checked_add(out.v_slot_bytes, bytes[order[k]], "the offloaded weights");
      }
    }
    if (first.layer != layer) {
      layer = first.layer;
      in_layer = 0;
      ++out.layers;
    }
    in_layer += param;
    out.largest_layer_bytes = std::max(out.largest_layer_bytes, in_layer);
    out.bytes = checked_add(out.bytes, param, "the offloaded weights");
    ++out.params;
  }
  return out;
}

bool vllm_release_modelled(std::uint32_t major, std::uint32_t minor) {
  return major == 0 && ((minor >= 6 && minor <= 11) || minor == 21);
}

// vLLM's models that build no tower when every modality limit is 0 from PR #22299 (0.10.1,
// supports_mm_inputs false: self.visual = None) before the generic _mark_tower_model of PR
// #32605 (0.15) dropped every model's: Qwen2-VL, Qwen2.5-VL, LLaVA, Mistral 3 / Pixtral, Llama 4.
bool drops_tower_early(const ModelSpec& spec) {
  return contains(spec.arch, "qwen2vl") || contains(spec.arch, "qwen25vl") || contains(spec.arch, "llava") ||
         contains(spec.arch, "mistral3") || contains(spec.arch, "pixtral") || contains(spec.arch, "llama4") ||
         spec.family == "mistral-small" || spec.family == "magistral";
}

VllmEncoder vllm_encoder(const ModelSpec& spec, std::uint64_t max_model_len, std::uint64_t batched_tokens,
                         std::uint64_t max_num_seqs, const VllmOptions& o) {
  VllmEncoder enc;
  enc.has_tower = spec.vision_params > 0;
  if (!enc.has_tower || is_v0(o)) return enc;
  const EncoderProfile* f = spec.vision_profile ? &*spec.vision_profile : nullptr;
  const std::uint64_t image_limit = o.language_model_only ? 0 : o.mm_image_limit.value_or(999);
  const bool video_on = !o.language_model_only && f != nullptr && f->video && o.mm_video_limit.value_or(999) > 0;
  // compute_mm_encoder_budget: every modality 0 -> (0, 0), nothing profiled. A model whose
  // modalities are unknown counts as image-only.
  enc.disabled = image_limit == 0 && !video_on && (o.language_model_only || !o.mm_other_nonzero);
  if (enc.disabled) {
    enc.tower_dropped = at_least(o, 0, 15) || (at_least(o, 0, 10) && drops_tower_early(spec));
    return enc;
  }
  enc.skipped = o.skip_mm_profiling;
  enc.modelled = f != nullptr && image_limit > 0;
  if (enc.skipped || !enc.modelled) return enc;
  // Budget and items (encoder_cache_manager.py compute_encoder_budget / compute_mm_encoder_budget,
  // MultiModalBudget.get_max_items): both the compute budget and the cache are
  // max_num_batched_tokens raised to t; items per prompt capped by max_model_len // t (0.10.1+).
  const std::uint64_t t = f->max_tokens_per_item;
  enc.profiled = true;
  enc.tokens_per_item = t;
  enc.budget_tokens = std::max(batched_tokens, t);
  const std::uint64_t per_prompt = std::max<std::uint64_t>(1, std::min(image_limit, max_model_len / t));
  enc.items = std::max<std::uint64_t>(1, std::min(enc.budget_tokens / t, checked_mul(max_num_seqs, per_prompt)));
  // Rows each held output has: 0.11 (PR #25810) pads to encoder_budget, 0.12 (PR #29386) to t,
  // 0.10 and 0.13+ (PR #30475) hold the outputs as the encoder returns them.
  const std::uint64_t e = f->embeds_per_item;
  enc.rows_per_item = at_least(o, 0, 13) || !at_least(o, 0, 11) ? e
                      : at_least(o, 0, 12)                     ? std::max(e, t)
                                                               : std::max(e, enc.budget_tokens);
  enc.output_width = f->output_width;
  enc.dtype_bytes = traits(spec.dtype).block_bytes;
  enc.held_bytes = checked_mul(checked_mul(enc.items, enc.rows_per_item, "the encoder outputs"),
                               checked_mul(f->output_width, traits(spec.dtype).block_bytes, "the encoder outputs"),
                               "the encoder outputs");
  return enc;
}

VllmResult vllm_blocks(const ModelSpec& spec, Dtype kv_dtype, std::uint64_t max_model_len,
                       std::uint64_t kv_cache_memory_bytes, const Parallel& p, const VllmOptions& options,
                       const GpuSpec& gpu, const DraftModel* draft) {
  VllmResult r;
  r.gpu_memory_bytes = cuda_visible_bytes(gpu);
  r.gpu_memory_source = cuda_visible_source(gpu);
  batch_defaults(r, spec, max_model_len, gpu, options);
  r.kv_cache_memory_bytes = kv_cache_memory_bytes;
  r.kv_budget_bytes = static_cast<std::int64_t>(std::min<std::uint64_t>(kv_cache_memory_bytes, INT64_MAX));
  r.kv_memory_given = true;
  r.speculative = vllm_spec_decode(spec, WeightFormat{}, kv_dtype, p, 0, options, draft, gpu);
  const DrafterLayers d = drafter_layers(spec, options, draft, p);
  const auto [first, last] = stage_layers(spec.num_layers, p.pp, 0);
  const Plan plan = make_plan(spec, kv_dtype, p, options, gpu, first, p.pp == 1 ? spec.layers.size() : last,
                              p.pp == 1 ? &d : nullptr);
  fill_blocks(r, plan, max_model_len, options);
  lookahead_blocks(r, plan, max_model_len);
  return r;
}

VllmResult vllm_plan(const ModelSpec& spec, const WeightFormat& format, Dtype kv_dtype, std::uint64_t max_model_len,
                     const GpuSpec& gpu, const Parallel& p, const VllmOptions& o, const DraftModel* draft) {
  VllmResult best;
  std::uint64_t host_bytes = 0, swap_bytes = 0; // every stage's tp GPUs
  RankCosts costs(spec, format, kv_dtype, 1, 0);
  // Each pipeline stage's worker profiles its own memory and sizes its own cache; the
  // engine keeps the fewest blocks of any (kv_cache_utils.get_kv_cache_configs).
  for (std::uint32_t stage = 0; stage < p.pp; ++stage) {
    VllmResult r;
    r.stage = stage;
    r.gpu_memory_bytes = cuda_visible_bytes(gpu);
    r.gpu_memory_source = cuda_visible_source(gpu);
    r.utilization_ppm = o.utilization_ppm.value_or(at_least(o, 0, 21) ? 920'000 : 900'000);
    // floor(total x utilization), total < 2^56: split to stay in 64 bits.
    r.requested_bytes = r.gpu_memory_bytes / 1'000'000 * r.utilization_ppm +
                        r.gpu_memory_bytes % 1'000'000 * r.utilization_ppm / 1'000'000;
    batch_defaults(r, spec, max_model_len, gpu, o);
    const bool last_stage = stage + 1 == p.pp;
    r.weights_bytes = stage_weights(spec, format, p, stage, gpu, costs);
    // A multimodal encoder: its held dummy outputs sit on the profile run's LM forward and
    // sampler peaks alike; with every modality off some releases do not load the tower.
    r.encoder = vllm_encoder(spec, max_model_len, r.max_num_batched_tokens, r.max_num_seqs, o);
    if (r.encoder.tower_dropped) {
      ModelSpec text = spec;
      text.vision_params = 0;
      RankCosts text_costs(text, format, kv_dtype, 1, 0);
      const std::uint64_t w = stage_weights(text, format, p, stage, gpu, text_costs);
      r.encoder.tower_bytes = r.weights_bytes - std::min(w, r.weights_bytes);
      r.weights_bytes = w;
    }
    // LoRA slots are allocated inside load_model's DeviceMemoryProfiler (V1 since PR #14469,
    // GPUModelRunner.load_model -> load_lora_model; V0 ModelRunner.load_model's
    // create_lora_manager), so they are in "Model loading took" and off the KV budget.
    r.lora = vllm_lora(spec, format, p, stage, o);
    // The drafter is loaded in load_model too (GPUModelRunner.load_model: drafter.load_model),
    // so its weights are in "Model loading took" and off the KV budget.
    r.speculative = vllm_spec_decode(spec, format, kv_dtype, p, stage, o, draft, gpu);
    r.activation_bytes = activation_peak(spec, p, r.max_num_batched_tokens, r.max_num_seqs, o, last_stage);
    r.activation_bytes = checked_add(r.activation_bytes, r.encoder.held_bytes, "the activations");
    // --cpu-offload-gb: the offloaded parameters live in pinned host memory, off "Model loading
    // took". V1 reads them through UVA views (PR #15354); V0 (before 0.10) copies a layer's
    // offloaded parameters to the GPU for its forward (functional_call), so the profile run's
    // peak holds the largest layer's copy.
    r.cpu_offload = vllm_cpu_offload(spec, format, p, stage, o);
    // (Gemma 4's V slots are not in weights_bytes: only the rest comes off it.)
    r.weights_bytes -= std::min(r.cpu_offload.bytes - r.cpu_offload.v_slot_bytes, r.weights_bytes);
    if (is_v0(o)) r.activation_bytes = checked_add(r.activation_bytes, r.cpu_offload.largest_layer_bytes, "the activations");
    host_bytes = checked_add(host_bytes, checked_mul(r.cpu_offload.bytes, p.tp, "the host memory"), "the host memory");
    // Non-torch growth during profiling (memory_profiling's non_torch_increase, measured from
    // a snapshot taken after the CUDA context exists): V0 on one GPU 16 MiB (its logs print
    // 0.01 and 0.02 GiB), 0.10 on one GPU 64 MiB, 0.25 GiB with NCCL before 0.11; the 0.11
    // logs on H100 imply 0.13 GiB on one GPU and 0.54 GiB at tp 2 (kept for later releases
    // and larger tp). The logs are in tests/data/measurements.md.
    const bool v011 = at_least(o, 0, 11);
    const std::uint64_t one_gpu = v011 ? 133 * MiB : is_v0(o) ? 16 * MiB : 64 * MiB;
    r.non_torch_bytes = o.non_torch_bytes.value_or(p.gpus() > 1 ? (v011 ? 553 * MiB : GiB / 4) : one_gpu);
    // v0.21 counts an estimate of the CUDA graphs' memory in the budget (VLLM_MEMORY_PROFILER_
    // ESTIMATE_CUDAGRAPHS on by default); earlier releases take it from the remaining headroom.
    // From 0.25 dense models run on the V2 model runner (PR #44443), whose
    // profile_cudagraph_memory returns 0 (vllm/v1/worker/gpu/model_runner.py): nothing is
    // set aside for the graphs again. MoE models stay on the V1 runner's estimate.
    r.cuda_graph_bytes = at_least(o, 0, 21) && !o.enforce_eager && !v2_model_runner(spec, o) ? GiB / 2 : 0;

    std::uint64_t used = checked_add(checked_add(r.weights_bytes, r.activation_bytes, "the vLLM budget"),
                                     checked_add(r.non_torch_bytes, r.cuda_graph_bytes, "the vLLM budget"),
                                     "the vLLM budget");
    used = checked_add(used, r.lora.total(), "the vLLM budget");
    used = checked_add(used, r.speculative.weights_bytes, "the vLLM budget");
    // Both below 2^62 in any real case; clamp so the difference cannot wrap.
    const auto as_signed = [](std::uint64_t v) { return static_cast<std::int64_t>(std::min<std::uint64_t>(v, INT64_MAX / 2)); };
    r.kv_budget_bytes = as_signed(r.requested_bytes) - as_signed(used);
    if (o.kv_cache_memory_bytes) {
      r.kv_cache_memory_bytes = *o.kv_cache_memory_bytes;
      r.kv_budget_bytes = as_signed(*o.kv_cache_memory_bytes);
      r.kv_memory_given = true;
    } else {
      r.kv_cache_memory_bytes = r.requested_bytes > used ? r.requested_bytes - used : 0;
    }
    const auto [first, last] = stage_layers(spec.num_layers, p.pp, stage);
    const DrafterLayers d = drafter_layers(spec, o, draft, p);
    const Plan plan = make_plan(spec, kv_dtype, p, o, gpu, first, p.pp == 1 ? spec.layers.size() : last,
                                last_stage ? &d : nullptr);
    fill_blocks(r, plan, max_model_len, o);
    lookahead_blocks(r, plan, max_model_len);
    swap_bytes = checked_add(swap_bytes, checked_mul(v0_swap_bytes(spec, r, o, first, p.pp == 1 ? spec.layers.size() : last),
                                                     p.tp, "the host memory"), "the host memory");
    if (stage == 0 || r.num_gpu_blocks < best.num_gpu_blocks ||
        (r.num_gpu_blocks == best.num_gpu_blocks && r.kv_budget_bytes < best.kv_budget_bytes)) {
      best = std::move(r);
    }
  }
  // --kv-offloading-size (0.14+): the CPU tier's total over all ranks (OffloadingConnector's
  // cpu_bytes_to_use = kv_offloading_size * 2^30, vllm/config/vllm.py; LMCache's
  // max_local_cpu_size = the size / (tp x pp) per rank in the releases that pass it).
  best.kv_offloading_host_bytes = at_least(o, 0, 14) ? o.kv_offloading_bytes : 0;
  best.swap_host_bytes = swap_bytes;
  best.host_bytes = checked_add(checked_add(host_bytes, best.kv_offloading_host_bytes, "the host memory"), swap_bytes,
                                "the host memory");
  return best;
}

} // namespace vramcalc

// ---- vLLM's part of an estimate (engine_sections.hpp) -------------------------------

namespace vramcalc::detail {

namespace {

// The note on what the encoder's figure leaves out: its own activation peak.
std::string fmt_encoder_note(const VllmEncoder& enc) {
  return "The encoder's own activation peak (its forward over " +
         (enc.items == 1 ? std::string("one dummy image") : with_commas(enc.items) + " dummy images") + ") is not counted: it is not derivable from vLLM's code. In the one public A/B "
         "(Qwen3.6-35B-A3B, budget 16,384 tokens, one image) turning every modality off freed 1.56 GiB of "
         "KV memory, about 0.83 GiB of it the tower's weights and 0.73 GiB the profile's outputs and peak.";
}

// What the multimodal encoder's figure leaves out, or why there is none.
void encoder_notes(std::vector<std::string>& notes, const ModelSpec& spec, const VllmEncoder& enc, const VllmOptions& o,
                   const std::string& version, std::uint64_t max_model_len) {
  if (!enc.has_tower) {
    if (o.mm_options_given) notes.emplace_back("The model has no vision tower: the multimodal options change nothing.");
    return;
  }
  if (is_v0(o)) {
    notes.emplace_back("Encoder profiling of vLLM's V0 engine (before 0.10) is not modelled: only the tower's weights are counted.");
    return;
  }
  if (enc.disabled) {
    notes.push_back(std::string("Every modality limit is 0: vLLM profiles no encoder and reserves no encoder cache") +
                    (enc.tower_dropped ? "; vLLM " + version + " does not load the vision tower either, so its weights are not in the vLLM weights above."
                                       : "; vLLM " + version + " still loads this model's vision tower."));
    return;
  }
  if (enc.skipped) {
    notes.emplace_back("--skip-mm-profiling: vLLM reserves nothing for the encoder's activations or its outputs; an "
                       "image request needs that memory from the KV cache's headroom.");
  } else if (!enc.modelled) {
    notes.emplace_back(spec.vision_profile ? "Only the image encoder's profiling is modelled; with the image limit 0 "
                                             "vLLM profiles another modality: not counted."
                                           : "Encoder profiling not modelled for this model: only the vision tower's "
                                             "weights are counted, not the outputs vLLM's profile run holds.");
  } else {
    notes.push_back(fmt_encoder_note(enc));
    if (spec.vision_profile->video && o.mm_video_limit.value_or(1) > 0) {
      notes.emplace_back(max_model_len >= 32768
                             ? "The model takes video too, and at max_model_len 32,768 or more its largest video item "
                               "outgrows the image: vLLM then profiles video, which is not modelled, so the encoder "
                               "figure is the image's (a lower bound)."
                             : "The model takes video too; vLLM profiles the modality of the most tokens per item, an "
                               "image at this max_model_len: video is not modelled.");
    }
    if (v2_model_runner(spec, o)) {
      notes.emplace_back("From vLLM 0.25 a dense model runs on the V2 model runner, which profiled no encoder before "
                         "PR #47985 (2026-07): the release that first has it is not known, so the outputs are counted.");
    }
  }
  if (o.mm_encoder_tp_data) {
    notes.emplace_back("--mm-encoder-tp-mode data: the vision tower is whole on every GPU, as vramcalc already counts it.");
  }
}

// What the LoRA figure leaves out or what vLLM would say of the LoRA options.
void lora_notes(std::vector<std::string>& notes, const ModelSpec& spec, const VllmLora& lora, const VllmOptions& o,
                const Parallel& p, const std::string& version) {
  if (!o.enable_lora) {
    if (o.lora_options_given) notes.push_back("LoRA options without --enable-lora: vLLM ignores them.");
    return;
  }
  if (lora.refused_vocab_above != 0) {
    notes.push_back("vLLM refuses LoRA for this model: \"When using LoRA, vocab size must be <= " +
                    std::to_string(lora.refused_vocab_above) + "\" (its vocabulary has " +
                    std::to_string(spec.vocab_size) + " tokens).");
  }
  const auto layers = [](std::uint64_t n) { return std::to_string(n) + (n == 1 ? " layer" : " layers"); };
  if (lora.moe_layers > 0) {
    notes.push_back("LoRA: the routed experts of " + layers(lora.moe_layers) +
                    " are not counted: vLLM 0.11.0 applies no LoRA to them, its later 0.11 patch releases allocate "
                    "FusedMoEWithLoRA stacks (counted from 0.12), so the LoRA figure may be low.");
  }
  if (lora.experts_unwrapped) {
    notes.push_back("LoRA: vLLM " + version + " applies no LoRA to routed experts (from 0.12 it does): an adapter's "
                    "expert weights are not used, and none are allocated.");
  }
  if (lora.expert_layers > 0 && p.expert_parallel) {
    notes.push_back("LoRA with expert parallel: some vLLM releases refuse it (\"EP support for Fused MoE LoRA is not "
                    "implemented yet\"); vramcalc counts each GPU's own experts.");
  }
  if (lora.recurrent_layers > 0) {
    notes.push_back("LoRA: the recurrent mixers of " + layers(lora.recurrent_layers) +
                    " are not counted (their projections' LoRA layout is not modelled), so the LoRA figure is a "
                    "lower bound.");
  }
  if (o.lora_target_modules != 0 && !lora.target_modules_applied) {
    notes.push_back("vLLM " + version + " has no --lora-target-modules (from 0.19): every supported module is counted.");
  }
  if (o.fully_sharded_loras && p.tp > 1 && o.max_lora_rank % p.tp != 0) {
    notes.push_back("--fully-sharded-loras: vLLM divides --max-lora-rank " + std::to_string(o.max_lora_rank) +
                    " by the tensor parallel size " + std::to_string(p.tp) + ", which it refuses when it does not divide.");
  }
  const std::uint32_t cpu = o.max_cpu_loras != 0 ? o.max_cpu_loras : o.max_loras;
  notes.push_back("LoRA: up to " + std::to_string(cpu) + (cpu == 1 ? " adapter is" : " adapters are") +
                  " kept in host memory (--max-cpu-loras, each about its file's size), not on the GPU.");
}

// What --cpu-offload-gb does, in words, where the figures need them.
void offload_notes(std::vector<std::string>& notes, const VllmCpuOffload& c, const VllmOptions& o) {
  const std::string release = std::to_string(o.version_major) + "." + std::to_string(o.version_minor);
  if (o.kv_offloading_bytes != 0 && !at_least(o, 0, 14)) {
    notes.push_back("--kv-offloading-size is counted from vLLM 0.14 (where the size alone enables native offloading, "
                    "PR #32421), not for " + release + ".");
  } else if (o.kv_offloading_bytes != 0 && o.kv_offloading_lmcache) {
    notes.push_back("--kv-offloading-backend lmcache: LMCache's CPU cache is counted at the size given; the newest "
                    "releases leave its size to a separate LMCache server.");
  }
  if (o.swap_space_bytes && !is_v0(o)) {
    notes.push_back("vLLM " + release + " runs the V1 engine, which has no CPU swap space: --swap-space is not counted.");
  }
  if (o.cpu_offload_bytes == 0) return;
  if (c.ignored) {
    notes.push_back("--cpu-offload-gb: vLLM " + release + " runs this dense model on its V2 model runner, which never installs the weight offloader: nothing "
                    "is offloaded (vLLM issue #51396).");
    return;
  }
  if (c.bytes < c.budget_bytes) {
    notes.push_back("--cpu-offload-gb asks for more than this GPU's decoder layers hold: all of them are offloaded; the "
                    "embedding, head and rotary cache stay on the GPU.");
  }
  if (!at_least(o, 0, 10)) {
    notes.push_back("--cpu-offload-gb: the V0 engine copies a layer's offloaded parameters to the GPU for its forward, so "
                    "the activation peak holds the largest layer's copy.");
  }
}

} // namespace

namespace {

// KV bytes one max_model_len request may hold while running, and the requests the blocks
// hold: vLLM's start-up figures, or with speculative decoding's lookahead slots.
std::uint64_t request_bytes(const VllmResult& v) {
  return v.speculative.request_blocks_with_lookahead != 0 ? v.speculative.request_bytes_with_lookahead : v.needed_bytes;
}
double runtime_concurrency(const VllmResult& v) {
  return v.speculative.request_blocks_with_lookahead != 0 ? v.speculative.runtime_concurrency : v.max_concurrency;
}

// What the speculative figures leave out or what vLLM would refuse.
void speculative_notes(std::vector<std::string>& notes, const ModelSpec& spec, const VllmSpecDecode& sd,
                       const VllmOptions& o, const Parallel& p, const DraftModel* draft) {
  const VllmSpeculative& c = o.speculative;
  if (!sd.active()) return;
  if (!at_least(o, 0, 10)) {
    notes.push_back("Speculative decoding is modelled as vLLM's V1 engine runs it (0.10 and later): the drafter's "
                    "layers in the one KV cache; V0 kept a separate cache for a draft model.");
  }
  if (c.method == VllmSpecMethod::mtp && spec.mtp_layers == 0) {
    notes.push_back("--speculative-config method " + c.method_name + ": this model has no multi-token-prediction "
                    "layers; vLLM refuses it.");
  }
  if (c.method == VllmSpecMethod::draft_model && draft == nullptr) {
    notes.push_back("--speculative-config: the draft model '" + c.model + "' was not resolved; its weights and KV "
                    "are not counted.");
  }
  if (sd.derived_head) {
    notes.push_back(std::string(c.method == VllmSpecMethod::eagle3 ? "EAGLE-3" : "EAGLE") +
                    " head: one decoder layer of the target's shapes" +
                    (c.method == VllmSpecMethod::eagle3 ? ", its own head of " +
                                                              std::to_string(c.draft_vocab_size != 0
                                                                                 ? c.draft_vocab_size
                                                                                 : std::min<std::uint64_t>(32000, spec.vocab_size)) +
                                                              " draft tokens"
                                                        : std::string()) +
                    ", as the published heads are (its config.json is not read).");
  }
  if (c.draft_tp != 0 && c.draft_tp != 1 && c.draft_tp != p.tp) {
    notes.push_back("draft_tensor_parallel_size " + std::to_string(c.draft_tp) + ": vLLM takes only 1 or the target's "
                    "tensor parallel size (" + std::to_string(p.tp) + ") and refuses it.");
  }
  if (!c.ignored.empty()) {
    std::string keys;
    for (const std::string& k : c.ignored) keys += (keys.empty() ? "" : ", ") + excerpt(k, 40);
    notes.push_back("--speculative-config keys not modelled: " + keys + ".");
  }
}

} // namespace

EngineSection vllm_section(const ModelSpec& model, const Settings& settings, const Parallel& layout) {
  const GpuRequest& g = settings.gpus.front();
  VllmOptions o = settings.engine_options.vllm;
  // --overhead replaces vLLM's non-torch estimate (e.g. with a log's own figure).
  if (settings.overhead_given) o.non_torch_bytes = settings.overhead_bytes;
  VllmSection v{vllm_plan(model, settings.weights, settings.kv_dtype, settings.context_tokens, g.gpu, layout, o,
                         settings.draft.get()),
                o};
  EngineSection e = section_head(std::to_string(o.version_major) + "." + std::to_string(o.version_minor), g.gpu, layout.tp,
                                 layout.pp, settings.context_tokens, settings.batch);
  if (!vllm_release_modelled(o.version_major, o.version_minor)) {
    e.notes.push_back("vLLM " + e.version + " is not a modelled release (0.6-0.9, 0.10, 0.11, 0.21 are); its budget "
                      "follows the rules of the nearest modelled release before it, which may be off by gigabytes.");
    if (v2_model_runner(model, o)) {
      e.notes.push_back("From vLLM 0.25 a dense model runs on the V2 model runner, which sets nothing aside for CUDA "
                        "graphs (its profile_cudagraph_memory returns 0); its sampler is sized with the 0.21 rules.");
    }
  }
  lora_notes(e.notes, model, v.plan.lora, o, layout, e.version);
  speculative_notes(e.notes, model, v.plan.speculative, o, layout, settings.draft.get());
  offload_notes(e.notes, v.plan.cpu_offload, o);
  encoder_notes(e.notes, model, v.plan.encoder, o, e.version, settings.context_tokens);
  e.host_bytes = v.plan.host_bytes;
  std::vector<std::string> parts;
  const std::string gpus = std::to_string(layout.gpus()) + (layout.gpus() == 1 ? " GPU" : " GPUs");
  if (v.plan.host_bytes > v.plan.kv_offloading_host_bytes + v.plan.swap_host_bytes) {
    parts.push_back("the offloaded weights of " + gpus + ", pinned");
  }
  if (v.plan.kv_offloading_host_bytes > 0) parts.emplace_back("the CPU KV tier");
  if (v.plan.swap_host_bytes > 0) parts.push_back("the swap space of " + gpus + ", pinned");
  for (std::size_t i = 0; i < parts.size(); ++i) e.host_what += (i == 0 ? "" : "; ") + parts[i];
  e.fits = v.plan.starts && runtime_concurrency(v.plan) >= static_cast<double>(settings.batch) &&
           v.plan.lora.refused_vocab_above == 0;
  e.detail = std::move(v);
  return e;
}

void engine_decide(FitRow& row, const EngineSection& common, const VllmSection& vllm, std::uint64_t batch) {
  const VllmResult& v = vllm.plan;
  // vLLM takes its share of the GPU (total x utilization, or the rest + --kv-cache-memory):
  // that is what it may use; it needs the rest plus `batch` full-length requests of KV
  // cache; the headroom is the KV memory left beyond them (as `check` says), so usable -
  // required = headroom in the table.
  std::uint64_t rest = checked_add(v.weights_bytes, v.activation_bytes, "the vLLM budget");
  rest = checked_add(rest, v.non_torch_bytes, "the vLLM budget");
  rest = checked_add(rest, v.cuda_graph_bytes, "the vLLM budget");
  rest = checked_add(rest, v.lora.total(), "the vLLM budget");
  rest = checked_add(rest, v.speculative.weights_bytes, "the vLLM budget");
  const std::uint64_t need = checked_mul(request_bytes(v), batch, "the KV cache size");
  budget_fit_row(row, common,
                 v.kv_memory_given ? checked_add(rest, v.kv_cache_memory_bytes, "the vLLM budget") : v.requested_bytes,
                 checked_add(rest, need, "the vLLM budget"), v.weights_bytes, need);
  if (v.lora.refused_vocab_above != 0) row.fits = false; // no GPU helps
}

} // namespace vramcalc::detail

// ---- vLLM's options: the flags of `vllm serve`, the keys of a deployment's engine_options ----

namespace vramcalc {

// --speculative-config: a flat JSON object read by hand (the core has no JSON library). Its
// keys (vllm/config/speculative.py SpeculativeConfig): method, model,
// num_speculative_tokens, draft_tensor_parallel_size; the rest are listed as not modelled.
namespace {

struct JsonCursor {
  std::string_view t;
  std::size_t i = 0;
  void skip() {
    while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) ++i;
  }
  bool eat(char c) {
    skip();
    if (i < t.size() && t[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
};

// A JSON string at the cursor (simple escapes kept as the escaped character).
std::optional<std::string> json_string(JsonCursor& c) {
  if (!c.eat('"')) return std::nullopt;
  std::string out;
  while (c.i < c.t.size() && c.t[c.i] != '"') {
    if (c.t[c.i] == '\\' && c.i + 1 < c.t.size()) ++c.i;
    out += c.t[c.i++];
    if (out.size() > 4096) return std::nullopt;
  }
  if (c.i >= c.t.size()) return std::nullopt;
  ++c.i;
  return out;
}

// A scalar's text (number, true, false, null), or a nested value skipped (returned as "{...}").
std::optional<std::string> json_value(JsonCursor& c) {
  c.skip();
  if (c.i >= c.t.size()) return std::nullopt;
  if (c.t[c.i] == '"') return json_string(c);
  if (c.t[c.i] == '{' || c.t[c.i] == '[') {
    std::size_t depth = 0;
    bool in_string = false;
    for (; c.i < c.t.size(); ++c.i) {
      const char ch = c.t[c.i];
      if (in_string) {
        if (ch == '\\') ++c.i;
        else if (ch == '"') in_string = false;
      } else if (ch == '"') {
        in_string = true;
      } else if (ch == '{' || ch == '[') {
        ++depth;
      } else if ((ch == '}' || ch == ']') && --depth == 0) {
        ++c.i;
        return std::string("{...}");
      }
    }
    return std::nullopt;
  }
  const std::size_t start = c.i;
  while (c.i < c.t.size() && c.t[c.i] != ',' && c.t[c.i] != '}' && c.t[c.i] != ' ' && c.t[c.i] != '\n') ++c.i;
  if (c.i == start) return std::nullopt;
  return std::string(c.t.substr(start, c.i - start));
}

std::optional<VllmSpecMethod> spec_method(std::string_view m) {
  if (m == "ngram" || m == "ngram_gpu") return VllmSpecMethod::ngram;
  if (m == "draft_model") return VllmSpecMethod::draft_model;
  if (m == "eagle") return VllmSpecMethod::eagle;
  if (m == "eagle3") return VllmSpecMethod::eagle3;
  // the MTP model types (MTPModelTypes): "mtp" and "<model>_mtp"
  if (m == "mtp" || m.ends_with("_mtp")) return VllmSpecMethod::mtp;
  return std::nullopt;
}

std::optional<Error> speculative_key(VllmSpeculative& out, const std::string& key, const std::string& value) {
  const auto count = [&](std::uint32_t& field, std::uint64_t most) -> std::optional<Error> {
    auto n = parse_count(value, most);
    if (!n) return value_error("\"" + key + "\": " + n.error().message);
    field = static_cast<std::uint32_t>(*n);
    return std::nullopt;
  };
  if (key == "method") {
    const auto m = spec_method(value);
    if (!m) {
      return value_error("\"method\": '" + excerpt(value, 40) + "' is not a method vramcalc models (ngram, draft_model, "
                         "eagle, eagle3, mtp, deepseek_mtp, qwen3_next_mtp, ...)");
    }
    out.method = *m;
    out.method_name = value;
  } else if (key == "model") {
    out.model = value == "null" ? "" : value;
  } else if (key == "num_speculative_tokens") {
    return count(out.num_speculative_tokens, 1024);
  } else if (key == "draft_tensor_parallel_size") {
    return count(out.draft_tp, 1024);
  } else if (key == "draft_vocab_size") {
    return count(out.draft_vocab_size, 1u << 24);
  } else {
    out.ignored.push_back(key);
  }
  return std::nullopt;
}

} // namespace

std::optional<Error> parse_vllm_speculative_config(std::string_view text, VllmSpeculative& out) {
  if (text.size() > 65536) return value_error("longer than 65,536 characters");
  out = VllmSpeculative{};
  JsonCursor c{text};
  if (!c.eat('{')) return value_error("expected a JSON object like '{\"method\": \"eagle\", \"num_speculative_tokens\": 3}'");
  if (!c.eat('}')) {
    do {
      const auto key = json_string(c);
      if (!key || !c.eat(':')) return value_error("expected \"key\": value at character " + std::to_string(c.i + 1));
      const auto value = json_value(c);
      if (!value) return value_error("\"" + excerpt(*key, 40) + "\": expected a value");
      if (auto e = speculative_key(out, *key, *value)) return e;
    } while (c.eat(','));
    if (!c.eat('}')) return value_error("expected ',' or '}' at character " + std::to_string(c.i + 1));
  }
  c.skip();
  if (c.i != text.size()) return value_error("text after the JSON object");
  if (out.method == VllmSpecMethod::none) {
    // vLLM detects the method from the model's name when none is given (SpeculativeConfig.__post_init__).
    std::string m = out.model;
    for (char& ch : m) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const auto has = [&](const char* s) { return m.find(s) != std::string::npos; };
    if (m.empty()) return value_error("no \"method\" and no \"model\"");
    out.method = has("eagle3") ? VllmSpecMethod::eagle3 : has("eagle") ? VllmSpecMethod::eagle : VllmSpecMethod::draft_model;
    out.method_name = out.method == VllmSpecMethod::eagle3 ? "eagle3" : out.method == VllmSpecMethod::eagle ? "eagle" : "draft_model";
  }
  if (out.method == VllmSpecMethod::draft_model && out.model.empty()) {
    return value_error("method draft_model needs a \"model\" (the draft model)");
  }
  if (out.method != VllmSpecMethod::mtp && out.num_speculative_tokens == 0) {
    return value_error("\"num_speculative_tokens\" is required for method " + out.method_name);
  }
  return std::nullopt;
}

std::optional<Error> parse_vllm_mm_limits(std::string_view text, VllmOptions& out) {
  if (text.size() > 4096) return value_error("longer than 4,096 characters");
  out.mm_image_limit.reset();
  out.mm_video_limit.reset();
  out.mm_other_nonzero = false;
  JsonCursor c{text};
  const auto bad = [&] {
    return value_error("expected a JSON object of items per prompt like '{\"image\": 2, \"video\": 0}' at character " +
                       std::to_string(c.i + 1));
  };
  if (!c.eat('{')) return bad();
  if (!c.eat('}')) {
    do {
      const auto key = json_string(c);
      if (!key || !c.eat(':')) return bad();
      c.skip();
      std::optional<std::string> value;
      if (c.i < c.t.size() && c.t[c.i] == '{') {
        // {"count": N, "width": W, "height": H} (PR #25631): the count is the limit.
        ++c.i;
        while (!value) {
          const auto sub = json_string(c);
          if (!sub || !c.eat(':')) return bad();
          auto v = json_value(c);
          if (!v) return bad();
          if (*sub == "count") value = *v;
          if (!c.eat(',')) break;
        }
        while (c.i < c.t.size() && c.t[c.i] != '}') ++c.i; // the size keys after it
        if (!c.eat('}') || !value) return value_error("\"" + excerpt(*key, 40) + "\": an object needs a \"count\"");
      } else {
        value = json_value(c);
      }
      if (!value) return bad();
      auto n = *value == "0" ? std::expected<std::uint64_t, Error>(0) : parse_count(*value, 1u << 20);
      // A limit may be 0 (the modality off), so a negative one is told as such, not "at least 1".
      if (!n && value->starts_with("-")) {
        return value_error("\"" + excerpt(*key, 40) + "\": '" + excerpt(*value, 40) + "' is negative; a limit is 0 or more");
      }
      if (!n) return value_error("\"" + excerpt(*key, 40) + "\": " + n.error().message);
      if (*key == "image") out.mm_image_limit = *n;
      else if (*key == "video") out.mm_video_limit = *n;
      else if (*n > 0) out.mm_other_nonzero = true;
    } while (c.eat(','));
    if (!c.eat('}')) return bad();
  }
  c.skip();
  if (c.i != text.size()) return value_error("text after the JSON object");
  out.mm_options_given = true;
  return std::nullopt;
}

namespace {

// "0.11", "v0.21.1", "0.10.2" -> the release's major and minor.
std::optional<Error> vllm_version(std::string_view text, Settings& s) {
  std::string_view t = text;
  if (t.starts_with("v")) t.remove_prefix(1);
  const auto dot = t.find('.');
  const std::string first(t.substr(0, dot));
  const bool zero_major = first == "0";
  auto major = parse_count(zero_major ? "1" : first, 99);
  std::string minor_text = dot == std::string_view::npos ? "0" : std::string(t.substr(dot + 1));
  if (const auto dot2 = minor_text.find('.'); dot2 != std::string::npos) minor_text = minor_text.substr(0, dot2);
  auto minor = minor_text == "0" ? std::expected<std::uint64_t, Error>(0) : parse_count(minor_text, 999);
  if (!major || !minor || dot == std::string_view::npos) {
    return value_error("'" + std::string(text) + "' is not a version like 0.11 or 0.21.1");
  }
  VllmOptions& v = s.engine_options.vllm;
  v.version_major = zero_major ? 0 : static_cast<std::uint32_t>(*major);
  v.version_minor = static_cast<std::uint32_t>(*minor);
  return std::nullopt;
}

std::optional<Error> block_size(std::string_view text, Settings& s) {
  std::uint64_t b = 0;
  if (auto e = read_into(b, parse_count(text, 4096))) return e;
  if ((b & (b - 1)) != 0) return value_error("'" + std::string(text) + "' is not a power of two");
  s.engine_options.vllm.block_size = static_cast<std::uint32_t>(b);
  return std::nullopt;
}

// --max-lora-rank: vLLM's MaxLoRARanks (vllm/config/lora.py, 0.11: 1, 8, 16, ..., 512).
std::optional<Error> max_lora_rank(std::string_view text, Settings& s) {
  std::uint64_t r = 0;
  if (auto e = read_into(r, parse_count(text, 512))) return e;
  constexpr std::uint64_t ranks[] = {1, 8, 16, 32, 64, 128, 256, 320, 512};
  if (std::find(std::begin(ranks), std::end(ranks), r) == std::end(ranks)) {
    return value_error("'" + std::string(text) + "' is not one of vLLM's ranks 1, 8, 16, 32, 64, 128, 256, 320, 512");
  }
  s.engine_options.vllm.max_lora_rank = static_cast<std::uint32_t>(r);
  s.engine_options.vllm.lora_options_given = true;
  return std::nullopt;
}

// --max-cpu-loras: at least --max-loras (LoRAConfig._validate_lora_config); read after it.
std::optional<Error> max_cpu_loras(std::string_view text, Settings& s) {
  VllmOptions& v = s.engine_options.vllm;
  if (auto e = read_into(v.max_cpu_loras, parse_count(text, 1u << 20))) return e;
  if (v.max_cpu_loras < v.max_loras) {
    return value_error(std::to_string(v.max_cpu_loras) + " is less than --max-loras " + std::to_string(v.max_loras) +
                       " (vLLM requires max_cpu_loras >= max_loras)");
  }
  v.lora_options_given = true;
  return std::nullopt;
}

// --lora-target-modules: vLLM's module suffixes, separated by commas or spaces; the
// unpacked names (q_proj, gate_proj, ...) stand for the packed module holding them.
std::optional<Error> lora_target_modules(std::string_view text, Settings& s) {
  static constexpr std::pair<std::string_view, std::uint32_t> names[] = {
      {"qkv_proj", vllm_lora_qkv_proj},       {"q_proj", vllm_lora_qkv_proj | vllm_lora_q_proj},     {"k_proj", vllm_lora_qkv_proj},
      {"v_proj", vllm_lora_qkv_proj},         {"o_proj", vllm_lora_o_proj},       {"gate_up_proj", vllm_lora_gate_up_proj},
      {"gate_proj", vllm_lora_gate_up_proj},  {"up_proj", vllm_lora_gate_up_proj}, {"down_proj", vllm_lora_down_proj},
      {"embed_tokens", vllm_lora_embed_tokens}, {"lm_head", vllm_lora_lm_head}, {"experts", vllm_lora_experts},
      {"gate", vllm_lora_gate},               {"fused_qkv_a_proj", vllm_lora_fused_qkv_a_proj},
      {"q_a_proj", vllm_lora_fused_qkv_a_proj}, {"kv_a_proj_with_mqa", vllm_lora_fused_qkv_a_proj},
      {"q_b_proj", vllm_lora_q_b_proj},       {"kv_b_proj", vllm_lora_kv_b_proj}};
  std::uint32_t bits = 0;
  std::string word;
  const auto take = [&]() -> std::optional<Error> {
    if (word.empty()) return std::nullopt;
    const auto it = std::find_if(std::begin(names), std::end(names), [&](const auto& n) { return n.first == word; });
    if (it == std::end(names)) {
      return value_error("'" + word + "' is not a module vramcalc knows (qkv_proj, o_proj, gate_up_proj, down_proj, "
                         "embed_tokens, lm_head, q/k/v/gate/up_proj; MoE: experts, gate; MLA: fused_qkv_a_proj, "
                         "q_a_proj, kv_a_proj_with_mqa, q_b_proj, kv_b_proj)");
    }
    bits |= it->second;
    word.clear();
    return std::nullopt;
  };
  for (const char c : text) {
    if (c == ',' || c == ' ' || c == '[' || c == ']' || c == '"' || c == '\'') {
      if (auto e = take()) return e;
    } else {
      word += c;
    }
  }
  if (auto e = take()) return e;
  if (bits == 0) return value_error("no module named");
  s.engine_options.vllm.lora_target_modules = bits;
  s.engine_options.vllm.lora_options_given = true;
  return std::nullopt;
}

// GiB as a decimal number, as vLLM's float options in GiB (--cpu-offload-gb, --kv-offloading-size,
// --swap-space): int(G x 1024^3) bytes (create_offloader: int(cpu_offload_gb * 1024**3)). Exact
// decimal arithmetic, up to 9 decimals (a float's floor agrees for every such text).
std::expected<std::uint64_t, Error> gib_bytes(std::string_view text) {
  const auto bad = [&] {
    return std::unexpected(value_error("'" + std::string(text) + "' is not a number of GiB like 4 or 2.5"));
  };
  const auto dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if ((whole.empty() && frac.empty()) || whole.size() > 7) return bad();
  std::uint64_t w = 0, f = 0, scale = 1;
  for (const char c : whole) {
    if (c < '0' || c > '9') return bad();
    w = w * 10 + static_cast<std::uint64_t>(c - '0');
  }
  for (std::size_t i = 0; i < frac.size(); ++i) {
    if (frac[i] < '0' || frac[i] > '9') return bad();
    if (i >= 9) continue;
    f = f * 10 + static_cast<std::uint64_t>(frac[i] - '0');
    scale *= 10;
  }
  return w * GiB + f * GiB / scale;
}

constexpr EngineOptionSpec vllm_options[] = {
    {"--gpu-memory-utilization", "gpu_memory_utilization",
     "vLLM: share of GPU memory vLLM may use (default 0.92; 0.9 before v0.21)", false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.vllm.utilization_ppm, parse_fraction_ppm(t));
     }, 1},
    {"--block-size", "block_size", "vLLM: tokens per KV block (default 16; MLA 64 on Hopper, 128 on Blackwell)", false,
     true, block_size, 2},
    {"--max-num-seqs", "max_num_seqs", "vLLM: most concurrent sequences (default by GPU: 1024 or 256)", false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.vllm.max_num_seqs, parse_count(t, 1ull << 24));
     }, 3},
    {"--max-num-batched-tokens", "max_num_batched_tokens",
     "vLLM: tokens per scheduler step (default by GPU: 8192 or 2048)", false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.vllm.max_num_batched_tokens, parse_tokens(t));
     }},
    {"--kv-cache-memory", "kv_cache_memory", "vLLM: the KV cache budget per GPU, instead of vLLM's profiling", false,
     true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.vllm.kv_cache_memory_bytes, parse_size(t));
     }},
    {"--vllm-version", "version", "vLLM: the release whose behaviour to model (default 0.21; modelled: 0.6-0.11, 0.21)",
     false, true, vllm_version},
    {"--enforce-eager", "enforce_eager", "vLLM: no CUDA graphs", true, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       s.engine_options.vllm.enforce_eager = t == "true";
       return std::nullopt;
     }},
    {"--enable-lora", "enable_lora", "vLLM: LoRA adapters; their slots are preallocated on every GPU", true, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       s.engine_options.vllm.enable_lora = t == "true";
       return std::nullopt;
     }},
    {"--max-loras", "max_loras", "vLLM: LoRA slots on the GPU, adapters in one batch (default 1)", false, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       if (auto e = read_into(s.engine_options.vllm.max_loras, parse_count(t, 1u << 16))) return e;
       s.engine_options.vllm.lora_options_given = true;
       return std::nullopt;
     }},
    {"--max-lora-rank", "max_lora_rank", "vLLM: rank of every LoRA slot (default 16)", false, true, max_lora_rank},
    {"--max-cpu-loras", "max_cpu_loras", "vLLM: LoRA adapters cached in host memory (default --max-loras)", false, true,
     max_cpu_loras},
    {"--fully-sharded-loras", "fully_sharded_loras", "vLLM: shard LoRA slots fully over tensor parallel GPUs", true,
     true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       s.engine_options.vllm.fully_sharded_loras = t == "true";
       s.engine_options.vllm.lora_options_given = true;
       return std::nullopt;
     }},
    {"--cpu-offload-gb", "cpu_offload_gb",
     "vLLM: GiB of each GPU's decoder-layer weights kept in pinned host memory instead", false, true,
     [](std::string_view t, Settings& s) { return read_into(s.engine_options.vllm.cpu_offload_bytes, gib_bytes(t)); }},
    {"--kv-offloading-size", "kv_offloading_size", "vLLM 0.14+: GiB of host memory for a CPU tier of KV blocks, all GPUs",
     false, true,
     [](std::string_view t, Settings& s) { return read_into(s.engine_options.vllm.kv_offloading_bytes, gib_bytes(t)); }},
    {"--kv-offloading-backend", "kv_offloading_backend", "vLLM 0.14+: the CPU KV tier's backend, native or lmcache",
     false, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       if (t != "native" && t != "lmcache") return value_error("'" + std::string(t) + "' is not native or lmcache");
       s.engine_options.vllm.kv_offloading_lmcache = t == "lmcache";
       return std::nullopt;
     }},
    {"--swap-space", "swap_space", "vLLM before 0.10 (V0): GiB of pinned CPU swap blocks per GPU (default 4)", false,
     true,
     [](std::string_view t, Settings& s) { return read_into(s.engine_options.vllm.swap_space_bytes, gib_bytes(t)); }},
    {"--lora-target-modules", "lora_target_modules",
     "vLLM 0.19+: LoRA only on these modules (comma list: qkv_proj, o_proj, gate_up_proj, ...)",
     false, true,
     lora_target_modules},
    {"--speculative-config", "speculative_config",
     "vLLM: speculative decoding, a JSON object: method (ngram, draft_model, eagle, eagle3, mtp), model, "
     "num_speculative_tokens, draft_tensor_parallel_size",
     false, true,
     [](std::string_view t, Settings& s) { return parse_vllm_speculative_config(t, s.engine_options.vllm.speculative); }},
    {"--limit-mm-per-prompt", "limit_mm_per_prompt",
     "vLLM: multimodal items per prompt, a JSON object ('{\"image\": 2}'; all 0: no encoder profiling)", false, true,
     [](std::string_view t, Settings& s) { return parse_vllm_mm_limits(t, s.engine_options.vllm); }},
    {"--language-model-only", "language_model_only", "vLLM 0.16+: text only, every modality limit 0", true, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       s.engine_options.vllm.language_model_only = t == "true";
       s.engine_options.vllm.mm_options_given = true;
       return std::nullopt;
     }},
    {"--skip-mm-profiling", "skip_mm_profiling", "vLLM: profile without the multimodal encoder (nothing reserved for it)",
     true, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       s.engine_options.vllm.skip_mm_profiling = t == "true";
       s.engine_options.vllm.mm_options_given = true;
       return std::nullopt;
     }},
    {"--mm-encoder-tp-mode", "mm_encoder_tp_mode", "vLLM: weights (shard the encoder) or data (replicate it)", false,
     true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       if (t != "weights" && t != "data") return value_error("'" + std::string(t) + "' is not weights or data");
       s.engine_options.vllm.mm_encoder_tp_data = t == "data";
       s.engine_options.vllm.mm_options_given = true;
       return std::nullopt;
     }},
};

} // namespace

std::span<const EngineOptionSpec> vllm_option_specs() { return vllm_options; }

} // namespace vramcalc
