// The engines' own flags applied to the settings, read by each engine's option specs.
#include "common.hpp"


#include "vramcalc/dtype.hpp"
#include "vramcalc/estimate.hpp"
#include "vramcalc/format.hpp"
#include "vramcalc/io/catalog.hpp"
#include "vramcalc/io/gguf_lora.hpp"
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

namespace {

// An engine's own flags are refused without --engine naming it; an engine that sizes from
// the GPU must be told which.
void check_engine_flags(EngineKind engine, bool flags_given, const Settings& s) {
  const EngineTraits& t = engine_traits(engine);
  if (flags_given && s.engine != engine) {
    fail(ErrorCode::invalid_argument,
         std::string(t.display) + " flags (" + engine_flag_names(engine) + ") need --engine " + std::string(t.id));
  }
  if (s.engine == engine && s.gpus.empty() && !t.needs_gpu.empty()) {
    fail(ErrorCode::invalid_argument,
         "--engine " + std::string(t.id) + ": say which GPU with --gpu (" + std::string(t.needs_gpu) + ")");
  }
}

// --lora RANK[xN]: N adapters of rank RANK held at once (N 1 when not given), as each engine's
// own options (docs/engines.md, "LoRA"); the engine's own flags, read after, override them.
// llama.cpp's --lora: comma-separated items (llama-server's own form), each RANK[xN] (N
// adapters of rank RANK over every attention and MLP projection, f32: convert_lora_to_gguf.py's
// --outtype default) or an adapter GGUF, read from its header (docs/engines.md, "LoRA adapters").
void apply_llamacpp_lora(const Value& v, const ModelSpec& model, std::vector<LlamaCppLora>& loras) {
  for (const std::string& item : split_list(v.origin, v.text)) {
    const bool rank_form = std::isdigit(static_cast<unsigned char>(item[0])) != 0 &&
                           item.find_first_not_of("0123456789xX") == std::string::npos;
    if (rank_form) {
      // Each adapter is loaded on its own: at most 1,024 of them, a bound on the work.
      const std::size_t x = item.find_first_of("xX");
      const auto rank = value_at(v.origin, parse_count(item.substr(0, x), 1u << 16));
      const auto n = x == std::string::npos ? std::uint64_t{1} : value_at(v.origin, parse_count(item.substr(x + 1), 1024));
      loras.insert(loras.end(), n, llamacpp_rank_lora(model, rank, Dtype::f32));
      continue;
    }
    auto lora = io::read_llamacpp_lora(item, model);
    if (!lora) fail_at(v.origin, lora.error().code, lora.error().message + " (RANK[xN] or a LoRA adapter GGUF)", "--lora");
    loras.push_back(std::move(*lora));
  }
}

// llama.cpp's --mmproj FILE.gguf: the projector's header read, its tensors' bytes are the size.
void read_mmproj_file(const Options& o, Settings& s) {
  LlamaCppOptions& l = s.engine_options.llamacpp;
  if (l.mmproj_file.empty()) return;
  const auto it = o.engine_flags.find("--mmproj");
  auto m = io::read_llamacpp_mmproj(l.mmproj_file);
  if (!m) fail_at(it == o.engine_flags.end() ? nullptr : &it->second, "--mmproj", m.error().message);
  l.mmproj_size_bytes = m->bytes;
  l.mmproj_tensors = m->tensors;
  l.mmproj_projector = m->projector;
  l.mmproj_clip = m->clip;
}

void apply_generic_lora(const Value& v, const ModelSpec& model, Settings& s) {
  // Ollama: the Modelfile's ADAPTER files, loaded by llama.cpp (docs/engines.md, Ollama "LoRA").
  if (s.engine == EngineKind::llamacpp) return apply_llamacpp_lora(v, model, s.engine_options.llamacpp.loras);
  if (s.engine == EngineKind::ollama) return apply_llamacpp_lora(v, model, s.engine_options.ollama.loras);
  const std::string_view text = v.text;
  const std::size_t x = text.find_first_of("xX");
  const auto rank = value_at(v.origin, parse_count(text.substr(0, x), 1u << 16));
  const auto slots = x == std::string_view::npos ? std::uint64_t{1} : value_at(v.origin, parse_count(text.substr(x + 1), 1u << 16));
  switch (s.engine) {
  case EngineKind::vllm: {
    // vLLM takes only these ranks (vllm/config/lora.py possible_max_ranks): the next one up.
    constexpr std::uint64_t ranks[] = {1, 8, 16, 32, 64, 128, 256, 320, 512};
    const auto* it = std::find_if(std::begin(ranks), std::end(ranks), [&](std::uint64_t r) { return r >= rank; });
    if (it == std::end(ranks)) {
      fail_at(v.origin, ErrorCode::invalid_argument,
              "rank " + std::to_string(rank) + " is above vLLM's largest, 512 (its ranks: 1, 8, 16, 32, 64, 128, 256, 320, 512)",
              "--lora");
    }
    VllmOptions& o = s.engine_options.vllm;
    o.enable_lora = true;
    o.max_loras = static_cast<std::uint32_t>(slots);
    o.max_lora_rank = static_cast<std::uint32_t>(*it);
    return;
  }
  case EngineKind::sglang: {
    SglangOptions& o = s.engine_options.sglang;
    o.enable_lora = true;
    o.max_loras_per_batch = slots;
    o.max_lora_rank = rank;
    return;
  }
  default:
    fail_at(v.origin, ErrorCode::invalid_argument,
            "LoRA memory is modelled for --engine vllm, sglang, llamacpp and ollama, not " + std::string(engine_traits(s.engine).id),
            "--lora");
  }
}

// A flag several engines spell alike (--enable-lora: vLLM's and SGLang's), given without
// --engine naming one of them: the message names them all, at the flag.
void check_shared_flags(const Options& o, const Settings& s) {
  for (const auto& [flag, value] : o.engine_flags) {
    std::vector<std::string_view> owners;
    bool selected = false;
    for (const EngineTraits& engine : engine_table) {
      for (const EngineOptionSpec& spec : engine_option_specs(engine.kind)) {
        if (spec.flag() != flag) continue;
        owners.push_back(engine.id);
        selected = selected || engine.kind == s.engine;
      }
    }
    if (owners.size() < 2 || selected) continue;
    std::string names;
    for (std::size_t i = 0; i < owners.size(); ++i) {
      names += (i == 0 ? "" : i + 1 == owners.size() ? " or " : ", ") + std::string(owners[i]);
    }
    fail_at(value.origin, ErrorCode::invalid_argument, "needs --engine " + names, flag);
  }
}

} // namespace

void apply_engine_flags(const Options& o, const ModelSpec& model, Settings& s) {
  s.engine = engine_kind(o.engine.text);
  if (o.tp || o.pp || o.ep) {
    Parallel p;
    if (o.tp) p.tp = static_cast<std::uint32_t>(value_at(o.tp->origin, parse_count(o.tp->text, 1024)));
    if (o.pp) p.pp = static_cast<std::uint32_t>(value_at(o.pp->origin, parse_count(o.pp->text, 1024)));
    p.expert_parallel = o.ep;
    if (const std::string why = parallel_problem(model, p); !why.empty()) fail_at(o.tp ? &*o.tp : nullptr, "--tp/--pp", why);
    for (const GpuRequest& g : s.gpus) {
      if (g.count != 0 && g.count != p.gpus()) {
        fail_at(o.gpus.empty() ? nullptr : &o.gpus.front(), "--gpu",
                std::to_string(g.count) + "x" + g.gpu.id + " but --tp " + std::to_string(p.tp) + " --pp " +
                    std::to_string(p.pp) + " use " + std::to_string(p.gpus()) + " GPUs");
      }
    }
    s.parallel = p;
  }
  if (o.lora) apply_generic_lora(*o.lora, model, s);
  check_shared_flags(o, s);
  // Each engine's options, by its specs: refused without the engine, read in its order. A flag
  // the engine --engine names shares with another is that engine's.
  const auto selected = engine_option_specs(s.engine);
  const auto selected_has = [&](const EngineOptionSpec& spec) {
    return std::any_of(selected.begin(), selected.end(), [&](const EngineOptionSpec& t) { return t.flag() == spec.flag(); });
  };
  for (const EngineTraits& engine : engine_table) {
    const auto specs = engine_option_specs(engine.kind);
    const auto given = [&](const EngineOptionSpec& spec) {
      return o.engine_flags.contains(std::string(spec.flag())) && (engine.kind == s.engine || !selected_has(spec));
    };
    check_engine_flags(engine.kind, std::any_of(specs.begin(), specs.end(), given), s);
    if (engine.kind != s.engine) continue;
    for (const EngineOptionSpec& spec : specs) {
      const auto it = o.engine_flags.find(std::string(spec.flag()));
      if (it == o.engine_flags.end()) continue;
      if (auto e = spec.apply(it->second.text, s)) fail_at(it->second.origin, e->code, e->message, spec.flag());
    }
  }
  read_mmproj_file(o, s);
  // TensorRT-LLM's speculative_config, once its release is read: the 1.1 rules refuse it.
  if (const auto it = o.engine_flags.find("--speculative-mtp");
      it != o.engine_flags.end() && s.engine == EngineKind::trtllm && s.engine_options.trtllm.release != TrtllmRelease::newest) {
    fail_at(it->second.origin, ErrorCode::invalid_argument, std::string(trtllm_speculative_release_refusal));
  }
  // Ollama's adapters, once its release is read: the releases that run the model on their own
  // engine refuse them.
  if (o.lora && s.engine == EngineKind::ollama) {
    if (const std::string why = ollama_adapter_refusal(model, s.engine_options.ollama.release); !why.empty()) {
      fail_at(o.lora->origin, ErrorCode::invalid_argument, why, "--lora");
    }
  }
}

// TensorRT-LLM's MTP drafts with the model's own MTP layers: a model without any is refused at
// the flag or key that asked for it.
void trtllm_speculative_check(const Options& o, const ModelSpec& model, const Settings& s) {
  if (s.engine != EngineKind::trtllm || s.engine_options.trtllm.speculative.kind == TrtllmSpecKind::none) return;
  // Pipeline parallelism asked with speculative decoding: where the draft's weights sit among the
  // stages was not read (the draft's KV layers go to the last: get_pp_layers).
  if (o.pp && s.parallel && s.parallel->pp > 1) {
    fail_at(o.pp->origin, ErrorCode::invalid_argument,
            "TensorRT-LLM's speculative decoding (decoding_type " +
                std::string(trtllm_spec_kind_name(s.engine_options.trtllm.speculative.kind)) +
                ") with pipeline parallelism is not modelled: where the draft's weights sit among the stages was not read",
            "--pp");
  }
  if (s.engine_options.trtllm.speculative.kind != TrtllmSpecKind::mtp || model.mtp_layers != 0) return;
  const auto it = o.engine_flags.find("--speculative-mtp");
  const Value& where = o.draft ? *o.draft : it->second;
  fail_at(where.origin, ErrorCode::invalid_argument,
          "TensorRT-LLM's MTP (speculative_config decoding_type MTP) drafts with the model's own MTP layers "
          "(num_nextn_predict_layers); " + model.id + " has none");
}

// SGLang's --speculative-draft-model-path: a catalog model, sized as the draft; anything else
// (a path, a hub name the catalog lacks) is refused, naming the flag.
void sglang_draft_model(const Options& o, Settings& s) {
  SglangOptions& sg = s.engine_options.sglang;
  if (sg.speculative_draft_model_path.empty()) return;
  const auto it = o.engine_flags.find("--speculative-draft-model-path");
  const io::Catalog catalog = load_catalog(o, std::vector<std::string>{sg.speculative_draft_model_path});
  auto found = catalog.find_model(sg.speculative_draft_model_path);
  if (!found) {
    fail_at(it == o.engine_flags.end() ? nullptr : &it->second, "--speculative-draft-model-path",
            "'" + sg.speculative_draft_model_path + "' is not a catalog model id (vramcalc sizes a draft model it knows): " +
                found.error().message);
  }
  sg.draft_model = std::make_shared<const ModelSpec>(**found);
}

} // namespace vramcalc::app
