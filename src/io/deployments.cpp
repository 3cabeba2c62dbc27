// Deployment files and engine command lines (deployments.hpp). YAML and JSON alike go through
// yaml_dom (libyaml), which gives each node its line and column.
#include "deployments.hpp"

#include "command_line.hpp"
#include "json_util.hpp"
#include "manifests.hpp"
#include "yaml_dom.hpp"

#include "vramcalc/engine.hpp"
#include "vramcalc/io/catalog.hpp"
#include "vramcalc/names.hpp"
#include "vramcalc/units.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <span>

namespace vramcalc::io {

std::string detail::where(std::string_view origin, const yaml::Mark& m) {
  if (m.line == 0) return std::string(origin);
  return std::string(origin) + ":" + std::to_string(m.line) + ":" + std::to_string(m.column);
}

Error detail::error_at(std::string_view origin, const yaml::Mark& m, const std::string& path, const std::string& what) {
  return Error{ErrorCode::invalid_argument, where(origin, m) + ": " + (path.empty() ? "" : path + ": ") + what,
               std::string(origin), m.line, m.column};
}

namespace {

using yaml::Node;

// The most deployments one run checks: a CI file holds tens; more is a mistake or an attack.
constexpr std::size_t max_deployments = 10000;

using detail::error_at;
using detail::FlagMap;
using detail::map_flags;
using detail::where;

std::string unknown_key_message(const std::string& key, const std::vector<std::string_view>& known) {
  std::vector<NameCandidate> c;
  for (std::string_view k : known) c.push_back({k, k});
  const auto s = suggest(key, c);
  std::string msg = "unknown key";
  if (!s.empty()) msg += "; did you mean '" + s.front() + "'?";
  else {
    msg += "; known:";
    for (std::size_t i = 0; i < known.size(); ++i) msg += (i == 0 ? " " : ", ") + std::string(known[i]);
  }
  return msg;
}

// Collects every problem of a file, in file order, instead of stopping at the first.
struct Reader {
  std::string_view origin;
  std::vector<Error>& errors;

  void add(const Node& n, const std::string& path, const std::string& what) {
    errors.push_back(error_at(origin, n.mark, path, what));
  }

  // A mapping key as text. YAML allows a list or a mapping as a key (`[a]: 1`, `? {a: 1}`);
  // a null key reads as "null", an unknown key.
  std::optional<std::string> key_text(const Node& key, const std::string& path) {
    if (key.is_sequence() || key.is_map()) {
      add(key, path, "a key must be a name, not a list or a mapping");
      return std::nullopt;
    }
    return key.is_null() ? std::string("null") : std::string(key.scalar);
  }

  // The keys of a mapping, each once: a second one is an error at its line (a reader taking
  // either would check a deployment nobody wrote).
  std::vector<std::pair<std::string, std::pair<const Node*, const Node*>>> keys_of(const Node& map,
                                                                                  const std::string& path) {
    std::vector<std::pair<std::string, std::pair<const Node*, const Node*>>> out;
    std::map<std::string, yaml::Mark, std::less<>> seen;
    for (const auto& [k, v] : map.pairs) {
      const auto key = key_text(*k, path);
      if (!key) continue;
      const auto [it, fresh] = seen.emplace(*key, k->mark);
      if (!fresh) {
        add(*k, path.empty() ? *key : path + "." + *key, "duplicate key (first at line " + std::to_string(it->second.line) + ")");
        continue;
      }
      out.push_back({*key, {k, v}});
    }
    return out;
  }

  // A mapping as a flat JSON object: scalars as strings (numbers and booleans bare), nested
  // values as {} or [] (the speculative config's parser lists them as not modelled).
  static std::string flat_json(const Node& map) {
    std::string out = "{";
    for (const auto& [k, v] : map.pairs) {
      if (out.size() > 1) out += ", ";
      const auto quoted = [](std::string_view t) {
        std::string q = "\"";
        for (const char c : t) {
          if (c == '"' || c == '\\') q += '\\';
          q += c;
        }
        return q + "\"";
      };
      out += quoted(k->scalar) + ": ";
      const std::string_view t = v->scalar;
      const bool bare = v->is_scalar() && !t.empty() &&
                        (t == "true" || t == "false" || t.find_first_not_of("0123456789.") == std::string_view::npos);
      out += v->is_map() ? "{}" : v->is_sequence() ? "[]" : v->is_null() ? "null" : bare ? std::string(t) : quoted(t);
    }
    return out + "}";
  }

  DeployValue value(const Node& v, const std::string& path) const {
    return {std::string(v.scalar), path, where(origin, v.mark), v.mark.line, v.mark.column};
  }

  // Reads the keys of one mapping (a deployment or `defaults`) into `d`; false on any error.
  bool read_keys(const Node& map, const std::string& path, Deployment& d) {
    if (!map.is_map()) {
      add(map, path, "expected a mapping of keys");
      return false;
    }
    const std::size_t before = errors.size();
    const auto& keys = deployment_keys();
    for (const auto& [key, kv] : keys_of(map, path)) {
      const std::string kpath = path + "." + key;
      const Node& k = *kv.first;
      const Node& v = *kv.second;
      if (key == "engine_options") {
        if (!v.is_map()) {
          add(v, kpath, "expected a mapping of engine options");
          continue;
        }
        const auto& okeys = engine_option_keys();
        for (const auto& [okey, o] : keys_of(v, kpath)) {
          const std::string opath = kpath + "." + okey;
          if (std::find(okeys.begin(), okeys.end(), okey) == okeys.end()) {
            add(*o.first, opath, unknown_key_message(okey, okeys));
          } else if (o.second->is_map() && (okey == "speculative_config" || okey == "limit_mm_per_prompt")) {
            // vLLM's speculative config or multimodal limits written as a mapping: read as its JSON object.
            DeployValue dv = value(*o.second, opath);
            dv.text = flat_json(*o.second);
            d.engine_options[okey] = std::move(dv);
          } else if (!o.second->is_scalar()) {
            add(*o.second, opath, o.second->is_null() ? "is empty" : "expected a single value");
          } else {
            d.engine_options[okey] = value(*o.second, opath);
          }
        }
        continue;
      }
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        add(k, kpath, unknown_key_message(key, keys));
      } else if (v.is_null() || (v.is_scalar() && v.scalar.empty())) {
        add(v, kpath, "is empty");
      } else if (!v.is_scalar()) {
        add(v, kpath, "expected a single value");
      } else {
        d.keys[key] = value(v, kpath);
      }
    }
    return errors.size() == before;
  }

  // One YAML document: {defaults: {...}, deployments: [...]}.
  void read_document(const Node& root, std::size_t document, std::set<std::string>& names,
                     std::vector<Deployment>& out) {
    const std::string doc = document == 0 ? std::string() : "document " + std::to_string(document + 1) + ": ";
    if (!root.is_map()) {
      add(root, "", doc + "expected a mapping with a 'deployments' list");
      return;
    }
    const Node* defaults_node = nullptr;
    const Node* list = nullptr;
    for (const auto& [key, kv] : keys_of(root, "")) {
      if (key == "defaults") defaults_node = kv.second;
      else if (key == "deployments") list = kv.second;
      else add(*kv.first, key, unknown_key_message(key, {"deployments", "defaults"}));
    }
    Deployment defaults;
    bool defaults_ok = true;
    if (defaults_node != nullptr) {
      defaults_ok = read_keys(*defaults_node, "defaults", defaults);
      if (defaults.keys.contains("name")) {
        add(*defaults_node, "defaults.name", "a default cannot have a name");
        defaults_ok = false;
      }
    }
    if (list == nullptr) {
      add(root, "", doc + "no 'deployments' list, and not a Kubernetes object (apiVersion and kind), a Docker Compose "
                          "file (services) or a vLLM config (model and vLLM's flags as keys)");
      return;
    }
    if (!list->is_sequence() || list->items.empty()) {
      add(*list, "deployments", "expected a non-empty list of deployments");
      return;
    }
    for (std::size_t i = 0; i < list->items.size(); ++i) {
      const Node& item = *list->items[i];
      const std::string path = "deployments[" + std::to_string(i) + "]";
      if (out.size() >= max_deployments) {
        add(item, path, "more than " + std::to_string(max_deployments) + " deployments in one run; split the file");
        return;
      }
      Deployment d;
      d.file = std::string(origin);
      d.index = out.size();
      d.where = where(origin, item.mark);
      d.path = doc + path;
      d.line = item.mark.line;
      d.column = item.mark.column;
      bool ok = read_keys(item, path, d) && defaults_ok;
      if (!item.is_map()) continue;
      // Defaults fill what the deployment does not say.
      for (const auto& [k, v] : defaults.keys) d.keys.try_emplace(k, v);
      for (const auto& [k, v] : defaults.engine_options) d.engine_options.try_emplace(k, v);
      for (const char* required : {"name", "model"}) {
        if (!d.keys.contains(required)) {
          add(item, path, std::string("missing key '") + required + "'");
          ok = false;
        }
      }
      if (d.keys.contains("name")) {
        d.name = d.keys.at("name").text;
        if (!names.insert(d.name).second) {
          add(item, path + ".name", "the name '" + d.name + "' is used twice");
          ok = false;
        }
      }
      if (ok) out.push_back(std::move(d));
    }
  }
};

} // namespace

const std::vector<std::string_view>& deployment_keys() {
  static const std::vector<std::string_view> k{"name",   "model", "quant", "kv_dtype", "context",  "batch",
                                               "engine", "gpu",   "tp",    "pp",       "ep",       "headroom",
                                               "overhead", "kv_policy", "host_mem", "draft", "draft_format", "spec_tokens",
                                               "images", "image_size"};
  return k;
}

const std::vector<std::string_view>& engine_option_keys() {
  // Every engine's option keys (its specs, engine_<id>.cpp), each once.
  static const std::vector<std::string_view> k = [] {
    std::vector<std::string_view> out;
    for (const EngineTraits& engine : engine_table) {
      for (const EngineOptionSpec& spec : engine_option_specs(engine.kind)) {
        if (!spec.key.empty() && std::find(out.begin(), out.end(), spec.key) == out.end()) out.push_back(spec.key);
      }
    }
    return out;
  }();
  return k;
}

DeploymentFile read_deployments(std::string_view text, std::string_view origin, const GpuLabels* labels) {
  DeploymentFile f;
  // JSON files get JSON's own rules first (a YAML parser reads some invalid JSON as YAML).
  if (origin.ends_with(".json")) {
    try {
      (void)detail::parse_strict(text, std::string(origin), ErrorCode::invalid_argument);
    } catch (const detail::LoadFailure& e) {
      Error err = e.error;
      err.file = std::string(origin);
      // "file.json:2:19: invalid JSON ...": the position, for annotations.
      const std::string_view rest = std::string_view(err.message).substr(std::min(err.message.size(), origin.size()));
      unsigned long line = 0, column = 0;
      if (rest.starts_with(":") && std::sscanf(std::string(rest).c_str(), ":%lu:%lu:", &line, &column) == 2) {
        err.line = line;
        err.column = column;
      }
      f.errors.push_back(std::move(err));
      return f;
    }
  }
  auto parsed = yaml::parse(text);
  if (!parsed) {
    f.errors.push_back(error_at(origin, parsed.error().mark, "", "invalid YAML/JSON: " + parsed.error().message));
    return f;
  }
  // Every document of a multi-document file is checked (`---` separates them), with its own
  // defaults; empty documents are skipped.
  Reader r{origin, f.errors};
  std::set<std::string> names;
  detail::ManifestContext manifests{origin, labels, f, names};
  std::size_t read = 0;
  for (std::size_t i = 0; i < parsed->documents.size(); ++i) {
    const Node& root = *parsed->documents[i];
    if (root.is_null()) continue;
    ++read;
    // A document is what its content says: a deployments file, or a manifest.
    const detail::DocumentKind kind = detail::document_kind(root);
    if (kind == detail::DocumentKind::deployments || kind == detail::DocumentKind::unknown) {
      r.read_document(root, i, names, f.deployments);
    } else {
      detail::read_manifest(root, kind, manifests);
    }
    if (f.deployments.size() > max_deployments) {
      f.deployments.resize(max_deployments);
      f.errors.push_back(error_at(origin, root.mark, "", "more than " + std::to_string(max_deployments) +
                                                             " deployments in one run; split the file"));
      break;
    }
  }
  if (read == 0) {
    f.errors.emplace_back(ErrorCode::invalid_argument,
                          std::string(origin) + ": expected a mapping with a 'deployments' list", std::string(origin));
  }
  return f;
}

std::expected<std::vector<Deployment>, Error> parse_deployments(std::string_view text, std::string_view origin) {
  DeploymentFile f = read_deployments(text, origin);
  if (!f.errors.empty()) return std::unexpected(std::move(f.errors.front()));
  return std::move(f.deployments);
}

std::expected<std::vector<std::string>, Error> split_command_line(std::string_view line, std::string_view origin) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < line.size()) cur += line[++i];
      else cur += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      if (line[i + 1] != '\n') cur += line[i + 1];
      ++i;
      in_word = in_word || line[i] != '\n';
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (quote != 0) {
    return std::unexpected(Error{ErrorCode::invalid_argument, std::string(origin) + ": unterminated " +
                                                                  (quote == '"' ? "double" : "single") + " quote"});
  }
  if (in_word) out.push_back(std::move(cur));
  return out;
}

std::expected<Deployment, Error> deployment_from_vllm(std::string_view command) {
  auto args = split_command_line(command, "--vllm");
  if (!args) return std::unexpected(args.error());
  return deployment_from_vllm_args(std::move(*args), "--vllm");
}

std::expected<Deployment, Error> deployment_from_vllm_args(std::vector<std::string> a, const std::string& origin) {
  // vLLM's FlexibleArgumentParser reads --max_model_len as --max-model-len (underscores in a
  // long flag's name up to a '=' or '.', not its value: FlexibleArgumentParser.parse_args,
  // vllm/utils/argparse_utils.py, 0.11).
  for (std::string& w : a) {
    if (!w.starts_with("--")) continue;
    const auto end = std::min({w.find('='), w.find('.'), w.size()});
    std::replace(w.begin() + 2, w.begin() + static_cast<std::ptrdiff_t>(end), '_', '-');
  }
  // "vllm serve MODEL ..." or "python -m vllm.entrypoints.openai.api_server --model MODEL ...".
  std::size_t start = 0;
  while (start < a.size() && (a[start] == "vllm" || a[start] == "serve" || a[start].starts_with("python") ||
                              a[start] == "-m" || a[start].starts_with("vllm."))) {
    ++start;
  }
  static constexpr FlagMap known[] = {
      {"--model", "model"},
      {"--max-model-len", "context"},
      {"--kv-cache-dtype", "kv_dtype"},
      {"-tp", "tp"},
      {"--tensor-parallel-size", "tp"},
      {"-pp", "pp"},
      {"--pipeline-parallel-size", "pp"},
      {"--quantization", "quant"},
      {"-q", "quant"},
      {"--dtype", "dtype"},
      {"--enable-expert-parallel", "ep", false},
      {"--gpu-memory-utilization", "opt:gpu_memory_utilization"},
      {"--max-num-seqs", "opt:max_num_seqs"},
      {"--max-num-batched-tokens", "opt:max_num_batched_tokens"},
      {"--kv-cache-memory", "opt:kv_cache_memory"},
      {"--kv-cache-memory-bytes", "opt:kv_cache_memory"},
      {"--block-size", "opt:block_size"},
      {"--enforce-eager", "opt:enforce_eager", false},
      {"--enable-lora", "opt:enable_lora", false},
      {"--max-loras", "opt:max_loras"},
      {"--max-lora-rank", "opt:max_lora_rank"},
      {"--max-cpu-loras", "opt:max_cpu_loras"},
      {"--fully-sharded-loras", "opt:fully_sharded_loras", false},
      {"--lora-target-modules", "opt:lora_target_modules"},
      {"--speculative-config", "opt:speculative_config"},
      {"--cpu-offload-gb", "opt:cpu_offload_gb"},
      {"--kv-offloading-size", "opt:kv_offloading_size"},
      {"--kv-offloading-backend", "opt:kv_offloading_backend"},
      {"--swap-space", "opt:swap_space"},
      {"--limit-mm-per-prompt", "opt:limit_mm_per_prompt"},
      {"--language-model-only", "opt:language_model_only", false},
      {"--skip-mm-profiling", "opt:skip_mm_profiling", false},
      {"--mm-encoder-tp-mode", "opt:mm_encoder_tp_mode"},
  };
  static const std::set<std::string_view> booleans{
      "--trust-remote-code", "--enable-prefix-caching", "--no-enable-prefix-caching", "--enable-chunked-prefill",
      "--no-enable-chunked-prefill", "--disable-log-requests", "--disable-log-stats", "--enable-auto-tool-choice",
      "--disable-custom-all-reduce", "--async-scheduling", "--enable-log-requests",
      "--disable-frontend-multiprocessing", "--enable-sleep-mode", "--headless", "--disable-uvicorn-access-log"};
  static const std::set<std::string_view> silent{
      "--host", "--port", "--api-key", "--served-model-name", "--chat-template", "--tool-call-parser",
      "--reasoning-parser", "--uvicorn-log-level", "--root-path", "--download-dir", "--enable-auto-tool-choice",
      "--disable-log-requests", "--disable-log-stats", "--enable-log-requests", "--disable-uvicorn-access-log",
      "--trust-remote-code", "--enable-prefix-caching", "--no-enable-prefix-caching",
      "--lora-modules"}; // adapters go into the preallocated LoRA slots (--max-loras) or host memory
  Deployment d;
  d.file = origin;
  std::vector<std::string> positional;
  if (auto r = map_flags(a, start, known, booleans, silent, d, origin, positional); !r) return std::unexpected(r.error());
  if (!positional.empty() && !d.keys.contains("model")) d.keys["model"] = {positional.front(), origin + " MODEL", ""};
  for (std::size_t i = d.keys.contains("model") && !positional.empty() && d.keys["model"].text == positional.front() ? 1 : 0;
       i < positional.size(); ++i) {
    d.ignored.push_back(positional[i]);
  }
  if (!d.keys.contains("model")) {
    return std::unexpected(Error{ErrorCode::invalid_argument, origin + ": no model (vllm serve MODEL or --model MODEL)"});
  }
  detail::quant_from_method_and_dtype(d, "--quantization compressed-tensors (give the scheme with -q)");
  if (auto k = d.keys.find("kv_dtype"); k != d.keys.end() && k->second.text == "auto") d.keys.erase(k);
  d.keys["engine"] = {"vllm", origin, ""};
  d.name = d.keys.at("model").text;
  return d;
}

namespace {

// llama-server's --lora FNAME[,FNAME...] or --lora-scaled FNAME:SCALE[,...] (older builds:
// FNAME SCALE) at a[i], each repeatable: its files appended to `loras` (comma-separated); the
// index of its last word. The scale does not change memory; nor does --lora-init-without-apply,
// which loads the adapters all the same.
std::size_t lora_files(const std::vector<std::string>& a, std::size_t i, std::string& loras) {
  const bool scaled = a[i] == "--lora-scaled";
  std::string v = a[++i];
  if (scaled && v.find(':') == std::string::npos) {
    if (i + 1 < a.size() && !a[i + 1].starts_with("-")) ++i; // FNAME SCALE
  } else if (auto items = parse_list(v); scaled && items) {
    std::string files;
    for (const std::string& item : *items) files += (files.empty() ? "" : ",") + item.substr(0, item.rfind(':'));
    v = files;
  }
  loras += (loras.empty() ? "" : ",") + v;
  return i;
}

} // namespace

std::expected<Deployment, Error> deployment_from_llama_server(std::string_view command) {
  auto args = split_command_line(command, "--llama-server");
  if (!args) return std::unexpected(args.error());
  return deployment_from_llama_server_args(std::move(*args), "--llama-server");
}

namespace {

// llama-server's flags vramcalc reads, each to a deployment key or an engine option ("opt:").
constexpr FlagMap llama_server_flags[] = {
    {"-m", "model"},
    {"--model", "model"},
    {"-hf", "hf_repo"},
    {"--hf-repo", "hf_repo"},
    {"-c", "n_ctx"},
    {"--ctx-size", "n_ctx"},
    {"-np", "batch"},
    {"--parallel", "batch"},
    {"-ngl", "opt:n_gpu_layers"},
    {"--gpu-layers", "opt:n_gpu_layers"},
    {"--n-gpu-layers", "opt:n_gpu_layers"},
    {"-ctk", "opt:cache_type_k"},
    {"--cache-type-k", "opt:cache_type_k"},
    {"-ctv", "opt:cache_type_v"},
    {"--cache-type-v", "opt:cache_type_v"},
    {"-b", "opt:batch_size"},
    {"--batch-size", "opt:batch_size"},
    {"-ub", "opt:ubatch_size"},
    {"--ubatch-size", "opt:ubatch_size"},
    {"-ts", "opt:tensor_split"},
    {"--tensor-split", "opt:tensor_split"},
    {"--n-cpu-moe", "opt:n_cpu_moe"},
    {"-ncmoe", "opt:n_cpu_moe"},
    {"-nkvo", "opt:no_kv_offload", false},
    {"--no-kv-offload", "opt:no_kv_offload", false},
    // The multimodal projector (common/arg.cpp: -mm, --mmproj FILE; --no-mmproj-offload).
    {"-mm", "opt:mmproj"},
    {"--mmproj", "opt:mmproj"},
    {"--no-mmproj-offload", "opt:no_mmproj_offload", false},
    {"-kvu", "opt:kv_unified", false},
    {"--kv-unified", "opt:kv_unified", false},
    {"--swa-full", "opt:swa_full", false},
    {"-cmoe", "cpu_moe", false},
    {"--cpu-moe", "cpu_moe", false},
    {"-md", "draft"},
    {"--model-draft", "draft"},
    {"-ngld", "opt:n_gpu_layers_draft"},
    {"--gpu-layers-draft", "opt:n_gpu_layers_draft"},
    {"--n-gpu-layers-draft", "opt:n_gpu_layers_draft"},
    {"-ctkd", "opt:cache_type_k_draft"},
    {"--cache-type-k-draft", "opt:cache_type_k_draft"},
    {"-ctvd", "opt:cache_type_v_draft"},
    {"--cache-type-v-draft", "opt:cache_type_v_draft"},
    {"-cd", "opt:ctx_size_draft"},
    {"--ctx-size-draft", "opt:ctx_size_draft"},
    {"--draft-max", "opt:draft_max"},
    {"--draft", "opt:draft_max"},
    {"--draft-n", "opt:draft_max"},
    // The spellings of the builds with MTP drafting (common/arg.cpp, 2026): --spec-type,
    // --spec-draft-n-max and the --spec-draft-* names of the draft flags above.
    {"--spec-type", "opt:spec_type"},
    {"--spec-draft-n-max", "opt:draft_max"},
    {"--spec-draft-model", "draft"},
    {"--spec-draft-ngl", "opt:n_gpu_layers_draft"},
    {"--spec-draft-type-k", "opt:cache_type_k_draft"},
    {"--spec-draft-type-v", "opt:cache_type_v_draft"},
};

// -hf user/repo:Q4_K_M: the model from the repository name, the quant from the tag.
void split_hf_repo(Deployment& d) {
  if (auto h = d.keys.find("hf_repo"); h != d.keys.end()) {
    std::string repo = h->second.text;
    if (const auto colon = repo.find(':'); colon != std::string::npos) {
      std::string q = repo.substr(colon + 1);
      for (char& c : q) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      d.keys["quant"] = {q, h->second.path, ""};
      repo = repo.substr(0, colon);
    }
    if (!d.keys.contains("model")) d.keys["model"] = {repo, h->second.path, ""};
    d.keys.erase("hf_repo");
  }
}

// The slots and each one's context, as llama-server sets them.
void llama_server_slots(Deployment& d, const std::string& origin) {
  // Without -np, llama-server picks its slots: 4 sharing one unified cache (tools/server/
  // server.cpp, n_parallel = -1 "auto", since PR #16736, November 2025; builds before it had
  // one slot, and `-np 1` says so). -kvu is then on unless written otherwise.
  if (!d.keys.contains("batch")) {
    d.keys["batch"] = {"4", origin + " (no -np: llama-server's automatic 4 slots)", ""};
    d.engine_options.try_emplace("kv_unified", io::DeployValue{"true", origin + " (automatic slots)", ""});
  }
  // -c is the context of all slots; each of -np slots gets -c / -np (-c 0, or no -c: the
  // model's training context, n_ctx 0 in common/common.h).
  if (auto c = d.keys.find("n_ctx"); c != d.keys.end()) {
    std::string per = c->second.text;
    if (auto np = d.keys.find("batch"); np != d.keys.end() && per != "0") {
      try {
        const unsigned long long total = std::stoull(per), n = std::stoull(np->second.text);
        if (n > 0) per = std::to_string(total / n);
      } catch (const std::exception&) {
        // left as written: the context check reports it
      }
    }
    if (per != "0") d.keys["context"] = {per, c->second.path, ""};
    d.keys.erase(c);
  }
  // No -c (or -c 0): the slots share the training context.
  if (!d.keys.contains("context")) {
    try {
      d.context_divisor = std::max<std::uint64_t>(1, std::stoull(d.keys.at("batch").text));
    } catch (const std::exception&) {
      // left at 1: the batch check reports a bad -np
    }
  }
}

} // namespace

std::expected<Deployment, Error> deployment_from_llama_server_args(std::vector<std::string> a,
                                                                   const std::string& origin) {
  std::size_t start = 0;
  while (start < a.size() && !a[start].starts_with("-")) ++start; // the program name (and a path to it)
  static const std::set<std::string_view> booleans{"--jinja", "--no-mmap", "--mlock", "--cont-batching", "-cb",
                                                   "--no-webui", "--metrics", "--embedding", "--embeddings",
                                                   "--verbose", "-v", "--no-warmup", "--context-shift",
                                                   "--lora-init-without-apply"};
  static const std::set<std::string_view> silent{"--host", "--port", "--api-key", "-a", "--alias", "--jinja",
                                                 "--metrics", "--no-webui", "--verbose", "-v", "--chat-template",
                                                 "--log-file", "--log-disable",
                                                 "--lora-init-without-apply"};
  Deployment d;
  d.file = origin;
  std::vector<std::string> positional;
  // -fa takes on|off|auto today and was a bare flag before; read it here.
  std::vector<std::string> rest;
  // Every adapter file of --lora / --lora-scaled into one comma-separated `lora`.
  std::string loras;
  std::string lora_path;
  for (std::size_t i = start; i < a.size(); ++i) {
    if (a[i] == "-fa" || a[i] == "--flash-attn") {
      std::string v = "on";
      if (i + 1 < a.size() && (a[i + 1] == "on" || a[i + 1] == "off" || a[i + 1] == "auto")) v = a[++i];
      d.engine_options["flash_attn"] = {v, origin + " " + a[i], ""};
    } else if ((a[i] == "--lora" || a[i] == "--lora-scaled") && i + 1 < a.size()) {
      lora_path = origin + " " + a[i];
      i = lora_files(a, i, loras);
    } else {
      rest.push_back(a[i]);
    }
  }
  if (auto r = map_flags(rest, 0, llama_server_flags, booleans, silent, d, origin, positional); !r) return std::unexpected(r.error());
  for (const std::string& p : positional) d.ignored.push_back(p);
  if (!loras.empty()) d.keys["lora"] = {loras, lora_path, ""};
  split_hf_repo(d);
  if (!d.keys.contains("model")) {
    return std::unexpected(Error{ErrorCode::invalid_argument, origin + ": no model (-m FILE.gguf or -hf REPO:QUANT)"});
  }
  llama_server_slots(d, origin);
  if (auto m = d.keys.find("cpu_moe"); m != d.keys.end()) {
    d.engine_options["n_cpu_moe"] = {"all", m->second.path, ""};
    d.keys.erase(m);
  }
  d.keys["engine"] = {"llamacpp", origin, ""};
  d.name = d.keys.at("model").text;
  return d;
}

} // namespace vramcalc::io
