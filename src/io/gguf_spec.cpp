// GGUF metadata -> ModelSpec. Key names and per-architecture rules follow llama.cpp's
// llama-arch.cpp (LLM_KV names), llama-model.cpp (llama_model::load_hparams) and
// src/models/<arch>.cpp (load_arch_hparams); docs/file-formats.md lists what is read.
// Facts the metadata does not carry (biases, norms, tied head, MoE layers) are read off the
// tensors the file holds, so the spec's tensor list matches the file's.
#include "vramcalc/architecture.hpp"
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

// The rules of an architecture vramcalc has no row for: the standard keys only.
constexpr ArchitectureFacts standard_architecture{};

// One file being converted: its metadata, the tensors of every part, the architecture's row,
// and the layer counts once read.
struct Reading {
  const GgufFile& file;
  const Meta& meta;
  const Tensors& tensors;
  const std::string& arch_name;
  const ArchitectureFacts& arch;
  std::vector<std::string>& warnings;
  std::uint64_t block_count = 0; // blocks in the file, MTP blocks included
  std::uint64_t layers = 0;      // decoder layers

  bool has_tensors() const { return !tensors.empty(); }
  // True if any decoder layer holds blk.i.<suffix>.
  bool layer_has(const std::string& suffix) const { return tensors.any_layer(layers, suffix); }
  [[noreturn]] void fail(const std::string& what) const { meta.fail(what); }
  void warn(std::string what) const { warnings.push_back(std::move(what)); }
};

// general.architecture: a short identifier ("llama", "gpt-oss"), which becomes the key prefix
// and appears in messages.
std::string architecture_of(const GgufFile& f) {
  const auto fail = [&f](const std::string& what) { fail_in(f.origin, what); };
  const GgufValue* arch_value = f.find("general.architecture");
  if (arch_value == nullptr) fail("general.architecture is missing; is this a model file?");
  if (arch_value->type != GgufType::string) fail("general.architecture must be a string");
  const std::string arch(std::get<std::string_view>(arch_value->scalar));
  if (arch.empty()) fail("general.architecture is empty");
  for (char c : arch) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) fail("general.architecture may hold only letters, digits, '.', '_' and '-'");
  }
  return arch;
}

void read_names(const GgufFile& f, const std::string& arch, ModelSpec& s) {
  const auto name = f.get_string("general.name");
  s.name = name && !name->empty() ? *name : stem_of(f.origin);
  s.id = to_id(s.name);
  if (s.id.empty()) s.id = to_id(stem_of(f.origin));
  if (s.id.empty()) s.id = "gguf-model";
  s.family = arch;
  s.arch = arch;
  s.source = f.origin;
  s.origin = f.origin;
}

// block_count, embedding_length and the MTP blocks; returns the query heads per block
// (absent: a model without attention).
std::optional<std::vector<std::uint64_t>> read_layer_counts(Reading& r, ModelSpec& s) {
  const Meta& m = r.meta;
  const bool attention_free = r.arch.mixers == Mixers::recurrent_only;
  std::vector<std::string> missing;
  const auto n_all = m.u("block_count");
  const auto hidden = m.u("embedding_length");
  // Sizes are checked before anything is allocated from them.
  if (n_all && *n_all > max_layers) {
    r.fail(m.key("block_count") + " " + std::to_string(*n_all) + " is implausibly large (vramcalc reads at most " +
           with_commas(max_layers) + " layers)");
  }
  if (hidden && *hidden > max_dim) r.fail(m.key("embedding_length") + " " + std::to_string(*hidden) + " is implausibly large");
  if (!n_all) missing.push_back(m.key("block_count"));
  if (!hidden) missing.push_back(m.key("embedding_length"));
  auto heads = n_all ? m.per_layer("attention.head_count", *n_all) : std::nullopt;
  if (!heads && !attention_free) missing.push_back(m.key("attention.head_count"));
  if (!missing.empty()) {
    std::string keys;
    for (const auto& k : missing) keys += (keys.empty() ? "" : ", ") + k;
    r.fail("missing key" + std::string(missing.size() > 1 ? "s" : "") + " vramcalc needs: " + keys);
  }
  if (*n_all == 0 || *hidden == 0) r.fail(m.key("block_count") + " and " + m.key("embedding_length") + " must be positive");

  // MTP blocks are counted in block_count (llama.cpp: n_layer = n_layer_all - n_layer_nextn).
  const std::uint64_t nextn = m.u("nextn_predict_layers").value_or(0);
  if (nextn >= *n_all) r.fail(m.key("nextn_predict_layers") + " " + std::to_string(nextn) + " leaves no layers");
  r.block_count = *n_all;
  r.layers = *n_all - nextn;
  s.num_layers = r.layers;
  s.mtp_layers = nextn;
  if (nextn > 0 && r.has_tensors()) {
    s.mtp_own_embeddings = r.tensors.has("blk." + std::to_string(s.num_layers) + ".nextn.embed_tokens.weight");
  }
  s.hidden_size = *hidden;
  return heads;
}

std::uint64_t first_nonzero(const std::vector<std::uint64_t>& v) {
  for (std::uint64_t x : v) {
    if (x != 0) return x;
  }
  return 0;
}

bool varies(const std::vector<std::uint64_t>& v) {
  std::uint64_t seen = 0;
  for (std::uint64_t x : v) {
    if (x == 0) continue;
    if (seen != 0 && x != seen) return true;
    seen = x;
  }
  return false;
}

struct Heads {
  std::vector<std::uint64_t> query; // per decoder layer
  std::vector<std::uint64_t> kv;    // per decoder layer; 0: no attention in that layer
};

// Heads per layer (llama.cpp: head_count_kv defaults to head_count) and head sizes
// (key_length / value_length default to n_embd / n_head of layer 0).
Heads read_heads(const Reading& r, ModelSpec& s, std::optional<std::vector<std::uint64_t>> query_heads) {
  const Meta& m = r.meta;
  Heads h;
  h.query = std::move(query_heads).value_or(std::vector<std::uint64_t>(static_cast<std::size_t>(r.block_count), 0));
  h.kv = m.per_layer("attention.head_count_kv", r.block_count).value_or(h.query);
  h.query.resize(static_cast<std::size_t>(r.layers));
  h.kv.resize(static_cast<std::size_t>(r.layers));
  AttentionSpec& a = s.attention;
  a.num_heads = first_nonzero(h.query);
  if (a.num_heads == 0 && r.arch.mixers != Mixers::recurrent_only) r.fail(m.key("attention.head_count") + " is 0 for every layer");
  if (a.num_heads > max_dim) r.fail(m.key("attention.head_count") + " is implausibly large");
  if (varies(h.query)) {
    r.warn(m.key("attention.head_count") + " varies by layer; vramcalc counts " + std::to_string(a.num_heads) +
           " query heads in every attention layer");
  }
  a.num_kv_heads = first_nonzero(h.kv);
  if (a.num_kv_heads == 0) a.num_kv_heads = a.num_heads;
  const std::uint64_t default_head = h.query.empty() || h.query[0] == 0 ? (a.num_heads ? s.hidden_size / a.num_heads : 0)
                                                                        : s.hidden_size / h.query[0];
  a.head_dim = m.u("attention.key_length").value_or(default_head);
  a.v_head_dim = m.u("attention.value_length").value_or(default_head);
  if (a.head_dim > max_dim || a.v_head_dim > max_dim) r.fail(m.key("attention.key_length") + " is implausibly large");
  return h;
}

// MLP width (may be per layer, 0 for layers without an MLP), context and vocabulary.
void read_widths(const Reading& r, ModelSpec& s) {
  const Meta& m = r.meta;
  if (const auto ff = m.per_layer("feed_forward_length", r.block_count)) {
    std::vector<std::uint64_t> v(ff->begin(), ff->begin() + static_cast<std::ptrdiff_t>(r.layers));
    s.intermediate_size = std::ranges::max(v);
    if (varies(v)) {
      r.warn(m.key("feed_forward_length") + " varies by layer; vramcalc counts " + std::to_string(s.intermediate_size) +
             " (the largest) for every dense MLP");
    }
  }
  if (s.intermediate_size > max_dim) r.fail(m.key("feed_forward_length") + " is implausibly large");

  if (const auto ctx = m.u("context_length")) s.max_context = *ctx;
  else r.warn(m.key("context_length") + " is missing: the model's maximum context is unknown; pass --ctx");

  // Vocabulary: the embedding's rows, else the declared size, else the tokenizer's length.
  if (const GgufTensorInfo* embd = r.tensors.find("token_embd.weight"); embd != nullptr) {
    s.vocab_size = embd->ne[1];
  } else if (const auto vs = m.u("vocab_size")) {
    s.vocab_size = *vs;
  } else if (const GgufValue* tok = r.file.find("tokenizer.ggml.tokens"); tok != nullptr && tok->type == GgufType::array) {
    s.vocab_size = tok->count;
  } else {
    r.warn("the vocabulary size is unknown (no token_embd.weight, " + m.key("vocab_size") +
           " or tokenizer.ggml.tokens): the embedding is left out of the parameter count");
  }
}

// Tied embeddings: llama.cpp reuses token_embd when output.weight is absent.
void read_tied_head(const Reading& r, ModelSpec& s) {
  if (r.has_tensors()) {
    s.tie_word_embeddings = !r.tensors.has("output.weight");
    return;
  }
  s.tie_word_embeddings = r.arch.tied_embeddings;
  r.warn("the file holds no tensors (a vocabulary-only GGUF): weights are not in it, and the output head is "
         "assumed " + std::string(s.tie_word_embeddings ? "tied to" : "separate from") + " the embedding");
}

// Native dtype: the float type holding most elements of the weight matrices; the llama.cpp
// mix from general.file_type.
void read_storage(const Reading& r, ModelSpec& s) {
  std::uint64_t f32 = 0, f16 = 0, bf16 = 0;
  bool quantized = false;
  for (const auto& [tname, t] : r.tensors.all()) {
    if (t->n_dims < 2) continue;
    const std::uint64_t e = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]; // checked by the parser
    if (t->ggml_type == 0) f32 += e;
    else if (t->ggml_type == 1) f16 += e;
    else if (t->ggml_type == 30) bf16 += e;
    else if (!is_float_type(t->ggml_type)) quantized = true;
  }
  if (bf16 == 0 && f16 == 0 && f32 == 0) {
    s.dtype = Dtype::bf16;
    if (quantized) r.warn("every weight matrix is quantized, so the native dtype is unknown; assuming bf16");
  } else if (bf16 >= f16 && bf16 >= f32) {
    s.dtype = Dtype::bf16;
  } else {
    s.dtype = f16 >= f32 ? Dtype::f16 : Dtype::f32;
  }
  // general.file_type: a quantized llama.cpp mix names the weights' format (the GGUF rows of
  // weight_format_table); an all-f32 / f16 / bf16 file leaves it to the dtype read above; a
  // value no row has is a warning.
  const GgufValue* ft = r.file.find("general.file_type");
  if (ft == nullptr) return;
  const auto id = r.file.get_uint("general.file_type");
  const GgufFtypeTraits* mix = id ? gguf_ftype_by_llama_ftype(*id) : nullptr;
  if (mix == nullptr) {
    r.warn("general.file_type " + (id ? std::to_string(*id) : Meta::describe(*ft)) +
           " is not a llama.cpp mix vramcalc knows; the file's tensor bytes are exact regardless");
  } else if (traits(mix->default_type).block_elems != 1) {
    s.weights_format = std::string(mix->name);
  }
}

// Biases, norms and the MLP kind, read off the tensors (the architecture's facts for a file
// without tensors).
void read_block(const Reading& r, ModelSpec& s) {
  const ArchitectureFacts& arch = r.arch;
  AttentionSpec& a = s.attention;
  const bool has_t = r.has_tensors();
  a.qkv_bias = has_t ? r.layer_has("attn_q.bias") || r.layer_has("attn_qkv.bias") : arch.qkv_bias == ByConfig::always;
  a.o_bias = has_t ? r.layer_has("attn_output.bias") : arch.o_bias == ByConfig::always;
  a.qk_norm = has_t ? r.layer_has("attn_q_norm.weight") : arch.qk_norm == ByConfig::always;
  a.sinks = has_t ? r.layer_has("attn_sinks.weight") : arch.sinks;
  s.mlp_bias = has_t && (r.layer_has("ffn_up.bias") || r.layer_has("ffn_down.bias"));
  s.norm = arch.norm == NormKind::layernorm || (has_t && r.layer_has("attn_norm.bias")) ? NormKind::layernorm : NormKind::rmsnorm;
  s.norm_bias = has_t ? r.layer_has("attn_norm.bias") : arch.norm_bias;
  if (!has_t) {
    s.norms_per_layer = arch.norms_per_layer;
    s.mlp = arch.mlp;
    return;
  }
  // Norms of one block: attn_norm plus whichever of these the file has.
  std::uint64_t norms = 1;
  for (const char* extra : {"attn_norm_2.weight", "ffn_norm.weight", "post_attention_norm.weight", "post_ffw_norm.weight"}) {
    if (r.layer_has(extra)) ++norms;
  }
  s.norms_per_layer = norms;
  // A plain MLP has up and down only; a fused gated one (Phi-3) has an up of 2 x ff rows.
  const GgufTensorInfo* up = nullptr;
  for (std::uint64_t i = 0; i < r.layers && up == nullptr; ++i) up = r.tensors.find("blk." + std::to_string(i) + ".ffn_up.weight");
  if (up != nullptr && !r.layer_has("ffn_gate.weight") && up->ne[1] != 2 * s.intermediate_size) s.mlp = MlpKind::plain;
}

// attention.sliding_window_pattern: a period (its value, else `fallback`), or a per-layer
// bool array, whose entries go to `sliding_layers`.
std::uint64_t swa_period(const Reading& r, std::uint64_t fallback, std::vector<bool>& sliding_layers) {
  const GgufValue* p = r.file.find(r.meta.key("attention.sliding_window_pattern"));
  if (p == nullptr) return fallback;
  if (p->type != GgufType::array) return *r.meta.u("attention.sliding_window_pattern");
  if (p->elem_type == GgufType::boolean && p->count == r.block_count && p->elements_kept()) {
    for (std::uint64_t i = 0; i < r.layers; ++i) sliding_layers.push_back(std::get<bool>(*p->element(i)));
  } else {
    r.warn(r.meta.key("attention.sliding_window_pattern") + " is an array vramcalc cannot read; using the default period " +
           std::to_string(fallback));
  }
  return fallback;
}

// Sliding and chunked layers, by llama.cpp's rule for the architecture.
std::vector<LayerKind> local_attention_pattern(const Reading& r, AttentionSpec& a) {
  const Meta& m = r.meta;
  const ArchitectureFacts& arch = r.arch;
  std::vector<LayerKind> pattern;
  std::vector<bool> sliding_layers; // a per-layer bool array from sliding_window_pattern
  const auto window = m.u("attention.sliding_window");
  const bool has_window = window && *window > 0;
  switch (arch.local_attention) {
  case LocalAttention::periodic:
    if (arch.gguf_default_window > 0 || has_window) {
      a.sliding_window = window.value_or(arch.gguf_default_window);
      pattern = swa_pattern(swa_period(r, arch.local_period, sliding_layers), AttentionKind::sliding, r.layers);
    } else if (arch.warn_without_window) {
      r.warn(m.key("attention.sliding_window") + " is missing: " + std::string(arch.name) +
             "'s local layers are counted as full attention");
    }
    break;
  case LocalAttention::periodic_chunked:
    // llama.cpp: a fixed chunk on all but every period-th layer, unless sliding_window is 0.
    if (!(window && *window == 0)) {
      a.chunk_size = arch.gguf_chunk_tokens;
      pattern = swa_pattern(swa_period(r, arch.local_period, sliding_layers), AttentionKind::chunked, r.layers);
    }
    break;
  case LocalAttention::ignored:
    if (has_window) {
      r.warn(m.key("attention.sliding_window") + " " + std::to_string(*window) + " is ignored: llama.cpp runs " +
             std::string(arch.name) + " with full attention");
    }
    break;
  case LocalAttention::as_listed:
  case LocalAttention::every_layer:
  case LocalAttention::above_window_layers:
  case LocalAttention::opt_in:
    if (!has_window) break;
    if (r.file.find(m.key("attention.sliding_window_pattern")) != nullptr) {
      a.sliding_window = *window;
      pattern = swa_pattern(swa_period(r, 0, sliding_layers), AttentionKind::sliding, r.layers);
    } else {
      r.warn(m.key("attention.sliding_window") + " " + std::to_string(*window) + " is ignored: vramcalc does not know "
             "which layers of architecture '" + r.arch_name + "' slide; every layer is counted as full attention");
    }
    break;
  }
  if (!sliding_layers.empty()) {
    if (a.sliding_window == 0) a.sliding_window = window.value_or(0);
    pattern.clear();
    for (bool b : sliding_layers) pattern.push_back({b && a.sliding_window > 0 ? AttentionKind::sliding : AttentionKind::full, false});
  }
  return pattern;
}

// Multi-head latent attention (DeepSeek V2/V3, Kimi K2, GLM-4.7-Flash in the deepseek2 graph).
void read_mla(const Reading& r, AttentionSpec& a) {
  const Meta& m = r.meta;
  MlaSpec mla;
  const auto kv_lora = m.u("attention.kv_lora_rank");
  const auto rope = m.u("rope.dimension_count");
  if (!kv_lora || !rope) {
    r.fail("missing key" + std::string(!kv_lora && !rope ? "s" : "") + " vramcalc needs: " +
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
  if (k_head < *rope) r.fail(m.key(k_mla ? "attention.key_length_mla" : "attention.key_length") + " " + std::to_string(k_head) +
                             " is smaller than " + m.key("rope.dimension_count") + " " + std::to_string(*rope));
  mla.qk_nope_head_dim = k_head - *rope;
  mla.v_head_dim = v_head;
  // Without both keys llama.cpp's is_mla() (llama-hparams.cpp) is false: the file runs as MHA
  // over every head, K of key_length and V of value_length per head.
  mla.latent_cache = k_mla.has_value() && v_mla.has_value();
  if (k_mla && a.head_dim != mla.kv_lora_rank + mla.qk_rope_head_dim) {
    r.warn(m.key("attention.key_length") + " " + std::to_string(a.head_dim) + " is not kv_lora_rank + rope (" +
           std::to_string(mla.kv_lora_rank + mla.qk_rope_head_dim) + ")");
  }
  a.mla = mla;
  a.head_dim = k_head;
  a.v_head_dim = v_head;
  a.num_kv_heads = a.num_heads; // the attention itself is MHA; the cache holds the latent
}

// Which layers are MoE and the router's biases, from a file without tensors: the
// architecture's facts.
void moe_without_tensors(const Reading& r, MoeSpec& moe) {
  const ArchitectureFacts& arch = r.arch;
  moe.shared_expert_gate = arch.shared_expert_gate;
  // DeepSeek V3's sigmoid gating (expert_gating_func 2) comes with a per-expert bias.
  moe.router_bias = arch.router_bias == RouterBias::always ||
                    (arch.router_bias == RouterBias::with_sigmoid_gating && r.meta.u("expert_gating_func").value_or(0) == 2);
  moe.expert_bias = arch.expert_bias;
  if (arch.moe_layers == MoeLayers::periodic) {
    // The file has no key for the period and offset.
    moe.layer_step = arch.moe_period;
    moe.layer_offset = arch.moe_offset;
    r.warn("without tensors, " + std::string(arch.name) + "'s MoE layers are assumed to be " +
           (arch.moe_period == 2 ? std::string("every other layer") : "every " + std::to_string(arch.moe_period) + "th layer") +
           " from layer " + std::to_string(arch.moe_offset));
  }
}

// Mixture of experts (expert_count > 0).
void read_moe(const Reading& r, ModelSpec& s) {
  const Meta& m = r.meta;
  const std::uint64_t experts = m.u("expert_count").value_or(0);
  if (experts == 0) return;
  MoeSpec moe;
  moe.num_experts = experts;
  const auto used = m.per_layer("expert_used_count", r.block_count);
  moe.experts_per_token = used ? std::ranges::max(*used) : 0;
  if (moe.experts_per_token == 0) r.fail(m.key("expert_used_count") + " is missing for a MoE model (" + m.key("expert_count") + " " + std::to_string(experts) + ")");
  if (const auto eff = m.per_layer("expert_feed_forward_length", r.block_count)) {
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
  if (r.arch.moe_layers == MoeLayers::interleaved) {
    moe.shared_experts = std::max<std::uint64_t>(moe.shared_experts, 1);
    moe.layer_step = std::max<std::uint64_t>(1, m.u("interleave_moe_layer_step").value_or(1));
    moe.layer_offset = moe.layer_step - 1;
  }
  if (r.has_tensors()) {
    if (moe.shared_experts == 0 && (r.layer_has("ffn_up_shexp.weight"))) moe.shared_experts = 1;
    moe.shared_expert_gate = r.layer_has("ffn_gate_inp_shexp.weight");
    moe.router_bias = r.layer_has("exp_probs_b.bias") || r.layer_has("ffn_gate_inp.bias");
    moe.expert_bias = r.layer_has("ffn_up_exps.bias");
  } else {
    moe_without_tensors(r, moe);
  }
  s.moe = moe;
}

// The SSM state of Mamba / Mamba-2 layers (llama.cpp's ssm.* keys).
RecurrentSpec read_ssm(const Reading& r, RecurrentKind kind) {
  const Meta& m = r.meta;
  RecurrentSpec out;
  out.kind = kind;
  std::vector<std::string> missing;
  auto need = [&](const char* k) {
    const auto v = m.u(k);
    if (!v) missing.push_back(m.key(k));
    return v.value_or(0);
  };
  out.d_conv = need("ssm.conv_kernel");
  out.d_inner = need("ssm.inner_size");
  out.d_state = need("ssm.state_size");
  out.dt_rank = need("ssm.time_step_rank");
  if (!missing.empty()) {
    std::string keys;
    for (const auto& k : missing) keys += (keys.empty() ? "" : ", ") + k;
    r.fail("missing key" + std::string(missing.size() > 1 ? "s" : "") + " vramcalc needs: " + keys);
  }
  if (kind == RecurrentKind::mamba2) {
    // llama.cpp's Mamba-2: time_step_rank is the number of SSM heads.
    out.n_groups = m.u("ssm.group_count").value_or(1);
    out.num_heads = out.dt_rank;
    if (out.num_heads == 0 || out.d_inner % out.num_heads != 0) {
      r.fail(m.key("ssm.time_step_rank") + " " + std::to_string(out.num_heads) + " must divide " + m.key("ssm.inner_size") +
             " " + std::to_string(out.d_inner));
    }
    out.head_dim = out.d_inner / out.num_heads;
  }
  out.conv_bias = r.has_tensors() ? r.layer_has("ssm_conv1d.bias") : true;
  out.dt_norms = r.has_tensors() ? r.layer_has("ssm_dt_norm.weight") : (r.arch.ssm_dt_norms || m.flag("ssm.dt_b_c_rms").value_or(false));
  return out;
}

// Recurrent mixers: the architecture's SSM, or a warning for ssm keys vramcalc does not map.
void read_recurrent(const Reading& r, ModelSpec& s, std::vector<LayerKind>& pattern) {
  if (!r.arch.recurrent) {
    if (r.meta.has("ssm.state_size") || r.meta.has("ssm.inner_size")) {
      r.warn("architecture '" + r.arch_name + "' has recurrent (ssm) layers that vramcalc does not map; their state is not counted");
    }
    return;
  }
  s.recurrent = read_ssm(r, *r.arch.recurrent);
  if (r.arch.mixers == Mixers::recurrent_only) {
    s.separate_mlp = r.arch.separate_mlp;
    s.norms_per_layer = r.arch.norms_per_layer;
    pattern = {{AttentionKind::none, false}};
    AttentionSpec& a = s.attention;
    a.num_heads = a.num_kv_heads = 1; // no attention: keeps the naive KV comparison defined
    a.head_dim = a.v_head_dim = 1;
  }
}

// The layers from the pattern, with what expand_layers cannot know: KV heads per layer (0:
// no attention), the sliding layers' head sizes, the MoE layers the tensors show.
void build_layers(const Reading& r, ModelSpec& s, const std::vector<LayerKind>& pattern, const Heads& heads) {
  const Meta& m = r.meta;
  AttentionSpec& a = s.attention;
  for (const LayerKind& k : pattern) {
    if (k.attention == AttentionKind::sliding && a.sliding_window == 0) {
      r.fail(m.key("attention.sliding_window") + " is missing for the sliding layers");
    }
  }
  // The file decides its layout where it has tensors; the architecture's otherwise.
  apply_arch_layout(s);
  if (r.has_tensors()) {
    a.fused_qkv = r.layer_has("attn_qkv.weight") && !r.layer_has("attn_q.weight");
    s.fused_gate_up = s.mlp == MlpKind::gated && !r.layer_has("ffn_gate.weight") && r.layer_has("ffn_up.weight") && !s.moe;
  }
  expand_layers(s, pattern);
  const auto k_swa = m.u("attention.key_length_swa");
  const auto v_swa = m.u("attention.value_length_swa");
  for (std::uint64_t i = 0; i < r.layers; ++i) {
    LayerSpec& l = s.layers[static_cast<std::size_t>(i)];
    if (r.arch.mixers != Mixers::recurrent_only && !a.mla) {
      if (heads.kv[static_cast<std::size_t>(i)] == 0) {
        // head_count_kv[i] == 0: no attention in this layer (Jamba's Mamba layers).
        l.attention = AttentionKind::none;
        l.window = 0;
        l.num_kv_heads = 0;
      } else {
        l.num_kv_heads = heads.kv[static_cast<std::size_t>(i)];
      }
      if (l.attention == AttentionKind::sliding) {
        if (k_swa) l.head_dim_k = *k_swa;
        if (v_swa) l.head_dim_v = *v_swa;
      }
    }
    if (s.moe && r.has_tensors()) {
      const std::string blk = "blk." + std::to_string(i) + ".";
      l.moe = l.has_mlp && r.tensors.has(blk + "ffn_gate_inp.weight");
    }
  }
}

// Layers without KV heads, more KV heads than query heads, heads that do not divide, dense
// MLPs without a width.
void check_layers(const Reading& r, const ModelSpec& s, const Heads& heads) {
  const Meta& m = r.meta;
  const AttentionSpec& a = s.attention;
  if (!r.arch.recurrent && !a.mla && std::ranges::any_of(s.layers, [](const LayerSpec& l) { return l.attention == AttentionKind::none; })) {
    r.warn("some layers of architecture '" + r.arch_name + "' have no KV heads (head_count_kv 0); vramcalc counts no "
           "cache and no mixer for them");
  }
  // More KV heads than query heads is no model (llama.cpp's n_gqa() = n_head / n_head_kv
  // would be 0); refused, as a model spec with the same numbers is.
  if (!a.mla) {
    for (std::uint64_t i = 0; i < s.layers.size(); ++i) {
      const std::uint64_t h = heads.query.size() == s.layers.size() ? heads.query[static_cast<std::size_t>(i)] : a.num_heads;
      if (s.layers[i].num_kv_heads > h && h != 0) {
        r.fail(m.key("attention.head_count_kv") +
               (heads.kv.size() > 1 && heads.kv.front() != heads.kv.back() ? "[" + std::to_string(i) + "]" : "") + " " +
               std::to_string(s.layers[i].num_kv_heads) + " is more than " + m.key("attention.head_count") + " " +
               std::to_string(h) + ": a layer cannot cache more key-value heads than it has query heads");
      }
    }
  }
  if (a.num_heads != 0 && a.num_kv_heads != 0 && !a.mla && a.num_heads % a.num_kv_heads != 0) {
    r.warn(m.key("attention.head_count_kv") + " " + std::to_string(a.num_kv_heads) + " does not divide " +
           m.key("attention.head_count") + " " + std::to_string(a.num_heads));
  }
  const bool needs_dense = std::ranges::any_of(s.layers, [](const LayerSpec& l) { return l.has_mlp && !l.moe; });
  if (needs_dense && s.intermediate_size == 0 && r.arch.mixers != Mixers::recurrent_only) {
    r.warn(m.key("feed_forward_length") + " is missing: dense MLPs are counted as empty");
  }
}

// The spec must account for the file's parameters; a difference means the mapping of this
// architecture misses a tensor kind.
void check_parameter_count(const Reading& r, const ModelSpec& s) {
  if (!r.has_tensors()) return;
  std::uint64_t file_params = 0;
  for (const auto& [tname, t] : r.tensors.all()) {
    if (is_parameter(tname)) {
      file_params = checked_add(file_params, t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3], "the parameter count");
    }
  }
  const ParamCounts p = count_params(s);
  const std::uint64_t spec_params = p.total + p.mtp;
  if (spec_params != file_params) {
    r.warn("the file's tensors hold " + std::to_string(file_params) + " parameters, the spec read from it counts " +
           std::to_string(spec_params) + ": vramcalc's model of architecture '" + r.arch_name + "' differs from this file");
  }
}

GgufModel convert(std::span<const GgufFile> parts) {
  const GgufFile& f = parts.front();
  const std::string arch = architecture_of(f);
  GgufModel out;
  ModelSpec& s = out.spec;
  const Meta m(f, arch);
  const Tensors tensors(parts);
  read_names(f, arch, s);
  const ArchitectureFacts* known = gguf_architecture(arch);
  if (known == nullptr) {
    out.warnings.push_back("architecture '" + arch + "' has no rules of its own in vramcalc; it is read with the standard keys");
  }
  Reading r{f, m, tensors, arch, known != nullptr ? *known : standard_architecture, out.warnings};

  auto query_heads = read_layer_counts(r, s);
  const Heads heads = read_heads(r, s, std::move(query_heads));
  read_widths(r, s);
  read_tied_head(r, s);
  read_storage(r, s);
  read_block(r, s);
  std::vector<LayerKind> pattern = local_attention_pattern(r, s.attention);
  if (r.arch.mla || m.has("attention.kv_lora_rank")) read_mla(r, s.attention);
  read_moe(r, s);
  read_recurrent(r, s, pattern);
  build_layers(r, s, pattern, heads);
  check_layers(r, s, heads);
  check_parameter_count(r, s);
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
