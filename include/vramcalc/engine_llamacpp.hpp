// llama.cpp as it allocates, by release: padded caches, compute and output buffers, layers
// split over GPUs. Its options, result, section and plan; engine.hpp (the registry) includes
// it. docs/engines.md, "llama.cpp", has every formula with its source.
#pragma once

#include "vramcalc/engine_fwd.hpp"

namespace vramcalc {

// llama.cpp's --cache-type-k/-v (common/arg.cpp: f32 f16 bf16 q8_0 q4_0 q4_1 iq4_nl q5_0 q5_1).
inline constexpr Dtype llamacpp_kv_dtypes[] = {Dtype::f32,  Dtype::f16,    Dtype::bf16, Dtype::q8_0, Dtype::q4_0,
                                               Dtype::q4_1, Dtype::iq4_nl, Dtype::q5_0, Dtype::q5_1};

enum class FlashAttn : std::uint8_t { automatic, on, off };

// llama.cpp releases whose allocations differ, by the merge date (YYYYMMDD) of the pull request
// that changed the rule (docs/engines.md, "Releases"). A build date before one of these gets the
// rule as it was before that PR.
namespace llamacpp_release {
inline constexpr std::uint32_t newest = 20260912;           // the oracle's build (node-llama-cpp 3.21.1)
inline constexpr std::uint32_t set_rows = 20250801;         // #14959: per-sequence KV streams possible (else unified)
inline constexpr std::uint32_t fa_auto = 20250830;          // #15434: -fa auto (on where supported) by default
inline constexpr std::uint32_t output_first = 20251217;     // #18148: -ngl counts the output layer first
inline constexpr std::uint32_t mla_k_only = 20260124;       // #19067: MLA caches K only (no V)
inline constexpr std::uint32_t qkv_as_attn_v = 20260305;    // #19770: the quantizer treats attn_qkv as attn_v
inline constexpr std::uint32_t shared_draft = 20260508;     // #22838 (over #22787): one draft context for all slots
inline constexpr std::uint32_t draft_mtp = 20260515;        // #22673: --spec-type draft-mtp (the GGUF's own MTP layers)
inline constexpr std::uint32_t server_outputs = 20260601;   // #23861: llama-server reserves n_parallel outputs
inline constexpr std::uint32_t no_auto_simple = 20260601;   // #23988: -md needs --spec-type draft-simple
} // namespace llamacpp_release

// One base tensor's LoRA pair (lora_a, lora_b) of an adapter (llama-server --lora FILE, or
// vramcalc's --lora RANK[xN]). llama.cpp puts both in a buffer of the base tensor's buffer type
// (src/llama-adapter.cpp llama_adapter_lora_init_impl), so they follow -ngl layer by layer;
// docs/engines.md, "LoRA adapters".
struct LlamaCppLoraPair {
  std::int64_t layer = 0;      // the base tensor's layer; -1: the output layer (output.weight), -2: token_embd
  bool routed_expert = false;  // the base is a routed-expert stack (--n-cpu-moe keeps it on the CPU)
  Dtype type_a = Dtype::f16, type_b = Dtype::f16;
  std::uint64_t a_ne0 = 0, a_bytes = 0; // lora_a: its rows' elements and ggml_nbytes
  std::uint64_t b_ne0 = 0, b_bytes = 0; // lora_b
};

struct LlamaCppLora {
  std::string name;                     // the file as given, or "rank R" (--lora RANK[xN])
  std::uint64_t rank = 0;               // --lora RANK; 0: read from a file
  std::vector<LlamaCppLoraPair> pairs;
};

struct LlamaCppOptions {
  std::optional<Dtype> type_k, type_v; // -ctk / -ctv (default f16)
  FlashAttn flash_attn = FlashAttn::automatic; // auto: on from #15434 (where the GPU supports it), off before
  std::uint32_t release = 0;           // build date YYYYMMDD of the llama.cpp modelled; 0: the newest
  bool server = true;                  // llama-server; false: the library (llama-cli, bindings, Ollama, LM Studio)
  std::uint32_t n_draft = 0;           // llama-server: draft tokens per sequence (speculative decoding)
  // llama-server --spec-type draft-mtp (PR #22673): drafting with the GGUF's own NextN/MTP
  // layers, loaded with the model, in an MTP context of its own; n_draft is --spec-draft-n-max.
  bool spec_mtp = false;
  // --spec-draft-model with draft-mtp (common/speculative.cpp common_speculative_init_result
  // with a draft model): the draft model is an MTP drafter and the MTP context is made on it.
  // mtp_on_draft (the target): no MTP context of its own; it still loads its MTP blocks
  // (load_mtp) and keeps n_draft state snapshots. mtp_context_only (the drafter): its MTP
  // context and no other (n_rs_seq 0).
  bool mtp_on_draft = false;
  bool mtp_context_only = false;
  bool spec_simple = false;            // --spec-type draft-simple (from #23988 -md alone does not draft)
  bool kv_unified = false;             // one cache shared by all slots (llama-server's default with -np auto)
  bool swa_full = false;               // full-size caches for sliding-window layers (llama-server: off)
  bool no_kv_offload = false;          // -nkvo / --no-kv-offload: every layer's KV cache in system RAM, attention on the CPU
  std::uint32_t n_batch = 2048, n_ubatch = 512;
  std::optional<std::uint32_t> n_gpu_layers; // -ngl (default: all, with the output layer)
  std::uint32_t n_cpu_moe = 0;         // --n-cpu-moe: experts of the first N layers stay on the CPU
  std::vector<std::uint32_t> tensor_split; // --tensor-split proportions (default: by usable memory)
  bool cuda = true;                    // GPU buffers (128-byte alignment, padded quantized rows); false: CPU
  // The draft model's context (llama-server -md): -ngld, -ctkd / -ctvd (default f16), -cd
  // (0: the target's context per slot).
  std::optional<std::uint32_t> n_gpu_layers_draft;
  std::optional<Dtype> type_k_draft, type_v_draft;
  std::uint64_t n_ctx_draft = 0;
  std::vector<LlamaCppLora> loras;     // --lora / --lora-scaled adapters, each loaded once
  // llama-server --mmproj: the vision projector's weights, one buffer on the first GPU
  // (tools/mtmd/clip.cpp load_tensors), or in system RAM with --no-mmproj-offload. Given as
  // its file's type (f16 / bf16 / f32: the catalog's vision_params at that size) or its size.
  std::optional<Dtype> mmproj_dtype;
  std::optional<std::uint64_t> mmproj_size_bytes;
  std::string mmproj_file;             // --mmproj FILE.gguf as given ("": a type or a size); its tensors' bytes are mmproj_size_bytes
  std::uint64_t mmproj_tensors = 0;    // the tensors that file holds
  std::string mmproj_projector;        // that file's clip.projector_type ("": none, the model's clip facts apply)
  std::optional<ClipTower> mmproj_clip; // that file's tower where the compute buffer rule covers it
  bool no_mmproj_offload = false;
};

// llama-server's draft model (-md): loaded once, with one context per slot
// (tools/server/server.cpp server_context::init: slot.ctx_dft), or from PR #22838 one context
// for all slots with the target's cells; docs/engines.md, "Draft model".
struct LlamaCppDraft {
  std::string name;                 // as given
  std::string weights;              // its GGUF format
  std::uint64_t n_ctx = 0;          // each draft context's cells (all its streams)
  std::uint64_t contexts = 0;       // one per slot; 1 from PR #22838
  std::uint32_t gpu_layers = 0, total_layers = 0;
  Dtype type_k = Dtype::f16, type_v = Dtype::f16;
  std::uint64_t weights_bytes = 0;  // its weights, all devices
  std::uint64_t kv_bytes = 0;       // one context's KV cache, all devices
  std::uint64_t compute_bytes = 0;  // one context's compute buffers, all devices
  // An MTP drafter (--spec-draft-model under draft-mtp): its MTP blocks and the layers its MTP
  // context caches; 0 for a draft model that drafts as a whole model.
  std::uint32_t mtp_layers = 0, kv_layers = 0;
  [[nodiscard]] std::uint64_t total() const;
};

// llama-server --spec-type draft-mtp (common/speculative.cpp common_speculative_init_result):
// the MTP blocks' tensors loaded with the model (llama_model_params::load_mtp), one MTP
// context (LLAMA_CONTEXT_TYPE_MTP) with the target's n_ctx and sequences, and, for models
// whose recurrent state rolls back, n_draft snapshots of it; docs/engines.md, "MTP drafting".
struct LlamaCppMtp {
  std::uint32_t layers = 0;           // MTP blocks (nextn_predict_layers), placed after the repeating layers
  std::uint32_t kv_layers = 0;        // layers the MTP context caches
  bool target_caches_mtp = false;     // the target's cache holds the MTP blocks too (no layer filter)
  std::uint64_t n_draft = 0;          // --spec-draft-n-max
  std::uint64_t n_ctx = 0;            // the MTP context's cells, all streams (the target's n_ctx)
  Dtype type_k = Dtype::f16, type_v = Dtype::f16; // -ctkd / -ctvd (default f16)
  std::uint64_t weights_bytes = 0;    // the MTP blocks' tensors, all devices
  std::uint64_t kv_bytes = 0;         // the MTP context's KV cache, all devices
  std::uint64_t compute_bytes = 0;    // its compute buffers, all devices
  std::uint64_t output_bytes = 0;     // its logits buffer (host)
  std::uint64_t state_snapshot_bytes = 0; // the target's recurrent state rows for rollback (n_rs_seq = n_draft)
  [[nodiscard]] std::uint64_t total() const;
};

struct LlamaCppDevice {
  std::string name;
  std::uint64_t usable_bytes = 0;
  std::uint64_t model_bytes = 0;
  std::uint64_t kv_bytes = 0;      // KV cache and recurrent state of its layers
  std::uint64_t compute_bytes = 0; // compute buffer (an estimate, docs/engines.md)
  std::uint64_t output_bytes = 0;  // logits buffer (host only)
  std::uint64_t overhead_bytes = 0;
  std::uint64_t lora_bytes = 0;    // LoRA adapters' buffers of its layers (--lora)
  std::uint32_t layers = 0;        // repeating layers it holds (+ the output layer)
  bool output = false;
  [[nodiscard]] std::uint64_t total() const;
  [[nodiscard]] bool fits() const { return total() <= usable_bytes; }
};

struct LlamaCppResult {
  std::string error;               // llama.cpp would refuse this configuration, or abort on it (why)
  bool aborts = false;             // the error is an assertion failure, not a clean refusal
  std::uint64_t n_ctx = 0;         // -c: context of all slots, padded to 256
  std::uint64_t cells = 0;         // KV cells per stream
  std::uint64_t n_stream = 1;
  std::uint64_t swa_cells = 0;     // cells of sliding-window layers
  std::uint64_t n_batch = 0, n_ubatch = 0;
  bool flash_attn = true;
  Dtype type_k = Dtype::f16, type_v = Dtype::f16;
  std::uint64_t kv_bytes = 0;      // all devices
  std::uint64_t state_bytes = 0;   // recurrent state (f32), all devices
  std::uint32_t gpu_layers = 0;    // offloaded, counting the output layer
  std::uint32_t layers = 0;        // repeating layers placed (n_layer_all: MTP blocks of the file included)
  std::uint32_t release = 0;       // the build date modelled (YYYYMMDD)
  std::uint64_t n_outputs = 0;     // logits rows the compute buffer is reserved for
  std::vector<LlamaCppDevice> gpus;
  LlamaCppDevice host;             // weights, caches and buffers left in system RAM
  std::optional<LlamaCppDraft> draft; // -md: its bytes are in the devices' figures too
  std::optional<LlamaCppMtp> mtp;     // --spec-type draft-mtp: its bytes are in the devices' figures too
  std::uint64_t lora_bytes = 0;    // --lora adapters, all devices (in each device's lora_bytes)
  std::uint64_t lora_adapters = 0, lora_rank = 0; // adapters loaded; rank of --lora RANK (0: files)
  std::uint64_t mmproj_bytes = 0;  // --mmproj: its weights, in the first GPU's (or the host's) model_bytes
  std::uint64_t mmproj_compute_bytes = 0; // its encoder's compute buffer, in the same device's compute_bytes (0: not modelled)
  bool mmproj_on_gpu = false;
  bool fits = false;
};

// The compute buffer llama.cpp's clip.cpp reserves for a vision tower at its warmup, with or
// without flash attention (docs/engines.md, "Vision projector"; measured rules for gemma3,
// gemma4v, and without flash attention qwen2.5vl_merger and qwen3vl_merger); 0: no rule.
[[nodiscard]] std::uint64_t llamacpp_clip_compute_bytes(const ClipTower& tower, bool flash_attn);
// A projector type (clip.projector_type) that has a rule, with or without flash attention.
[[nodiscard]] bool llamacpp_clip_projector_known(std::string_view projector);
// The patches of the projector's warmup image (clip.cpp load_hparams: warmup_image_size): from
// image_size for gemma3, internvl and llama4, set_warmup_n_tokens for gemma4v, pixtral and the
// Qwen-VL mergers (merge: the file's scale_factor / spatial_merge_size, 0: its default), the side
// of image_max_pixels for kimik25 (passed as image_size; 0: 4,096 tokens); 0 for another projector.
[[nodiscard]] std::uint64_t llamacpp_clip_warmup_patches(std::string_view projector, std::uint64_t image_size,
                                                         std::uint64_t patch_size, std::uint64_t merge);

// The tower whose compute buffer is counted: a --mmproj file's when it names its projector
// (none if the rule does not cover it), else the model's (ModelSpec::vision_clip); null: none.
[[nodiscard]] const ClipTower* llamacpp_mmproj_tower(const ModelSpec& model, const LlamaCppOptions& o);

// The adapter vramcalc's --lora RANK stands for: lora_a [in, RANK] and lora_b [RANK, out] in
// `type` for every attention projection (attn_q, attn_k, attn_v or attn_qkv, attn_output) and
// MLP projection (ffn_gate, ffn_up, ffn_down, dense and shared experts) of each layer.
[[nodiscard]] LlamaCppLora llamacpp_rank_lora(const ModelSpec& spec, std::uint64_t rank, Dtype type);

// A cache type llama.cpp takes (-ctk / -ctv), by ggml's name or vramcalc's; the error lists them.
[[nodiscard]] std::expected<Dtype, Error> llamacpp_cache_type(std::string_view text);

// A cache type as llama.cpp spells it (ggml's type names: f16, f32, q8_0, ...).
[[nodiscard]] std::string_view ggml_type_name(Dtype d);

// What llama.cpp (the build of `options.release`, default the newest modelled) allocates with
// `-c n_ctx -np n_seq` (n_ctx 0: the model's trained context) on `gpus` (none: CPU only).
// `format` must be a GGUF mix. Does not throw for llama.cpp's refusals (`error`), only on
// 64-bit overflow.
[[nodiscard]] LlamaCppResult llamacpp_plan(const ModelSpec& spec, const WeightFormat& format,
                                           std::uint64_t n_ctx, std::uint64_t n_seq,
                                           const std::vector<GpuSpec>& gpus, std::uint64_t overhead_bytes,
                                           const LlamaCppOptions& options);


// The draft model beside `r` (llama-server -md, run on `gpus` with `options`' draft
// settings): its weights once, and `contexts` (the slots) contexts of its own, each with its KV
// cache and compute buffers, added to the devices of `r`; from PR #22838 one context of
// `contexts` sequences instead.
void llamacpp_add_draft(LlamaCppResult& r, const DraftModel& draft, std::uint64_t contexts,
                        const std::vector<GpuSpec>& gpus, const LlamaCppOptions& options);

// Why the llama.cpp of `release` (YYYYMMDD, 0: the newest) does not draft with `spec`'s own MTP
// layers under --spec-type draft-mtp, or vramcalc does not model it ("" when both do).
[[nodiscard]] std::string llamacpp_mtp_refusal(const ModelSpec& spec, std::uint32_t release);

// llama.cpp's account (--engine llamacpp): its buffers on each GPU and in system RAM.
struct LlamaCppSection {
  static constexpr std::string_view engine = "llamacpp"; // its engine_table id
  LlamaCppResult plan;            // swa_cells 0 for models without sliding-window layers
  std::string weights;            // the GGUF format sized
  bool server = true;             // llama-server; false: the library (llama-cli, bindings)
  bool kv_unified = false, swa_full = false;
  std::uint32_t total_layers = 0; // repeating layers + the output layer
};

// Its options (src/core/engine_llamacpp.cpp): flags, deployment keys, parsers.
[[nodiscard]] std::span<const EngineOptionSpec> llamacpp_option_specs();

// ---- its part of an estimate (src/core/engine_llamacpp.cpp) ----
namespace detail {
// llama.cpp on the first requested GPU type, at its count (or the fewest it fits on when no count is given); `layout` unused (it splits layers its own way).
EngineSection llamacpp_section(const ModelSpec& model, const Settings& settings, const Parallel& layout);
// Its verdict as the fit row of that GPU: the device with the least room.
void engine_decide(FitRow& row, const EngineSection& common, const LlamaCppSection& section, std::uint64_t batch);
} // namespace detail

// ---- its renderers (src/report/engine_llamacpp.cpp), found by the section's type ----
namespace detail {
// The fit table's status of its GPU when it does not fit ("": "<engine>: does not fit" + needs).
std::string engine_status(const EngineSection& e, const LlamaCppSection& section, const std::string& needs);
// Why it does not fit / what room is left, for the verdict line under the fit table.
std::string engine_shortfall(const EngineSection& e, const LlamaCppSection& section, const FitRow& row, UnitSystem u);
std::string engine_room(const EngineSection& e, const LlamaCppSection& section, const FitRow& row, UnitSystem u);
// A refusal that is not for want of memory (no GPU count would help).
bool engine_refuses(const LlamaCppSection& section);
// Its section of the text report.
std::string engine_text(const EngineSection& e, const LlamaCppSection& section, const RenderOptions& o, const Style& st);
// Its JSON object ("engine" of the estimate document; docs/json-output.md).
void engine_json(JsonObject& out, const EngineSection& e, const LlamaCppSection& section);
// The texts it holds that came from files, to make safe for a terminal.
std::vector<std::string*> engine_file_texts(LlamaCppSection& section);
// A deployment's verdict in its terms (vramcalc check); `usable_bytes` per GPU.
EngineVerdict engine_verdict(const Report& r, const LlamaCppSection& section, std::uint64_t usable_bytes);
} // namespace detail

namespace detail {
// The GGUF file a format means to llama.cpp (and to Ollama, which runs it): a plain float
// format the GGUF of that type, gpt-oss's MXFP4 the MXFP4_MOE mix; others as they are.
WeightFormat llamacpp_gguf_weights(const WeightFormat& format);
// The most GPUs it can use for `model`: more than its layers + the output layer hold nothing more.
std::uint32_t llamacpp_most_gpus(const ModelSpec& model);
// The host memory of a plan into `e` (llama.cpp's CPU device: the weights it leaves there, mapped
// from the file, its KV cache and its compute and output buffers); Ollama's section too.
void llamacpp_host(EngineSection& e, const LlamaCppResult& plan);
} // namespace detail

} // namespace vramcalc
