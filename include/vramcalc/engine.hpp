// Serving engines as they allocate: vLLM's KV budget and paged blocks, llama.cpp's padded
// caches and buffers. docs/engines.md has every formula with its source and how it was checked.
#pragma once

#include "vramcalc/dtype.hpp"
#include "vramcalc/format.hpp"
#include "vramcalc/gpu.hpp"
#include "vramcalc/model.hpp"
#include "vramcalc/placement.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vramcalc {

enum class EngineKind : std::uint8_t { generic, vllm, llamacpp };

struct VllmOptions {
  std::uint32_t version_major = 0, version_minor = 21; // behaviour of this vLLM release (V1 engine)
  std::optional<std::uint32_t> utilization_bp;         // --gpu-memory-utilization in basis points
  std::uint32_t block_size = 0;                        // 0: vLLM's choice (16; MLA backends 64 / 128)
  std::uint64_t max_num_seqs = 0;                      // 0: vLLM's default for the GPU
  std::uint64_t max_num_batched_tokens = 0;            // 0: vLLM's default for the GPU
  std::optional<std::uint64_t> kv_cache_memory_bytes;  // --kv-cache-memory: a given KV budget
  std::optional<std::uint64_t> non_torch_bytes;       // replaces the non-torch estimate
  bool enforce_eager = false;
  bool llm_class = false;                              // LLM(...) defaults instead of `vllm serve`
};

struct VllmResult {
  std::uint64_t gpu_memory_bytes = 0;
  std::uint32_t utilization_bp = 0;
  std::uint64_t requested_bytes = 0;    // floor(total x utilization)
  std::uint64_t weights_bytes = 0;      // per GPU, incl. the rotary cos/sin cache
  std::uint64_t activation_bytes = 0;   // profile-run peak: forward of max_num_batched_tokens + sampler
  std::uint64_t non_torch_bytes = 0;    // NCCL and library workspaces
  std::uint64_t cuda_graph_bytes = 0;   // counted in the budget from v0.21 unless --enforce-eager
  std::uint64_t kv_cache_memory_bytes = 0; // "Available KV cache memory"
  bool kv_memory_given = false;
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

} // namespace vramcalc
