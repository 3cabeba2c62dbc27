// Kubernetes objects, Docker Compose files and vLLM configs as deployments (manifests.hpp).
#include "manifests.hpp"

#include "vramcalc/names.hpp"
#include "vramcalc/text.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>

namespace vramcalc::io::detail {

namespace {

using yaml::Node;

const Node* get(const Node* map, std::string_view key) {
  if (map == nullptr || !map->is_map()) return nullptr;
  for (const auto& [k, v] : map->pairs) {
    if (k->is_scalar() && k->scalar == key) return v;
  }
  return nullptr;
}

const Node* path_of(const Node* n, std::initializer_list<std::string_view> keys) {
  for (std::string_view k : keys) n = get(n, k);
  return n;
}

std::string text(const Node* n) { return n != nullptr && n->is_scalar() ? std::string(n->scalar) : std::string(); }

std::string basename(std::string_view s) {
  const auto slash = s.rfind('/');
  return std::string(slash == std::string_view::npos ? s : s.substr(slash + 1));
}

// The engines a container may run, by its command (or, without one, its image).
// `unread`: an engine whose worker's own flags are not read (NVIDIA Dynamo's TensorRT-LLM worker).
enum class Engine : std::uint8_t { none, vllm, llama_server, sglang, trtllm, ollama, unread };

std::string_view engine_name(Engine e) {
  switch (e) {
  case Engine::vllm: return "vLLM";
  case Engine::llama_server: return "llama-server";
  case Engine::sglang: return "SGLang";
  case Engine::trtllm: return "TensorRT-LLM";
  case Engine::ollama: return "Ollama";
  case Engine::unread:
  case Engine::none: break;
  }
  return "";
}

// Where the engine's invocation starts in `words`, and which engine it is.
std::pair<Engine, std::size_t> find_engine(const std::vector<std::string>& words) {
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string b = basename(words[i]);
    if (b == "vllm" && i + 1 < words.size() && words[i + 1] == "serve") return {Engine::vllm, i};
    if (b == "llama-server") return {Engine::llama_server, i};
    if (b == "trtllm-serve") return {Engine::trtllm, i};
    if (b == "sglang" && i + 1 < words.size() && words[i + 1] == "serve") return {Engine::sglang, i};
    if (b == "ollama" && i + 1 < words.size() && (words[i + 1] == "serve" || words[i + 1] == "run")) {
      // The environment written before it (`OLLAMA_NUM_PARALLEL=2 ollama serve`) is the server's.
      std::size_t at = i;
      while (at > 0 && words[at - 1].find('=') != std::string::npos && !words[at - 1].starts_with("-")) --at;
      return {Engine::ollama, at};
    }
    if (b.starts_with("python") && i + 2 < words.size() && words[i + 1] == "-m") {
      const std::string& m = words[i + 2];
      // NVIDIA Dynamo's workers take their engine's own flags (components/src/dynamo/vllm/args.py).
      if (m.starts_with("vllm.entrypoints") || m == "dynamo.vllm") return {Engine::vllm, i};
      if (m.starts_with("sglang.launch_server") || m == "dynamo.sglang") return {Engine::sglang, i};
      // Dynamo's TensorRT-LLM worker has flags of its own (--model-path, --extra-engine-args).
      if (m == "dynamo.trtllm") return {Engine::unread, i};
    }
  }
  return {Engine::none, 0};
}

// The engine an image runs when the container gives no command (its ENTRYPOINT).
std::pair<Engine, std::vector<std::string>> image_entrypoint(const std::string& image) {
  const std::string i = to_lower(image);
  if (i.find("vllm-openai") != std::string::npos || i.find("vllm/vllm") != std::string::npos) {
    return {Engine::vllm, {"vllm", "serve"}};
  }
  if (i.find("llama.cpp") != std::string::npos && i.find("server") != std::string::npos) {
    return {Engine::llama_server, {"llama-server"}};
  }
  if (i.find("sglang") != std::string::npos) return {Engine::sglang, {}};
  // ollama/ollama: ENTRYPOINT ["/bin/ollama"], CMD ["serve"]; a container's args replace the CMD.
  if (i.starts_with("ollama/ollama") || i.find("/ollama/ollama") != std::string::npos) return {Engine::ollama, {"ollama"}};
  if (i.find("tensorrt") != std::string::npos || i.find("trtllm") != std::string::npos) return {Engine::trtllm, {}};
  return {Engine::none, {}};
}

// "vllm/vllm-openai:v0.11.0" -> "0.11.0" (a release vramcalc can model), else "".
std::string vllm_image_version(const std::string& image) {
  const auto colon = image.rfind(':');
  if (colon == std::string::npos || image.find('/', colon) != std::string::npos) return "";
  std::string tag = image.substr(colon + 1);
  if (tag.starts_with("v")) tag.erase(0, 1);
  if (tag.empty() || std::isdigit(static_cast<unsigned char>(tag[0])) == 0 || tag.find('.') == std::string::npos) {
    return "";
  }
  return tag;
}

// Kubernetes' $(VAR) from the container's env (`$$(` escapes); a variable whose value comes
// from elsewhere (valueFrom) stays as written.
std::string substitute(const std::string& word, const std::map<std::string, std::string>& env) {
  std::string out;
  for (std::size_t i = 0; i < word.size();) {
    if (word.compare(i, 3, "$$(") == 0) {
      out += "$(";
      i += 3;
      continue;
    }
    if (word.compare(i, 2, "$(") == 0) {
      const auto end = word.find(')', i);
      if (end != std::string::npos) {
        const auto it = env.find(word.substr(i + 2, end - i - 2));
        if (it != env.end()) {
          out += it->second;
          i = end + 1;
          continue;
        }
      }
    }
    out += word[i++];
  }
  return out;
}

std::vector<std::string> words_of(const Node* list) {
  std::vector<std::string> out;
  if (list == nullptr) return out;
  if (list->is_scalar()) {
    if (auto split = split_command_line(list->scalar, "command")) return *split;
    return {std::string(list->scalar)};
  }
  for (const Node* w : list->items) out.push_back(text(w));
  return out;
}

// A shell's $VAR and ${VAR} from the container's env, for `sh -c` scripts (only names the env
// defines; the rest stay as written).
std::string substitute_shell(const std::string& script, const std::map<std::string, std::string>& env) {
  std::string out;
  for (std::size_t i = 0; i < script.size();) {
    if (script[i] == '$' && i + 1 < script.size()) {
      const bool brace = script[i + 1] == '{';
      std::size_t b = i + (brace ? 2 : 1), e = b;
      while (e < script.size() && (std::isalnum(static_cast<unsigned char>(script[e])) != 0 || script[e] == '_')) ++e;
      if (e > b && (!brace || (e < script.size() && script[e] == '}'))) {
        if (const auto it = env.find(script.substr(b, e - b)); it != env.end()) {
          out += it->second;
          i = e + (brace ? 1 : 0);
          continue;
        }
      }
    }
    out += script[i++];
  }
  return out;
}

// `sh -c "exec vllm serve ..."`: the script's words, up to the first shell operator after the engine.
std::vector<std::string> unwrap_shell(std::vector<std::string> words, const std::map<std::string, std::string>& env) {
  if (words.empty()) return words;
  const std::string b = basename(words[0]);
  if (b != "sh" && b != "bash" && b != "dash" && b != "zsh") return words;
  const auto c = std::find_if(words.begin(), words.end(), [](const std::string& w) {
    return w.size() >= 2 && w[0] == '-' && w[1] != '-' && w.find('c') != std::string::npos; // -c, -ec, -xc
  });
  if (c == words.end() || c + 1 == words.end()) return words;
  auto script = split_command_line(substitute_shell(*(c + 1), env), "command");
  if (!script) return words;
  std::vector<std::string> out;
  const auto [engine, at] = find_engine(*script);
  if (engine == Engine::none) return *script;
  for (std::size_t i = at; i < script->size(); ++i) {
    const std::string& w = (*script)[i];
    // Ollama's script goes on: `ollama serve & sleep 5; ollama pull MODEL; wait` names its model.
    if (engine != Engine::ollama && (w == "&&" || w == "||" || w == ";" || w == "|" || w == "&")) break;
    out.push_back(w);
  }
  return out;
}

// "4xh100", "4×h100": the GPU names its count.
bool names_count(std::string_view gpu) {
  std::size_t i = 0;
  while (i < gpu.size() && std::isdigit(static_cast<unsigned char>(gpu[i])) != 0) ++i;
  return i > 0 && i < gpu.size() && (gpu[i] == 'x' || gpu[i] == 'X' || gpu.substr(i).starts_with("\u00d7"));
}

std::uint32_t gpus_of(const Node* container, std::string& resource) {
  for (const char* section : {"limits", "requests"}) {
    const Node* r = path_of(container, {"resources", section});
    for (const char* key : {"nvidia.com/gpu", "amd.com/gpu"}) {
      const std::string v = text(get(r, key));
      if (v.empty()) continue;
      resource = std::string("resources.") + section + "." + key;
      try {
        const unsigned long n = std::stoul(v);
        return n > 4096 ? 4096u : static_cast<std::uint32_t>(n);
      } catch (const std::exception&) {
        return 0;
      }
    }
  }
  return 0;
}

// What a pod asks of its node, as "key=value" pairs: nodeSelector and required node affinity.
std::vector<std::pair<std::string, std::string>> node_labels(const Node* pod) {
  std::vector<std::pair<std::string, std::string>> out;
  if (const Node* sel = get(pod, "nodeSelector"); sel != nullptr && sel->is_map()) {
    for (const auto& [k, v] : sel->pairs) out.emplace_back(text(k), text(v));
  }
  const Node* terms = path_of(pod, {"affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
                                    "nodeSelectorTerms"});
  if (terms != nullptr && terms->is_sequence()) {
    for (const Node* term : terms->items) {
      const Node* exprs = get(term, "matchExpressions");
      if (exprs == nullptr || !exprs->is_sequence()) continue;
      for (const Node* e : exprs->items) {
        const Node* values = get(e, "values");
        if (text(get(e, "operator")) != "In" || values == nullptr || !values->is_sequence() || values->items.size() != 1) {
          continue; // several allowed GPUs: no one type
        }
        out.emplace_back(text(get(e, "key")), text(values->items.front()));
      }
    }
  }
  return out;
}

std::map<std::string, std::string> annotations_of(std::initializer_list<const Node*> metas) {
  std::map<std::string, std::string> out;
  for (const Node* m : metas) {
    const Node* a = get(m, "annotations");
    if (a == nullptr || !a->is_map()) continue;
    for (const auto& [k, v] : a->pairs) out[text(k)] = text(v);
  }
  return out;
}

// One container (or a compose service, a KServe predictor model) to check.
struct Workload {
  std::string name;              // kind/namespace/name/container
  std::string kind;
  const Node* at = nullptr;      // its node, for the line
  std::vector<std::string> words; // command + args, substituted
  std::string image;
  std::uint32_t gpus = 0;        // per pod or service
  std::string gpu_resource;      // where the count was read
  std::uint32_t group = 1;       // LeaderWorkerSet: pods per group; Dynamo: nodes
  std::string group_from = "pods of the group (leaderWorkerTemplate.size)";
  std::optional<std::string> gpu_type;  // a catalog GPU id
  std::string gpu_type_from;            // "nodeSelector nvidia.com/gpu.product=..."
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::string> env; // the container's env with plain values
  std::set<std::string> env_elsewhere;    // env set from a ConfigMap, Secret or field (valueFrom)
  std::string origin_path;       // "spec.template.spec.containers[0]"
  std::vector<std::string> notes; // what the reader knows the check should say
  std::vector<std::string> post_start; // lifecycle.postStart.exec.command (an Ollama pod pulls its model there)
};

void skip(ManifestContext& ctx, const std::string& name, const Node* at, const std::string& reason,
          const std::string& kind = "", bool workload = true) {
  ctx.file.skipped.push_back({name, std::string(ctx.origin), at != nullptr ? at->mark.line : 0, reason, kind, workload});
}

// The GPU type named by a pod's node labels.
void gpu_type_from_labels(ManifestContext& ctx, const std::vector<std::pair<std::string, std::string>>& labels,
                          Workload& w) {
  if (ctx.labels == nullptr) return;
  for (const auto& [k, v] : labels) {
    if (const std::string* id = ctx.labels->gpu_of(k, v)) {
      w.gpu_type = *id;
      w.gpu_type_from = "node label " + k + "=" + v;
      return;
    }
  }
}

// The engine a workload runs and its command line: from the container's command (a shell
// script's too), else the image's entrypoint; `python3 -m MODULE ARGS...` as the engine's
// own command (`vllm serve ARGS...`).
std::pair<Engine, std::vector<std::string>> engine_command(const Workload& w) {
  std::vector<std::string> words = unwrap_shell(w.words, w.env);
  auto [engine, start] = find_engine(words);
  if (engine == Engine::none) {
    auto [image_engine, entry] = image_entrypoint(w.image);
    engine = image_engine;
    if (engine != Engine::none) {
      entry.insert(entry.end(), words.begin(), words.end());
      words = std::move(entry);
      start = 0;
    }
  }
  if (engine == Engine::none) return {engine, {}};
  std::vector<std::string> command(words.begin() + static_cast<std::ptrdiff_t>(start), words.end());
  if (command.size() >= 3 && basename(command[0]).starts_with("python") && command[1] == "-m") {
    command.erase(command.begin(), command.begin() + 3);
    if (engine == Engine::vllm) command.insert(command.begin(), {"vllm", "serve"});
  }
  return {engine, std::move(command)};
}

// How many GPUs the engine uses of the `count` the pod (or group) holds. The engine may use
// fewer (tp x pp); more is an error, added to the file's (nullopt). Without a GPU count in
// the manifest (a vLLM config), vLLM's tp x pp is the count.
std::optional<std::uint64_t> gpus_used(ManifestContext& ctx, const Workload& w, Engine engine, std::uint32_t count,
                                       Deployment& d) {
  std::uint64_t used = count;
  const std::string holder = w.kind == "compose service" ? "service" : w.group > 1 ? "group" : "pod";
  // The engines that lay a model out tp x pp (SGLang's --dp-size replicas each on tp x pp).
  if (engine == Engine::vllm || engine == Engine::sglang || engine == Engine::trtllm) {
    const std::string name(engine_name(engine));
    std::uint64_t tp = 1, pp = 1;
    try {
      if (d.keys.contains("tp")) tp = std::stoull(d.keys["tp"].text);
      if (d.keys.contains("pp")) pp = std::stoull(d.keys["pp"].text);
    } catch (const std::exception&) {
      tp = pp = 0; // the flag check reports it
    }
    const std::uint64_t dp = std::min<std::uint64_t>(d.data_parallel, 4096);
    const std::uint64_t all = tp * pp * dp; // each at most 2^32 (the counts' checks refuse more), dp at most 4096
    const std::string layout = dp > 1 ? "tp x pp x dp" : "tp x pp";
    if (all != 0 && count == 0) {
      used = tp * pp;
      d.notes.push_back(std::to_string(used) + (used == 1 ? " GPU" : " GPUs") + ": " + name + "'s tp x pp");
    } else if (all != 0 && all != count) {
      if (all > count) {
        ctx.file.errors.push_back(error_at(ctx.origin, w.at->mark, w.name + ": " + w.origin_path,
                                           name + " uses " + layout + " = " + std::to_string(all) + " GPUs, the " +
                                               holder + " has " + std::to_string(count) +
                                               " (" + w.gpu_resource + ")"));
        return std::nullopt;
      }
      d.notes.push_back("the " + holder + " holds " + std::to_string(count) +
                        " GPUs; " + name + " uses " + layout + " = " + std::to_string(all));
      used = tp * pp;
    } else if (all != 0 && dp > 1) {
      used = tp * pp; // each replica is checked on its own GPUs
      d.notes.push_back("the " + holder + " holds " + std::to_string(count) + " GPUs; " + name + " uses " + layout +
                        " = " + std::to_string(all));
    }
  }
  return used;
}

// An Ollama container's deployment: its command (and a postStart hook's `ollama pull`), its
// OLLAMA_* environment, the model annotation; nullopt when no model can be known (skipped).
std::optional<std::expected<Deployment, Error>> ollama_workload(ManifestContext& ctx, Workload& w,
                                                                std::vector<std::string> command,
                                                                const std::string& origin) {
  // Its server's environment: the container's OLLAMA_* variables.
  std::vector<std::pair<std::string, std::string>> env;
  for (const auto& [k, v] : w.env) {
    if (k.starts_with("OLLAMA_")) env.emplace_back(k, v);
  }
  const auto a = w.annotations.find("vramcalc/model");
  const std::string model = a == w.annotations.end() ? std::string() : a->second;
  // A postStart hook's `ollama pull MODEL` names the model the server is given.
  if (!w.post_start.empty()) {
    command.emplace_back(";");
    for (std::string& word : unwrap_shell(w.post_start, w.env)) command.push_back(std::move(word));
  }
  auto parsed = deployment_from_ollama_args(command, origin, env, model);
  if (!parsed && model.empty()) {
    skip(ctx, w.name, w.at, "Ollama loads the models its requests name and the manifest names none (no `ollama run "
                            "MODEL` in its command); say which with the annotation vramcalc/model (e.g. qwen3:8b)");
    return std::nullopt;
  }
  if (parsed) {
    for (const std::string& v : w.env_elsewhere) {
      if (v.starts_with("OLLAMA_")) parsed->ignored.push_back(v + " (set from a ConfigMap, Secret or field: not read)");
    }
  }
  return parsed;
}

// The deployment a workload's command line stands for; nullopt when it is skipped (said in ctx).
std::optional<std::expected<Deployment, Error>> read_command(ManifestContext& ctx, Workload& w, Engine engine,
                                                             std::vector<std::string> command, const std::string& origin) {
  switch (engine) {
  case Engine::vllm: return deployment_from_vllm_args(std::move(command), origin);
  case Engine::llama_server: return deployment_from_llama_server_args(std::move(command), origin);
  case Engine::sglang: return deployment_from_sglang_args(std::move(command), origin);
  case Engine::trtllm: return deployment_from_trtllm_args(std::move(command), origin, false);
  case Engine::ollama: return ollama_workload(ctx, w, std::move(command), origin);
  case Engine::none:
  case Engine::unread: break;
  }
  return std::nullopt;
}

// The vLLM release from its image's tag, and the GPUs: false when their count is refused (said
// in ctx).
bool read_gpus(ManifestContext& ctx, Workload& w, Engine engine, Deployment& d, const std::string& origin,
               const std::string& where_text) {
  // The release from a vLLM image's tag (vllm/vllm-openai:v0.11.0); other images (llm-d's,
  // a company's own) carry their own version numbers.
  const bool vllm_image = to_lower(w.image).find("vllm-openai") != std::string::npos;
  if (engine == Engine::vllm && vllm_image && !d.engine_options.contains("version")) {
    if (const std::string v = vllm_image_version(w.image); !v.empty()) {
      d.engine_options["version"] = {v, origin + " image " + w.image, where_text, d.line, d.column};
      d.notes.push_back("vLLM " + v + " from the image tag");
    }
  }
  // The GPUs: the annotation's type, else the node labels'; the count from resources (x the
  // group's pods), else the annotation's.
  std::string gpu_annotation = w.annotations.contains("vramcalc/gpu") ? w.annotations["vramcalc/gpu"] : "";
  const std::uint32_t count = w.gpus * w.group;
  const auto used_or_none = gpus_used(ctx, w, engine, count, d);
  if (!used_or_none) return false;
  const std::uint64_t used = *used_or_none;
  if (count > 0) {
    d.notes.push_back(w.group > 1 ? std::to_string(w.gpus) + (w.gpus == 1 ? " GPU" : " GPUs") + " per pod (" + w.gpu_resource + ") x " +
                                        std::to_string(w.group) + " " + w.group_from
                                  : std::to_string(count) + (count == 1 ? " GPU from " : " GPUs from ") + w.gpu_resource);
  }
  const auto with_count = [&](const std::string& gpu) {
    return used > 0 && !names_count(gpu) ? std::to_string(used) + "x" + gpu : gpu;
  };
  if (!gpu_annotation.empty()) {
    d.keys["gpu"] = {with_count(gpu_annotation), "annotation vramcalc/gpu", where_text, d.line, d.column};
    d.notes.push_back("the GPU from the annotation vramcalc/gpu");
  } else if (w.gpu_type) {
    d.keys["gpu"] = {with_count(*w.gpu_type), w.gpu_type_from, where_text, d.line, d.column};
    d.notes.push_back("the GPU type from the " + w.gpu_type_from);
  }
  d.gpu_count = static_cast<std::uint32_t>(used);
  if (w.annotations.contains("vramcalc/headroom")) {
    d.keys["headroom"] = {w.annotations["vramcalc/headroom"], "annotation vramcalc/headroom", where_text, d.line, d.column};
  }
  return true;
}

void add_workload(ManifestContext& ctx, Workload& w) {
  if (w.annotations.contains("vramcalc/skip") && to_lower(w.annotations["vramcalc/skip"]) != "false") {
    skip(ctx, w.name, w.at, "annotation vramcalc/skip");
    return;
  }
  const std::string where_text = where(ctx.origin, w.at->mark);
  auto [engine, command] = engine_command(w);
  if (engine == Engine::none) {
    skip(ctx, w.name, w.at, "its command is not an engine vramcalc models (vllm serve, llama-server, "
                            "sglang.launch_server, trtllm-serve, ollama)" +
                                (w.image.empty() ? std::string() : "; image " + excerpt(w.image, 80)));
    return;
  }
  if (engine == Engine::unread) {
    skip(ctx, w.name, w.at, "NVIDIA Dynamo's TensorRT-LLM worker's flags are not read; check it as a deployment "
                            "with engine trtllm and its engine_options (docs/ci.md)");
    return;
  }
  if (command.empty() && (engine == Engine::sglang || engine == Engine::trtllm)) {
    // The image's own entrypoint starts no server: the container's command does.
    skip(ctx, w.name, w.at, "image " + excerpt(w.image, 80) + " runs " + std::string(engine_name(engine)) +
                                " but the container gives no command to read");
    return;
  }
  const std::string origin = where_text + ": " + w.name;
  auto parsed_or_skipped = read_command(ctx, w, engine, std::move(command), origin);
  if (!parsed_or_skipped) return;
  std::expected<Deployment, Error>& parsed = *parsed_or_skipped;
  if (!parsed) {
    Error e = parsed.error();
    e.file = std::string(ctx.origin);
    e.line = w.at->mark.line;
    e.column = w.at->mark.column;
    ctx.file.errors.push_back(std::move(e));
    return;
  }
  Deployment d = std::move(*parsed);
  if (const auto m = d.keys.find("model"); m != d.keys.end() && m->second.text.find('$') != std::string::npos) {
    std::string why = "the model is '" + excerpt(m->second.text, 80) + "', a variable vramcalc cannot read";
    for (const std::string& v : w.env_elsewhere) {
      if (m->second.text.find(v) != std::string::npos) why = "the model is $(" + v + "), set from a ConfigMap, Secret or field (valueFrom) that the manifest does not hold";
    }
    ctx.file.errors.push_back(error_at(ctx.origin, w.at->mark, w.name + ": " + w.origin_path,
                                       why + "; name the model in the command, or leave the workload out with the "
                                             "annotation vramcalc/skip: \"true\""));
    return;
  }
  d.name = w.name;
  d.file = std::string(ctx.origin);
  d.index = ctx.file.deployments.size();
  d.where = where_text;
  d.path = w.origin_path;
  d.line = w.at->mark.line;
  d.column = w.at->mark.column;
  d.kind = w.kind;
  d.notes.insert(d.notes.begin(), w.notes.begin(), w.notes.end()); // after what the command line said
  if (!ctx.names.insert(d.name).second) {
    ctx.file.errors.push_back(error_at(ctx.origin, w.at->mark, w.name + ": " + w.origin_path, "the workload appears twice"));
    return;
  }
  if (!read_gpus(ctx, w, engine, d, origin, where_text)) return;
  ctx.file.deployments.push_back(std::move(d));
}

// The containers of a pod spec that ask for GPUs, as workloads; the others are skipped.
void read_pod(ManifestContext& ctx, const Node* pod, const std::string& prefix, const std::string& kind,
              const std::string& spec_path, std::uint32_t group, const std::map<std::string, std::string>& annotations) {
  const Node* containers = get(pod, "containers");
  if (containers == nullptr || !containers->is_sequence()) return;
  const auto labels = node_labels(pod);
  bool any = false;
  for (std::size_t i = 0; i < containers->items.size(); ++i) {
    const Node* c = containers->items[i];
    Workload w;
    w.kind = kind;
    w.name = prefix + "/" + (text(get(c, "name")).empty() ? std::to_string(i) : text(get(c, "name")));
    w.at = c;
    w.origin_path = spec_path + ".containers[" + std::to_string(i) + "]";
    w.gpus = gpus_of(c, w.gpu_resource);
    if (w.gpus == 0) continue; // a sidecar, a proxy
    any = true;
    w.group = group;
    w.image = text(get(c, "image"));
    if (const Node* e = get(c, "env"); e != nullptr && e->is_sequence()) {
      for (const Node* v : e->items) {
        if (get(v, "value") != nullptr) w.env[text(get(v, "name"))] = text(get(v, "value"));
        else if (get(v, "valueFrom") != nullptr) w.env_elsewhere.insert(text(get(v, "name")));
      }
    }
    for (const std::string& word : words_of(get(c, "command"))) w.words.push_back(substitute(word, w.env));
    for (const std::string& word : words_of(get(c, "args"))) w.words.push_back(substitute(word, w.env));
    for (const std::string& word : words_of(path_of(c, {"lifecycle", "postStart", "exec", "command"}))) {
      w.post_start.push_back(substitute(word, w.env));
    }
    w.annotations = annotations;
    gpu_type_from_labels(ctx, labels, w);
    add_workload(ctx, w);
  }
  if (!any) skip(ctx, prefix, pod, "no container asks for a GPU (resources.limits nvidia.com/gpu)");
}

// The pod specs below `n` (maps with a `containers` list), at most 8 levels down.
void find_pod_specs(const Node* n, const std::string& path, int depth,
                    std::vector<std::pair<const Node*, std::string>>& out) {
  if (n == nullptr || depth > 8) return;
  if (n->is_map()) {
    if (const Node* c = get(n, "containers"); c != nullptr && c->is_sequence()) {
      out.emplace_back(n, path);
      return;
    }
    for (const auto& [k, v] : n->pairs) find_pod_specs(v, path + "." + text(k), depth + 1, out);
  } else if (n->is_sequence()) {
    for (std::size_t i = 0; i < n->items.size(); ++i) {
      find_pod_specs(n->items[i], path + "[" + std::to_string(i) + "]", depth + 1, out);
    }
  }
}

// NVIDIA Dynamo's DynamoGraphDeployment (nvidia.com/v1alpha1): each service's main container,
// with `resources.limits.gpu` GPUs per node x `multinode.nodeCount` nodes
// (deploy/cloud/operator api/v1alpha1 DynamoComponentDeploymentSharedSpec).
void read_dynamo(ManifestContext& ctx, const Node* spec, const std::string& prefix,
                 const std::map<std::string, std::string>& annotations) {
  const Node* services = get(spec, "services");
  if (services == nullptr || !services->is_map()) return;
  for (const auto& [k, svc] : services->pairs) {
    const std::string name = prefix + "/" + text(k);
    const Node* main = path_of(svc, {"extraPodSpec", "mainContainer"});
    std::string gpus = text(path_of(svc, {"resources", "limits", "gpu"}));
    if (gpus.empty()) gpus = text(path_of(svc, {"resources", "requests", "gpu"}));
    if (gpus.empty() || gpus == "0" || main == nullptr) {
      skip(ctx, name, svc, "the service asks for no GPU (resources.limits.gpu)");
      continue;
    }
    Workload w;
    w.kind = "DynamoGraphDeployment";
    w.name = name;
    w.at = main;
    w.origin_path = "spec.services." + text(k) + ".extraPodSpec.mainContainer";
    w.image = text(get(main, "image"));
    w.gpu_resource = "resources.limits.gpu";
    try {
      w.gpus = static_cast<std::uint32_t>(std::min(std::stoul(gpus), 4096ul));
      if (const std::string nodes = text(path_of(svc, {"multinode", "nodeCount"})); !nodes.empty()) {
        w.group = static_cast<std::uint32_t>(std::clamp(std::stoul(nodes), 1ul, 1024ul));
        w.group_from = "nodes (multinode.nodeCount)";
      }
    } catch (const std::exception&) {
      ctx.file.errors.push_back(error_at(ctx.origin, svc->mark, name + ": spec.services." + text(k) + ".resources",
                                         "'" + excerpt(gpus, 40) + "' is not a GPU count"));
      continue;
    }
    for (const std::string& word : words_of(get(main, "command"))) w.words.push_back(word);
    for (const std::string& word : words_of(get(main, "args"))) w.words.push_back(word);
    w.annotations = annotations;
    gpu_type_from_labels(ctx, node_labels(get(svc, "extraPodSpec")), w);
    add_workload(ctx, w);
  }
}

void read_kubernetes(const Node& root, ManifestContext& ctx) {
  const std::string kind = text(get(&root, "kind"));
  if (kind == "List") {
    if (const Node* items = get(&root, "items"); items != nullptr && items->is_sequence()) {
      for (const Node* item : items->items) read_kubernetes(*item, ctx);
    }
    return;
  }
  const Node* meta = get(&root, "metadata");
  const std::string ns = text(get(meta, "namespace")).empty() ? "default" : text(get(meta, "namespace"));
  const std::string prefix = kind + "/" + ns + "/" + (text(get(meta, "name")).empty() ? "?" : text(get(meta, "name")));
  const Node* spec = get(&root, "spec");
  if (kind == "Pod") {
    read_pod(ctx, spec, prefix, kind, "spec", 1, annotations_of({meta}));
  } else if (kind == "Deployment" || kind == "StatefulSet" || kind == "ReplicaSet" || kind == "DaemonSet" ||
             kind == "Job") {
    const Node* tmpl = get(spec, "template");
    read_pod(ctx, get(tmpl, "spec"), prefix, kind, "spec.template.spec", 1,
             annotations_of({meta, get(tmpl, "metadata")}));
  } else if (kind == "CronJob") {
    const Node* tmpl = path_of(spec, {"jobTemplate", "spec", "template"});
    read_pod(ctx, get(tmpl, "spec"), prefix, kind, "spec.jobTemplate.spec.template.spec", 1,
             annotations_of({meta, get(tmpl, "metadata")}));
  } else if (kind == "LeaderWorkerSet") {
    // A group of `size` pods (the leader and its workers) serves one model: its GPUs are the
    // leader's command over size x the GPUs of a pod.
    const Node* lwt = get(spec, "leaderWorkerTemplate");
    std::uint32_t size = 1;
    try {
      if (const std::string s = text(get(lwt, "size")); !s.empty()) size = static_cast<std::uint32_t>(std::min(std::stoul(s), 1024ul));
    } catch (const std::exception&) {
      size = 1;
    }
    const bool leader = get(lwt, "leaderTemplate") != nullptr;
    const Node* tmpl = get(lwt, leader ? "leaderTemplate" : "workerTemplate");
    read_pod(ctx, get(tmpl, "spec"), prefix, kind,
             std::string("spec.leaderWorkerTemplate.") + (leader ? "leaderTemplate" : "workerTemplate") + ".spec",
             size, annotations_of({meta, get(tmpl, "metadata")}));
  } else if (kind == "InferenceService") {
    const Node* predictor = get(spec, "predictor");
    if (get(predictor, "containers") != nullptr) {
      read_pod(ctx, predictor, prefix, kind, "spec.predictor", 1, annotations_of({meta}));
      return;
    }
    // The Hugging Face serving runtime: vLLM underneath, the model from storageUri / --model_id.
    const Node* model = get(predictor, "model");
    if (model == nullptr) {
      skip(ctx, prefix, &root, "no predictor containers or model");
      return;
    }
    Workload w;
    w.kind = kind;
    w.name = prefix + "/predictor";
    w.at = model;
    w.origin_path = "spec.predictor.model";
    w.gpus = gpus_of(model, w.gpu_resource);
    if (w.gpus == 0) {
      skip(ctx, prefix, model, "the predictor asks for no GPU (resources.limits nvidia.com/gpu)");
      return;
    }
    const std::string format = to_lower(text(path_of(model, {"modelFormat", "name"})));
    const std::string runtime = to_lower(text(get(model, "runtime")));
    if (format != "huggingface" && runtime.find("vllm") == std::string::npos && runtime.find("huggingface") == std::string::npos) {
      skip(ctx, prefix, model, "model format '" + format + "' is not served by vLLM");
      return;
    }
    // KServe's huggingfaceserver runs vLLM unless --backend=huggingface asks for Transformers
    // (kserve python/huggingfaceserver/huggingfaceserver/__main__.py); its own flags go.
    w.words = {"vllm", "serve"};
    std::string model_id, backend;
    const std::vector<std::string> args = words_of(get(model, "args"));
    for (std::size_t i = 0; i < args.size(); ++i) {
      std::string a = args[i], value;
      if (const auto eq = a.find('='); a.starts_with("--") && eq != std::string::npos) {
        value = a.substr(eq + 1);
        a.erase(eq);
      } else if (i + 1 < args.size() && !args[i + 1].starts_with("-") &&
                 (a == "--model_id" || a == "--model_name" || a == "--backend")) {
        value = args[++i];
      }
      if (a == "--model_id") model_id = value;
      else if (a == "--backend") backend = to_lower(value);
      else if (a == "--model_name") continue;
      else w.words.push_back(args[i]);
    }
    if (!backend.empty() && backend != "vllm" && backend != "auto") {
      skip(ctx, prefix, model, "KServe's " + excerpt(backend, 40) + " backend, not vLLM");
      return;
    }
    if (model_id.empty()) {
      std::string uri = text(get(model, "storageUri"));
      if (uri.starts_with("hf://")) model_id = uri.substr(5);
    }
    if (model_id.empty()) {
      skip(ctx, prefix, model, "the model is not named (storageUri hf://... or --model_id)");
      return;
    }
    w.words.insert(w.words.begin() + 2, model_id);
    w.annotations = annotations_of({meta});
    gpu_type_from_labels(ctx, node_labels(predictor), w);
    add_workload(ctx, w);
  } else if (kind == "DynamoGraphDeployment") {
    read_dynamo(ctx, spec, prefix, annotations_of({meta}));
  } else if (kind == "ServingRuntime" || kind == "ClusterServingRuntime") {
    skip(ctx, prefix, &root, "a runtime template: its InferenceServices are the workloads", kind, false);
  } else {
    // Any other kind (Argo Rollout, Knative Service, RayService, a company's own resource): its
    // pod templates, wherever they are, are read as pods; without one it runs nothing.
    std::vector<std::pair<const Node*, std::string>> pods;
    find_pod_specs(spec, "spec", 0, pods);
    if (pods.empty()) {
      skip(ctx, prefix, &root, "a " + (kind.empty() ? std::string("resource") : kind) + " runs no workload", kind, false);
      return;
    }
    for (const auto& [pod, path] : pods) {
      read_pod(ctx, pod, pods.size() == 1 ? prefix : prefix + "/" + path, kind, path, 1, annotations_of({meta}));
    }
  }
}

void read_compose(const Node& root, ManifestContext& ctx) {
  const Node* services = get(&root, "services");
  if (services == nullptr || !services->is_map()) return;
  for (const auto& [k, s] : services->pairs) {
    Workload w;
    w.kind = "compose service";
    w.name = "compose/" + text(k);
    w.at = s;
    w.origin_path = "services." + text(k);
    w.image = text(get(s, "image"));
    // GPUs: deploy.resources.reservations.devices with the gpu capability.
    const Node* devices = path_of(s, {"deploy", "resources", "reservations", "devices"});
    bool wants_gpu = false;
    if (devices != nullptr && devices->is_sequence()) {
      for (const Node* dev : devices->items) {
        const Node* caps = get(dev, "capabilities");
        bool gpu = text(get(dev, "driver")) == "nvidia";
        if (caps != nullptr && caps->is_sequence()) {
          for (const Node* c : caps->items) gpu = gpu || text(c) == "gpu";
        }
        if (!gpu) continue;
        wants_gpu = true;
        const std::string n = text(get(dev, "count"));
        if (const Node* ids = get(dev, "device_ids"); ids != nullptr && ids->is_sequence()) {
          w.gpus += static_cast<std::uint32_t>(ids->items.size());
        } else if (n == "all" || n == "-1") {
          w.notes.push_back("count: all (every GPU of the host): the count is the annotation's or --gpu's");
        } else if (!n.empty()) {
          try {
            w.gpus += static_cast<std::uint32_t>(std::min(std::stoul(n), 4096ul));
          } catch (const std::exception&) {
          }
        }
      }
    }
    if (!wants_gpu) {
      skip(ctx, w.name, s, "no GPU device reserved (deploy.resources.reservations.devices)");
      continue;
    }
    w.gpu_resource = "deploy.resources.reservations.devices";
    // The container's environment (`environment:` as a mapping or as K=V items): Ollama's
    // server reads its OLLAMA_* variables from it.
    if (const Node* env = get(s, "environment"); env != nullptr && env->is_map()) {
      for (const auto& [ek, ev] : env->pairs) w.env[text(ek)] = text(ev);
    } else if (env != nullptr && env->is_sequence()) {
      for (const Node* item : env->items) {
        const std::string kv = text(item);
        if (const auto eq = kv.find('='); eq != std::string::npos && eq > 0) w.env[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
    }
    for (const std::string& word : words_of(get(s, "entrypoint"))) w.words.push_back(word);
    for (const std::string& word : words_of(get(s, "command"))) w.words.push_back(word);
    if (const Node* labels = get(s, "labels"); labels != nullptr && labels->is_map()) {
      for (const auto& [lk, lv] : labels->pairs) w.annotations[text(lk)] = text(lv);
    }
    add_workload(ctx, w);
  }
}

// vLLM's own config file (`vllm serve --config x.yaml`): its keys are the flags without "--".
void read_vllm_config(const Node& root, ManifestContext& ctx) {
  Workload w;
  w.kind = "vLLM config";
  w.at = &root;
  w.origin_path = "";
  w.words = {"vllm", "serve"};
  for (const auto& [k, v] : root.pairs) {
    const std::string key = text(k);
    if (v->is_scalar() && (v->scalar == "true" || v->scalar == "True")) {
      w.words.push_back("--" + key);
    } else if (v->is_scalar() && (v->scalar == "false" || v->scalar == "False")) {
      continue;
    } else if (v->is_scalar()) {
      w.words.push_back("--" + key);
      w.words.emplace_back(v->scalar);
    }
  }
  w.name = "vllm-config/" + text(get(&root, "model"));
  w.gpus = 0;
  add_workload(ctx, w);
}

bool vllm_config_key(std::string_view k) {
  static constexpr std::string_view keys[] = {"max-model-len", "max_model_len", "tensor-parallel-size",
                                              "tensor_parallel_size", "gpu-memory-utilization",
                                              "gpu_memory_utilization", "kv-cache-dtype", "kv_cache_dtype",
                                              "max-num-seqs", "max_num_seqs", "pipeline-parallel-size",
                                              "quantization", "served-model-name", "dtype"};
  return std::find(std::begin(keys), std::end(keys), k) != std::end(keys);
}

} // namespace

DocumentKind document_kind(const Node& root) {
  if (!root.is_map()) return DocumentKind::unknown;
  if (get(&root, "deployments") != nullptr || get(&root, "defaults") != nullptr) return DocumentKind::deployments;
  if (get(&root, "apiVersion") != nullptr && get(&root, "kind") != nullptr) return DocumentKind::kubernetes;
  if (const Node* s = get(&root, "services"); s != nullptr && s->is_map()) return DocumentKind::compose;
  if (get(&root, "model") != nullptr) {
    for (const auto& [k, v] : root.pairs) {
      if (k->is_scalar() && vllm_config_key(k->scalar)) return DocumentKind::vllm_config;
    }
  }
  return DocumentKind::unknown;
}

void read_manifest(const Node& root, DocumentKind kind, ManifestContext& ctx) {
  switch (kind) {
  case DocumentKind::kubernetes: read_kubernetes(root, ctx); break;
  case DocumentKind::compose: read_compose(root, ctx); break;
  case DocumentKind::vllm_config: read_vllm_config(root, ctx); break;
  case DocumentKind::deployments:
  case DocumentKind::unknown: break;
  }
}

} // namespace vramcalc::io::detail
