// vLLM (V1) as it allocates: the KV budget from the GPU's memory, paged blocks, concurrency.
// Its options, result, section and plan; engine.hpp (the registry) includes it.
// docs/engines.md, "vLLM", has every formula with its source.
#pragma once

#include "vramcalc/engine_fwd.hpp"

namespace vramcalc {

// vLLM's --kv-cache-dtype (auto, fp8/fp8_e4m3, fp8_e5m2; vllm/config/cache.py).
inline constexpr Dtype vllm_kv_dtypes[] = {Dtype::f32, Dtype::f16, Dtype::bf16, Dtype::f8_e4m3, Dtype::f8_e5m2};

// --speculative-config's method (vllm/config/speculative.py SpeculativeMethod), as vramcalc
// models it: what each adds to the GPU is in docs/engines.md, "Speculative decoding".
enum class VllmSpecMethod : std::uint8_t { none, ngram, draft_model, eagle, eagle3, mtp };

// --speculative-config '{"method": ..., "model": ..., "num_speculative_tokens": N, ...}'.
struct VllmSpeculative {
  VllmSpecMethod method = VllmSpecMethod::none;
  std::string method_name;                  // as given ("deepseek_mtp", "qwen3_next_mtp", "eagle3", ...)
  std::string model;                        // "model": the draft model or EAGLE head ("" for none)
  std::uint32_t num_speculative_tokens = 0; // 0: not given (MTP: the checkpoint's MTP layers)
  std::uint32_t draft_tp = 0;               // draft_tensor_parallel_size (0: the target's tp)
  std::uint32_t draft_vocab_size = 0;       // EAGLE-3 head's draft_vocab_size (0: 32,000, the published heads')
  std::vector<std::string> ignored;         // keys read but not modelled
};

struct VllmOptions {
  std::uint32_t version_major = 0, version_minor = 21; // behaviour of this vLLM release (V1 engine)
  std::optional<std::uint32_t> utilization_ppm;        // --gpu-memory-utilization in millionths
  std::uint32_t block_size = 0;                        // 0: vLLM's choice (16; MLA backends 64 / 128)
  std::uint64_t max_num_seqs = 0;                      // 0: vLLM's default for the GPU
  std::uint64_t max_num_batched_tokens = 0;            // 0: vLLM's default for the GPU
  std::optional<std::uint64_t> kv_cache_memory_bytes;  // --kv-cache-memory: a given KV budget
  std::optional<std::uint64_t> non_torch_bytes;       // replaces the non-torch estimate
  bool enforce_eager = false;
  bool llm_class = false;                              // LLM(...) defaults instead of `vllm serve`
  // LoRA (vllm/config/lora.py LoRAConfig): vLLM preallocates max_loras adapter slots of
  // max_lora_rank in every supported module at load time (docs/engines.md, "LoRA").
  bool enable_lora = false;                            // --enable-lora
  bool lora_options_given = false;                     // a LoRA option was given (vLLM ignores them without --enable-lora)
  std::uint32_t max_loras = 1;                         // --max-loras: GPU slots
  std::uint32_t max_lora_rank = 16;                    // --max-lora-rank
  std::uint32_t max_cpu_loras = 0;                     // --max-cpu-loras (0: max_loras): host memory only
  bool fully_sharded_loras = false;                    // --fully-sharded-loras
  std::uint32_t lora_target_modules = 0;               // --lora-target-modules (v0.19+): VllmLoraModule bits; 0: all
  // --cpu-offload-gb G: each GPU's process offloads decoder-layer parameters to pinned host
  // memory until int(G x 2^30) bytes are reached (docs/engines.md, "CPU offload").
  std::uint64_t cpu_offload_bytes = 0;
  // --kv-offloading-size G (0.14+, PR #32421): a CPU tier for KV blocks, int(G x 2^30) bytes
  // over all ranks (vllm/config/cache.py); host memory only. --kv-offloading-backend lmcache:
  // LMCache's local CPU cache of the same total.
  std::uint64_t kv_offloading_bytes = 0;
  bool kv_offloading_lmcache = false;
  // --swap-space G: the V0 engine's pinned CPU blocks per GPU (default 4 GiB; V1 has none).
  std::optional<std::uint64_t> swap_space_bytes;
  VllmSpeculative speculative;                         // --speculative-config
  // Multimodal encoders (docs/engines.md, "Multimodal encoders"): --limit-mm-per-prompt's
  // items per prompt (unset: vLLM V1's default 999), --language-model-only (every limit 0),
  // --skip-mm-profiling, --mm-encoder-tp-mode data.
  std::optional<std::uint64_t> mm_image_limit;
  std::optional<std::uint64_t> mm_video_limit;
  bool mm_other_nonzero = false;                       // another modality (audio, ...) with a limit above 0
  bool language_model_only = false;
  bool skip_mm_profiling = false;
  bool mm_encoder_tp_data = false;
  bool mm_options_given = false;                       // one of the above was given
};

// What profiling a multimodal encoder adds to one GPU (gpu_model_runner.py profile_run):
// the encoder budget and item count vLLM logs ("Encoder cache will be initialized with a
// budget of N tokens, and profiled with K image items of the maximum feature size") and the
// dummy outputs it holds through the LM forward and the sampler.
struct VllmEncoder {
  bool has_tower = false;       // the model has a vision tower
  bool modelled = false;        // its profiling facts are known (ModelSpec::vision_profile)
  bool disabled = false;        // every modality limit 0 (or --language-model-only): nothing profiled
  bool skipped = false;         // --skip-mm-profiling: nothing reserved
  bool tower_dropped = false;   // disabled, and this release does not load the tower
  bool profiled = false;        // budget and items below are vLLM's
  std::uint64_t tokens_per_item = 0; // t
  std::uint64_t budget_tokens = 0;   // encoder_budget = min(max(mnbt, t), max(encoder cache, t))
  std::uint64_t items = 0;           // items profiled at once
  std::uint64_t rows_per_item = 0;   // rows each held output has (0.11 pads to the budget, 0.12 to t)
  std::uint64_t output_width = 0;    // d_out
  std::uint64_t dtype_bytes = 0;     // bytes of one element of the held outputs (the model's dtype)
  std::uint64_t held_bytes = 0;      // items x rows x d_out x dtype bytes, in activation_bytes
  std::uint64_t tower_bytes = 0;     // the tower's weights left out of weights_bytes when dropped
};

// The encoder's part for `spec` with max_model_len, max_num_batched_tokens and max_num_seqs.
[[nodiscard]] VllmEncoder vllm_encoder(const ModelSpec& spec, std::uint64_t max_model_len, std::uint64_t batched_tokens,
                                       std::uint64_t max_num_seqs, const VllmOptions& options);

// Reads --limit-mm-per-prompt's JSON object ('{"image": 2, "video": 0}'; a modality's value
// may be an object with "count") into `out`.
[[nodiscard]] std::optional<Error> parse_vllm_mm_limits(std::string_view text, VllmOptions& out);

// What speculative decoding adds to one GPU in vLLM; all zero without --speculative-config.
struct VllmSpecDecode {
  VllmSpecMethod method = VllmSpecMethod::none;
  std::string method_name;
  std::uint64_t weights_bytes = 0;        // the drafter's weights on this GPU, beside the target's
  std::uint64_t kv_layers = 0;            // attention layers the drafter adds to the KV cache
  std::uint64_t kv_bytes_per_token = 0;   // their KV bytes per token on this GPU
  std::uint64_t num_speculative_tokens = 0;
  std::uint64_t lookahead_tokens = 0;     // slots the scheduler allocates ahead of each running request
  std::uint64_t request_blocks_with_lookahead = 0; // blocks one max_model_len request may hold with them
  std::uint64_t request_bytes_with_lookahead = 0;  // their bytes (vLLM's needed_bytes plus the lookahead's)
  double runtime_concurrency = 0;                  // max_model_len requests the blocks hold with the lookahead
  std::uint32_t draft_tp = 0;             // tensor parallel size of the drafter
  bool derived_head = false;              // EAGLE head's shapes taken from the target (its config not read)
  [[nodiscard]] bool active() const { return method != VllmSpecMethod::none; }
};

// What --cpu-offload-gb moves off one GPU: the walk SGLang's offloader shares (engine_fwd.hpp).
using VllmCpuOffload = CpuOffload;

// --cpu-offload-gb on one GPU of pipeline stage `stage`.
[[nodiscard]] VllmCpuOffload vllm_cpu_offload(const ModelSpec& spec, const WeightFormat& format, const Parallel& p,
                                              std::uint32_t stage, const VllmOptions& options);

// The modules --lora-target-modules names (vLLM's module suffixes), as bits.
enum VllmLoraModule : std::uint32_t {
  vllm_lora_qkv_proj = 1u << 0,
  vllm_lora_o_proj = 1u << 1,
  vllm_lora_gate_up_proj = 1u << 2,
  vllm_lora_down_proj = 1u << 3,
  vllm_lora_embed_tokens = 1u << 4,
  vllm_lora_lm_head = 1u << 5,
  vllm_lora_experts = 1u << 6,          // a MoE block's routed experts (FusedMoEWithLoRA, v0.12+)
  vllm_lora_gate = 1u << 7,             // a MoE block's router (ReplicatedLinear "gate")
  vllm_lora_fused_qkv_a_proj = 1u << 8, // MLA: q_a_proj and kv_a_proj_with_mqa
  vllm_lora_q_b_proj = 1u << 9,         // MLA: q_b_proj
  vllm_lora_kv_b_proj = 1u << 10,       // MLA: kv_b_proj
  vllm_lora_q_proj = 1u << 11,          // MLA without q_lora_rank: q_proj (named by "q_proj" with qkv_proj)
};

// vLLM's LoRA memory on one GPU (of one pipeline stage): the stacked lora_a / lora_b slots
// of every module it wraps, and before v0.12 the extra vocabulary's rows and tensors.
struct VllmLora {
  std::uint64_t slot_bytes = 0;        // lora_a + lora_b stacks: max_loras x max_lora_rank, lora_dtype
  std::uint64_t slot_elems = 0;        // elements of one slot (every counted module's lora_a and lora_b): slot_bytes = slot_elems x max_loras x lora_dtype_bytes
  std::uint64_t extra_vocab_bytes = 0; // before v0.12: 256 x max_loras embedding rows, 256 head rows, embeddings_tensors
  std::uint64_t lora_dtype_bytes = 0;  // bytes per element (lora_dtype "auto" = the model's dtype)
  bool extra_vocab = false;            // the release still has lora_extra_vocab_size (before v0.12)
  bool model_extra_vocab = false;      // and the model's own embedding and head grow by it (Llama family)
  std::uint64_t refused_vocab_above = 0; // nonzero: vLLM refuses LoRA, the vocabulary is above this
  bool target_modules_applied = false; // --lora-target-modules restricted the modules (v0.19+)
  std::uint32_t modules = 0;           // VllmLoraModule bits of the modules counted (the model has them, targeted)
  // The routed experts of the MoE blocks (FusedMoEWithLoRA, v0.12+): w13 / w2 lora_a and
  // lora_b stacks per local expert in lora_dtype, and each block's adapter_enabled (int32,
  // max_loras + 1). slot_bytes holds the rest (router, shared experts, attention, ...).
  std::uint64_t expert_bytes = 0;
  std::uint64_t expert_layers = 0;     // MoE blocks whose routed experts are counted
  bool experts_3d = false;             // FusedMoE3DWithLoRA (is_3d_moe_weight): one w13 slice of 2I
  bool experts_unwrapped = false;      // before v0.11: vLLM applies no LoRA to routed experts (none allocated)
  // Layers whose LoRA layout vramcalc does not model, so their buffers are not counted
  // (moe_layers: 0.11, whose later patch releases wrap the experts).
  std::uint64_t moe_layers = 0, mla_layers = 0, recurrent_layers = 0;
  [[nodiscard]] std::uint64_t total() const { return slot_bytes + expert_bytes + extra_vocab_bytes; }
};

// What vLLM's --enable-lora adds to one GPU of pipeline stage `stage`; all zero without it.
[[nodiscard]] VllmLora vllm_lora(const ModelSpec& spec, const WeightFormat& format, const Parallel& p,
                                 std::uint32_t stage, const VllmOptions& options);

struct VllmResult {
  std::uint64_t gpu_memory_bytes = 0;   // the total CUDA reports (cuda_visible_bytes), not nvidia-smi's
  std::string gpu_memory_source;        // where that figure comes from
  std::uint32_t utilization_ppm = 0;
  std::uint64_t requested_bytes = 0;    // floor(total x utilization)
  std::uint64_t weights_bytes = 0;      // per GPU, incl. the rotary cos/sin cache
  VllmLora lora;                        // --enable-lora: its buffers, in "Model loading took" beside the weights
  VllmCpuOffload cpu_offload;           // --cpu-offload-gb: this GPU's parameters in host memory (off weights_bytes)
  std::uint64_t kv_offloading_host_bytes = 0; // --kv-offloading-size: the CPU KV tier, all ranks together
  std::uint64_t swap_host_bytes = 0;    // V0's CPU swap blocks, all GPUs together (whole blocks of --swap-space)
  std::uint64_t host_bytes = 0;         // host memory of every GPU's process: offloaded parameters, CPU KV tier, swap
  VllmSpecDecode speculative;           // --speculative-config: the drafter's weights and KV layers
  VllmEncoder encoder;                  // a multimodal encoder's profiling (its held outputs are in activation_bytes)
  std::uint64_t activation_bytes = 0;   // profile-run peak: forward of max_num_batched_tokens + sampler
  std::uint64_t non_torch_bytes = 0;    // NCCL and library workspaces
  std::uint64_t cuda_graph_bytes = 0;   // counted in the budget from v0.21 unless --enforce-eager
  std::uint64_t kv_cache_memory_bytes = 0; // "Available KV cache memory" (0 when the budget is negative)
  std::int64_t kv_budget_bytes = 0;     // requested - everything else: negative when nothing is left
  bool kv_memory_given = false;
  std::uint32_t stage = 0;              // the pipeline stage whose KV cache limits the blocks (pp > 1)
  std::uint64_t max_num_seqs = 0;
  std::uint64_t max_num_batched_tokens = 0;
  std::uint64_t block_size = 0;
  std::uint64_t page_bytes = 0;         // one block of one layer
  std::uint64_t num_groups = 0;         // KV cache groups (full / sliding / mamba)
  std::uint64_t group_size = 0;         // layers per group
  std::uint64_t num_gpu_blocks = 0;
  std::uint64_t kv_cache_tokens = 0;    // "GPU KV cache size: N tokens"
  double max_concurrency = 0;           // "Maximum concurrency for L tokens per request: X"
  std::uint64_t needed_bytes = 0;       // KV one max_model_len request needs
  bool starts = false;                  // vLLM refuses to start when needed > available
  std::uint64_t max_model_len_fit = 0;  // the largest max_model_len that would start (0: none)
  std::uint64_t widest_block_size = 0;  // tokens of a block of the layers with the smallest page per token (Gemma 4's
                                        // global layers: 32 where the others have 16); block_size when all agree
};

// Whether vramcalc models this vLLM release (0.6-0.9 as V0, 0.10, 0.11, 0.21); other
// releases are computed with the rules of the nearest modelled one before them.
[[nodiscard]] bool vllm_release_modelled(std::uint32_t major, std::uint32_t minor);

// What vLLM (V1) does on `gpu` with tensor / pipeline parallel `p` for `max_model_len`:
// the KV budget, blocks, tokens and concurrency its start-up log reports.
[[nodiscard]] VllmResult vllm_plan(const ModelSpec& spec, const WeightFormat& format, Dtype kv_dtype,
                                   std::uint64_t max_model_len, const GpuSpec& gpu, const Parallel& p,
                                   const VllmOptions& options, const DraftModel* draft = nullptr);

// What --speculative-config adds to one GPU of pipeline stage `stage` (weights and the
// drafter's KV layers; the blocks are vllm_plan's). `draft`: the draft_model method's model.
[[nodiscard]] VllmSpecDecode vllm_spec_decode(const ModelSpec& spec, const WeightFormat& format, Dtype kv_dtype,
                                              const Parallel& p, std::uint32_t stage, const VllmOptions& options,
                                              const DraftModel* draft, const GpuSpec& gpu);

// Reads --speculative-config's JSON object into `out` (a flat object: strings, numbers,
// booleans; nested values are skipped and listed as ignored). The complaint says what is wrong.
[[nodiscard]] std::optional<Error> parse_vllm_speculative_config(std::string_view text, VllmSpeculative& out);

// Blocks, tokens and concurrency from a given KV memory per GPU (as vLLM's log states it):
// the page arithmetic alone, for checking against logs.
[[nodiscard]] VllmResult vllm_blocks(const ModelSpec& spec, Dtype kv_dtype, std::uint64_t max_model_len,
                                     std::uint64_t kv_cache_memory_bytes, const Parallel& p,
                                     const VllmOptions& options, const GpuSpec& gpu,
                                     const DraftModel* draft = nullptr);

// vLLM's account (--engine vllm): the figures of its start-up log.
struct VllmSection {
  static constexpr std::string_view engine = "vllm"; // its engine_table id
  VllmResult plan;
  VllmOptions options; // as planned (the LoRA options its renderers show)
};

// Its options (src/core/engine_vllm.cpp): flags, deployment keys, parsers.
[[nodiscard]] std::span<const EngineOptionSpec> vllm_option_specs();

// ---- its part of an estimate (src/core/engine_vllm.cpp) ----
namespace detail {
// vLLM's start-up on the first requested GPU type, `layout` its parallelism.
EngineSection vllm_section(const ModelSpec& model, const Settings& settings, const Parallel& layout);
// Its verdict as the fit row of that GPU: its memory request, the KV memory beyond `batch` full requests.
void engine_decide(FitRow& row, const EngineSection& common, const VllmSection& section, std::uint64_t batch);
} // namespace detail

// ---- its renderers (src/report/engine_vllm.cpp), found by the section's type ----
namespace detail {
// The fit table's status of its GPU when it does not fit ("": "<engine>: does not fit" + needs).
std::string engine_status(const EngineSection& e, const VllmSection& section, const std::string& needs);
// Why it does not fit / what room is left, for the verdict line under the fit table.
std::string engine_shortfall(const EngineSection& e, const VllmSection& section, const FitRow& row, UnitSystem u);
std::string engine_room(const EngineSection& e, const VllmSection& section, const FitRow& row, UnitSystem u);
// A refusal that is not for want of memory (no GPU count would help).
bool engine_refuses(const VllmSection& section);
// Its section of the text report.
std::string engine_text(const EngineSection& e, const VllmSection& section, const RenderOptions& o, const Style& st);
// Its JSON object ("engine" of the estimate document; docs/json-output.md).
void engine_json(JsonObject& out, const EngineSection& e, const VllmSection& section);
// The texts it holds that came from files, to make safe for a terminal.
std::vector<std::string*> engine_file_texts(VllmSection& section);
// A deployment's verdict in its terms (vramcalc check); `usable_bytes` per GPU.
EngineVerdict engine_verdict(const Report& r, const VllmSection& section, std::uint64_t usable_bytes);
} // namespace detail

} // namespace vramcalc
