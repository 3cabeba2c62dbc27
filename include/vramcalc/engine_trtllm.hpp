// TensorRT-LLM (PyTorch backend, the LLM API and trtllm-serve) as it sizes its KV cache at
// start-up: a profiling run over max_num_tokens, then free_gpu_memory_fraction of what the
// device has left, in blocks of tokens_per_block. docs/engines.md, "TensorRT-LLM", has every
// rule with its source (tensorrt_llm/_torch/pyexecutor/_util.py KvCacheCreator,
// resource_manager.py KVCacheManager) and its error on public logs. Its options, result,
// section and plan; engine.hpp (the registry) includes it.
#pragma once

#include "vramcalc/engine_fwd.hpp"

namespace vramcalc {

// The releases whose start-up rules differ (docs/engines.md, "TensorRT-LLM", "Releases modelled"):
//   v1_1:   0.20 to 1.1 (checked on 0.20.0 and 1.1.0rc3 logs): the final pool is
//           ceil(max_tokens / tokens_per_block) blocks; the profiling estimate counts an NVFP4
//           KV cache as 2 bytes an element, so such a pool is left about 3.6 times too small.
//   newest: the 2026 sources (KVCacheManager.calculate_max_num_blocks floors; the estimate
//           counts NVFP4 as half a byte an element plus one FP8 scale per 16).
enum class TrtllmRelease : std::uint8_t { v1_1, newest };

// "1.1", "newest".
[[nodiscard]] std::string_view trtllm_release_name(TrtllmRelease release);

// The KV-cache dtypes TensorRT-LLM's KVCacheManager allocates (get_cache_bytes_per_token:
// FP8, HALF, BF16, FLOAT, NVFP4); kv_cache_config.dtype "auto" is the model dtype, or the
// checkpoint's FP8 / NVFP4 KV quantization. FP8 is e4m3.
inline constexpr Dtype trtllm_kv_dtypes[] = {Dtype::f32, Dtype::f16, Dtype::bf16, Dtype::f8_e4m3, Dtype::nvfp4};

// speculative_config (the newest sources only; docs/engines.md, "TensorRT-LLM", "Speculative
// decoding"): decoding_type MTP drafts with the checkpoint's own MTP layers; Eagle3 (Eagle) with
// an EAGLE-3 head, DraftTarget with a separate draft model, both one-model (the draft inside the
// target's engine: EAGLE3_ONE_MODEL, DRAFT_TARGET_ONE_MODEL), the head or model given as the
// DraftModel of trtllm_plan.
enum class TrtllmSpecKind : std::uint8_t { none, mtp, eagle3, draft_target };

// "MTP", "Eagle3", "DraftTarget" (speculative_config's decoding_type), or "" for none.
[[nodiscard]] std::string_view trtllm_spec_kind_name(TrtllmSpecKind kind);

// Why `draft` is not an EAGLE-3 head TensorRT-LLM's Eagle3 drafter can run for `target`
// (modeling_speculative.py Eagle3ForCausalLM: the head reads the target's hidden states and
// shares its embedding); empty when it is one.
[[nodiscard]] std::string trtllm_eagle3_shape_problem(const ModelSpec& target, const ModelSpec& draft);

// Why speculative decoding is refused under the 1.1 rules.
inline constexpr std::string_view trtllm_speculative_release_refusal =
    "TensorRT-LLM's speculative decoding (speculative_config) is modelled with --trtllm-version newest (check "
    "--trtllm-version newest for a trtllm-serve line; in a deployments file, engine_options version: newest): its draft KV "
    "layers (get_num_spec_layers), extra KV tokens per sequence (get_num_extra_kv_tokens, "
    "tensorrt_llm/_torch/speculative/utils.py) and draft weights changed between releases and were not read at the "
    "1.1 release";

struct TrtllmSpeculative {
  TrtllmSpecKind kind = TrtllmSpecKind::none;
  // max_draft_len (MTPDecodingConfig; num_nextn_predict_layers is its deprecated name); 0: not
  // given (update_spec_config_from_model_config: the checkpoint's MTP layers, 1 for MTP Eagle;
  // Eagle3 and DraftTarget require it: "max_draft_len must be > 0").
  std::uint32_t max_draft_len = 0;
};

struct TrtllmOptions {
  TrtllmRelease release = TrtllmRelease::v1_1;
  TrtllmSpeculative speculative;
  // kv_cache_config.free_gpu_memory_fraction in millionths (default 0.9; must be < 1). TensorRT-LLM
  // holds it as a float32 (its log prints 0.8999999761581421), and so does the plan.
  std::uint32_t free_gpu_memory_fraction_ppm = 900'000;
  std::optional<std::uint64_t> max_tokens; // kv_cache_config.max_tokens: a cap on the pool's tokens
  std::uint64_t max_batch_size = 2048;     // BuildConfig.max_batch_size
  std::uint64_t max_num_tokens = 8192;     // tokens of one forward pass: the profiling run's size
  std::uint64_t tokens_per_block = 32;     // kv_cache_config.tokens_per_block
  std::uint32_t max_beam_width = 1;
  // Chunked prefill: prompts longer than max_num_tokens are split over forward passes; off
  // (the default), a prompt must fit in one (longest_prompt_tokens). Start-up memory does not
  // depend on it.
  bool enable_chunked_prefill = false;
  // The overlap scheduler (on by default) reserves one more token per dummy request in the
  // profiling cache.
  bool disable_overlap_scheduler = false;
  // enable_attention_dp: each GPU keeps all KV heads (tp counts as 1 for the cache) and
  // the profiling requests are repeated tp times.
  bool attention_dp = false;
  // cuda_graph_config: on by default; `cuda_graphs` false is `cuda_graph_config: null`.
  bool cuda_graphs = true;
  std::vector<std::uint64_t> cuda_graph_batch_sizes; // given batch_sizes (empty: generated)
  std::uint64_t cuda_graph_max_batch_size = 0;        // 0: 128
  bool cuda_graph_padding = false;                    // enable_padding
  // Measured figures that replace the estimates (e.g. a log's own): the activation peak of the
  // profiling run inside torch, and the memory in use outside torch.
  std::optional<std::uint64_t> activation_bytes;
  std::optional<std::uint64_t> non_torch_bytes;
};

struct TrtllmResult {
  std::string error; // a model or option TensorRT-LLM runs differently than modelled (why); nothing else is set
  TrtllmRelease release = TrtllmRelease::v1_1;
  std::uint64_t device_total_bytes = 0; // cudaMemGetInfo's total ("device total memory")
  std::string device_total_source;
  std::uint32_t fraction_ppm = 0;       // as given (the plan applies its float32 value)
  std::uint64_t max_batch_size = 0;
  std::uint64_t max_num_tokens = 0;     // after the clamp to max_seq_len x max_batch_size
  std::uint64_t max_seq_len = 0;        // asked, or the model's context (before the pool's limit)
  std::uint64_t tokens_per_block = 0;
  std::uint64_t longest_prompt_tokens = 0; // max_num_tokens without chunked prefill, else max_seq_len
  std::vector<std::uint64_t> cuda_graph_batch_sizes; // captured ("Creating CUDA graph instances for N batch sizes")
  // The profiling run (KvCacheCreator): dummy context requests of max_num_tokens in all, a
  // small KV cache for them ("Allocated X GiB for max tokens in paged KV cache (N)", first time).
  std::uint64_t estimation_requests = 0;
  std::uint64_t estimation_tokens = 0;
  std::uint64_t estimation_kv_bytes = 0;  // "tmp kv_mem"
  std::uint64_t weights_bytes = 0;        // per GPU (the busiest pipeline stage)
  std::uint64_t activation_bytes = 0;     // "Memory dynamically allocated during inference (inside torch)"
  std::uint64_t moe_workspace_bytes = 0;  // part of the estimated activations: the CUTLASS MoE workspace (0: not counted)
  std::uint64_t non_torch_bytes = 0;      // "Memory used outside torch (e.g., NCCL and CUDA graphs)"
  std::uint64_t cuda_graph_bytes = 0;     // of which the CUDA graphs' pool (estimated; 0 without graphs)
  bool activation_given = false, non_torch_given = false;
  std::uint64_t peak_bytes = 0;           // "Peak memory during memory usage profiling (torch + non-torch)"
  // fraction x (device total - peak + tmp kv_mem): "available KV cache memory when calculating
  // max tokens", "Estimated max memory in KV cache"; 0 when the peak exceeds the device.
  std::uint64_t kv_budget_bytes = 0;
  std::uint64_t estimate_bytes_per_token = 0; // get_cache_size_per_token: "kv size is N"
  std::uint64_t bytes_per_token = 0;          // get_cache_bytes_per_token: what the pool allocates
  std::uint64_t max_tokens = 0;           // budget // kv size, capped by max_tokens ("Both ... are set (to f and N)")
  bool max_tokens_given = false;
  std::uint64_t free_cap_tokens = 0;      // fraction x free memory at allocation / bytes per token
  std::uint64_t blocks = 0;               // primary blocks
  std::uint64_t kv_tokens = 0;            // blocks x tokens_per_block ("... paged KV cache (N)")
  std::uint64_t kv_cache_bytes = 0;       // kv_tokens x bytes_per_token ("Allocated X GiB")
  std::uint64_t max_seq_len_final = 0;    // "Adjusted max_seq_len to N" when the pool holds less
  bool max_seq_len_reduced = false;
  bool starts = false; // the profiling run fits on the device and the pool holds one block
  // Speculative decoding (all 0 / empty without it). The draft's weights and KV layers are
  // part of weights_bytes, bytes_per_token and estimate_bytes_per_token.
  std::string spec_mode;                  // "MTP Eagle" (one MTP layer replayed), "MTP" (vanilla), "Eagle3", "DraftTarget"
  std::uint64_t spec_max_draft_len = 0;   // max_draft_len = max_total_draft_tokens
  std::uint64_t spec_layers = 0;          // get_num_spec_layers: KV layers the last stage's cell adds
  std::uint64_t spec_extra_kv_tokens = 0; // get_num_extra_kv_tokens: max_draft_len - 1
  std::uint64_t spec_weights_bytes = 0;   // the draft's weights on the busiest GPU (MTP layers, head, draft model)
  std::uint64_t spec_layer_bytes_per_token = 0; // of bytes_per_token: the spec layers' KV
  // Eagle3 and DraftTarget: the head or draft model as given; its KV layers are spec_layers.
  std::string spec_draft_model;
  // The draft's KV layers in their own KV cache manager (one-model drafting without attention
  // DP: should_use_separate_draft_kv_cache), sized by the same max_tokens as the target's pool.
  bool spec_separate_pool = false;
  std::uint64_t draft_kv_tokens = 0;       // the separate draft pool's tokens (its whole blocks)
  std::uint64_t draft_kv_cache_bytes = 0;  // its bytes, part of kv_cache_bytes
  // Eagle3: the hidden states the drafter reads, held in torch from start-up (part of the peak):
  // Eagle3ResourceManager's and Eagle3OneModelSpecMetadata's hidden_states buffers.
  std::uint64_t spec_buffer_bytes = 0;
};

// The KV tokens one request of `context_tokens` holds: the context, the draft tokens and the
// extra KV tokens of speculative decoding, in whole blocks.
[[nodiscard]] std::uint64_t trtllm_request_tokens(const TrtllmResult& r, std::uint64_t context_tokens);

// The CUDA-graph batch sizes TensorRT-LLM captures (CudaGraphConfig._generate_cuda_graph_batch_sizes,
// 1.1), those above max_batch_size left out; empty when CUDA graphs are off.
[[nodiscard]] std::vector<std::uint64_t> trtllm_cuda_graph_batch_sizes(const TrtllmOptions& options);

// KV bytes per token on one GPU as the pool allocates them (KVCacheManager.get_cache_bytes_per_token)
// and as the profiling estimate counts them (get_cache_size_per_token), for `layers` attention
// layers (this pipeline stage's). Throws only on overflow.
[[nodiscard]] std::uint64_t trtllm_bytes_per_token(const ModelSpec& spec, Dtype kv, std::uint64_t layers,
                                                   std::uint32_t tp, bool attention_dp);
[[nodiscard]] std::uint64_t trtllm_estimate_bytes_per_token(const ModelSpec& spec, Dtype kv, std::uint64_t layers,
                                                            std::uint32_t tp, bool attention_dp,
                                                            TrtllmRelease release);

// floor(bytes x the float32 nearest to ppm / 10^6): the fraction as TensorRT-LLM applies it.
[[nodiscard]] std::uint64_t trtllm_fraction_of(std::uint64_t bytes, std::uint32_t ppm);

// What TensorRT-LLM (PyTorch backend) does on `gpu` with tensor / pipeline parallel `p` for
// `max_seq_len` (0: the model's context): the profiled peak, the KV budget, the pool in blocks
// and tokens, the max_seq_len it then runs with and whether it starts. Does not throw for
// models or options it does not model (`error`), only on 64-bit overflow.
// `draft`: Eagle3's head or DraftTarget's draft model (required by those kinds, else unused).
[[nodiscard]] TrtllmResult trtllm_plan(const ModelSpec& spec, const WeightFormat& format, Dtype kv,
                                       std::uint64_t max_seq_len, const GpuSpec& gpu, const Parallel& p,
                                       const TrtllmOptions& options, const DraftModel* draft = nullptr);

// TensorRT-LLM's account (--engine trtllm): the figures of its start-up log.
struct TrtllmSection {
  static constexpr std::string_view engine = "trtllm"; // its engine_table id
  TrtllmResult plan;
  // Requests of the asked context it holds at once: whole blocks each, at most max_batch_size;
  // 0 when the context is over the max_seq_len it runs with.
  std::uint64_t holds_requests = 0;
};

// Its options (src/core/engine_trtllm.cpp): flags, deployment keys, parsers.
[[nodiscard]] std::span<const EngineOptionSpec> trtllm_option_specs();

// ---- its part of an estimate (src/core/engine_trtllm.cpp) ----
namespace detail {
// TensorRT-LLM's start-up on the first requested GPU type, `layout` its parallelism.
EngineSection trtllm_section(const ModelSpec& model, const Settings& settings, const Parallel& layout);
// Its verdict as the fit row of that GPU: weights, activations, memory outside torch and its
// KV pool; the headroom is the pool beyond `batch` full requests.
void engine_decide(FitRow& row, const EngineSection& common, const TrtllmSection& section, std::uint64_t batch);
} // namespace detail

// ---- its renderers (src/report/engine_trtllm.cpp), found by the section's type ----
namespace detail {
std::string engine_status(const EngineSection& e, const TrtllmSection& section, const std::string& needs);
std::string engine_shortfall(const EngineSection& e, const TrtllmSection& section, const FitRow& row, UnitSystem u);
std::string engine_room(const EngineSection& e, const TrtllmSection& section, const FitRow& row, UnitSystem u);
bool engine_refuses(const TrtllmSection& section);
std::string engine_text(const EngineSection& e, const TrtllmSection& section, const RenderOptions& o, const Style& st);
void engine_json(JsonObject& out, const EngineSection& e, const TrtllmSection& section);
std::vector<std::string*> engine_file_texts(TrtllmSection& section);
EngineVerdict engine_verdict(const Report& r, const TrtllmSection& section, std::uint64_t usable_bytes);
} // namespace detail

} // namespace vramcalc
