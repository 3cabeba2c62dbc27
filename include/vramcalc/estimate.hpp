// The forward pipeline: a model and settings in, a Report out.
//
// Every command (estimate, list, later check / plan / explain) builds on this one
// computation; inverse questions search over it rather than keep a second formula.
#pragma once

#include "vramcalc/dtype.hpp"
#include "vramcalc/engine.hpp"
#include "vramcalc/error.hpp"
#include "vramcalc/format.hpp"
#include "vramcalc/kv.hpp"
#include "vramcalc/gpu.hpp"
#include "vramcalc/model.hpp"
#include "vramcalc/placement.hpp"
#include "vramcalc/report.hpp"
#include "vramcalc/tensors.hpp"

#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vramcalc {

// Runtime overhead per GPU when the user gives none: CUDA context, allocator slack and
// activation workspace. docs/memory-model.md explains the figure.
inline constexpr std::uint64_t default_overhead_bytes = 1ull << 30; // 1 GiB

// The longest maximum context of the catalog's models (Llama 4 Scout's 10M; test_catalog
// checks it): the command line refuses contexts beyond 8x it (or 8x a longer model's own).
inline constexpr std::uint64_t longest_known_context_tokens = 10'485'760;

// The most GPUs of one type the fit check considers.
inline constexpr std::uint32_t max_gpu_count = 1024;

struct GpuRequest {
  GpuSpec gpu;
  std::uint32_t count = 0; // 0: find the smallest count that fits
};

struct Settings {
  WeightFormat weights;
  Dtype kv_dtype = Dtype::bf16;
  std::uint64_t context_tokens = 0;
  std::uint64_t batch = 1;
  std::uint64_t overhead_bytes = default_overhead_bytes;
  std::vector<GpuRequest> gpus; // empty: every GPU of the catalog, each at its smallest count
  std::optional<Parallel> parallel; // --tp / --pp; unset: chosen per GPU count
  KvPolicy kv_policy;
  EngineKind engine = EngineKind::generic;
  EngineOptions engine_options;     // each engine's own (engine.hpp)
  bool overhead_given = false;      // --overhead given: also the engines' non-torch memory
  // Speculative decoding's separate draft model (--draft, or vLLM's speculative_config
  // "model" with method draft_model), resolved by the application; null: none.
  std::shared_ptr<const DraftModel> draft;
  // --host-mem: the host's memory (system RAM); the engine's host need must fit in it. Unset:
  // the need is reported, not checked.
  std::optional<std::uint64_t> host_mem_bytes;
  // Instance prices for the fit rows' cost (empty: none). The rows must outlive the report,
  // which points into them.
  std::span<const PriceRow> prices;
};

// Computes the report. Fails only when an exact quantity does not fit in 64 bits.
[[nodiscard]] std::expected<Report, Error> estimate(const ModelSpec& model, const Settings& settings,
                                                            std::span<const GpuSpec> catalog);

// The engine's verdict as the fit row of the GPU it was planned for (estimate() does this for
// the first requested GPU): fits, the busiest GPU's needs and headroom in the engine's terms
// (vLLM: its share of the GPU, and the KV memory beyond `batch` full requests; llama.cpp: the
// device with the least room), decided_by the engine's name. min_count is left as it is.
// Throws OverflowError like the checked arithmetic.
void decide_by_engine(FitRow& row, const EngineSection& engine, std::uint64_t batch);

// What the weights of every format of one model share: the tensor list, the parameter
// counts, the layers that repeat. Sweeps over formats make it once per model (the one-model
// form of PreparedWeights::make makes its own). It refers to the model, which must outlive it.
class PreparedModel {
public:
  // Fails like estimate() when a count does not fit in 64 bits.
  [[nodiscard]] static std::expected<PreparedModel, Error> make(const ModelSpec& model);
  [[nodiscard]] const ModelSpec& model() const { return *model_; }
  [[nodiscard]] const ParamCounts& params() const { return params_; }

private:
  friend class PreparedWeights;
  explicit PreparedModel(const ModelSpec& model);
  [[nodiscard]] std::uint64_t gguf_infos_bytes() const;
  const ModelSpec* model_;
  std::vector<Tensor> tensors_; // model_tensors(model, true): MTP blocks last
  std::size_t n_held_ = 0;      // the prefix the weights hold: no MTP block
  std::size_t n_held_text_ = 0; // the same without the vision tower
  ParamCounts params_;
  LayerRepeats repeats_;                // layer_repeats over tensors_, without types
  std::uint64_t gguf_infos_bytes_ = 0;  // a GGUF's tensor infos, for the text prefix
};

// What an estimate computes from the model and the weight format alone: parameter counts,
// weight and file bytes, the weights each tensor-parallel GPU holds. Made once, it serves
// every estimate that varies only the context, KV dtype, batch, policy or GPUs: sweeps,
// plots and the --max-ctx / --max-batch searches (docs/performance.md). It refers to the
// model, which must outlive it; its weight tables fill in as estimates ask for them.
class PreparedWeights {
public:
  // Fails like estimate() when a quantity does not fit in 64 bits.
  [[nodiscard]] static std::expected<PreparedWeights, Error> make(const ModelSpec& model,
                                                                           const WeightFormat& format);
  [[nodiscard]] static std::expected<PreparedWeights, Error> make(const PreparedModel& model,
                                                                           const WeightFormat& format);
  [[nodiscard]] const ModelSpec& model() const { return *model_; }
  [[nodiscard]] const WeightFormat& format() const { return format_; }
  [[nodiscard]] const ParamCounts& params() const { return params_; }
  [[nodiscard]] const WeightBytes& weights() const { return weights_; }
  [[nodiscard]] std::uint64_t file_bytes() const { return file_bytes_; }
  [[nodiscard]] WeightTables& tables() const { return *tables_; }

private:
  PreparedWeights(PreparedModel model, const WeightFormat& format);
  const ModelSpec* model_;
  WeightFormat format_;
  ParamCounts params_;
  WeightBytes weights_;
  std::uint64_t file_bytes_ = 0;
  std::shared_ptr<WeightTables> tables_; // shared by copies; filled lazily
};

// The same report, with the weights prepared for `settings.weights` (which must be the
// format `prepared` was made for, of the same model).
[[nodiscard]] std::expected<Report, Error> estimate(const Settings& settings, std::span<const GpuSpec> catalog,
                                                            const PreparedWeights& prepared);

// One row of the fit check: what estimate() puts in a Report::fit row, without the
// strings, the speed bounds and the rest of the report.
struct GpuFit {
  enum class Problem : std::uint8_t {
    none,
    no_split, // a count was asked that no tensor / pipeline split suits
    layout,   // the layout breaks a rule (parallel_problem says which)
  };
  const GpuSpec* gpu = nullptr; // into the catalog, or into settings.gpus when GPUs are asked
  bool requested = false;       // asked in settings.gpus
  std::uint64_t usable_bytes = 0;
  std::uint32_t min_count = 0;  // smallest count that fits, 0 if none <= max_gpu_count
  std::uint32_t count = 0;      // GPUs in this row's configuration
  Parallel layout;              // its tensor / pipeline split (for no_split: tp = count)
  Problem problem = Problem::none;
  std::uint64_t required_bytes_per_gpu = 0; // the busiest GPU's needs, overhead included
  RankMemory busiest;                       // its parts, overhead not included
  std::uint64_t overhead_bytes = 0;
  bool fits = false;
};

// The fit check alone, for sweeps and searches that ask only "how many of which GPU": the
// rows of estimate()'s Report::fit, in the same order (settings.gpus as asked, or the whole
// catalog from the smallest deployment up), from the same computation. Fails like estimate().
[[nodiscard]] std::expected<std::vector<GpuFit>, Error> fit_check(const Settings& settings,
                                                                          std::span<const GpuSpec> catalog,
                                                                          const PreparedWeights& prepared);

// fit_check() for many estimates over one GPU list — sweeps, plots, searches: the GPUs'
// usable bytes and their order are worked out once, and the search's buffers are reused.
// It refers to the GPUs, which must outlive it.
class FitChecker {
public:
  explicit FitChecker(std::span<const GpuSpec> catalog);
  ~FitChecker();
  FitChecker(FitChecker&&) noexcept;
  FitChecker& operator=(FitChecker&&) noexcept;

  // fit_check(settings, catalog, prepared)'s rows, valid until the next check.
  [[nodiscard]] std::expected<std::span<const GpuFit>, Error> check(const Settings& settings,
                                                                           const PreparedWeights& prepared);

  struct State; // opaque: estimate.cpp's, which estimate() uses too

private:
  std::unique_ptr<State> state_;
};

// A lower bound on the GPUs of this kind needed: `model_bytes` split perfectly evenly, with
// `overhead_bytes` on each; 0 if even that needs more than max_gpu_count.
[[nodiscard]] std::uint32_t min_gpu_count_even(std::uint64_t model_bytes, std::uint64_t overhead_bytes,
                                               const GpuSpec& gpu);

} // namespace vramcalc
