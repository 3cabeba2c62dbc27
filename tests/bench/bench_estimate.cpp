// The estimate pipeline as the command line runs it: the embedded catalog's load, one
// typical estimate over the whole GPU catalog, `list models`, and a catalog-wide sweep.
#include "vramcalc/estimate.hpp"
#include "vramcalc/format.hpp"
#include "vramcalc/io/catalog.hpp"
#include "vramcalc/kv.hpp"
#include "vramcalc/placement.hpp"
#include "vramcalc/render.hpp"
#include "vramcalc/tensors.hpp"

#include <benchmark/benchmark.h>

#include <optional>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace {

using namespace vramcalc;

const io::Catalog& catalog() {
  static const io::Catalog c = [] {
    auto loaded = io::load_builtin_catalog();
    if (!loaded) throw std::runtime_error(loaded.error().message);
    return std::move(*loaded);
  }();
  return c;
}

// `vramcalc llama3-70b --ctx 128k --kv fp8`: native weights, fp8 KV, every GPU.
Settings typical_settings(const ModelSpec& model) {
  Settings s;
  s.weights = *parse_weight_format(model.weights_format.value_or(std::string(traits(model.dtype).name)), model.dtype);
  s.kv_dtype = Dtype::f8_e4m3;
  s.context_tokens = 128 * 1024;
  return s;
}

// The fixed cost of every invocation: parsing the embedded model specs and the GPUs.
void BM_LoadCatalog(benchmark::State& state) {
  for (auto _ : state) {
    auto c = io::load_builtin_catalog();
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_LoadCatalog)->Unit(benchmark::kMicrosecond);

// One estimate of llama3-70b at 128k over the whole GPU catalog, the catalog loaded once.
void BM_EstimateLlama70b128k(benchmark::State& state) {
  const ModelSpec& model = **catalog().find_model("llama3-70b");
  const Settings s = typical_settings(model);
  for (auto _ : state) {
    auto r = estimate(model, s, catalog().gpus);
    benchmark::DoNotOptimize(r);
  }
  state.counters["gpus"] = static_cast<double>(catalog().gpus.size());
}
BENCHMARK(BM_EstimateLlama70b128k)->Unit(benchmark::kMicrosecond);

// Everything the typical invocation does in the library: load the GPUs and the one model
// asked for (as the command line does), look it up, estimate, render.
void BM_TypicalInvocation(benchmark::State& state) {
  const std::vector<std::string> asked{"llama3-70b"};
  for (auto _ : state) {
    const io::Catalog c = *io::load_builtin_catalog_for(asked);
    const ModelSpec& model = **c.find_model("llama3-70b");
    const auto r = estimate(model, typical_settings(model), c.gpus);
    std::string out = render_table(*r, {});
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_TypicalInvocation)->Unit(benchmark::kMicrosecond);

// `vramcalc list models` in the library: load the catalog, count every model's parameters,
// sort by family and size, render the table (what run_list does).
void BM_ListModels(benchmark::State& state) {
  for (auto _ : state) {
    const io::Catalog c = *io::load_builtin_catalog();
    std::vector<ModelListEntry> entries;
    for (const ModelSpec& m : c.models) {
      const ParamCounts p = count_params(m);
      entries.push_back({&m, p.total, p.active});
    }
    std::sort(entries.begin(), entries.end(), [](const ModelListEntry& a, const ModelListEntry& b) {
      return std::tie(a.model->family, a.params_total, a.model->id) < std::tie(b.model->family, b.params_total, b.model->id);
    });
    std::string out = render_model_list(entries, {});
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_ListModels)->Unit(benchmark::kMicrosecond);

// `vramcalc list models` without the load: a parameter count per catalog model.
void BM_ListModelsCountParams(benchmark::State& state) {
  for (auto _ : state) {
    std::uint64_t total = 0;
    for (const ModelSpec& m : catalog().models) total += count_params(m).total;
    benchmark::DoNotOptimize(total);
  }
  state.counters["models"] = static_cast<double>(catalog().models.size());
}
BENCHMARK(BM_ListModelsCountParams)->Unit(benchmark::kMicrosecond);

// Every model x every listed format x 8 contexts, each over the whole GPU catalog: the KV
// cache at the model's dtype (the default, `--kv auto`). "refused" counts estimates that
// failed (an overflow); every one of them is still computed. With `prepared`, what a
// model's formats share is prepared once (PreparedModel) and the weights of each (model,
// format) once (PreparedWeights) for its 8 contexts, as the command line's sweeps, --plot
// and --max-ctx run; the reports are the same. With
// `fit_only`, prepared too, a FitChecker over the catalog instead of estimate(): the fit
// rows alone (fit_check()'s).
enum class Sweep { independent, prepared, fit_only };

void catalog_sweep(benchmark::State& state, Sweep how) {
  const bool prepared = how != Sweep::independent;
  constexpr std::uint64_t contexts[] = {2048, 4096, 8192, 16384, 32768, 65536, 131072, 1048576};
  std::uint64_t estimates = 0, refused = 0, rows = 0;
  for (auto _ : state) {
    estimates = refused = rows = 0;
    FitChecker checker(catalog().gpus);
    for (const ModelSpec& m : catalog().models) {
      std::optional<PreparedModel> shared;
      if (prepared) {
        if (auto p = PreparedModel::make(m)) shared = std::move(*p);
      }
      for (std::string_view name : listed_weight_formats()) {
        Settings s;
        auto format = parse_weight_format(name, m.dtype);
        if (!format) {
          state.SkipWithError(("format " + std::string(name) + ": " + format.error().message).c_str());
          return;
        }
        s.weights = std::move(*format);
        s.kv_dtype = traits(m.dtype).kv_allowed ? m.dtype : Dtype::bf16;
        std::optional<PreparedWeights> weights;
        if (prepared) {
          if (shared) {
            if (auto p = PreparedWeights::make(*shared, s.weights)) weights = std::move(*p);
          }
        }
        for (const std::uint64_t ctx : contexts) {
          s.context_tokens = ctx;
          ++estimates;
          if (prepared && !weights) {
            ++refused;
            continue;
          }
          if (how == Sweep::fit_only) {
            auto r = checker.check(s, *weights);
            if (!r) ++refused;
            else rows += r->size();
            benchmark::DoNotOptimize(r);
            continue;
          }
          auto r = weights ? estimate(s, catalog().gpus, *weights) : estimate(m, s, catalog().gpus);
          if (!r) ++refused;
          else rows += r->fit.size();
          benchmark::DoNotOptimize(r);
        }
      }
    }
  }
  state.counters["estimates"] = static_cast<double>(estimates);
  state.counters["refused"] = static_cast<double>(refused);
  state.counters["gpu_rows"] = static_cast<double>(rows);
}

void BM_CatalogSweep(benchmark::State& state) { catalog_sweep(state, Sweep::independent); }
BENCHMARK(BM_CatalogSweep)->Unit(benchmark::kMillisecond);

void BM_CatalogSweepPrepared(benchmark::State& state) { catalog_sweep(state, Sweep::prepared); }
BENCHMARK(BM_CatalogSweepPrepared)->Unit(benchmark::kMillisecond);

// The same sweep through fit_check(): each GPU's smallest count, layout and bytes per GPU
// (Report::fit's numbers) without building the reports.
void BM_CatalogSweepFit(benchmark::State& state) { catalog_sweep(state, Sweep::fit_only); }
BENCHMARK(BM_CatalogSweepFit)->Unit(benchmark::kMillisecond);

// Where one estimate's time goes (llama3-70b, bf16, 128k): the parts estimate() computes,
// each on its own. RankCosts is what the fit check builds: one table per tensor-parallel
// width it tries (llama3-70b over the catalog: 1, 2, 4 and 8).
enum class Part { model_tensors, count_params, weight_bytes, file_bytes, kv_cache, rank_tables };

void BM_EstimatePart(benchmark::State& state) {
  const ModelSpec& model = **catalog().find_model("llama3-70b");
  const Settings s = typical_settings(model);
  const auto part = static_cast<Part>(state.range(0));
  for (auto _ : state) {
    switch (part) {
    case Part::model_tensors: benchmark::DoNotOptimize(model_tensors(model)); break;
    case Part::count_params: benchmark::DoNotOptimize(count_params(model)); break;
    case Part::weight_bytes: benchmark::DoNotOptimize(weight_bytes(model, s.weights)); break;
    case Part::file_bytes: benchmark::DoNotOptimize(file_bytes(model, s.weights)); break;
    case Part::kv_cache: benchmark::DoNotOptimize(kv_cache(model, s.kv_dtype, s.context_tokens, s.batch)); break;
    case Part::rank_tables: {
      RankCosts costs(model, s.weights, s.kv_dtype, s.context_tokens, s.batch);
      for (const std::uint32_t tp : {1u, 2u, 4u, 8u}) benchmark::DoNotOptimize(costs.busiest({tp, 1, false}));
      break;
    }
    }
  }
}
BENCHMARK(BM_EstimatePart)
    ->ArgName("part")
    ->DenseRange(0, 5)
    ->Unit(benchmark::kMicrosecond);

} // namespace
