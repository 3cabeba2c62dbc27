// vLLM (V1) as it allocates: the KV budget from the GPU's memory, paged blocks, concurrency.
// Its options, result, section and plan; engine.hpp (the registry) includes it.
// docs/engines.md, "vLLM", has every formula with its source.
#pragma once

#include "vramcalc/engine_fwd.hpp"

namespace vramcalc {

// vLLM's --kv-cache-dtype (auto, fp8/fp8_e4m3, fp8_e5m2; vllm/config/cache.py).
inline constexpr Dtype vllm_kv_dtypes[] = {Dtype::f32, Dtype::f16, Dtype::bf16, Dtype::f8_e4m3, Dtype::f8_e5m2};

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

// vLLM's account (--engine vllm): the figures of its start-up log.
struct VllmSection {
  static constexpr std::string_view engine = "vllm"; // its engine_table id
  VllmResult plan;
};

// Its options (src/core/engine_vllm.cpp): flags, deployment keys, parsers.
[[nodiscard]] std::span<const EngineOptionSpec> vllm_option_specs();

// ---- its part of an estimate (src/core/engine_vllm.cpp) ----
namespace detail {
// vLLM's start-up on the first requested GPU type, `layout` its parallelism.
EngineSection vllm_section(const ModelSpec& model, const Settings& settings, const Parallel& layout);
// Its verdict as the fit row of that GPU: its memory request, the KV memory beyond `batch` full requests.
void engine_decide(FitRow& row, const EngineSection& common, const VllmSection& section, std::uint64_t batch);
} // namespace detail

// ---- its renderers (src/report/engine_vllm.cpp), found by the section's type ----
namespace detail {
// The fit table's status of its GPU when it does not fit ("": "<engine>: does not fit" + needs).
std::string engine_status(const EngineSection& e, const VllmSection& section, const std::string& needs);
// Why it does not fit / what room is left, for the verdict line under the fit table.
std::string engine_shortfall(const EngineSection& e, const VllmSection& section, const FitRow& row, UnitSystem u);
std::string engine_room(const EngineSection& e, const VllmSection& section, const FitRow& row, UnitSystem u);
// A refusal that is not for want of memory (no GPU count would help).
bool engine_refuses(const VllmSection& section);
// Its section of the text report.
std::string engine_text(const EngineSection& e, const VllmSection& section, const RenderOptions& o, const Style& st);
// Its JSON object ("engine" of the estimate document; docs/json-output.md).
void engine_json(JsonObject& out, const EngineSection& e, const VllmSection& section);
// The texts it holds that came from files, to make safe for a terminal.
std::vector<std::string*> engine_file_texts(VllmSection& section);
// A deployment's verdict in its terms (vramcalc check); `usable_bytes` per GPU.
EngineVerdict engine_verdict(const Report& r, const VllmSection& section, std::uint64_t usable_bytes);
} // namespace detail

} // namespace vramcalc
