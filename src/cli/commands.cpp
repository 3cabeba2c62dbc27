#include "cli.hpp"

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
#include "vramcalc/render.hpp"
#include "vramcalc/tensors.hpp"
#include "vramcalc/units.hpp"

#include <set>
#include <array>
#include <algorithm>
#include <map>
#include <cstdlib>
#include <tuple>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace vramcalc::cli {

namespace {

[[noreturn]] void fail(ErrorCode code, std::string message) { throw CliError{{code, std::move(message)}}; }

template <typename T>
T value_or_fail(std::expected<T, Error> v) {
  if (!v) throw CliError{v.error()};
  return std::move(*v);
}

template <typename T>
T flag_value(std::string_view flag, std::expected<T, std::string> v) {
  if (!v) fail(ErrorCode::invalid_argument, std::string(flag) + ": " + v.error());
  return *v;
}

bool use_color(const std::string& mode) {
  if (mode == "always") return true;
  if (mode == "never") return false;
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') return false;
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::string_view(term) == "dumb") return false;
  return ::isatty(STDOUT_FILENO) == 1;
}

RenderOptions render_options(const Options& o) {
  const bool bars = o.bars == "always" || (o.bars == "auto" && ::isatty(STDOUT_FILENO) == 1);
  return {o.si ? UnitSystem::si : UnitSystem::binary, use_color(o.color), bars};
}

// The whole catalog; or, given the model names a command looks up, only those models (and
// the GPUs): most commands need one model, and parsing one spec instead of all of them is
// most of a typical invocation's time (docs/performance.md).
io::Catalog load_catalog(const Options& o, std::optional<std::vector<std::string>> only = std::nullopt) {
  io::Catalog c = value_or_fail(only ? io::load_builtin_catalog_for(*only) : io::load_builtin_catalog());
  for (const std::string& dir : o.models_dirs) {
    if (auto r = io::add_models_dir(c, dir); !r) throw CliError{r.error()};
  }
  return c;
}

// "[N x]NAME": "4xh100", "4×h100", "h100". Returns the count (0 if none given) and the name.
std::pair<std::uint32_t, std::string> split_count(std::string_view flag, std::string_view spec) {
  std::size_t i = 0;
  while (i < spec.size() && spec[i] >= '0' && spec[i] <= '9') ++i;
  std::size_t rest = 0;
  if (i > 0 && i < spec.size() && (spec[i] == 'x' || spec[i] == 'X')) rest = i + 1;
  else if (i > 0 && spec.substr(i).starts_with("\u00d7")) rest = i + 2;
  if (rest == 0) return {0, std::string(spec)};
  const auto n = flag_value(flag, parse_count(spec.substr(0, i), max_gpu_count));
  if (rest >= spec.size()) fail(ErrorCode::invalid_argument, std::string(flag) + ": '" + std::string(spec) + "' names no GPU");
  return {static_cast<std::uint32_t>(n), std::string(spec.substr(rest))};
}

std::vector<GpuRequest> gpu_requests(const Options& o, const io::Catalog& c) {
  std::vector<GpuRequest> out;
  for (const std::string& arg : o.gpus) {
    std::string_view rest = arg;
    while (true) {
      const auto comma = rest.find(',');
      const std::string_view one = rest.substr(0, comma);
      if (one.empty()) fail(ErrorCode::invalid_argument, "--gpu: '" + arg + "' has an empty entry");
      auto [count, name] = split_count("--gpu", one);
      auto g = c.find_gpu(name);
      if (!g) fail(ErrorCode::unknown_gpu, "--gpu: " + g.error().message);
      out.push_back({**g, count});
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (o.gpu_mem) {
    auto [count, size] = split_count("--gpu-mem", *o.gpu_mem);
    GpuSpec g;
    g.memory_bytes = flag_value("--gpu-mem", parse_size(size));
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

// A model argument is a catalog name, a vramcalc spec file, a Hugging Face config.json,
// or a directory holding a config.json.
struct ResolvedModel {
  ModelSpec spec;
  std::vector<std::string> warnings;
  std::optional<WeightFormat> file_format; // the model came from its weight files
};

ResolvedModel resolve_model(const Options& o, const io::Catalog& c) {
  if (o.model.empty()) {
    fail(ErrorCode::invalid_argument, "no model given; try 'vramcalc llama3-70b' or 'vramcalc list models'");
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool looks_like_path = o.model.ends_with(".json") || o.model.find('/') != std::string::npos ||
                               o.model.starts_with(".");
  if (io::is_model_files_path(o.model)) {
    io::ModelFiles mf = value_or_fail(io::open_model_files(o.model));
    return {std::move(mf.spec), std::move(mf.warnings), std::move(mf.format)};
  }
  if (fs::is_directory(o.model, ec)) {
    const fs::path config = fs::path(o.model) / "config.json";
    if (!fs::is_regular_file(config, ec)) {
      fail(ErrorCode::io, "'" + o.model + "' is a directory without a config.json");
    }
    const std::string text = value_or_fail(io::read_text_file(config.string(), ErrorCode::invalid_model));
    std::string id = to_lower(fs::path(o.model).lexically_normal().filename().string());
    if (id.empty() || id == ".") id = to_lower(fs::absolute(o.model).lexically_normal().parent_path().filename().string());
    auto imported = value_or_fail(io::parse_hf_config(text, config.string(), id));
    return {std::move(imported.spec), std::move(imported.warnings), std::nullopt};
  }
  if (fs::is_regular_file(o.model, ec)) {
    const std::string text = value_or_fail(io::read_text_file(o.model, ErrorCode::invalid_model));
    if (io::looks_like_hf_config(text)) {
      const fs::path p(o.model);
      std::string id = p.filename() == "config.json" ? p.parent_path().filename().string() : p.stem().string();
      if (id.empty()) id = "model";
      auto imported = value_or_fail(io::parse_hf_config(text, o.model, to_lower(id)));
      return {std::move(imported.spec), std::move(imported.warnings), std::nullopt};
    }
    return {value_or_fail(io::parse_model_spec(text, o.model)), {}, std::nullopt};
  }
  auto found = c.find_model(o.model);
  std::optional<io::Catalog> whole;
  if (!found && c.partial) {
    // Suggestions for an unknown name come from the whole catalog.
    whole = load_catalog(o);
    found = whole->find_model(o.model);
  }
  if (!found && looks_like_path) fail(ErrorCode::io, "cannot read '" + o.model + "': No such file or directory");
  return {*value_or_fail(std::move(found)), {}, std::nullopt};
}

// "a,b,c" -> {"a", "b", "c"}; empty entries are an error naming the flag.
std::vector<std::string> split_list(std::string_view flag, const std::string& value) {
  std::vector<std::string> out;
  std::string_view rest = value;
  while (true) {
    const auto comma = rest.find(',');
    std::string_view one = rest.substr(0, comma);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
    if (one.empty()) fail(ErrorCode::invalid_argument, std::string(flag) + ": '" + value + "' has an empty entry");
    out.emplace_back(one);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

WeightFormat format_flag(const std::string& quant, const ModelSpec& model) {
  auto f = parse_weight_format(quant, model.dtype);
  if (f) return *f;
  std::vector<NameCandidate> cands;
  const auto names = weight_format_names();
  for (std::string_view n : names) cands.push_back({n, n});
  const auto sug = suggest(quant, cands);
  std::string msg = "--quant: " + f.error();
  msg += sug.empty() ? "; 'vramcalc list formats' shows them all" : "; did you mean: " + sug.front() + "?";
  fail(ErrorCode::invalid_argument, msg);
}

Dtype kv_flag(const std::string& kv, const ModelSpec& model) {
  // "auto" is vLLM's spelling of "the model's dtype".
  auto d = iequals(kv, "auto") ? std::optional<Dtype>(model.dtype) : parse_dtype(kv);
  if (!d || !traits(*d).kv_allowed) {
    fail(ErrorCode::invalid_argument,
         "--kv: unknown KV-cache dtype '" + kv +
             "'; known: fp32, fp16, bf16, fp8 (e4m3), fp8_e5m2, int8, int4, q8_0, q5_1, q5_0, q4_1, q4_0, iq4_nl");
  }
  return *d;
}

// "0.9" -> 9000 basis points; (0, 1] with at most four decimals.
std::uint32_t utilization_flag(const std::string& text) {
  auto bp = parse_percent_bp(text + "%");
  if (!bp || *bp == 0) {
    fail(ErrorCode::invalid_argument, "--gpu-memory-utilization: '" + text + "' is not a fraction between 0 and 1");
  }
  // parse_percent_bp read "0.9%" as 0.9 percent = 90 bp; a fraction is 100 times that.
  const std::uint64_t v = *bp * 100;
  if (v > 10000) fail(ErrorCode::invalid_argument, "--gpu-memory-utilization: '" + text + "' is more than 1");
  return static_cast<std::uint32_t>(v);
}

// llama.cpp's cache types (llama-server --cache-type-k/-v: f32 f16 bf16 q8_0 q4_0 q4_1 iq4_nl q5_0 q5_1).
constexpr Dtype llamacpp_kv_types[] = {Dtype::f32,  Dtype::f16,  Dtype::bf16,   Dtype::q8_0, Dtype::q4_0,
                                       Dtype::q4_1, Dtype::iq4_nl, Dtype::q5_0, Dtype::q5_1};

Dtype llamacpp_kv_flag(const std::string& flag, const std::string& text) {
  const auto d = parse_dtype(text);
  if (d && std::find(std::begin(llamacpp_kv_types), std::end(llamacpp_kv_types), *d) != std::end(llamacpp_kv_types)) {
    return *d;
  }
  fail(ErrorCode::invalid_argument,
       flag + ": llama.cpp has no '" + text + "' cache type; it has f32, f16, bf16, q8_0, q4_0, q4_1, iq4_nl, q5_0, q5_1");
}

// A GGUF mix, or a plain float format (llama.cpp loads it as a GGUF of that type).
bool llamacpp_format(const WeightFormat& f) {
  return f.kind == FormatKind::gguf || (f.kind == FormatKind::file && f.file && f.file->gguf) ||
         (f.kind == FormatKind::plain && (f.dtype == Dtype::f32 || f.dtype == Dtype::f16 || f.dtype == Dtype::bf16));
}

void apply_llamacpp_flags(const Options& o, Settings& s) {
  const bool flags = o.cache_type_k || o.cache_type_v || o.flash_attn || o.batch_size || o.ubatch_size ||
                     o.n_gpu_layers || o.n_cpu_moe || o.tensor_split || o.kv_unified || o.swa_full;
  if (flags && s.engine != EngineKind::llamacpp) {
    fail(ErrorCode::invalid_argument, "llama.cpp flags (--cache-type-k, --flash-attn, --n-gpu-layers, ...) need "
                                      "--engine llamacpp");
  }
  if (s.engine == EngineKind::llamacpp && s.gpus.empty()) {
    fail(ErrorCode::invalid_argument,
         "--engine llamacpp: say which GPU with --gpu (llama.cpp places layers by each GPU's memory)");
  }
  LlamaCppOptions& l = s.llamacpp;
  if (o.cache_type_k) l.type_k = llamacpp_kv_flag("--cache-type-k", *o.cache_type_k);
  if (o.cache_type_v) l.type_v = llamacpp_kv_flag("--cache-type-v", *o.cache_type_v);
  if (o.flash_attn) {
    const std::string f = to_lower(*o.flash_attn);
    if (f == "on" || f == "1" || f == "true") l.flash_attn = FlashAttn::on;
    else if (f == "off" || f == "0" || f == "false") l.flash_attn = FlashAttn::off;
    else if (f == "auto") l.flash_attn = FlashAttn::automatic;
    else fail(ErrorCode::invalid_argument, "--flash-attn: '" + *o.flash_attn + "' is not on, off or auto");
  }
  l.kv_unified = o.kv_unified;
  l.swa_full = o.swa_full;
  if (o.batch_size) l.n_batch = static_cast<std::uint32_t>(flag_value("--batch-size", parse_count(*o.batch_size, 1u << 24)));
  if (o.ubatch_size) {
    l.n_ubatch = static_cast<std::uint32_t>(flag_value("--ubatch-size", parse_count(*o.ubatch_size, 1u << 24)));
  }
  if (o.n_gpu_layers) {
    const std::string n = to_lower(*o.n_gpu_layers);
    if (n != "all" && n != "auto" && n != "-1") {
      const auto v = parse_count(n, 1u << 20);
      if (!v && n == "0") l.n_gpu_layers = 0;
      else l.n_gpu_layers = static_cast<std::uint32_t>(flag_value("--n-gpu-layers", v));
    }
  }
  if (o.n_cpu_moe) {
    // 0: none (llama-server's default); "all": every layer (--cpu-moe).
    const std::string n = to_lower(*o.n_cpu_moe);
    l.n_cpu_moe = n == "0" ? 0u : n == "all" ? (1u << 20) : static_cast<std::uint32_t>(flag_value("--n-cpu-moe", parse_count(n, 1u << 20)));
  }
  if (o.tensor_split) {
    for (const std::string& part : split_list("--tensor-split", *o.tensor_split)) {
      l.tensor_split.push_back(static_cast<std::uint32_t>(flag_value("--tensor-split", parse_count(part, 1u << 20))));
    }
    std::uint32_t count = 0;
    for (const GpuRequest& g : s.gpus) count += std::max<std::uint32_t>(1, g.count);
    if (l.tensor_split.size() > count) {
      fail(ErrorCode::invalid_argument, "--tensor-split: " + std::to_string(l.tensor_split.size()) + " shares for " +
                                            std::to_string(count) + " GPU" + (count == 1 ? "" : "s"));
    }
  }
}

void apply_engine_flags(const Options& o, const ModelSpec& model, Settings& s) {
  if (o.engine == "vllm") s.engine = EngineKind::vllm;
  else if (o.engine == "llamacpp" || o.engine == "llama.cpp") s.engine = EngineKind::llamacpp;
  if (o.tp || o.pp || o.ep) {
    Parallel p;
    if (o.tp) p.tp = static_cast<std::uint32_t>(flag_value("--tp", parse_count(*o.tp, 1024)));
    if (o.pp) p.pp = static_cast<std::uint32_t>(flag_value("--pp", parse_count(*o.pp, 1024)));
    p.expert_parallel = o.ep;
    if (const std::string why = parallel_problem(model, p); !why.empty()) {
      fail(ErrorCode::invalid_argument, "--tp/--pp: " + why);
    }
    for (const GpuRequest& g : s.gpus) {
      if (g.count != 0 && g.count != p.gpus()) {
        fail(ErrorCode::invalid_argument, "--gpu: " + std::to_string(g.count) + "x" + g.gpu.id + " but --tp " +
                                              std::to_string(p.tp) + " --pp " + std::to_string(p.pp) + " use " +
                                              std::to_string(p.gpus()) + " GPUs");
      }
    }
    s.parallel = p;
  }
  const bool vllm_flags = o.gpu_memory_utilization || o.block_size || o.max_num_seqs || o.max_num_batched_tokens ||
                          o.kv_cache_memory || o.vllm_version || o.enforce_eager;
  if (vllm_flags && s.engine != EngineKind::vllm) {
    fail(ErrorCode::invalid_argument, "vLLM flags (--gpu-memory-utilization, --block-size, --max-num-seqs, ...) "
                                      "need --engine vllm");
  }
  if (s.engine == EngineKind::vllm && s.gpus.empty()) {
    fail(ErrorCode::invalid_argument, "--engine vllm: say which GPU with --gpu (vLLM sizes its KV cache from the GPU's memory)");
  }
  VllmOptions& v = s.vllm;
  if (o.gpu_memory_utilization) v.utilization_bp = utilization_flag(*o.gpu_memory_utilization);
  if (o.block_size) {
    const auto b = flag_value("--block-size", parse_count(*o.block_size, 4096));
    if ((b & (b - 1)) != 0) fail(ErrorCode::invalid_argument, "--block-size: '" + *o.block_size + "' is not a power of two");
    v.block_size = static_cast<std::uint32_t>(b);
  }
  if (o.max_num_seqs) v.max_num_seqs = flag_value("--max-num-seqs", parse_count(*o.max_num_seqs, 1ull << 24));
  if (o.max_num_batched_tokens) {
    v.max_num_batched_tokens = flag_value("--max-num-batched-tokens", parse_tokens(*o.max_num_batched_tokens));
  }
  if (o.kv_cache_memory) v.kv_cache_memory_bytes = flag_value("--kv-cache-memory", parse_size(*o.kv_cache_memory));
  if (o.vllm_version) {
    std::string_view t = *o.vllm_version;
    if (t.starts_with("v")) t.remove_prefix(1);
    const auto dot = t.find('.');
    auto major = parse_count(std::string(t.substr(0, dot)) == "0" ? "1" : std::string(t.substr(0, dot)), 99);
    std::string minor_text = dot == std::string_view::npos ? "0" : std::string(t.substr(dot + 1));
    if (const auto dot2 = minor_text.find('.'); dot2 != std::string::npos) minor_text = minor_text.substr(0, dot2);
    const bool zero_major = t.substr(0, dot) == "0";
    auto minor = minor_text == "0" ? std::expected<std::uint64_t, std::string>(0) : parse_count(minor_text, 999);
    if (!major || !minor || dot == std::string_view::npos) {
      fail(ErrorCode::invalid_argument, "--vllm-version: '" + *o.vllm_version + "' is not a version like 0.11 or 0.21.1");
    }
    v.version_major = zero_major ? 0 : static_cast<std::uint32_t>(*major);
    v.version_minor = static_cast<std::uint32_t>(*minor);
  }
  v.enforce_eager = o.enforce_eager;
  apply_llamacpp_flags(o, s);
}

// The most combinations one sweep may ask for.
constexpr std::size_t max_sweep = 10000;

// The most layer-estimates (estimates x the model's layers) one command may ask for. An
// estimate walks every layer and its tensors for each GPU layout it tries, so its time grows
// with the layers: under the 10,000-combination cap alone a 372-byte GGUF declaring 65,536
// layers took 28 s for 100 contexts, and could take an hour. 2,000,000 holds every catalog
// model at the cap (126 layers x 10,000 = 1,260,000). docs/reliability.md, "Bounded work".
constexpr std::uint64_t max_layer_estimates = 2'000'000;
// Estimates of the searches: --max-ctx / --max-batch double then bisect (at most ~80 each);
// the "would fit with" suggestions add those, the formats, three KV dtypes and GPU counts.
constexpr std::uint64_t search_estimates = 80;
constexpr std::uint64_t suggestion_estimates = 250;
// Suggestions are not asked for: they are searched only while they stay cheap (models of up
// to 1,024 layers).
constexpr std::uint64_t max_unasked_layer_estimates = 256'000;

bool within_work(const ModelSpec& model, std::uint64_t estimates, std::uint64_t budget = max_layer_estimates) {
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
KvPolicy kv_policy_flag(const std::string& text) {
  KvPolicy p;
  const std::string flag = "--kv-policy";
  const auto colon = text.find(':');
  const std::string kind = to_lower(text.substr(0, colon));
  std::map<std::string, std::string> params;
  if (colon != std::string::npos) {
    for (const std::string& kv : split_list(flag, text.substr(colon + 1))) {
      const auto eq = kv.find('=');
      if (eq == std::string::npos) fail(ErrorCode::invalid_argument, flag + ": '" + kv + "' is not key=value");
      params[to_lower(kv.substr(0, eq))] = kv.substr(eq + 1);
    }
  }
  auto take = [&](const std::string& key, std::uint64_t fallback) -> std::uint64_t {
    auto it = params.find(key);
    if (it == params.end()) return fallback;
    const std::string v = it->second;
    params.erase(it);
    return flag_value(flag + " " + key, parse_tokens(v));
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
        fail(ErrorCode::invalid_argument, flag + ": ratio '" + it->second + "' is not a fraction between 0 and 1");
      }
      p.ratio_bp = static_cast<std::uint32_t>(*bp * 100);
      params.erase(it);
    } else {
      p.budget = take("budget", 2048);
    }
  } else {
    fail(ErrorCode::invalid_argument, flag + ": unknown policy '" + kind + "'; known: streaming, h2o, none");
  }
  if (!params.empty()) {
    fail(ErrorCode::invalid_argument, flag + ": unknown parameter '" + params.begin()->first + "' for " + kind);
  }
  return p;
}

// What every estimating command reads from the flags: the model, the lists to sweep, and
// the settings they share.
struct Workload {
  ResolvedModel resolved;
  std::vector<WeightFormat> formats;
  std::vector<Dtype> kvs;
  std::vector<std::uint64_t> ctxs;
  std::vector<std::uint64_t> batches;
  Settings base;
};

Workload read_workload(const Options& o, const io::Catalog& catalog) {
  Workload w{resolve_model(o, catalog), {}, {}, {}, {}, {}};
  const ModelSpec& model = w.resolved.spec;
  // Every flag may hold a comma list; more than one value anywhere makes a sweep.
  const bool llamacpp = o.engine == "llamacpp" || o.engine == "llama.cpp";
  if (o.quant && iequals(*o.quant, "all")) {
    for (std::string_view n : listed_weight_formats()) {
      WeightFormat f = format_flag(std::string(n), model);
      if (!llamacpp || llamacpp_format(f)) w.formats.push_back(std::move(f));
    }
  } else {
    std::string native = model.weights_format.value_or(std::string(traits(model.dtype).name));
    // llama.cpp's GGUF of a checkpoint keeps its dtype; gpt-oss ships MXFP4 experts.
    if (llamacpp && !o.quant) native = native == "mxfp4" ? "mxfp4_moe" : std::string(traits(model.dtype).name);
    const std::string quant = o.quant.value_or(native);
    for (const std::string& q : split_list("--quant", quant)) {
      // Without -q (or with -q file) the weights are the files' own.
      if (w.resolved.file_format && (!o.quant || iequals(q, "file"))) {
        w.formats.push_back(*w.resolved.file_format);
        if (llamacpp && !llamacpp_format(w.formats.back())) {
          fail(ErrorCode::invalid_argument, "--engine llamacpp: llama.cpp runs GGUF files, not safetensors; give -q "
                                            "with a GGUF type (q8_0, q4_k_m, ...) to size a conversion");
        }
        continue;
      }
      w.formats.push_back(format_flag(q, model));
      if (llamacpp && !llamacpp_format(w.formats.back())) {
        fail(ErrorCode::invalid_argument, "--quant: llama.cpp runs GGUF files and '" + q +
                                              "' is not a GGUF type; use one such as q8_0, q6_k, q4_k_m, iq4_xs or bf16");
      }
    }
  }
  if (llamacpp && o.kv) {
    for (const std::string& k : split_list("--kv", *o.kv)) w.kvs.push_back(llamacpp_kv_flag("--kv", k));
  } else if (llamacpp) {
    w.kvs.push_back(Dtype::f16); // llama.cpp's default cache type
  } else {
    for (const std::string& k : o.kv ? split_list("--kv", *o.kv) : std::vector<std::string>{"auto"}) {
      w.kvs.push_back(kv_flag(k, model));
    }
  }
  if (!o.ctx && model.max_context == 0) {
    fail(ErrorCode::invalid_argument, "--ctx: the model gives no maximum context; say how many tokens with --ctx");
  }
  if (o.ctx) {
    for (const std::string& c : split_list("--ctx", *o.ctx)) w.ctxs.push_back(flag_value("--ctx", parse_tokens(c)));
  } else {
    w.ctxs.push_back(model.max_context);
  }
  for (const std::string& b : o.batch ? split_list("--batch", *o.batch) : std::vector<std::string>{"1"}) {
    w.batches.push_back(flag_value("--batch", parse_count(b, 1ull << 32)));
  }
  const std::uint64_t combos = w.formats.size() * w.kvs.size() * w.ctxs.size() * w.batches.size();
  if (combos > max_sweep) {
    fail(ErrorCode::invalid_argument, "the flags ask for " + std::to_string(combos) +
                                          " combinations; a sweep is limited to " + std::to_string(max_sweep));
  }
  check_work(model, combos, "the flags ask for");
  if (o.overhead) {
    w.base.overhead_bytes = flag_value("--overhead", parse_size(*o.overhead));
    w.base.overhead_given = true;
  }
  if (o.kv_policy) w.base.kv_policy = kv_policy_flag(*o.kv_policy);
  w.base.gpus = gpu_requests(o, catalog);
  apply_engine_flags(o, model, w.base);
  w.base.weights = w.formats.front();
  w.base.kv_dtype = w.kvs.front();
  w.base.context_tokens = w.ctxs.front();
  w.base.batch = w.batches.front();
  return w;
}

std::vector<WeightFormat> quality_order(const ModelSpec& model, const Settings& s) {
  std::vector<WeightFormat> out;
  for (std::string_view n : listed_weight_formats()) {
    WeightFormat f = format_flag(std::string(n), model);
    if (s.engine != EngineKind::llamacpp || llamacpp_format(f)) out.push_back(std::move(f));
  }
  return out;
}

// Names the model and the workload: which of them is absurd is for the reader to see.
std::string overflow_message(const ModelSpec& model, const Settings& s, const EstimateError& e) {
  return model.id + " at " + with_commas(s.context_tokens) + " tokens \u00d7 " + with_commas(s.batch) +
         (s.batch == 1 ? " sequence: " : " sequences: ") + e.message;
}

Report estimate_or_fail(const ModelSpec& model, const Settings& s, const io::Catalog& catalog,
                        const std::vector<std::string>& warnings, const PreparedWeights* prepared = nullptr) {
  auto report = prepared != nullptr ? estimate(s, catalog.gpus, *prepared) : estimate(model, s, catalog.gpus);
  if (!report) fail(ErrorCode::overflow, overflow_message(model, s, report.error()));
  for (const std::string& w : warnings) report->notes.insert(report->notes.begin(), "Import: " + w);
  return std::move(*report);
}

// Writes `text` to `path` whole or not at all, never over a device, FIFO, link or another
// user's file (io::write_output_file).
void write_file_atomically(const std::string& path, const std::string& text, const std::string& flag) {
  if (auto w = io::write_output_file(path, text); !w) fail(w.error().code, flag + ": " + w.error().message);
}

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
  p.subtitle = fmt::format("weights {}, KV cache {}, batch {}, {} overhead; lines: total on one GPU",
                           by_format ? std::string("as labelled") : w.formats.front().id,
                           by_kv ? std::string("as labelled") : std::string(dtype_display(w.kvs.front())),
                           by_batch ? std::string("as labelled") : std::to_string(w.batches.front()),
                           format_bytes(w.base.overhead_bytes, UnitSystem::binary));
  if (!w.base.gpus.empty()) {
    for (const GpuRequest& g : w.base.gpus) {
      const std::uint32_t n = std::max<std::uint32_t>(1, g.count);
      p.capacities.emplace_back(fmt::format("{}{}", n > 1 ? std::to_string(n) + "\u00d7 " : "", g.gpu.name),
                                checked_mul(usable_bytes(g.gpu), n));
    }
  } else {
    for (const char* id : {"rtx-4090", "l40s", "h100-sxm", "h200"}) {
      if (auto g = catalog.find_gpu(id)) p.capacities.emplace_back((*g)->name, usable_bytes(**g));
    }
  }
  return render_plot_svg(p, o.si ? UnitSystem::si : UnitSystem::binary);
}

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
          reports.push_back(estimate_or_fail(model, s, catalog, w.resolved.warnings, &prepared[fi]));
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
      const std::uint64_t align = s.engine == EngineKind::vllm ? 16 : s.engine == EngineKind::llamacpp ? 256 : 1;
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
    if (o.format != "table") return {render_reports(std::span<const Report>(&r, 1), o.format, render_options(o)), 0};
    return {render_table(r, render_options(o)), 0};
  }
  SweepAxes axes;
  axes.context = w.ctxs.size() > 1;
  axes.quant = w.formats.size() > 1;
  axes.kv = w.kvs.size() > 1;
  axes.batch = w.batches.size() > 1;
  if (o.json) return {render_sweep_json(reports), 0};
  if (o.format != "table") return {render_reports(reports, o.format, render_options(o)), 0};
  return {render_sweep_table(reports, axes, render_options(o)), 0};
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
    (void)estimate_or_fail(w.resolved.spec, s, catalog, {});
  }
  check_work(w.resolved.spec, w.formats.size(), "plan: the formats ask for");
  const auto options = plan(w.resolved.spec, w.base, catalog.gpus, w.formats);
  if (o.json) return {render_plan_json(options, w.base, w.resolved.spec), 0};
  if (o.format != "table") return {render_tabular(render_plan_json(options, w.base, w.resolved.spec), "plans", o.format), 0};
  return {render_plan(options, w.base, w.resolved.spec, render_options(o)), 0};
}

Outcome run_explain(const Options& o) {
  if (o.json || o.format != "table") {
    fail(ErrorCode::invalid_argument, "explain: prints the arithmetic as text; for JSON run the estimate: vramcalc MODEL --json");
  }
  if (o.engine != "generic") {
    fail(ErrorCode::invalid_argument, "explain: shows the model's own arithmetic (--engine generic); what " + o.engine +
                                          " allocates is the engine section of 'vramcalc MODEL --engine " + o.engine + "'");
  }
  const io::Catalog catalog = load_catalog(o, std::vector<std::string>{o.model});
  Workload w = read_workload(o, catalog);
  if (w.formats.size() * w.kvs.size() * w.ctxs.size() * w.batches.size() > 1) {
    fail(ErrorCode::invalid_argument, "explain: give one -q, --kv, --ctx and --batch, not a list");
  }
  auto e = explain(w.resolved.spec, w.base, catalog.gpus);
  if (!e) fail(ErrorCode::overflow, overflow_message(w.resolved.spec, w.base, e.error()));
  return {render_explain(*e, render_options(o)), 0};
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
    reports.push_back(estimate_or_fail(w.resolved.spec, w.base, catalog, w.resolved.warnings));
  }
  if (o.json) return {render_sweep_json(reports), 0};
  if (o.format != "table") return {render_reports(reports, o.format, render_options(o)), 0};
  return {render_compare(reports, render_options(o)), 0};
}

Outcome run_list(const Options& o) {
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
    return {render_format_list(entries, model.name, render_options(o)), 0};
  }
  if (o.list_what == "gpus") {
    if (o.json) return {render_gpu_list_json(catalog.gpus, catalog.gpu_revision), 0};
    if (o.format != "table") {
      return {render_tabular(render_gpu_list_json(catalog.gpus, catalog.gpu_revision), "gpus", o.format), 0};
    }
    return {render_gpu_list(catalog.gpus, render_options(o)), 0};
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
  return {render_model_list(entries, render_options(o)), 0};
}

Outcome run_inspect(const Options& o) {
  if (o.model.empty()) fail(ErrorCode::invalid_argument, "inspect: give a GGUF or safetensors file, or a model directory");
  if (!io::is_model_files_path(o.model)) {
    std::error_code ec;
    if (!std::filesystem::exists(o.model, ec)) {
      fail(ErrorCode::io, "inspect: cannot read '" + o.model + "': No such file or directory");
    }
    fail(ErrorCode::invalid_argument, "inspect: '" + o.model +
                                          "' is not a .gguf, .safetensors or .safetensors.index.json file, nor a "
                                          "directory holding them");
  }
  // A bare safetensors file (no config.json beside it): its tensors by dtype, no architecture.
  {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path p(o.model);
    const bool st = !fs::is_directory(p, ec) && !o.model.ends_with(".gguf");
    const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
    if (st && !fs::exists(dir / "config.json", ec)) {
      const io::SafetensorsSet set = value_or_fail(o.model.ends_with(".json") ? io::read_safetensors_index(o.model)
                                                                              : io::read_safetensors_file(o.model));
      InspectReport r;
      r.kind = "safetensors";
      r.files = set.files.empty() ? std::vector<std::string>{o.model} : set.files;
      for (const auto& [k, v] : set.metadata) r.facts.emplace_back("__metadata__." + k, v);
      std::map<std::string, InspectGroup> by_type;
      for (const io::SafetensorsTensor& t : set.tensors) {
        InspectGroup& g = by_type[t.dtype];
        g.group = "dtype " + t.dtype;
        g.types = t.dtype;
        ++g.tensors;
        g.params = checked_add(g.params, t.elements(), "the element count");
        g.bytes = checked_add(g.bytes, t.bytes(), "the tensor bytes");
      }
      for (auto& [k, g] : by_type) r.groups.push_back(g);
      r.tensor_count = set.tensors.size();
      r.tensor_bytes = set.tensor_bytes();
      r.file_bytes = set.file_bytes;
      r.warnings.push_back("no config.json beside the file: the architecture is unknown, tensors are listed by dtype "
                           "(params: stored elements)");
      if (o.json) return {render_inspect_json(r), 0};
      if (o.format != "table") return {render_tabular(render_inspect_json(r), "groups", o.format), 0};
      return {render_inspect(r, render_options(o)), 0};
    }
  }
  io::ModelFiles mf = value_or_fail(io::open_model_files(o.model));
  const ModelSpec& spec = mf.spec;
  InspectReport r;
  r.kind = mf.kind;
  r.files = mf.files;
  r.facts = mf.facts;
  r.arch = spec.arch;
  r.vocab_size = spec.vocab_size;
  Settings s;
  s.weights = mf.format;
  s.kv_dtype = mf.kind == "gguf" ? Dtype::f16 : spec.dtype; // llama.cpp's default cache type
  s.context_tokens = std::max<std::uint64_t>(1, spec.max_context);
  auto est = estimate(spec, s, {});
  if (!est) fail(ErrorCode::overflow, overflow_message(spec, s, est.error()));
  r.model = est->model;
  r.kv_dtype = est->settings.kv_display;
  r.kv_bytes_per_token = est->memory.kv_bytes_per_token;
  r.state_bytes_per_sequence = est->memory.state_bytes;
  r.file_bytes = mf.format.file ? mf.format.file->file_bytes : 0;
  r.tensor_bytes = mf.tensor_bytes;
  r.tensor_count = mf.tensors.size();
  r.missing_count = mf.missing_count;
  r.warnings = mf.warnings;
  // Per group, in TensorGroup order; parameters from the model's tensors, counted once each.
  std::map<std::string, std::uint64_t> elements;
  for (const Tensor& t : model_tensors(spec)) elements[t.gguf_name()] = t.elements();
  constexpr std::size_t n_groups = static_cast<std::size_t>(TensorGroup::other) + 1;
  std::array<InspectGroup, n_groups> groups{};
  std::array<std::set<std::string>, n_groups> types;
  std::set<std::string> counted;
  for (const io::FileTensorInfo& t : mf.tensors) {
    const auto g = static_cast<std::size_t>(t.group);
    InspectGroup& ig = groups[g];
    ig.group = std::string(tensor_group_name(t.group));
    ++ig.tensors;
    ig.bytes = checked_add(ig.bytes, t.bytes, "the tensor bytes");
    types[g].insert(t.type);
    if (t.mapped.empty()) {
      ig.params = checked_add(ig.params, t.elements, "the parameter count");
      r.unmatched.push_back(t.name);
    } else if (counted.insert(t.mapped).second) {
      ig.params = checked_add(ig.params, elements[t.mapped], "the parameter count");
    }
  }
  for (std::size_t g = 0; g < n_groups; ++g) {
    if (groups[g].tensors == 0) continue;
    for (const std::string& ty : types[g]) groups[g].types += (groups[g].types.empty() ? "" : "+") + ty;
    r.groups.push_back(groups[g]);
  }
  if (o.json) return {render_inspect_json(r), 0};
  if (o.format != "table") return {render_tabular(render_inspect_json(r), "groups", o.format), 0};
  return {render_inspect(r, render_options(o)), 0};
}

// ---- check ------------------------------------------------------------------------

// A deployment's keys as the flags they stand for; the same checks then apply.
Options deployment_options(const Options& base, const io::Deployment& d) {
  Options o;
  o.models_dirs = base.models_dirs;
  o.gpu_mem = base.gpu_mem;
  o.si = base.si;
  o.color = base.color;
  const auto get = [&](const char* k) -> std::optional<std::string> {
    const auto it = d.keys.find(k);
    return it == d.keys.end() ? std::nullopt : std::optional<std::string>(it->second.text);
  };
  const auto opt = [&](const char* k) -> std::optional<std::string> {
    const auto it = d.engine_options.find(k);
    return it == d.engine_options.end() ? std::nullopt : std::optional<std::string>(it->second.text);
  };
  const auto boolean = [&](const char* k, const io::DeployValue& v) {
    std::string t = to_lower(v.text);
    if (t == "true" || t == "yes" || t == "on" || t == "1") return true;
    if (t == "false" || t == "no" || t == "off" || t == "0") return false;
    fail(ErrorCode::invalid_argument, std::string("--") + k + ": '" + v.text + "' is not true or false");
  };
  o.model = get("model").value_or("");
  o.quant = get("quant");
  o.kv = get("kv_dtype");
  o.ctx = get("context");
  o.batch = get("batch");
  o.engine = to_lower(get("engine").value_or("generic"));
  if (o.engine != "generic" && o.engine != "vllm" && o.engine != "llamacpp" && o.engine != "llama.cpp") {
    fail(ErrorCode::invalid_argument, "--engine: '" + o.engine + "' is not generic, vllm or llamacpp");
  }
  if (auto g = get("gpu")) o.gpus.push_back(*g);
  o.tp = get("tp");
  o.pp = get("pp");
  if (auto it = d.keys.find("ep"); it != d.keys.end()) o.ep = boolean("ep", it->second);
  o.overhead = get("overhead");
  o.kv_policy = get("kv_policy");
  o.gpu_memory_utilization = opt("gpu_memory_utilization");
  o.max_num_seqs = opt("max_num_seqs");
  o.max_num_batched_tokens = opt("max_num_batched_tokens");
  o.kv_cache_memory = opt("kv_cache_memory");
  o.block_size = opt("block_size");
  o.vllm_version = opt("version");
  if (auto it = d.engine_options.find("enforce_eager"); it != d.engine_options.end()) {
    o.enforce_eager = boolean("enforce_eager", it->second);
  }
  o.cache_type_k = opt("cache_type_k");
  o.cache_type_v = opt("cache_type_v");
  o.flash_attn = opt("flash_attn");
  o.batch_size = opt("batch_size");
  o.ubatch_size = opt("ubatch_size");
  o.n_gpu_layers = opt("n_gpu_layers");
  o.n_cpu_moe = opt("n_cpu_moe");
  o.tensor_split = opt("tensor_split");
  if (auto it = d.engine_options.find("kv_unified"); it != d.engine_options.end()) o.kv_unified = boolean("kv_unified", it->second);
  if (auto it = d.engine_options.find("swa_full"); it != d.engine_options.end()) o.swa_full = boolean("swa_full", it->second);
  return o;
}

// "--quant: unknown ..." from the flag checks -> "deploy.yaml:5:12: deployments[0].quant: unknown ...".
std::string locate(const io::Deployment& d, const std::string& message) {
  static const std::pair<std::string_view, std::string_view> flags[] = {
      {"--quant", "quant"}, {"--kv", "kv_dtype"}, {"--ctx", "context"}, {"--batch", "batch"}, {"--gpu", "gpu"},
      {"--tp/--pp", "tp"}, {"--tp", "tp"}, {"--pp", "pp"}, {"--overhead", "overhead"}, {"--kv-policy", "kv_policy"},
      {"--engine", "engine"}, {"--ep", "ep"},
      {"--gpu-memory-utilization", "gpu_memory_utilization"}, {"--max-num-seqs", "max_num_seqs"},
      {"--max-num-batched-tokens", "max_num_batched_tokens"}, {"--kv-cache-memory", "kv_cache_memory"},
      {"--block-size", "block_size"}, {"--vllm-version", "version"}, {"--enforce_eager", "enforce_eager"},
      {"--cache-type-k", "cache_type_k"}, {"--cache-type-v", "cache_type_v"}, {"--flash-attn", "flash_attn"},
      {"--batch-size", "batch_size"}, {"--ubatch-size", "ubatch_size"}, {"--n-gpu-layers", "n_gpu_layers"},
      {"--n-cpu-moe", "n_cpu_moe"}, {"--tensor-split", "tensor_split"}, {"--kv_unified", "kv_unified"},
      {"--swa_full", "swa_full"}, {"--headroom", "headroom"}};
  for (const auto& [flag, key] : flags) {
    const std::string prefix = std::string(flag) + ": ";
    if (!message.starts_with(prefix)) continue;
    const auto it = d.keys.contains(std::string(key)) ? d.keys.find(std::string(key)) : d.engine_options.find(std::string(key));
    if (it == d.keys.end() || it == d.engine_options.end()) break;
    const io::DeployValue& v = it->second;
    return (v.where.empty() ? "" : v.where + ": ") + v.path + ": " + message.substr(prefix.size());
  }
  // Model resolution and anything else: the deployment as a whole.
  const auto m = d.keys.find("model");
  if (m != d.keys.end() && message.find(m->second.text) != std::string::npos) {
    return (m->second.where.empty() ? "" : m->second.where + ": ") + m->second.path + ": " + message;
  }
  return (d.where.empty() ? d.file : d.where) + ": " + d.name + ": " + message;
}

std::string deployment_text(const CheckEntry& e) {
  std::string layout;
  if (e.engine == "llamacpp") layout = e.count > 1 ? ", layers split" : "";
  else if (e.tp * e.pp > 1) layout = fmt::format(", tp {} pp {}", e.tp, e.pp);
  return fmt::format("{}\u00d7 {}{}{}", e.count, e.gpu_name, layout, e.engine == "generic" ? "" : ", " + e.engine);
}

// Headroom asked: "5%" of a GPU's usable memory, or a size.
std::uint64_t headroom_bytes(const std::string& text, std::uint64_t usable) {
  if (text.ends_with("%")) {
    auto bp = parse_percent_bp(text);
    if (!bp || *bp > 10000) fail(ErrorCode::invalid_argument, "--headroom: '" + text + "' is not a percentage up to 100%");
    return usable / 10000 * *bp + usable % 10000 * *bp / 10000; // floor(usable x bp / 10^4), no overflow
  }
  return flag_value("--headroom", parse_size(text));
}

CheckEntry check_one(const Options& base, const io::Deployment& d, const io::Catalog& catalog) {
  CheckEntry e;
  e.name = d.name;
  e.file = d.file;
  e.where = d.where;
  e.index = d.index;
  e.ignored = d.ignored;
  try {
    const Options o = deployment_options(base, d);
    if (o.gpus.empty() && !o.gpu_mem) fail(ErrorCode::invalid_argument, "--gpu: a deployment needs its GPUs (gpu: 4xh100)");
    Workload w = read_workload(o, catalog);
    if (w.formats.size() * w.kvs.size() * w.ctxs.size() * w.batches.size() != 1) {
      fail(ErrorCode::invalid_argument, "--quant: a deployment is one configuration, not a list");
    }
    if (w.base.gpus.size() != 1) fail(ErrorCode::invalid_argument, "--gpu: a deployment runs on one kind of GPU");
    e.report = estimate_or_fail(w.resolved.spec, w.base, catalog, w.resolved.warnings);
    const Report& r = e.report;
    const FitRow& row = r.fit.front();
    e.engine = r.engine ? r.engine->name : "generic";
    e.gpu = row.gpu;
    e.gpu_name = row.gpu_name;
    e.count = row.count;
    e.tp = row.tp;
    e.pp = row.pp;
    e.usable_bytes = row.usable_bytes;
    const std::string asked = d.keys.contains("headroom") ? d.keys.at("headroom").text : base.headroom.value_or("0");
    try {
      e.required_headroom_bytes = headroom_bytes(asked, row.usable_bytes);
    } catch (const CliError& err) {
      throw CliError{{err.error.code, "--headroom: " + err.error.message.substr(std::string("--headroom: ").size())}};
    }
    bool fits = false;
    const auto u = UnitSystem::binary;
    std::string why;
    if (r.engine && r.engine->name == "vllm") {
      const EngineSection& v = *r.engine;
      e.required_bytes_per_gpu = v.requested_bytes;
      // What vLLM leaves over: KV memory beyond `batch` full-length requests.
      const std::uint64_t need = checked_mul(v.needed_bytes, r.settings.batch);
      e.headroom_bytes = v.kv_cache_memory_bytes >= need
                             ? static_cast<std::int64_t>(v.kv_cache_memory_bytes - need)
                             : -static_cast<std::int64_t>(std::min<std::uint64_t>(need - v.kv_cache_memory_bytes, INT64_MAX));
      fits = v.fits && e.headroom_bytes >= static_cast<std::int64_t>(e.required_headroom_bytes);
      why = !v.starts ? fmt::format("vLLM would not start: one {}-token request needs {} of KV cache, {} is available",
                                    with_commas(r.settings.context_tokens), format_bytes(v.needed_bytes, u),
                                    format_bytes(v.kv_cache_memory_bytes, u))
            : !v.fits ? fmt::format("vLLM holds {:.2f} requests of {} tokens, {} asked", v.max_concurrency,
                                    with_commas(r.settings.context_tokens), r.settings.batch)
                      : fmt::format("vLLM starts; {:.2f} requests of {} tokens fit, {} asked", v.max_concurrency,
                                    with_commas(r.settings.context_tokens), r.settings.batch);
    } else if (r.engine && r.engine->name == "llamacpp") {
      const EngineSection& l = *r.engine;
      e.count = static_cast<std::uint32_t>(l.devices.size());
      e.tp = 1;
      e.pp = e.count;
      std::int64_t least = INT64_MAX;
      for (const EngineDevice& dev : l.devices) {
        e.required_bytes_per_gpu = std::max(e.required_bytes_per_gpu, dev.total_bytes);
        const std::int64_t h = dev.total_bytes <= dev.usable_bytes
                                   ? static_cast<std::int64_t>(dev.usable_bytes - dev.total_bytes)
                                   : -static_cast<std::int64_t>(std::min<std::uint64_t>(dev.total_bytes - dev.usable_bytes, INT64_MAX));
        least = std::min(least, h);
      }
      e.headroom_bytes = least == INT64_MAX ? 0 : least;
      fits = l.fits && e.headroom_bytes >= static_cast<std::int64_t>(e.required_headroom_bytes);
      why = !l.error.empty() ? "llama.cpp would " + std::string(l.aborts ? "abort" : "refuse") + ": " + l.error
                             : fmt::format("llama.cpp: {} on the busiest GPU of {} usable", format_bytes(e.required_bytes_per_gpu, u),
                                           format_bytes(e.usable_bytes, u));
    } else {
      e.required_bytes_per_gpu = row.required_bytes_per_gpu;
      e.headroom_bytes = row.headroom_bytes;
      fits = row.fits && row.headroom_bytes >= static_cast<std::int64_t>(e.required_headroom_bytes);
      why = !row.problem.empty() ? row.problem
                                 : fmt::format("{} per GPU of {} usable", format_bytes(row.required_bytes_per_gpu, u),
                                               format_bytes(row.usable_bytes, u));
    }
    e.status = fits ? CheckStatus::fits : CheckStatus::does_not_fit;
    std::string head = fmt::format("{}: {}", deployment_text(e), why);
    if (e.required_headroom_bytes > 0) {
      head += fmt::format("; {} {}{} {} {} required", e.engine == "vllm" ? "spare KV memory" : "headroom",
                          e.headroom_bytes >= 0 ? "" : "-",
                          format_bytes(static_cast<std::uint64_t>(e.headroom_bytes >= 0 ? e.headroom_bytes : -e.headroom_bytes), u),
                          e.headroom_bytes >= static_cast<std::int64_t>(e.required_headroom_bytes) ? "\u2265" : "<",
                          format_bytes(e.required_headroom_bytes, u));
    }
    e.message = head;
  } catch (const CliError& err) {
    throw CliError{{err.error.code, locate(d, err.error.message)}};
  }
  return e;
}

Outcome run_check(const Options& o) {
  const io::Catalog catalog = load_catalog(o);
  std::vector<io::Deployment> deployments;
  CheckReport report;
  for (const std::string& f : o.check_files) {
    const std::string text = value_or_fail(io::read_text_file(f, ErrorCode::io));
    auto parsed = value_or_fail(io::parse_deployments(text, f));
    for (io::Deployment& d : parsed) deployments.push_back(std::move(d));
    report.files.push_back(f);
  }
  const auto command = [&](std::expected<io::Deployment, Error> parsed) {
    io::Deployment d = value_or_fail(std::move(parsed));
    // The command line says nothing about the hardware or the workload: the flags do.
    if (!o.gpus.empty()) d.keys["gpu"] = {o.gpus.front(), "--gpu", ""};
    if (o.gpu_mem) d.keys.erase("gpu");
    if (o.batch && !d.keys.contains("batch")) d.keys["batch"] = {*o.batch, "--batch", ""};
    if (o.ctx && !d.keys.contains("context")) d.keys["context"] = {*o.ctx, "--ctx", ""};
    if (o.quant && !d.keys.contains("quant")) d.keys["quant"] = {*o.quant, "--quant", ""};
    if (o.headroom) d.keys["headroom"] = {*o.headroom, "--headroom", ""};
    deployments.push_back(std::move(d));
  };
  if (o.vllm_command) command(io::deployment_from_vllm(*o.vllm_command));
  if (o.llama_server_command) {
    auto d = io::deployment_from_llama_server(*o.llama_server_command);
    // A GGUF that is not on this machine (CI checks the command, not the file): the model
    // and the quant from its name, "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf".
    if (d) {
      io::DeployValue& m = d->keys["model"];
      std::error_code ec;
      if (m.text.ends_with(".gguf") && !std::filesystem::exists(m.text, ec)) {
        std::string stem = std::filesystem::path(m.text).stem().string();
        if (const auto split = stem.find("-00001-of-"); split != std::string::npos) stem.erase(split);
        for (const GgufFtypeTraits& t : gguf_ftypes()) {
          std::string name(t.name.starts_with("gguf-") ? t.name.substr(5) : t.name);
          const std::string lower = to_lower(stem);
          for (char sep : {'-', '.', '_'}) {
            if (lower.ends_with(sep + name)) {
              if (!d->keys.contains("quant")) d->keys["quant"] = {name, m.path, ""};
              stem.erase(stem.size() - name.size() - 1);
              break;
            }
          }
          if (d->keys.contains("quant")) break;
        }
        d->ignored.push_back("(" + m.text + " is not here: sized as '" + stem + "'" +
                             (d->keys.contains("quant") ? " " + d->keys["quant"].text : "") + " from its name)");
        m.text = stem;
      }
    }
    command(std::move(d));
  }
  if (deployments.empty()) {
    fail(ErrorCode::invalid_argument, "check: give deployment files, --vllm \"vllm serve ...\" or --llama-server \"llama-server ...\"");
  }
  if ((o.vllm_command || o.llama_server_command) && o.gpus.empty() && !o.gpu_mem) {
    fail(ErrorCode::invalid_argument, "check --vllm / --llama-server: say which GPUs with --gpu (e.g. --gpu 4xh100)");
  }
  for (const io::Deployment& d : deployments) {
    Options base = o;
    if (d.keys.contains("gpu")) base.gpu_mem.reset();
    report.entries.push_back(check_one(base, d, catalog));
  }
  const std::string format = o.json ? "json" : o.format;
  return {render_check(report, format, render_options(o)), report.ok() ? 0 : 1};
}

} // namespace

std::string version_text() {
  std::string out = std::string("vramcalc ") + VRAMCALC_VERSION;
  if (auto c = io::load_builtin_catalog()) {
    out += "\ncatalog: " + std::to_string(c->models.size()) + " models, " + std::to_string(c->gpus.size()) +
           " GPUs (GPU list revision " + c->gpu_revision + ")";
  }
  out += "\nengines modelled: vLLM 0.21 (0.6-0.21 with --vllm-version), llama.cpp 2026 builds";
  out += std::string("\nbuilt with ") +
#if defined(__clang__)
         "clang " __clang_version__
#elif defined(__GNUC__)
         "g++ " __VERSION__
#else
         "an unknown compiler"
#endif
         + ", " + VRAMCALC_BUILD_TYPE;
  return out;
}

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

} // namespace vramcalc::cli
