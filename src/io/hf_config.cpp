#include "vramcalc/io/hf_config.hpp"

#include "json_util.hpp"
#include "vramcalc/text.hpp"
#include "vramcalc/format.hpp"
#include "vramcalc/units.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace vramcalc::io {

using nlohmann::json;
using detail::LoadFailure;

namespace {

constexpr std::uint64_t max_dim = 1ull << 31;

// Lenient reading of one config object: HF configs carry many keys vramcalc does not need,
// so unknown keys are fine; wrong types and missing required keys are not.
class Config {
public:
  Config(const json& j, std::string origin, std::string path) : j_(j), origin_(std::move(origin)), path_(std::move(path)) {}

  bool has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }

  std::uint64_t u64(const char* key) {
    if (!has(key)) {
      missing_.push_back(key);
      return 0;
    }
    return value(key);
  }
  std::uint64_t u64_or(const char* key, std::uint64_t fallback) const { return has(key) ? value(key) : fallback; }
  bool boolean_or(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_.at(key);
    if (!v.is_boolean()) fail(key, "expected true or false");
    return v.get<bool>();
  }
  std::string string_or(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_.at(key);
    if (!v.is_string()) fail(key, "expected a string");
    return v.get<std::string>();
  }
  const json* get(const char* key) const { return has(key) ? &j_.at(key) : nullptr; }

  [[noreturn]] void fail(const char* key, const std::string& what) const {
    throw LoadFailure{{ErrorCode::invalid_model, origin_ + ": " + path_ + "/" + key + ": " + what}};
  }
  void check_missing() const {
    if (missing_.empty()) return;
    std::string keys;
    for (const auto& k : missing_) keys += (keys.empty() ? "" : ", ") + path_.substr(path_.empty() ? 0 : 1) + (path_.empty() ? "" : "/") + k;
    throw LoadFailure{{ErrorCode::invalid_model, origin_ + ": missing key" + (missing_.size() > 1 ? "s" : "") +
                                                      " vramcalc needs: " + keys}};
  }

private:
  std::uint64_t value(const char* key) const {
    const json& v = j_.at(key);
    if (v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0)) {
      const auto u = v.get<std::uint64_t>();
      if (u > max_dim && std::string_view(key) != "max_position_embeddings") fail(key, "is implausibly large: " + detail::json_excerpt(v));
      return u;
    }
    if (v.is_number_float()) {
      const double d = v.get<double>();
      if (d >= 0 && std::floor(d) == d && d < 1e15) return static_cast<std::uint64_t>(d);
    }
    fail(key, "expected a non-negative integer, got " + detail::json_excerpt(v));
  }

  const json& j_;
  std::string origin_;
  std::string path_;
  std::vector<std::string> missing_;
};

Dtype dtype_of(const Config& c, std::vector<std::string>& warnings) {
  std::string t = c.string_or("torch_dtype", c.string_or("dtype", ""));
  if (t.empty()) {
    warnings.push_back("the config names no torch_dtype; assuming bfloat16");
    return Dtype::bf16;
  }
  if (t == "bfloat16") return Dtype::bf16;
  if (t == "float16") return Dtype::f16;
  if (t == "float32") return Dtype::f32;
  warnings.push_back("torch_dtype '" + excerpt(t) + "' is not a float type; assuming bfloat16");
  return Dtype::bf16;
}

// Typed fields of the quantization_config object: a wrong type names its key, never
// nlohmann's type_error.
class Fields {
public:
  Fields(const json& o, const std::string& origin, std::string path) : o_(o), origin_(origin), path_(std::move(path)) {}

  const json* get(const char* key) const {
    const auto it = o_.find(key);
    return it == o_.end() || it->is_null() ? nullptr : &*it;
  }
  std::int64_t integer(const char* key, std::int64_t fallback) const {
    const json* v = get(key);
    if (v == nullptr) return fallback;
    if (v->is_number_integer()) {
      const std::int64_t i = v->get<std::int64_t>();
      if (i >= -(1ll << 31) && i < (1ll << 31)) return i;
    }
    fail(key, "expected an integer, got " + detail::json_excerpt(*v));
  }
  std::string string(const char* key, const std::string& fallback) const {
    const json* v = get(key);
    if (v == nullptr) return fallback;
    if (!v->is_string()) fail(key, "expected a string, got " + detail::json_excerpt(*v));
    return v->get<std::string>();
  }
  bool boolean(const char* key, bool fallback) const {
    const json* v = get(key);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) fail(key, "expected true or false, got " + detail::json_excerpt(*v));
    return v->get<bool>();
  }
  // An object member (empty when absent).
  Fields object(const char* key) const {
    const json* v = get(key);
    if (v != nullptr && !v->is_object()) fail(key, "expected an object, got " + detail::json_excerpt(*v));
    return Fields(v == nullptr ? empty() : *v, origin_, path_ + "/" + key);
  }
  const json& raw() const { return o_; }
  const std::string& path() const { return path_; }
  [[noreturn]] void fail(std::string_view key, const std::string& what) const {
    throw LoadFailure{{ErrorCode::invalid_model, origin_ + ": " + path_ + "/" + excerpt(key) + ": " + what}};
  }

private:
  static const json& empty() {
    static const json e = json::object();
    return e;
  }
  const json& o_;
  const std::string& origin_;
  std::string path_;
};

// quantization_config -> a vramcalc weight format name.
std::optional<std::string> format_of(const json* qj, const std::string& origin, std::vector<std::string>& warnings) {
  if (qj == nullptr || !qj->is_object()) return std::nullopt;
  const Fields q(*qj, origin, "/quantization_config");
  const std::string method = q.string("quant_method", "");
  auto group = [&](const Fields& o) {
    const std::int64_t g = o.integer("group_size", -1);
    return std::to_string(g);
  };
  if (method == "awq" || method == "gptq") {
    const std::int64_t bits = q.integer("bits", q.integer("w_bit", 4));
    if (bits != 4) {
      warnings.push_back(method + " with " + std::to_string(bits) + " bits is not modelled yet; using int8");
      return "int8";
    }
    const std::string g = q.get("group_size") != nullptr || qj->contains("group_size")
                              ? group(q)
                              : std::to_string(q.integer("q_group_size", 128));
    return method + "-int4-g" + g;
  }
  if (method == "fp8") {
    const json* block = q.get("weight_block_size");
    return block != nullptr && block->is_array() && !block->empty() ? "fp8-block" : "fp8";
  }
  if (method == "mxfp4") return "mxfp4";
  if (method == "fbgemm_fp8") return "fbgemm-fp8";
  if (method == "bitsandbytes") {
    if (q.boolean("load_in_4bit", false)) return "nf4";
    if (q.boolean("load_in_8bit", false)) return "int8";
  }
  if (method == "compressed-tensors") {
    const Fields groups = q.object("config_groups");
    for (const auto& [name, gj] : groups.raw().items()) {
      if (!gj.is_object()) groups.fail(name, "expected an object, got " + detail::json_excerpt(gj));
      const Fields g(gj, origin, groups.path() + "/" + excerpt(name));
      const Fields w = g.object("weights");
      const std::int64_t bits = w.integer("num_bits", 0);
      const std::string type = w.string("type", "int");
      const std::string strategy = w.string("strategy", "tensor");
      const bool activations = g.get("input_activations") != nullptr;
      if (type == "float" && bits == 8) {
        return strategy == "channel" ? "fp8-channel" : strategy == "block" ? "fp8-block" : "fp8";
      }
      if (type == "int" && bits == 8) return activations ? "w8a8" : "int8";
      if (type == "int" && bits == 4) return "w4a16-g" + group(w);
      if (type == "float" && bits == 4) return "nvfp4";
    }
  }
  warnings.push_back("quantization_config '" + excerpt(method) + "' is not recognised; assuming the native dtype");
  return std::nullopt;
}

std::vector<LayerKind> layer_types_of(const json* types, std::uint64_t n, const Config& c) {
  std::vector<LayerKind> out;
  if (types == nullptr) return out;
  if (!types->is_array() || types->size() != n) c.fail("layer_types", "expected one entry per layer");
  for (const json& t : *types) {
    const std::string s = t.is_string() ? t.get<std::string>() : "";
    if (s == "full_attention" || s == "attention") out.push_back({AttentionKind::full, false});
    else if (s == "sliding_attention") out.push_back({AttentionKind::sliding, false});
    else if (s == "chunked_attention") out.push_back({AttentionKind::chunked, false});
    else if (s == "linear_attention" || s == "mamba") out.push_back({AttentionKind::none, false});
    else c.fail("layer_types", "unknown layer type " + detail::json_excerpt(t));
  }
  return out;
}

const std::set<std::string> known_types{
    "llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "qwen3_next", "deepseek_v2",
    "deepseek_v3", "kimi_k2", "gemma", "gemma2", "gemma3", "gemma3_text", "phi3", "gpt_oss", "falcon", "jamba",
    "mamba2", "nemotron_h", "llama4", "llama4_text", "glm4_moe", "cohere", "cohere2"};

std::string arch_of(const std::string& mt) {
  if (mt == "llama" || mt == "mistral" || mt == "mixtral") return "llama";
  if (mt == "llama4" || mt == "llama4_text") return "llama4";
  if (mt == "qwen2_moe") return "qwen2moe";
  if (mt == "qwen3_moe") return "qwen3moe";
  if (mt == "qwen3_next") return "qwen3next";
  if (mt == "deepseek_v2" || mt == "deepseek_v3" || mt == "kimi_k2") return "deepseek2";
  if (mt == "gemma3_text") return "gemma3";
  if (mt == "gpt_oss") return "gpt-oss";
  if (mt == "glm4_moe") return "glm4moe";
  if (mt == "cohere") return "command-r";
  return mt;
}

HfImport import(std::string_view text, const std::string& origin, std::string_view id) {
  const json root = detail::parse_strict(text, origin, ErrorCode::invalid_model);
  if (!root.is_object()) throw LoadFailure{{ErrorCode::invalid_model, origin + ": expected a JSON object"}};
  HfImport out;
  auto& w = out.warnings;
  ModelSpec& s = out.spec;
  const Fields root_fields(root, origin, "");
  const std::string top_type = root_fields.string("model_type", "");
  // Multimodal wrappers keep the language model in text_config.
  const bool nested = root.contains("text_config") && root.at("text_config").is_object();
  const json& tj = nested ? root.at("text_config") : root;
  Config c(tj, origin, nested ? "/text_config" : "");
  Config top(root, origin, "");
  std::string mt = nested ? Fields(tj, origin, "/text_config").string("model_type", top_type) : top_type;
  if (mt.empty()) throw LoadFailure{{ErrorCode::invalid_model, origin + ": /model_type: missing; is this a Hugging Face config.json?"}};
  if (!known_types.contains(mt)) {
    w.push_back("model_type '" + excerpt(mt) + "' is not one vramcalc knows; reading the standard keys (hidden_size, "
                "num_hidden_layers, num_attention_heads, num_key_value_heads, intermediate_size, vocab_size)");
  }

  s.id = std::string(id);
  s.name = std::string(id);
  s.family = mt;
  s.arch = arch_of(mt);
  s.source = origin;
  s.origin = origin;
  s.dtype = dtype_of(nested && !tj.contains("torch_dtype") ? top : c, w);
  if (auto f = format_of(top.get("quantization_config"), origin, w)) s.weights_format = *f;

  s.hidden_size = c.u64("hidden_size");
  s.num_layers = c.u64("num_hidden_layers");
  s.vocab_size = c.u64("vocab_size");
  const bool is_mamba = mt == "mamba2";
  AttentionSpec& a = s.attention;
  if (!is_mamba) {
    a.num_heads = c.u64("num_attention_heads");
  } else {
    a.num_heads = 1;
  }
  c.check_missing();
  if (s.hidden_size == 0 || s.num_layers == 0 || s.vocab_size == 0 || a.num_heads == 0) {
    throw LoadFailure{{ErrorCode::invalid_model, origin + ": hidden_size, num_hidden_layers, vocab_size and "
                                                          "num_attention_heads must be positive"}};
  }
  if (s.num_layers > max_model_layers) {
    c.fail("num_hidden_layers", "is implausibly large (vramcalc reads at most " + with_commas(max_model_layers) + " layers)");
  }
  a.num_kv_heads = c.u64_or("num_key_value_heads", a.num_heads);
  a.head_dim = c.u64_or("head_dim", c.u64_or("attention_head_dim", s.hidden_size / a.num_heads));
  a.v_head_dim = a.head_dim;
  s.max_context = c.u64_or("max_position_embeddings", 0);
  s.intermediate_size = c.u64_or("intermediate_size", 0);
  const bool tie_default = mt == "gemma" || mt == "gemma2" || mt == "gemma3" || mt == "gemma3_text" ||
                           mt == "falcon" || mt == "cohere" || mt == "cohere2" || mt == "mamba2";
  s.tie_word_embeddings = c.boolean_or("tie_word_embeddings", top.boolean_or("tie_word_embeddings", tie_default));
  const bool attn_bias = c.boolean_or("attention_bias", false);
  a.qkv_bias = attn_bias;
  a.o_bias = attn_bias;
  s.mlp_bias = c.boolean_or("mlp_bias", false);

  std::vector<LayerKind> pattern = layer_types_of(c.get("layer_types"), s.num_layers, c);
  if (c.has("sliding_window") && !tj.at("sliding_window").is_boolean()) a.sliding_window = c.u64("sliding_window");
  else if (c.has("sliding_window_size")) a.sliding_window = c.u64("sliding_window_size"); // MLC's spelling

  if (mt == "mistral" || mt == "mixtral") {
    if (a.sliding_window > 0 && pattern.empty()) pattern = {{AttentionKind::sliding, false}};
  }
  if (mt == "qwen2" || mt == "qwen2_moe") {
    a.qkv_bias = true;
    a.o_bias = false;
    if (c.boolean_or("use_sliding_window", false) && a.sliding_window > 0) {
      // Qwen2 applies the window to layers at or above max_window_layers.
      const std::uint64_t first = c.u64_or("max_window_layers", 0);
      pattern.clear();
      for (std::uint64_t i = 0; i < s.num_layers; ++i) {
        pattern.push_back({i >= first ? AttentionKind::sliding : AttentionKind::full, false});
      }
    }
  }
  if (mt == "qwen3" || mt == "qwen3_moe" || mt == "qwen3_next" || mt == "gemma3" || mt == "gemma3_text") {
    a.qk_norm = true;
  }
  if ((mt == "qwen3" || mt == "qwen3_moe") && !c.boolean_or("use_sliding_window", false)) pattern.clear();
  if (mt == "gemma2" || mt == "gemma3" || mt == "gemma3_text") {
    s.norms_per_layer = 4;
    if (pattern.empty()) {
      const std::uint64_t period = mt == "gemma2" ? 2 : c.u64_or("sliding_window_pattern", 6);
      // Gemma 2: even layers local; Gemma 3: every period-th layer global.
      // Layers past num_layers never use the pattern: a period beyond them is cut there.
      for (std::uint64_t i = 0; i < std::min(period, s.num_layers); ++i) {
        const bool global = mt == "gemma2" ? i % 2 == 1 : (i + 1) % period == 0;
        pattern.push_back({global ? AttentionKind::full : AttentionKind::sliding, false});
      }
    }
  }
  if (mt == "llama4" || mt == "llama4_text") {
    a.qk_norm = false; // Llama 4's qk norm has no weights
    a.chunk_size = c.u64_or("attention_chunk_size", 0);
    if (a.chunk_size > 0 && pattern.empty()) {
      // no_rope_layers: every 4th layer is a global (NoPE) full-attention layer.
      pattern = {{AttentionKind::chunked, false}, {AttentionKind::chunked, false}, {AttentionKind::chunked, false},
                 {AttentionKind::full, false}};
    }
  }
  if (mt == "phi3" && a.sliding_window > 0 && pattern.empty()) {
    w.push_back("phi3 sliding_window " + std::to_string(a.sliding_window) +
                " is ignored: engines run Phi-3 with full attention");
  }
  if (mt == "glm4_moe") {
    a.o_bias = false; // attention_bias covers q, k and v only
    a.qk_norm = c.boolean_or("use_qk_norm", false);
  }
  if (mt == "gpt_oss") {
    a.sinks = true;
    a.qkv_bias = a.o_bias = true;
  }
  if (mt == "cohere" || mt == "cohere2") {
    s.norm = NormKind::layernorm;
    s.norms_per_layer = 1; // one input layernorm feeds attention and MLP in parallel
  }
  if (mt == "falcon") {
    s.norm = NormKind::layernorm;
    s.norm_bias = true;
    s.mlp = MlpKind::plain;
    a.qkv_bias = a.o_bias = s.mlp_bias = c.boolean_or("bias", false);
    const bool new_arch = c.boolean_or("new_decoder_architecture", false);
    if (new_arch) {
      a.num_kv_heads = c.u64_or("num_kv_heads", a.num_heads);
      s.norms_per_layer = 2;
    } else {
      a.num_kv_heads = c.boolean_or("multi_query", true) ? 1 : a.num_heads;
      s.norms_per_layer = c.boolean_or("parallel_attn", true) ? 1 : 2;
    }
    a.head_dim = a.v_head_dim = s.hidden_size / a.num_heads;
    s.intermediate_size = c.u64_or("ffn_hidden_size", 4 * s.hidden_size);
    if (s.max_context == 0) s.max_context = 2048;
  }

  // MLA
  if (mt == "deepseek_v2" || mt == "deepseek_v3" || mt == "kimi_k2" || c.has("kv_lora_rank")) {
    MlaSpec m;
    m.q_lora_rank = c.u64_or("q_lora_rank", 0);
    m.kv_lora_rank = c.u64("kv_lora_rank");
    m.qk_nope_head_dim = c.u64("qk_nope_head_dim");
    m.qk_rope_head_dim = c.u64("qk_rope_head_dim");
    m.v_head_dim = c.u64("v_head_dim");
    c.check_missing();
    a.mla = m;
    a.head_dim = m.qk_nope_head_dim + m.qk_rope_head_dim;
    a.v_head_dim = m.v_head_dim;
  }

  // Mixture of experts
  const std::uint64_t experts =
      c.u64_or("num_local_experts", c.u64_or("n_routed_experts", c.u64_or("num_experts", 0)));
  std::vector<std::uint64_t> dense_layers; // explicit dense layers (Qwen mlp_only_layers)
  if (experts > 1) {
    MoeSpec m;
    m.num_experts = experts;
    m.experts_per_token = c.u64_or("num_experts_per_tok", c.u64_or("experts_per_token", 0));
    if (m.experts_per_token == 0) c.fail("num_experts_per_tok", "missing for a MoE model");
    m.expert_intermediate_size = c.u64_or("moe_intermediate_size", s.intermediate_size);
    m.shared_experts = c.u64_or("n_shared_experts", 0);
    m.shared_intermediate_size = m.expert_intermediate_size;
    if (c.has("shared_expert_intermediate_size") && c.u64("shared_expert_intermediate_size") > 0) {
      m.shared_experts = 1;
      m.shared_intermediate_size = c.u64("shared_expert_intermediate_size");
      m.shared_expert_gate = mt == "qwen2_moe" || mt == "qwen3_next";
    }
    m.first_dense_layers = c.u64_or("first_k_dense_replace", 0);
    m.layer_step = std::max<std::uint64_t>(1, c.u64_or("moe_layer_freq", c.u64_or("decoder_sparse_step", 1)));
    if (c.has("decoder_sparse_step")) m.layer_offset = m.layer_step - 1; // Qwen: (i + 1) % step == 0
    if (mt == "deepseek_v3" || mt == "kimi_k2" || mt == "glm4_moe") m.router_bias = true; // e_score_correction_bias
    if (mt == "gpt_oss") {
      m.router_bias = true;
      m.expert_bias = true;
    }
    if (mt == "llama4" || mt == "llama4_text") {
      m.shared_experts = 1;
      m.shared_intermediate_size = m.expert_intermediate_size;
      m.layer_step = std::max<std::uint64_t>(1, c.u64_or("interleave_moe_layer_step", 1));
      m.layer_offset = m.layer_step - 1;
      s.intermediate_size = c.u64_or("intermediate_size_mlp", s.intermediate_size);
    }
    if (mt == "jamba") {
      m.layer_step = std::max<std::uint64_t>(1, c.u64_or("expert_layer_period", 2));
      m.layer_offset = c.u64_or("expert_layer_offset", 1) % m.layer_step;
    }
    if (const json* mlp_only = c.get("mlp_only_layers"); mlp_only != nullptr && mlp_only->is_array()) {
      for (const json& i : *mlp_only) {
        if (i.is_number_unsigned()) dense_layers.push_back(i.get<std::uint64_t>());
      }
    }
    s.moe = m;
  }

  // Hybrid and recurrent models
  if (mt == "qwen3_next") {
    RecurrentSpec r;
    r.kind = RecurrentKind::gated_deltanet;
    r.num_heads = c.u64("linear_num_value_heads");
    r.num_k_heads = c.u64("linear_num_key_heads");
    r.head_k_dim = c.u64("linear_key_head_dim");
    r.head_v_dim = c.u64("linear_value_head_dim");
    r.d_conv = c.u64("linear_conv_kernel_dim");
    r.conv_bias = false;
    c.check_missing();
    s.recurrent = r;
    a.output_gate = true;
    if (pattern.empty()) {
      const std::uint64_t interval = std::max<std::uint64_t>(1, c.u64_or("full_attention_interval", 4));
      for (std::uint64_t i = 0; i < std::min(interval, s.num_layers); ++i) {
        pattern.push_back({(i + 1) % interval == 0 ? AttentionKind::full : AttentionKind::none, false});
      }
    }
  }
  if (mt == "jamba") {
    RecurrentSpec r;
    r.kind = RecurrentKind::mamba;
    r.d_state = c.u64_or("mamba_d_state", 16);
    r.d_conv = c.u64_or("mamba_d_conv", 4);
    r.d_inner = c.u64_or("mamba_expand", 2) * s.hidden_size;
    const json* dt = c.get("mamba_dt_rank");
    r.dt_rank = dt != nullptr && dt->is_number_unsigned() ? dt->get<std::uint64_t>() : (s.hidden_size + 15) / 16;
    r.conv_bias = c.boolean_or("mamba_conv_bias", true);
    r.dt_norms = true;
    s.recurrent = r;
    const std::uint64_t period = std::max<std::uint64_t>(1, c.u64_or("attn_layer_period", 8));
    const std::uint64_t offset = c.u64_or("attn_layer_offset", 4) % period;
    pattern.clear();
    for (std::uint64_t i = 0; i < std::min(period, s.num_layers); ++i) {
      pattern.push_back({i == offset ? AttentionKind::full : AttentionKind::none, false});
    }
  }
  if (mt == "mamba2" || mt == "nemotron_h") {
    RecurrentSpec r;
    r.kind = RecurrentKind::mamba2;
    const std::uint64_t heads = c.u64(mt == "mamba2" ? "num_heads" : "mamba_num_heads");
    const std::uint64_t head_dim = c.u64(mt == "mamba2" ? "head_dim" : "mamba_head_dim");
    r.d_state = c.u64(mt == "mamba2" ? "state_size" : "ssm_state_size");
    r.d_conv = c.u64("conv_kernel");
    r.n_groups = c.u64_or("n_groups", 1);
    c.check_missing();
    r.num_heads = heads;
    r.head_dim = head_dim;
    r.d_inner = heads * head_dim;
    r.conv_bias = c.boolean_or("use_conv_bias", true);
    s.recurrent = r;
    s.separate_mlp = true;
    s.norms_per_layer = 1;
    s.mlp = MlpKind::plain;
    pattern.clear();
    if (mt == "mamba2") {
      pattern = {{AttentionKind::none, false}};
      a.num_kv_heads = 1;
      a.head_dim = a.v_head_dim = 1;
    } else {
      const std::string p = c.string_or("hybrid_override_pattern", "");
      if (p.size() != s.num_layers) c.fail("hybrid_override_pattern", "expected one character per layer");
      for (char ch : p) {
        if (ch == 'M') pattern.push_back({AttentionKind::none, false});
        else if (ch == '*') pattern.push_back({AttentionKind::full, false});
        else if (ch == '-') pattern.push_back({AttentionKind::none, true});
        else c.fail("hybrid_override_pattern", "unknown layer '" + excerpt(std::string(1, ch)) + "'");
      }
    }
  }

  // Falcon's key is num_kv_heads; a count of 0 would divide by zero below.
  const char* kv_key = mt == "falcon" ? "num_kv_heads" : "num_key_value_heads";
  if (!a.mla && a.num_kv_heads == 0) c.fail(kv_key, "must be positive");
  if (!a.mla && a.num_heads % a.num_kv_heads != 0) {
    c.fail(kv_key, "must divide num_attention_heads (" + std::to_string(a.num_heads) + ")");
  }
  for (const LayerKind& k : pattern) {
    if (k.attention == AttentionKind::sliding && a.sliding_window == 0) c.fail("sliding_window", "missing for sliding layers");
    if (k.attention == AttentionKind::chunked && a.chunk_size == 0) c.fail("attention_chunk_size", "missing");
  }
  s.mtp_layers = c.u64_or("num_nextn_predict_layers", 0);
  if (mt == "qwen3_next") {
    // The config has no key for it, but the checkpoints ship one MTP block (mtp.*) that
    // shares the main embedding and head.
    s.mtp_layers = c.u64_or("mtp_num_hidden_layers", 1);
    s.mtp_own_embeddings = false;
  }
  if (s.max_context == 0 && !is_mamba) {
    w.push_back("the config gives no max_position_embeddings; pass --ctx");
  }
  apply_arch_layout(s); // the converter's fused tensors (Phi-3, Falcon, ...)
  expand_layers(s, pattern);
  for (std::uint64_t i : dense_layers) {
    if (i < s.layers.size()) s.layers[i].moe = false;
  }
  bool needs_dense = false;
  for (const LayerSpec& l : s.layers) needs_dense = needs_dense || (l.has_mlp && !l.moe);
  if (needs_dense && s.intermediate_size == 0) {
    throw LoadFailure{{ErrorCode::invalid_model, origin + ": missing key vramcalc needs: intermediate_size"}};
  }
  return out;
}

} // namespace

std::expected<HfImport, Error> parse_hf_config(std::string_view text, std::string_view origin, std::string_view id) {
  try {
    return import(text, std::string(origin), id);
  } catch (const LoadFailure& f) {
    return std::unexpected(f.error);
  } catch (const json::exception& e) {
    return std::unexpected(Error{ErrorCode::invalid_model, std::string(origin) + ": " + e.what()});
  }
}

bool looks_like_hf_config(std::string_view text) {
  json j;
  try {
    j = json::parse(text.begin(), text.end(), nullptr, false);
  } catch (const json::exception&) {
    return false; // a number out of range throws even without exceptions: the real parse says so
  }
  return j.is_object() && (j.contains("model_type") || j.contains("architectures")) && !j.contains("schema");
}

} // namespace vramcalc::io
