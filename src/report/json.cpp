// The JSON documents vramcalc prints. Field names are a contract (docs/json-output.md):
// add fields, never rename or retype them.
#include "vramcalc/render.hpp"
#include "vramcalc/text.hpp"
#include "vramcalc/tensors.hpp"
#include "engine_render.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace vramcalc {

using ojson = nlohmann::ordered_json;

ojson detail::parallel_engine_json(const EngineSection& e) {
  return ojson{{"name", e.name()}, {"version", e.version}, {"gpu", e.gpu}, {"tp", e.tp},
               {"pp", e.pp},       {"context_tokens", e.context_tokens}, {"batch", e.batch}};
}

namespace {

ojson to_json(const ModelSummary& m) {
  return ojson{{"id", m.id},
               {"name", m.name},
               {"family", m.family},
               {"params_total", m.params_total},
               {"params_active", m.params_active},
               {"params_vision", m.params_vision},
               {"params_mtp", m.params_mtp},
               {"moe", m.moe},
               {"num_layers", m.num_layers},
               {"hidden_size", m.hidden_size},
               {"num_heads", m.num_heads},
               {"num_kv_heads", m.num_kv_heads},
               {"head_dim", m.head_dim},
               {"v_head_dim", m.v_head_dim},
               {"attention", m.attention},
               {"dtype", m.dtype},
               {"max_context_tokens", m.max_context}};
}

ojson to_json(const SettingsSummary& s) {
  const auto or_null = [](const std::string& v) { return v.empty() ? ojson(nullptr) : ojson(v); };
  return ojson{{"quant", s.quant},
               {"kv_dtype", s.kv_dtype},
               {"context_tokens", s.context_tokens},
               {"batch", s.batch},
               {"overhead_bytes", s.overhead_bytes},
               {"quant_source", or_null(s.quant_source)},
               {"context_source", or_null(s.context_source)},
               {"checkpoint", or_null(s.checkpoint)}};
}

ojson to_json(const MemorySummary& m) {
  ojson groups = ojson::array();
  for (const WeightGroup& g : m.weights_by_group) {
    groups.push_back(ojson{{"group", g.group}, {"format", g.dtypes}, {"params", g.params}, {"bytes", g.bytes}});
  }
  ojson kv_groups = ojson::array();
  for (const KvGroup& g : m.kv_groups) {
    kv_groups.push_back(ojson{{"kind", g.kind},
                              {"layers", g.layers},
                              {"window_tokens", g.window_tokens == 0 ? ojson(nullptr) : ojson(g.window_tokens)},
                              {"bytes_per_token", g.bytes_per_token},
                              {"tokens_held", g.tokens_held},
                              {"bytes", g.bytes}});
  }
  ojson j{{"weights_bytes", m.weights_bytes},
          {"file_bytes", m.file_bytes},
          {"kv_cache_bytes", m.kv_cache_bytes},
          {"kv_bytes_per_token", m.kv_bytes_per_token},
          {"state_bytes", m.state_bytes},
          {"overhead_bytes", m.overhead_bytes},
          {"total_bytes", m.total_bytes},
          {"weights_by_group", std::move(groups)},
          {"kv_groups", std::move(kv_groups)}};
  j["kv_naive_bytes"] = m.kv_naive_bytes ? ojson(*m.kv_naive_bytes) : ojson(nullptr);
  j["kv_policy"] = m.kv_policy.empty() ? ojson(nullptr) : ojson(m.kv_policy);
  if (m.draft) {
    // Only with --draft, so documents without one stay as they were.
    j["draft"] = ojson{{"model", m.draft->model},
                       {"quant", m.draft->quant},
                       {"weights_bytes", m.draft->weights_bytes},
                       {"kv_cache_bytes", m.draft->kv_cache_bytes}};
  }
  return j;
}

ojson opt(const std::optional<double>& v) { return v ? ojson(*v) : ojson(nullptr); }

// An offer from the price table: exact micro-dollars, and dollars for reading.
ojson offer_json(const Offer& o) {
  return ojson{{"provider", o.row.provider},
               {"instance", o.row.instance},
               {"gpus_per_instance", o.row.gpus},
               {"instances", o.instances},
               {"usd_micros_per_hour", o.usd_micros_per_hour},
               {"usd_per_hour", static_cast<double>(o.usd_micros_per_hour) / 1e6},
               {"date", o.row.date},
               {"source", o.row.source},
               {"note", o.row.note.empty() ? ojson(nullptr) : ojson(o.row.note)}};
}

ojson cost_json(const std::optional<Offer>& o, const std::optional<double>& per_mtok) {
  if (!o) return nullptr;
  ojson j = offer_json(*o);
  j["usd_per_million_output_tokens"] = per_mtok ? ojson(*per_mtok) : ojson(nullptr);
  return j;
}

ojson to_json(const FitRow& f) {
  ojson speed{{"decode_tokens_per_s", opt(f.decode_tokens_per_s)},
              {"aggregate_decode_tokens_per_s", opt(f.aggregate_decode_tokens_per_s)},
              {"prefill_seconds", opt(f.prefill_seconds)}};
  return ojson{{"gpu", f.gpu},
               {"gpu_name", f.gpu_name},
               {"count", f.count},
               {"tp", f.tp},
               {"pp", f.pp},
               {"fits", f.fits},
               {"usable_bytes", f.usable_bytes},
               {"required_bytes_per_gpu", f.required_bytes_per_gpu},
               {"headroom_bytes", f.headroom_bytes},
               {"min_count", f.min_count == 0 ? ojson(nullptr) : ojson(f.min_count)},
               {"requested", f.requested},
               {"problem", f.problem.empty() ? ojson(nullptr) : ojson(f.problem)},
               {"decided_by", f.decided_by},
               {"speed", std::move(speed)},
               {"cost", cost_json(f.cost, f.usd_per_million_output_tokens)}};
}

std::string dump(const ojson& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"; }

ojson to_json(const EngineSection& e) {
  // Each engine's object, by its section's type (engine_<id>.hpp).
  detail::JsonObject out;
  std::visit([&](const auto& alternative) { detail::engine_json(out, e, alternative); }, e.detail);
  // The host memory beside the GPUs', every engine alike (docs/json-output.md).
  out.value["host_bytes"] = e.host_bytes;
  out.value["host_mem_bytes"] = e.host_mem_bytes ? ojson(*e.host_mem_bytes) : ojson(nullptr);
  out.value["host_fits"] = e.host_fits;
  return std::move(out.value);
}

// The one estimate document; a sweep prints a list of them.
ojson to_json(const Report& r) {
  ojson fit = ojson::array();
  for (const FitRow& f : r.fit) fit.push_back(to_json(f));
  ojson j{{"schema_version", json_schema_version},
          {"model", to_json(r.model)},
          {"settings", to_json(r.settings)},
          {"memory", to_json(r.memory)},
          {"fit", std::move(fit)}};
  if (r.engine) j["engine"] = to_json(*r.engine);
  if (r.limits) {
    ojson l = ojson::object();
    if (r.limits->asked_context) {
      l["max_context_tokens"] = r.limits->max_context_tokens ? ojson(*r.limits->max_context_tokens) : ojson(nullptr);
    }
    if (r.limits->asked_batch) l["max_batch"] = r.limits->max_batch ? ojson(*r.limits->max_batch) : ojson(nullptr);
    if (r.limits->asked_quant) l["best_quant"] = r.limits->best_quant ? ojson(*r.limits->best_quant) : ojson(nullptr);
    j["limits"] = std::move(l);
  }
  if (r.images) {
    // Only with --images, so documents without one stay as they were.
    const ImageTokens& m = r.images->image;
    const auto size = [](std::uint64_t v) { return v == 0 ? ojson(nullptr) : ojson(v); };
    j["images"] = ojson{{"per_request", r.images->per_request},
                        {"tokens_per_image", m.tokens},
                        {"tokens_per_request", r.images->tokens_per_request},
                        {"context_tokens", r.images->context_tokens},
                        {"size_given", r.images->size_given},
                        {"width", size(m.width)},
                        {"height", size(m.height)},
                        {"resized_width", size(m.resized_width)},
                        {"resized_height", size(m.resized_height)}};
  }
  j["suggestions"] = r.suggestions;
  j["notes"] = r.notes;
  return j;
}

} // namespace

std::string render_json(const Report& r) { return dump(to_json(r)); }

std::string render_sweep_json(std::span<const Report> reports) {
  ojson results = ojson::array();
  for (const Report& r : reports) results.push_back(to_json(r));
  return dump(ojson{{"schema_version", json_schema_version}, {"results", std::move(results)}});
}

std::string render_plan_json(std::span<const PlanOption> options, const Settings& s, const ModelSpec& model,
                             const PlanPrices& prices) {
  ojson arr = ojson::array();
  for (const PlanOption& p : options) {
    ojson offers = ojson::array();
    for (const Offer& o : p.offers) offers.push_back(offer_json(o));
    arr.push_back(ojson{{"gpu", p.gpu},
                        {"gpu_name", p.gpu_name},
                        {"count", p.count},
                        {"tp", p.tp},
                        {"pp", p.pp},
                        {"quant", p.quant},
                        {"usable_bytes", p.gpu_usable_bytes},
                        {"required_bytes_per_gpu", p.required_bytes_per_gpu},
                        {"headroom_bytes", p.headroom_bytes},
                        {"decode_tokens_per_s", opt(p.decode_tokens_per_s)},
                        {"price_usd_per_hour", opt(p.price_usd_per_hour)},
                        {"aggregate_decode_tokens_per_s", opt(p.aggregate_decode_tokens_per_s)},
                        {"usd_per_million_output_tokens", opt(p.usd_per_million_output_tokens)},
                        {"cost", cost_json(p.cost, p.usd_per_million_output_tokens)},
                        {"offers", std::move(offers)}});
  }
  const char* rank = prices.rank == PlanRank::per_hour ? "per_hour" : prices.rank == PlanRank::per_token ? "per_token" : "gpus";
  return dump(ojson{{"schema_version", json_schema_version},
                    {"model", model.id},
                    {"context_tokens", s.context_tokens},
                    {"batch", s.batch},
                    {"kv_dtype", std::string(traits(s.kv_dtype).name)},
                    {"rank", rank},
                    {"prices", prices.origin.empty() ? ojson(nullptr)
                                                     : ojson{{"origin", prices.origin}, {"revision", prices.revision}}},
                    {"plans", std::move(arr)}});
}

std::string render_format_list_json(std::span<const FormatListEntry> formats, const std::string& model_id) {
  ojson arr = ojson::array();
  for (const FormatListEntry& f : formats) {
    const double bpw = f.params == 0 ? 0 : static_cast<double>(f.weights_bytes) * 8 / static_cast<double>(f.params);
    arr.push_back(ojson{{"id", f.id},
                        {"description", f.description},
                        {"bits_per_weight", bpw},
                        {"weights_bytes", f.weights_bytes},
                        {"file_bytes", f.file_bytes}});
  }
  return dump(ojson{{"schema_version", json_schema_version}, {"model", model_id}, {"formats", std::move(arr)}});
}

namespace {

ojson error_object(const Error& e) {
  ojson o{{"code", std::string(error_code_name(e.code))}, {"message", e.message}};
  if (!e.file.empty()) o["file"] = e.file;
  if (e.line != 0) o["line"] = e.line;
  if (e.column != 0) o["column"] = e.column;
  return o;
}

} // namespace

std::string render_error_json(const Error& e) { return render_errors_json(std::span<const Error>(&e, 1)); }

std::string render_errors_json(std::span<const Error> errors) {
  ojson all = ojson::array();
  for (const Error& e : errors) all.push_back(error_object(e));
  return dump(ojson{{"schema_version", json_schema_version},
                    {"error", errors.empty() ? ojson(nullptr) : error_object(errors.front())},
                    {"errors", std::move(all)}});
}

std::string render_model_list_json(std::span<const ModelListEntry> models) {
  ojson arr = ojson::array();
  for (const ModelListEntry& e : models) {
    const ModelSpec& m = *e.model;
    // Every other name the model answers to: aliases, then its known checkpoints.
    std::vector<std::string> names = m.aliases;
    for (const Checkpoint& c : m.checkpoints) names.push_back(c.repo);
    arr.push_back(ojson{{"id", m.id},
                        {"name", m.name},
                        {"family", m.family},
                        {"aliases", names},
                        {"params_total", e.params_total},
                        {"params_active", e.params_active},
                        {"moe", m.moe.has_value()},
                        {"num_layers", m.num_layers},
                        {"max_context_tokens", m.max_context},
                        {"attention", attention_summary(m)},
                        {"dtype", std::string(traits(m.dtype).name)},
                        {"source", m.source}});
  }
  return dump(ojson{{"schema_version", json_schema_version}, {"models", std::move(arr)}});
}

std::string render_gpu_list_json(std::span<const GpuSpec> gpus, const std::string& revision) {
  ojson arr = ojson::array();
  for (const GpuSpec& g : gpus) {
    auto opt = [](const std::optional<double>& v) { return v ? ojson(*v) : ojson(nullptr); };
    arr.push_back(ojson{{"id", g.id},
                        {"name", g.name},
                        {"vendor", g.vendor},
                        {"aliases", g.aliases},
                        {"memory_bytes", g.memory_bytes},
                        {"usable_bytes", usable_bytes(g)},
                        {"memory_basis", g.memory_basis},
                        {"bandwidth_gb_per_s", g.bandwidth_gb_per_s},
                        {"bf16_tflops", opt(g.bf16_tflops)},
                        {"fp8_tflops", opt(g.fp8_tflops)}});
  }
  return dump(ojson{{"schema_version", json_schema_version}, {"revision", revision}, {"gpus", std::move(arr)}});
}

} // namespace vramcalc

namespace vramcalc {

std::string render_inspect_json(const InspectReport& r) {
  ojson facts = ojson::object();
  for (const auto& [k, v] : r.facts) facts[k] = v;
  ojson groups = ojson::array();
  for (const InspectGroup& g : r.groups) {
    groups.push_back(ojson{{"group", g.group}, {"tensors", g.tensors}, {"types", g.types}, {"params", g.params},
                           {"bytes", g.bytes}});
  }
  return dump(ojson{{"schema_version", json_schema_version},
                    {"kind", r.kind},
                    {"files", r.files},
                    {"facts", std::move(facts)},
                    {"model", r.arch.empty() ? ojson(nullptr) : to_json(r.model)},
                    {"arch", r.arch},
                    {"vocab_size", r.vocab_size},
                    {"kv_dtype", r.kv_dtype},
                    {"kv_bytes_per_token", r.kv_bytes_per_token},
                    {"state_bytes_per_sequence", r.state_bytes_per_sequence},
                    {"groups", std::move(groups)},
                    {"tensor_count", r.tensor_count},
                    {"tensor_bytes", r.tensor_bytes},
                    {"file_bytes", r.file_bytes},
                    {"unmatched_tensors", r.unmatched},
                    {"missing_tensors", r.missing_count},
                    {"warnings", r.warnings}});
}

} // namespace vramcalc

namespace vramcalc {

namespace {

ojson to_json(const CheckEntry& e) {
  ojson j{{"name", e.name},
          {"file", e.file},
          {"index", e.index},
          {"status", e.status == CheckStatus::fits ? "fits" : "does_not_fit"},
          {"message", e.message},
          {"gpu", e.gpu},
          {"count", e.count},
          {"tp", e.tp},
          {"pp", e.pp},
          {"engine", e.engine},
          {"required_bytes_per_gpu", e.required_bytes_per_gpu},
          {"usable_bytes", e.usable_bytes},
          {"headroom_bytes", e.headroom_bytes},
          {"required_headroom_bytes", e.required_headroom_bytes}};
  if (e.report.engine) {
    // The host memory the engine reports (its estimate's engine.host_*), beside the GPUs' verdict.
    const EngineSection& g = *e.report.engine;
    j["host_bytes"] = g.host_bytes;
    j["host_mem_bytes"] = g.host_mem_bytes ? ojson(*g.host_mem_bytes) : ojson(nullptr);
    j["host_fits"] = g.host_fits;
  }
  j["ignored"] = e.ignored;
  j["kind"] = e.kind;
  j["source"] = ojson{{"file", e.file}, {"line", e.line}, {"column", e.column}, {"path", e.path}};
  j["notes"] = e.notes;
  j["report"] = to_json(e.report);
  return j;
}

} // namespace

std::string render_check_json(const CheckReport& r) {
  ojson arr = ojson::array();
  for (const CheckEntry& e : r.entries) arr.push_back(to_json(e));
  ojson skipped = ojson::array();
  for (const CheckSkipped& s : r.skipped) {
    skipped.push_back(ojson{{"name", s.name}, {"file", s.file}, {"line", s.line}, {"reason", s.reason}, {"kind", s.kind},
                             {"workload", s.workload}});
  }
  return dump(ojson{{"schema_version", json_schema_version},
                    {"ok", r.ok()},
                    {"files", r.files},
                    {"deployments", std::move(arr)},
                    {"skipped", std::move(skipped)}});
}

std::string render_check_ndjson(const CheckReport& r) {
  std::string out;
  for (const CheckEntry& e : r.entries) {
    ojson j{{"schema_version", json_schema_version}};
    j.update(to_json(e));
    out += dump(j);
  }
  return out;
}

} // namespace vramcalc

namespace vramcalc {

namespace {

std::string cell_text(const ojson& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out;
    for (const ojson& x : v) out += (out.empty() ? "" : ";") + cell_text(x);
    return out;
  }
  return v.dump();
}

// Scalar fields of an array element, nested objects one level deep as "key.sub".
void flatten(const ojson& e, std::vector<std::pair<std::string, std::string>>& out) {
  for (const auto& [k, v] : e.items()) {
    if (v.is_object()) {
      for (const auto& [k2, v2] : v.items()) {
        if (!v2.is_object()) out.emplace_back(k + "." + k2, cell_text(v2));
      }
    } else {
      out.emplace_back(k, cell_text(v));
    }
  }
}

} // namespace

std::string render_tabular(const std::string& document, std::string_view array_key, std::string_view format) {
  const ojson doc = ojson::parse(document);
  const ojson& arr = doc.at(std::string(array_key));
  std::string out;
  if (format == "ndjson") {
    for (const ojson& e : arr) {
      ojson line{{"schema_version", json_schema_version}};
      for (const auto& [k, v] : e.items()) line[k] = v;
      out += dump(line);
    }
    return out;
  }
  // Columns: every flattened key, in order of first appearance.
  std::vector<std::string> columns;
  std::vector<std::vector<std::pair<std::string, std::string>>> rows;
  for (const ojson& e : arr) {
    rows.emplace_back();
    flatten(e, rows.back());
    for (const auto& [k, v] : rows.back()) {
      if (std::find(columns.begin(), columns.end(), k) == columns.end()) columns.push_back(k);
    }
  }
  const bool md = format == "markdown";
  const auto value = [](const std::vector<std::pair<std::string, std::string>>& row, const std::string& k) {
    for (const auto& [key, v] : row) {
      if (key == k) return v;
    }
    return std::string();
  };
  for (std::size_t i = 0; i < columns.size(); ++i) out += (i == 0 ? (md ? "| " : "") : (md ? " | " : ",")) + columns[i];
  out += md ? " |\n" : "\n";
  if (md) {
    for (std::size_t i = 0; i < columns.size(); ++i) out += "|---";
    out += "|\n";
  }
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < columns.size(); ++i) {
      std::string v = value(row, columns[i]);
      if (md) {
        std::string esc;
        for (char c : terminal_safe(v)) esc += c == '|' ? std::string("\\|") : std::string(1, c);
        out += (i == 0 ? "| " : " | ") + esc;
      } else {
        out += (i == 0 ? "" : ",") + csv_field(v);
      }
    }
    out += md ? " |\n" : "\n";
  }
  return out;
}

} // namespace vramcalc
