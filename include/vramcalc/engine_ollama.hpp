// Ollama: its environment, its defaults per release and what it then asks llama.cpp for.
//
// Ollama runs llama.cpp underneath: as a library (its "llama runner") up to v0.29, as the
// upstream `llama-server` (the build pinned in LLAMA_CPP_VERSION) from v0.30.0. vramcalc
// models it in three steps, each pure: `ollama_settings` (the context, parallel sequences,
// KV type, flash attention and per-GPU reservations Ollama derives from a release, its
// environment, the model and the GPUs), `ollama_llamacpp_request` (those as llama.cpp's
// options), and `ollama_plan` (llama.cpp's allocations for them, with Ollama's own layer
// placement where it chooses the offloaded layers). docs/engines.md, "Ollama", gives each rule
// with its file, function and release. Its options, section and renderers make it an engine
// (--engine ollama); engine.hpp (the registry) includes it.
#pragma once

#include "vramcalc/engine_fwd.hpp"
#include "vramcalc/engine_llamacpp.hpp"
#include "vramcalc/error.hpp"

#include <compare>
#include <utility>

namespace vramcalc {

// An Ollama release, major.minor.patch ("0.12.4"; a "v" prefix and an "-rcN" suffix are
// accepted: a rule lands in the first release candidate of the release it belongs to).
struct OllamaRelease {
  std::uint32_t major = 0, minor = 0, patch = 0;
  friend constexpr auto operator<=>(const OllamaRelease&, const OllamaRelease&) = default;
};

inline constexpr OllamaRelease ollama_oldest{0, 5, 0};  // OLLAMA_KV_CACHE_TYPE's first release
inline constexpr OllamaRelease ollama_newest{0, 33, 0}; // the newest read (tag v0.33.0-rc2)

// Refuses text that is not major.minor.patch and releases before ollama_oldest.
[[nodiscard]] std::expected<OllamaRelease, Error> parse_ollama_release(std::string_view text);
[[nodiscard]] std::string ollama_release_name(OllamaRelease r); // "0.12.4"

// What Ollama reads from its server's environment (envconfig/config.go) and from a model's
// Modelfile PARAMETERs or a request's options (api.Options), as `ollama serve` would see them.
struct OllamaEnv {
  std::optional<std::uint64_t> context_length; // OLLAMA_CONTEXT_LENGTH (0: the release's default)
  std::optional<std::uint64_t> num_parallel;   // OLLAMA_NUM_PARALLEL (0: automatic)
  std::optional<Dtype> kv_cache_type;          // OLLAMA_KV_CACHE_TYPE: f16, q8_0 or q4_0
  std::optional<bool> flash_attention;         // OLLAMA_FLASH_ATTENTION (unset: the release's default)
  std::uint64_t gpu_overhead_bytes = 0;        // OLLAMA_GPU_OVERHEAD: reserved per GPU
  std::optional<std::uint64_t> num_ctx;        // num_ctx (Modelfile / request): tokens per sequence
  std::optional<std::uint64_t> num_gpu;        // num_gpu: layers to offload (unset or -1: Ollama chooses)
  std::optional<std::uint64_t> num_batch;      // num_batch (default 512)
  // draft_num_predict (Modelfile / request, 0.30.0+): llama-server's --spec-draft-n-max. Unset:
  // 4 with a Modelfile DRAFT, else 0 (server/routes.go modelOptions zeroes the default without a
  // DRAFT), and 0 turns MTP drafting off (llm/llama_server.go appendMTPDraftArgs).
  std::optional<std::uint64_t> draft_num_predict;
  std::vector<std::string> ignored;            // keys Ollama reads that change no memory (OLLAMA_HOST=..., ...)
};

// Parses "K=V K=V ..." (whitespace-separated; a value may be quoted with ' or "). Keys: the
// OLLAMA_* variables above, num_ctx, num_gpu, num_batch, draft_num_predict; other OLLAMA_* keys (and
// CUDA_VISIBLE_DEVICES-style device selectors) are kept in `ignored`. Anything else, a key
// given twice or a value Ollama would not read is an error naming the key. Ollama itself warns
// and falls back to the default on a bad number ("invalid environment variable, using
// default"); vramcalc refuses it instead, since the user meant something else.
[[nodiscard]] std::expected<OllamaEnv, Error> parse_ollama_env(std::string_view text);

// The model facts Ollama's rules look at.
struct OllamaModelFacts {
  std::string arch;                   // GGUF general.architecture ("llama", "gpt-oss", "qwen3")
  std::uint64_t trained_context = 0;  // <arch>.context_length
  std::uint64_t head_dim_k = 0, head_dim_v = 0; // flash attention needs them equal
  bool embedding = false;             // an embedding model (<arch>.pooling_type): one sequence, no FA
};

[[nodiscard]] OllamaModelFacts ollama_model_facts(const ModelSpec& spec);

// How Ollama runs the model: llama.cpp as a library with Ollama's estimator choosing the layers
// (v0.5.0 - v0.29), or llama-server choosing them itself (v0.30.0+).
enum class OllamaRunner : std::uint8_t { llama_library, llama_server };

struct OllamaSettings {
  OllamaRelease release;
  OllamaRunner runner = OllamaRunner::llama_library;
  std::uint32_t llamacpp_release = 0;  // the llama.cpp build date (YYYYMMDD) that release runs
  std::string llamacpp_build;          // its tag where Ollama pins one ("b10488"), else its commit
  std::uint64_t num_ctx = 0;           // tokens per sequence, after default, floor and clamp
  std::string num_ctx_source;          // "num_ctx", "OLLAMA_CONTEXT_LENGTH", "default", "VRAM tier"
  std::uint64_t default_num_ctx = 0;   // the release's default for these GPUs
  std::uint64_t vram_bytes = 0;        // Σ (total − OLLAMA_GPU_OVERHEAD): the tier's and low-VRAM's input
  bool low_vram = false;               // v0.11.4 - v0.15.4: under 20 GiB (no gpt-oss floor)
  std::uint64_t parallel = 1;          // sequences
  std::vector<std::uint64_t> parallel_tries; // automatic (≤ v0.9.x): tried in order until one fits
  bool flash_attention = false;        // what Ollama passes (llama-server from v0.30: see flash_attn)
  FlashAttn flash_attn = FlashAttn::off;
  Dtype kv_type = Dtype::f16;          // K and V alike
  std::uint64_t num_batch = 512;
  std::optional<std::uint64_t> num_gpu;
  std::uint64_t minimum_memory_bytes = 0; // per GPU: 457 MiB (CUDA / ROCm) to v0.29; llama-server's 1 GiB --fit margin from v0.30
  std::uint64_t gpu_overhead_bytes = 0;   // OLLAMA_GPU_OVERHEAD, per GPU
  std::vector<std::string> notes;          // what Ollama logs or warns about these settings
};

// What Ollama `release` asks llama.cpp for with `env`, `model` and `gpus` (what the driver
// reports, total memory). `release` must be ≥ ollama_oldest. Pure; its sums are checked
// (OverflowError), as every byte quantity.
[[nodiscard]] OllamaSettings ollama_settings(OllamaRelease release, const OllamaEnv& env,
                                             const OllamaModelFacts& model, std::span<const GpuSpec> gpus);

// The settings as llama.cpp's: `-c` (all sequences), `-np`, and its options; `overhead_bytes` is
// what is held back on every GPU beyond llama.cpp's allocations (the library runner: 457 MiB +
// OLLAMA_GPU_OVERHEAD + one layer's weights and KV as a buffer; llama-server: its 1 GiB --fit margin).
struct OllamaLlamaCpp {
  std::uint64_t n_ctx = 0;
  std::uint64_t n_seq = 1;
  LlamaCppOptions options;
  std::uint64_t overhead_bytes = 0;
  std::uint64_t layer_buffer_bytes = 0; // part of overhead_bytes: blk.0's weights and KV
};

// `layer_buffer_bytes`: blk.0's weights and KV (ollama_layer_buffer_bytes), held back per GPU by
// the library runner's estimator.
// `adapters`: the Modelfile's ADAPTER files (LoadRequest.LoraPath to the library runner,
// `--lora FILE` each to llama-server), loaded as llama.cpp's --lora (its `loras`).
[[nodiscard]] OllamaLlamaCpp ollama_llamacpp_request(const OllamaSettings& settings, std::uint64_t layer_buffer_bytes,
                                                     std::span<const LlamaCppLora> adapters = {});

// Why Ollama `release` does not load LoRA adapters for `spec` ("" when it does): from 0.6.0 to
// 0.24 the architectures Ollama runs on its own engine (fs/ggml/ggml.go OllamaEngineRequired)
// go to runner/ollamarunner, whose allocModel returns "loras are not yet implemented".
[[nodiscard]] std::string ollama_adapter_refusal(const ModelSpec& spec, OllamaRelease release);

// Why vramcalc does not size a draft model (--draft, of architecture `draft_arch`) under Ollama
// `release` ("" when it does): none before 0.30.0 (no draft argument to any runner); from
// 0.30.0 a Modelfile DRAFT is an MTP drafter (--spec-type draft-mtp --spec-draft-model PATH),
// sized by ollama_plan; from 0.32.7 a DRAFT of architecture dflash is a DFlash drafter
// (--spec-type draft-dflash), not modelled. A model's own MTP layers are drafted with
// automatically and counted (ollama_plan).
[[nodiscard]] std::string ollama_draft_refusal(OllamaRelease release, std::string_view draft_arch = {});
inline constexpr OllamaRelease ollama_first_draft{0, 30, 0};
// llm/llama_server.go externalDraftType: a DRAFT of architecture dflash drafts with draft-dflash.
inline constexpr OllamaRelease ollama_first_dflash{0, 32, 7};
// api/types.go DefaultOptions: DraftNumPredict, llama-server's --spec-draft-n-max (0.30.0+); kept
// only with a Modelfile DRAFT or when the model or request sets it (server/routes.go modelOptions).
inline constexpr std::uint32_t ollama_draft_num_predict = 4;

// blk.0's weights in `format` plus its KV for `cells` tokens of `kv_type`: the layer Ollama's
// estimator keeps free on each GPU (llm/memory.go EstimateGPULayers, `layerSize`).
[[nodiscard]] std::uint64_t ollama_layer_buffer_bytes(const ModelSpec& spec, const WeightFormat& format,
                                                      Dtype kv_type, std::uint64_t cells);

// Ollama's own compute-graph estimate where vramcalc uses it instead of llama.cpp's compute
// buffer (when larger): the old estimator's fallback GQA × kvTotal / 6 for architectures
// fs/ggml/ggml.go GraphSize has no formula for, v0.5.0 - v0.11.10; 0 otherwise. `cells`: the
// context of all sequences.
[[nodiscard]] std::uint64_t ollama_graph_bytes(const ModelSpec& spec, OllamaRelease release, std::uint64_t cells,
                                               Dtype kv_type);

struct OllamaResult {
  OllamaSettings settings;
  OllamaLlamaCpp request;
  LlamaCppResult llamacpp;          // llama.cpp's allocations for the request
  std::uint32_t gpu_layers = 0;     // layers Ollama offloads (counting the output layer)
  std::uint32_t model_layers = 0;   // blocks + the output layer (Ollama's "layers.model")
  bool fully_offloaded = false;
  // Per GPU, what Ollama's layout compares with its free memory: llama.cpp's allocations, Ollama's
  // reservation, and its graph estimate in place of the compute buffer where larger.
  std::vector<std::uint64_t> gpu_totals_bytes;
};

// What Ollama `release` allocates for `spec` in `format` (a GGUF mix) on `gpus`; `draft`: the
// Modelfile's DRAFT (0.30.0+: an MTP drafter, llamacpp_add_draft under draft-mtp).
[[nodiscard]] OllamaResult ollama_plan(const ModelSpec& spec, const WeightFormat& format, OllamaRelease release,
                                       const OllamaEnv& env, const std::vector<GpuSpec>& gpus,
                                       std::span<const LlamaCppLora> adapters = {},
                                       const DraftModel* draft = nullptr);

// ---- Ollama as an engine (--engine ollama) ----

// OLLAMA_KV_CACHE_TYPE's values (llama/llama.go kvCacheTypeFromStr).
inline constexpr Dtype ollama_kv_dtypes[] = {Dtype::f16, Dtype::q8_0, Dtype::q4_0};

// --ollama-env and --ollama-version, and how vramcalc's --ctx and --batch map onto them
// (docs/engines.md, "Ollama as an engine"): --ctx is num_ctx, --batch OLLAMA_NUM_PARALLEL;
// without them Ollama's own context and parallel for the release, environment and GPUs.
struct OllamaOptions {
  OllamaEnv env;
  OllamaRelease release = ollama_newest;
  // How the settings' context was chosen when --ctx was not given (Ollama's rule: "VRAM
  // tier", "OLLAMA_CONTEXT_LENGTH", ...); "" when --ctx gave it (it is then num_ctx).
  std::string default_context_source;
  bool batch_given = false; // --batch given: it is OLLAMA_NUM_PARALLEL
  // --lora: the Modelfile's ADAPTER lines, each an adapter GGUF (or RANK[xN]) as llama.cpp's.
  std::vector<LlamaCppLora> loras;
};

// Ollama's account (--engine ollama): what it asks llama.cpp for, and why.
struct OllamaSection {
  static constexpr std::string_view engine = "ollama"; // its engine_table id
  OllamaResult plan;
  std::string weights;          // the GGUF mix sized
  std::string num_ctx_source;   // why num_ctx is what it is
  std::string parallel_source;  // "--batch", "OLLAMA_NUM_PARALLEL", "release default", "automatic"
  std::string kv_source;        // "OLLAMA_KV_CACHE_TYPE", "default", ...
  std::string flash_source;     // "OLLAMA_FLASH_ATTENTION", "release default", "architecture default"
  std::uint32_t total_layers = 0;
  std::uint64_t requested_num_ctx = 0; // the context asked for; Ollama clamps one beyond the trained context
  [[nodiscard]] bool clamped() const { return plan.settings.num_ctx < requested_num_ctx; }
};

// Its options (src/core/engine_ollama.cpp): flags, deployment keys, parsers.
[[nodiscard]] std::span<const EngineOptionSpec> ollama_option_specs();

// ---- its part of an estimate (src/core/engine_ollama.cpp) ----
namespace detail {
// The context Ollama `settings`' release chooses for `model` on the settings' GPUs with its
// environment, and why (num_ctx_source): the context of an estimate when --ctx is not given.
std::pair<std::uint64_t, std::string> ollama_default_context(const ModelSpec& model, const Settings& settings);
// Ollama on the first requested GPU type, at its count; `layout` unused (llama.cpp splits layers).
EngineSection ollama_section(const ModelSpec& model, const Settings& settings, const Parallel& layout);
// Its verdict as the fit row of that GPU: the device with the least room in Ollama's terms.
void engine_decide(FitRow& row, const EngineSection& common, const OllamaSection& section, std::uint64_t batch);
} // namespace detail

// ---- its renderers (src/report/engine_ollama.cpp), found by the section's type ----
namespace detail {
std::string engine_status(const EngineSection& e, const OllamaSection& section, const std::string& needs);
std::string engine_shortfall(const EngineSection& e, const OllamaSection& section, const FitRow& row, UnitSystem u);
std::string engine_room(const EngineSection& e, const OllamaSection& section, const FitRow& row, UnitSystem u);
bool engine_refuses(const OllamaSection& section);
std::string engine_text(const EngineSection& e, const OllamaSection& section, const RenderOptions& o, const Style& st);
void engine_json(JsonObject& out, const EngineSection& e, const OllamaSection& section);
std::vector<std::string*> engine_file_texts(OllamaSection& section);
EngineVerdict engine_verdict(const Report& r, const OllamaSection& section, std::uint64_t usable_bytes);
} // namespace detail

} // namespace vramcalc
