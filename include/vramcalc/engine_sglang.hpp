// SGLang 0.5 as it allocates: the static memory fraction, the KV pool in tokens. Its options,
// result, section and plan; engine.hpp (the registry) includes it. docs/engines.md, "SGLang".
#pragma once

#include "vramcalc/engine_fwd.hpp"

#include <memory>
#include <string>

namespace vramcalc {

// SGLang's --kv-cache-dtype: auto (the model dtype), fp8_e4m3, fp8_e5m2 (server_args.py).
inline constexpr Dtype sglang_kv_dtypes[] = {Dtype::f32, Dtype::f16, Dtype::bf16, Dtype::f8_e4m3, Dtype::f8_e5m2};

// --speculative-algorithm (server_args.py; NEXTN is read as EAGLE).
enum class SglangSpeculative : std::uint8_t { none, eagle, eagle3, nextn, standalone, ngram };
[[nodiscard]] std::string_view sglang_speculative_name(SglangSpeculative a); // "EAGLE", "" for none

// SGLang 0.5 (server_args.py _handle_gpu_memory_settings as reworked by PR #10975;
// model_runner.py profile_max_num_token / init_memory_pool). docs/engines.md, "SGLang".
struct SglangOptions {
  std::optional<std::uint32_t> mem_fraction_static_ppm; // --mem-fraction-static in millionths
  std::optional<std::uint64_t> chunked_prefill_size;    // 0: disabled (-1 on SGLang's command line)
  std::uint64_t cuda_graph_max_bs = 0;                  // 0: SGLang's default for the GPU and tp
  std::uint64_t max_running_requests = 0;               // 0: SGLang's default from the pool
  std::uint64_t page_size = 1;                          // --page-size
  std::optional<std::uint64_t> init_bytes;              // memory in use before the weights (replaces the estimate)
  // LoRA (server_args.py; lora/mem_pool.py LoRAMemoryPool): a pool of max_loras_per_batch
  // adapter slots of max_lora_rank in every target module, allocated before the KV pool.
  bool enable_lora = false;                             // --enable-lora
  bool lora_options_given = false;                      // a LoRA option was given
  std::uint64_t max_loras_per_batch = 8;                // --max-loras-per-batch
  std::uint64_t max_lora_rank = 0;                      // --max-lora-rank (0: not given; SGLang takes the adapters' largest)
  // --enable-dp-attention with --dp-size: attention data-parallel over the tp GPUs (attention
  // tp = tp / dp_size), not replicas.
  bool enable_dp_attention = false;
  std::uint32_t dp_size = 1;
  // Hybrid sliding-window pools (SWAKVPool): --swa-full-tokens-ratio, --disable-hybrid-swa-memory.
  std::uint32_t swa_full_tokens_ratio_ppm = 800'000;
  bool disable_hybrid_swa_memory = false;
  // The Mamba state pool (HybridLinearKVPool): --max-mamba-cache-size, --mamba-ssm-dtype,
  // --mamba-full-memory-ratio, and --disable-radix-cache (which sizes it by the requests).
  std::uint64_t max_mamba_cache_size = 0;           // 0: from the ratio
  Dtype mamba_ssm_dtype = Dtype::f32;
  std::uint32_t mamba_full_memory_ratio_ppm = 900'000;
  bool disable_radix_cache = false;
  // Speculative decoding: --speculative-algorithm and its sizes (0: SGLang's defaults).
  SglangSpeculative speculative = SglangSpeculative::none;
  std::string speculative_draft_model_path;         // a catalog model id (resolved into draft_model)
  std::shared_ptr<const ModelSpec> draft_model;     // that catalog model, resolved by the command
  std::uint64_t speculative_num_steps = 0;
  std::uint64_t speculative_eagle_topk = 0;
  std::uint64_t speculative_num_draft_tokens = 0;
  // --cpu-offload-gb G (an int in SGLang's server_args.py): G x 2^30 bytes of each GPU's
  // decoder-layer parameters to pinned host memory (utils/offloader.py OffloaderV1).
  std::uint64_t cpu_offload_bytes = 0;
};

// SGLang's LoRA memory pool on one GPU (docs/engines.md, "SGLang", "LoRA").
struct SglangLora {
  std::uint64_t bytes = 0;         // A and B buffers of every layer's target modules
  std::uint64_t slot_elems = 0;    // elements of one slot, all layers: bytes = slot_elems x max_loras_per_batch x elem_bytes
  std::uint64_t rank = 0;          // the rank counted
  bool rank_assumed = false;       // --max-lora-rank not given: counted at 16
  std::uint64_t elem_bytes = 0;    // the buffers' dtype (the model's)
  std::uint64_t moe_layers = 0;    // MoE blocks whose experts are not counted
  std::uint64_t mla_layers = 0;    // MLA attention not counted
};

// SGLang's LoRA pool for one GPU of tensor parallel size tp; all zero without --enable-lora.
[[nodiscard]] SglangLora sglang_lora(const ModelSpec& spec, std::uint32_t tp, const SglangOptions& options);

struct SglangResult {
  std::string error;                  // a model vramcalc does not model under SGLang (why); nothing else is set
  bool refused = false;               // the error is SGLang's own: it refuses these options and does not start
  std::uint64_t gpu_mem_mib = 0;      // the driver's total, MiB: what the fraction is derived from
  std::uint64_t chunked_prefill_size = 0; // 0: disabled
  std::uint64_t max_prefill_tokens = 16384;
  std::uint64_t cuda_graph_max_bs = 0;
  std::uint64_t reserved_bytes = 0;   // reserved_mem (MiB in SGLang, here in bytes); 0 when the fraction is given
  std::uint32_t mem_fraction_static_ppm = 0;
  bool fraction_given = false;
  std::uint64_t cuda_memory_bytes = 0; // the total CUDA reports
  std::string cuda_memory_source;
  std::uint64_t init_bytes = 0;       // CUDA context and torch distributed before the weights
  std::uint64_t total_gpu_memory_bytes = 0; // free before the weights ("Load weight begin. avail mem")
  std::uint64_t static_bytes = 0;     // total_gpu_memory x mem_fraction_static
  std::uint64_t weights_bytes = 0;    // per GPU (the busiest stage)
  SglangLora lora;                    // --enable-lora: its memory pool, out of the static share before the KV pool
  CpuOffload cpu_offload;             // --cpu-offload-gb: the busiest GPU's parameters in host memory (off weights_bytes)
  std::uint64_t host_bytes = 0;       // the offloaded parameters of every GPU (tp x every stage's), pinned host memory
  std::int64_t rest_bytes = 0;        // static - weights - LoRA pool: the KV pool's memory (negative: none)
  std::uint64_t cell_bytes = 0;       // KV bytes per token on one GPU (cell_size)
  std::uint64_t max_total_num_tokens = 0; // "max_total_num_tokens=" of its log
  std::uint64_t kv_pool_bytes = 0;    // max_total_num_tokens x cell
  std::uint64_t page_size = 1;
  // SGLang picks the trtllm_mha attention backend for gpt-oss and Llama 4 on SM100 (B200,
  // GB200, B300): pages of 16, 32 or 64 tokens (else 64), and no hybrid SWA pool for gpt-oss.
  bool trtllm_mha = false;
  std::uint64_t context_len = 0;
  std::uint64_t max_running_requests = 0;
  bool starts = false;                // SGLang raises "Not enough memory" when no token fits

  // DP attention: attention tp = tp / dp_size; attention weights held at that width.
  bool dp_attention = false;
  std::uint32_t dp_size = 1;
  std::uint32_t attention_tp = 1;
  std::uint64_t dp_attention_extra_weights_bytes = 0; // part of weights_bytes: attention replicated over dp
  // Hybrid sliding-window pool (SWAKVPool): the profiled tokens over all layers split so that
  // swa tokens = ratio x full tokens. max_total_num_tokens is then the full layers' count.
  bool hybrid_swa = false;
  std::uint64_t full_layers = 0, swa_layers = 0;
  std::uint32_t swa_full_tokens_ratio_ppm = 0;
  std::uint64_t profiled_tokens = 0;  // rest // cell before the split (and before any headroom)
  std::uint64_t full_max_total_num_tokens = 0;
  std::uint64_t swa_max_total_num_tokens = 0;
  std::uint64_t layer_cell_bytes = 0; // one layer's K and V per token on this GPU
  std::uint64_t swa_window = 0;       // tokens a sliding layer keeps of a request
  // Hybrid linear attention (HybridLinearKVPool + MambaPool): the state slots come off the rest first.
  bool hybrid_linear = false;
  std::uint64_t mamba_cache_per_req_bytes = 0; // every recurrent layer's conv + temporal state, this GPU
  std::uint64_t max_mamba_cache_size = 0;      // state slots
  std::uint64_t mamba_pool_bytes = 0;
  std::uint64_t mamba_spec_bytes = 0;          // speculative decoding's intermediate states
  bool mamba_size_given = false;
  // Speculative decoding.
  SglangSpeculative speculative = SglangSpeculative::none;
  std::string draft_model;             // "": the model's own MTP layers (or none: NGRAM)
  std::uint64_t speculative_num_steps = 0, speculative_eagle_topk = 0, speculative_num_draft_tokens = 0;
  std::uint64_t spec_headroom_tokens = 0; // draft_runner_cache_size - the profiled pool
  std::uint64_t draft_layers = 0;
  std::uint64_t draft_cell_bytes = 0;
  std::uint64_t draft_weights_bytes = 0;
  std::uint64_t draft_kv_pool_bytes = 0;
  // What SGLang allocates past its static share: the pool's headroom, the draft's weights and
  // pool; compared with what the static share leaves of the free memory.
  std::uint64_t beyond_static_bytes = 0;
  std::uint64_t outside_static_bytes = 0; // total_gpu_memory - static
};

// What SGLang does on `gpu` with tensor / pipeline parallel `p` for `context_len`: the static
// fraction, the KV pool in tokens and whether it starts. Does not throw for models it does not
// model (`error`), only on 64-bit overflow.
[[nodiscard]] SglangResult sglang_plan(const ModelSpec& spec, const WeightFormat& format, Dtype kv_dtype,
                                       std::uint64_t context_len, const GpuSpec& gpu, const Parallel& p,
                                       const SglangOptions& options);

// The tokens one request of `context` tokens takes of the full-layer pool and of the SWA pool
// (min(context, window); 0 without a hybrid pool), and its KV bytes on one GPU.
struct SglangRequest {
  std::uint64_t full_tokens = 0, swa_tokens = 0, bytes = 0;
};
[[nodiscard]] SglangRequest sglang_request(const SglangResult& r, std::uint64_t context);
// The requests of `batch` one GPU's pool holds: with DP attention each attention-DP rank has its
// own pool and requests, so ceil(batch / dp_size); else the batch.
[[nodiscard]] std::uint64_t sglang_rank_batch(const SglangResult& r, std::uint64_t batch);

// SGLang's account (--engine sglang): the figures of its start-up log.
struct SglangSection {
  static constexpr std::string_view engine = "sglang"; // its engine_table id
  SglangResult plan;
  SglangOptions options; // as planned (the LoRA options its renderers show)
};

// Its options (src/core/engine_sglang.cpp): flags, deployment keys, parsers.
[[nodiscard]] std::span<const EngineOptionSpec> sglang_option_specs();

// ---- its part of an estimate (src/core/engine_sglang.cpp) ----
namespace detail {
// SGLang's start-up on the first requested GPU type, `layout` its parallelism.
EngineSection sglang_section(const ModelSpec& model, const Settings& settings, const Parallel& layout);
// Its verdict as the fit row of that GPU: its static share, the KV pool beyond `batch` full requests.
void engine_decide(FitRow& row, const EngineSection& common, const SglangSection& section, std::uint64_t batch);
} // namespace detail

// ---- its renderers (src/report/engine_sglang.cpp), found by the section's type ----
namespace detail {
// The fit table's status of its GPU when it does not fit ("": "<engine>: does not fit" + needs).
std::string engine_status(const EngineSection& e, const SglangSection& section, const std::string& needs);
// Why it does not fit / what room is left, for the verdict line under the fit table.
std::string engine_shortfall(const EngineSection& e, const SglangSection& section, const FitRow& row, UnitSystem u);
std::string engine_room(const EngineSection& e, const SglangSection& section, const FitRow& row, UnitSystem u);
// A refusal that is not for want of memory (no GPU count would help).
bool engine_refuses(const SglangSection& section);
// Its section of the text report.
std::string engine_text(const EngineSection& e, const SglangSection& section, const RenderOptions& o, const Style& st);
// Its JSON object ("engine" of the estimate document; docs/json-output.md).
void engine_json(JsonObject& out, const EngineSection& e, const SglangSection& section);
// The texts it holds that came from files, to make safe for a terminal.
std::vector<std::string*> engine_file_texts(SglangSection& section);
// A deployment's verdict in its terms (vramcalc check); `usable_bytes` per GPU.
EngineVerdict engine_verdict(const Report& r, const SglangSection& section, std::uint64_t usable_bytes);
} // namespace detail

} // namespace vramcalc
