// GGUF metadata -> ModelSpec. Key names and per-architecture rules follow llama.cpp's
// llama-arch.cpp (LLM_KV names), llama-model.cpp (llama_model::load_hparams) and
// src/models/<arch>.cpp (load_arch_hparams); docs/file-formats.md lists what is read.
// Facts the metadata does not carry (biases, norms, tied head, MoE layers) are read off the
// tensors the file holds, so the spec's tensor list matches the file's.
#include "vramcalc/format.hpp"
#include "vramcalc/io/gguf.hpp"
#include "vramcalc/tensors.hpp"
#include "vramcalc/units.hpp"

#include <algorithm>
#include <filesystem>
#include <unordered_map>

namespace vramcalc::io {

namespace {

struct Failure {
  Error error;
};

constexpr std::uint64_t max_layers = max_model_layers;
constexpr std::uint64_t max_dim = 1ull << 31;

std::string stem_of(const std::string& path) { return std::filesystem::path(path).stem().string(); }

// Lowercase, [a-z0-9._-] only: other characters become '-', runs of '-' collapse.
std::string to_id(std::string_view s) {
  std::string out;
  for (char c : s) {
    const char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    const bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '.' || l == '_' || l == '-';
    if (ok) out += l;
    else if (!out.empty() && out.back() != '-') out += '-';
  }
  while (!out.empty() && (out.back() == '-' || out.back() == '.')) out.pop_back();
  while (!out.empty() && (out.front() == '-' || out.front() == '.')) out.erase(out.begin());
  return out;
}

// The metadata of one file, read with the `{arch}.` prefix; wrong types are errors.
std::optional<std::uint64_t> as_uint(const GgufScalar& v) {
  if (const auto* u = std::get_if<std::uint64_t>(&v)) return *u;
  if (const auto* i = std::get_if<std::int64_t>(&v); i != nullptr && *i >= 0) return static_cast<std::uint64_t>(*i);
  return std::nullopt;
}

class Meta {
public:
  Meta(const GgufFile& f, std::string arch) : f_(f), arch_(std::move(arch)) {}

  std::string key(std::string_view suffix) const { return arch_ + "." + std::string(suffix); }
  bool has(std::string_view suffix) const { return f_.find(key(suffix)) != nullptr; }

  [[noreturn]] void fail(const std::string& what) const {
    throw Failure{{ErrorCode::invalid_model, f_.origin + ": " + what}};
  }

  // An integer scalar, or nullopt when absent.
  std::optional<std::uint64_t> u(std::string_view suffix) const { return uint_key(key(suffix)); }

  std::optional<std::uint64_t> uint_key(const std::string& k) const {
    const GgufValue* v = f_.find(k);
    if (v == nullptr) return std::nullopt;
    const auto r = f_.get_uint(k);
    if (!r) fail(k + " must be a non-negative integer, not " + describe(*v));
    return r;
  }

  std::optional<bool> flag(std::string_view suffix) const {
    const GgufValue* v = f_.find(key(suffix));
    if (v == nullptr) return std::nullopt;
    if (v->type != GgufType::boolean) fail(key(suffix) + " must be a bool, not " + describe(*v));
    return std::get<bool>(v->scalar);
  }

  // A value that may be one integer or one per layer (llama.cpp get_key_or_arr): n values,
  // or nullopt when absent.
  std::optional<std::vector<std::uint64_t>> per_layer(std::string_view suffix, std::uint64_t n) const {
    const std::string k = key(suffix);
    const GgufValue* v = f_.find(k);
    if (v == nullptr) return std::nullopt;
    if (v->type != GgufType::array) {
      const auto s = uint_key(k);
      return std::vector<std::uint64_t>(static_cast<std::size_t>(n), *s);
    }
    if (v->count != n) {
      fail(k + " has " + std::to_string(v->count) + " entries, but " + key("block_count") + " is " + std::to_string(n));
    }
    if (v->elem_type == GgufType::string || v->elem_type == GgufType::boolean) {
      fail(k + " must be an integer or an array of integers, not " + describe(*v));
    }
    if (!v->elements_kept()) {
      fail(k + " is an array whose elements were not kept: the header's arrays take more than the " +
           with_commas(GgufReadOptions{}.max_kept_array_bytes) + " bytes vramcalc keeps");
    }
    // The value found once, its elements read by position (not a lookup per layer).
    std::vector<std::uint64_t> out;
    out.reserve(static_cast<std::size_t>(n));
    for (std::uint64_t i = 0; i < n; ++i) {
      const auto e = v->element(i);
      const auto u = e ? as_uint(*e) : std::nullopt;
      if (!u) fail(k + "[" + std::to_string(i) + "] must be a non-negative integer");
      out.push_back(*u);
    }
    return out;
  }

  static std::string describe(const GgufValue& v) {
    switch (v.type) {
    case GgufType::string: return "a string";
    case GgufType::array: return "an array";
    case GgufType::boolean: return "a bool";
    case GgufType::f32:
    case GgufType::f64: return "a float";
    default: return "a negative integer";
    }
  }

private:
  const GgufFile& f_;
  std::string arch_;
};

// The tensors of every part, by name.
class Tensors {
public:
  explicit Tensors(std::span<const GgufFile> parts) {
    for (const GgufFile& f : parts) {
      for (const GgufTensorInfo& t : f.tensors) by_name_.emplace(t.name, &t);
    }
  }
  bool empty() const { return by_name_.empty(); }
  const GgufTensorInfo* find(const std::string& name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
  }
  bool has(const std::string& name) const { return find(name) != nullptr; }
  // True if any block 0..n-1 holds blk.i.<suffix>.
  bool any_layer(std::uint64_t n, const std::string& suffix) const {
    for (std::uint64_t i = 0; i < n; ++i) {
      if (has("blk." + std::to_string(i) + "." + suffix)) return true;
    }
    return false;
  }
  const std::unordered_map<std::string, const GgufTensorInfo*>& all() const { return by_name_; }

private:
  std::unordered_map<std::string, const GgufTensorInfo*> by_name_;
};

[[noreturn]] void fail_in(const std::string& origin, const std::string& what) {
  throw Failure{{ErrorCode::invalid_model, origin + ": " + what}};
}

bool is_float_type(std::uint32_t ggml_type) { return ggml_type == 0 || ggml_type == 1 || ggml_type == 30; }

// Tensors that hold no parameters of the model (precomputed rope factors).
bool is_parameter(const std::string& name) {
  return !name.starts_with("rope_freqs") && !name.starts_with("rope_factors");
}

// llama_hparams::set_swa_pattern(n): layer il slides when il % n < n - 1 (n == 0: all slide).
// Only the first `layers` entries are ever used, so a longer period stops there.
std::vector<LayerKind> swa_pattern(std::uint64_t period, AttentionKind local, std::uint64_t layers) {
  std::vector<LayerKind> p;
  if (period == 0) return {{local, false}};
  for (std::uint64_t i = 0; i < std::min(period, layers); ++i) p.push_back({i < period - 1 ? local : AttentionKind::full, false});
  return p;
}

// general.file_type: a quantized llama.cpp mix names the weights' format (the GGUF rows of
// weight_format_table); an all-f32 / f16 / bf16 file leaves it to the dtype read off the
// tensors; a value no row has is a warning.
void read_file_type(const GgufFile& f, ModelSpec& s, std::vector<std::string>& w) {
  const GgufValue* ft = f.find("general.file_type");
  if (ft == nullptr) return;
  const auto id = f.get_uint("general.file_type");
  const GgufFtypeTraits* mix = id ? gguf_ftype_by_llama_ftype(*id) : nullptr;
  if (mix == nullptr) {
    w.push_back("general.file_type " + (id ? std::to_string(*id) : Meta::describe(*ft)) +
                " is not a llama.cpp mix vramcalc knows; the file's tensor bytes are exact regardless");
  } else if (traits(mix->default_type).block_elems != 1) {
    s.weights_format = std::string(mix->name);
  }
}

GgufModel convert(std::span<const GgufFile> parts) {
  const GgufFile& f = parts.front();
  const std::string& origin = f.origin;
  auto fail = [&origin](const std::string& what) { fail_in(origin, what); };

  const GgufValue* arch_value = f.find("general.architecture");
  if (arch_value == nullptr) fail("general.architecture is missing; is this a model file?");
  if (arch_value->type != GgufType::string) fail("general.architecture must be a string");
  const std::string arch = std::get<std::string>(arch_value->scalar);
  if (arch.empty()) fail("general.architecture is empty");
  // Architecture names are short identifiers ("llama", "gpt-oss"); they become key prefixes
  // and appear in messages.
  for (char c : arch) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) fail("general.architecture may hold only letters, digits, '.', '_' and '-'");
  }

  GgufModel out;
  auto& w = out.warnings;
  ModelSpec& s = out.spec;
  const Meta m(f, arch);
  const Tensors tensors(parts);

  const auto name = f.get_string("general.name");
  s.name = name && !name->empty() ? *name : stem_of(origin);
  s.id = to_id(s.name);
  if (s.id.empty()) s.id = to_id(stem_of(origin));
  if (s.id.empty()) s.id = "gguf-model";
  s.family = arch;
  s.arch = arch;
  s.source = origin;
  s.origin = origin;

  const bool is_mamba = arch == "mamba" || arch == "mamba2";
  const bool is_jamba = arch == "jamba";
  constexpr std::string_view mapped[] = {"llama",    "qwen2",     "qwen3",  "qwen2moe", "qwen3moe", "gemma",
                                         "gemma2",   "gemma3",    "deepseek2", "gpt-oss", "phi3",   "falcon",
                                         "command-r", "cohere2",  "llama4",  "mamba",    "mamba2", "jamba"};
  if (std::ranges::find(mapped, arch) == std::end(mapped)) {
    w.push_back("architecture '" + arch + "' has no rules of its own in vramcalc; it is read with the standard keys");
  }

  // Required sizes
  std::vector<std::string> missing;
  const auto n_all = m.u("block_count");
  const auto hidden = m.u("embedding_length");
  // Sizes are checked before anything is allocated from them.
  if (n_all && *n_all > max_layers) {
    fail(m.key("block_count") + " " + std::to_string(*n_all) + " is implausibly large (vramcalc reads at most " +
         with_commas(max_layers) + " layers)");
  }
  if (hidden && *hidden > max_dim) fail(m.key("embedding_length") + " " + std::to_string(*hidden) + " is implausibly large");
  if (!n_all) missing.push_back(m.key("block_count"));
  if (!hidden) missing.push_back(m.key("embedding_length"));
  const auto heads_arr = n_all ? m.per_layer("attention.head_count", *n_all) : std::nullopt;
  if (!heads_arr && !is_mamba) missing.push_back(m.key("attention.head_count"));
  if (!missing.empty()) {
    std::string keys;
    for (const auto& k : missing) keys += (keys.empty() ? "" : ", ") + k;
    fail("missing key" + std::string(missing.size() > 1 ? "s" : "") + " vramcalc needs: " + keys);
  }
  if (*n_all == 0 || *hidden == 0) fail(m.key("block_count") + " and " + m.key("embedding_length") + " must be positive");

  // MTP blocks are counted in block_count (llama.cpp: n_layer = n_layer_all - n_layer_nextn).
  const std::uint64_t nextn = m.u("nextn_predict_layers").value_or(0);
  if (nextn >= *n_all) fail(m.key("nextn_predict_layers") + " " + std::to_string(nextn) + " leaves no layers");
  s.num_layers = *n_all - nextn;
  s.mtp_layers = nextn;
  if (nextn > 0 && !tensors.empty()) {
    s.mtp_own_embeddings = tensors.has("blk." + std::to_string(s.num_layers) + ".nextn.embed_tokens.weight");
  }
  s.hidden_size = *hidden;
  const std::uint64_t n = s.num_layers;

  // Heads, per layer; llama.cpp: head_count_kv defaults to head_count.
  std::vector<std::uint64_t> heads = heads_arr.value_or(std::vector<std::uint64_t>(static_cast<std::size_t>(*n_all), 0));
  std::vector<std::uint64_t> kv = m.per_layer("attention.head_count_kv", *n_all).value_or(heads);
  heads.resize(static_cast<std::size_t>(n));
  kv.resize(static_cast<std::size_t>(n));
  auto first_nonzero = [](const std::vector<std::uint64_t>& v) {
    for (std::uint64_t x : v) {
      if (x != 0) return x;
    }
    return std::uint64_t{0};
  };
  auto varies = [](const std::vector<std::uint64_t>& v) {
    std::uint64_t seen = 0;
    for (std::uint64_t x : v) {
      if (x == 0) continue;
      if (seen != 0 && x != seen) return true;
      seen = x;
    }
    return false;
  };
  AttentionSpec& a = s.attention;
  a.num_heads = first_nonzero(heads);
  if (a.num_heads == 0 && !is_mamba) fail(m.key("attention.head_count") + " is 0 for every layer");
  if (a.num_heads > max_dim) fail(m.key("attention.head_count") + " is implausibly large");
  if (varies(heads)) {
    w.push_back(m.key("attention.head_count") + " varies by layer; vramcalc counts " + std::to_string(a.num_heads) +
                " query heads in every attention layer");
  }
  a.num_kv_heads = first_nonzero(kv);
  if (a.num_kv_heads == 0) a.num_kv_heads = a.num_heads;
  // llama.cpp: key_length / value_length default to n_embd / n_head (of layer 0).
  const std::uint64_t default_head = heads.empty() || heads[0] == 0 ? (a.num_heads ? *hidden / a.num_heads : 0)
                                                                     : *hidden / heads[0];
  a.head_dim = m.u("attention.key_length").value_or(default_head);
  a.v_head_dim = m.u("attention.value_length").value_or(default_head);
  if (a.head_dim > max_dim || a.v_head_dim > max_dim) fail(m.key("attention.key_length") + " is implausibly large");

  // MLP width: may be per layer (0 for layers without an MLP).
  if (const auto ff = m.per_layer("feed_forward_length", *n_all)) {
    std::vector<std::uint64_t> v(ff->begin(), ff->begin() + static_cast<std::ptrdiff_t>(n));
    s.intermediate_size = std::ranges::max(v);
    if (varies(v)) {
      w.push_back(m.key("feed_forward_length") + " varies by layer; vramcalc counts " +
                  std::to_string(s.intermediate_size) + " (the largest) for every dense MLP");
    }
  }
  if (s.intermediate_size > max_dim) fail(m.key("feed_forward_length") + " is implausibly large");

  if (const auto ctx = m.u("context_length")) s.max_context = *ctx;
  else w.push_back(m.key("context_length") + " is missing: the model's maximum context is unknown; pass --ctx");

  // Vocabulary: the embedding's rows, else the declared size, else the tokenizer's length.
  const GgufTensorInfo* embd = tensors.find("token_embd.weight");
  if (embd != nullptr) {
    s.vocab_size = embd->ne[1];
  } else if (const auto vs = m.u("vocab_size")) {
    s.vocab_size = *vs;
  } else if (const GgufValue* tok = f.find("tokenizer.ggml.tokens"); tok != nullptr && tok->type == GgufType::array) {
    s.vocab_size = tok->count;
  } else {
    w.push_back("the vocabulary size is unknown (no token_embd.weight, " + m.key("vocab_size") +
                " or tokenizer.ggml.tokens): the embedding is left out of the parameter count");
  }

  // Tied embeddings: llama.cpp reuses token_embd when output.weight is absent.
  const bool tied_by_default = arch == "gemma" || arch == "gemma2" || arch == "gemma3" || arch == "command-r" ||
                               arch == "cohere2" || is_mamba;
  if (!tensors.empty()) {
    s.tie_word_embeddings = !tensors.has("output.weight");
  } else {
    s.tie_word_embeddings = tied_by_default;
    w.push_back("the file holds no tensors (a vocabulary-only GGUF): weights are not in it, and the output head is "
                "assumed " + std::string(tied_by_default ? "tied to" : "separate from") + " the embedding");
  }

  // Native dtype: the float type holding most elements of the weight matrices.
  {
    std::uint64_t f32 = 0, f16 = 0, bf16 = 0;
    bool quantized = false;
    for (const auto& [tname, t] : tensors.all()) {
      if (t->n_dims < 2) continue;
      const std::uint64_t e = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]; // checked by the parser
      if (t->ggml_type == 0) f32 += e;
      else if (t->ggml_type == 1) f16 += e;
      else if (t->ggml_type == 30) bf16 += e;
      else if (!is_float_type(t->ggml_type)) quantized = true;
    }
    if (bf16 == 0 && f16 == 0 && f32 == 0) {
      s.dtype = Dtype::bf16;
      if (quantized) w.push_back("every weight matrix is quantized, so the native dtype is unknown; assuming bf16");
    } else if (bf16 >= f16 && bf16 >= f32) {
      s.dtype = Dtype::bf16;
    } else {
      s.dtype = f16 >= f32 ? Dtype::f16 : Dtype::f32;
    }
  }
  read_file_type(f, s, w);

  // Facts read off the tensors (with architecture defaults for tensor-less files).
  const bool has_t = !tensors.empty();
  auto layer_has = [&](const std::string& suffix) { return tensors.any_layer(n, suffix); };
  a.qkv_bias = has_t ? layer_has("attn_q.bias") || layer_has("attn_qkv.bias") : arch == "qwen2" || arch == "qwen2moe";
  a.o_bias = has_t ? layer_has("attn_output.bias") : arch == "gpt-oss";
  a.qk_norm = has_t ? layer_has("attn_q_norm.weight") : arch == "qwen3" || arch == "qwen3moe" || arch == "gemma3";
  a.sinks = has_t ? layer_has("attn_sinks.weight") : arch == "gpt-oss";
  s.mlp_bias = has_t && (layer_has("ffn_up.bias") || layer_has("ffn_down.bias"));
  const bool layernorm_arch = arch == "falcon" || arch == "command-r" || arch == "cohere2";
  s.norm = layernorm_arch || (has_t && layer_has("attn_norm.bias")) ? NormKind::layernorm : NormKind::rmsnorm;
  s.norm_bias = has_t ? layer_has("attn_norm.bias") : arch == "falcon";
  if (has_t) {
    // Norms of one block: attn_norm plus whichever of these the file has.
    std::uint64_t norms = 1;
    for (const char* extra : {"attn_norm_2.weight", "ffn_norm.weight", "post_attention_norm.weight", "post_ffw_norm.weight"}) {
      if (layer_has(extra)) ++norms;
    }
    s.norms_per_layer = norms;
    // A plain MLP has up and down only; a fused gated one (Phi-3) has an up of 2 x ff rows.
    const GgufTensorInfo* up = nullptr;
    for (std::uint64_t i = 0; i < n && up == nullptr; ++i) up = tensors.find("blk." + std::to_string(i) + ".ffn_up.weight");
    if (up != nullptr && !layer_has("ffn_gate.weight") && up->ne[1] != 2 * s.intermediate_size) s.mlp = MlpKind::plain;
  } else {
    s.norms_per_layer = arch == "gemma2" || arch == "gemma3" ? 4 : arch == "command-r" || arch == "cohere2" || arch == "falcon" ? 1 : 2;
    if (arch == "falcon") s.mlp = MlpKind::plain;
  }

  // Sliding windows, by llama.cpp's rule for each architecture.
  std::vector<LayerKind> pattern;
  std::vector<bool> swa_layers; // a per-layer bool array from sliding_window_pattern
  const auto window = m.u("attention.sliding_window");
  auto period_or = [&](std::uint64_t fallback) {
    const GgufValue* p = f.find(m.key("attention.sliding_window_pattern"));
    if (p == nullptr) return fallback;
    if (p->type == GgufType::array) {
      if (p->elem_type == GgufType::boolean && p->count == *n_all && p->elements_kept()) {
        for (std::uint64_t i = 0; i < n; ++i) swa_layers.push_back(std::get<bool>(*p->element(i)));
      } else {
        w.push_back(m.key("attention.sliding_window_pattern") + " is an array vramcalc cannot read; using the default period " +
                    std::to_string(fallback));
      }
      return fallback;
    }
    return *m.u("attention.sliding_window_pattern");
  };
  if (arch == "gemma2") {
    a.sliding_window = window.value_or(4096); // llama.cpp's default for Gemma 2
    pattern = swa_pattern(period_or(2), AttentionKind::sliding, n);
  } else if (arch == "gemma3") {
    if (window && *window > 0) {
      a.sliding_window = *window;
      pattern = swa_pattern(period_or(6), AttentionKind::sliding, n);
    }
  } else if (arch == "gpt-oss") {
    if (!window || *window == 0) {
      w.push_back(m.key("attention.sliding_window") + " is missing: gpt-oss's local layers are counted as full attention");
    } else {
      a.sliding_window = *window;
      pattern = swa_pattern(period_or(2), AttentionKind::sliding, n);
    }
  } else if (arch == "cohere2") {
    if (window && *window > 0) {
      a.sliding_window = *window;
      pattern = swa_pattern(period_or(4), AttentionKind::sliding, n);
    }
  } else if (arch == "llama4") {
    // llama.cpp: chunked attention of 8192 tokens on 3 of 4 layers unless sliding_window is 0.
    if (!(window && *window == 0)) {
      a.chunk_size = 8192;
      pattern = swa_pattern(period_or(4), AttentionKind::chunked, n);
    }
  } else if (arch == "phi3") {
    if (window && *window > 0) {
      w.push_back(m.key("attention.sliding_window") + " " + std::to_string(*window) +
                  " is ignored: llama.cpp runs Phi-3 with full attention");
    }
  } else if (window && *window > 0) {
    if (f.find(m.key("attention.sliding_window_pattern")) != nullptr) {
      a.sliding_window = *window;
      pattern = swa_pattern(period_or(0), AttentionKind::sliding, n);
    } else {
      w.push_back(m.key("attention.sliding_window") + " " + std::to_string(*window) + " is ignored: vramcalc does not know "
                  "which layers of architecture '" + arch + "' slide; every layer is counted as full attention");
    }
  }
  if (!swa_layers.empty()) {
    if (a.sliding_window == 0) a.sliding_window = window.value_or(0);
    pattern.clear();
    for (bool b : swa_layers) pattern.push_back({b && a.sliding_window > 0 ? AttentionKind::sliding : AttentionKind::full, false});
  }

  // Multi-head latent attention (DeepSeek V2/V3, Kimi K2, GLM-4.7-Flash in the deepseek2 graph).
  if (arch == "deepseek2" || m.has("attention.kv_lora_rank")) {
    MlaSpec mla;
    const auto kv_lora = m.u("attention.kv_lora_rank");
    const auto rope = m.u("rope.dimension_count");
    if (!kv_lora || !rope) {
      fail("missing key" + std::string(!kv_lora && !rope ? "s" : "") + " vramcalc needs: " +
           (!kv_lora ? m.key("attention.kv_lora_rank") : "") + (!kv_lora && !rope ? ", " : "") +
           (!rope ? m.key("rope.dimension_count") : ""));
    }
    mla.kv_lora_rank = *kv_lora;
    mla.q_lora_rank = m.u("attention.q_lora_rank").value_or(0);
    mla.qk_rope_head_dim = *rope;
    // Newer converters store the cache layout in key_length / value_length (kv_lora_rank +
    // rope, kv_lora_rank) and the attention heads in key_length_mla / value_length_mla.
    const auto k_mla = m.u("attention.key_length_mla");
    const auto v_mla = m.u("attention.value_length_mla");
    const std::uint64_t k_head = k_mla.value_or(a.head_dim);
    const std::uint64_t v_head = v_mla.value_or(a.v_head_dim);
    if (k_head < *rope) fail(m.key(k_mla ? "attention.key_length_mla" : "attention.key_length") + " " + std::to_string(k_head) +
                             " is smaller than " + m.key("rope.dimension_count") + " " + std::to_string(*rope));
    mla.qk_nope_head_dim = k_head - *rope;
    mla.v_head_dim = v_head;
    if (k_mla && a.head_dim != mla.kv_lora_rank + mla.qk_rope_head_dim) {
      w.push_back(m.key("attention.key_length") + " " + std::to_string(a.head_dim) + " is not kv_lora_rank + rope (" +
                  std::to_string(mla.kv_lora_rank + mla.qk_rope_head_dim) + ")");
    }
    a.mla = mla;
    a.head_dim = k_head;
    a.v_head_dim = v_head;
    a.num_kv_heads = a.num_heads; // the attention itself is MHA; the cache holds the latent
  }

  // Mixture of experts
  const std::uint64_t experts = m.u("expert_count").value_or(0);
  if (experts > 0) {
    MoeSpec moe;
    moe.num_experts = experts;
    const auto used = m.per_layer("expert_used_count", *n_all);
    moe.experts_per_token = used ? std::ranges::max(*used) : 0;
    if (moe.experts_per_token == 0) fail(m.key("expert_used_count") + " is missing for a MoE model (" + m.key("expert_count") + " " + std::to_string(experts) + ")");
    if (const auto eff = m.per_layer("expert_feed_forward_length", *n_all)) {
      moe.expert_intermediate_size = std::ranges::max(*eff);
    } else {
      moe.expert_intermediate_size = s.intermediate_size; // Mixtral: feed_forward_length is the expert's
    }
    moe.shared_experts = m.u("expert_shared_count").value_or(0);
    moe.shared_intermediate_size = moe.expert_intermediate_size;
    if (const auto shff = m.u("expert_shared_feed_forward_length"); shff && *shff > 0) {
      moe.shared_intermediate_size = *shff; // Qwen2-MoE: one shared expert of this width
      if (moe.shared_experts == 0) moe.shared_experts = 1;
    }
    moe.first_dense_layers = m.u("leading_dense_block_count").value_or(0);
    if (arch == "llama4") {
      moe.shared_experts = std::max<std::uint64_t>(moe.shared_experts, 1);
      moe.layer_step = std::max<std::uint64_t>(1, m.u("interleave_moe_layer_step").value_or(1));
      moe.layer_offset = moe.layer_step - 1;
    }
    if (has_t) {
      if (moe.shared_experts == 0 && (layer_has("ffn_up_shexp.weight"))) moe.shared_experts = 1;
      moe.shared_expert_gate = layer_has("ffn_gate_inp_shexp.weight");
      moe.router_bias = layer_has("exp_probs_b.bias") || layer_has("ffn_gate_inp.bias");
      moe.expert_bias = layer_has("ffn_up_exps.bias");
    } else {
      moe.shared_expert_gate = arch == "qwen2moe";
      // DeepSeek V3's sigmoid gating (expert_gating_func 2) comes with a per-expert bias.
      moe.router_bias = arch == "gpt-oss" || (arch == "deepseek2" && m.u("expert_gating_func").value_or(0) == 2);
      moe.expert_bias = arch == "gpt-oss";
      if (is_jamba) {
        // Jamba's default expert_layer_period 2, offset 1 (the file has no key for them).
        moe.layer_step = 2;
        moe.layer_offset = 1;
        w.push_back("without tensors, Jamba's MoE layers are assumed to be every other layer from layer 1");
      }
    }
    s.moe = moe;
  }

  // Recurrent mixers
  if (is_mamba || is_jamba) {
    RecurrentSpec r;
    r.kind = arch == "mamba2" ? RecurrentKind::mamba2 : RecurrentKind::mamba;
    std::vector<std::string> ssm_missing;
    auto need = [&](const char* k) {
      const auto v = m.u(k);
      if (!v) ssm_missing.push_back(m.key(k));
      return v.value_or(0);
    };
    r.d_conv = need("ssm.conv_kernel");
    r.d_inner = need("ssm.inner_size");
    r.d_state = need("ssm.state_size");
    r.dt_rank = need("ssm.time_step_rank");
    if (!ssm_missing.empty()) {
      std::string keys;
      for (const auto& k : ssm_missing) keys += (keys.empty() ? "" : ", ") + k;
      fail("missing key" + std::string(ssm_missing.size() > 1 ? "s" : "") + " vramcalc needs: " + keys);
    }
    if (r.kind == RecurrentKind::mamba2) {
      // llama.cpp's Mamba-2: time_step_rank is the number of SSM heads.
      r.n_groups = m.u("ssm.group_count").value_or(1);
      r.num_heads = r.dt_rank;
      if (r.num_heads == 0 || r.d_inner % r.num_heads != 0) {
        fail(m.key("ssm.time_step_rank") + " " + std::to_string(r.num_heads) + " must divide " + m.key("ssm.inner_size") +
             " " + std::to_string(r.d_inner));
      }
      r.head_dim = r.d_inner / r.num_heads;
    }
    r.conv_bias = has_t ? layer_has("ssm_conv1d.bias") : true;
    r.dt_norms = has_t ? layer_has("ssm_dt_norm.weight") : (is_jamba || m.flag("ssm.dt_b_c_rms").value_or(false));
    s.recurrent = r;
    if (is_mamba) {
      s.separate_mlp = true;
      s.norms_per_layer = 1;
      pattern = {{AttentionKind::none, false}};
      a.num_heads = a.num_kv_heads = 1; // no attention: keeps the naive KV comparison defined
      a.head_dim = a.v_head_dim = 1;
    }
  } else if (m.has("ssm.state_size") || m.has("ssm.inner_size")) {
    w.push_back("architecture '" + arch + "' has recurrent (ssm) layers that vramcalc does not map; their state is not counted");
  }

  for (const LayerKind& k : pattern) {
    if (k.attention == AttentionKind::sliding && a.sliding_window == 0) {
      fail(m.key("attention.sliding_window") + " is missing for the sliding layers");
    }
  }
  // The file decides its layout where it has tensors; the architecture's otherwise.
  apply_arch_layout(s);
  if (has_t) {
    a.fused_qkv = layer_has("attn_qkv.weight") && !layer_has("attn_q.weight");
    s.fused_gate_up = s.mlp == MlpKind::gated && !layer_has("ffn_gate.weight") && layer_has("ffn_up.weight") && !s.moe;
  }
  expand_layers(s, pattern);

  // Per-layer facts expand_layers cannot know.
  const auto k_swa = m.u("attention.key_length_swa");
  const auto v_swa = m.u("attention.value_length_swa");
  for (std::uint64_t i = 0; i < n; ++i) {
    LayerSpec& l = s.layers[static_cast<std::size_t>(i)];
    if (!is_mamba && !a.mla) {
      if (kv[static_cast<std::size_t>(i)] == 0) {
        // head_count_kv[i] == 0: no attention in this layer (Jamba's Mamba layers).
        l.attention = AttentionKind::none;
        l.window = 0;
        l.num_kv_heads = 0;
      } else {
        l.num_kv_heads = kv[static_cast<std::size_t>(i)];
      }
      if (l.attention == AttentionKind::sliding) {
        if (k_swa) l.head_dim_k = *k_swa;
        if (v_swa) l.head_dim_v = *v_swa;
      }
    }
    if (s.moe && has_t) {
      const std::string blk = "blk." + std::to_string(i) + ".";
      l.moe = l.has_mlp && tensors.has(blk + "ffn_gate_inp.weight");
    }
  }
  if (!is_mamba && !is_jamba && !a.mla) {
    for (const LayerSpec& l : s.layers) {
      if (l.attention == AttentionKind::none) {
        w.push_back("some layers of architecture '" + arch + "' have no KV heads (head_count_kv 0); vramcalc counts no "
                    "cache and no mixer for them");
        break;
      }
    }
  }
  // More KV heads than query heads is no model (llama.cpp's n_gqa() = n_head / n_head_kv
  // would be 0); refused, as a model spec with the same numbers is.
  if (!a.mla) {
    for (std::uint64_t i = 0; i < s.layers.size(); ++i) {
      const std::uint64_t h = heads.size() == s.layers.size() ? heads[static_cast<std::size_t>(i)] : a.num_heads;
      if (s.layers[i].num_kv_heads > h && h != 0) {
        fail(m.key("attention.head_count_kv") + (kv.size() > 1 && kv.front() != kv.back() ? "[" + std::to_string(i) + "]" : "") +
             " " + std::to_string(s.layers[i].num_kv_heads) + " is more than " + m.key("attention.head_count") + " " +
             std::to_string(h) + ": a layer cannot cache more key-value heads than it has query heads");
      }
    }
  }
  if (a.num_heads != 0 && a.num_kv_heads != 0 && !a.mla && a.num_heads % a.num_kv_heads != 0) {
    w.push_back(m.key("attention.head_count_kv") + " " + std::to_string(a.num_kv_heads) + " does not divide " +
                m.key("attention.head_count") + " " + std::to_string(a.num_heads));
  }
  bool needs_dense = false;
  for (const LayerSpec& l : s.layers) needs_dense = needs_dense || (l.has_mlp && !l.moe);
  if (needs_dense && s.intermediate_size == 0 && !is_mamba) {
    w.push_back(m.key("feed_forward_length") + " is missing: dense MLPs are counted as empty");
  }

  // The spec must account for the file's parameters; a difference means the mapping of this
  // architecture misses a tensor kind.
  if (has_t) {
    std::uint64_t file_params = 0;
    for (const auto& [tname, t] : tensors.all()) {
      if (is_parameter(tname)) {
        file_params = checked_add(file_params, t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3], "the parameter count");
      }
    }
    const ParamCounts p = count_params(s);
    const std::uint64_t spec_params = p.total + p.mtp;
    if (spec_params != file_params) {
      w.push_back("the file's tensors hold " + std::to_string(file_params) + " parameters, the spec read from it counts " +
                  std::to_string(spec_params) + ": vramcalc's model of architecture '" + arch + "' differs from this file");
    }
  }
  return out;
}

} // namespace

std::expected<GgufModel, Error> gguf_to_spec(std::span<const GgufFile> parts) {
  if (parts.empty()) return std::unexpected(Error{ErrorCode::invalid_model, "gguf: no files"});
  try {
    return convert(parts);
  } catch (const Failure& e) {
    return std::unexpected(e.error);
  } catch (const OverflowError& e) {
    return std::unexpected(Error{ErrorCode::invalid_model, parts.front().origin + ": " + e.what()});
  }
}

std::expected<GgufModel, Error> gguf_to_spec(const GgufFile& file) {
  return gguf_to_spec(std::span<const GgufFile>(&file, 1));
}

} // namespace vramcalc::io
