// Inverse questions, answered by searching over the forward computation (estimate()), never
// by a second formula: the largest context, the most sequences, the best format that fits,
// and the cheapest GPUs for a workload.
#pragma once

#include "vramcalc/estimate.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vramcalc {

// Does the workload fit on the first GPU of `s.gpus` (with --engine vllm: does vLLM start and
// hold `batch` requests of the context)? Overflow counts as "does not fit".
[[nodiscard]] bool fits(const ModelSpec& model, const Settings& s, std::span<const GpuSpec> catalog);

// The largest context per sequence that fits, aligned down to `align` tokens (16 under vLLM,
// 256 under llama.cpp, 1 otherwise); nullopt if not even `align` tokens fit.
[[nodiscard]] std::optional<std::uint64_t> max_context(const ModelSpec& model, Settings s,
                                                       std::span<const GpuSpec> catalog, std::uint64_t align = 1);

// The most concurrent sequences at the settings' context; nullopt if not one fits.
[[nodiscard]] std::optional<std::uint64_t> max_batch(const ModelSpec& model, Settings s,
                                                     std::span<const GpuSpec> catalog);

// The first format of `candidates` (best quality first) that fits; nullopt if none does.
[[nodiscard]] std::optional<WeightFormat> best_format(const ModelSpec& model, Settings s,
                                                      std::span<const GpuSpec> catalog,
                                                      std::span<const WeightFormat> candidates);

// Alternatives when the first requested GPU configuration does not fit: the largest context,
// the best format, a smaller KV dtype, or more GPUs. One sentence each.
[[nodiscard]] std::vector<std::string> what_would_fit(const ModelSpec& model, const Settings& s,
                                                      std::span<const GpuSpec> catalog,
                                                      std::span<const WeightFormat> formats);

// One deployment option of `plan`.
struct PlanOption {
  std::string gpu;
  std::string gpu_name;
  std::string quant;
  std::uint32_t count = 0, tp = 1, pp = 1;
  std::uint64_t gpu_usable_bytes = 0;
  std::uint64_t required_bytes_per_gpu = 0;
  std::int64_t headroom_bytes = 0;
  std::optional<double> price_usd_per_hour; // for all the GPUs: the cheapest offer's, else the GPU catalog's
  std::optional<double> decode_tokens_per_s;
  std::optional<double> aggregate_decode_tokens_per_s;
  std::optional<Offer> cost;                // the cheapest listed offer (Settings::prices)
  std::vector<Offer> offers;                // each provider's cheapest offer, cheapest first
  std::optional<double> usd_per_million_output_tokens; // cost at the aggregate decode bound
};

// How plan() orders its options; every order ends with the GPU count, the total memory and
// the catalog's order, and options without the figure it ranks by come after those with it.
enum class PlanRank {
  gpus,      // fewest GPUs, then least total memory, then lowest $/hour
  per_hour,  // lowest $/hour
  per_token, // lowest $/million output tokens
};

// The configurations across the catalog (and the formats given) that hold the workload, in
// the order asked.
[[nodiscard]] std::vector<PlanOption> plan(const ModelSpec& model, const Settings& s,
                                           std::span<const GpuSpec> catalog, std::span<const WeightFormat> formats,
                                           PlanRank rank = PlanRank::gpus);

} // namespace vramcalc
