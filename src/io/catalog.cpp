#include "vramcalc/io/catalog.hpp"

#include "json_util.hpp"

#include "vramcalc/checkpoint.hpp"
#include "vramcalc/io/gpu_json.hpp"
#include "vramcalc/io/model_json.hpp"
#include "vramcalc/names.hpp"
#include "vramcalc/text.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace vramcalc::io {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

// Every name (id, aliases, known checkpoints) a model answers to, lowercased.
std::vector<std::string> names_of(const ModelSpec& m) {
  std::vector<std::string> out{to_lower(m.id)};
  for (const auto& a : m.aliases) out.push_back(to_lower(a));
  for (const Checkpoint& c : m.checkpoints) out.push_back(to_lower(c.repo));
  return out;
}

std::expected<void, Error> check_unique(const std::vector<ModelSpec>& models) {
  std::map<std::string, std::string> owner; // name -> origin
  for (const ModelSpec& m : models) {
    for (const std::string& n : names_of(m)) {
      auto [it, inserted] = owner.emplace(n, m.origin);
      if (!inserted) {
        return std::unexpected(Error{ErrorCode::invalid_catalog, m.origin + ": the name '" + n +
                                                                     "' is already used by " + it->second});
      }
    }
  }
  return {};
}

} // namespace

// read_text_file: file_source.cpp.

namespace {

// A model name as people write it, reduced to what identifies the model: "meta-llama/
// Llama-3.1-70B-Instruct", "Meta-Llama-3.1-70B-Instruct-GGUF" and "llama3.1-70b" all become
// "llama3.170b". Organisation, packaging and tuning suffixes do not change the memory.
std::string name_key(std::string_view name) {
  if (const auto slash = name.rfind('/'); slash != std::string_view::npos) name.remove_prefix(slash + 1);
  std::string s;
  for (char c : name) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view prefix : {"meta-"}) {
    if (s.starts_with(prefix)) s.erase(0, prefix.size());
  }
  bool changed = true;
  while (changed) {
    changed = false;
    for (std::string_view suffix : {"-gguf", "-instruct", "-chat", "-it", "-hf", "-base", "-awq", "-gptq", "-fp8",
                                    "-int4", "-int8", "-bnb-4bit", "-mlx", "-exl2", "-dynamic", "-2507", "-0905"}) {
      if (s.size() > suffix.size() && s.ends_with(suffix)) {
        s.erase(s.size() - suffix.size());
        changed = true;
      }
    }
  }
  std::string key;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.') key += c;
  }
  return key;
}

// models/gpu-labels.json (GpuLabels). Its GPU ids must be the catalog's.
std::expected<GpuLabels, Error> parse_gpu_labels_keys(std::string_view text, std::string_view origin,
                                                      const std::vector<GpuSpec>& gpus, detail::Keys keys) {
  try {
    const nlohmann::json j = detail::parse_strict(text, std::string(origin), ErrorCode::invalid_catalog, keys);
    GpuLabels l;
    const auto known = [&](const std::string& id) {
      if (std::none_of(gpus.begin(), gpus.end(), [&](const GpuSpec& g) { return g.id == id; })) {
        throw detail::LoadFailure{{ErrorCode::invalid_catalog, std::string(origin) + ": unknown GPU id '" + id + "'"}};
      }
      return id;
    };
    for (const auto& label : j.at("labels")) {
      auto& values = l.values[label.at("key").get<std::string>()];
      for (const auto& [value, id] : label.at("values").items()) values[to_lower(value)] = known(id.get<std::string>());
    }
    for (const auto& k : j.at("instance_type_keys")) l.instance_type_keys.push_back(k.get<std::string>());
    for (const auto& [type, g] : j.at("instance_types").at("types").items()) {
      l.instance_types[to_lower(type)] = {known(g.at("gpu").get<std::string>()), g.at("count").get<std::uint32_t>()};
    }
    return l;
  } catch (const detail::LoadFailure& f) {
    return std::unexpected(f.error);
  } catch (const nlohmann::json::exception& e) {
    return std::unexpected(Error{ErrorCode::invalid_catalog, std::string(origin) + ": " + e.what()});
  }
}

// Loads the GPUs and the models `wanted` accepts (by the names each file lists) from the
// catalog's files: the built-in ones (trusted: checked when the binary was built) or a
// CatalogDir's (checked as a user's files are).
template <typename Wanted>
std::expected<Catalog, Error> load_files(const CatalogFiles& source, Wanted wanted) {
  const detail::Keys keys = source.trusted ? detail::Keys::trusted : detail::Keys::check_duplicates;
  const std::string gpus_path = std::string(source.root) + "gpus.json";
  const std::string labels_path = std::string(source.root) + "gpu-labels.json";
  const std::string prices_path = std::string(source.root) + "prices.json";
  Catalog c;
  bool have_gpus = false;
  std::string_view labels;
  for (const EmbeddedFile& f : source.files) {
    if (f.path == labels_path) {
      labels = f.text;
      continue;
    }
    if (f.path == prices_path) continue; // io/price_json.cpp reads it
    if (f.path != gpus_path && !wanted(f.names)) continue;
    if (f.path == gpus_path) {
      auto g = source.trusted ? detail::parse_gpu_catalog_embedded(f.text, f.path) : parse_gpu_catalog(f.text, f.path);
      if (!g) return std::unexpected(g.error());
      c.gpus = std::move(g->gpus);
      c.gpu_revision = std::move(g->revision);
      have_gpus = true;
      continue;
    }
    auto m = source.trusted ? detail::parse_model_spec_embedded(f.text, f.path) : parse_model_spec(f.text, f.path);
    if (!m) return std::unexpected(m.error());
    c.models.push_back(std::move(*m));
  }
  if (!have_gpus) {
    return std::unexpected(Error{ErrorCode::invalid_catalog,
                                 source.trusted ? std::string("the built-in GPU catalog is missing")
                                                : "the catalog has no " + gpus_path});
  }
  if (!labels.empty()) {
    auto l = parse_gpu_labels_keys(labels, labels_path, c.gpus, keys);
    if (!l) return std::unexpected(l.error());
    c.gpu_labels = std::move(*l);
  }
  if (auto u = check_unique(c.models); !u) return std::unexpected(u.error());
  return c;
}

std::expected<Catalog, Error> load_files_for(const CatalogFiles& source, std::span<const std::string> names) {
  // Whether one of a file's names (one per line) satisfies `match`.
  const auto any_name = [](std::string_view file_names, const auto& match) {
    while (!file_names.empty()) {
      const std::size_t end = std::min(file_names.find('\n'), file_names.size());
      if (match(file_names.substr(0, end))) return true;
      file_names.remove_prefix(std::min(end + 1, file_names.size()));
    }
    return false;
  };
  // As find_model: a name that is some model's id or alias means that model; only the
  // others are looked for under other spellings.
  // A quantized upload's name ("...-AWQ-INT4", "...-GGUF:Q4_K_M") is looked for by its base too,
  // as resolve_model_name does.
  std::vector<std::string> keys;
  for (const std::string& n : names) {
    bool exact = false;
    for (const EmbeddedFile& f : source.files) {
      exact = exact || any_name(f.names, [&](std::string_view one) { return iequals(one, n); });
    }
    if (exact) continue;
    keys.push_back(name_key(n));
    keys.push_back(name_key(parse_repo_name(n).base));
  }
  auto c = load_files(source, [&](std::string_view file_names) {
    return any_name(file_names, [&](std::string_view one) {
      for (const std::string& n : names) {
        if (iequals(one, n)) return true;
      }
      if (keys.empty()) return false;
      const std::string key = name_key(one);
      return !key.empty() && std::find(keys.begin(), keys.end(), key) != keys.end();
    });
  });
  if (c) c->partial = true;
  return c;
}

} // namespace

CatalogFiles builtin_catalog_files() { return {embedded_catalog_files(), "models/", true}; }

CatalogFiles CatalogDir::files() const { return {views, root, false}; }

std::expected<CatalogDir, Error> read_catalog_dir(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return std::unexpected(Error{ErrorCode::invalid_argument, "catalog directory '" + dir + "' is not a directory"});
  }
  std::vector<std::filesystem::path> found;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && it->path().extension() == ".json") found.push_back(it->path());
  }
  if (ec) return std::unexpected(Error{ErrorCode::io, "cannot list '" + dir + "': " + ec.message()});
  std::sort(found.begin(), found.end());
  CatalogDir d;
  d.root = dir.ends_with('/') ? dir : dir + "/";
  for (const auto& p : found) {
    const std::string rel = std::filesystem::relative(p, dir).generic_string();
    auto text = read_text_file(p.string(), ErrorCode::invalid_catalog);
    if (!text) return std::unexpected(text.error());
    std::string names;
    if (rel != "gpus.json" && rel != "prices.json" && rel != "gpu-labels.json") {
      // The names a model answers to, as cmake/embed.cmake lists them for the built-in files.
      auto m = parse_model_spec(*text, d.root + rel);
      if (!m) return std::unexpected(m.error());
      for (const std::string& n : names_of(*m)) names += (names.empty() ? "" : "\n") + n;
    }
    d.paths.push_back(d.root + rel);
    d.texts.push_back(std::move(*text));
    d.names.push_back(std::move(names));
  }
  // The views are made once every string is in place (a vector's move keeps its elements).
  for (std::size_t i = 0; i < d.paths.size(); ++i) d.views.push_back({d.paths[i], d.texts[i], d.names[i]});
  return d;
}

std::expected<Catalog, Error> load_catalog(const CatalogFiles& source) {
  return load_files(source, [](std::string_view) { return true; });
}

std::expected<Catalog, Error> load_catalog_for(const CatalogFiles& source, std::span<const std::string> names) {
  return load_files_for(source, names);
}

std::expected<Catalog, Error> load_builtin_catalog() { return load_catalog(builtin_catalog_files()); }

std::expected<Catalog, Error> load_builtin_catalog_for(std::span<const std::string> names) {
  return load_files_for(builtin_catalog_files(), names);
}

std::expected<void, Error> add_models_dir(Catalog& catalog, const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return std::unexpected(Error{ErrorCode::invalid_argument, "--models-dir: '" + dir + "' is not a directory"});
  }
  std::vector<std::filesystem::path> files;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && it->path().extension() == ".json") files.push_back(it->path());
  }
  if (ec) return std::unexpected(Error{ErrorCode::io, "cannot list '" + dir + "': " + ec.message()});
  std::sort(files.begin(), files.end());
  std::vector<ModelSpec> user;
  for (const auto& p : files) {
    auto text = read_text_file(p.string(), ErrorCode::invalid_model);
    if (!text) return std::unexpected(text.error());
    auto m = parse_model_spec(*text, p.string());
    if (!m) return std::unexpected(m.error());
    user.push_back(std::move(*m));
  }
  if (auto u = check_unique(user); !u) return std::unexpected(u.error());
  // A user's model replaces every built-in model it shares a name with.
  for (const ModelSpec& m : user) {
    const auto mine = names_of(m);
    std::erase_if(catalog.models, [&](const ModelSpec& b) {
      for (const auto& n : names_of(b)) {
        if (std::find(mine.begin(), mine.end(), n) != mine.end()) return true;
      }
      return false;
    });
  }
  for (ModelSpec& m : user) catalog.models.push_back(std::move(m));
  return {};
}

std::expected<const ModelSpec*, Error> Catalog::find_model(std::string_view name) const {
  for (const ModelSpec& m : models) {
    if (iequals(m.id, name)) return &m;
    for (const auto& a : m.aliases) {
      if (iequals(a, name)) return &m;
    }
    for (const Checkpoint& c : m.checkpoints) {
      if (iequals(c.repo, name)) return &m;
    }
  }
  // The same model under another spelling, if exactly one model matches.
  if (const std::string key = name_key(name); !key.empty()) {
    const ModelSpec* match = nullptr;
    bool ambiguous = false;
    for (const ModelSpec& m : models) {
      bool hit = name_key(m.id) == key;
      for (const auto& a : m.aliases) hit = hit || name_key(a) == key;
      for (const Checkpoint& c : m.checkpoints) hit = hit || name_key(c.repo) == key;
      if (hit) {
        ambiguous = ambiguous || (match != nullptr && match != &m);
        match = &m;
      }
    }
    if (match != nullptr && !ambiguous) return match;
  }
  std::vector<NameCandidate> candidates;
  for (const ModelSpec& m : models) {
    candidates.push_back({m.id, m.id});
    for (const auto& a : m.aliases) candidates.push_back({a, m.id});
  }
  const auto s = suggest(name, candidates);
  std::string msg = "unknown model '" + excerpt(name) + "'";
  msg += s.empty() ? "; 'vramcalc list models' shows the catalog" : "; did you mean: " + join(s) + "?";
  return std::unexpected(Error{ErrorCode::unknown_model, msg});
}

namespace {

struct Hit {
  const ModelSpec* model = nullptr;
  const Checkpoint* checkpoint = nullptr;
};

// A model whose id, alias or known checkpoint is `name` (case-insensitive); with `base_only`,
// whose hub names end in the same repository name under any organisation, or under none
// ("unsloth/Llama-3.3-70B-Instruct" and "Llama-3.3-70B-Instruct" are
// "meta-llama/Llama-3.3-70B-Instruct"), when exactly one model does.
Hit find_name(const std::vector<ModelSpec>& models, std::string_view name, bool base_only) {
  const std::string_view wanted = base_only ? repo_basename(name) : name;
  const auto same = [&](std::string_view candidate) {
    if (!base_only) return iequals(candidate, name);
    return candidate.find('/') != std::string_view::npos && iequals(repo_basename(candidate), wanted);
  };
  // A name without an organisation is a checkpoint's repository name too, as its org/name
  // would be: the checkpoint's own context and format, not only its model's. The catalog id
  // itself names the catalog entry ("deepseek-r1", not deepseek-ai/DeepSeek-R1's 163,840 tokens).
  const bool bare = !base_only && name.find('/') == std::string_view::npos;
  Hit hit;
  for (const ModelSpec& m : models) {
    Hit here;
    const bool by_basename = bare && !iequals(m.id, name);
    for (const Checkpoint& c : m.checkpoints) {
      if (here.model == nullptr && (same(c.repo) || (by_basename && iequals(repo_basename(c.repo), name)))) {
        here = {&m, &c};
      }
    }
    if (here.model == nullptr && ((!base_only && iequals(m.id, name)) ||
                                  std::any_of(m.aliases.begin(), m.aliases.end(), same))) {
      here = {&m, nullptr};
    }
    if (here.model == nullptr) continue;
    if (hit.model != nullptr && hit.model != here.model) return {}; // two models: ambiguous
    if (hit.model == nullptr) hit = here;
  }
  return hit;
}

std::string format_note(const RepoName& r, std::string_view name) {
  if (r.gguf) {
    return "'" + std::string(name) + "' is a GGUF repository: sized as its " + to_lower(*r.format) + " file" +
           (r.gguf_tag ? "" : " (no :QUANT tag; Q4_K_M is llama.cpp's -hf default)") + "; -q overrides.";
  }
  return "'" + std::string(name) + "' is a quantized checkpoint by its name ('" + r.suffix + "'): sized as " +
         *r.format + ", as the engine reads it from the checkpoint's config; -q overrides.";
}

} // namespace

std::expected<GpuLabels, Error> parse_gpu_labels(std::string_view text, std::string_view origin,
                                                 const std::vector<GpuSpec>& gpus) {
  return parse_gpu_labels_keys(text, origin, gpus, detail::Keys::check_duplicates);
}

const std::string* GpuLabels::gpu_of(const std::string& key, const std::string& value) const {
  if (const auto k = values.find(key); k != values.end()) {
    if (const auto v = k->second.find(to_lower(value)); v != k->second.end()) return &v->second;
  }
  if (std::find(instance_type_keys.begin(), instance_type_keys.end(), key) != instance_type_keys.end()) {
    if (const auto t = instance_types.find(to_lower(value)); t != instance_types.end()) return &t->second.first;
  }
  return nullptr;
}
namespace {

// Fine-tunes whose name says they keep the base's shapes: abliteration edits weights in place
// (FailSpy/abliterator; mlabonne's and huihui-ai's uploads keep the base config.json), and
// "-uncensored" uploads are plain fine-tunes. Returns the name without the marker, or "".
std::string without_finetune_marker(std::string_view name) {
  for (std::string_view marker : {"-abliterated", "-uncensored"}) {
    for (std::size_t i = 0; i + marker.size() <= name.size(); ++i) {
      if (!iequals(name.substr(i, marker.size()), marker)) continue;
      const std::size_t end = i + marker.size();
      if (end != name.size() && name[end] != '-' && name[end] != ':' && name[end] != '_') continue;
      return std::string(name.substr(0, i)) + std::string(name.substr(end));
    }
  }
  return "";
}

} // namespace

std::expected<ModelMatch, Error> Catalog::resolve_model_name(std::string_view name) const {
  auto direct = resolve_model_name_as_written(name);
  if (direct || direct.error().code != ErrorCode::unknown_model) return direct;
  const std::string base = without_finetune_marker(name);
  if (base.empty()) return direct;
  auto via = resolve_model_name_as_written(base);
  if (!via) return direct; // the message names what was typed
  via->exact_name = false;
  via->notes.insert(via->notes.begin(), "'" + std::string(name) + "' is a fine-tune of '" + base +
                                            "' that keeps its shapes (the name's marker); sized as " + via->model->id + ".");
  return via;
}

std::expected<ModelMatch, Error> Catalog::resolve_model_name_as_written(std::string_view name) const {
  ModelMatch out;
  const auto take = [&](const Hit& h) {
    out.model = h.model;
    out.checkpoint = h.checkpoint;
    if (h.checkpoint != nullptr && h.checkpoint->weights_format) {
      out.weights_format = h.checkpoint->weights_format;
      out.format_source = "catalog";
    }
  };
  if (const Hit h = find_name(models, name, false); h.model != nullptr) {
    take(h);
    out.exact_name = true;
    if (out.weights_format && h.model->weights_format != out.weights_format) {
      out.notes.push_back("'" + std::string(name) + "' stores its weights as " + *out.weights_format +
                          " (its config.json, as the catalog records it); -q overrides.");
    }
    return out;
  }
  const RepoName r = parse_repo_name(name);
  const std::string_view base = r.base;
  // Then the repository name under any organisation, or a name without one
  // ("Qwen3-4B-Instruct-2507-AWQ" is "Qwen/Qwen3-4B-Instruct-2507" quantized): the same
  // checkpoint, with its own context, as the org/name id resolves to.
  Hit h = find_name(models, base, false);
  if (h.model == nullptr) h = find_name(models, base, true);
  if (h.model == nullptr) {
    auto m = find_model(base);
    if (!m) {
      // The message names what was typed, not the base it was reduced to.
      if (base != name) {
        auto whole = find_model(name);
        if (!whole) return std::unexpected(whole.error());
        h.model = *whole;
      } else {
        return std::unexpected(m.error());
      }
    } else {
      h.model = *m;
    }
  }
  take(h);
  if (r.format) {
    out.weights_format = r.format;
    out.format_source = "repo name";
    out.notes.push_back(format_note(r, name));
  } else if (!r.unknown.empty()) {
    out.notes.push_back("'" + std::string(name) + "' ends in '" + r.unknown +
                        "', which does not say how the checkpoint is stored; sized in the model's own format. Give "
                        "-q (or the checkpoint's config.json) to size it as stored.");
  }
  return out;
}

std::expected<const GpuSpec*, Error> Catalog::find_gpu(std::string_view name) const {
  for (const GpuSpec& g : gpus) {
    if (iequals(g.id, name)) return &g;
    for (const auto& a : g.aliases) {
      if (iequals(a, name)) return &g;
    }
  }
  std::vector<NameCandidate> candidates;
  for (const GpuSpec& g : gpus) {
    candidates.push_back({g.id, g.id});
    for (const auto& a : g.aliases) candidates.push_back({a, g.id});
  }
  const auto s = suggest(name, candidates);
  std::string msg = "unknown GPU '" + excerpt(name) + "'";
  msg += s.empty() ? "; 'vramcalc list gpus' shows the catalog" : "; did you mean: " + join(s) + "?";
  return std::unexpected(Error{ErrorCode::unknown_gpu, msg});
}

} // namespace vramcalc::io
