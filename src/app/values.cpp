// Flag and deployment values read into typed settings: GPU requests, lists, formats, KV
// dtypes, eviction policies, and the bound on the work one command may ask for.
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

Error error_at(const Origin& at, ErrorCode code, const std::string& what, std::string_view flag) {
  const std::string name = at.deployment || flag.empty() ? at.name : std::string(flag);
  return Error{code, at.prefix + (name.empty() ? what : name + ": " + what), at.file, at.line, at.column};
}

void fail_at(const Origin& at, ErrorCode code, const std::string& what, std::string_view flag) {
  throw Failure{error_at(at, code, what, flag), {}, at.deployment};
}

void fail_at(const Value* v, std::string_view flag, const std::string& what) {
  if (v != nullptr) fail_at(v->origin, ErrorCode::invalid_argument, what, flag);
  fail(ErrorCode::invalid_argument, std::string(flag) + ": " + what);
}

std::pair<std::uint32_t, std::string> split_count(const Origin& at, std::string_view spec) {
  std::size_t i = 0;
  while (i < spec.size() && spec[i] >= '0' && spec[i] <= '9') ++i;
  std::size_t rest = 0;
  if (i > 0 && i < spec.size() && (spec[i] == 'x' || spec[i] == 'X')) rest = i + 1;
  else if (i > 0 && spec.substr(i).starts_with("\u00d7")) rest = i + 2;
  if (rest == 0) return {0, std::string(spec)};
  const auto n = value_at(at, parse_count(spec.substr(0, i), max_gpu_count));
  if (rest >= spec.size()) fail_at(at, ErrorCode::invalid_argument, "'" + std::string(spec) + "' names no GPU");
  return {static_cast<std::uint32_t>(n), std::string(spec.substr(rest))};
}

namespace {

// A short name that several catalog GPUs share ("a100", "h100") picks one of them by its
// aliases: say which, and name the others.
std::optional<std::string> variant_note(const std::string& typed, const GpuSpec& picked, const io::Catalog& c) {
  const std::string name = to_lower(typed);
  if (name == to_lower(picked.id)) return std::nullopt;
  std::vector<std::string> others;
  for (const GpuSpec& g : c.gpus) {
    if (g.id != picked.id && to_lower(g.id).starts_with(name + "-")) others.push_back(g.id);
  }
  if (others.empty()) return std::nullopt;
  std::string list;
  for (std::size_t i = 0; i < others.size(); ++i) list += (i == 0 ? "" : i + 1 == others.size() ? " and " : ", ") + others[i];
  return "--gpu " + typed + " is the " + picked.name + " (" + picked.id + "); the catalog also has " + list +
         ": name one to size it instead.";
}

} // namespace

std::vector<GpuRequest> gpu_requests(const Options& o, const io::Catalog& c, std::vector<std::string>* notes) {
  std::vector<GpuRequest> out;
  for (const Value& arg : o.gpus) {
    std::string_view rest = arg.text;
    while (true) {
      const auto comma = rest.find(',');
      const std::string_view one = rest.substr(0, comma);
      if (one.empty()) fail_at(arg.origin, ErrorCode::invalid_argument, "'" + arg.text + "' has an empty entry");
      auto [count, name] = split_count(arg.origin, one);
      auto g = c.find_gpu(name);
      if (!g) {
        // "h100x2", "h100*2": the count written after the name.
        std::size_t digits = name.size();
        while (digits > 0 && std::isdigit(static_cast<unsigned char>(name[digits - 1])) != 0) --digits;
        if (digits > 1 && digits < name.size() && (name[digits - 1] == 'x' || name[digits - 1] == 'X' || name[digits - 1] == '*')) {
          const std::string gpu = name.substr(0, digits - 1);
          if (c.find_gpu(gpu)) {
            fail_at(arg.origin, ErrorCode::unknown_gpu,
                    "unknown GPU '" + name + "'; did you mean " + name.substr(digits) + "x" + gpu + "? (the count comes first)");
          }
        }
        fail_at(arg.origin, ErrorCode::unknown_gpu, g.error().message);
      }
      out.push_back({**g, count});
      if (notes != nullptr) {
        if (auto n = variant_note(name, **g, c)) notes->push_back(*n);
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (o.gpu_mem) {
    const Origin at = Origin::flag("--gpu-mem");
    auto [count, size] = split_count(at, *o.gpu_mem);
    GpuSpec g;
    g.memory_bytes = value_at(at, parse_size(size));
    if (g.memory_bytes == 0) fail(ErrorCode::invalid_argument, "--gpu-mem: '" + *o.gpu_mem + "' is zero");
    if (g.memory_bytes > (1ull << 56)) fail(ErrorCode::invalid_argument, "--gpu-mem: '" + *o.gpu_mem + "' is too large");
    g.id = "custom";
    g.name = "GPU with " + size;
    g.vendor = "custom";
    g.memory_note = "given with --gpu-mem";
    g.custom = true;
    out.push_back({g, count});
  }
  return out;
}

std::vector<std::string> split_list(const Origin& at, const std::string& text) {
  return value_at(at, parse_list(text));
}

WeightFormat format_flag(const std::string& quant, const ModelSpec& model, const Origin& at) {
  auto f = parse_weight_format(quant, model.dtype);
  if (f) return *f;
  std::vector<NameCandidate> cands;
  const auto names = weight_format_names();
  for (std::string_view n : names) cands.push_back({n, n});
  const auto sug = suggest(quant, cands);
  fail_at(at, ErrorCode::invalid_argument,
          f.error().message + (sug.empty() ? "; 'vramcalc list formats' shows them all" : "; did you mean: " + sug.front() + "?"));
}

// " did you mean X?" for a mistyped name: the same letters and digits without separators
// first ("fp8e4m3" is "fp8_e4m3"), else the nearest by edit distance; "" when none is close.
std::string did_you_mean(std::string_view typed, std::span<const std::string_view> names) {
  const auto bare = [](std::string_view s) {
    std::string out;
    for (char c : s) {
      if (std::isalnum(static_cast<unsigned char>(c)) != 0) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
  };
  for (std::string_view n : names) {
    if (!bare(typed).empty() && bare(typed) == bare(n)) return "; did you mean " + std::string(n) + "?";
  }
  std::vector<NameCandidate> candidates;
  for (std::string_view n : names) candidates.push_back({n, n});
  const auto s = suggest(typed, candidates, 1);
  return s.empty() ? std::string() : "; did you mean " + s.front() + "?";
}

Dtype kv_flag(const std::string& kv, const ModelSpec& model, EngineKind engine, const Origin& at) {
  // "auto" is vLLM's spelling of "the model's dtype".
  auto d = iequals(kv, "auto") ? std::optional<Dtype>(model.dtype) : parse_dtype(kv);
  // A dtype only some engines' caches take (TensorRT-LLM's NVFP4): under one of them, or named.
  const auto own = [](EngineKind e, Dtype t) {
    const auto list = engine_traits(e).kv_dtypes;
    return std::find(list.begin(), list.end(), t) != list.end();
  };
  if (d && !traits(*d).kv_allowed && own(engine, *d)) return *d;
  if (d && !traits(*d).kv_allowed) {
    std::string engines;
    for (const EngineTraits& e : engine_table) {
      if (own(e.kind, *d)) engines += std::string(engines.empty() ? "" : " or ") + "--engine " + std::string(e.id);
    }
    if (!engines.empty()) {
      fail_at(at, ErrorCode::invalid_argument, std::string(traits(*d).name) + " is a KV-cache dtype only under " + engines);
    }
  }
  if (!d || !traits(*d).kv_allowed) {
    static constexpr std::string_view known[] = {"fp32", "fp16", "bf16",  "fp8",  "fp8_e4m3", "fp8_e5m2", "int8",
                                                 "int4", "q8_0", "q5_1",  "q5_0", "q4_1",     "q4_0",     "iq4_nl"};
    std::string hint = did_you_mean(kv, known);
    if (hint.empty()) hint = "; known: fp32, fp16, bf16, fp8 (e4m3), fp8_e5m2, int8, int4, q8_0, q5_1, q5_0, q4_1, q4_0, iq4_nl";
    fail_at(at, ErrorCode::invalid_argument, "unknown KV-cache dtype '" + kv + "'" + hint);
  }
  return *d;
}

Dtype llamacpp_kv_flag(const Origin& at, const std::string& text) {
  return value_at(at, llamacpp_cache_type(text));
}

EngineKind engine_kind(const std::string& name) {
  return find_engine(name).value_or(EngineKind::generic);
}

bool within_work(const ModelSpec& model, std::uint64_t estimates, std::uint64_t budget) {
  return estimates <= budget / std::max<std::uint64_t>(1, model.num_layers);
}

void check_work(const ModelSpec& model, std::uint64_t estimates, const std::string& what) {
  if (within_work(model, estimates)) return;
  const std::uint64_t layers = std::max<std::uint64_t>(1, model.num_layers);
  fail(ErrorCode::invalid_argument,
       what + " " + with_commas(estimates) + " estimates of a " + with_commas(layers) + "-layer model (" +
           with_commas(estimates * layers) + " layer-estimates); vramcalc's limit is " + with_commas(max_layer_estimates) +
           " per command");
}

// "streaming:sinks=4,window=4096", "streaming" (4 + 4096), "h2o:budget=2048", "h2o:ratio=0.2".
KvPolicy kv_policy_flag(const Value& value) {
  KvPolicy p;
  const std::string& text = value.text;
  const auto fail_here = [&](const std::string& what) { fail_at(value.origin, ErrorCode::invalid_argument, what); };
  const auto colon = text.find(':');
  const std::string kind = to_lower(text.substr(0, colon));
  std::map<std::string, std::string> params;
  if (colon != std::string::npos) {
    for (const std::string& kv : split_list(value.origin, text.substr(colon + 1))) {
      const auto eq = kv.find('=');
      if (eq == std::string::npos) fail_here("'" + kv + "' is not key=value");
      params[to_lower(kv.substr(0, eq))] = kv.substr(eq + 1);
    }
  }
  auto take = [&](const std::string& key, std::uint64_t fallback) -> std::uint64_t {
    auto it = params.find(key);
    if (it == params.end()) return fallback;
    const std::string v = it->second;
    params.erase(it);
    Origin parameter = value.origin; // "--kv-policy sinks: ..."
    parameter.name += " " + key;
    return value_at(parameter, parse_tokens(v));
  };
  if (kind == "none") return p;
  if (kind == "streaming" || kind == "streamingllm") {
    p.kind = KvPolicy::Kind::streaming;
    p.sinks = take("sinks", 4);
    p.window = take("window", 4096);
  } else if (kind == "h2o") {
    p.kind = KvPolicy::Kind::h2o;
    if (auto it = params.find("ratio"); it != params.end()) {
      auto bp = parse_percent_bp(it->second + "%");
      if (!bp || *bp == 0 || *bp * 100 > 10000) {
        fail_here("ratio '" + it->second + "' is not a fraction between 0 and 1");
      }
      p.ratio_bp = static_cast<std::uint32_t>(*bp * 100);
      params.erase(it);
    } else {
      p.budget = take("budget", 2048);
    }
  } else {
    fail_here("unknown policy '" + kind + "'; known: streaming, h2o, none");
  }
  if (!params.empty()) {
    fail_here("unknown parameter '" + params.begin()->first + "' for " + kind);
  }
  return p;
}


} // namespace vramcalc::app
