// SGLang memory planning (release 0.5). Formulas and sources: docs/engines.md, "SGLang".
#include "vramcalc/engine.hpp"

#include "vramcalc/placement.hpp"
#include "vramcalc/units.hpp"
#include "engine_sections.hpp"

#include <algorithm>

namespace vramcalc {

namespace {

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

// A layer SGLang's token pools (MHATokenToKVPool, MLATokenToKVPool) do not hold: sliding,
// chunked and recurrent layers go to its hybrid pools (SWAKVPool, HybridLinearKVPool), not
// modelled here.
bool plain_pool_layer(AttentionKind kind) {
  switch (kind) {
  case AttentionKind::full: return true;
  case AttentionKind::sliding:
  case AttentionKind::chunked:
  case AttentionKind::none: return false;
  }
  return false;
}

} // namespace

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
  out.bytes = checked_mul(checked_mul(per_slot, o.max_loras_per_batch, "the SGLang LoRA pool"), out.elem_bytes,
                          "the SGLang LoRA pool");
  return out;
}

SglangResult sglang_plan(const ModelSpec& spec, const WeightFormat& format, Dtype kv_dtype, std::uint64_t context_len,
                         const GpuSpec& gpu, const Parallel& p, const SglangOptions& o) {
  SglangResult r;
  for (const LayerSpec& layer : spec.layers) {
    if (!plain_pool_layer(layer.attention)) {
      r.error = "SGLang keeps sliding-window and recurrent layers in hybrid pools (SWAKVPool, HybridLinearKVPool), "
                "which vramcalc does not model; this model has such layers";
      return r;
    }
  }
  r.page_size = std::max<std::uint64_t>(1, o.page_size);
  r.context_len = context_len;

  // The static fraction: given, or (gpu_mem - reserved_mem) / gpu_mem rounded to 3 places.
  r.gpu_mem_mib = gpu.memory_bytes / mib;
  const Defaults d = gpu_defaults(r.gpu_mem_mib, p.tp);
  r.chunked_prefill_size = o.chunked_prefill_size.value_or(d.chunked_prefill_size);
  r.cuda_graph_max_bs = o.cuda_graph_max_bs != 0 ? o.cuda_graph_max_bs : d.cuda_graph_max_bs;
  if (o.mem_fraction_static_ppm) {
    r.fraction_given = true;
    r.mem_fraction_static_ppm = *o.mem_fraction_static_ppm;
  } else {
    // reserved_mem in half-MiB units (its terms are multiples of 0.5 MiB): 512 + 1.5 x
    // max(chunk, 2048) (max_prefill_tokens when chunking is off) + 2 x cuda_graph_max_bs +
    // tp x pp / 8 x 1024; at least 10 GiB on GPUs over 60 GiB.
    const std::uint64_t prefill = r.chunked_prefill_size != 0 ? r.chunked_prefill_size : r.max_prefill_tokens;
    std::uint64_t half = 1024;
    half = checked_add(half, checked_mul(3, std::max<std::uint64_t>(prefill, 2048), "reserved_mem"), "reserved_mem");
    half = checked_add(half, checked_mul(4, r.cuda_graph_max_bs, "reserved_mem"), "reserved_mem");
    half = checked_add(half, checked_mul(256, static_cast<std::uint64_t>(p.tp) * p.pp, "reserved_mem"), "reserved_mem");
    if (r.gpu_mem_mib > 60 * 1024) half = std::max<std::uint64_t>(half, 20 * 1024);
    r.reserved_bytes = half * (mib / 2);
    const std::uint64_t twice = 2 * r.gpu_mem_mib;
    // round(1000 x (2 gpu - half) / (2 gpu)) to the nearest thousandth (halves up).
    const std::uint64_t permille = twice > half ? (2000 * (twice - half) + twice) / (2 * twice) : 0;
    r.mem_fraction_static_ppm = static_cast<std::uint32_t>(permille * 1000);
  }

  // The pool: available after the weights - total x (1 - fraction), with total the memory
  // free before the weights (model_runner.py profile_max_num_token): total x fraction - weights.
  r.cuda_memory_bytes = cuda_visible_bytes(gpu);
  r.cuda_memory_source = cuda_visible_source(gpu);
  r.init_bytes = o.init_bytes.value_or(default_init_bytes);
  r.total_gpu_memory_bytes = r.cuda_memory_bytes > r.init_bytes ? r.cuda_memory_bytes - r.init_bytes : 0;
  r.static_bytes = r.total_gpu_memory_bytes / 1'000'000 * r.mem_fraction_static_ppm +
                   r.total_gpu_memory_bytes % 1'000'000 * r.mem_fraction_static_ppm / 1'000'000;
  RankCosts costs(spec, format, kv_dtype, 1, 0);
  r.weights_bytes = costs.busiest(p).weights_bytes;
  // The LoRA pool is made in load_model (init_lora_manager), before init_memory_pool measures
  // the memory left: it comes out of the static share, off the KV pool.
  r.lora = sglang_lora(spec, p.tp, o);
  r.rest_bytes = headroom_bytes(r.static_bytes, checked_add(r.weights_bytes, r.lora.bytes, "the SGLang budget"));

  // cell_size: MLA the latent (kv_lora_rank + qk_rope_head_dim) per layer, else K and V of
  // this rank's KV heads (at least one: replicated below tp), for the layers of the stage
  // with the most (num_effective_layers).
  std::uint64_t layers = 0;
  for (std::uint32_t stage = 0; stage < p.pp; ++stage) {
    const auto [first, last] = stage_layers(spec.num_layers, p.pp, stage);
    layers = std::max(layers, last - first);
  }
  const std::uint64_t elem = traits(kv_dtype).block_bytes;
  if (spec.attention.mla) {
    const MlaSpec& m = *spec.attention.mla;
    r.cell_bytes = checked_mul(checked_mul(m.kv_lora_rank + m.qk_rope_head_dim, layers, "the KV cell"), elem, "the KV cell");
  } else {
    const std::uint64_t heads = std::max<std::uint64_t>(1, spec.attention.num_kv_heads / p.tp);
    r.cell_bytes = checked_mul(checked_mul(checked_mul(heads, spec.attention.head_dim, "the KV cell"), layers, "the KV cell"),
                               2 * elem, "the KV cell");
  }
  if (r.rest_bytes > 0 && r.cell_bytes > 0) {
    r.max_total_num_tokens = static_cast<std::uint64_t>(r.rest_bytes) / r.cell_bytes / r.page_size * r.page_size;
  }
  r.kv_pool_bytes = checked_mul(r.max_total_num_tokens, r.cell_bytes, "the KV pool");
  r.starts = r.max_total_num_tokens > 0;
  // max_running_requests: given, or min(max(int(tokens / context_len x 512), 2048), 4096)
  // (model_runner.py init_memory_pool).
  if (o.max_running_requests != 0) {
    r.max_running_requests = o.max_running_requests;
  } else if (context_len > 0) {
    const std::uint64_t by_pool = checked_mul(r.max_total_num_tokens, 512, "max_running_requests") / context_len;
    r.max_running_requests = std::min<std::uint64_t>(std::max<std::uint64_t>(by_pool, 2048), 4096);
  }
  return r;
}

} // namespace vramcalc

// ---- SGLang's part of an estimate (engine_sections.hpp) -----------------------------

namespace vramcalc::detail {

namespace {
// What SGLang's LoRA pool figure assumes or leaves out.
void sglang_lora_notes(std::vector<std::string>& notes, const SglangOptions& o, const SglangLora& l) {
  if (!o.enable_lora) {
    if (o.lora_options_given) notes.push_back("LoRA options without --sglang-enable-lora: nothing is counted.");
    return;
  }
  if (l.rank_assumed) {
    notes.push_back("LoRA: no --max-lora-rank (--sglang-max-lora-rank here): SGLang takes the largest rank of its --lora-paths "
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
    const std::uint64_t need = checked_mul(settings.batch, settings.context_tokens, "the KV pool");
    e.fits = r.starts && r.max_total_num_tokens >= need && settings.batch <= r.max_running_requests;
    sglang_lora_notes(e.notes, settings.engine_options.sglang, r.lora);
    if (model.vision_params > 0 && !r.fraction_given) {
      e.notes.push_back("SGLang lowers the static fraction of multimodal models by their vision tower "
                        "(adjust_mem_fraction_for_vlm), which is not modelled: its KV pool is smaller than shown.");
    }
  }
  e.detail = std::move(s);
  return e;
}

void engine_decide(FitRow& row, const EngineSection& common, const SglangSection& sglang, std::uint64_t batch) {
  const SglangResult& r = sglang.plan;
  // SGLang holds its static share (weights + KV pool); the rest of the GPU is left to
  // activations and CUDA graphs. Needed: the weights and `batch` full-length requests' cells.
  const std::uint64_t need = checked_mul(checked_mul(batch, common.context_tokens, "the KV pool"), r.cell_bytes, "the KV pool");
  const std::uint64_t fixed = checked_add(r.weights_bytes, r.lora.bytes, "the SGLang budget");
  budget_fit_row(row, common, r.static_bytes, checked_add(fixed, need, "the SGLang budget"), fixed, need);
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
    // LoRA: SGLang's --enable-lora and --max-lora-rank are vLLM's flags here too, so vramcalc's
    // command line spells them --sglang-enable-lora and --sglang-max-lora-rank; a deployment's
    // keys and `check --sglang` take SGLang's own.
    {"--sglang-enable-lora", "enable_lora", "SGLang: preallocate the LoRA memory pool (--enable-lora)", true, true,
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
    {"--sglang-max-lora-rank", "max_lora_rank", "SGLang: LoRA rank of the pool's slots (--max-lora-rank)", false, true,
     [](std::string_view t, Settings& s) {
       s.engine_options.sglang.lora_options_given = true;
       return read_into(s.engine_options.sglang.max_lora_rank, parse_count(t, 1u << 16));
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
