// A model argument resolved: catalog name, hub name, spec file, config.json or model files.
#include "common.hpp"


#include "vramcalc/dtype.hpp"
#include "vramcalc/estimate.hpp"
#include "vramcalc/format.hpp"
#include "vramcalc/io/catalog.hpp"
#include "vramcalc/io/gguf.hpp"
#include "vramcalc/io/model_files.hpp"
#include "vramcalc/io/ollama_tags.hpp"
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

#include <cstring>
#include <set>
#include <span>
#include <array>
#include <algorithm>
#include <map>
#include <cstdlib>
#include <tuple>
#include <filesystem>
#include <mutex>
#include <fstream>


namespace vramcalc::app {

std::expected<io::CatalogFiles, Error> catalog_files() {
  const char* env = std::getenv("VRAMCALC_CATALOG_DIR");
  if (env == nullptr || *env == '\0') return io::builtin_catalog_files();
  static std::expected<io::CatalogDir, Error> dir = io::read_catalog_dir(env);
  if (!dir) return std::unexpected(Error{dir.error().code, "VRAMCALC_CATALOG_DIR: " + dir.error().message});
  return dir->files();
}

namespace {

// The catalogs loaded for the names of requests (keep_catalogs), at most 256 of them, each
// kept only when every name found its model (a request's unknown names take no memory).
struct KeptCatalogs {
  std::mutex mutex;
  std::map<std::optional<std::vector<std::string>>, io::Catalog> by_names;
};

KeptCatalogs& kept_catalogs() {
  static KeptCatalogs kept;
  return kept;
}

} // namespace

io::Catalog load_catalog(const Options& o, std::optional<std::vector<std::string>> only) {
  if (o.keep_catalogs && o.models_dirs.empty()) {
    KeptCatalogs& kept = kept_catalogs();
    {
      std::lock_guard lock(kept.mutex);
      if (const auto it = kept.by_names.find(only); it != kept.by_names.end()) return it->second;
    }
    Options loading = o;
    loading.keep_catalogs = false;
    io::Catalog c = load_catalog(loading, only);
    const bool all_found = !only || std::all_of(only->begin(), only->end(), [&](const std::string& n) {
      const auto m = c.resolve_model_name(n);
      return m && m->exact_name;
    });
    std::lock_guard lock(kept.mutex);
    if (all_found && kept.by_names.size() < 256) kept.by_names.emplace(only, c);
    return c;
  }
  const io::CatalogFiles files = value_or_fail(catalog_files());
  io::Catalog c = value_or_fail(only ? io::load_catalog_for(files, *only) : io::load_catalog(files));
  for (const std::string& dir : o.models_dirs) {
    if (auto r = io::add_models_dir(c, dir); !r) throw Failure{r.error()};
  }
  return c;
}


namespace {

// Written as a path: catalog names do not shadow these, and these do not fall back to the catalog.
bool written_as_path(std::string_view m) {
  return m.starts_with("/") || m.starts_with("./") || m.starts_with("../") || m.starts_with("~") || m == "." ||
         m == ".." || m.ends_with(".json") || m.ends_with(".gguf") || m.ends_with(".safetensors");
}

// A config.json or a model spec from its text: `origin` names it in messages, `id` is the model's.
ResolvedModel resolve_text(const std::string& text, const std::string& origin, const std::string& id,
                           const std::string& vision_dir = {}) {
  if (io::looks_like_hf_config(text)) {
    auto imported = value_or_fail(io::parse_hf_config(text, origin, to_lower(id)));
    // A vision-language model's encoder facts from the preprocessor_config.json in vision_dir
    // (none for an upload: vramcalc serve reads no file a request names).
    if (!vision_dir.empty()) {
      if (auto e = io::add_hf_vision_profile(imported, vision_dir, text, origin)) throw Failure{*e};
    }
    const bool quantized = imported.spec.weights_format.has_value();
    return {std::move(imported.spec), std::move(imported.warnings), {}, std::nullopt, quantized ? "config" : "", "", false};
  }
  ModelSpec spec = value_or_fail(io::parse_model_spec(text, origin));
  const bool quantized = spec.weights_format.has_value();
  return {std::move(spec), {}, {}, std::nullopt, quantized ? "catalog" : "", "", false};
}

// An uploaded model (vramcalc serve): a GGUF file from its header in memory, as from its file
// (the data section's size from the whole file's, when only the header was sent); else a
// config.json or model spec.
ResolvedModel resolve_upload(const Options& o) {
  const std::string& bytes = *o.model_upload;
  const std::string id = o.model.empty() ? "model" : o.model;
  if (!bytes.starts_with("GGUF")) return resolve_text(bytes, "config.json", id);
  io::ByteSource source = io::memory_source(bytes);
  const std::uint64_t sent = bytes.size();
  const bool header_only = o.model_upload_file_bytes > sent;
  if (header_only) {
    // The parser reads ahead in chunks: past what was sent it reads zeros, and the header
    // must then end (the data section start) within what was sent.
    source.size = o.model_upload_file_bytes;
    source.read = [&bytes](std::uint64_t offset, std::uint64_t n, char* out) {
      const std::uint64_t have = offset < bytes.size() ? std::min<std::uint64_t>(n, bytes.size() - offset) : 0;
      std::memcpy(out, bytes.data() + std::min<std::uint64_t>(offset, bytes.size()), static_cast<std::size_t>(have));
      std::memset(out + have, 0, static_cast<std::size_t>(n - have));
      return true;
    };
  }
  const std::string short_body = fmt::format("; the body holds the first {} bytes of the file: send its whole header "
                                             "(up to the data section)", with_commas(sent));
  auto file = io::parse_gguf(source, id + ".gguf");
  if (!file && header_only) throw Failure{Error{file.error().code, file.error().message + short_body}};
  if (!file) throw Failure{file.error()};
  if (header_only && file->data_offset > sent) {
    fail(ErrorCode::invalid_model, id + ".gguf: the header ends at byte " + with_commas(file->data_offset) + short_body);
  }
  io::ModelFiles mf = value_or_fail(io::model_files_from_gguf(std::span<const io::GgufFile>(&*file, 1)));
  return {std::move(mf.spec), std::move(mf.warnings), {}, std::move(mf.format), "file", "", false};
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
    // A vision-language model's encoder facts from the preprocessor_config.json beside it.
    if (auto e = io::add_hf_vision_profile(imported, path, text, config.string())) throw Failure{*e};
    const bool quantized = imported.spec.weights_format.has_value();
    return {std::move(imported.spec), std::move(imported.warnings), {}, std::nullopt, quantized ? "config" : "", "", false};
  }
  const std::string text = value_or_fail(io::read_text_file(path, ErrorCode::invalid_model));
  const fs::path p(path);
  std::string id = p.filename() == "config.json" ? p.parent_path().filename().string() : p.stem().string();
  if (id.empty()) id = "model";
  // A file named config.json: the preprocessor_config.json beside it too, as for its directory.
  std::string vision_dir;
  if (p.filename() == "config.json") vision_dir = p.parent_path().empty() ? std::string(".") : p.parent_path().string();
  return resolve_text(text, path, id, vision_dir);
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

} // namespace

namespace {

// A name in Ollama's spelling that the tag table lacks but a catalog model lists as an alias
// ("deepseek-r1:1.5b"): which file Ollama ships under it is not known here, so it is sized only
// in the format the user names with -q; without one, the tag table's refusal names the model.
ResolvedModel resolve_untabled_tag(const Options& o, const io::Catalog& c, Error not_a_tag) {
  std::optional<io::Catalog> whole;
  auto match = c.resolve_model_name(o.model);
  if (!match && c.partial) {
    whole = load_catalog(o);
    match = whole->resolve_model_name(o.model);
  }
  if (!match || !match->exact_name) {
    not_a_tag.message += "; give the catalog model and its -q mix instead";
    throw Failure{std::move(not_a_tag)};
  }
  const std::string id = match->model->id;
  if (!o.quant) {
    not_a_tag.message += fmt::format(", so the file Ollama ships under it is not known; it names the catalog model {}: "
                                     "give the tag's mix, e.g. 'vramcalc {} -q q4_k_m'",
                                     id, excerpt(o.model, 80));
    throw Failure{std::move(not_a_tag)};
  }
  ResolvedModel r{*match->model, {}, std::move(match->notes), std::nullopt, "", "", false};
  r.notes.push_back(fmt::format("{} is Ollama's name of the catalog model {}; models/ollama-tags.json has no row for "
                                "it, so it is sized in the -q format given.",
                                excerpt(o.model, 80), id));
  return r;
}

// An Ollama tag ("llama3:70b"): the catalog model of its shapes with the GGUF mix the tag
// ships and its GGUF's context (models/ollama-tags.json; docs/engines.md, "Model tags").
ResolvedModel resolve_ollama_tag(const Options& o, const io::Catalog& c) {
  const io::OllamaTagTable table = value_or_fail(io::load_builtin_ollama_tags());
  auto found = io::find_ollama_tag(table, o.model);
  if (!found) return resolve_untabled_tag(o, c, std::move(found.error()));
  const io::OllamaTag* tag = *found;
  Options named = o;
  named.model = tag->model;
  ResolvedModel r = resolve_model(named, c);
  r.spec.weights_format = tag->weights;
  r.format_source = "ollama tag";
  r.notes.push_back(fmt::format("Ollama tag {}: {} as {} (as of {}, {}).", tag->tag, tag->model, tag->weights,
                                tag->as_of, tag->source));
  r.ollama_v_names_f16 = tag->v_names_f16;
  if (tag->v_names_f16) {
    r.notes.push_back(fmt::format("Quantized by {}, which left attn_v in f16 (its llama.cpp patch skips names holding "
                                  "\"v.\"; docs/quantization.md).", tag->quantizer));
  }
  if (tag->context_tokens && *tag->context_tokens != r.spec.max_context) {
    r.notes.push_back(fmt::format("Maximum context {} tokens, the tag's GGUF's; the {} catalog entry says {}.",
                                  with_commas(*tag->context_tokens), r.spec.id, with_commas(r.spec.max_context)));
    r.spec.max_context = *tag->context_tokens;
  }
  return r;
}

} // namespace

ResolvedModel resolve_model(const Options& o, const io::Catalog& c) {
  if (o.model.empty()) {
    fail(ErrorCode::invalid_argument, "no model given; try 'vramcalc llama3-70b' or 'vramcalc list models'");
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  if (o.model_upload) return resolve_upload(o);
  if (!o.read_files && written_as_path(o.model)) {
    fail(ErrorCode::invalid_argument, "the model '" + excerpt(o.model, 80) +
                                          "' is a path; vramcalc serve reads no files a request names (give a catalog "
                                          "name, or upload the config.json as the request body)");
  }
  if (written_as_path(o.model)) return resolve_path(o.model);
  // model:tag is Ollama's naming (a hub name's ":Q4_K_M" names a GGUF file of the repository).
  const bool ollama_name = o.model.find(':') != std::string::npos;
  // Without files (vramcalc serve) no name is looked up on the filesystem.
  const bool exists = o.read_files && fs::exists(o.model, ec);
  if (ollama_name && o.model.find('/') == std::string::npos && !exists) return resolve_ollama_tag(o, c);
  // A catalog name wins over a file or directory of the same name here (write ./NAME for that).
  auto match = c.resolve_model_name(o.model);
  if ((!match || !match->exact_name) && exists) return resolve_path(o.model);
  std::optional<io::Catalog> whole;
  if (!match && c.partial) {
    // Suggestions for an unknown name come from the whole catalog.
    whole = load_catalog(o);
    match = whole->resolve_model_name(o.model);
  }
  if (!match && ollama_name && !exists) return resolve_ollama_tag(o, c);
  if (!match) {
    Error e = match.error();
    if (e.code == ErrorCode::unknown_model) e.message += unknown_model_hint(o.model);
    throw Failure{e};
  }
  ResolvedModel r{*match->model, {}, std::move(match->notes), std::nullopt, "", "", false};
  if (r.spec.weights_format) r.format_source = "catalog";
  if (match->weights_format) {
    r.spec.weights_format = match->weights_format;
    r.format_source = match->format_source;
  }
  const auto unquantized_of = [&](const std::optional<std::string>& format, const std::vector<std::string>& names) {
    if (!format) return;
    r.unquantized = names;
    r.unquantized_format = parse_weight_format(*format, r.spec.dtype).value().id;
  };
  unquantized_of(r.spec.weights_format == match->model->weights_format ? r.spec.weights_format : std::nullopt,
                 match->model->unquantized);
  if (const Checkpoint* cp = match->checkpoint; cp != nullptr) {
    unquantized_of(cp->weights_format, cp->unquantized);
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


namespace {

// TensorRT-LLM's drafting from --draft (the newest rules; docs/engines.md, "TensorRT-LLM",
// "Speculative decoding"): `mtp` is decoding_type MTP; a model is Eagle3 when its config gives
// draft_vocab_size or its name says EAGLE (as vLLM detects the method), else DraftTarget,
// unless speculative_config's decoding_type (the speculative_decoding_type key) names it.
// --spec-tokens is max_draft_len (Eagle3 and DraftTarget: 3 when not given). true: MTP, set.
bool trtllm_draft_kind(const Options& o, Settings& s) {
  TrtllmOptions& t = s.engine_options.trtllm;
  if (t.release != TrtllmRelease::newest) {
    fail_at(o.draft->origin, ErrorCode::invalid_argument, std::string(io::trtllm_speculative_refusal()));
  }
  t.speculative.max_draft_len =
      o.spec_tokens ? static_cast<std::uint32_t>(value_at(o.spec_tokens->origin, parse_count(o.spec_tokens->text, 64))) : 0;
  const bool mtp = iequals(o.draft->text, "mtp");
  const TrtllmSpecKind named = t.speculative.kind;
  if (mtp != (named == TrtllmSpecKind::mtp) && named != TrtllmSpecKind::none) {
    fail_at(o.draft->origin, ErrorCode::invalid_argument,
            mtp ? "decoding_type " + std::string(trtllm_spec_kind_name(named)) + " drafts with a model, not the MTP layers"
                : "decoding_type MTP drafts with the model's own MTP layers (--draft mtp), not with a draft model");
  }
  if (mtp) {
    t.speculative.kind = TrtllmSpecKind::mtp;
    return true;
  }
  if (t.speculative.max_draft_len == 0) t.speculative.max_draft_len = 3;
  return false;
}

// The kind of a TensorRT-LLM draft; true when it is an EAGLE-3 head (sized by the engine alone).
bool trtllm_draft_model(const Options& o, const ModelSpec& target, const ModelSpec& draft, Settings& s) {
  TrtllmSpeculative& sc = s.engine_options.trtllm.speculative;
  if (sc.kind == TrtllmSpecKind::none) {
    sc.kind = draft.draft_vocab_size != 0 || to_lower(o.draft->text).find("eagle") != std::string::npos
                  ? TrtllmSpecKind::eagle3
                  : TrtllmSpecKind::draft_target;
  }
  if (sc.kind != TrtllmSpecKind::eagle3) return false;
  if (const std::string why = trtllm_eagle3_shape_problem(target, draft); !why.empty()) {
    fail_at(o.draft->origin, ErrorCode::invalid_argument, why);
  }
  return true;
}

} // namespace

void resolve_draft(const Options& o, const io::Catalog& c, const ModelSpec& model, Settings& s) {
  VllmSpeculative& sc = s.engine_options.vllm.speculative;
  const bool vllm = s.engine == EngineKind::vllm;
  const bool vllm_draft = vllm && sc.method == VllmSpecMethod::draft_model;
  const TrtllmSpecKind trtllm_kind = s.engine_options.trtllm.speculative.kind;
  if (!o.draft && s.engine == EngineKind::trtllm &&
      (trtllm_kind == TrtllmSpecKind::eagle3 || trtllm_kind == TrtllmSpecKind::draft_target)) {
    const auto it = o.engine_flags.find("--speculative-decoding-type");
    fail_at(it == o.engine_flags.end() ? nullptr : &it->second, "speculative_decoding_type",
            "decoding_type " + std::string(trtllm_spec_kind_name(trtllm_kind)) +
                " needs its draft model (speculative_model, or the deployment's draft key)");
  }
  if (!o.draft) {
    if (o.draft_format) fail_at(o.draft_format->origin, ErrorCode::invalid_argument, "needs --draft (the draft model)");
    if (o.spec_tokens) fail_at(o.spec_tokens->origin, ErrorCode::invalid_argument, "needs --draft (the draft model)");
    if (!vllm_draft) return;
  }
  if (o.draft && s.engine == EngineKind::ollama) {
    const std::string why = ollama_draft_refusal(s.engine_options.ollama.release);
    if (!why.empty()) fail_at(o.draft->origin, ErrorCode::invalid_argument, why);
  }
  if (o.draft && s.engine == EngineKind::trtllm && trtllm_draft_kind(o, s)) return;
  if (o.draft && s.engine != EngineKind::generic && s.engine != EngineKind::vllm && s.engine != EngineKind::llamacpp &&
      s.engine != EngineKind::trtllm && s.engine != EngineKind::ollama) {
    fail_at(o.draft->origin, ErrorCode::invalid_argument,
            "speculative decoding is modelled for vLLM, llama.cpp, TensorRT-LLM and the generic estimate, not for " +
                std::string(engine_traits(s.engine).display));
  }
  if (o.draft && vllm && sc.method != VllmSpecMethod::none) {
    fail_at(o.draft->origin, ErrorCode::invalid_argument,
            "--speculative-config names the speculative method already; give one of the two");
  }
  const auto sc_flag = o.engine_flags.find("--speculative-config");
  const Value name = o.draft ? *o.draft
                             : Value{sc.model, sc_flag != o.engine_flags.end() ? sc_flag->second.origin
                                                                               : Origin::flag("--speculative-config")};
  Options d = o;
  d.model = name.text;
  d.model_origin = name.origin;
  ResolvedModel r;
  try {
    r = resolve_model(d, c);
  } catch (const Failure& f) {
    if (f.placed) throw;
    fail_at(name.origin, f.error.code, "draft model: " + f.error.message);
  }
  const std::string own = r.spec.weights_format.value_or(std::string(traits(r.spec.dtype).name));
  const Value fmt = o.draft_format ? *o.draft_format : Value{own, name.origin};
  WeightFormat f = r.file_format && !o.draft_format ? *r.file_format : format_flag(fmt.text, r.spec, fmt.origin);
  if (s.engine != EngineKind::generic && !engine_loads(s.engine, f)) {
    if (!o.draft_format && engine_traits(s.engine).loaded_by == loaded_by_llamacpp) {
      f = format_flag(std::string(traits(r.spec.dtype).name), r.spec, fmt.origin); // the GGUF of its dtype
    } else {
      fail_at(fmt.origin, ErrorCode::invalid_argument,
              std::string(engine_traits(s.engine).display) + " does not load the draft's format '" + f.id + "'");
    }
  }
  std::uint64_t tokens = 0;
  if (o.spec_tokens) tokens = value_at(o.spec_tokens->origin, parse_count(o.spec_tokens->text, 1024));
  if (o.draft && vllm) {
    sc.method = VllmSpecMethod::draft_model;
    sc.method_name = "draft_model";
    sc.model = name.text;
    sc.num_speculative_tokens = static_cast<std::uint32_t>(tokens != 0 ? tokens : 3);
  }
  if (s.engine == EngineKind::llamacpp && tokens != 0) s.engine_options.llamacpp.n_draft = static_cast<std::uint32_t>(tokens);
  if (s.engine == EngineKind::ollama) {
    // llm/llama_server.go externalDraftType (0.32.7+): a dflash drafter drafts with draft-dflash.
    const std::string why = ollama_draft_refusal(s.engine_options.ollama.release, r.spec.arch);
    if (!why.empty()) fail_at(name.origin, ErrorCode::invalid_argument, why);
    // Passed as --spec-draft-model under draft-mtp: llama-server makes an MTP context on it.
    const std::string mtp = llamacpp_mtp_refusal(r.spec, 0);
    if (!mtp.empty()) {
      fail_at(name.origin, ErrorCode::invalid_argument,
              "Ollama passes a Modelfile DRAFT to llama-server as an MTP drafter (--spec-type draft-mtp "
              "--spec-draft-model, llm/llama_server.go appendMTPDraftArgs); " + name.text + ": " + mtp);
    }
    if (o.spec_tokens) {
      fail_at(o.spec_tokens->origin, ErrorCode::invalid_argument,
              "Ollama takes its draft tokens from the draft_num_predict option (--ollama-env draft_num_predict=N; "
              "default " + std::to_string(ollama_draft_num_predict) + " with a Modelfile DRAFT)");
    }
  }
  const bool head = s.engine == EngineKind::trtllm && trtllm_draft_model(o, model, r.spec, s);
  s.draft = std::make_shared<const DraftModel>(DraftModel{std::move(r.spec), std::move(f), name.text, head});
}

} // namespace vramcalc::app
