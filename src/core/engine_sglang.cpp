// SGLang memory planning (release 0.5). Formulas and sources: docs/engines.md, "SGLang".
#include "vramcalc/engine.hpp"

#include "vramcalc/format.hpp"
#include "vramcalc/kv.hpp"
#include "vramcalc/placement.hpp"
#include "vramcalc/tensors.hpp"
#include "vramcalc/units.hpp"
#include "engine_sections.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace vramcalc {

namespace {

__extension__ typedef unsigned __int128 u128; // exact products of token counts and ratios

constexpr std::uint64_t mib = 1024ull * 1024;

// Memory in use before the weights load (CUDA context, torch distributed, NCCL): the log's
// "Load weight begin. avail mem" is the CUDA total less this. Taken from the 4x L4 log of
// tests/data/sglang/logs.md (21.99 GiB CUDA total, 21.63 GiB free before the weights; H100 logs 0.37-0.59 GiB).
constexpr std::uint64_t default_init_bytes = 420 * mib;

// chunked_prefill_size and cuda_graph_max_bs by the driver's total memory (MiB) and tp:
// server_args.py _handle_gpu_memory_settings (CUDA branches; the NPU ones are not modelled).
struct Defaults {
  std::uint64_t chunked_prefill_size, cuda_graph_max_bs;
};
Defaults gpu_defaults(std::uint64_t gpu_mem_mib, std::uint32_t tp) {
  const bool small_tp = tp < 4;
  if (gpu_mem_mib < 20 * 1024) return {2048, 8};
  if (gpu_mem_mib < 35 * 1024) return {2048, small_tp ? 24u : 80u};
  if (gpu_mem_mib < 60 * 1024) return {4096, small_tp ? 32u : 160u};
  if (gpu_mem_mib < 160 * 1024) return {8192, small_tp ? 256u : 512u}; // < 90 GiB and < 160 GiB agree
  return {16384, 512};
}

// Models SGLang 0.5 gives the hybrid sliding-window pool (SWAKVPool): model_config.py
// is_hybrid_swa_model lists Llama4ForConditionalGeneration and GptOssForCausalLM (and MiMo-V2 /
// Step-3.5, not in the catalog). Every other model with sliding layers (Gemma 2/3, Cohere2,
// Mistral's window) keeps every layer in the plain pool, whole-context.
bool hybrid_swa_arch(const ModelSpec& m) { return m.arch == "llama4" || m.arch == "gpt-oss"; }

// Models with recurrent layers SGLang 0.5 runs (model_runner.py's mambaish configs: Qwen3-Next,
// Qwen3.5, Nemotron-H, Kimi-Linear, Falcon-H1, ...).
bool hybrid_linear_arch(const ModelSpec& m) {
  return m.arch == "qwen3next" || m.arch == "qwen35" || m.arch == "qwen35moe" || m.arch == "nemotron_h" ||
         m.arch == "nemotron_h_moe" || m.arch == "kimi-linear";
}

// Why SGLang (or vramcalc for it) cannot plan this model / these options; "" when it can.
// `sglang_refuses`: the reason is SGLang's own check at start-up, not a gap of vramcalc's.
std::string refusal(const ModelSpec& spec, const Parallel& p, const SglangOptions& o, bool& sglang_refuses) {
  bool recurrent = false;
  for (const LayerSpec& layer : spec.layers) {
    if (layer.attention == AttentionKind::none) recurrent = true;
    const bool own_heads = (layer.num_kv_heads != 0 && layer.num_kv_heads != spec.attention.num_kv_heads) ||
                           (layer.head_dim_k != 0 && layer.head_dim_k != spec.attention.head_dim) ||
                           (layer.head_dim_q != 0 && layer.head_dim_q != spec.attention.head_dim);
    if (own_heads && layer.attention != AttentionKind::none) {
      return "SGLang 0.5's KV pools hold one head count and head size for every layer, and this model's layers differ "
             "(Gemma 4's global layers have their own); SGLang 0.5 has no model for it";
    }
  }
  if (recurrent && !hybrid_linear_arch(spec)) {
    return "SGLang 0.5 has no model for this recurrent architecture (" + spec.arch +
           "): its hybrid linear-attention pools serve Qwen3-Next, Qwen3.5, Nemotron-H, Kimi-Linear and Falcon-H1";
  }
  sglang_refuses = true;
  // server_args.py _handle_data_parallelism (0.5): with DP attention on, `assert self.tp_size %
  // self.dp_size == 0` while the arguments are read, before any GPU is touched.
  if (o.enable_dp_attention && (o.dp_size == 0 || p.tp % o.dp_size != 0)) {
    return "--dp-size " + std::to_string(o.dp_size) + " with --enable-dp-attention does not divide tp " +
           std::to_string(p.tp) + ": SGLang 0.5 asserts tp_size % dp_size == 0 (server_args.py _handle_data_parallelism)";
  }
  if (o.enable_dp_attention && (o.speculative == SglangSpeculative::standalone || o.speculative == SglangSpeculative::ngram)) {
    return "SGLang 0.5 refuses " + std::string(sglang_speculative_name(o.speculative)) +
           " speculative decoding with DP attention (server_args.py _handle_speculative_decoding)";
  }
  sglang_refuses = false;
  const bool eagle_like = o.speculative == SglangSpeculative::eagle || o.speculative == SglangSpeculative::eagle3 ||
                          o.speculative == SglangSpeculative::nextn || o.speculative == SglangSpeculative::standalone;
  if (eagle_like && o.draft_model == nullptr && !o.speculative_draft_model_path.empty()) {
    return "--speculative-draft-model-path " + o.speculative_draft_model_path + " is not a catalog model";
  }
  if (eagle_like && o.draft_model == nullptr && (spec.mtp_layers == 0 || o.speculative == SglangSpeculative::standalone)) {
    return std::string(sglang_speculative_name(o.speculative)) +
           " needs a draft model: give --speculative-draft-model-path with a catalog model id (this model has no MTP layers "
           "for SGLang to draft with)";
  }
  if (o.draft_model != nullptr && (o.draft_model->attention.mla || o.draft_model->recurrent ||
                                   std::any_of(o.draft_model->layers.begin(), o.draft_model->layers.end(),
                                               [](const LayerSpec& l) { return l.attention != AttentionKind::full; }))) {
    return "the draft model " + o.draft_model->id + " has MLA, sliding or recurrent layers, which vramcalc does not size as a draft";
  }
  return {};
}

// reserved_mem in half-MiB units (its terms are multiples of 0.5 MiB; server_args.py
// _handle_gpu_memory_settings): 512 + 1.5 x max(chunk, 2048) (max_prefill_tokens when chunking
// is off) + 2 x cuda_graph_max_bs + tp x pp / 8 x 1024; with DP attention + 3 x bs x dp (and
// + 1.5 x bs x dp above bs 300); at least 10 GiB on GPUs over 60 GiB; then + 6 GiB for
// STANDALONE, + 2 GiB for the other draft-model algorithms (none for NGRAM).
std::uint64_t reserved_half_mib(const SglangResult& r, const Parallel& p, const SglangOptions& o) {
  const char* what = "reserved_mem";
  const std::uint64_t prefill = r.chunked_prefill_size != 0 ? r.chunked_prefill_size : r.max_prefill_tokens;
  std::uint64_t half = 1024;
  half = checked_add(half, checked_mul(3, std::max<std::uint64_t>(prefill, 2048), what), what);
  half = checked_add(half, checked_mul(4, r.cuda_graph_max_bs, what), what);
  half = checked_add(half, checked_mul(256, static_cast<std::uint64_t>(p.tp) * p.pp, what), what);
  if (o.enable_dp_attention) {
    const std::uint64_t bs_dp = checked_mul(r.cuda_graph_max_bs, o.dp_size, what);
    half = checked_add(half, checked_mul(6, bs_dp, what), what);
    if (r.cuda_graph_max_bs > 300) half = checked_add(half, checked_mul(3, bs_dp, what), what);
  }
  if (r.gpu_mem_mib > 60 * 1024) half = std::max<std::uint64_t>(half, 20 * 1024);
  switch (o.speculative) {
  case SglangSpeculative::standalone: half = checked_add(half, 12 * 1024, what); break;
  case SglangSpeculative::eagle:
  case SglangSpeculative::eagle3:
  case SglangSpeculative::nextn: half = checked_add(half, 4 * 1024, what); break;
  case SglangSpeculative::none:
  case SglangSpeculative::ngram: break;
  }
  return half;
}

// One layer's K and V per token on one GPU: the latent for MLA, else this rank's KV heads (at
// least one: replicated below the attention tp) x (head_dim + v_head_dim).
std::uint64_t layer_cell(const ModelSpec& spec, Dtype kv_dtype, std::uint32_t attention_tp) {
  const std::uint64_t elem = traits(kv_dtype).block_bytes;
  if (spec.attention.mla) {
    const MlaSpec& m = *spec.attention.mla;
    return checked_mul(m.kv_lora_rank + m.qk_rope_head_dim, elem, "the KV cell");
  }
  const std::uint64_t heads = std::max<std::uint64_t>(1, spec.attention.num_kv_heads / attention_tp);
  const std::uint64_t v_dim = spec.attention.v_head_dim != 0 ? spec.attention.v_head_dim : spec.attention.head_dim;
  return checked_mul(checked_mul(heads, spec.attention.head_dim + v_dim, "the KV cell"), elem, "the KV cell");
}

// mamba_cache_per_req: every recurrent layer's conv state (bfloat16 whatever the model's dtype:
// configs/mamba_utils.py CONV_DTYPE) and temporal state (--mamba-ssm-dtype; KDA's always
// float32), each split over the attention tp (Mamba2StateShape / the GDN and KDA shapes, built
// with get_attention_tp_size(): tp / dp under DP attention).
std::uint64_t mamba_per_req(const ModelSpec& spec, std::uint32_t attention_tp, Dtype ssm_dtype) {
  std::uint64_t total = 0;
  for (const LayerSpec& layer : spec.layers) {
    if (layer.attention != AttentionKind::none) continue;
    const StateElements e = state_elements(spec, layer);
    const Dtype ssm = spec.recurrent && spec.recurrent->kind == RecurrentKind::kda ? e.ssm_dtype : ssm_dtype;
    const std::uint64_t conv = checked_mul(ceil_div(e.conv, attention_tp), traits(Dtype::bf16).block_bytes, "the Mamba state");
    const std::uint64_t temporal = checked_mul(ceil_div(e.ssm, attention_tp), traits(ssm).block_bytes, "the Mamba state");
    total = checked_add(total, checked_add(conv, temporal, "the Mamba state"), "the Mamba state");
  }
  return total;
}

// The running-request cap the speculative algorithms set when none is given (48).
std::uint64_t requests_given(const SglangOptions& o) {
  if (o.max_running_requests != 0) return o.max_running_requests;
  return o.speculative == SglangSpeculative::none ? 0 : 48;
}

// handle_max_mamba_cache: the state slots and their memory come off the rest before the
// tokens are counted. Returns the rest left for the KV pool.
std::int64_t take_mamba(SglangResult& r, const ModelSpec& spec, const SglangOptions& o, std::int64_t rest) {
  r.hybrid_linear = true;
  r.mamba_cache_per_req_bytes = mamba_per_req(spec, r.attention_tp, o.mamba_ssm_dtype);
  const std::uint64_t per = r.mamba_cache_per_req_bytes;
  const std::uint64_t given_requests = requests_given(o);
  const std::uint64_t dp = o.enable_dp_attention ? o.dp_size : 1;
  if (o.speculative != SglangSpeculative::none) {
    // Intermediate states for the draft tokens of each running request.
    r.mamba_spec_bytes = checked_mul(checked_mul(per, given_requests / dp, "the Mamba state"),
                                     r.speculative_num_draft_tokens, "the Mamba state");
    rest -= static_cast<std::int64_t>(r.mamba_spec_bytes);
  }
  if (o.disable_radix_cache || o.max_mamba_cache_size != 0) {
    r.mamba_size_given = true;
    const std::uint64_t slots = o.max_mamba_cache_size != 0 ? o.max_mamba_cache_size
                                : given_requests != 0       ? given_requests
                                                            : 512;
    r.max_mamba_cache_size = slots / dp;
  } else if (rest > 0 && per > 0) {
    // mamba memory / KV memory = mamba_full_memory_ratio: mamba = rest x ratio / (1 + ratio).
    const std::uint64_t ratio = o.mamba_full_memory_ratio_ppm;
    const std::uint64_t mamba_bytes = static_cast<std::uint64_t>(
        static_cast<u128>(static_cast<std::uint64_t>(rest)) * ratio / (1'000'000 + ratio));
    r.max_mamba_cache_size = mamba_bytes / per;
  }
  r.mamba_pool_bytes = checked_mul(r.max_mamba_cache_size, per, "the Mamba pool");
  return rest - static_cast<std::int64_t>(r.mamba_pool_bytes);
}

// set_num_tokens_hybrid_swa: all layers' tokens (profiled x layers) split so that
// full x full_layers + swa x swa_layers = the total and swa = ratio x full; each to whole pages.
void split_swa(SglangResult& r, const ModelSpec& spec, std::uint32_t ratio_ppm) {
  r.hybrid_swa = true;
  r.swa_full_tokens_ratio_ppm = ratio_ppm;
  for (const LayerSpec& layer : spec.layers) {
    (layer.attention == AttentionKind::full ? r.full_layers : r.swa_layers) += 1;
    if (layer.attention != AttentionKind::full) r.swa_window = std::max(r.swa_window, layer.window);
  }
  const u128 total = static_cast<u128>(r.max_total_num_tokens) * spec.num_layers * 1'000'000;
  const u128 denominator =
      static_cast<u128>(ratio_ppm) * r.swa_layers + static_cast<u128>(1'000'000) * r.full_layers;
  const std::uint64_t full = static_cast<std::uint64_t>(total / denominator);
  const std::uint64_t swa = static_cast<std::uint64_t>(static_cast<u128>(full) * ratio_ppm / 1'000'000);
  r.full_max_total_num_tokens = full / r.page_size * r.page_size;
  r.swa_max_total_num_tokens = swa / r.page_size * r.page_size;
  r.max_total_num_tokens = r.full_max_total_num_tokens;
}

// SGLang's defaults for the speculative sizes (auto_choose_speculative_params: 3, 1, 4 for
// STANDALONE and for DeepSeek V2/V3 and gpt-oss; 5, 4, 8 for the rest); topk 1 forces
// draft tokens = steps + 1. NGRAM: topk 10 (max BFS breadth), draft tokens 12 (max match window).
void speculative_sizes(SglangResult& r, const ModelSpec& spec, const SglangOptions& o) {
  r.speculative = o.speculative;
  if (o.speculative == SglangSpeculative::none) return;
  if (o.speculative == SglangSpeculative::ngram) {
    r.speculative_eagle_topk = 10;
    r.speculative_num_draft_tokens = o.speculative_num_draft_tokens != 0 ? o.speculative_num_draft_tokens : 12;
    r.speculative_num_steps = o.speculative_num_steps;
    return;
  }
  const bool small = o.speculative == SglangSpeculative::standalone || spec.arch == "deepseek2" || spec.arch == "gpt-oss";
  r.speculative_num_steps = o.speculative_num_steps != 0 ? o.speculative_num_steps : (small ? 3 : 5);
  r.speculative_eagle_topk = o.speculative_eagle_topk != 0 ? o.speculative_eagle_topk : (small ? 1 : 4);
  r.speculative_num_draft_tokens = o.speculative_num_draft_tokens != 0 ? o.speculative_num_draft_tokens : (small ? 4 : 8);
  if (r.speculative_eagle_topk == 1) r.speculative_num_draft_tokens = r.speculative_num_steps + 1;
}

// The draft worker: its weights (the model's MTP blocks, or the draft model at tp) and its KV
// pool of draft_runner_cache_size tokens (the target's pool) over its layers.
void draft_costs(SglangResult& r, const ModelSpec& spec, const WeightFormat& format, Dtype kv_dtype, const Parallel& p,
                 const SglangOptions& o) {
  const bool drafts = o.speculative != SglangSpeculative::none && o.speculative != SglangSpeculative::ngram;
  if (!drafts) return;
  if (o.draft_model != nullptr) {
    const ModelSpec& d = *o.draft_model;
    r.draft_model = d.id;
    r.draft_layers = d.num_layers;
    r.draft_cell_bytes = checked_mul(layer_cell(d, kv_dtype, r.attention_tp), d.num_layers, "the draft cell");
    // The draft loads in its checkpoint's own format (its weights_format, else its dtype).
    const std::string own = d.weights_format ? *d.weights_format : std::string(traits(d.dtype).name);
    const WeightFormat draft_format = parse_weight_format(own, d.dtype).value_or(format);
    r.draft_weights_bytes = RankCosts(d, draft_format, kv_dtype, 1, 0).busiest(Parallel{p.tp, 1, false}).weights_bytes;
  } else {
    // NEXTN (EAGLE on an MTP model): the draft is num_nextn_predict_layers of the model's MTP
    // blocks, each split over tp.
    r.draft_layers = spec.mtp_layers;
    r.draft_cell_bytes = checked_mul(layer_cell(spec, kv_dtype, r.attention_tp), spec.mtp_layers, "the draft cell");
    const std::vector<Tensor> tensors = model_tensors(spec, true);
    const std::vector<TensorStorage> storage = tensor_storage(spec, tensors, format);
    std::uint64_t mtp = 0;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      if (tensors[i].mtp) mtp = checked_add(mtp, storage[i].bytes, "the MTP weights");
    }
    r.draft_weights_bytes = ceil_div(mtp, p.tp);
  }
  r.draft_kv_pool_bytes = checked_mul(r.max_total_num_tokens, r.draft_cell_bytes, "the draft KV pool");
}

// DP attention: the attention weights are split over tp / dp GPUs instead of tp, so each GPU
// holds dp times its tp share of them (the weights' attention group).
std::uint64_t dp_attention_extra(const ModelSpec& spec, const WeightFormat& format, const Parallel& p, std::uint32_t attention_tp) {
  if (attention_tp == p.tp) return 0;
  std::uint64_t attention = 0;
  for (const GroupBytes& g : weight_bytes(spec, format).groups) {
    if (g.group == TensorGroup::attention) attention = g.bytes;
  }
  return ceil_div(attention, attention_tp) - ceil_div(attention, p.tp);
}

// --cpu-offload-gb: each GPU's offloader walks its stage's decoder layers (cpu_offload_walk).
// The parameters it moves are off the GPU when init_memory_pool measures the memory left, so
// they come off the weights and the KV pool grows by them. With pipeline stages the smallest
// stage's offload comes off the busiest stage's weights (exact with one stage). The host holds
// every GPU's: tp x the stages' sum.
void take_cpu_offload(SglangResult& r, const ModelSpec& spec, const WeightFormat& format, const Parallel& p,
                      std::uint64_t budget_bytes) {
  if (budget_bytes == 0) return;
  std::uint64_t stages_bytes = 0;
  for (std::uint32_t stage = 0; stage < p.pp; ++stage) {
    const CpuOffload c = cpu_offload_walk(spec, format, p, stage, budget_bytes);
    stages_bytes = checked_add(stages_bytes, c.bytes, "the host memory");
    if (stage == 0 || c.bytes < r.cpu_offload.bytes) r.cpu_offload = c;
  }
  r.host_bytes = checked_mul(stages_bytes, p.tp, "the host memory");
  r.weights_bytes -= std::min(r.cpu_offload.bytes - r.cpu_offload.v_slot_bytes, r.weights_bytes);
}

// The static fraction: given, or (gpu_mem - reserved_mem) / gpu_mem rounded to 3 places.
void static_fraction(SglangResult& r, const GpuSpec& gpu, const Parallel& p, const SglangOptions& o) {
  r.gpu_mem_mib = gpu.memory_bytes / mib;
  const Defaults d = gpu_defaults(r.gpu_mem_mib, p.tp);
  r.chunked_prefill_size = o.chunked_prefill_size.value_or(d.chunked_prefill_size);
  r.cuda_graph_max_bs = o.cuda_graph_max_bs != 0 ? o.cuda_graph_max_bs : d.cuda_graph_max_bs;
  if (o.mem_fraction_static_ppm) {
    r.fraction_given = true;
    r.mem_fraction_static_ppm = *o.mem_fraction_static_ppm;
    return;
  }
  const std::uint64_t half = reserved_half_mib(r, p, o);
  r.reserved_bytes = half * (mib / 2);
  const std::uint64_t twice = 2 * r.gpu_mem_mib;
  // round(1000 x (2 gpu - half) / (2 gpu)) to the nearest thousandth (halves up).
  const std::uint64_t permille = twice > half ? (2000 * (twice - half) + twice) / (2 * twice) : 0;
  r.mem_fraction_static_ppm = static_cast<std::uint32_t>(permille * 1000);
}

// The layers whose K and V the profiled cell counts: the busiest stage's (num_effective_layers),
// or for hybrid linear models their attention layers (full_attention_layer_ids).
std::uint64_t cell_layers(const ModelSpec& spec, const Parallel& p, bool linear) {
  if (linear) {
    return static_cast<std::uint64_t>(std::count_if(spec.layers.begin(), spec.layers.end(),
                                                     [](const LayerSpec& l) { return l.attention != AttentionKind::none; }));
  }
  std::uint64_t layers = 0;
  for (std::uint32_t stage = 0; stage < p.pp; ++stage) {
    const auto [first, last] = stage_layers(spec.num_layers, p.pp, stage);
    layers = std::max(layers, last - first);
  }
  return layers;
}

} // namespace

SglangRequest sglang_request(const SglangResult& r, std::uint64_t context) {
  SglangRequest q;
  q.full_tokens = context;
  if (!r.hybrid_swa) {
    q.bytes = checked_mul(context, r.cell_bytes, "the KV pool");
    return q;
  }
  q.swa_tokens = std::min(context, r.swa_window);
  q.bytes = checked_mul(checked_add(checked_mul(context, r.full_layers, "the KV pool"),
                                    checked_mul(q.swa_tokens, r.swa_layers, "the KV pool"), "the KV pool"),
                        r.layer_cell_bytes, "the KV pool");
  return q;
}

std::uint64_t sglang_rank_batch(const SglangResult& r, std::uint64_t batch) {
  return ceil_div(batch, std::max<std::uint32_t>(1, r.dp_size));
}

std::string_view sglang_speculative_name(SglangSpeculative a) {
  switch (a) {
  case SglangSpeculative::none: return "";
  case SglangSpeculative::eagle: return "EAGLE";
  case SglangSpeculative::eagle3: return "EAGLE3";
  case SglangSpeculative::nextn: return "NEXTN";
  case SglangSpeculative::standalone: return "STANDALONE";
  case SglangSpeculative::ngram: return "NGRAM";
  }
  return "";
}

SglangLora sglang_lora(const ModelSpec& spec, std::uint32_t tp, const SglangOptions& o) {
  SglangLora out;
  if (!o.enable_lora) return out;
  out.rank = o.max_lora_rank != 0 ? o.max_lora_rank : 16;
  out.rank_assumed = o.max_lora_rank == 0;
  // The pool's dtype is the model runner's (an fp32 checkpoint runs in bf16).
  out.elem_bytes = traits(spec.dtype == Dtype::f32 ? Dtype::bf16 : spec.dtype).block_bytes;
  // LoRAMemoryPool.get_lora_A_shape / get_lora_B_shape (lora/mem_pool.py) with get_hidden_dim
  // and get_stacked_multiply (lora/utils.py): A [slots, c x r, in] (in / tp for the
  // row-parallel o_proj and down_proj), B [slots, out, r] (out / tp for the others), c = 3
  // for qkv_proj, 2 for gate_up_proj; one A and one B per layer of num_hidden_layers.
  const std::uint64_t r = out.rank, t = tp, h = spec.hidden_size;
  const auto& a = spec.attention;
  const std::uint64_t q = a.num_heads * a.head_dim, kv = a.num_kv_heads * a.head_dim;
  const std::uint64_t inter = spec.intermediate_size;
  std::uint64_t per_slot = 0; // elements of one slot, all layers
  for (const LayerSpec& l : spec.layers) {
    std::uint64_t e = 0;
    if (a.mla) {
      ++out.mla_layers;
    } else if (l.has_mixer) {
      e += r * (3 * h + ceil_div(q + 2 * kv, t)); // qkv_proj
      e += r * (ceil_div(q, t) + h);              // o_proj
    }
    if (l.has_mlp && l.moe) {
      ++out.moe_layers;
    } else if (l.has_mlp && inter != 0) {
      e += r * (2 * h + 2 * ceil_div(inter, t)); // gate_up_proj
      e += r * (ceil_div(inter, t) + h);         // down_proj
    }
    per_slot = checked_add(per_slot, e, "the SGLang LoRA pool");
  }
  out.slot_elems = per_slot;
  out.bytes = checked_mul(checked_mul(per_slot, o.max_loras_per_batch, "the SGLang LoRA pool"), out.elem_bytes,
                          "the SGLang LoRA pool");
  return out;
}

SglangResult sglang_plan(const ModelSpec& spec, const WeightFormat& format, Dtype kv_dtype, std::uint64_t context_len,
                         const GpuSpec& gpu, const Parallel& p, const SglangOptions& o) {
  SglangResult r;
  r.error = refusal(spec, p, o, r.refused);
  if (!r.error.empty()) return r;
  r.page_size = std::max<std::uint64_t>(1, o.page_size);
  // gpt-oss and Llama 4 on SM100: the trtllm_mha backend SGLang picks when none is given
  // (server_args.py _handle_model_specific_adjustments) takes pages of 16, 32 or 64 tokens and
  // changes any other size to 64 (_handle_page_size).
  r.trtllm_mha = hybrid_swa_arch(spec) && detail::gpu_is_sm100(gpu);
  if (r.trtllm_mha && r.page_size != 16 && r.page_size != 32 && r.page_size != 64) r.page_size = 64;
  r.context_len = context_len;
  r.dp_attention = o.enable_dp_attention;
  r.dp_size = o.enable_dp_attention ? o.dp_size : 1;
  r.attention_tp = p.tp / r.dp_size;
  static_fraction(r, gpu, p, o);
  speculative_sizes(r, spec, o);

  // The pool: available after the weights - total x (1 - fraction), with total the memory
  // free before the weights (model_runner.py profile_max_num_token): total x fraction - weights.
  r.cuda_memory_bytes = cuda_visible_bytes(gpu);
  r.cuda_memory_source = cuda_visible_source(gpu);
  r.init_bytes = o.init_bytes.value_or(default_init_bytes);
  r.total_gpu_memory_bytes = r.cuda_memory_bytes > r.init_bytes ? r.cuda_memory_bytes - r.init_bytes : 0;
  r.static_bytes = r.total_gpu_memory_bytes / 1'000'000 * r.mem_fraction_static_ppm +
                   r.total_gpu_memory_bytes % 1'000'000 * r.mem_fraction_static_ppm / 1'000'000;
  r.outside_static_bytes = r.total_gpu_memory_bytes - r.static_bytes;
  RankCosts costs(spec, format, kv_dtype, 1, 0);
  r.dp_attention_extra_weights_bytes = dp_attention_extra(spec, format, p, r.attention_tp);
  r.weights_bytes = checked_add(costs.busiest(p).weights_bytes, r.dp_attention_extra_weights_bytes, "the weights");
  take_cpu_offload(r, spec, format, p, o.cpu_offload_bytes);
  // The LoRA pool is made in load_model (init_lora_manager), before init_memory_pool measures
  // the memory left: it comes out of the static share, off the KV pool.
  r.lora = sglang_lora(spec, p.tp, o);
  r.rest_bytes = headroom_bytes(r.static_bytes, checked_add(r.weights_bytes, r.lora.bytes, "the SGLang budget"));

  const bool linear = std::any_of(spec.layers.begin(), spec.layers.end(),
                                  [](const LayerSpec& l) { return l.attention == AttentionKind::none; });
  r.layer_cell_bytes = layer_cell(spec, kv_dtype, r.attention_tp);
  r.cell_bytes = checked_mul(r.layer_cell_bytes, cell_layers(spec, p, linear), "the KV cell");
  std::int64_t rest = r.rest_bytes;
  if (linear) rest = take_mamba(r, spec, o, rest);
  if (rest > 0 && r.cell_bytes > 0) r.max_total_num_tokens = static_cast<std::uint64_t>(rest) / r.cell_bytes;
  r.profiled_tokens = r.max_total_num_tokens;
  // max_running_requests: given (48 under speculative decoding), or min(max(int(tokens /
  // context_len x 512), 2048), 4096) (model_runner.py init_memory_pool); hybrid linear models
  // at most a third of the state slots (MAMBA_CACHE_SIZE_MAX_RUNNING_REQUESTS_RATIO), or all of
  // them without the radix cache (its ratio is 1).
  if (const std::uint64_t given = requests_given(o); given != 0) {
    r.max_running_requests = given;
  } else if (context_len > 0) {
    const std::uint64_t by_pool = checked_mul(r.max_total_num_tokens, 512, "max_running_requests") / context_len;
    r.max_running_requests = std::min<std::uint64_t>(std::max<std::uint64_t>(by_pool, 2048), 4096);
  }
  if (linear) r.max_running_requests = std::min(r.max_running_requests, r.max_mamba_cache_size / (o.disable_radix_cache ? 1 : 3));
  // Speculative decoding's headroom (draft_runner_cache_size): the pool grows by the draft and
  // verify tokens of every running request, + 100.
  // (NGRAM leaves speculative_num_steps unset in server_args.py: its headroom is not modelled.)
  if (r.speculative != SglangSpeculative::none && r.speculative != SglangSpeculative::ngram && r.max_total_num_tokens > 0) {
    const std::uint64_t per_request = checked_add(checked_mul(r.speculative_num_steps, r.speculative_eagle_topk, "the headroom"),
                                                  r.speculative_num_draft_tokens, "the headroom");
    r.spec_headroom_tokens = checked_add(checked_mul(r.max_running_requests, per_request, "the headroom"), 100, "the headroom");
    r.max_total_num_tokens = checked_add(r.max_total_num_tokens, r.spec_headroom_tokens, "the KV pool");
  }
  r.max_total_num_tokens = r.max_total_num_tokens / r.page_size * r.page_size;
  // gpt-oss under trtllm_mha: "Disable hybrid SWA memory for GPT-OSS model with trtllm_mha
  // attention backend" (server_args.py): one whole-context pool.
  const bool swa_off = o.disable_hybrid_swa_memory || (r.trtllm_mha && spec.arch == "gpt-oss");
  if (hybrid_swa_arch(spec) && !swa_off && r.max_total_num_tokens > 0) {
    split_swa(r, spec, o.swa_full_tokens_ratio_ppm);
  }
  r.kv_pool_bytes = r.hybrid_swa
                        ? checked_add(checked_mul(checked_mul(r.full_max_total_num_tokens, r.full_layers, "the KV pool"), r.layer_cell_bytes, "the KV pool"),
                                      checked_mul(checked_mul(r.swa_max_total_num_tokens, r.swa_layers, "the KV pool"), r.layer_cell_bytes, "the KV pool"), "the KV pool")
                        : checked_mul(r.max_total_num_tokens, r.cell_bytes, "the KV pool");
  draft_costs(r, spec, format, kv_dtype, p, o);
  // Past the static share: the pools beyond the profiled rest (speculative headroom), the
  // draft's weights and pool.
  const std::uint64_t pools = checked_add(r.kv_pool_bytes, checked_add(r.mamba_pool_bytes, r.mamba_spec_bytes, "the pools"), "the pools");
  const std::uint64_t rest_held = r.rest_bytes > 0 ? static_cast<std::uint64_t>(r.rest_bytes) : 0;
  r.beyond_static_bytes = checked_add(pools > rest_held ? pools - rest_held : 0,
                                      checked_add(r.draft_weights_bytes, r.draft_kv_pool_bytes, "the pools"), "the pools");
  r.starts = r.max_total_num_tokens > 0 && (!linear || r.max_mamba_cache_size > 0) &&
             r.beyond_static_bytes <= r.outside_static_bytes;
  return r;
}

} // namespace vramcalc

// ---- SGLang's part of an estimate (engine_sections.hpp) -----------------------------

namespace vramcalc::detail {

namespace {
// What SGLang's LoRA pool figure assumes or leaves out.
void sglang_lora_notes(std::vector<std::string>& notes, const SglangOptions& o, const SglangLora& l) {
  if (!o.enable_lora) {
    if (o.lora_options_given) notes.push_back("LoRA options without --enable-lora: nothing is counted.");
    return;
  }
  if (l.rank_assumed) {
    notes.push_back("LoRA: no --max-lora-rank: SGLang takes the largest rank of its --lora-paths "
                    "adapters; counted at 16.");
  }
  const auto layers = [](std::uint64_t n) { return std::to_string(n) + (n == 1 ? " layer" : " layers"); };
  if (l.moe_layers > 0) {
    notes.push_back("LoRA: the MoE experts of " + layers(l.moe_layers) +
                    " are not counted (SGLang's MoE LoRA buffers are not modelled), so the LoRA pool is a lower bound.");
  }
  if (l.mla_layers > 0) {
    notes.push_back("LoRA: the MLA attention of " + layers(l.mla_layers) +
                    " is not counted (not modelled), so the LoRA pool is a lower bound.");
  }
}
} // namespace

EngineSection sglang_section(const ModelSpec& model, const Settings& settings, const Parallel& layout) {
  const GpuRequest& g = settings.gpus.front();
  SglangOptions o = settings.engine_options.sglang;
  // --overhead replaces the memory in use before the weights (e.g. with a log's own figure).
  if (settings.overhead_given) o.init_bytes = settings.overhead_bytes;
  SglangSection s{sglang_plan(model, settings.weights, settings.kv_dtype, settings.context_tokens, g.gpu, layout, o), o};
  EngineSection e = section_head("0.5", g.gpu, layout.tp, layout.pp, settings.context_tokens, settings.batch);
  const SglangResult& r = s.plan;
  if (r.error.empty()) {
    const SglangRequest q = sglang_request(r, settings.context_tokens);
    const std::uint64_t batch = sglang_rank_batch(r, settings.batch);
    e.fits = r.starts && r.max_total_num_tokens >= checked_mul(batch, q.full_tokens, "the KV pool") &&
             r.swa_max_total_num_tokens >= checked_mul(batch, q.swa_tokens, "the KV pool") &&
             batch <= r.max_running_requests;
    sglang_lora_notes(e.notes, settings.engine_options.sglang, r.lora);
    if (o.dp_size > 1 && !o.enable_dp_attention) {
      e.notes.push_back("--dp-size " + std::to_string(o.dp_size) + " without --enable-dp-attention: " +
                        std::to_string(o.dp_size) + " replicas, each on these GPUs as shown.");
    }
    if (r.trtllm_mha) {
      e.notes.push_back("SGLang picks the trtllm_mha attention backend for this model on " + g.gpu.name + ": pages of " +
                        std::to_string(r.page_size) + " tokens" +
                        (model.arch == "gpt-oss" ? std::string(" and no hybrid sliding-window pool") : std::string()) +
                        " (server_args.py).");
    }
    if (r.speculative == SglangSpeculative::ngram) {
      e.notes.push_back("NGRAM speculative decoding: no draft model; the pool's headroom for its draft tokens is not "
                        "modelled.");
    }
    if (r.cpu_offload.bytes > 0) {
      e.notes.push_back("--cpu-offload-gb: SGLang copies a layer's offloaded parameters to the GPU for its forward "
                        "(OffloaderV1, functional_call): one layer's at a time (the largest is shown), from the memory "
                        "outside the static share; not counted.");
    }
    if (model.vision_params > 0 && !r.fraction_given) {
      e.notes.push_back("SGLang lowers the static fraction of multimodal models by their vision tower "
                        "(adjust_mem_fraction_for_vlm), which is not modelled: its KV pool is smaller than shown.");
    }
  }
  e.host_bytes = r.host_bytes;
  e.detail = std::move(s);
  return e;
}

void engine_decide(FitRow& row, const EngineSection& common, const SglangSection& sglang, std::uint64_t batch) {
  const SglangResult& r = sglang.plan;
  // SGLang holds its static share (weights + KV pool); the rest of the GPU is left to
  // activations and CUDA graphs. Needed: the weights and `batch` full-length requests' cells.
  // Beyond the static share: the pool's speculative headroom and the draft's weights and pool.
  const std::uint64_t need =
      checked_mul(sglang_rank_batch(r, batch), sglang_request(r, common.context_tokens).bytes, "the KV pool");
  const std::uint64_t weights = checked_add(checked_add(r.weights_bytes, r.lora.bytes, "the SGLang budget"),
                                            r.draft_weights_bytes, "the SGLang budget");
  const std::uint64_t kv = checked_add(need, r.draft_kv_pool_bytes, "the SGLang budget");
  const std::uint64_t state = checked_add(r.mamba_pool_bytes, r.mamba_spec_bytes, "the SGLang budget");
  budget_fit_row(row, common, checked_add(r.static_bytes, r.beyond_static_bytes, "the SGLang budget"),
                 checked_add(checked_add(weights, kv, "the SGLang budget"), state, "the SGLang budget"), weights, kv);
  row.busiest_state_bytes = state;
  row.overhead_bytes -= state;
}

} // namespace vramcalc::detail

// ---- SGLang's options: the flags of sglang.launch_server, the keys of a deployment's engine_options ----

namespace vramcalc {

namespace {

constexpr EngineOptionSpec sglang_options[] = {
    {"--mem-fraction-static", "mem_fraction_static",
     "SGLang: share of the memory free before the weights for weights + KV pool (default: from the GPU's memory)",
     false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.sglang.mem_fraction_static_ppm, parse_fraction_ppm(t));
     }, 1},
    {"--chunked-prefill-size", "chunked_prefill_size",
     "SGLang: prefill chunk in tokens, -1 for none (default by GPU: 2048 to 16384)", false, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       // SGLang disables chunked prefill with -1 (or 0).
       if (t == "-1" || t == "0") {
         s.engine_options.sglang.chunked_prefill_size = 0;
         return std::nullopt;
       }
       return read_into(s.engine_options.sglang.chunked_prefill_size, parse_tokens(t));
     }, 2},
    {"--cuda-graph-max-bs", "cuda_graph_max_bs", "SGLang: largest CUDA-graph batch (default by GPU and tp: 8 to 512)",
     false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.sglang.cuda_graph_max_bs, parse_count(t, 1u << 16));
     }, 3},
    {"--max-running-requests", "max_running_requests",
     "SGLang: most running requests (default: from the KV pool, 2048 to 4096)", false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.sglang.max_running_requests, parse_count(t, 1ull << 24));
     }},
    {"--page-size", "page_size", "SGLang: tokens per KV page (default 1)", false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.sglang.page_size, parse_count(t, 1u << 16));
     }},
    {"--enable-dp-attention", "enable_dp_attention",
     "SGLang: data-parallel attention over the tp GPUs (attention tp = tp / --dp-size)", true, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       s.engine_options.sglang.enable_dp_attention = t == "true";
       return std::nullopt;
     }},
    {"--dp-size", "dp_size", "SGLang: attention data-parallel groups with --enable-dp-attention (default 1)", false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.sglang.dp_size, parse_count(t, 1024));
     }},
    {"--swa-full-tokens-ratio", "swa_full_tokens_ratio",
     "SGLang: sliding-window layers' tokens per full-attention token in the hybrid pool (default 0.8)", false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.sglang.swa_full_tokens_ratio_ppm, parse_fraction_ppm(t));
     }},
    {"--disable-hybrid-swa-memory", "disable_hybrid_swa_memory",
     "SGLang: keep sliding-window layers whole-context in the plain pool", true, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       s.engine_options.sglang.disable_hybrid_swa_memory = t == "true";
       return std::nullopt;
     }},
    {"--max-mamba-cache-size", "max_mamba_cache_size",
     "SGLang: recurrent-state slots of hybrid linear models (default: from --mamba-full-memory-ratio)", false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.sglang.max_mamba_cache_size, parse_count(t, 1ull << 24));
     }},
    {"--mamba-ssm-dtype", "mamba_ssm_dtype", "SGLang: dtype of the recurrent (temporal) state (default float32)", false, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       const auto d = parse_dtype(t);
       if (!d || (*d != Dtype::f32 && *d != Dtype::bf16 && *d != Dtype::f16)) {
         return value_error("'" + std::string(t) + "' is not float32, bfloat16 or float16");
       }
       s.engine_options.sglang.mamba_ssm_dtype = *d;
       return std::nullopt;
     }},
    {"--mamba-full-memory-ratio", "mamba_full_memory_ratio",
     "SGLang: recurrent-state memory per byte of KV pool (default 0.9)", false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.sglang.mamba_full_memory_ratio_ppm, parse_fraction_ppm(t));
     }},
    {"--disable-radix-cache", "disable_radix_cache",
     "SGLang: no prefix cache (the recurrent-state slots then follow the running requests)", true, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       s.engine_options.sglang.disable_radix_cache = t == "true";
       return std::nullopt;
     }},
    {"--speculative-algorithm", "speculative_algorithm",
     "SGLang: speculative decoding: EAGLE, EAGLE3, NEXTN, STANDALONE or NGRAM", false, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       for (const SglangSpeculative a : {SglangSpeculative::eagle, SglangSpeculative::eagle3, SglangSpeculative::nextn,
                                         SglangSpeculative::standalone, SglangSpeculative::ngram}) {
         if (t == sglang_speculative_name(a)) {
           s.engine_options.sglang.speculative = a;
           return std::nullopt;
         }
       }
       return value_error("'" + std::string(t) + "' is not EAGLE, EAGLE3, NEXTN, STANDALONE or NGRAM");
     }},
    {"--speculative-draft-model-path", "speculative_draft_model_path",
     "SGLang: the draft model, a catalog model id (NEXTN drafts with the model's own MTP layers)", false, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       if (t.empty()) return value_error("give a catalog model id");
       s.engine_options.sglang.speculative_draft_model_path = std::string(t);
       return std::nullopt;
     }},
    {"--speculative-num-steps", "speculative_num_steps", "SGLang: draft steps (default 3 or 5 by model)", false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.sglang.speculative_num_steps, parse_count(t, 1024));
     }},
    {"--speculative-eagle-topk", "speculative_eagle_topk", "SGLang: draft branches per step (default 1 or 4 by model)",
     false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.sglang.speculative_eagle_topk, parse_count(t, 1024));
     }},
    {"--speculative-num-draft-tokens", "speculative_num_draft_tokens",
     "SGLang: tokens verified per step (default 4 or 8 by model; steps + 1 at topk 1)", false, true,
     [](std::string_view t, Settings& s) {
       return read_into(s.engine_options.sglang.speculative_num_draft_tokens, parse_count(t, 1u << 16));
     }},
    // LoRA: --enable-lora and --max-lora-rank are vLLM's flags too, spelled alike: one flag each
    // on vramcalc's command line, read by the engine --engine names (src/cli/flags.cpp).
    {"--enable-lora", "enable_lora", "SGLang: preallocate the LoRA memory pool", true, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       if (t != "true" && t != "false") return value_error("'" + std::string(t) + "' is not true or false");
       s.engine_options.sglang.enable_lora = t == "true";
       return std::nullopt;
     }},
    {"--max-loras-per-batch", "max_loras_per_batch", "SGLang: LoRA adapter slots in the GPU pool (default 8)", false,
     true,
     [](std::string_view t, Settings& s) {
       s.engine_options.sglang.lora_options_given = true;
       return read_into(s.engine_options.sglang.max_loras_per_batch, parse_count(t, 1u << 16));
     }},
    {"--max-lora-rank", "max_lora_rank", "SGLang: LoRA rank of the pool's slots", false, true,
     [](std::string_view t, Settings& s) {
       s.engine_options.sglang.lora_options_given = true;
       return read_into(s.engine_options.sglang.max_lora_rank, parse_count(t, 1u << 16));
     }},
    // --cpu-offload-gb is vLLM's flag too (a float there, an int in SGLang): one flag, read by the
    // engine --engine names.
    {"--cpu-offload-gb", "cpu_offload_gb",
     "SGLang: GiB of each GPU's decoder-layer parameters kept in pinned host memory (an integer)",
     false, true,
     [](std::string_view t, Settings& s) -> std::optional<Error> {
       if (t == "0") {
         s.engine_options.sglang.cpu_offload_bytes = 0; // SGLang's default: off
         return std::nullopt;
       }
       const auto g = parse_count(t, 1u << 20);
       if (!g) return value_error("'" + std::string(t) + "' is not a whole number of GiB (SGLang's --cpu-offload-gb is an int)");
       s.engine_options.sglang.cpu_offload_bytes = *g << 30;
       return std::nullopt;
     }},
    // A deployment's `version`: one release is modelled.
    {"--sglang-version", "version", "", false, false,
     [](std::string_view, Settings&) -> std::optional<Error> {
       return value_error("one SGLang release is modelled (0.5); leave version out");
     }},
};

} // namespace

std::span<const EngineOptionSpec> sglang_option_specs() { return sglang_options; }

} // namespace vramcalc
