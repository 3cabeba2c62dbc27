// --plot: total memory against context length as an SVG.
#include "common.hpp"


#include "vramcalc/dtype.hpp"
#include "vramcalc/estimate.hpp"
#include "vramcalc/format.hpp"
#include "vramcalc/io/catalog.hpp"
#include "vramcalc/io/model_files.hpp"
#include "vramcalc/io/output_file.hpp"
#include "deployments.hpp"

#include <fmt/format.h>
#include "vramcalc/io/hf_config.hpp"
#include "vramcalc/io/model_json.hpp"
#include "vramcalc/names.hpp"
#include "vramcalc/placement.hpp"
#include "vramcalc/plan.hpp"
#include "vramcalc/io/price_json.hpp"
#include "vramcalc/render.hpp"
#include "vramcalc/tensors.hpp"
#include "vramcalc/text.hpp"
#include "vramcalc/units.hpp"

#include <set>
#include <array>
#include <algorithm>
#include <map>
#include <cstdlib>
#include <tuple>
#include <filesystem>
#include <fstream>


namespace vramcalc::app {

// --plot: total memory against context, a series per format / KV dtype / batch asked.
std::string plot_svg(const Workload& w, const io::Catalog& catalog, const Options& o) {
  const ModelSpec& model = w.resolved.spec;
  std::uint64_t x_max = std::max<std::uint64_t>(model.max_context, *std::max_element(w.ctxs.begin(), w.ctxs.end()));
  x_max = std::clamp<std::uint64_t>(x_max, 2048, std::uint64_t{1} << 26);
  std::vector<std::uint64_t> xs;
  for (std::uint64_t x = 1024; x < x_max; x *= 2) xs.push_back(x);
  xs.push_back(x_max);
  check_work(model, w.formats.size() * w.kvs.size() * w.batches.size() * xs.size(), "--plot: the lines ask for");
  PlotData p;
  p.title = model.name + ": memory against context length";
  const bool by_format = w.formats.size() > 1, by_kv = w.kvs.size() > 1, by_batch = w.batches.size() > 1;
  GpuSpec any;
  any.id = "plot";
  any.memory_bytes = std::uint64_t{1} << 50;
  const auto shared = PreparedModel::make(model);
  if (!shared) fail(ErrorCode::overflow, "--plot: " + model.id + ": " + shared.error().message);
  for (const WeightFormat& f : w.formats) {
    auto prepared = PreparedWeights::make(*shared, f);
    if (!prepared) fail(ErrorCode::overflow, "--plot: " + model.id + ": " + prepared.error().message);
    for (Dtype kv : w.kvs) {
      for (std::uint64_t batch : w.batches) {
        PlotSeries series;
        std::vector<std::string> parts;
        if (by_format || (!by_kv && !by_batch)) parts.push_back(f.id);
        if (by_kv) parts.push_back("KV " + std::string(dtype_display(kv)));
        if (by_batch) parts.push_back("batch " + std::to_string(batch));
        for (const std::string& part : parts) series.label += (series.label.empty() ? "" : ", ") + part;
        for (std::uint64_t x : xs) {
          Settings s = w.base;
          s.weights = f;
          s.kv_dtype = kv;
          s.batch = batch;
          s.context_tokens = x;
          s.engine = EngineKind::generic; // the model's own needs; engines answer per GPU
          s.gpus = {{any, 1}};
          auto r = estimate(s, catalog.gpus, *prepared);
          if (!r) fail(ErrorCode::overflow, "--plot: " + overflow_message(model, s, r.error()));
          series.points.emplace_back(x, r->memory.total_bytes);
        }
        p.series.push_back(std::move(series));
      }
    }
  }
  p.subtitle = fmt::format("weights {}, KV cache {}, batch {}, {} overhead; lines: total on one GPU; dashed: "
                           "n GPUs' usable memory less n - 1 overheads",
                           by_format ? std::string("as labelled") : w.formats.front().id,
                           by_kv ? std::string("as labelled") : std::string(dtype_display(w.kvs.front())),
                           by_batch ? std::string("as labelled") : std::to_string(w.batches.front()),
                           format_bytes(w.base.overhead_bytes, UnitSystem::binary));
  if (!w.base.gpus.empty()) {
    // Comparable with the lines, which count the overhead once: n GPUs' usable memory less
    // the overhead of the n - 1 others (tensors every GPU keeps a copy of are not taken off,
    // so it is a little above what n GPUs hold).
    for (const GpuRequest& g : w.base.gpus) {
      const std::uint32_t n = std::max<std::uint32_t>(1, g.count);
      const std::uint64_t all = checked_mul(usable_bytes(g.gpu), n);
      const std::uint64_t others = checked_mul(w.base.overhead_bytes, n - 1);
      p.capacities.emplace_back(fmt::format("{}{}", n > 1 ? std::to_string(n) + "\u00d7 " : "", g.gpu.name),
                                all > others ? all - others : 0);
    }
  } else {
    for (const char* id : {"rtx-4090", "l40s", "h100-sxm", "h200"}) {
      if (auto g = catalog.find_gpu(id)) p.capacities.emplace_back((*g)->name, usable_bytes(**g));
    }
  }
  return render_plot_svg(p, o.si ? UnitSystem::si : UnitSystem::binary);
}


} // namespace vramcalc::app
