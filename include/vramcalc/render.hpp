// Renderers: a Report (or a catalog listing) in, text out. Units appear only here.
#pragma once

#include "vramcalc/error.hpp"
#include "vramcalc/explain.hpp"
#include "vramcalc/gpu.hpp"
#include "vramcalc/model.hpp"
#include "vramcalc/plan.hpp"
#include "vramcalc/report.hpp"
#include "vramcalc/units.hpp" // with_commas

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>
#include <string_view>

namespace vramcalc {

enum class UnitSystem { binary, si }; // GiB (2^30) or GB (10^9)

struct RenderOptions {
  UnitSystem units = UnitSystem::binary;
  bool color = false;
  bool bars = false; // a stacked bar per requested GPU (on a terminal)
  // The terminal's columns (COLUMNS, at most 100): the estimate table wraps its prose and gives
  // up columns by priority to stay within it.
  std::size_t width = 100;
  bool all_gpus = false; // the fit table lists every catalog GPU, not a choice of them
};

// "131.42 GiB" / "141.11 GB"; always with the unit.
[[nodiscard]] std::string format_bytes(std::uint64_t bytes, UnitSystem units);
// The same at the scale that suits it: "320.00 KiB", "1.25 MiB", "40.00 GiB".
[[nodiscard]] std::string format_bytes_auto(std::uint64_t bytes, UnitSystem units);
// Text for XML attributes and content (JUnit, SVG): only characters XML 1.0 allows (control
// characters, bytes that are not UTF-8, U+FFFE and U+FFFF shown as \xNN; text.hpp), and
// & < > " ' as entities.
[[nodiscard]] std::string xml_escape(std::string_view s);
// One CSV field: control characters shown as \xNN, a field that would start a spreadsheet
// formula (= + - @, unless it is a number) prefixed with ', quoted when it holds , or ".
[[nodiscard]] std::string csv_field(std::string_view s);
// "70.55B", "1.24B", "560.0M"
[[nodiscard]] std::string format_params(std::uint64_t params);

[[nodiscard]] std::string render_table(const Report& report, const RenderOptions& options);

// The estimate JSON document (docs/json-output.md), one line, newline-terminated.
inline constexpr int json_schema_version = 1;
[[nodiscard]] std::string render_json(const Report& report);
[[nodiscard]] std::string render_error_json(const Error& error);
// Several errors (a deployment file checked whole): "error" is the first, "errors" all of them.
[[nodiscard]] std::string render_errors_json(std::span<const Error> errors);
// The errors of `vramcalc check` as its CI formats carry them: "github" (an ::error annotation
// on each error's file and line) or "junit" (a test case in error for each).
[[nodiscard]] std::string render_errors_for_ci(std::span<const Error> errors, std::string_view format);

// Which settings vary across the reports of a sweep (one column each).
struct SweepAxes {
  bool context = false, quant = false, kv = false, batch = false;
};

// A sweep: one row per combination. JSON: {"schema_version":1,"results":[<estimate>...]}.
[[nodiscard]] std::string render_sweep_table(std::span<const Report> reports, const SweepAxes& axes,
                                             const RenderOptions& options);
[[nodiscard]] std::string render_sweep_json(std::span<const Report> reports);

// What `plan` ranked by and which price table priced it (origin "" for none).
struct PlanPrices {
  PlanRank rank = PlanRank::gpus;
  std::string origin;   // "models/prices.json" or the --prices file
  std::string revision;
};

// `vramcalc plan`: the cheapest configurations; `vramcalc compare`: models side by side.
[[nodiscard]] std::string render_plan(std::span<const PlanOption> options, const Settings& settings,
                                      const ModelSpec& model, const RenderOptions& render,
                                      const PlanPrices& prices = {});
[[nodiscard]] std::string render_plan_json(std::span<const PlanOption> options, const Settings& settings,
                                           const ModelSpec& model, const PlanPrices& prices = {});
// `check` in each output format: table (verdict lines), json, ndjson (one deployment per
// line), csv, markdown, junit (JUnit XML), github (workflow annotations).
[[nodiscard]] std::string render_check(const CheckReport& report, std::string_view format, const RenderOptions& options);
// Estimates (one, or a sweep) as ndjson (one document per line), csv or markdown: a row per
// estimate and GPU configuration.
[[nodiscard]] std::string render_reports(std::span<const Report> reports, std::string_view format,
                                         const RenderOptions& options);
// A list document (list models / gpus / formats, plan, inspect) as ndjson, csv or markdown:
// one row per element of `array_key`, the columns its JSON field names.
[[nodiscard]] std::string render_tabular(const std::string& json_document, std::string_view array_key,
                                         std::string_view format);
// `--plot FILE.svg`: memory against context length, a line per series, a dashed line per
// GPU capacity. A self-contained SVG document.
struct PlotSeries {
  std::string label;                                              // "q4_k_m", "KV fp8"
  std::vector<std::pair<std::uint64_t, std::uint64_t>> points;    // (context tokens, total bytes)
};
struct PlotData {
  std::string title;
  std::string subtitle;
  std::vector<PlotSeries> series;
  std::vector<std::pair<std::string, std::uint64_t>> capacities;  // (label, usable bytes)
};
[[nodiscard]] std::string render_plot_svg(const PlotData& plot, UnitSystem units);

// `vramcalc explain`: the arithmetic step by step.
[[nodiscard]] std::string render_explain(const Explanation& explanation, const RenderOptions& options);

[[nodiscard]] std::string render_check_json(const CheckReport& report);
[[nodiscard]] std::string render_check_ndjson(const CheckReport& report);
[[nodiscard]] std::string render_inspect(const InspectReport& report, const RenderOptions& options);
[[nodiscard]] std::string render_inspect_json(const InspectReport& report);
[[nodiscard]] std::string render_compare(std::span<const Report> reports, const RenderOptions& options);

// `vramcalc list formats`: each format's bits per weight and weight memory for `model`.
struct FormatListEntry {
  std::string id;
  std::string description;
  std::uint64_t weights_bytes = 0;
  std::uint64_t file_bytes = 0;
  std::uint64_t params = 0;
};
[[nodiscard]] std::string render_format_list(std::span<const FormatListEntry> formats, const std::string& model_name,
                                             const RenderOptions& options);
[[nodiscard]] std::string render_format_list_json(std::span<const FormatListEntry> formats, const std::string& model_id);

struct ModelListEntry {
  const ModelSpec* model;
  std::uint64_t params_total;
  std::uint64_t params_active;
};
[[nodiscard]] std::string render_model_list(std::span<const ModelListEntry> models, const RenderOptions& options);
[[nodiscard]] std::string render_model_list_json(std::span<const ModelListEntry> models);
[[nodiscard]] std::string render_gpu_list(std::span<const GpuSpec> gpus, const RenderOptions& options);
[[nodiscard]] std::string render_gpu_list_json(std::span<const GpuSpec> gpus, const std::string& revision);

} // namespace vramcalc
