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
#include <sys/ioctl.h>
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

// The columns to lay text out in: COLUMNS when set, else the terminal's own width, else 100;
// never more than 100 (longer lines are harder to read) nor fewer than 40.
std::size_t terminal_width() {
  std::size_t columns = 0;
  if (const char* env = std::getenv("COLUMNS"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const unsigned long v = std::strtoul(env, &end, 10);
    if (end != nullptr && *end == '\0') columns = v;
  }
  struct winsize ws {};
  if (columns == 0 && ::isatty(STDOUT_FILENO) == 1 && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) columns = ws.ws_col;
  if (columns == 0) columns = 100;
  return std::clamp<std::size_t>(columns, 40, 100);
}

RenderOptions render_options(const Options& o) {
  const bool bars = o.bars == "always" || (o.bars == "auto" && ::isatty(STDOUT_FILENO) == 1);
  RenderOptions r{o.si ? UnitSystem::si : UnitSystem::binary, use_color(o.color), bars};
  r.width = terminal_width();
  r.all_gpus = o.all_gpus;
  return r;
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

std::vector<GpuRequest> gpu_requests(const Options& o, const io::Catalog& c, std::vector<std::string>* notes = nullptr) {
  std::vector<GpuRequest> out;
  for (const std::string& arg : o.gpus) {
    std::string_view rest = arg;
    while (true) {
      const auto comma = rest.find(',');
      const std::string_view one = rest.substr(0, comma);
      if (one.empty()) fail(ErrorCode::invalid_argument, "--gpu: '" + arg + "' has an empty entry");
      auto [count, name] = split_count("--gpu", one);
      auto g = c.find_gpu(name);
      if (!g) {
        // "h100x2", "h100*2": the count written after the name.
        std::size_t digits = name.size();
        while (digits > 0 && std::isdigit(static_cast<unsigned char>(name[digits - 1])) != 0) --digits;
        if (digits > 1 && digits < name.size() && (name[digits - 1] == 'x' || name[digits - 1] == 'X' || name[digits - 1] == '*')) {
          const std::string gpu = name.substr(0, digits - 1);
          if (c.find_gpu(gpu)) {
            fail(ErrorCode::unknown_gpu, "--gpu: unknown GPU '" + name + "'; did you mean " + name.substr(digits) + "x" +
                                             gpu + "? (the count comes first)");
          }
        }
        fail(ErrorCode::unknown_gpu, "--gpu: " + g.error().message);
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

// A model argument is a catalog name (or a hub name the catalog resolves), a vramcalc spec
// file, a Hugging Face config.json, model files, or a directory holding them.
struct ResolvedModel {
  ModelSpec spec;
  std::vector<std::string> warnings;       // from importing a config.json or files ("Import: ...")
  std::vector<std::string> notes;          // how the name was read
  std::optional<WeightFormat> file_format; // the model came from its weight files
  std::string format_source;               // where spec.weights_format comes from: config, catalog, repo name
  std::string checkpoint;                  // the hub name of the checkpoint resolved ("" for none)
  bool context_from_checkpoint = false;    // spec.max_context is the checkpoint's, not the model's
};

// Written as a path: catalog names do not shadow these, and these do not fall back to the catalog.
bool written_as_path(std::string_view m) {
  return m.starts_with("/") || m.starts_with("./") || m.starts_with("../") || m.starts_with("~") || m == "." ||
         m == ".." || m.ends_with(".json") || m.ends_with(".gguf") || m.ends_with(".safetensors");
}

ResolvedModel resolve_path(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (io::is_model_files_path(path)) {
    io::ModelFiles mf = value_or_fail(io::open_model_files(path));
    ResolvedModel r{std::move(mf.spec), std::move(mf.warnings), {}, std::move(mf.format), "file", "", false};
    return r;
  }
  if (fs::is_directory(path, ec)) {
    const fs::path config = fs::path(path) / "config.json";
    if (!fs::is_regular_file(config, ec)) fail(ErrorCode::io, "'" + path + "' is a directory without a config.json");
    const std::string text = value_or_fail(io::read_text_file(config.string(), ErrorCode::invalid_model));
    std::string id = to_lower(fs::path(path).lexically_normal().filename().string());
    if (id.empty() || id == ".") id = to_lower(fs::absolute(path).lexically_normal().parent_path().filename().string());
    auto imported = value_or_fail(io::parse_hf_config(text, config.string(), id));
    const bool quantized = imported.spec.weights_format.has_value();
    return {std::move(imported.spec), std::move(imported.warnings), {}, std::nullopt, quantized ? "config" : "", "", false};
  }
  const std::string text = value_or_fail(io::read_text_file(path, ErrorCode::invalid_model));
  if (io::looks_like_hf_config(text)) {
    const fs::path p(path);
    std::string id = p.filename() == "config.json" ? p.parent_path().filename().string() : p.stem().string();
    if (id.empty()) id = "model";
    auto imported = value_or_fail(io::parse_hf_config(text, path, to_lower(id)));
    const bool quantized = imported.spec.weights_format.has_value();
    return {std::move(imported.spec), std::move(imported.warnings), {}, std::nullopt, quantized ? "config" : "", "", false};
  }
  ModelSpec spec = value_or_fail(io::parse_model_spec(text, path));
  const bool quantized = spec.weights_format.has_value();
  return {std::move(spec), {}, {}, std::nullopt, quantized ? "catalog" : "", "", false};
}

// The hint for a name nobody knows: how to size the model anyway.
std::string unknown_model_hint(std::string_view name) {
  if (std::count(name.begin(), name.end(), '/') == 1 && name.find(' ') == std::string_view::npos &&
      name.size() <= 200 && !name.starts_with("/") && !name.starts_with(".")) {
    return " (not in the catalog: size it from its config.json, https://huggingface.co/" + std::string(name) +
           "/resolve/main/config.json: vramcalc config.json; or give the model directory, or --models-dir)";
  }
  return " (for a model not in the catalog, give its config.json or model directory, or --models-dir)";
}

ResolvedModel resolve_model(const Options& o, const io::Catalog& c) {
  if (o.model.empty()) {
    fail(ErrorCode::invalid_argument, "no model given; try 'vramcalc llama3-70b' or 'vramcalc list models'");
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  if (written_as_path(o.model)) return resolve_path(o.model);
  // A catalog name wins over a file or directory of the same name here (write ./NAME for that).
  auto match = c.resolve_model_name(o.model);
  const bool exists = fs::exists(o.model, ec);
  if ((!match || !match->exact_name) && exists) return resolve_path(o.model);
  std::optional<io::Catalog> whole;
  if (!match && c.partial) {
    // Suggestions for an unknown name come from the whole catalog.
    whole = load_catalog(o);
    match = whole->resolve_model_name(o.model);
  }
  if (!match) {
    Error e = match.error();
    if (e.code == ErrorCode::unknown_model) e.message += unknown_model_hint(o.model);
    throw CliError{e};
  }
  ResolvedModel r{*match->model, {}, std::move(match->notes), std::nullopt, "", "", false};
  if (r.spec.weights_format) r.format_source = "catalog";
  if (match->weights_format) {
    r.spec.weights_format = match->weights_format;
    r.format_source = match->format_source;
  }
  if (const Checkpoint* cp = match->checkpoint; cp != nullptr) {
    if (cp->max_context != 0 && cp->max_context != r.spec.max_context) {
      r.notes.push_back(fmt::format("Maximum context {} tokens, the checkpoint's ({}'s config.json; vLLM's default "
                                    "--max-model-len); the {} catalog entry says {}.",
                                    with_commas(cp->max_context), cp->repo, r.spec.id, with_commas(r.spec.max_context)));
      r.spec.max_context = cp->max_context;
      r.context_from_checkpoint = true;
    }
  }
  // The checkpoint is the name as typed when it names one: a known checkpoint, or a quantized upload.
  if (match->checkpoint != nullptr || match->format_source == "repo name") r.checkpoint = o.model;
  if (exists) {
    r.notes.push_back("'" + o.model + "' is also a path here; the catalog's model is used (write ./" + o.model +
                      " to read the files).");
  }
  return r;
}

// "a,b,c" -> {"a", "b", "c"}; empty entries are an error naming the flag.
std::vector<std::string> split_list(std::string_view flag, const std::string& value) {
  // "32,000" is a thousands separator, not the list 32 and 000.
  {
    std::size_t i = 0, group = 0;
    bool separated = false, digits_only = !value.empty() && value.size() <= 64;
    for (; i < value.size() && digits_only; ++i) {
      if (value[i] == ',') {
        digits_only = group >= 1 && group <= 3 && (!separated || group == 3);
        separated = true;
        group = 0;
      } else {
        digits_only = std::isdigit(static_cast<unsigned char>(value[i])) != 0;
        ++group;
      }
    }
    if (digits_only && separated && group == 3) {
      std::string plain;
      for (char c : value) {
        if (c != ',') plain += c;
      }
      fail(ErrorCode::invalid_argument, std::string(flag) + ": '" + value + "' is a list of " + value.substr(0, value.find(',')) +
                                            " and more; for one number write " + plain + " (no thousands separators)");
    }
  }
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

Dtype kv_flag(const std::string& kv, const ModelSpec& model) {
  // "auto" is vLLM's spelling of "the model's dtype".
  auto d = iequals(kv, "auto") ? std::optional<Dtype>(model.dtype) : parse_dtype(kv);
  if (!d || !traits(*d).kv_allowed) {
    static constexpr std::string_view known[] = {"fp32", "fp16", "bf16",  "fp8",  "fp8_e4m3", "fp8_e5m2", "int8",
                                                 "int4", "q8_0", "q5_1",  "q5_0", "q4_1",     "q4_0",     "iq4_nl"};
    std::string hint = did_you_mean(kv, known);
    if (hint.empty()) hint = "; known: fp32, fp16, bf16, fp8 (e4m3), fp8_e5m2, int8, int4, q8_0, q5_1, q5_0, q4_1, q4_0, iq4_nl";
    fail(ErrorCode::invalid_argument, "--kv: unknown KV-cache dtype '" + kv + "'" + hint);
  }
  return *d;
}

// "0.9" -> 9000 basis points; (0, 1] with at most four decimals.
// --gpu-memory-utilization: a decimal in (0, 1] (vLLM takes a float), kept in millionths;
// more decimals are rounded to the nearest millionth.
std::uint32_t utilization_flag(const std::string& text) {
  const std::string flag = "--gpu-memory-utilization";
  const auto bad = [&](const std::string& why) { fail(ErrorCode::invalid_argument, flag + ": '" + text + "' " + why); };
  std::size_t i = 0;
  std::uint64_t whole = 0, frac_ppm = 0, digits = 0;
  bool round_up_last = false, any = false;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, any = true) {
    if (whole > 10) bad("is more than 1");
    whole = whole * 10 + static_cast<std::uint64_t>(text[i] - '0');
  }
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits, any = true) {
      if (digits < 6) frac_ppm = frac_ppm * 10 + static_cast<std::uint64_t>(text[i] - '0');
      else if (digits == 6) round_up_last = text[i] >= '5';
    }
  }
  if (!any || i != text.size()) bad("is not a decimal fraction such as 0.9 or 0.845");
  for (std::uint64_t d = digits; d < 6; ++d) frac_ppm *= 10;
  const std::uint64_t ppm = whole * 1'000'000 + frac_ppm + (round_up_last ? 1 : 0);
  if (ppm > 1'000'000) bad("is more than 1");
  if (ppm == 0) bad("is not more than 0");
  return static_cast<std::uint32_t>(ppm);
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

EngineKind engine_kind(const std::string& name) {
  if (name == "vllm") return EngineKind::vllm;
  if (name == "llamacpp" || name == "llama.cpp") return EngineKind::llamacpp;
  return EngineKind::generic;
}

// "2025-07-22", "2025-07" (the first of the month), "latest" -> YYYYMMDD (0: the newest).
std::uint32_t llamacpp_version_flag(const std::string& text) {
  const std::string t = to_lower(text);
  if (t == "latest" || t == "newest") return 0;
  const auto bad = [&] {
    fail(ErrorCode::invalid_argument, "--llamacpp-version: '" + text +
                                          "' is not a build date like 2025-07-22 or 2025-07 (llama-server --version "
                                          "prints the build; its release page the date), or latest");
  };
  const auto digits = [&](std::size_t at, std::size_t n) {
    std::uint32_t v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (i >= t.size() || t[i] < '0' || t[i] > '9') bad();
      v = v * 10 + static_cast<std::uint32_t>(t[i] - '0');
    }
    return v;
  };
  if (t.size() != 7 && t.size() != 10) bad();
  if (t[4] != '-' || (t.size() == 10 && t[7] != '-')) bad();
  const std::uint32_t year = digits(0, 4), month = digits(5, 2), day = t.size() == 10 ? digits(8, 2) : 1;
  if (year < 2023 || month < 1 || month > 12 || day < 1 || day > 31) bad();
  return year * 10000 + month * 100 + day;
}

void apply_llamacpp_flags(const Options& o, Settings& s) {
  const bool flags = o.cache_type_k || o.cache_type_v || o.flash_attn || o.batch_size || o.ubatch_size ||
                     o.n_gpu_layers || o.n_cpu_moe || o.tensor_split || o.kv_unified || o.swa_full ||
                     o.llamacpp_version || o.llamacpp_app || o.draft_max;
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
  if (o.llamacpp_version) l.release = llamacpp_version_flag(*o.llamacpp_version);
  if (o.llamacpp_app) {
    const std::string a = to_lower(*o.llamacpp_app);
    if (a == "server" || a == "llama-server") l.server = true;
    else if (a == "library" || a == "cli" || a == "llama-cli") l.server = false;
    else fail(ErrorCode::invalid_argument, "--llamacpp-app: '" + *o.llamacpp_app + "' is not server or library");
  }
  if (o.draft_max && *o.draft_max != "0") {
    l.n_draft = static_cast<std::uint32_t>(flag_value("--draft-max", parse_count(*o.draft_max, 1u << 16)));
  }
  if (o.batch_size) l.n_batch = static_cast<std::uint32_t>(flag_value("--batch-size", parse_count(*o.batch_size, 1u << 24)));
  if (o.ubatch_size) {
    l.n_ubatch = static_cast<std::uint32_t>(flag_value("--ubatch-size", parse_count(*o.ubatch_size, 1u << 24)));
  }
  if (o.n_gpu_layers) {
    const std::string n = to_lower(*o.n_gpu_layers);
    if (n != "all" && n != "auto" && n != "-1") {
      // llama.cpp takes 0 (every layer on the CPU) and -1 (all); other negatives are mistakes.
      if (n.starts_with("-")) {
        fail(ErrorCode::invalid_argument, "--n-gpu-layers: '" + excerpt(n) +
                                              "' is negative; give a layer count (0 keeps every layer on the CPU), or -1, all or auto for every layer");
      }
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
  s.engine = engine_kind(o.engine);
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
  if (o.gpu_memory_utilization) v.utilization_ppm = utilization_flag(*o.gpu_memory_utilization);
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
// The price table: --prices FILE, else the built-in one. Shared, so the spans Settings hold
// into it stay valid however the workload is copied.
std::shared_ptr<const io::PriceTable> load_prices(const Options& o, const io::Catalog& catalog) {
  if (!o.prices) return std::make_shared<const io::PriceTable>(value_or_fail(io::load_builtin_prices(catalog.gpus)));
  auto text = io::read_text_file(*o.prices, ErrorCode::io);
  if (!text) throw CliError{Error{text.error().code, "--prices: " + text.error().message}};
  return std::make_shared<const io::PriceTable>(value_or_fail(io::parse_price_table(*text, *o.prices, catalog.gpus)));
}

struct Workload {
  std::shared_ptr<const io::PriceTable> prices;
  ResolvedModel resolved;
  std::vector<WeightFormat> formats;
  std::vector<Dtype> kvs;
  std::vector<std::uint64_t> ctxs;
  std::vector<std::uint64_t> batches;
  Settings base;
  std::string quant_source;   // flag, file, config, catalog, repo name, default
  std::string context_source; // flag, checkpoint, model
};

Workload read_workload(const Options& o, const io::Catalog& catalog) {
  Workload w{load_prices(o, catalog), resolve_model(o, catalog), {}, {}, {}, {}, {}, {}, {}};
  w.base.prices = w.prices->rows;
  const ModelSpec& model = w.resolved.spec;
  // Every flag may hold a comma list; more than one value anywhere makes a sweep.
  const EngineKind engine = engine_kind(o.engine);
  const bool llamacpp = engine == EngineKind::llamacpp;
  if (o.quant && iequals(*o.quant, "all")) {
    for (std::string_view n : listed_weight_formats()) {
      WeightFormat f = format_flag(std::string(n), model);
      if (engine_loads(engine, f)) w.formats.push_back(std::move(f));
    }
  } else {
    std::string native = model.weights_format.value_or(std::string(traits(model.dtype).name));
    w.quant_source = o.quant ? "flag" : model.weights_format ? w.resolved.format_source : "default";
    if (llamacpp && !o.quant && !engine_loads(engine, format_flag(native, model))) {
      // llama.cpp's GGUF of a checkpoint keeps its dtype; gpt-oss ships MXFP4 experts.
      native = native == "mxfp4" ? "mxfp4_moe" : std::string(traits(model.dtype).name);
      if (native != "mxfp4_moe") w.quant_source = "default";
    }
    const std::string quant = o.quant.value_or(native);
    for (const std::string& q : split_list("--quant", quant)) {
      // Without -q (or with -q file) the weights are the files' own.
      if (w.resolved.file_format && (!o.quant || iequals(q, "file"))) {
        w.quant_source = "file";
        w.formats.push_back(*w.resolved.file_format);
        if (llamacpp && !engine_loads(engine, w.formats.back())) {
          fail(ErrorCode::invalid_argument, "--engine llamacpp: llama.cpp runs GGUF files, not safetensors; give -q "
                                            "with a GGUF type (q8_0, q4_k_m, ...) to size a conversion");
        }
        if (engine == EngineKind::vllm && !engine_loads(engine, w.formats.back())) {
          fail(ErrorCode::invalid_argument, "--engine vllm: vLLM's GGUF loading is experimental and not modelled; "
                                            "size it with --engine llamacpp, or give -q with a vLLM format");
        }
        continue;
      }
      // Under llama.cpp, MXFP4 is gpt-oss's GGUF: MXFP4 experts, the rest Q8_0 (MXFP4_MOE).
      w.formats.push_back(format_flag(llamacpp && iequals(q, "mxfp4") ? std::string("mxfp4_moe") : q, model));
      if (llamacpp && !engine_loads(engine, w.formats.back())) {
        fail(ErrorCode::invalid_argument, "--quant: llama.cpp runs GGUF files and '" + q +
                                              "' is not a GGUF type; use one such as q8_0, q6_k, q4_k_m, iq4_xs or bf16");
      }
      if (engine == EngineKind::vllm && !engine_loads(engine, w.formats.back())) {
        fail(ErrorCode::invalid_argument,
             "--quant: vLLM does not load '" + q + "' (" +
                 (w.formats.back().kind == FormatKind::exl2 ? std::string("ExLlamaV2 is not a vLLM format")
                                                            : std::string("its GGUF loading is experimental and not modelled")) +
                 "); use one of bf16, fp8, int8, gptq, awq, w4a16, nf4, mxfp4, nvfp4, or --engine llamacpp for GGUF");
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
    for (const std::string& c : split_list("--ctx", *o.ctx)) {
      w.ctxs.push_back(flag_value("--ctx", parse_tokens(c)));
      // Far beyond what any model takes is a slip (128000k for 128k), not a plan: say so rather
      // than size 44 GPUs for it. Beyond this model's maximum but within reach is a what-if:
      // the table says it plainly.
      const std::uint64_t longest = std::max(longest_known_context_tokens, model.max_context);
      if (w.ctxs.back() / 8 >= longest && w.ctxs.back() != 8 * longest) {
        fail(ErrorCode::invalid_argument,
             "--ctx: '" + c + "' is " + with_commas(w.ctxs.back()) + " tokens, more than 8\u00d7 the longest context any model takes (" +
                 with_commas(longest) + " tokens); " + model.id + " takes " + with_commas(model.max_context) +
                 " (k is 1,024 tokens, m 1,048,576)");
      }
    }
  } else {
    w.ctxs.push_back(std::max<std::uint64_t>(1, model.max_context / o.context_divisor));
  }
  w.context_source = o.ctx ? "flag" : w.resolved.context_from_checkpoint ? "checkpoint" : "model";
  if (o.quant && iequals(*o.quant, "all")) w.quant_source = "flag";
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
  w.base.gpus = gpu_requests(o, catalog, &w.resolved.notes);
  apply_engine_flags(o, model, w.base);
  // A GPU named without a count is one GPU (or the tp x pp GPUs asked), never "as many as
  // it takes": the fit row's min_count and the verdict still say how many would fit.
  for (GpuRequest& g : w.base.gpus) {
    if (g.count == 0) g.count = w.base.parallel ? w.base.parallel->gpus() : 1;
  }
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
    if (engine_loads(s.engine, f)) out.push_back(std::move(f));
  }
  return out;
}

// Names the model and the workload: which of them is absurd is for the reader to see.
std::string overflow_message(const ModelSpec& model, const Settings& s, const EstimateError& e) {
  return model.id + " at " + with_commas(s.context_tokens) + " tokens \u00d7 " + with_commas(s.batch) +
         (s.batch == 1 ? " sequence: " : " sequences: ") + e.message;
}

Report estimate_or_fail(const Workload& w, const Settings& s, const io::Catalog& catalog,
                        const PreparedWeights* prepared = nullptr) {
  const ModelSpec& model = w.resolved.spec;
  auto report = prepared != nullptr ? estimate(s, catalog.gpus, *prepared) : estimate(model, s, catalog.gpus);
  if (!report) fail(ErrorCode::overflow, overflow_message(model, s, report.error()));
  report->notes.insert(report->notes.begin(), w.resolved.notes.begin(), w.resolved.notes.end());
  for (const std::string& warning : w.resolved.warnings) report->notes.insert(report->notes.begin(), "Import: " + warning);
  report->settings.quant_source = w.quant_source;
  report->settings.context_source = w.context_source;
  report->settings.checkpoint = w.resolved.checkpoint;
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
  return {render_plan(options, w.base, w.resolved.spec, render_options(o), prices), 0};
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
    reports.push_back(estimate_or_fail(w, w.base, catalog));
  }
  if (o.json) return {render_sweep_json(reports), 0};
  if (o.format != "table") return {render_reports(reports, o.format, render_options(o)), 0};
  return {render_compare(reports, render_options(o)), 0};
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
        InspectGroup& g = by_type[std::string(t.dtype)];
        g.group = "dtype " + std::string(t.dtype);
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
  o.context_divisor = d.context_divisor;
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
  // engine_options.version: the release of the deployment's engine (vLLM 0.11, llama.cpp 2025-07-22).
  if (o.engine == "llamacpp" || o.engine == "llama.cpp") o.llamacpp_version = opt("version");
  else o.vllm_version = opt("version");
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
Error locate(const io::Deployment& d, const Error& error) {
  static const std::pair<std::string_view, std::string_view> flags[] = {
      {"--quant", "quant"}, {"--kv", "kv_dtype"}, {"--ctx", "context"}, {"--batch", "batch"}, {"--gpu", "gpu"},
      {"--tp/--pp", "tp"}, {"--tp", "tp"}, {"--pp", "pp"}, {"--overhead", "overhead"}, {"--kv-policy", "kv_policy"},
      {"--engine", "engine"}, {"--ep", "ep"},
      {"--gpu-memory-utilization", "gpu_memory_utilization"}, {"--max-num-seqs", "max_num_seqs"},
      {"--max-num-batched-tokens", "max_num_batched_tokens"}, {"--kv-cache-memory", "kv_cache_memory"},
      {"--block-size", "block_size"}, {"--vllm-version", "version"}, {"--llamacpp-version", "version"},
      {"--enforce_eager", "enforce_eager"},
      {"--cache-type-k", "cache_type_k"}, {"--cache-type-v", "cache_type_v"}, {"--flash-attn", "flash_attn"},
      {"--batch-size", "batch_size"}, {"--ubatch-size", "ubatch_size"}, {"--n-gpu-layers", "n_gpu_layers"},
      {"--n-cpu-moe", "n_cpu_moe"}, {"--tensor-split", "tensor_split"}, {"--kv_unified", "kv_unified"},
      {"--swa_full", "swa_full"}, {"--headroom", "headroom"}};
  const auto at = [&](const io::DeployValue& v, const std::string& what) {
    // A value from a flag (check --gpu ...) is placed at the deployment it was applied to.
    if (v.where.empty() && !d.where.empty()) {
      return Error{error.code, d.where + ": " + d.name + ": " + v.path + ": " + what, d.file, d.line, d.column};
    }
    return Error{error.code, (v.where.empty() ? "" : v.where + ": ") + v.path + ": " + what,
                 v.where.empty() ? std::string() : d.file, v.line, v.column};
  };
  const std::string& message = error.message;
  for (const auto& [flag, key] : flags) {
    const std::string prefix = std::string(flag) + ": ";
    if (!message.starts_with(prefix)) continue;
    const std::string k(key);
    if (const auto it = d.keys.find(k); it != d.keys.end()) return at(it->second, message.substr(prefix.size()));
    if (const auto it = d.engine_options.find(k); it != d.engine_options.end()) {
      return at(it->second, message.substr(prefix.size()));
    }
    break;
  }
  // Model resolution and anything else: the deployment as a whole.
  const auto m = d.keys.find("model");
  if (m != d.keys.end() && message.find(m->second.text) != std::string::npos) return at(m->second, message);
  return Error{error.code, (d.where.empty() ? d.file : d.where) + ": " + d.name + ": " + message,
               d.where.empty() ? std::string() : d.file, d.line, d.column};
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
  e.kind = d.kind;
  e.line = d.line;
  e.column = d.column;
  e.path = d.path;
  e.notes = d.notes;
  try {
    const Options o = deployment_options(base, d);
    if (o.gpus.empty() && !o.gpu_mem && !d.kind.empty()) {
      const std::string count = d.gpu_count > 0 ? std::to_string(d.gpu_count) : std::string();
      throw CliError{Error{ErrorCode::invalid_argument,
                           d.where + ": " + d.name + ": " +
                               (d.kind == "vLLM config"
                                    ? "a vLLM config does not say which GPU" +
                                          (d.gpu_count > 0 ? " (it uses " + count + ")" : std::string()) + "; give --gpu TYPE"
                                    : "the " + d.kind + " does not say which GPU" +
                                          (d.gpu_count > 0 ? " (it asks for " + count + ")" : std::string()) +
                                          ": no node selector or affinity names one (nvidia.com/gpu.product, "
                                          "cloud.google.com/gke-accelerator, node.kubernetes.io/instance-type, ...); give "
                                          "--gpu TYPE or the annotation vramcalc/gpu"),
                           d.file, d.line, d.column}};
    }
    if (o.gpus.empty() && !o.gpu_mem) {
      throw CliError{Error{ErrorCode::invalid_argument,
                           (d.where.empty() ? d.file : d.where) + ": " + d.path +
                               ": missing key 'gpu' (the GPUs it runs on, e.g. gpu: 4xh100; or give --gpu)",
                           d.where.empty() ? std::string() : d.file, d.line, d.column}};
    }
    Workload w = read_workload(o, catalog);
    if (w.formats.size() * w.kvs.size() * w.ctxs.size() * w.batches.size() != 1) {
      fail(ErrorCode::invalid_argument, "--quant: a deployment is one configuration, not a list");
    }
    if (w.base.gpus.size() != 1) fail(ErrorCode::invalid_argument, "--gpu: a deployment runs on one kind of GPU");
    e.report = estimate_or_fail(w, w.base, catalog);
    const Report& r = e.report;
    const FitRow& row = r.fit.front();
    e.engine = r.engine ? r.engine->name : "generic";
    e.gpu = row.gpu;
    e.gpu_name = row.gpu_name;
    e.count = row.count;
    e.tp = row.tp;
    e.pp = row.pp;
    // The GPU's usable memory (the fit row of a vLLM deployment holds vLLM's share of it).
    e.usable_bytes = usable_bytes(w.base.gpus.front().gpu);
    const std::string asked = d.keys.contains("headroom") ? d.keys.at("headroom").text : "0";
    try {
      e.required_headroom_bytes = headroom_bytes(asked, e.usable_bytes);
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
      why = !v.starts && v.kv_budget_bytes <= 0
                ? fmt::format("vLLM would not start: weights {}, activation peak {} and the rest {} per GPU are more "
                              "than the {} it may use (gpu_memory_utilization {}), no memory is left for the KV cache",
                              format_bytes(v.weights_bytes, u), format_bytes(v.activation_bytes, u),
                              format_bytes(v.non_torch_bytes + v.cuda_graph_bytes, u), format_bytes(v.requested_bytes, u),
                              fmt::format("{:g}", static_cast<double>(v.utilization_ppm) / 1e6))
            : !v.starts ? fmt::format("vLLM would not start: one {}-token request needs {} of KV cache, {} is available",
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
    if (err.error.line != 0) throw; // already located
    throw CliError{locate(d, err.error), {}};
  }
  return e;
}

// A GGUF named on a llama-server line that is not on this machine (CI checks the command, not
// the file): the model and the quant from its name, "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf".
void model_from_gguf_name(io::Deployment& d) {
  io::DeployValue& m = d.keys["model"];
  std::error_code ec;
  if (!m.text.ends_with(".gguf") || std::filesystem::exists(m.text, ec)) return;
  std::string stem = std::filesystem::path(m.text).stem().string();
  if (const auto split = stem.find("-00001-of-"); split != std::string::npos) stem.erase(split);
  for (const GgufFtypeTraits& t : gguf_ftypes()) {
    std::string name(t.name.starts_with("gguf-") ? t.name.substr(5) : t.name);
    const std::string lower = to_lower(stem);
    for (char sep : {'-', '.', '_'}) {
      if (lower.ends_with(sep + name)) {
        if (!d.keys.contains("quant")) d.keys["quant"] = {name, m.path, ""};
        stem.erase(stem.size() - name.size() - 1);
        break;
      }
    }
    if (d.keys.contains("quant")) break;
  }
  d.ignored.push_back("(" + m.text + " is not here: sized as '" + stem + "'" +
                      (d.keys.contains("quant") ? " " + d.keys["quant"].text : "") + " from its name)");
  m.text = stem;
}

// Every deployment of every file is read and checked; all errors are collected, each with its
// file, line and column, and reported together (exit 2) instead of the first alone.
Outcome run_check(const Options& o) {
  const io::Catalog catalog = load_catalog(o);
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
    auto text = in ? io::read_standard_input(ErrorCode::io) : io::read_text_file(f, ErrorCode::io);
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
    if (gguf_name) model_from_gguf_name(*parsed);
    deployments.push_back(std::move(*parsed));
  };
  if (o.vllm_command) command(io::deployment_from_vllm(*o.vllm_command), false);
  if (o.llama_server_command) command(io::deployment_from_llama_server(*o.llama_server_command), true);
  if (deployments.empty() && errors.empty() && report.skipped.empty()) {
    fail(ErrorCode::invalid_argument, "check: give deployment files, --vllm \"vllm serve ...\" or --llama-server \"llama-server ...\"");
  }
  if ((o.vllm_command || o.llama_server_command) && o.gpus.empty() && !o.gpu_mem) {
    fail(ErrorCode::invalid_argument, "check --vllm / --llama-server: say which GPUs with --gpu (e.g. --gpu 4xh100)");
  }
  if (o.gpus.size() > 1) fail(ErrorCode::invalid_argument, "check --gpu: give one GPU type (it is every deployment's)");
  // The flags override every deployment: the same files checked on other hardware or at
  // another context or batch (docs/ci.md).
  for (io::Deployment& d : deployments) {
    if (!o.gpus.empty()) {
      // A manifest's GPUs keep their count when --gpu names only the type.
      const bool counted = split_count("--gpu", o.gpus.front()).first > 0;
      const bool keep_count = !counted && d.gpu_count > 0;
      d.keys["gpu"] = {keep_count ? std::to_string(d.gpu_count) + "x" + o.gpus.front() : o.gpus.front(), "--gpu", ""};
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
    if (o.batch) d.keys["batch"] = {*o.batch, "--batch", ""};
    if (o.ctx) d.keys["context"] = {*o.ctx, "--ctx", ""};
    if (o.headroom) d.keys["headroom"] = {*o.headroom, "--headroom", ""};
  }
  report.entries.reserve(deployments.size());
  for (const io::Deployment& d : deployments) {
    Options base = o;
    if (d.keys.contains("gpu")) base.gpu_mem.reset();
    try {
      report.entries.push_back(check_one(base, d, catalog));
    } catch (const CliError& e) {
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
    CliError all{errors.front(), {}};
    all.more.assign(errors.begin() + 1, errors.end());
    throw all;
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
  out += "\nengines modelled: vLLM 0.21 (0.6-0.11 with --vllm-version; other releases with a warning), llama.cpp "
         "builds of 2024-2026 (--llamacpp-version)";
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
