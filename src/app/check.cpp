// `vramcalc check`: every deployment of every file checked, errors collected.
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

// ---- check ------------------------------------------------------------------------

namespace {

// Where a deployment's value came from: its key (file:line:column and path), a flag of the
// check applied to the deployment (check --gpu ...: placed at the deployment), or a flag of a
// command line (check --vllm "...": named alone).
Origin origin_of(const io::Deployment& d, const io::DeployValue& v) {
  Origin at{v.path, "", "", v.line, v.column, true};
  if (v.where.empty() && !d.where.empty()) {
    at.prefix = d.where + ": " + d.name + ": ";
    at.file = d.file;
    at.line = d.line;
    at.column = d.column;
  } else if (!v.where.empty()) {
    at.prefix = v.where + ": ";
    at.file = v.file.empty() ? d.file : v.file;
  }
  return at;
}

// A deployment's values with their origins: the same reading and checks as the flags they
// stand for, each error at its key.
Options deployment_options(const Options& base, const io::Deployment& d) {
  Options o;
  o.models_dirs = base.models_dirs;
  o.read_files = base.read_files;
  o.gpu_mem = base.gpu_mem;
  o.si = base.si;
  o.color = base.color;
  const auto get = [&](const char* k) -> std::optional<Value> {
    const auto it = d.keys.find(k);
    if (it == d.keys.end()) return std::nullopt;
    return Value{it->second.text, origin_of(d, it->second)};
  };
  const auto boolean = [&](const io::DeployValue& v) {
    std::string t = to_lower(v.text);
    if (t == "true" || t == "yes" || t == "on" || t == "1") return true;
    if (t == "false" || t == "no" || t == "off" || t == "0") return false;
    fail_at(origin_of(d, v), ErrorCode::invalid_argument, "'" + v.text + "' is not true or false");
  };
  if (auto m = get("model")) {
    o.model = m->text;
    o.model_origin = m->origin;
  }
  o.context_divisor = d.context_divisor;
  o.quant = get("quant");
  o.kv = get("kv_dtype");
  o.ctx = get("context");
  o.batch = get("batch");
  if (auto e = get("engine")) o.engine = Value{to_lower(e->text), e->origin};
  const auto engine = find_engine(o.engine.text);
  if (!engine) fail_at(o.engine.origin, ErrorCode::invalid_argument, "'" + o.engine.text + "' is not " + engine_ids());
  if (auto g = get("gpu")) o.gpus.push_back(*g);
  o.tp = get("tp");
  o.pp = get("pp");
  if (auto it = d.keys.find("ep"); it != d.keys.end()) o.ep = boolean(it->second);
  o.overhead = get("overhead");
  o.host_mem = base.host_mem ? base.host_mem : get("host_mem"); // --host-mem overrides every deployment's
  o.kv_policy = get("kv_policy");
  o.draft = get("draft");
  o.draft_format = get("draft_format");
  o.spec_tokens = get("spec_tokens");
  o.lora = get("lora"); // llama-server's --lora / --lora-scaled files (lora_files_here)
  o.images = get("images");
  o.image_size = get("image_size");
  o.headroom = get("headroom");
  // The engine options, each the flag its spec names. A key several engines have (version)
  // is the deployment's engine's, else the first engine's that has it (its flag then asks
  // for that engine).
  for (const auto& [key, value] : d.engine_options) {
    const EngineOptionSpec* spec = nullptr;
    for (const EngineTraits& e : engine_table) {
      for (const EngineOptionSpec& s : engine_option_specs(e.kind)) {
        if (s.key == key && (spec == nullptr || e.kind == *engine)) spec = &s;
      }
    }
    if (spec == nullptr) continue;
    if (!spec->is_switch) o.engine_flags[std::string(spec->flag())] = Value{value.text, origin_of(d, value)};
    else if (boolean(value)) o.engine_flags[std::string(spec->flag())] = Value{"true", origin_of(d, value)};
  }
  return o;
}

// An engine's release flag given to check (--trtllm-version newest, --vllm-version 0.11, ...)
// overrides the release of every deployment of that engine, its command lines included (a
// trtllm-serve line names no release); read by the engine's `version` spec as the key would be.
void override_release(const Options& o, io::Deployment& d) {
  const auto named = d.keys.find("engine");
  const auto engine = named == d.keys.end() ? std::nullopt : find_engine(to_lower(named->second.text));
  if (!engine) return;
  for (const EngineOptionSpec& spec : engine_option_specs(*engine)) {
    if (spec.key != "version") continue;
    if (const auto it = o.engine_flags.find(std::string(spec.flag())); it != o.engine_flags.end()) {
      d.engine_options["version"] = {it->second.text, std::string(spec.flag()), ""};
    }
  }
}

// An error of the deployment as a whole (not of one of its values): placed at the deployment.
Error at_deployment(const io::Deployment& d, const Error& error) {
  return Error{error.code, (d.where.empty() ? d.file : d.where) + ": " + d.name + ": " + error.message,
               d.where.empty() ? std::string() : d.file, d.line, d.column};
}

std::string deployment_text(const CheckEntry& e) {
  std::string layout;
  const auto engine = find_engine(e.engine);
  if (engine && !engine_traits(*engine).parallel_layouts) layout = e.count > 1 ? ", layers split" : "";
  else if (e.tp * e.pp > 1) layout = fmt::format(", tp {} pp {}", e.tp, e.pp);
  return fmt::format("{}\u00d7 {}{}{}", e.count, e.gpu_name, layout, e.engine == "generic" ? "" : ", " + e.engine);
}

// Headroom asked: "5%" of a GPU's usable memory, or a size.
std::uint64_t headroom_bytes(const Value& asked, std::uint64_t usable) {
  const std::string& text = asked.text;
  if (text.ends_with("%")) {
    auto bp = parse_percent_bp(text);
    if (!bp || *bp > 10000) fail_at(asked.origin, ErrorCode::invalid_argument, "'" + text + "' is not a percentage up to 100%");
    return usable / 10000 * *bp + usable % 10000 * *bp / 10000; // floor(usable x bp / 10^4), no overflow
  }
  return value_at(asked.origin, parse_size(text));
}

using Verdict = EngineVerdict; // report.hpp

Verdict generic_verdict(const FitRow& row) {
  const auto u = UnitSystem::binary;
  return {row.fits, row.required_bytes_per_gpu, row.headroom_bytes,
          !row.problem.empty() ? row.problem
                               : fmt::format("{} per GPU of {} usable", format_bytes(row.required_bytes_per_gpu, u),
                                             format_bytes(row.usable_bytes, u)),
          std::nullopt};
}

CheckEntry check_one(const Options& base, const io::Deployment& d, const io::Catalog& catalog) {
  CheckEntry e;
  e.name = d.name;
  e.file = d.file;
  e.where = d.where;
  e.index = d.index;
  e.ignored = d.ignored;
  e.kind = d.kind;
  e.line = d.line;
  e.column = d.column;
  e.path = d.path;
  e.notes = d.notes;
  try {
    const Options o = deployment_options(base, d);
    if (o.gpus.empty() && !o.gpu_mem && !d.kind.empty()) {
      const std::string count = d.gpu_count > 0 ? std::to_string(d.gpu_count) : std::string();
      throw Failure{Error{ErrorCode::invalid_argument,
                           d.where + ": " + d.name + ": " +
                               (d.kind == "vLLM config"
                                    ? "a vLLM config does not say which GPU" +
                                          (d.gpu_count > 0 ? " (it uses " + count + ")" : std::string()) + "; give --gpu TYPE"
                                    : "the " + d.kind + " does not say which GPU" +
                                          (d.gpu_count > 0 ? " (it asks for " + count + ")" : std::string()) +
                                          ": no node selector or affinity names one (nvidia.com/gpu.product, "
                                          "cloud.google.com/gke-accelerator, node.kubernetes.io/instance-type, ...); give "
                                          "--gpu TYPE or the annotation vramcalc/gpu"),
                           d.file, d.line, d.column},
                    {}, true};
    }
    if (o.gpus.empty() && !o.gpu_mem) {
      throw Failure{Error{ErrorCode::invalid_argument,
                           (d.where.empty() ? d.file : d.where) + ": " + d.path +
                               ": missing key 'gpu' (the GPUs it runs on, e.g. gpu: 4xh100; or give --gpu)",
                           d.where.empty() ? std::string() : d.file, d.line, d.column},
                    {}, true};
    }
    Workload w = read_workload(o, catalog);
    if (w.formats.size() * w.kvs.size() * w.ctxs.size() * w.batches.size() != 1) {
      fail_at(o.quant ? &*o.quant : nullptr, "--quant", "a deployment is one configuration, not a list");
    }
    if (w.base.gpus.size() != 1) fail_at(o.gpus.empty() ? nullptr : &o.gpus.front(), "--gpu", "a deployment runs on one kind of GPU");
    e.report = estimate_or_fail(w, w.base, catalog);
    const Report& r = e.report;
    const FitRow& row = r.fit.front();
    e.engine = r.engine ? std::string(r.engine->name()) : "generic";
    e.gpu = row.gpu;
    e.gpu_name = row.gpu_name;
    e.count = row.count;
    e.tp = row.tp;
    e.pp = row.pp;
    // The GPU's usable memory (the fit row of a vLLM deployment holds vLLM's share of it).
    e.usable_bytes = usable_bytes(w.base.gpus.front().gpu);
    e.required_headroom_bytes = headroom_bytes(o.headroom.value_or(Value::flag("--headroom", "0")), e.usable_bytes);
    // The engine's verdict on its GPUs; the host's memory is the second constraint, below.
    std::optional<Report> on_gpus;
    if (r.engine && !r.engine->host_fits) {
      on_gpus = r;
      on_gpus->engine->fits = on_gpus->engine->gpu_fits;
    }
    const Report& gr = on_gpus ? *on_gpus : r;
    const Verdict v = r.engine ? std::visit([&](const auto& a) { return detail::engine_verdict(gr, a, e.usable_bytes); }, gr.engine->detail)
                               : generic_verdict(row);
    if (r.engine) {
      e.count = v.count.value_or(e.count);
      if (v.count) {
        e.tp = 1;
        e.pp = e.count;
      }
    }
    e.required_bytes_per_gpu = v.required_bytes_per_gpu;
    e.headroom_bytes = v.headroom_bytes;
    const bool fits = v.fits && e.headroom_bytes >= static_cast<std::int64_t>(e.required_headroom_bytes);
    const std::string& why = v.why;
    const auto u = UnitSystem::binary;
    const bool host_fits = !r.engine || r.engine->host_fits;
    e.status = fits && host_fits ? CheckStatus::fits : CheckStatus::does_not_fit;
    std::string head = fmt::format("{}: {}", deployment_text(e), why);
    if (r.engine && r.engine->host_mem_bytes) {
      // The second constraint, when the host's memory is given: what the engine keeps there.
      head += fmt::format("; host memory {} needed, {}{} given", format_bytes(r.engine->host_bytes, u),
                          host_fits ? "" : "more than the ", format_bytes(*r.engine->host_mem_bytes, u));
    }
    if (e.required_headroom_bytes > 0) {
      head += fmt::format("; {} {}{} {} {} required", v.headroom_name,
                          e.headroom_bytes >= 0 ? "" : "-",
                          format_bytes(static_cast<std::uint64_t>(e.headroom_bytes >= 0 ? e.headroom_bytes : -e.headroom_bytes), u),
                          e.headroom_bytes >= static_cast<std::int64_t>(e.required_headroom_bytes) ? "\u2265" : "<",
                          format_bytes(e.required_headroom_bytes, u));
    }
    e.message = head;
  } catch (const Failure& err) {
    if (err.placed || err.error.line != 0) throw; // at one of its values, or already located
    throw Failure{at_deployment(d, err.error), {}, true};
  }
  return e;
}

// A GGUF named on a llama-server line that is not on this machine (CI checks the command, not
// the file): the model and the quant from its name, "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf".
// The draft model (-md) the same way: `draft` and its `draft_format`.
void model_from_gguf_name(io::Deployment& d, const char* model_key = "model", const char* quant_key = "quant") {
  if (!d.keys.contains(model_key)) return;
  io::DeployValue& m = d.keys[model_key];
  std::error_code ec;
  if (!m.text.ends_with(".gguf") || std::filesystem::exists(m.text, ec)) return;
  std::string stem = std::filesystem::path(m.text).stem().string();
  if (const auto split = stem.find("-00001-of-"); split != std::string::npos) stem.erase(split);
  for (const GgufFtypeTraits& t : gguf_ftypes()) {
    std::string name(t.name.starts_with("gguf-") ? t.name.substr(5) : t.name);
    const std::string lower = to_lower(stem);
    for (char sep : {'-', '.', '_'}) {
      if (lower.ends_with(sep + name)) {
        if (!d.keys.contains(quant_key)) d.keys[quant_key] = {name, m.path, ""};
        stem.erase(stem.size() - name.size() - 1);
        break;
      }
    }
    if (d.keys.contains(quant_key)) break;
  }
  d.ignored.push_back("(" + m.text + " is not here: sized as '" + stem + "'" +
                      (d.keys.contains(quant_key) ? " " + d.keys[quant_key].text : "") + " from its name)");
  m.text = stem;
}

// llama-server's adapter files (--lora, --lora-scaled) that are not on this machine: left out,
// with a note (a LoRA's size is not in its name); the ones here are read from their headers.
void lora_files_here(io::Deployment& d) {
  const auto it = d.keys.find("lora");
  if (it == d.keys.end()) return;
  std::string kept;
  const auto files = parse_list(it->second.text);
  if (!files) return; // the estimate reports it, at --lora
  for (const std::string& file : *files) {
    std::error_code ec;
    if (std::filesystem::exists(file, ec)) kept += (kept.empty() ? "" : ",") + file;
    else d.ignored.push_back("(LoRA adapter " + file + " is not here: not counted)");
  }
  if (kept.empty()) d.keys.erase(it);
  else it->second.text = kept;
}

// llama-server's projector file (--mmproj) when it is not on this machine: left out, with a
// note (its size is not in its name); one that is here is read from its header.
void mmproj_file_here(io::Deployment& d) {
  const auto it = d.engine_options.find("mmproj");
  if (it == d.engine_options.end() || !it->second.text.ends_with(".gguf")) return;
  std::error_code ec;
  if (std::filesystem::exists(it->second.text, ec)) return;
  d.ignored.push_back("(mmproj " + it->second.text + " is not here: not counted)");
  d.engine_options.erase(it);
}

// The models the deployments name; the whole catalog when one of them is not a catalog
// name (a path, an Ollama tag, a typo), so that resolving it (suggestions for a typo) does not
// reload the catalog once per deployment.
io::Catalog check_catalog(const Options& o, const std::vector<io::Deployment>& deployments) {
  std::set<std::string> names;
  for (const io::Deployment& d : deployments) {
    const auto m = d.keys.find("model");
    if (m == d.keys.end()) continue;
    // No catalog name is this long; looking one up by its spellings would copy it for nothing.
    if (m->second.text.size() > 256) return load_catalog(o);
    names.insert(m->second.text);
  }
  io::Catalog some = load_catalog(o, std::vector<std::string>(names.begin(), names.end()));
  for (const std::string& n : names) {
    if (!some.resolve_model_name(n)) return load_catalog(o);
  }
  return some;
}

} // namespace

// Every deployment of every file is read and checked; all errors are collected, each with its
// file, line and column, and reported together (exit 2) instead of the first alone.
Outcome run_check(const Options& o) {
  // The files are read with the GPU catalog alone (node labels name GPU types); the models
  // are loaded once every deployment is known (check_catalog): a file refused whole costs no
  // model catalog, and 10,000 deployments of one model parse one spec, not 151.
  io::Catalog catalog = value_or_fail(io::load_catalog_for(value_or_fail(catalog_files()), {}));
  std::vector<io::Deployment> deployments;
  std::vector<Error> errors;
  CheckReport report;
  if (std::count(o.check_files.begin(), o.check_files.end(), "-") > 1) {
    fail(ErrorCode::invalid_argument, "check: standard input ('-') can be read once");
  }
  std::vector<std::string> origins; // the files as messages name them ("<stdin>" for -)
  for (const std::string& f : o.check_files) {
    const bool in = f == "-";
    const std::string origin = in ? "<stdin>" : f;
    origins.push_back(origin);
    auto text = in && o.stdin_text ? std::expected<std::string, Error>(*o.stdin_text)
                : in               ? io::read_standard_input(ErrorCode::io)
                                   : io::read_text_file(f, ErrorCode::io);
    if (!text) {
      errors.push_back(text.error());
      errors.back().file = origin;
      continue;
    }
    io::DeploymentFile parsed = io::read_deployments(*text, origin, &catalog.gpu_labels);
    for (Error& e : parsed.errors) errors.push_back(std::move(e));
    for (io::Deployment& d : parsed.deployments) deployments.push_back(std::move(d));
    for (io::Skipped& k : parsed.skipped) report.skipped.push_back({std::move(k.name), std::move(k.file), k.line, std::move(k.reason), std::move(k.kind), k.workload});
    report.files.push_back(origin);
  }
  const auto command = [&](std::expected<io::Deployment, Error> parsed, bool gguf_name) {
    if (!parsed) {
      errors.push_back(parsed.error());
      return;
    }
    if (gguf_name) {
      model_from_gguf_name(*parsed);
      model_from_gguf_name(*parsed, "draft", "draft_format");
      lora_files_here(*parsed);
      mmproj_file_here(*parsed);
    }
    deployments.push_back(std::move(*parsed));
  };
  if (o.vllm_command) command(io::deployment_from_vllm(*o.vllm_command), false);
  if (o.llama_server_command) command(io::deployment_from_llama_server(*o.llama_server_command), true);
  if (o.sglang_command) command(io::deployment_from_sglang(*o.sglang_command), false);
  if (o.trtllm_command) command(io::deployment_from_trtllm(*o.trtllm_command), false);
  if (o.ollama_command) command(io::deployment_from_ollama(*o.ollama_command), false);
  if (deployments.empty() && errors.empty() && report.skipped.empty()) {
    fail(ErrorCode::invalid_argument, "check: give deployment files, --vllm \"vllm serve ...\" or --llama-server \"llama-server ...\" "
                                      "(or --sglang, --trtllm, --ollama)");
  }
  if ((o.vllm_command || o.llama_server_command || o.sglang_command || o.trtllm_command || o.ollama_command) &&
      o.gpus.empty() && !o.gpu_mem) {
    fail(ErrorCode::invalid_argument, "check --vllm / --llama-server / --sglang / --trtllm / --ollama: say which GPUs with --gpu (e.g. --gpu 4xh100)");
  }
  if (o.gpus.size() > 1) fail(ErrorCode::invalid_argument, "check --gpu: give one GPU type (it is every deployment's)");
  // The flags override every deployment: the same files checked on other hardware or at
  // another context or batch (docs/ci.md).
  for (io::Deployment& d : deployments) {
    if (!o.gpus.empty()) {
      // A manifest's GPUs keep their count when --gpu names only the type.
      const Value& gpu = o.gpus.front();
      const bool counted = split_count(gpu.origin, gpu.text).first > 0;
      const bool keep_count = !counted && d.gpu_count > 0;
      d.keys["gpu"] = {keep_count ? std::to_string(d.gpu_count) + "x" + gpu.text : gpu.text, "--gpu", ""};
      if (!d.kind.empty()) {
        // The flag wins over what the manifest said of the type.
        std::string over;
        std::erase_if(d.notes, [&](const std::string& n) {
          const bool type = n.starts_with("the GPU type from the ") || n.starts_with("the GPU from the ");
          if (type) over = n.substr(n.find(" from the ") + 10);
          return type;
        });
        d.notes.push_back(std::string(keep_count ? "the GPU type from --gpu" : "the GPUs from --gpu") +
                          (over.empty() ? "" : ", over the " + over));
      }
    }
    if (o.gpu_mem) d.keys.erase("gpu");
    if (o.batch) d.keys["batch"] = {o.batch->text, "--batch", ""};
    if (o.ctx) d.keys["context"] = {o.ctx->text, "--ctx", ""};
    if (o.headroom) d.keys["headroom"] = {o.headroom->text, "--headroom", ""};
    if (o.images) d.keys["images"] = {o.images->text, "--images", ""};
    if (o.image_size) d.keys["image_size"] = {o.image_size->text, "--image-size", ""};
    override_release(o, d);
  }
  if (!deployments.empty()) catalog = check_catalog(o, deployments);
  report.entries.reserve(deployments.size());
  for (const io::Deployment& d : deployments) {
    Options base = o;
    if (d.keys.contains("gpu")) base.gpu_mem.reset();
    try {
      report.entries.push_back(check_one(base, d, catalog));
    } catch (const Failure& e) {
      errors.push_back(e.error);
    }
  }
  if (!errors.empty()) {
    // In the order of the files, then of their lines.
    const auto rank = [&](const Error& e) {
      const auto f = std::find(origins.begin(), origins.end(), e.file);
      return std::make_tuple(static_cast<std::size_t>(f - origins.begin()), e.line, e.column);
    };
    std::stable_sort(errors.begin(), errors.end(), [&](const Error& a, const Error& b) { return rank(a) < rank(b); });
    Failure all{errors.front(), {}};
    all.more.assign(errors.begin() + 1, errors.end());
    throw all;
  }
  const std::string format = o.json ? "json" : o.format;
  return {render_check(report, format, o.render), report.ok() ? 0 : 1};
}


} // namespace vramcalc::app
