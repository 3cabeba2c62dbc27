// vLLM (V1 engine) memory planning. Formulas and sources: docs/engines.md.
#include "vramcalc/engine.hpp"

#include "vramcalc/kv.hpp"
#include "vramcalc/units.hpp"

#include <algorithm>
#include <map>

namespace vramcalc {

namespace {

bool at_least(const VllmOptions& o, std::uint32_t major, std::uint32_t minor) {
  return o.version_major > major || (o.version_major == major && o.version_minor >= minor);
}

// The V0 engine (before 0.10): no chunked prefill by default, so the profile run processes
// max_model_len tokens; a lighter sampler.
bool is_v0(const VllmOptions& o) { return !at_least(o, 0, 10); }

std::uint64_t contains(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

// Block size: 16 on CUDA; MLA backends force 64 (FlashMLA, Hopper) or 128 (CUTLASS MLA,
// Blackwell) (vllm/platforms/cuda.py check_and_update_config).
std::uint64_t default_block_size(const ModelSpec& spec, const GpuSpec& gpu) {
  if (!spec.attention.mla) return 16;
  const std::string& id = gpu.id;
  if (contains(id, "b200") || contains(id, "b300") || contains(id, "gb200")) return 128;
  if (contains(id, "h100") || contains(id, "h200") || contains(id, "h20")) return 64;
  return 16;
}

// A layer as vLLM's KV cache manager sees it: its kind, window and page for one block.
struct LayerKey {
  int kind; // 0 full, 1 sliding, 2 chunked, 3 mamba
  std::uint64_t window;
  auto operator<=>(const LayerKey&) const = default;
};

struct Plan {
  std::uint64_t block = 16;
  std::uint64_t page = 0;       // bytes of one block of one layer (uniform after alignment)
  std::map<LayerKey, std::uint64_t> layer_counts;
  std::uint64_t group_size = 0;
  std::uint64_t num_groups = 0;
};

Plan make_plan(const ModelSpec& spec, Dtype kv_dtype, const Parallel& p, const VllmOptions& o, const GpuSpec& gpu) {
  Plan plan;
  plan.block = o.block_size != 0 ? o.block_size : default_block_size(spec, gpu);
  std::uint64_t attn_token_bytes = 0, mamba_page = 0;
  for (const LayerSpec& layer : spec.layers) {
    if (!layer.has_mixer) continue;
    if (layer.attention == AttentionKind::none) {
      if (!spec.recurrent) continue;
      mamba_page = std::max(mamba_page, ceil_div(state_bytes_per_sequence(spec, layer), p.tp));
      ++plan.layer_counts[LayerKey{3, 0}];
      continue;
    }
    LayerSpec l = layer;
    l.num_kv_heads = kv_heads_per_rank(l.num_kv_heads, p.tp);
    attn_token_bytes = std::max(attn_token_bytes, kv_bytes_per_token(spec, l, kv_dtype));
    const int kind = l.attention == AttentionKind::full ? 0 : l.attention == AttentionKind::sliding ? 1 : 2;
    ++plan.layer_counts[LayerKey{kind, kind == 0 ? 0 : l.window}];
  }
  if (mamba_page > 0 && attn_token_bytes > 0 && o.block_size == 0) {
    // Hybrid models: the attention block grows until its page holds a Mamba state, and the
    // Mamba page is padded to match (HybridAttentionMambaModelConfig.verify_and_update_config).
    const std::uint64_t align = 16;
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
    total += ceil_div(n, plan.group_size) * blocks_per_request(key, len, plan.block, batched);
  }
  return total;
}

void fill_blocks(VllmResult& r, const Plan& plan, std::uint64_t max_model_len, const VllmOptions& o) {
  r.block_size = plan.block;
  r.page_bytes = plan.page;
  r.num_groups = plan.num_groups;
  r.group_size = plan.group_size;
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

void batch_defaults(VllmResult& r, std::uint64_t max_model_len, const GpuSpec& gpu, const VllmOptions& o) {
  // vllm/engine/arg_utils.py get_batch_defaults: GPUs with >= 70 GiB, A100s excepted, get
  // 8192 batched tokens and 1024 sequences for `vllm serve`; others 2048 and 256.
  const bool big = gpu.memory_bytes >= 70 * GiB && gpu.id.find("a100") == std::string::npos;
  std::uint64_t tokens = big ? (o.llm_class ? 16384 : 8192) : (o.llm_class ? 8192 : 2048);
  std::uint64_t seqs = big ? 1024 : 256;
  if (is_v0(o)) {
    tokens = std::max<std::uint64_t>(max_model_len, 2048); // V0: no chunked prefill
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

// Peak of the profile run: one forward of max_num_batched_tokens tokens (attention kernels do
// not run in it) and the sampler over min(tokens, max_num_seqs) rows.
std::uint64_t activation_peak(const ModelSpec& spec, const Parallel& p, std::uint64_t tokens, std::uint64_t seqs,
                              const VllmOptions& o) {
  const std::uint64_t h = spec.hidden_size, tp = p.tp;
  const auto& a = spec.attention;
  // Widest intermediate per token of one layer (elements, per GPU), besides the residual:
  // attention: q, k, v and the attention output; dense MLP: gate+up (2I) and the activation
  // (I); MoE (fused_moe): per routed expert 2I + I + H of intermediate caches.
  std::uint64_t widest = 0;
  const std::uint64_t q = a.num_heads * a.head_dim, kv = a.num_kv_heads * (a.head_dim + a.v_head_dim);
  widest = std::max(widest, ceil_div(2 * q + kv, tp));
  if (spec.intermediate_size > 0) widest = std::max(widest, ceil_div(3 * spec.intermediate_size, tp));
  if (spec.moe) {
    const MoeSpec& m = *spec.moe;
    widest = std::max(widest, m.experts_per_token * (ceil_div(3 * m.expert_intermediate_size, tp) + h));
  }
  const std::uint64_t act_bytes = 2; // activations in bf16 / fp16
  const std::uint64_t forward = checked_mul(tokens, checked_mul(2 * h + widest, act_bytes), "the activations");
  // Sampler: logits [rows, vocab] in the model dtype, an fp32 copy, and top-k / top-p's sort
  // (fp32 values + int64 indices) — 18 bytes per logit in V1; V0's sampler about 6.
  const std::uint64_t rows = std::min(tokens, seqs);
  const std::uint64_t per_logit = is_v0(o) ? 6 : 18;
  return checked_add(forward, checked_mul(rows, checked_mul(spec.vocab_size, per_logit), "the activations"));
}

} // namespace

VllmResult vllm_blocks(const ModelSpec& spec, Dtype kv_dtype, std::uint64_t max_model_len,
                       std::uint64_t kv_cache_memory_bytes, const Parallel& p, const VllmOptions& options,
                       const GpuSpec& gpu) {
  VllmResult r;
  r.gpu_memory_bytes = gpu.memory_bytes;
  batch_defaults(r, max_model_len, gpu, options);
  r.kv_cache_memory_bytes = kv_cache_memory_bytes;
  r.kv_memory_given = true;
  fill_blocks(r, make_plan(spec, kv_dtype, p, options, gpu), max_model_len, options);
  return r;
}

VllmResult vllm_plan(const ModelSpec& spec, const WeightFormat& format, Dtype kv_dtype, std::uint64_t max_model_len,
                     const GpuSpec& gpu, const Parallel& p, const VllmOptions& o) {
  VllmResult r;
  r.gpu_memory_bytes = gpu.memory_bytes;
  r.utilization_bp = o.utilization_bp.value_or(at_least(o, 0, 21) ? 9200 : 9000);
  r.requested_bytes = gpu.memory_bytes / 10000 * r.utilization_bp + gpu.memory_bytes % 10000 * r.utilization_bp / 10000;
  batch_defaults(r, max_model_len, gpu, o);

  // Weights per GPU: the busiest rank's tensors, the rotary cos/sin cache
  // (max_position x rotary_dim in the model dtype, one copy) and the vocabulary padded to 64.
  RankCosts costs(spec, format, kv_dtype, 1, 0);
  r.weights_bytes = costs.busiest(p).weights_bytes;
  const std::uint64_t rotary = spec.attention.mla ? spec.attention.mla->qk_rope_head_dim : spec.attention.head_dim;
  r.weights_bytes += spec.max_context * rotary * traits(spec.dtype).block_bytes;
  const std::uint64_t padded_vocab = round_up(spec.vocab_size, 64);
  r.weights_bytes += (padded_vocab - spec.vocab_size) * spec.hidden_size * traits(spec.dtype).block_bytes *
                     (spec.tie_word_embeddings ? 1 : 2) / p.tp;

  r.activation_bytes = activation_peak(spec, p, r.max_num_batched_tokens, r.max_num_seqs, o);
  // Non-torch growth after NCCL start-up: about 0.06 GiB on one GPU, 0.25 GiB with NCCL
  // buffers (the logs in tests/data/measurements.md).
  r.non_torch_bytes = o.non_torch_bytes.value_or(p.gpus() > 1 ? GiB / 4 : 64 * MiB);
  // v0.21 counts an estimate of the CUDA graphs' memory in the budget (VLLM_MEMORY_PROFILER_
  // ESTIMATE_CUDAGRAPHS on by default); earlier releases take it from the remaining headroom.
  r.cuda_graph_bytes = at_least(o, 0, 21) && !o.enforce_eager ? GiB / 2 : 0;

  if (o.kv_cache_memory_bytes) {
    r.kv_cache_memory_bytes = *o.kv_cache_memory_bytes;
    r.kv_memory_given = true;
  } else {
    const std::uint64_t used = r.weights_bytes + r.activation_bytes + r.non_torch_bytes + r.cuda_graph_bytes;
    r.kv_cache_memory_bytes = r.requested_bytes > used ? r.requested_bytes - used : 0;
  }
  fill_blocks(r, make_plan(spec, kv_dtype, p, o, gpu), max_model_len, o);
  return r;
}

} // namespace vramcalc
