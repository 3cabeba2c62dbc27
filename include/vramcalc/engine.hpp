// Serving engines as they allocate: vLLM's KV budget and paged blocks, llama.cpp's padded
// caches and buffers. docs/engines.md has every formula with its source and how it was checked.
#pragma once

#include "vramcalc/dtype.hpp"
#include "vramcalc/engine_option.hpp"
#include "vramcalc/format.hpp"
#include "vramcalc/gpu.hpp"
#include "vramcalc/model.hpp"
#include "vramcalc/placement.hpp"

#include <cstdint>
#include <expected>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc {

enum class EngineKind : std::uint8_t { generic, vllm, llamacpp, sglang };

// What the rest of the program asks of an engine by name: one row per engine, in EngineKind
// order. Its behaviour is its plan (engine_<id>.cpp), the alternative of EngineSection it
// fills (report.hpp) and the renderers of that alternative.
struct EngineTraits {
  EngineKind kind;
  std::string_view id;       // --engine value, JSON "name", FitRow::decided_by
  std::string_view display;  // in prose: "vLLM"
  std::string_view alias;    // another spelling --engine takes ("" for none)
  // Contexts it allocates in steps of: vLLM's 16-token KV blocks, llama.cpp's context
  // padded to 256 (docs/engines.md); searches for the longest context step by it.
  std::uint64_t context_step_tokens;
  // The KV-cache dtypes it takes (empty: any KV dtype): vLLM's --kv-cache-dtype (auto,
  // fp8/fp8_e4m3, fp8_e5m2; vllm/config/cache.py), llama.cpp's --cache-type-k/-v
  // (common/arg.cpp: f32 f16 bf16 q8_0 q4_0 q4_1 iq4_nl q5_0 q5_1).
  std::span<const Dtype> kv_dtypes;
  // Its bit in weight_format_table's loaded_by column (the weight formats it loads).
  std::uint8_t loaded_by;
  // Whether it runs tensor / pipeline parallel layouts (vLLM); llama.cpp splits layers its own way.
  bool parallel_layouts;
  std::string_view needs_gpu; // why it must be told the GPU ("" when it need not)
  std::string_view flags;     // its own flags, named when they are given without it
  // Its options (engine_<id>.cpp), each with its flag, deployment key, help and parser.
  std::span<const EngineOptionSpec> (*options)() = nullptr;
};

// Each engine's options, declared in its own file.
[[nodiscard]] std::span<const EngineOptionSpec> vllm_option_specs();
[[nodiscard]] std::span<const EngineOptionSpec> llamacpp_option_specs();
[[nodiscard]] std::span<const EngineOptionSpec> sglang_option_specs();

namespace detail {
inline constexpr Dtype vllm_kv_dtypes[] = {Dtype::f32, Dtype::f16, Dtype::bf16, Dtype::f8_e4m3, Dtype::f8_e5m2};
inline constexpr Dtype llamacpp_kv_dtypes[] = {Dtype::f32,  Dtype::f16,    Dtype::bf16, Dtype::q8_0, Dtype::q4_0,
                                               Dtype::q4_1, Dtype::iq4_nl, Dtype::q5_0, Dtype::q5_1};
// SGLang's --kv-cache-dtype: auto (the model dtype), fp8_e4m3, fp8_e5m2 (server_args.py).
inline constexpr Dtype sglang_kv_dtypes[] = {Dtype::f32, Dtype::f16, Dtype::bf16, Dtype::f8_e4m3, Dtype::f8_e5m2};
} // namespace detail

inline constexpr EngineTraits engine_table[] = {
    {EngineKind::generic, "generic", "vramcalc", "", 1, {}, loaded_by_no_engine, true, "", ""},
    {EngineKind::vllm, "vllm", "vLLM", "", 16, detail::vllm_kv_dtypes, loaded_by_vllm, true,
     "vLLM sizes its KV cache from the GPU's memory", "--gpu-memory-utilization, --block-size, --max-num-seqs, ...", vllm_option_specs},
    {EngineKind::llamacpp, "llamacpp", "llama.cpp", "llama.cpp", 256, detail::llamacpp_kv_dtypes, loaded_by_llamacpp, false,
     "llama.cpp places layers by each GPU's memory", "--cache-type-k, --flash-attn, --n-gpu-layers, ...", llamacpp_option_specs},
    // SGLang loads what vLLM loads (its quantization methods; not GGUF here); its KV pool is
    // per token (page size 1 by default).
    {EngineKind::sglang, "sglang", "SGLang", "", 1, detail::sglang_kv_dtypes, loaded_by_vllm, true,
     "SGLang sizes its static memory from the GPU's memory", "--mem-fraction-static, --chunked-prefill-size, --cuda-graph-max-bs, ...", sglang_option_specs},
};

constexpr bool engine_table_in_order() {
  for (std::size_t i = 0; i < std::size(engine_table); ++i) {
    if (static_cast<std::size_t>(engine_table[i].kind) != i || engine_table[i].id.empty()) return false;
  }
  return true;
}
static_assert(engine_table_in_order(), "engine_table: one row per EngineKind, in its order");

[[nodiscard]] constexpr const EngineTraits& engine_traits(EngineKind kind) {
  return engine_table[static_cast<std::size_t>(kind)];
}

// The options of an engine (none for generic).
[[nodiscard]] inline std::span<const EngineOptionSpec> engine_option_specs(EngineKind kind) {
  const auto options = engine_traits(kind).options;
  return options == nullptr ? std::span<const EngineOptionSpec>() : options();
}

// The engine an --engine value (or a deployment's `engine`) names, by id or alias, in any case.
[[nodiscard]] std::optional<EngineKind> find_engine(std::string_view name);

// "generic, vllm or llamacpp": the ids, for messages.
[[nodiscard]] std::string engine_ids();

// Whether the engine takes `kv` as its KV-cache dtype.
[[nodiscard]] bool engine_takes_kv(EngineKind engine, Dtype kv);

// Whether `engine` loads weights stored as `format`: vLLM its quantization methods (not
// GGUF, not ExLlamaV2), llama.cpp GGUF files (a plain f32 / f16 / bf16 format meaning the
// GGUF of that type). Searches and suggestions under an engine consider only these.
[[nodiscard]] bool engine_loads(EngineKind engine, const WeightFormat& format);

struct VllmOptions {
  std::uint32_t version_major = 0, version_minor = 21; // behaviour of this vLLM release (V1 engine)
  std::optional<std::uint32_t> utilization_ppm;        // --gpu-memory-utilization in millionths
  std::uint32_t block_size = 0;                        // 0: vLLM's choice (16; MLA backends 64 / 128)
  std::uint64_t max_num_seqs = 0;                      // 0: vLLM's default for the GPU
  std::uint64_t max_num_batched_tokens = 0;            // 0: vLLM's default for the GPU
  std::optional<std::uint64_t> kv_cache_memory_bytes;  // --kv-cache-memory: a given KV budget
  std::optional<std::uint64_t> non_torch_bytes;       // replaces the non-torch estimate
  bool enforce_eager = false;
  bool llm_class = false;                              // LLM(...) defaults instead of `vllm serve`
};

struct VllmResult {
  std::uint64_t gpu_memory_bytes = 0;   // the total CUDA reports (cuda_visible_bytes), not nvidia-smi's
  std::string gpu_memory_source;        // where that figure comes from
  std::uint32_t utilization_ppm = 0;
  std::uint64_t requested_bytes = 0;    // floor(total x utilization)
  std::uint64_t weights_bytes = 0;      // per GPU, incl. the rotary cos/sin cache
  std::uint64_t activation_bytes = 0;   // profile-run peak: forward of max_num_batched_tokens + sampler
  std::uint64_t non_torch_bytes = 0;    // NCCL and library workspaces
  std::uint64_t cuda_graph_bytes = 0;   // counted in the budget from v0.21 unless --enforce-eager
  std::uint64_t kv_cache_memory_bytes = 0; // "Available KV cache memory" (0 when the budget is negative)
  std::int64_t kv_budget_bytes = 0;     // requested - everything else: negative when nothing is left
  bool kv_memory_given = false;
  std::uint32_t stage = 0;              // the pipeline stage whose KV cache limits the blocks (pp > 1)
  std::uint64_t max_num_seqs = 0;
  std::uint64_t max_num_batched_tokens = 0;
  std::uint64_t block_size = 0;
  std::uint64_t page_bytes = 0;         // one block of one layer
  std::uint64_t num_groups = 0;         // KV cache groups (full / sliding / mamba)
  std::uint64_t group_size = 0;         // layers per group
  std::uint64_t num_gpu_blocks = 0;
  std::uint64_t kv_cache_tokens = 0;    // "GPU KV cache size: N tokens"
  double max_concurrency = 0;           // "Maximum concurrency for L tokens per request: X"
  std::uint64_t needed_bytes = 0;       // KV one max_model_len request needs
  bool starts = false;                  // vLLM refuses to start when needed > available
  std::uint64_t max_model_len_fit = 0;  // the largest max_model_len that would start (0: none)
};

// Whether vramcalc models this vLLM release (0.6-0.9 as V0, 0.10, 0.11, 0.21); other
// releases are computed with the rules of the nearest modelled one before them.
[[nodiscard]] bool vllm_release_modelled(std::uint32_t major, std::uint32_t minor);

// What vLLM (V1) does on `gpu` with tensor / pipeline parallel `p` for `max_model_len`:
// the KV budget, blocks, tokens and concurrency its start-up log reports.
[[nodiscard]] VllmResult vllm_plan(const ModelSpec& spec, const WeightFormat& format, Dtype kv_dtype,
                                   std::uint64_t max_model_len, const GpuSpec& gpu, const Parallel& p,
                                   const VllmOptions& options);

// Blocks, tokens and concurrency from a given KV memory per GPU (as vLLM's log states it):
// the page arithmetic alone, for checking against logs.
[[nodiscard]] VllmResult vllm_blocks(const ModelSpec& spec, Dtype kv_dtype, std::uint64_t max_model_len,
                                     std::uint64_t kv_cache_memory_bytes, const Parallel& p,
                                     const VllmOptions& options, const GpuSpec& gpu);

// ---- SGLang --------------------------------------------------------------------------

// SGLang 0.5 (server_args.py _handle_gpu_memory_settings as reworked by PR #10975;
// model_runner.py profile_max_num_token / init_memory_pool). docs/engines.md, "SGLang".
struct SglangOptions {
  std::optional<std::uint32_t> mem_fraction_static_ppm; // --mem-fraction-static in millionths
  std::optional<std::uint64_t> chunked_prefill_size;    // 0: disabled (-1 on SGLang's command line)
  std::uint64_t cuda_graph_max_bs = 0;                  // 0: SGLang's default for the GPU and tp
  std::uint64_t max_running_requests = 0;               // 0: SGLang's default from the pool
  std::uint64_t page_size = 1;                          // --page-size
  std::optional<std::uint64_t> init_bytes;              // memory in use before the weights (replaces the estimate)
};

struct SglangResult {
  std::string error;                  // a model vramcalc does not model under SGLang (why); nothing else is set
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
  std::int64_t rest_bytes = 0;        // static - weights: the KV pool's memory (negative: none)
  std::uint64_t cell_bytes = 0;       // KV bytes per token on one GPU (cell_size)
  std::uint64_t max_total_num_tokens = 0; // "max_total_num_tokens=" of its log
  std::uint64_t kv_pool_bytes = 0;    // max_total_num_tokens x cell
  std::uint64_t page_size = 1;
  std::uint64_t context_len = 0;
  std::uint64_t max_running_requests = 0;
  bool starts = false;                // SGLang raises "Not enough memory" when no token fits
};

// What SGLang does on `gpu` with tensor / pipeline parallel `p` for `context_len`: the static
// fraction, the KV pool in tokens and whether it starts. Does not throw for models it does not
// model (`error`), only on 64-bit overflow.
[[nodiscard]] SglangResult sglang_plan(const ModelSpec& spec, const WeightFormat& format, Dtype kv_dtype,
                                       std::uint64_t context_len, const GpuSpec& gpu, const Parallel& p,
                                       const SglangOptions& options);

// ---- llama.cpp ----------------------------------------------------------------------

enum class FlashAttn : std::uint8_t { automatic, on, off };

// llama.cpp releases whose allocations differ, by the merge date (YYYYMMDD) of the pull request
// that changed the rule (docs/engines.md, "Releases"). A build date before one of these gets the
// rule as it was before that PR.
namespace llamacpp_release {
inline constexpr std::uint32_t newest = 20260912;           // the oracle's build (node-llama-cpp 3.21.1)
inline constexpr std::uint32_t set_rows = 20250801;         // #14959: per-sequence KV streams possible (else unified)
inline constexpr std::uint32_t fa_auto = 20250830;          // #15434: -fa auto (on where supported) by default
inline constexpr std::uint32_t output_first = 20251217;     // #18148: -ngl counts the output layer first
inline constexpr std::uint32_t mla_k_only = 20260124;       // #19067: MLA caches K only (no V)
inline constexpr std::uint32_t qkv_as_attn_v = 20260305;    // #19770: the quantizer treats attn_qkv as attn_v
inline constexpr std::uint32_t server_outputs = 20260601;   // #23861: llama-server reserves n_parallel outputs
} // namespace llamacpp_release

struct LlamaCppOptions {
  std::optional<Dtype> type_k, type_v; // -ctk / -ctv (default f16)
  FlashAttn flash_attn = FlashAttn::automatic; // auto: on from #15434 (where the GPU supports it), off before
  std::uint32_t release = 0;           // build date YYYYMMDD of the llama.cpp modelled; 0: the newest
  bool server = true;                  // llama-server; false: the library (llama-cli, bindings, Ollama, LM Studio)
  std::uint32_t n_draft = 0;           // llama-server: draft tokens per sequence (speculative decoding)
  bool kv_unified = false;             // one cache shared by all slots (llama-server's default with -np auto)
  bool swa_full = false;               // full-size caches for sliding-window layers (llama-server: off)
  std::uint32_t n_batch = 2048, n_ubatch = 512;
  std::optional<std::uint32_t> n_gpu_layers; // -ngl (default: all, with the output layer)
  std::uint32_t n_cpu_moe = 0;         // --n-cpu-moe: experts of the first N layers stay on the CPU
  std::vector<std::uint32_t> tensor_split; // --tensor-split proportions (default: by usable memory)
  bool cuda = true;                    // GPU buffers (128-byte alignment, padded quantized rows); false: CPU
};

struct LlamaCppDevice {
  std::string name;
  std::uint64_t usable_bytes = 0;
  std::uint64_t model_bytes = 0;
  std::uint64_t kv_bytes = 0;      // KV cache and recurrent state of its layers
  std::uint64_t compute_bytes = 0; // compute buffer (an estimate, docs/engines.md)
  std::uint64_t output_bytes = 0;  // logits buffer (host only)
  std::uint64_t overhead_bytes = 0;
  std::uint32_t layers = 0;        // repeating layers it holds (+ the output layer)
  bool output = false;
  [[nodiscard]] std::uint64_t total() const;
  [[nodiscard]] bool fits() const { return total() <= usable_bytes; }
};

struct LlamaCppResult {
  std::string error;               // llama.cpp would refuse this configuration, or abort on it (why)
  bool aborts = false;             // the error is an assertion failure, not a clean refusal
  std::uint64_t n_ctx = 0;         // -c: context of all slots, padded to 256
  std::uint64_t cells = 0;         // KV cells per stream
  std::uint64_t n_stream = 1;
  std::uint64_t swa_cells = 0;     // cells of sliding-window layers
  std::uint64_t n_batch = 0, n_ubatch = 0;
  bool flash_attn = true;
  Dtype type_k = Dtype::f16, type_v = Dtype::f16;
  std::uint64_t kv_bytes = 0;      // all devices
  std::uint64_t state_bytes = 0;   // recurrent state (f32), all devices
  std::uint32_t gpu_layers = 0;    // offloaded, counting the output layer
  std::uint32_t release = 0;       // the build date modelled (YYYYMMDD)
  std::uint64_t n_outputs = 0;     // logits rows the compute buffer is reserved for
  std::vector<LlamaCppDevice> gpus;
  LlamaCppDevice host;             // weights, caches and buffers left in system RAM
  bool fits = false;
};

// A cache type llama.cpp takes (-ctk / -ctv), by ggml's name or vramcalc's; the error lists them.
[[nodiscard]] std::expected<Dtype, Error> llamacpp_cache_type(std::string_view text);

// A cache type as llama.cpp spells it (ggml's type names: f16, f32, q8_0, ...).
[[nodiscard]] std::string_view ggml_type_name(Dtype d);

// Every engine's options, as the settings hold them (one member per engine, generic aside).
struct EngineOptions {
  VllmOptions vllm;
  LlamaCppOptions llamacpp; // type_k / type_v unset: the settings' kv_dtype
  SglangOptions sglang;
};

// What llama.cpp (the build of `options.release`, default the newest modelled) allocates with
// `-c n_ctx -np n_seq` (n_ctx 0: the model's trained context) on `gpus` (none: CPU only).
// `format` must be a GGUF mix. Does not throw for llama.cpp's refusals (`error`), only on
// 64-bit overflow.
[[nodiscard]] LlamaCppResult llamacpp_plan(const ModelSpec& spec, const WeightFormat& format,
                                           std::uint64_t n_ctx, std::uint64_t n_seq,
                                           const std::vector<GpuSpec>& gpus, std::uint64_t overhead_bytes,
                                           const LlamaCppOptions& options);

} // namespace vramcalc
