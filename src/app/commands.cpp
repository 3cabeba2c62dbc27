// The commands: estimate, plan, explain, compare, list.
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

Outcome run_estimate(const Options& o) {
  const io::Catalog catalog = load_catalog(o, std::vector<std::string>{o.model});
  Workload w = read_workload(o, catalog);
  const ModelSpec& model = w.resolved.spec;
  const bool sweep = w.formats.size() * w.kvs.size() * w.ctxs.size() * w.batches.size() > 1;
  if ((o.max_ctx || o.max_batch || o.fit_quant) && (w.base.gpus.empty() || sweep)) {
    fail(ErrorCode::invalid_argument, w.base.gpus.empty()
                                          ? "--max-ctx, --max-batch and --fit-quant need the GPU(s) to fit on: --gpu"
                                          : "--max-ctx, --max-batch and --fit-quant answer for one setting, not a sweep");
  }

  if (o.plot) write_file_atomically(*o.plot, plot_svg(w, catalog, o), "--plot");
  // The weights of each format are prepared once for all its contexts, KV dtypes and batches,
  // from what the formats share.
  const auto shared = PreparedModel::make(model);
  if (!shared) fail(ErrorCode::overflow, model.id + ": " + shared.error().message);
  std::vector<PreparedWeights> prepared;
  for (const WeightFormat& f : w.formats) {
    auto p = PreparedWeights::make(*shared, f);
    if (!p) fail(ErrorCode::overflow, model.id + ": " + p.error().message);
    prepared.push_back(std::move(*p));
  }
  std::vector<Report> reports;
  for (std::uint64_t ctx : w.ctxs) {
    for (std::size_t fi = 0; fi < w.formats.size(); ++fi) {
      for (Dtype kv : w.kvs) {
        for (std::uint64_t batch : w.batches) {
          Settings s = w.base;
          s.weights = w.formats[fi];
          s.kv_dtype = kv;
          s.context_tokens = ctx;
          s.batch = batch;
          reports.push_back(estimate_or_fail(w, s, catalog, &prepared[fi]));
        }
      }
    }
  }
  if (reports.size() == 1) {
    Report& r = reports.front();
    const Settings& s = w.base;
    if (o.max_ctx || o.max_batch || o.fit_quant) {
      check_work(model, (o.max_ctx ? search_estimates : 0) + (o.max_batch ? search_estimates : 0) +
                            (o.fit_quant ? listed_weight_formats().size() : 0),
                 "--max-ctx, --max-batch and --fit-quant ask for about");
      Limits l;
      const std::uint64_t align = engine_traits(s.engine).context_step_tokens;
      if (o.max_ctx) {
        l.asked_context = true;
        l.max_context_tokens = max_context(model, s, catalog.gpus, align);
      }
      if (o.max_batch) {
        l.asked_batch = true;
        l.max_batch = max_batch(model, s, catalog.gpus);
      }
      if (o.fit_quant) {
        l.asked_quant = true;
        const auto order = quality_order(model, s);
        if (auto f = best_format(model, s, catalog.gpus, order)) l.best_quant = f->id;
      }
      r.limits = l;
    }
    if (s.gpus.size() == 1 && !fits(model, s, catalog.gpus)) {
      if (within_work(model, suggestion_estimates, max_unasked_layer_estimates)) {
        const auto order = quality_order(model, s);
        r.suggestions = what_would_fit(model, s, catalog.gpus, order);
      } else {
        r.notes.push_back("No suggestions of what would fit: searching them takes about " +
                          with_commas(suggestion_estimates) + " estimates, too many for a " + with_commas(model.num_layers) +
                          "-layer model (docs/reliability.md, \"Bounded work\")");
      }
    }
    if (o.json) return {render_json(r), 0};
    if (o.format != "table") return {render_reports(std::span<const Report>(&r, 1), o.format, o.render), 0};
    return {render_table(r, o.render), 0};
  }
  SweepAxes axes;
  axes.context = w.ctxs.size() > 1;
  axes.quant = w.formats.size() > 1;
  axes.kv = w.kvs.size() > 1;
  axes.batch = w.batches.size() > 1;
  if (o.json) return {render_sweep_json(reports), 0};
  if (o.format != "table") return {render_reports(reports, o.format, o.render), 0};
  return {render_sweep_table(reports, axes, o.render), 0};
}

Outcome run_plan(const Options& o) {
  const io::Catalog catalog = load_catalog(o, std::vector<std::string>{o.model});
  Workload w = read_workload(o, catalog);
  if (w.ctxs.size() > 1 || w.kvs.size() > 1 || w.batches.size() > 1) {
    fail(ErrorCode::invalid_argument, "plan: give one --ctx, --kv and --batch (-q may list formats)");
  }
  if (!w.base.gpus.empty()) fail(ErrorCode::invalid_argument, "plan: searches the whole GPU catalog; drop --gpu");
  // A workload whose bytes overflow is an error, not "nothing holds it".
  for (const WeightFormat& f : w.formats) {
    Settings s = w.base;
    s.weights = f;
    (void)estimate_or_fail(w, s, catalog);
  }
  check_work(w.resolved.spec, w.formats.size(), "plan: the formats ask for");
  PlanPrices prices{o.rank == "mtok" ? PlanRank::per_token : o.rank == "gpus" ? PlanRank::gpus : PlanRank::per_hour,
                    w.prices->origin, w.prices->revision};
  const auto options = plan(w.resolved.spec, w.base, catalog.gpus, w.formats, prices.rank);
  if (o.json) return {render_plan_json(options, w.base, w.resolved.spec, prices), 0};
  if (o.format != "table") {
    return {render_tabular(render_plan_json(options, w.base, w.resolved.spec, prices), "plans", o.format), 0};
  }
  return {render_plan(options, w.base, w.resolved.spec, o.render, prices), 0};
}

Outcome run_explain(const Options& o) {
  if (o.json || o.format != "table") {
    fail(ErrorCode::invalid_argument, "explain: prints the arithmetic as text; for JSON run the estimate: vramcalc MODEL --json");
  }
  // The model's own arithmetic, and for the engines whose options add memory beyond weights and
  // KV (LoRA, offload tiers, vision encoders) those steps from the engine's plan.
  const EngineKind engine = engine_kind(o.engine.text);
  if (engine != EngineKind::generic && engine != EngineKind::vllm && engine != EngineKind::sglang &&
      engine != EngineKind::llamacpp) {
    fail(ErrorCode::invalid_argument, "explain: shows the model's own arithmetic, with the steps vLLM, SGLang and llama.cpp "
                                      "add (--engine vllm, sglang, llamacpp); what " + o.engine.text +
                                          " allocates is the engine section of 'vramcalc MODEL --engine " + o.engine.text + "'");
  }
  const io::Catalog catalog = load_catalog(o, std::vector<std::string>{o.model});
  Workload w = read_workload(o, catalog);
  if (w.formats.size() * w.kvs.size() * w.ctxs.size() * w.batches.size() > 1) {
    fail(ErrorCode::invalid_argument, "explain: give one -q, --kv, --ctx and --batch, not a list");
  }
  auto e = explain(w.resolved.spec, w.base, catalog.gpus);
  if (!e) fail(ErrorCode::overflow, overflow_message(w.resolved.spec, w.base, e.error()));
  if (w.images) {
    e->report.images = w.images;
    e->report.images->context_tokens = w.base.context_tokens;
  }
  return {render_explain(*e, o.render), 0};
}

Outcome run_compare(const Options& o) {
  if (o.compare_models.size() < 2) {
    fail(ErrorCode::invalid_argument, "compare: name two or more models, e.g. vramcalc compare llama3-70b qwen2.5-72b");
  }
  const io::Catalog catalog = load_catalog(o, o.compare_models);
  std::vector<Report> reports;
  for (const std::string& m : o.compare_models) {
    Options one = o;
    one.model = m;
    Workload w = read_workload(one, catalog);
    if (w.formats.size() * w.kvs.size() * w.ctxs.size() * w.batches.size() > 1) {
      fail(ErrorCode::invalid_argument, "compare: one setting for all models (no comma lists)");
    }
    reports.push_back(estimate_or_fail(w, w.base, catalog));
  }
  if (o.json) return {render_sweep_json(reports), 0};
  if (o.format != "table") return {render_reports(reports, o.format, o.render), 0};
  return {render_compare(reports, o.render), 0};
}

Outcome run_list(const Options& given) {
  Options o = given;
  // Singular and common synonyms: `list gpu`, `list model`, `list quants`.
  for (const auto& [alias, what] : {std::pair<std::string_view, std::string_view>{"gpu", "gpus"}, {"model", "models"},
                                    {"format", "formats"}, {"quant", "formats"}, {"quants", "formats"},
                                    {"quantizations", "formats"}, {"devices", "gpus"}}) {
    if (iequals(o.list_what, alias)) o.list_what = std::string(what);
  }
  if (o.list_what != "models" && o.list_what != "gpus" && o.list_what != "formats") {
    fail(ErrorCode::invalid_argument,
         o.list_what.empty() ? "list: say what to list: 'vramcalc list models', 'list gpus' or 'list formats'"
                             : "list: cannot list '" + o.list_what + "'; try 'vramcalc list models', 'list gpus' or 'list formats'");
  }
  const io::Catalog catalog = load_catalog(o);
  if (o.list_what == "formats") {
    // Sizes for a typical model: Llama 3 8B, or the model given after the word "formats".
    Options with_model = o;
    if (with_model.model.empty()) with_model.model = "llama3-8b";
    const ModelSpec model = resolve_model(with_model, catalog).spec;
    check_work(model, listed_weight_formats().size(), "list formats: sizing every format takes");
    std::vector<FormatListEntry> entries;
    try {
      const std::uint64_t params = count_params(model).total;
      for (std::string_view n : listed_weight_formats()) {
        const WeightFormat f = format_flag(std::string(n), model);
        entries.push_back({f.id, f.description, weight_bytes(model, f).total, file_bytes(model, f), params});
      }
    } catch (const OverflowError& e) {
      fail(ErrorCode::overflow, model.id + ": " + e.what());
    }
    if (o.json) return {render_format_list_json(entries, model.id), 0};
    if (o.format != "table") return {render_tabular(render_format_list_json(entries, model.id), "formats", o.format), 0};
    return {render_format_list(entries, model.name, o.render), 0};
  }
  if (o.list_what == "gpus") {
    if (o.json) return {render_gpu_list_json(catalog.gpus, catalog.gpu_revision), 0};
    if (o.format != "table") {
      return {render_tabular(render_gpu_list_json(catalog.gpus, catalog.gpu_revision), "gpus", o.format), 0};
    }
    return {render_gpu_list(catalog.gpus, o.render), 0};
  }
  std::vector<ModelListEntry> entries;
  for (const ModelSpec& m : catalog.models) {
    try {
      const ParamCounts p = count_params(m);
      entries.push_back({&m, p.total, p.active});
    } catch (const OverflowError& e) {
      fail(ErrorCode::overflow, m.origin + ": " + e.what());
    }
  }
  std::sort(entries.begin(), entries.end(), [](const ModelListEntry& a, const ModelListEntry& b) {
    return std::tie(a.model->family, a.params_total, a.model->id) < std::tie(b.model->family, b.params_total, b.model->id);
  });
  if (o.json) return {render_model_list_json(entries), 0};
  if (o.format != "table") return {render_tabular(render_model_list_json(entries), "models", o.format), 0};
  return {render_model_list(entries, o.render), 0};
}


} // namespace vramcalc::app

namespace vramcalc::app {

Outcome run(const Options& given) {
  Options o = given;
  if (o.format == "json") o.json = true;
  if (o.format == "junit" || o.format == "github") {
    if (!o.check) fail(ErrorCode::invalid_argument, "--format " + o.format + ": only for 'vramcalc check'");
  }
  if (o.check) return run_check(o);
  if (o.inspect) return run_inspect(o);
  if (o.explain) return run_explain(o);
  if (o.list) return run_list(o);
  if (o.plan) return run_plan(o);
  if (o.compare) return run_compare(o);
  return run_estimate(o);
}

} // namespace vramcalc::app
