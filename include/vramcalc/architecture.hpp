// What vramcalc knows of each model architecture, in one table both importers read: the
// Hugging Face config.json importer (by model_type) and the GGUF importer (by
// general.architecture). A row holds the facts the files do not spell out: which layers
// attend locally, the biases and norms a block carries, how experts are placed, the
// recurrent mixer, the converter's fused tensors. Adding an architecture fact is one row
// (or one field of a row); docs/ARCHITECTURE.md, "Adding things".
#pragma once

#include "vramcalc/model.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace vramcalc {

// Which layers attend to a local window (or chunk) rather than the whole context, when the
// file does not list them (config.json layer_types, a GGUF per-layer sliding_window_pattern).
enum class LocalAttention : std::uint8_t {
  as_listed,            // only what the file lists (GGUF: a sliding_window_pattern key, else the window is ignored with a warning)
  every_layer,          // Mistral: sliding_window applies to every layer
  above_window_layers,  // Qwen2: with use_sliding_window, the layers from max_window_layers on
  opt_in,               // Qwen3: layer_types count only with use_sliding_window
  ignored,              // Phi-3: engines run full attention whatever sliding_window says (a warning)
  periodic,             // every local_period-th layer global, the others sliding (llama.cpp set_swa_pattern)
  periodic_chunked,     // the same with chunked local attention (Llama 4)
};

// A bias or per-head norm the checkpoint has whatever its config's flag says (always), never,
// or as the config's flag says (config.json attention_bias / use_qk_norm; a GGUF file without
// tensors: none).
enum class ByConfig : std::uint8_t { from_config, always, never };

// What the decoder layers hold besides attention.
enum class Mixers : std::uint8_t {
  attention,            // every layer attends (local_attention decides how far)
  every_nth_attention,  // Qwen3-Next: every full_attention_interval-th layer attends, the others are recurrent
  one_attention_per_period, // Jamba: layer attn_layer_offset of every attn_layer_period attends
  listed,               // Nemotron-H: hybrid_override_pattern lists each layer (M mixer, * attention, - MLP)
  recurrent_only,       // Mamba: no attention at all
  listed_one_based,     // Kimi-Linear: linear_attn_config lists the 1-based full_attn_layers (attention) and kda_layers
};

// Which layers' MLPs are mixtures of experts.
enum class MoeLayers : std::uint8_t {
  as_configured, // first_k_dense_replace, moe_layer_freq / decoder_sparse_step, mlp_only_layers; GGUF: the ffn_gate_inp tensors
  interleaved,   // Llama 4: every interleave_moe_layer_step-th layer (offset step - 1), one shared expert
  periodic,      // Jamba: expert_layer_period / expert_layer_offset (moe_period / moe_offset by default)
};

// A per-expert bias on the router (DeepSeek V3's e_score_correction_bias, gpt-oss).
enum class RouterBias : std::uint8_t {
  none,
  always,
  with_sigmoid_gating, // GGUF: when expert_gating_func is 2 (sigmoid); config.json model types name it instead
};

// How a config.json spells the standard facts.
enum class HfKeys : std::uint8_t {
  standard, // hidden_size, num_key_value_heads, head_dim, attention_bias, intermediate_size
  falcon,   // bias, num_kv_heads / multi_query, new_decoder_architecture, parallel_attn, ffn_hidden_size
  ernie,    // ERNIE 4.5: use_bias; moe_num_experts, moe_k, moe_num_shared_experts, moe_layer_start/end_index, moe_layer_interval
  bailing,  // Ling (Bailing MoE): use_qkv_bias, use_bias; num_shared_experts, moe_router_enable_expert_bias
  gemma4,   // Gemma 4: global_head_dim, attention_k_eq_v with num_global_key_value_heads; enable_moe_block with
            // num_experts, top_k_experts, moe_intermediate_size beside the dense MLP; layer_scalar
  kimi_linear, // Kimi-Linear: num_experts_per_token, num_shared_experts, model_max_length; KDA in linear_attn_config
  hunyuan,     // Hunyuan MoE: moe_topk, moe_intermediate_size, num_shared_expert (a number or one per layer),
               // use_mixed_mlp_moe
};

// A Mamba-2 config's spelling of the SSM's heads, head size and state size.
struct HfSsmKeys {
  std::string_view heads;
  std::string_view head_dim;
  std::string_view state_size;
};

struct ArchitectureFacts {
  std::string_view name{};                       // for messages and docs: "Gemma 3", "gpt-oss"
  std::array<const char*, 3> hf_model_types{}; // config.json model_type values (null: unused; not
                                               // string_view: g++ 12 cannot read defaulted ones in constant expressions)
  std::string_view gguf_arch{};                  // general.architecture as llama.cpp names it
  bool gguf_rules = true; // the GGUF importer knows this architecture (false: another row has the
                          // name's rules, or the file is read with the standard keys and a warning)

  // Attention
  LocalAttention local_attention = LocalAttention::as_listed;
  std::uint64_t local_period = 0;       // periodic: the period (Gemma 3: 6 = 5 local, 1 global)
  std::string_view hf_period_key{};     // the config key overriding local_period ("": fixed)
  bool hf_layer_types_only = false;     // a config.json's local layers come from its layer_types only
                                        // (gpt-oss and Command R7B configs list them)
  std::uint64_t gguf_default_window = 0;  // llama.cpp's window when the file gives none (Gemma 2: 4096)
  std::uint64_t gguf_chunk_tokens = 0;    // llama.cpp's fixed chunk of chunked layers (Llama 4: 8192)
  bool warn_without_window = false;       // a GGUF file without a window: say the local layers count as full
  ByConfig qkv_bias = ByConfig::from_config;
  ByConfig o_bias = ByConfig::from_config;
  ByConfig qk_norm = ByConfig::never;     // from_config: config.json use_qk_norm
  bool sinks = false;                     // learned attention sinks (gpt-oss)
  bool output_gate = false;               // q_proj also yields an output gate (Qwen3-Next)
  bool mla = false;                       // multi-head latent attention (DeepSeek V2/V3)
  bool fused_qkv = false;                 // the converter writes one attn_qkv (gguf-py MODEL_TENSORS)
  bool fused_gate_up = false;             // a gated MLP's gate and up in one ffn_up (Phi-3)

  // Layers: mixers, norms, MLP
  Mixers mixers = Mixers::attention;
  std::uint64_t attention_period = 0;     // every_nth / one_per_period: the default period (Qwen3-Next 4, Jamba 8)
  std::uint64_t attention_offset = 0;     // one_attention_per_period: the default offset (Jamba 4)
  std::optional<RecurrentKind> recurrent{}; // the mixer of layers without attention
  HfSsmKeys hf_ssm_keys{};                // mamba2: the config's key names
  bool ssm_dt_norms = false;              // RMSNorms on dt, B and C (Jamba)
  bool separate_mlp = false;              // a layer holds a mixer or an MLP, not both
  NormKind norm = NormKind::rmsnorm;
  bool norm_bias = false;
  std::uint64_t norms_per_layer = 2;
  MlpKind mlp = MlpKind::gated;
  bool tied_embeddings = false;           // the output head reuses the embedding unless stated
  HfKeys hf_keys = HfKeys::standard;
  std::string_view hf_dense_width_key{};  // the dense MLP's width when intermediate_size is the expert's (Llama 4)

  // Mixture of experts
  MoeLayers moe_layers = MoeLayers::as_configured;
  std::uint64_t moe_period = 1;           // periodic: default period and offset (Jamba: 2, 1)
  std::uint64_t moe_offset = 0;
  bool shared_expert_gate = false;        // a sigmoid gate on the shared expert (Qwen2-MoE, Qwen3-Next)
  RouterBias router_bias = RouterBias::none;
  bool expert_bias = false;               // biases on the experts' projections (gpt-oss)

  // Multi-token prediction
  std::uint64_t hf_unlisted_mtp_layers = 0; // MTP blocks the checkpoints ship though the config lists none (Qwen3-Next: 1)
  bool mtp_shares_embeddings = false;       // those blocks use the main embedding and head
};

// Every row, in the order docs/hf-import.md and docs/file-formats.md list them.
[[nodiscard]] std::span<const ArchitectureFacts> architecture_table();

// The row of a config.json model_type; null when vramcalc has no rules for it.
[[nodiscard]] const ArchitectureFacts* hf_architecture(std::string_view model_type);

// The row whose rules the GGUF importer applies to general.architecture `arch`; null when
// vramcalc has none (the file is read with the standard keys).
[[nodiscard]] const ArchitectureFacts* gguf_architecture(std::string_view arch);

// Any row naming GGUF architecture `arch` (for layout facts, which all such rows share).
[[nodiscard]] const ArchitectureFacts* architecture_layout(std::string_view arch);

} // namespace vramcalc
