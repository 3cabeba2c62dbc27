// What the application's commands share: failing with a message, reading flag values,
// resolving the model, the workload every estimating command reads. Private to src/app.
#pragma once

#include "app.hpp"

#include "vramcalc/dtype.hpp"
#include "vramcalc/estimate.hpp"
#include "vramcalc/format.hpp"
#include "vramcalc/io/catalog.hpp"
#include "vramcalc/io/price_json.hpp"
#include "vramcalc/kv.hpp"
#include "vramcalc/model.hpp"

#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vramcalc::app {

[[noreturn]] inline void fail(ErrorCode code, std::string message) { throw Failure{{code, std::move(message)}}; }

template <typename T>
T value_or_fail(std::expected<T, Error> v) {
  if (!v) throw Failure{v.error()};
  return std::move(*v);
}

// What is wrong with a value, at its origin (error_at); a deployment's value's error is placed.
[[noreturn]] void fail_at(const Origin& at, ErrorCode code, const std::string& what, std::string_view flag = {});
// At the value when one was given, else naming `flag` ("--quant: ..."; check then places it
// at the deployment as a whole).
[[noreturn]] void fail_at(const Value* v, std::string_view flag, const std::string& what);

// A value read by its parser, or the parser's complaint at the value's origin.
template <typename T>
T value_at(const Origin& at, std::expected<T, Error> v) {
  if (!v) fail_at(at, v.error().code, v.error().message);
  return std::move(*v);
}

// ---- values (values.cpp) --------------------------------------------------------------

// "[N x]NAME": "4xh100", "4×h100", "h100". Returns the count (0 if none given) and the name.
std::pair<std::uint32_t, std::string> split_count(const Origin& at, std::string_view spec);
// --gpu and --gpu-mem as requests; notes get what a short name picked.
std::vector<GpuRequest> gpu_requests(const Options& o, const io::Catalog& c, std::vector<std::string>* notes = nullptr);
// "a,b,c" -> {"a", "b", "c"}; empty entries are an error at the value's origin.
std::vector<std::string> split_list(const Origin& at, const std::string& text);
WeightFormat format_flag(const std::string& quant, const ModelSpec& model, const Origin& at = Origin::flag("--quant"));
std::string did_you_mean(std::string_view typed, std::span<const std::string_view> names);
// --kv: a KV dtype every engine may take (kv_allowed), or one `engine` lists as its own.
Dtype kv_flag(const std::string& kv, const ModelSpec& model, EngineKind engine, const Origin& at);
Dtype llamacpp_kv_flag(const Origin& at, const std::string& text);
EngineKind engine_kind(const std::string& name);
KvPolicy kv_policy_flag(const Value& v);

// The most combinations one sweep may ask for.
inline constexpr std::size_t max_sweep = 10000;
// The most layer-estimates (estimates x the model's layers) one command may ask for. An
// estimate walks every layer and its tensors for each GPU layout it tries, so its time grows
// with the layers: under the 10,000-combination cap alone a 372-byte GGUF declaring 65,536
// layers took 28 s for 100 contexts, and could take an hour. 2,000,000 holds every catalog
// model at the cap (126 layers x 10,000 = 1,260,000). docs/reliability.md, "Bounded work".
inline constexpr std::uint64_t max_layer_estimates = 2'000'000;
// Estimates of the searches: --max-ctx / --max-batch double then bisect (at most ~80 each);
// the "would fit with" suggestions add those, the formats, three KV dtypes and GPU counts.
inline constexpr std::uint64_t search_estimates = 80;
inline constexpr std::uint64_t suggestion_estimates = 250;
// Suggestions are not asked for: they are searched only while they stay cheap (models of up
// to 1,024 layers).
inline constexpr std::uint64_t max_unasked_layer_estimates = 256'000;

bool within_work(const ModelSpec& model, std::uint64_t estimates, std::uint64_t budget = max_layer_estimates);
void check_work(const ModelSpec& model, std::uint64_t estimates, const std::string& what);

// ---- the model (resolve.cpp) ----------------------------------------------------------

// The whole catalog; or, given the model names a command looks up, only those models (and
// the GPUs): most commands need one model, and parsing one spec instead of all of them is
// most of a typical invocation's time (docs/performance.md).
io::Catalog load_catalog(const Options& o, std::optional<std::vector<std::string>> only = std::nullopt);

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
  bool ollama_v_names_f16 = false;         // an Ollama tag whose file Ollama 0.6.5-0.6.8 quantized
  // The modules the checkpoint's (or the model's own) quantized format leaves out, and that
  // format's id: applied to that format only (set_unquantized).
  std::vector<std::string> unquantized{};
  std::string unquantized_format{};
};

ResolvedModel resolve_model(const Options& o, const io::Catalog& c);

// Speculative decoding's draft model into `s.draft`: --draft, or vLLM's speculative_config
// "model" of the draft_model method, resolved like the model argument; --spec-tokens into the
// engine's options (TensorRT-LLM: MTP, Eagle3 or DraftTarget, an Eagle3 head checked against
// `model`, the target). After apply_engine_flags.
void resolve_draft(const Options& o, const io::Catalog& c, const ModelSpec& model, Settings& s);

// ---- engines' flags (engine_flags.cpp) ------------------------------------------------

void apply_engine_flags(const Options& o, const ModelSpec& model, Settings& s);
// After resolve_draft: TensorRT-LLM's MTP on a model without MTP layers is refused by name.
void trtllm_speculative_check(const Options& o, const ModelSpec& model, const Settings& s);
// SGLang's --speculative-draft-model-path resolved to a catalog model (engine_flags.cpp).
void sglang_draft_model(const Options& o, Settings& s);

// ---- the workload (workload.cpp) ------------------------------------------------------

// What every estimating command reads from the flags: the model, the lists to sweep, and
// the settings they share.
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
  std::optional<ImagesWorkload> images; // --images N (unset: none)
  std::vector<std::string> image_notes; // what the report says of them (llama.cpp without --mmproj)
};

Workload read_workload(const Options& o, const io::Catalog& catalog);
std::vector<WeightFormat> quality_order(const ModelSpec& model, const Settings& s);
std::string overflow_message(const ModelSpec& model, const Settings& s, const Error& e);
Report estimate_or_fail(const Workload& w, const Settings& s, const io::Catalog& catalog,
                        const PreparedWeights* prepared = nullptr);
void write_file_atomically(const std::string& path, const std::string& text, const std::string& flag);

// ---- commands -------------------------------------------------------------------------

std::string plot_svg(const Workload& w, const io::Catalog& catalog, const Options& o); // plot.cpp
Outcome run_estimate(const Options& o);                                               // commands.cpp
Outcome run_plan(const Options& o);
Outcome run_explain(const Options& o);
Outcome run_compare(const Options& o);
Outcome run_list(const Options& o);
Outcome run_inspect(const Options& o);                                                // inspect.cpp
Outcome run_check(const Options& o);                                                  // check.cpp

} // namespace vramcalc::app
