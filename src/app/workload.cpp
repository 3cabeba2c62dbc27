// What every estimating command reads from the flags, and the estimate around it.
#include "common.hpp"


#include "vramcalc/dtype.hpp"
#include "vramcalc/estimate.hpp"
#include "vramcalc/format.hpp"
#include "vramcalc/images.hpp"
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

namespace {

// The price table: --prices FILE, else the built-in one. Shared, so the spans Settings hold
// into it stay valid however the workload is copied.
std::shared_ptr<const io::PriceTable> load_prices(const Options& o, const io::Catalog& catalog) {
  if (!o.prices && o.keep_catalogs && o.models_dirs.empty()) {
    // Every catalog holds every GPU, so the built-in table is the same for every request.
    static const std::shared_ptr<const io::PriceTable> kept =
        std::make_shared<const io::PriceTable>(value_or_fail(io::load_prices(value_or_fail(catalog_files()), catalog.gpus)));
    return kept;
  }
  if (!o.prices) {
    return std::make_shared<const io::PriceTable>(value_or_fail(io::load_prices(value_or_fail(catalog_files()), catalog.gpus)));
  }
  auto text = io::read_text_file(*o.prices, ErrorCode::io);
  if (!text) throw Failure{Error{text.error().code, "--prices: " + text.error().message}};
  return std::make_shared<const io::PriceTable>(value_or_fail(io::parse_price_table(*text, *o.prices, catalog.gpus)));
}


// The model, its errors at the model's origin: a deployment's `model` key.
ResolvedModel resolve_at_origin(const Options& o, const io::Catalog& catalog) {
  try {
    return resolve_model(o, catalog);
  } catch (const Failure& f) {
    if (!o.model_origin.deployment || f.placed || f.error.line != 0) throw;
    fail_at(o.model_origin, f.error.code, f.error.message);
  }
}

// The checkpoint's unquantized modules on its own format (ResolvedModel::unquantized).
void apply_unquantized(const ResolvedModel& resolved, WeightFormat& f) {
  if (resolved.unquantized.empty() || f.id != resolved.unquantized_format) return;
  (void)set_unquantized(f, resolved.unquantized); // checked when the catalog was read
}

// -q: the weight formats (a list, 'all', or the model's own), each one the engine loads.
void read_formats(const Options& o, EngineKind engine, Workload& w) {
  const ModelSpec& model = w.resolved.spec;
  // llama.cpp and the engines that run it (Ollama) load GGUF files.
  const bool llamacpp = engine_traits(engine).loaded_by == loaded_by_llamacpp;
  if (o.quant && iequals(o.quant->text, "all")) {
    for (std::string_view n : listed_weight_formats()) {
      WeightFormat f = format_flag(std::string(n), model);
      apply_unquantized(w.resolved, f);
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
    const Value quant = o.quant.value_or(Value::flag("--quant", native));
    for (const std::string& q : split_list(quant.origin, quant.text)) {
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
      w.formats.push_back(format_flag(llamacpp && iequals(q, "mxfp4") ? std::string("mxfp4_moe") : q, model, quant.origin));
      apply_unquantized(w.resolved, w.formats.back());
      if (!o.quant && w.resolved.ollama_v_names_f16 && w.formats.back().kind == FormatKind::gguf) {
        WeightFormat& f = w.formats.back();
        f.ollama_v_names_f16 = true;
        if (const auto at = f.description.find("(llama.cpp mix)"); at != std::string::npos) {
          f.description.replace(at, 15, "(Ollama 0.6.5-0.6.8 mix: attn_v f16)");
        }
      }
      if (llamacpp && !engine_loads(engine, w.formats.back())) {
        fail_at(quant.origin, ErrorCode::invalid_argument,
                "llama.cpp runs GGUF files and '" + q + "' is not a GGUF type; use one such as q8_0, q6_k, q4_k_m, iq4_xs or bf16");
      }
      if (engine == EngineKind::vllm && !engine_loads(engine, w.formats.back())) {
        fail_at(quant.origin, ErrorCode::invalid_argument,
             "vLLM does not load '" + q + "' (" +
                 (w.formats.back().kind == FormatKind::exl2 ? std::string("ExLlamaV2 is not a vLLM format")
                                                            : std::string("its GGUF loading is experimental and not modelled")) +
                 "); use one of bf16, fp8, int8, gptq, awq, w4a16, nf4, mxfp4, nvfp4, or --engine llamacpp for GGUF");
      }
    }
  }
}

// Under --engine ollama: --ctx is num_ctx and --batch OLLAMA_NUM_PARALLEL; without --ctx, the
// context Ollama chooses itself for its release, environment and GPUs (docs/engines.md,
// "Ollama as an engine").
void ollama_workload(const Options& o, Workload& w) {
  const ModelSpec& model = w.resolved.spec;
  OllamaOptions& ol = w.base.engine_options.ollama;
  for (Dtype kv : w.kvs) {
    if (!engine_takes_kv(EngineKind::ollama, kv)) {
      fail_at(o.kv ? &*o.kv : nullptr, "--kv", "Ollama's cache types (OLLAMA_KV_CACHE_TYPE) are f16, q8_0 and q4_0");
    }
  }
  // OLLAMA_KV_CACHE_TYPE is the estimate's KV dtype too; --kv is it when the environment is silent.
  if (ol.env.kv_cache_type) {
    if (o.kv && (w.kvs.size() != 1 || w.kvs.front() != *ol.env.kv_cache_type)) {
      fail(ErrorCode::invalid_argument,
           "--kv is OLLAMA_KV_CACHE_TYPE under --engine ollama: give --kv or --ollama-env OLLAMA_KV_CACHE_TYPE=..., not both");
    }
    w.kvs = {*ol.env.kv_cache_type};
  }
  if (o.ctx && ol.env.num_ctx) {
    fail(ErrorCode::invalid_argument, "--ctx is num_ctx under --engine ollama: give --ctx or --ollama-env num_ctx=..., not both");
  }
  if (o.batch && ol.env.num_parallel) {
    fail(ErrorCode::invalid_argument,
         "--batch is OLLAMA_NUM_PARALLEL under --engine ollama: give --batch or --ollama-env OLLAMA_NUM_PARALLEL=..., not both");
  }
  ol.batch_given = o.batch.has_value();
  if (!o.ctx) {
    auto [tokens, source] = detail::ollama_default_context(model, w.base);
    w.ctxs = {tokens};
    ol.default_context_source = std::move(source);
    w.context_source = "ollama";
  }
}

// The image of --image-size by the model's processor, or its largest image (t tokens).
ImageTokens image_of(const Options& o, const ModelSpec& model) {
  const std::optional<ImageProcessor>& rule = model.image_processor;
  if (o.image_size) {
    const auto size = parse_image_size(o.image_size->text);
    if (!size) fail_at(o.image_size->origin, ErrorCode::invalid_argument, "'" + excerpt(o.image_size->text, 40) + "': " + size.error());
    if (!rule) {
      fail_at(o.image_size->origin, ErrorCode::invalid_argument,
              "no image processor rule is known for " + model.id + " (docs/engines.md, \"Images per request\")" +
                  (model.vision_profile ? "; --images alone counts its largest image, " +
                                              with_commas(model.vision_profile->max_tokens_per_item) + " tokens"
                                        : std::string()));
    }
    auto image = image_tokens(*rule, size->first, size->second);
    if (!image) fail_at(o.image_size->origin, ErrorCode::invalid_argument, std::to_string(size->first) + "x" +
                                                                              std::to_string(size->second) + ": " + image.error());
    return *image;
  }
  // The largest image: t, with its size where the processor's rule gives it.
  ImageTokens image = rule ? largest_image(*rule) : ImageTokens{};
  if (model.vision_profile) image.tokens = model.vision_profile->max_tokens_per_item;
  if (image.tokens == 0) {
    fail_at(o.images->origin, ErrorCode::invalid_argument,
            "the tokens of an image are not known for " + model.id +
                ": its spec gives no vision.max_tokens_per_image and no image processor rule is known");
  }
  return image;
}

// --images N and --image-size WxH: the images each request carries, their tokens inside each
// request's context (docs/engines.md, "Images per request"). Checked against every context of
// the workload and what the engine accepts.
void read_images(const Options& o, Workload& w) {
  if (!o.images) {
    if (o.image_size) fail_at(o.image_size->origin, ErrorCode::invalid_argument, "needs --images N (the images in each request)");
    return;
  }
  if (o.images->text == "0") return;
  const ModelSpec& model = w.resolved.spec;
  ImagesWorkload images;
  images.per_request = value_at(o.images->origin, parse_count(o.images->text, 1u << 20));
  if (model.vision_params == 0) {
    fail_at(o.images->origin, ErrorCode::invalid_argument, model.id + " has no vision tower: it takes no images");
  }
  const Settings& s = w.base;
  if (s.engine == EngineKind::vllm) {
    const VllmOptions& v = s.engine_options.vllm;
    if (v.language_model_only) {
      fail_at(o.images->origin, ErrorCode::invalid_argument,
              "--language-model-only serves text only: vLLM rejects a prompt with images");
    }
    if (v.mm_image_limit && images.per_request > *v.mm_image_limit) {
      fail_at(o.images->origin, ErrorCode::invalid_argument,
              with_commas(images.per_request) + " images in each request, more than --limit-mm-per-prompt allows (image: " +
                  with_commas(*v.mm_image_limit) + "): vLLM rejects such a prompt");
    }
  }
  const LlamaCppOptions& l = s.engine_options.llamacpp;
  if (s.engine == EngineKind::llamacpp && !l.mmproj_dtype && !l.mmproj_size_bytes) {
    w.image_notes.push_back("Images need the vision projector: llama-server takes them with --mmproj (its weights and "
                            "compute buffer are not counted here without it).");
  }
  images.image = image_of(o, model);
  images.size_given = o.image_size.has_value();
  images.tokens_per_request = checked_mul(images.per_request, images.image.tokens, "the images' tokens");
  for (std::uint64_t ctx : w.ctxs) {
    if (images.tokens_per_request <= ctx) continue;
    fail_at(o.images->origin, ErrorCode::invalid_argument,
            with_commas(images.per_request) + (images.per_request == 1 ? " image \u00d7 " : " images \u00d7 ") +
                with_commas(images.image.tokens) + " tokens = " + with_commas(images.tokens_per_request) +
                " tokens, more than the " + with_commas(ctx) + "-token context of each request");
  }
  w.images = images;
}

} // namespace

Workload read_workload(const Options& o, const io::Catalog& catalog) {
  Workload w{load_prices(o, catalog), resolve_at_origin(o, catalog), {}, {}, {}, {}, {}, {}, {}, {}, {}};
  w.base.prices = w.prices->rows;
  const ModelSpec& model = w.resolved.spec;
  // Every flag may hold a comma list; more than one value anywhere makes a sweep.
  const EngineKind engine = engine_kind(o.engine.text);
  // llama.cpp and the engines that run it (Ollama) load GGUF files.
  const bool llamacpp = engine_traits(engine).loaded_by == loaded_by_llamacpp;
  read_formats(o, engine, w);
  if (llamacpp && o.kv) {
    for (const std::string& k : split_list(o.kv->origin, o.kv->text)) w.kvs.push_back(llamacpp_kv_flag(o.kv->origin, k));
  } else if (llamacpp) {
    w.kvs.push_back(Dtype::f16); // llama.cpp's default cache type
  } else {
    const Value kv = o.kv.value_or(Value::flag("--kv", "auto"));
    for (const std::string& k : split_list(kv.origin, kv.text)) w.kvs.push_back(kv_flag(k, model, engine, kv.origin));
  }
  if (!o.ctx && model.max_context == 0) {
    fail(ErrorCode::invalid_argument, "--ctx: the model gives no maximum context; say how many tokens with --ctx");
  }
  if (o.ctx) {
    for (const std::string& c : split_list(o.ctx->origin, o.ctx->text)) {
      w.ctxs.push_back(value_at(o.ctx->origin, parse_tokens(c)));
      // Far beyond what any model takes is a slip (128000k for 128k), not a plan: say so rather
      // than size 44 GPUs for it. Beyond this model's maximum but within reach is a what-if:
      // the table says it plainly.
      const std::uint64_t longest = std::max(longest_known_context_tokens, model.max_context);
      if (w.ctxs.back() / 8 >= longest && w.ctxs.back() != 8 * longest) {
        fail_at(o.ctx->origin, ErrorCode::invalid_argument,
             "'" + c + "' is " + with_commas(w.ctxs.back()) + " tokens, more than 8\u00d7 the longest context any model takes (" +
                 with_commas(longest) + " tokens); " + model.id + " takes " + with_commas(model.max_context) +
                 " (k is 1,024 tokens, m 1,048,576)");
      }
    }
  } else {
    w.ctxs.push_back(std::max<std::uint64_t>(1, model.max_context / o.context_divisor));
  }
  w.context_source = o.ctx ? "flag" : w.resolved.context_from_checkpoint ? "checkpoint" : "model";
  if (o.quant && iequals(o.quant->text, "all")) w.quant_source = "flag";
  const Value batch = o.batch.value_or(Value::flag("--batch", "1"));
  for (const std::string& b : split_list(batch.origin, batch.text)) {
    w.batches.push_back(value_at(batch.origin, parse_count(b, 1ull << 32)));
  }
  const std::uint64_t combos = w.formats.size() * w.kvs.size() * w.ctxs.size() * w.batches.size();
  if (combos > max_sweep) {
    fail(ErrorCode::invalid_argument, "the flags ask for " + std::to_string(combos) +
                                          " combinations; a sweep is limited to " + std::to_string(max_sweep));
  }
  check_work(model, combos, "the flags ask for");
  if (o.overhead) {
    w.base.overhead_bytes = value_at(o.overhead->origin, parse_size(o.overhead->text));
    w.base.overhead_given = true;
  }
  if (o.host_mem) w.base.host_mem_bytes = value_at(o.host_mem->origin, parse_size(o.host_mem->text));
  if (o.kv_policy) w.base.kv_policy = kv_policy_flag(*o.kv_policy);
  w.base.gpus = gpu_requests(o, catalog, &w.resolved.notes);
  apply_engine_flags(o, model, w.base);
  resolve_draft(o, catalog, model, w.base);
  trtllm_speculative_check(o, model, w.base);
  sglang_draft_model(o, w.base);
  // A GPU named without a count is one GPU (or the tp x pp GPUs asked), never "as many as
  // it takes": the fit row's min_count and the verdict still say how many would fit.
  for (GpuRequest& g : w.base.gpus) {
    if (g.count == 0) g.count = w.base.parallel ? w.base.parallel->gpus() : 1;
  }
  if (w.base.engine == EngineKind::ollama) ollama_workload(o, w);
  read_images(o, w);
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
std::string overflow_message(const ModelSpec& model, const Settings& s, const Error& e) {
  return model.id + " at " + with_commas(s.context_tokens) + " tokens \u00d7 " + with_commas(s.batch) +
         (s.batch == 1 ? " sequence: " : " sequences: ") + e.message;
}

Report estimate_or_fail(const Workload& w, const Settings& s, const io::Catalog& catalog,
                        const PreparedWeights* prepared) {
  const ModelSpec& model = w.resolved.spec;
  auto report = prepared != nullptr ? estimate(s, catalog.gpus, *prepared) : estimate(model, s, catalog.gpus);
  if (!report) fail(ErrorCode::overflow, overflow_message(model, s, report.error()));
  report->notes.insert(report->notes.begin(), w.resolved.notes.begin(), w.resolved.notes.end());
  for (const std::string& warning : w.resolved.warnings) report->notes.insert(report->notes.begin(), "Import: " + warning);
  report->settings.quant_source = w.quant_source;
  report->settings.context_source = w.context_source;
  report->settings.checkpoint = w.resolved.checkpoint;
  if (w.images) {
    report->images = w.images;
    report->images->context_tokens = s.context_tokens;
    report->notes.insert(report->notes.end(), w.image_notes.begin(), w.image_notes.end());
  }
  return std::move(*report);
}

// Writes `text` to `path` whole or not at all, never over a device, FIFO, link or another
// user's file (io::write_output_file).
void write_file_atomically(const std::string& path, const std::string& text, const std::string& flag) {
  if (auto w = io::write_output_file(path, text); !w) fail(w.error().code, flag + ": " + w.error().message);
}


} // namespace vramcalc::app
