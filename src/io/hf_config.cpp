#include "vramcalc/io/hf_config.hpp"

#include "json_util.hpp"
#include "hf_vision_tower.hpp"
#include "vramcalc/architecture.hpp"
#include "vramcalc/text.hpp"
#include "vramcalc/format.hpp"
#include "vramcalc/units.hpp"

#include <algorithm>
#include <cmath>

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
  // The object at `key`, read with the same rules (its keys named under this one's path).
  Config child(const char* key) const {
    if (!has(key)) throw LoadFailure{{ErrorCode::invalid_model, origin_ + ": missing key vramcalc needs: " +
                                                                     path_.substr(path_.empty() ? 0 : 1) +
                                                                     (path_.empty() ? "" : "/") + key}};
    if (!j_.at(key).is_object()) fail(key, "expected an object");
    return Config(j_.at(key), origin_, path_ + "/" + key);
  }

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

// The rules of a model_type vramcalc has no row for: the standard keys only.
constexpr ArchitectureFacts standard_architecture{};

// transformers' default layer_types for a periodic pattern: every period-th layer global, the
// others `local`. Layers past num_layers never use the pattern: a period beyond them is cut there.
std::vector<LayerKind> periodic_pattern(std::uint64_t period, AttentionKind local, std::uint64_t layers) {
  std::vector<LayerKind> out;
  for (std::uint64_t i = 0; i < std::min(period, layers); ++i) {
    out.push_back({(i + 1) % period == 0 ? AttentionKind::full : local, false});
  }
  return out;
}

// One config being read: the language model's object (`text`, text_config in multimodal
// wrappers), the top-level object, and the architecture's row.
struct Reading {
  Config& text;
  const Config& top;
  const ArchitectureFacts& arch;
  const std::string& model_type;
  std::vector<std::string>& warnings;
};

bool by_config(ByConfig rule, bool configured) {
  switch (rule) {
  case ByConfig::from_config: return configured;
  case ByConfig::always: return true;
  case ByConfig::never: return false;
  }
  return configured;
}

// hidden_size, layers, vocabulary, heads and their sizes, context, MLP width.
void read_sizes(Reading& r, ModelSpec& s, const std::string& origin) {
  Config& c = r.text;
  s.hidden_size = c.u64("hidden_size");
  s.num_layers = c.u64("num_hidden_layers");
  s.vocab_size = c.u64("vocab_size");
  AttentionSpec& a = s.attention;
  // A model without attention has no heads to read.
  a.num_heads = r.arch.mixers == Mixers::recurrent_only ? 1 : c.u64("num_attention_heads");
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
  // Kimi-Linear's config gives its context as model_max_length only (1,048,576 on the 48B).
  if (r.arch.hf_keys == HfKeys::kimi_linear) s.max_context = c.u64_or("model_max_length", s.max_context);
  s.intermediate_size = c.u64_or("intermediate_size", 0);
}

// Gemma 4's own keys (transformers Gemma4TextConfig, Gemma4TextAttention): the full-attention
// layers' head size global_head_dim (default 512) and, with attention_k_eq_v, their KV heads
// num_global_key_value_heads (without it they keep num_key_value_heads; vLLM's
// Gemma4DecoderLayer reads them alike); one layer_scalar per layer. The E2B / E4B keys
// (per-layer input embeddings, layers reusing another layer's KV) are not expressible yet.
void read_gemma4_keys(const Reading& r, ModelSpec& s) {
  Config& c = r.text;
  if (c.u64_or("hidden_size_per_layer_input", 0) > 0) {
    c.fail("hidden_size_per_layer_input", "Gemma 4's per-layer input embeddings (E2B, E4B) are not expressible yet "
                                          "(docs/hf-import.md, \"Not expressible yet\")");
  }
  if (c.u64_or("num_kv_shared_layers", 0) > 0) {
    c.fail("num_kv_shared_layers", "layers reusing another layer's KV cache (Gemma 4 E2B, E4B) are not expressible yet "
                                   "(docs/hf-import.md, \"Not expressible yet\")");
  }
  AttentionSpec& a = s.attention;
  a.global_head_dim = c.u64_or("global_head_dim", 512);
  a.global_k_eq_v = c.boolean_or("attention_k_eq_v", false);
  if (a.global_k_eq_v) a.global_num_kv_heads = c.u64_or("num_global_key_value_heads", a.num_kv_heads);
  if (a.global_num_kv_heads == 0 && a.global_k_eq_v) c.fail("num_global_key_value_heads", "must be positive");
  if (a.global_num_kv_heads != 0 && a.num_heads % a.global_num_kv_heads != 0) {
    c.fail("num_global_key_value_heads", "must divide num_attention_heads (" + std::to_string(a.num_heads) + ")");
  }
  if (a.global_head_dim == 0) c.fail("global_head_dim", "must be positive");
  s.layer_scalar = true;
}

// Tied head, biases, norms and MLP kind: the config's flags and the architecture's facts.
void read_block(const Reading& r, ModelSpec& s) {
  const Config& c = r.text;
  const ArchitectureFacts& arch = r.arch;
  s.tie_word_embeddings = c.boolean_or("tie_word_embeddings", r.top.boolean_or("tie_word_embeddings", arch.tied_embeddings));
  const bool attention_bias = c.boolean_or("attention_bias", false);
  s.attention.qkv_bias = by_config(arch.qkv_bias, attention_bias);
  s.attention.o_bias = by_config(arch.o_bias, attention_bias);
  s.mlp_bias = c.boolean_or("mlp_bias", false);
  switch (arch.hf_keys) {
  case HfKeys::standard:
  case HfKeys::kimi_linear:
  case HfKeys::hunyuan:
  case HfKeys::falcon: break; // read_falcon_keys
  case HfKeys::ernie: // Ernie4_5_MoeConfig use_bias: every projection but the router's
    s.attention.qkv_bias = s.attention.o_bias = s.mlp_bias = c.boolean_or("use_bias", false);
    break;
  case HfKeys::bailing: // modeling_bailing_moe_v2.py: query_key_value by use_qkv_bias, dense by use_bias; MLPs without
    s.attention.qkv_bias = c.boolean_or("use_qkv_bias", false);
    s.attention.o_bias = c.boolean_or("use_bias", false);
    s.mlp_bias = false;
    break;
  case HfKeys::gemma4: read_gemma4_keys(r, s); break;
  }
  s.attention.sinks = arch.sinks;
  s.attention.output_gate = arch.output_gate;
  s.norm = arch.norm;
  s.norm_bias = arch.norm_bias;
  s.norms_per_layer = arch.norms_per_layer;
  s.mlp = arch.mlp;
  s.separate_mlp = arch.separate_mlp;
}

// Falcon's spelling: one bias flag for every projection, multi-query or grouped KV heads,
// one or two LayerNorms per block, head size hidden / heads.
void read_falcon_keys(const Config& c, ModelSpec& s) {
  AttentionSpec& a = s.attention;
  a.qkv_bias = a.o_bias = s.mlp_bias = c.boolean_or("bias", false);
  if (c.boolean_or("new_decoder_architecture", false)) {
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

// Which layers attend locally: layer_types when the config lists them, else the
// architecture's rule.
std::vector<LayerKind> local_attention_pattern(const Reading& r, ModelSpec& s, const json& text_json) {
  const Config& c = r.text;
  AttentionSpec& a = s.attention;
  std::vector<LayerKind> pattern = layer_types_of(c.get("layer_types"), s.num_layers, c);
  if (c.has("sliding_window") && !text_json.at("sliding_window").is_boolean()) a.sliding_window = r.text.u64("sliding_window");
  else if (c.has("sliding_window_size")) a.sliding_window = r.text.u64("sliding_window_size"); // MLC's spelling
  switch (r.arch.local_attention) {
  case LocalAttention::as_listed: break;
  case LocalAttention::every_layer:
    if (a.sliding_window > 0 && pattern.empty()) pattern = {{AttentionKind::sliding, false}};
    break;
  case LocalAttention::above_window_layers:
    if (c.boolean_or("use_sliding_window", false) && a.sliding_window > 0) {
      const std::uint64_t first = c.u64_or("max_window_layers", 0);
      pattern.clear();
      for (std::uint64_t i = 0; i < s.num_layers; ++i) {
        pattern.push_back({i >= first ? AttentionKind::sliding : AttentionKind::full, false});
      }
    }
    break;
  case LocalAttention::opt_in:
    if (!c.boolean_or("use_sliding_window", false)) pattern.clear();
    break;
  case LocalAttention::ignored:
    if (a.sliding_window > 0 && pattern.empty()) {
      r.warnings.push_back(r.model_type + " sliding_window " + std::to_string(a.sliding_window) + " is ignored: engines run " +
                           std::string(r.arch.name) + " with full attention");
    }
    break;
  case LocalAttention::periodic:
    if (pattern.empty() && !r.arch.hf_layer_types_only) {
      const std::uint64_t period = r.arch.hf_period_key.empty()
                                       ? r.arch.local_period
                                       : c.u64_or(std::string(r.arch.hf_period_key).c_str(), r.arch.local_period);
      pattern = periodic_pattern(period, AttentionKind::sliding, s.num_layers);
    }
    break;
  case LocalAttention::periodic_chunked:
    a.chunk_size = c.u64_or("attention_chunk_size", 0);
    if (a.chunk_size > 0 && pattern.empty()) pattern = periodic_pattern(r.arch.local_period, AttentionKind::chunked, s.num_layers);
    break;
  }
  return pattern;
}

// Multi-head latent attention: the cache holds kv_lora_rank + qk_rope_head_dim per token.
void read_mla(Config& c, AttentionSpec& a) {
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

// ERNIE 4.5's MoE layers (modeling_ernie4_5_moe.py, Ernie4_5_MoeDecoderLayer): layer i routes when
// (i + 1) % moe_layer_interval == 0 and moe_layer_start_index <= i <= moe_layer_end_index (-1: the
// last layer); its moe_num_shared_experts are one MLP as wide as that many routed experts. Absent
// keys take Ernie4_5_MoeConfig's defaults (2 shared experts, start 1, end -1, interval 1).
void read_ernie_moe(const Reading& r, std::uint64_t layers, MoeSpec& m, std::vector<std::uint64_t>& dense_layers) {
  Config& c = r.text;
  m.shared_experts = c.u64_or("moe_num_shared_experts", 2);
  m.shared_intermediate_size = m.expert_intermediate_size;
  m.layer_step = std::max<std::uint64_t>(1, c.u64_or("moe_layer_interval", 1));
  m.layer_offset = m.layer_step - 1;
  m.first_dense_layers = c.u64_or("moe_layer_start_index", 1);
  const json* end = c.get("moe_layer_end_index");
  const bool to_last = end == nullptr || (end->is_number_integer() && end->get<std::int64_t>() == -1);
  const std::uint64_t last = to_last ? layers - 1 : c.u64("moe_layer_end_index");
  for (std::uint64_t i = last + 1; i < layers; ++i) dense_layers.push_back(i);
  m.expert_bias = c.boolean_or("use_bias", false);
  if (m.expert_bias && m.shared_experts > 0) {
    r.warnings.push_back("use_bias: the shared experts' biases are not counted (their gate, up and down projections' "
                         "biases in each MoE layer)");
  }
}

// A key Hunyuan's config gives as one number or as one per layer (moe_topk, moe_intermediate_size,
// num_shared_expert): vramcalc's spec has one value for every MoE layer, so the list's entries
// must agree.
std::uint64_t uniform_u64_or(const Config& c, const char* key, std::uint64_t fallback) {
  const json* v = c.get(key);
  if (v == nullptr || !v->is_array()) return c.u64_or(key, fallback);
  if (v->empty()) c.fail(key, "expected a non-empty list");
  const json& first = v->front();
  if (!first.is_number_unsigned()) c.fail(key, "expected non-negative integers, got " + detail::json_excerpt(first));
  for (const json& e : *v) {
    if (e != first) {
      c.fail(key, "per-layer values differ (" + detail::json_excerpt(first) + " and " + detail::json_excerpt(e) +
                      "); vramcalc needs one value for every layer");
    }
  }
  const std::uint64_t u = first.get<std::uint64_t>();
  if (u > max_dim) c.fail(key, "is implausibly large: " + detail::json_excerpt(first));
  return u;
}

// Mixture of experts, when the config has more than one expert. Returns the layers the
// config lists as dense (Qwen's mlp_only_layers, ERNIE's layers past moe_layer_end_index).
std::vector<std::uint64_t> read_moe(const Reading& r, ModelSpec& s) {
  const Config& c = r.text;
  const ArchitectureFacts& arch = r.arch;
  std::vector<std::uint64_t> dense_layers;
  const bool ernie = arch.hf_keys == HfKeys::ernie;
  const bool gemma4 = arch.hf_keys == HfKeys::gemma4;
  if (gemma4 && !c.boolean_or("enable_moe_block", false)) return dense_layers;
  const bool hunyuan = arch.hf_keys == HfKeys::hunyuan;
  const std::uint64_t experts =
      ernie     ? c.u64_or("moe_num_experts", 0)
      : hunyuan ? uniform_u64_or(c, "num_experts", 0)
                : c.u64_or("num_local_experts", c.u64_or("n_routed_experts", c.u64_or("num_experts", 0)));
  if (experts <= 1) return dense_layers;
  MoeSpec m;
  m.num_experts = experts;
  const char* top_k_key = ernie ? "moe_k" : gemma4 ? "top_k_experts" : hunyuan ? "moe_topk" : "num_experts_per_tok";
  m.experts_per_token =
      hunyuan ? uniform_u64_or(c, top_k_key, 0)
              : c.u64_or(top_k_key, ernie ? 0 : c.u64_or("experts_per_token", c.u64_or("num_experts_per_token", 0)));
  if (m.experts_per_token == 0) c.fail(top_k_key, "missing for a MoE model");
  m.expert_intermediate_size = hunyuan ? uniform_u64_or(c, "moe_intermediate_size", s.intermediate_size)
                                       : c.u64_or("moe_intermediate_size", s.intermediate_size);
  m.shared_experts = c.u64_or("n_shared_experts", 0);
  m.shared_intermediate_size = m.expert_intermediate_size;
  if (c.has("shared_expert_intermediate_size") && r.text.u64("shared_expert_intermediate_size") > 0) {
    m.shared_experts = 1;
    m.shared_intermediate_size = r.text.u64("shared_expert_intermediate_size");
    m.shared_expert_gate = arch.shared_expert_gate;
  }
  m.first_dense_layers = c.u64_or("first_k_dense_replace", 0);
  m.layer_step = std::max<std::uint64_t>(1, c.u64_or("moe_layer_freq", c.u64_or("decoder_sparse_step", 1)));
  if (c.has("decoder_sparse_step")) m.layer_offset = m.layer_step - 1; // Qwen: (i + 1) % step == 0
  m.router_bias = arch.router_bias == RouterBias::always; // e_score_correction_bias
  m.expert_bias = arch.expert_bias;
  switch (arch.moe_layers) {
  case MoeLayers::as_configured: break;
  case MoeLayers::interleaved:
    m.shared_experts = 1;
    m.shared_intermediate_size = m.expert_intermediate_size;
    m.layer_step = std::max<std::uint64_t>(1, c.u64_or("interleave_moe_layer_step", 1));
    m.layer_offset = m.layer_step - 1;
    s.intermediate_size = c.u64_or(std::string(arch.hf_dense_width_key).c_str(), s.intermediate_size);
    break;
  case MoeLayers::periodic:
    m.layer_step = std::max<std::uint64_t>(1, c.u64_or("expert_layer_period", arch.moe_period));
    m.layer_offset = c.u64_or("expert_layer_offset", arch.moe_offset) % m.layer_step;
    break;
  }
  switch (arch.hf_keys) {
  case HfKeys::standard:
  case HfKeys::falcon: break;
  case HfKeys::ernie: read_ernie_moe(r, s.num_layers, m, dense_layers); break;
  case HfKeys::gemma4: m.dense_mlp_beside = true; break; // Gemma4TextDecoderLayer: mlp + experts on every layer
  case HfKeys::bailing:
    // modeling_bailing_moe_v2.py: num_shared_experts in one MLP of num_shared_experts x
    // moe_intermediate_size; the gate's expert_bias as moe_router_enable_expert_bias says.
    m.shared_experts = c.u64_or("num_shared_experts", 0);
    m.shared_intermediate_size = m.expert_intermediate_size;
    m.router_bias = c.boolean_or("moe_router_enable_expert_bias", false);
    break;
  case HfKeys::hunyuan:
    // vLLM hunyuan_v1.py HunYuanSparseMoeBlock: with use_mixed_mlp_moe, one shared_mlp of
    // intermediate_size x num_shared_expert beside the routed experts; the router (gate) has no bias.
    if (c.boolean_or("use_mixed_mlp_moe", true)) {
      m.shared_experts = uniform_u64_or(c, "num_shared_expert", 1);
      m.shared_intermediate_size = s.intermediate_size;
    }
    break;
  case HfKeys::kimi_linear:
    // modeling_kimi.py KimiSparseMoeBlock: num_shared_experts in one MLP of
    // moe_intermediate_size x num_shared_experts.
    m.shared_experts = c.u64_or("num_shared_experts", 0);
    m.shared_intermediate_size = m.expert_intermediate_size;
    break;
  }
  if (const json* mlp_only = c.get("mlp_only_layers"); mlp_only != nullptr && mlp_only->is_array()) {
    for (const json& i : *mlp_only) {
      if (i.is_number_unsigned()) dense_layers.push_back(i.get<std::uint64_t>());
    }
  }
  s.moe = m;
  return dense_layers;
}

// The recurrent mixer's state shape, in the keys of its kind.
RecurrentSpec read_recurrent_state(const Reading& r, RecurrentKind kind, std::uint64_t hidden_size) {
  Config& c = r.text;
  RecurrentSpec out;
  out.kind = kind;
  switch (kind) {
  case RecurrentKind::gated_deltanet:
    out.num_heads = c.u64("linear_num_value_heads");
    out.num_k_heads = c.u64("linear_num_key_heads");
    out.head_k_dim = c.u64("linear_key_head_dim");
    out.head_v_dim = c.u64("linear_value_head_dim");
    out.d_conv = c.u64("linear_conv_kernel_dim");
    out.conv_bias = false;
    c.check_missing();
    break;
  case RecurrentKind::kda: {
    // linear_attn_config (vLLM kda.py reads num_heads, head_dim, short_conv_kernel_size there).
    Config k = c.child("linear_attn_config");
    out.num_heads = k.u64("num_heads");
    out.head_dim = k.u64("head_dim");
    out.d_conv = k.u64("short_conv_kernel_size");
    k.check_missing();
    if (out.num_heads == 0 || out.head_dim == 0 || out.d_conv == 0) {
      k.fail("num_heads", "num_heads, head_dim and short_conv_kernel_size must be positive");
    }
    out.conv_bias = false;
    break;
  }
  case RecurrentKind::mamba: {
    out.d_state = c.u64_or("mamba_d_state", 16);
    out.d_conv = c.u64_or("mamba_d_conv", 4);
    out.d_inner = c.u64_or("mamba_expand", 2) * hidden_size;
    const json* dt = c.get("mamba_dt_rank");
    out.dt_rank = dt != nullptr && dt->is_number_unsigned() ? dt->get<std::uint64_t>() : (hidden_size + 15) / 16;
    out.conv_bias = c.boolean_or("mamba_conv_bias", true);
    break;
  }
  case RecurrentKind::mamba2: {
    const HfSsmKeys& keys = r.arch.hf_ssm_keys;
    const std::uint64_t heads = c.u64(std::string(keys.heads).c_str());
    const std::uint64_t head_dim = c.u64(std::string(keys.head_dim).c_str());
    out.d_state = c.u64(std::string(keys.state_size).c_str());
    out.d_conv = c.u64("conv_kernel");
    out.n_groups = c.u64_or("n_groups", 1);
    c.check_missing();
    out.num_heads = heads;
    out.head_dim = head_dim;
    out.d_inner = heads * head_dim;
    out.conv_bias = c.boolean_or("use_conv_bias", true);
    break;
  }
  }
  out.dt_norms = r.arch.ssm_dt_norms;
  return out;
}

// Kimi-Linear's linear_attn_config: full_attn_layers (MLA) and kda_layers (the recurrent
// mixer), 1-based (vLLM KimiLinearConfig.is_kda_layer: layer_idx + 1 in kda_layers); together
// they name every layer once.
std::vector<LayerKind> one_based_layer_lists(const Config& c, std::uint64_t layers) {
  const Config k = c.child("linear_attn_config");
  std::vector<int> kind(layers, -1); // -1 unlisted, 0 full attention, 1 KDA
  for (const auto& [key, value] : {std::pair{"full_attn_layers", 0}, std::pair{"kda_layers", 1}}) {
    const json* list = k.get(key);
    if (list == nullptr) k.fail(key, "missing: Kimi-Linear lists its attention and KDA layers (1-based)");
    if (!list->is_array()) k.fail(key, "expected an array of 1-based layer numbers");
    for (const json& n : *list) {
      if (!n.is_number_unsigned() || n.get<std::uint64_t>() < 1 || n.get<std::uint64_t>() > layers) {
        k.fail(key, "expected layer numbers from 1 to " + std::to_string(layers) + " (1-based), got " +
                        detail::json_excerpt(n));
      }
      int& slot = kind[n.get<std::uint64_t>() - 1];
      if (slot != -1) k.fail(key, "layer " + detail::json_excerpt(n) + " is listed twice");
      slot = value;
    }
  }
  std::vector<LayerKind> out;
  out.reserve(layers);
  for (std::uint64_t i = 0; i < layers; ++i) {
    if (kind[i] == -1) {
      k.fail("kda_layers", "layer " + std::to_string(i + 1) + " (1-based) is in neither full_attn_layers nor kda_layers");
    }
    out.push_back({kind[i] == 0 ? AttentionKind::full : AttentionKind::none, false});
  }
  return out;
}

// Which layers attend and which run the recurrent mixer (hybrid and recurrent models).
void mixer_pattern(const Reading& r, ModelSpec& s, std::vector<LayerKind>& pattern) {
  const Config& c = r.text;
  const std::uint64_t layers = s.num_layers;
  switch (r.arch.mixers) {
  case Mixers::attention: return;
  case Mixers::every_nth_attention:
    if (pattern.empty()) {
      const std::uint64_t interval = std::max<std::uint64_t>(1, c.u64_or("full_attention_interval", r.arch.attention_period));
      pattern = periodic_pattern(interval, AttentionKind::none, layers);
    }
    return;
  case Mixers::one_attention_per_period: {
    const std::uint64_t period = std::max<std::uint64_t>(1, c.u64_or("attn_layer_period", r.arch.attention_period));
    const std::uint64_t offset = c.u64_or("attn_layer_offset", r.arch.attention_offset) % period;
    pattern.clear();
    for (std::uint64_t i = 0; i < std::min(period, layers); ++i) {
      pattern.push_back({i == offset ? AttentionKind::full : AttentionKind::none, false});
    }
    return;
  }
  case Mixers::listed: {
    pattern.clear();
    const std::string p = c.string_or("hybrid_override_pattern", "");
    if (p.size() != layers) c.fail("hybrid_override_pattern", "expected one character per layer");
    for (char ch : p) {
      if (ch == 'M') pattern.push_back({AttentionKind::none, false});
      else if (ch == '*') pattern.push_back({AttentionKind::full, false});
      else if (ch == '-') pattern.push_back({AttentionKind::none, true});
      else c.fail("hybrid_override_pattern", "unknown layer '" + excerpt(std::string(1, ch)) + "'");
    }
    return;
  }
  case Mixers::listed_one_based: pattern = one_based_layer_lists(c, layers); return;
  case Mixers::recurrent_only:
    pattern = {{AttentionKind::none, false}};
    s.attention.num_kv_heads = 1;
    s.attention.head_dim = s.attention.v_head_dim = 1;
    return;
  }
}

// KV heads that divide the query heads; a window for every sliding layer, a chunk for every
// chunked one.
void check_attention(const Reading& r, const ModelSpec& s, const std::vector<LayerKind>& pattern) {
  const Config& c = r.text;
  const AttentionSpec& a = s.attention;
  // Falcon's key is num_kv_heads; a count of 0 would divide by zero below.
  const char* kv_key = r.arch.hf_keys == HfKeys::falcon ? "num_kv_heads" : "num_key_value_heads";
  if (!a.mla && a.num_kv_heads == 0) c.fail(kv_key, "must be positive");
  if (!a.mla && a.num_heads % a.num_kv_heads != 0) {
    c.fail(kv_key, "must divide num_attention_heads (" + std::to_string(a.num_heads) + ")");
  }
  for (const LayerKind& k : pattern) {
    if (k.attention == AttentionKind::sliding && a.sliding_window == 0) c.fail("sliding_window", "missing for sliding layers");
    if (k.attention == AttentionKind::chunked && a.chunk_size == 0) c.fail("attention_chunk_size", "missing");
  }
}

// Multi-token prediction blocks: num_nextn_predict_layers, or the blocks the checkpoints ship
// though the config has no key for them (Qwen3-Next's mtp.*, sharing the embedding and head).
void read_mtp(const Reading& r, ModelSpec& s) {
  s.mtp_layers = r.text.u64_or("num_nextn_predict_layers", 0);
  // An EAGLE-3 head's config (yuhuili/EAGLE3-LLaMA3.1-Instruct-8B and the nvidia/*-Eagle3 heads):
  // the rows of its own lm_head, a reduced vocabulary mapped back through d2t.
  s.draft_vocab_size = r.text.u64_or("draft_vocab_size", 0);
  if (r.arch.hf_unlisted_mtp_layers > 0) {
    s.mtp_layers = r.text.u64_or("mtp_num_hidden_layers", r.arch.hf_unlisted_mtp_layers);
    s.mtp_own_embeddings = !r.arch.mtp_shares_embeddings;
  }
}

// The layers from the pattern; the dense layers the config lists; a dense MLP needs its width.
void build_layers(ModelSpec& s, const std::vector<LayerKind>& pattern, const std::vector<std::uint64_t>& dense_layers,
                  const std::string& origin) {
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
}

// Multimodal wrappers keep the language model in an object of its own: text_config
// (transformers' own multimodal configs), llm_config (InternVL's internvl_chat remote code,
// configuration_internvl_chat.py). Empty: the language model is the top-level object.
std::string_view language_model_key(const json& root) {
  for (std::string_view key : {"text_config", "llm_config"}) {
    const auto it = root.find(std::string(key));
    if (it != root.end() && it->is_object()) return key;
  }
  return {};
}

// The model_type (of the nested language model in multimodal wrappers, whose vision tower hf_vision_tower.cpp counts).
std::string model_type_of(const json& root, const json* text_config, const std::string& text_path, const std::string& origin) {
  const std::string top_type = Fields(root, origin, "").string("model_type", "");
  const std::string mt =
      text_config != nullptr ? Fields(*text_config, origin, text_path).string("model_type", top_type) : top_type;
  if (mt.empty()) throw LoadFailure{{ErrorCode::invalid_model, origin + ": /model_type: missing; is this a Hugging Face config.json?"}};
  return mt;
}

HfImport import(std::string_view text, const std::string& origin, std::string_view id) {
  const json root = detail::parse_strict(text, origin, ErrorCode::invalid_model);
  if (!root.is_object()) throw LoadFailure{{ErrorCode::invalid_model, origin + ": expected a JSON object"}};
  HfImport out;
  ModelSpec& s = out.spec;
  const std::string_view lm_key = language_model_key(root);
  const bool nested = !lm_key.empty();
  const json& tj = nested ? root.at(std::string(lm_key)) : root;
  const std::string text_path = nested ? "/" + std::string(lm_key) : "";
  const std::string mt = model_type_of(root, nested ? &tj : nullptr, text_path, origin);
  const ArchitectureFacts* known = hf_architecture(mt);
  // Families whose layers the spec cannot state (docs/hf-import.md, "Not expressible yet"): their
  // standard keys alone would give a wrong count, so they are refused, not guessed.
  if (mt == "falcon_h1") {
    throw LoadFailure{{ErrorCode::invalid_model, origin + ": " + text_path + "/model_type: falcon_h1 is not expressible yet: "
                                                 "every layer runs attention and a Mamba-2 mixer side by side "
                                                 "(docs/hf-import.md, \"Not expressible yet\")"}};
  }
  if (mt == "gemma3n" || mt == "gemma3n_text") {
    throw LoadFailure{{ErrorCode::invalid_model, origin + ": " + text_path + "/model_type: " + mt +
                                                 " is not expressible yet: per-layer input embeddings, KV-sharing layers, "
                                                 "AltUp and LAuReL (docs/hf-import.md, \"Not expressible yet\")"}};
  }
  if (known == nullptr) {
    out.warnings.push_back("model_type '" + excerpt(mt) + "' is not one vramcalc knows; reading the standard keys (hidden_size, "
                           "num_hidden_layers, num_attention_heads, num_key_value_heads, intermediate_size, vocab_size)");
  }
  Config c(tj, origin, text_path);
  const Config top(root, origin, "");
  Reading r{c, top, known != nullptr ? *known : standard_architecture, mt, out.warnings};

  s.id = std::string(id);
  s.name = std::string(id);
  s.family = mt;
  s.arch = known != nullptr ? std::string(known->gguf_arch) : mt;
  s.source = origin;
  s.origin = origin;
  s.dtype = dtype_of(nested && !tj.contains("torch_dtype") ? top : c, out.warnings);
  if (auto f = format_of(top.get("quantization_config"), origin, out.warnings)) s.weights_format = *f;

  read_sizes(r, s, origin);
  read_block(r, s);
  std::vector<LayerKind> pattern = local_attention_pattern(r, s, tj);
  s.attention.qk_norm = by_config(r.arch.qk_norm, r.arch.qk_norm == ByConfig::from_config && c.boolean_or("use_qk_norm", false));
  if (r.arch.hf_keys == HfKeys::falcon) read_falcon_keys(c, s);
  if (r.arch.mla || c.has("kv_lora_rank")) read_mla(c, s.attention);
  const std::vector<std::uint64_t> dense_layers = read_moe(r, s);
  if (r.arch.recurrent) s.recurrent = read_recurrent_state(r, *r.arch.recurrent, s.hidden_size);
  mixer_pattern(r, s, pattern);
  check_attention(r, s, pattern);
  read_mtp(r, s);
  std::string why;
  if (auto tower = detail::hf_vision_tower(root, origin, why)) {
    s.vision_params = tower->params;
    s.vision_source = std::move(tower->source);
  } else if (!why.empty()) {
    out.warnings.push_back("the vision tower (vision_config) is not counted (" + why + "): its weights are not in the estimate");
  }
  if (s.max_context == 0 && r.arch.mixers != Mixers::recurrent_only) {
    out.warnings.push_back("the config gives no max_position_embeddings; pass --ctx");
  }
  build_layers(s, pattern, dense_layers, origin);
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
