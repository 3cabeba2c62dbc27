// The architecture table. Sources per fact: transformers' configuration_<model>.py (class
// defaults of a config.json), llama.cpp's src/llama-model.cpp (load_hparams, the tensors each
// architecture loads) and src/llama-hparams.cpp (set_swa_pattern), gguf-py constants.py
// (MODEL_TENSORS: which converters write a fused attn_qkv).
#include "vramcalc/architecture.hpp"

#include <algorithm>

namespace vramcalc {

namespace {

using enum LocalAttention;
constexpr HfSsmKeys mamba2_keys{"num_heads", "head_dim", "state_size"};
constexpr HfSsmKeys nemotron_h_keys{"mamba_num_heads", "mamba_head_dim", "ssm_state_size"};

// The layout-only rows: architectures whose GGUF files the converter writes with a fused
// attn_qkv (and no attn_q); vramcalc has no other rules for them.
constexpr ArchitectureFacts fused_qkv_only(std::string_view name, std::string_view gguf) {
  return {.name = name, .gguf_arch = gguf, .gguf_rules = false, .fused_qkv = true};
}

constexpr ArchitectureFacts table[] = {
    {.name = "Llama", .hf_model_types = {"llama"}, .gguf_arch = "llama"},
    // Mistral and Mixtral files are llama files in GGUF; their config.json has its own window rule.
    {.name = "Mistral", .hf_model_types = {"mistral", "mixtral"}, .gguf_arch = "llama", .gguf_rules = false,
     .local_attention = every_layer},
    {.name = "Qwen2", .hf_model_types = {"qwen2"}, .gguf_arch = "qwen2", .local_attention = above_window_layers,
     .qkv_bias = ByConfig::always, .o_bias = ByConfig::never},
    {.name = "Qwen2-MoE", .hf_model_types = {"qwen2_moe"}, .gguf_arch = "qwen2moe", .local_attention = above_window_layers,
     .qkv_bias = ByConfig::always, .o_bias = ByConfig::never, .shared_expert_gate = true},
    {.name = "Qwen3", .hf_model_types = {"qwen3"}, .gguf_arch = "qwen3", .local_attention = opt_in,
     .qk_norm = ByConfig::always},
    {.name = "Qwen3-MoE", .hf_model_types = {"qwen3_moe"}, .gguf_arch = "qwen3moe", .local_attention = opt_in,
     .qk_norm = ByConfig::always},
    // Qwen3-VL (transformers configuration_qwen3_vl.py, configuration_qwen3_vl_moe.py): the Qwen3
    // language model (q/k norms) in text_config; the tower is counted by src/io/hf_vision_tower.cpp.
    // Their GGUF files (qwen3vl, qwen3vlmoe) keep the rules they had.
    {.name = "Qwen3-VL", .hf_model_types = {"qwen3_vl", "qwen3_vl_text"}, .gguf_arch = "qwen3vl", .gguf_rules = false,
     .local_attention = opt_in, .qk_norm = ByConfig::always},
    {.name = "Qwen3-VL-MoE", .hf_model_types = {"qwen3_vl_moe", "qwen3_vl_moe_text"}, .gguf_arch = "qwen3vlmoe",
     .gguf_rules = false, .local_attention = opt_in, .qk_norm = ByConfig::always},
    {.name = "Qwen3-Next", .hf_model_types = {"qwen3_next"}, .gguf_arch = "qwen3next", .gguf_rules = false,
     .qk_norm = ByConfig::always, .output_gate = true, .mixers = Mixers::every_nth_attention, .attention_period = 4,
     .recurrent = RecurrentKind::gated_deltanet, .shared_expert_gate = true, .hf_unlisted_mtp_layers = 1,
     .mtp_shares_embeddings = true},
    {.name = "DeepSeek V2", .hf_model_types = {"deepseek_v2"}, .gguf_arch = "deepseek2", .mla = true,
     .router_bias = RouterBias::with_sigmoid_gating},
    // DeepSeek V3 and Kimi K2 are deepseek2 files in GGUF (expert_gating_func 2 there).
    {.name = "DeepSeek V3", .hf_model_types = {"deepseek_v3", "kimi_k2"}, .gguf_arch = "deepseek2",
     .gguf_rules = false, .mla = true, .router_bias = RouterBias::always},
    {.name = "Gemma", .hf_model_types = {"gemma"}, .gguf_arch = "gemma", .tied_embeddings = true},
    {.name = "Gemma 2", .hf_model_types = {"gemma2"}, .gguf_arch = "gemma2", .local_attention = periodic,
     .local_period = 2, .gguf_default_window = 4096, .norms_per_layer = 4, .tied_embeddings = true},
    {.name = "Gemma 3", .hf_model_types = {"gemma3", "gemma3_text"}, .gguf_arch = "gemma3", .local_attention = periodic,
     .local_period = 6, .hf_period_key = "sliding_window_pattern", .qk_norm = ByConfig::always, .norms_per_layer = 4,
     .tied_embeddings = true},
    {.name = "Phi-3", .hf_model_types = {"phi3"}, .gguf_arch = "phi3", .local_attention = ignored, .fused_qkv = true,
     .fused_gate_up = true},
    {.name = "gpt-oss", .hf_model_types = {"gpt_oss"}, .gguf_arch = "gpt-oss", .local_attention = periodic,
     .local_period = 2, .hf_layer_types_only = true, .warn_without_window = true, .qkv_bias = ByConfig::always, .o_bias = ByConfig::always,
     .sinks = true, .router_bias = RouterBias::always, .expert_bias = true},
    {.name = "Falcon", .hf_model_types = {"falcon"}, .gguf_arch = "falcon", .fused_qkv = true,
     .norm = NormKind::layernorm, .norm_bias = true, .norms_per_layer = 1, .mlp = MlpKind::plain,
     .tied_embeddings = true, .hf_keys = HfKeys::falcon},
    // One input LayerNorm feeds attention and MLP in parallel.
    {.name = "Command R", .hf_model_types = {"cohere"}, .gguf_arch = "command-r", .norm = NormKind::layernorm,
     .norms_per_layer = 1, .tied_embeddings = true},
    // Without layer_types, transformers' Cohere2Config builds them from sliding_window_pattern
    // (default 4: three sliding layers, then a global one), as Command A's config.json needs.
    {.name = "Command R7B", .hf_model_types = {"cohere2"}, .gguf_arch = "cohere2", .local_attention = periodic,
     .local_period = 4, .hf_period_key = "sliding_window_pattern", .norm = NormKind::layernorm, .norms_per_layer = 1,
     .tied_embeddings = true},
    // no_rope_layers: every 4th layer is a global (NoPE) full-attention layer. Llama 4's qk
    // norm has no weights.
    {.name = "Llama 4", .hf_model_types = {"llama4", "llama4_text"}, .gguf_arch = "llama4",
     .local_attention = periodic_chunked, .local_period = 4, .gguf_chunk_tokens = 8192,
     .hf_dense_width_key = "intermediate_size_mlp", .moe_layers = MoeLayers::interleaved},
    {.name = "Mamba", .gguf_arch = "mamba", .mixers = Mixers::recurrent_only, .recurrent = RecurrentKind::mamba,
     .separate_mlp = true, .norms_per_layer = 1, .tied_embeddings = true},
    {.name = "Mamba-2", .hf_model_types = {"mamba2"}, .gguf_arch = "mamba2", .mixers = Mixers::recurrent_only,
     .recurrent = RecurrentKind::mamba2, .hf_ssm_keys = mamba2_keys, .separate_mlp = true, .norms_per_layer = 1,
     .mlp = MlpKind::plain, .tied_embeddings = true},
    {.name = "Jamba", .hf_model_types = {"jamba"}, .gguf_arch = "jamba", .mixers = Mixers::one_attention_per_period,
     .attention_period = 8, .attention_offset = 4, .recurrent = RecurrentKind::mamba, .ssm_dt_norms = true,
     .moe_layers = MoeLayers::periodic, .moe_period = 2, .moe_offset = 1},
    {.name = "Nemotron-H", .hf_model_types = {"nemotron_h"}, .gguf_arch = "nemotron_h", .gguf_rules = false,
     .mixers = Mixers::listed, .recurrent = RecurrentKind::mamba2, .hf_ssm_keys = nemotron_h_keys,
     .separate_mlp = true, .norms_per_layer = 1, .mlp = MlpKind::plain},
    // attention_bias covers q, k and v only.
    {.name = "GLM-4.5", .hf_model_types = {"glm4_moe"}, .gguf_arch = "glm4moe", .gguf_rules = false,
     .o_bias = ByConfig::never, .qk_norm = ByConfig::from_config, .router_bias = RouterBias::always},
    // ERNIE 4.5 MoE (transformers configuration_ernie4_5_moe.py, modeling_ernie4_5_moe.py): every
    // MoE block has a per-expert score-correction bias (moe_statics), whatever moe_use_aux_free says.
    {.name = "ERNIE 4.5 MoE", .hf_model_types = {"ernie4_5_moe"}, .gguf_arch = "ernie4_5-moe", .gguf_rules = false,
     .tied_embeddings = true, .hf_keys = HfKeys::ernie, .router_bias = RouterBias::always},
    // Ling 2.0 (inclusionAI's modeling_bailing_moe_v2.py; its config.json says model_type
    // bailing_moe): one fused query_key_value, q/k norms and the router's expert bias as configured.
    {.name = "Ling 2", .hf_model_types = {"bailing_moe", "bailing_moe_v2"}, .gguf_arch = "bailingmoe2",
     .gguf_rules = false, .qk_norm = ByConfig::from_config, .fused_qkv = true, .hf_keys = HfKeys::bailing},
    // Kimi-Linear (moonshotai's configuration_kimi.py / modeling_kimi.py, vLLM kimi_linear.py):
    // MLA on linear_attn_config.full_attn_layers, Kimi Delta Attention on kda_layers, DeepSeek-V3
    // style experts with e_score_correction_bias. llama.cpp names it kimi-linear (LLM_ARCH_KIMI_LINEAR).
    {.name = "Kimi-Linear", .hf_model_types = {"kimi_linear"}, .gguf_arch = "kimi-linear", .gguf_rules = false,
     .mla = true, .mixers = Mixers::listed_one_based, .recurrent = RecurrentKind::kda, .hf_keys = HfKeys::kimi_linear,
     .router_bias = RouterBias::always},
    fused_qkv_only("GPT-NeoX", "gptneox"),
    fused_qkv_only("StarCoder", "starcoder"),
    fused_qkv_only("MPT", "mpt"),
    fused_qkv_only("BLOOM", "bloom"),
    fused_qkv_only("Qwen", "qwen"),
    fused_qkv_only("GPT-2", "gpt2"),
    fused_qkv_only("CodeShell", "codeshell"),
    fused_qkv_only("DBRX", "dbrx"),
    fused_qkv_only("OpenELM", "openelm"),
    fused_qkv_only("JAIS", "jais"),
    fused_qkv_only("PLaMo 3", "plamo3"),
    fused_qkv_only("CogVLM", "cogvlm"),
    // Qwen2-VL and Qwen2.5-VL (transformers configuration_qwen2_vl.py, configuration_qwen2_5_vl.py):
    // the Qwen2 language model with M-RoPE, at the top level of config.json or, as newer
    // transformers save it, in text_config; Qwen2.5-VL's vision tower is counted by src/io/hf_vision_tower.cpp. Their GGUF files
    // (qwen2vl) keep the rules they had: none of their own.
    {.name = "Qwen2-VL", .hf_model_types = {"qwen2_vl", "qwen2_vl_text"}, .gguf_arch = "qwen2vl", .gguf_rules = false,
     .local_attention = above_window_layers, .qkv_bias = ByConfig::always, .o_bias = ByConfig::never},
    {.name = "Qwen2.5-VL", .hf_model_types = {"qwen2_5_vl", "qwen2_5_vl_text"}, .gguf_arch = "qwen2vl", .gguf_rules = false,
     .local_attention = above_window_layers, .qkv_bias = ByConfig::always, .o_bias = ByConfig::never},
    // Gemma 4 (transformers configuration_gemma4.py, modeling_gemma4.py): five sliding layers per
    // global one, q/k norms, four norms per layer; its own keys for the global layers and the MoE
    // block (HfKeys::gemma4). The GGUF importer has no rules for it yet.
    {.name = "Gemma 4", .hf_model_types = {"gemma4", "gemma4_text"}, .gguf_arch = "gemma4", .gguf_rules = false,
     .local_attention = periodic, .local_period = 6, .qk_norm = ByConfig::always, .norms_per_layer = 4,
     .tied_embeddings = true, .hf_keys = HfKeys::gemma4},
    // SmolLM3 (transformers configuration_smollm3.py, modeling_smollm3.py): Llama's tensors; its
    // no_rope_layers (NoPE on every 4th layer) change no weights and no cache. Tied embeddings by
    // default (SmolLM3Config). llama.cpp names it smollm3; the GGUF importer has no rules for it.
    {.name = "SmolLM3", .hf_model_types = {"smollm3"}, .gguf_arch = "smollm3", .gguf_rules = false,
     .local_attention = opt_in, .tied_embeddings = true},
    // Hunyuan (transformers modeling_hunyuan_v1_moe.py / modeling_hunyuan_v1_dense.py, vLLM
    // hunyuan_v1.py): per-head query_layernorm and key_layernorm when use_qk_norm; the MoE model's
    // routed experts, shared MLP and bias-free router from its own keys (HfKeys::hunyuan).
    // llama.cpp names them hunyuan-moe and hunyuan-dense; the GGUF importer has no rules for them.
    {.name = "Hunyuan MoE", .hf_model_types = {"hunyuan_v1_moe"}, .gguf_arch = "hunyuan-moe", .gguf_rules = false,
     .qk_norm = ByConfig::from_config, .hf_keys = HfKeys::hunyuan},
    {.name = "Hunyuan dense", .hf_model_types = {"hunyuan_v1_dense"}, .gguf_arch = "hunyuan-dense", .gguf_rules = false,
     .qk_norm = ByConfig::from_config},
};

constexpr bool names_hf(const ArchitectureFacts& row, std::string_view model_type) {
  if (model_type.empty()) return false;
  for (const char* t : row.hf_model_types) {
    if (t != nullptr && t == model_type) return true;
  }
  return false;
}

// Every lookup has one answer: a model_type in one row, a GGUF name with one rule row, and
// rows sharing a GGUF name agree on the layout the converter writes.
constexpr bool lookups_are_unique() {
  for (const ArchitectureFacts& a : table) {
    if (a.gguf_arch.empty()) return false;
    for (const ArchitectureFacts& b : table) {
      if (&a == &b) continue;
      for (const char* t : a.hf_model_types) {
        if (t != nullptr && names_hf(b, t)) return false;
      }
      if (a.gguf_arch == b.gguf_arch &&
          ((a.gguf_rules && b.gguf_rules) || a.fused_qkv != b.fused_qkv || a.fused_gate_up != b.fused_gate_up)) {
        return false;
      }
    }
  }
  return true;
}
static_assert(lookups_are_unique(), "a model_type or a GGUF architecture's rules are in two rows");

// The facts a rule needs are in the row: a periodic pattern has its period, a hybrid its
// recurrent mixer, a periodic MoE its period; the GGUF importer reads only Mamba's SSM keys.
constexpr bool rows_are_complete() {
  for (const ArchitectureFacts& a : table) {
    const bool periodic_rule = a.local_attention == periodic || a.local_attention == periodic_chunked;
    if (periodic_rule != (a.local_period > 0)) return false;
    if ((a.local_attention == periodic_chunked) != (a.gguf_chunk_tokens > 0)) return false;
    if ((a.mixers == Mixers::attention) == a.recurrent.has_value()) return false;
    if ((a.mixers == Mixers::every_nth_attention || a.mixers == Mixers::one_attention_per_period) &&
        a.attention_period == 0) {
      return false;
    }
    if (a.moe_layers == MoeLayers::periodic && (a.moe_period == 0 || a.moe_offset >= a.moe_period)) return false;
    if (a.recurrent == RecurrentKind::mamba2 && a.hf_model_types[0] != nullptr && a.hf_ssm_keys.heads.empty()) return false;
    if (a.gguf_rules && a.recurrent == RecurrentKind::gated_deltanet) return false;
    if (a.gguf_rules && a.recurrent == RecurrentKind::kda) return false;
    if ((a.mixers == Mixers::listed_one_based) != (a.hf_keys == HfKeys::kimi_linear)) return false;
    if (a.fused_gate_up && a.mlp != MlpKind::gated) return false;
  }
  return true;
}
static_assert(rows_are_complete(), "a row's rule lacks the fact it needs");

} // namespace

std::span<const ArchitectureFacts> architecture_table() { return table; }

const ArchitectureFacts* hf_architecture(std::string_view model_type) {
  const auto* it = std::ranges::find_if(table, [&](const ArchitectureFacts& a) { return names_hf(a, model_type); });
  return it == std::end(table) ? nullptr : it;
}

const ArchitectureFacts* gguf_architecture(std::string_view arch) {
  const auto* it =
      std::ranges::find_if(table, [&](const ArchitectureFacts& a) { return a.gguf_rules && a.gguf_arch == arch; });
  return it == std::end(table) ? nullptr : it;
}

const ArchitectureFacts* architecture_layout(std::string_view arch) {
  const auto* it = std::ranges::find(table, arch, &ArchitectureFacts::gguf_arch);
  return it == std::end(table) ? nullptr : it;
}

} // namespace vramcalc
