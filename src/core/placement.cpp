#include "vramcalc/placement.hpp"

#include "vramcalc/kv.hpp"
#include "vramcalc/units.hpp"

#include "weights_detail.hpp"

#include <algorithm>

namespace vramcalc {

std::uint64_t kv_heads_per_rank(std::uint64_t kv_heads, std::uint32_t tp) {
  // vLLM ModelConfig.get_num_kv_heads: "replicate the KV heads in the case where the number
  // of KV heads is smaller than the tensor parallel size so each GPU has at least one".
  return std::max<std::uint64_t>(1, kv_heads / tp);
}

namespace {

enum class Problem { none, zero, heads, kv_heads, expert_width, experts, stages };

// The first rule a layout breaks; the fit search asks this of many layouts, most of them fine.
Problem problem_of(const ModelSpec& spec, const Parallel& p) {
  if (p.tp == 0 || p.pp == 0) return Problem::zero;
  const auto& a = spec.attention;
  if (a.num_heads % p.tp != 0) return Problem::heads;
  if (!a.mla && a.num_kv_heads % p.tp != 0 && p.tp % a.num_kv_heads != 0) return Problem::kv_heads;
  // Gemma 4's global layers shard their own KV heads by the same rule (vLLM Gemma4Attention).
  const std::uint64_t g = a.global_num_kv_heads;
  if (!a.mla && g != 0 && g % p.tp != 0 && p.tp % g != 0) return Problem::kv_heads;
  if (spec.moe && !p.expert_parallel && spec.moe->expert_intermediate_size % p.tp != 0) return Problem::expert_width;
  if (spec.moe && p.expert_parallel && spec.moe->num_experts % p.tp != 0) return Problem::experts;
  if (p.pp > spec.num_layers) return Problem::stages;
  return Problem::none;
}

} // namespace

std::string parallel_problem(const ModelSpec& spec, const Parallel& p) {
  const auto tp = [&p] { return "tp " + std::to_string(p.tp); };
  switch (problem_of(spec, p)) {
  case Problem::none: return {};
  case Problem::zero: return "tp and pp must be at least 1";
  case Problem::heads:
    return tp() + " does not divide the " + std::to_string(spec.attention.num_heads) + " attention heads";
  case Problem::kv_heads: {
    const std::uint64_t kv = spec.attention.num_kv_heads;
    if (kv % p.tp == 0 || p.tp % kv == 0) {
      return tp() + " and the " + std::to_string(spec.attention.global_num_kv_heads) +
             " KV heads of the full-attention layers do not divide one another";
    }
    return tp() + " and the " + std::to_string(kv) + " KV heads do not divide one another";
  }
  case Problem::expert_width:
    return tp() + " does not divide the expert width " + std::to_string(spec.moe->expert_intermediate_size);
  case Problem::experts: return tp() + " does not divide the " + std::to_string(spec.moe->num_experts) + " experts";
  case Problem::stages:
    return "pp " + std::to_string(p.pp) + " is more than the " + std::to_string(spec.num_layers) + " layers";
  }
  return {};
}

std::optional<Parallel> choose_parallel(const ModelSpec& spec, std::uint32_t gpus) {
  for (std::uint32_t tp = std::min<std::uint32_t>(gpus, 8); tp >= 1; --tp) {
    if (gpus % tp != 0) continue;
    const Parallel p{tp, gpus / tp, false};
    if (problem_of(spec, p) == Problem::none) return p;
  }
  return std::nullopt;
}

std::pair<std::uint64_t, std::uint64_t> stage_layers(std::uint64_t num_layers, std::uint32_t pp, std::uint32_t stage) {
  // vllm/distributed/utils.py get_pp_indices: layers_per_partition = n // pp; the remainder
  // goes one each to the partitions before the last, counting back from it: stages
  // [pp - 1 - remainder, pp - 2] get one more. In closed form (the fit search calls this
  // for every stage of every layout).
  const std::uint64_t base = num_layers / pp;
  const std::uint64_t remainder = num_layers % pp; // < pp
  const std::uint64_t first_extra = pp - 1 - remainder;
  const auto extras_before = [&](std::uint64_t s) {
    const std::uint64_t upto = std::min<std::uint64_t>(s, pp - 1);
    return upto > first_extra ? upto - first_extra : 0;
  };
  const std::uint64_t first = stage * base + extras_before(stage);
  return {first, stage * base + base + extras_before(stage + 1)};
}

namespace {

enum class Split { replicate, rows, cols, heads, vocab };

// How tensor parallelism splits a tensor (vLLM's ColumnParallelLinear / RowParallelLinear /
// VocabParallelEmbedding / ReplicatedLinear choices for each projection).
Split split_of(const Tensor& t) {
  switch (t.role) {
  case TensorRole::token_embd:
  case TensorRole::output: return Split::vocab;
  case TensorRole::attn_q:
  case TensorRole::attn_q_b:
  case TensorRole::attn_kv_b:
  case TensorRole::ffn_gate:
  case TensorRole::ffn_up:
  case TensorRole::ffn_gate_exps:
  case TensorRole::ffn_up_exps:
  case TensorRole::ffn_gate_shexp:
  case TensorRole::ffn_up_shexp:
  case TensorRole::ssm_in:
  case TensorRole::ssm_ba:
  case TensorRole::ssm_conv1d:
  case TensorRole::ssm_x:
  case TensorRole::ssm_dt:
  case TensorRole::ssm_a:
  case TensorRole::ssm_d:
  case TensorRole::ssm_norm:
  case TensorRole::ssm_conv1d_q:
  case TensorRole::ssm_conv1d_k:
  case TensorRole::ssm_conv1d_v:
  case TensorRole::ssm_f_b:
  case TensorRole::ssm_beta:
  case TensorRole::ssm_g_b:
  case TensorRole::attn_sinks:
  case TensorRole::attn_qkv: return Split::rows;
  case TensorRole::attn_k:
  case TensorRole::attn_v: return Split::heads;
  case TensorRole::attn_output:
  case TensorRole::ffn_down:
  case TensorRole::ffn_down_exps:
  case TensorRole::ffn_down_shexp:
  case TensorRole::ssm_out: return t.bias ? Split::replicate : Split::cols;
  default: return Split::replicate; // norms, router, MLA q_a / kv_a, KDA's f_a / g_a, the vision tower
  }
}

// `t` as one GPU of `p` holds it.
void shard(const ModelSpec& spec, Tensor& t, const Parallel& p) {
  const std::uint64_t tp = p.tp;
  // One element of a bias or vector is its own row: treat ne0 as the split dimension.
  std::uint64_t& rows = t.bias || t.ne1 == 1 ? t.ne0 : t.ne1;
  // KDA's o_norm is one RMSNorm of head_dim shared by every head (FusedRMSNormGated): replicated.
  if (t.role == TensorRole::ssm_norm && spec.recurrent && spec.recurrent->kind == RecurrentKind::kda) return;
  switch (split_of(t)) {
  case Split::replicate: break;
  case Split::rows:
    if (t.is_routed_expert() && p.expert_parallel) t.ne2 = ceil_div(t.ne2, tp);
    else rows = ceil_div(rows, tp);
    break;
  case Split::cols:
    if (t.is_routed_expert() && p.expert_parallel) t.ne2 = ceil_div(t.ne2, tp);
    else t.ne0 = ceil_div(t.ne0, tp);
    break;
  case Split::heads: {
    const LayerSpec& ls = spec.layers[static_cast<std::size_t>(t.layer)];
    if (ls.attention == AttentionKind::none) { // KDA's k_proj and v_proj: ColumnParallelLinear
      rows = ceil_div(rows, tp);
      break;
    }
    const std::uint64_t head = t.role == TensorRole::attn_k ? ls.head_dim_k : ls.head_dim_v;
    rows = checked_mul(kv_heads_per_rank(ls.num_kv_heads, p.tp), head);
    break;
  }
  case Split::vocab: t.ne1 = ceil_div(t.ne1, tp); break;
  }
}

bool same_shape(const Tensor& a, const Tensor& b) { return a.ne0 == b.ne0 && a.ne1 == b.ne1 && a.ne2 == b.ne2; }

} // namespace

std::vector<Tensor> rank_tensors(const ModelSpec& spec, const Parallel& p, std::uint32_t stage) {
  const auto [first, last] = stage_layers(spec.num_layers, p.pp, stage);
  const bool first_stage = stage == 0, last_stage = stage + 1 == p.pp;
  std::vector<Tensor> out;
  for (Tensor t : model_tensors(spec)) {
    if (t.layer >= 0) {
      const auto l = static_cast<std::uint64_t>(t.layer);
      if (l < first || l >= last) continue;
    } else if (t.role == TensorRole::token_embd || t.group() == TensorGroup::vision) {
      if (!first_stage) continue;
    } else if (!last_stage) {
      continue; // output norm and head
    }
    shard(spec, t, p);
    out.push_back(t);
  }
  // A tied head on a later stage than the embedding needs its own copy there.
  if (spec.tie_word_embeddings && p.pp > 1 && last_stage) {
    out.push_back(Tensor{TensorRole::output, -1, false, false, spec.hidden_size, ceil_div(spec.vocab_size, p.tp), 1});
  }
  return out;
}

WeightTables::WeightTables(const ModelSpec& spec, const WeightFormat& format)
    : spec_(spec), format_(format), tensors_(model_tensors(spec)) {
  // As weight_bytes(): a GGUF does not hold the vision tower.
  if (detail::weights_drop_vision(format_)) {
    std::erase_if(tensors_, [](const Tensor& x) { return x.group() == TensorGroup::vision; });
  }
}

WeightTables::WeightTables(const ModelSpec& spec, const WeightFormat& format, std::vector<Tensor> tensors,
                           std::vector<TensorStorage> storage, std::vector<Dtype> gguf_choices,
                           std::optional<LayerRepeats> repeats)
    : spec_(spec), format_(format), tensors_(std::move(tensors)), storage_(std::move(storage)),
      choices_(std::move(gguf_choices)), repeats_(std::move(repeats)) {}

std::size_t LayerRepeats::original(std::size_t i, const Tensor& t) const {
  const auto l = static_cast<std::size_t>(t.layer);
  return range[same_as[l]].first + (i - range[l].first);
}

namespace {

// Each layer of `r` (by layer, ranges set) compared with a few earlier distinct layers, the
// first for which `same(earlier, layer)` holds being the one it repeats; then `times`.
// A few candidates are enough for the repeating patterns of real models (dense, MoE,
// sliding/full, hybrid, a GGUF mix's few variants), and keep this linear in the layers.
template <class Same>
void match_layers(LayerRepeats& r, Same same) {
  const std::size_t n_layers = r.range.size();
  constexpr std::size_t max_candidates = 16;
  std::vector<std::uint32_t> candidates;
  std::vector<std::uint64_t> members(n_layers, 1);
  for (std::uint32_t l = 0; l < n_layers; ++l) {
    for (const std::uint32_t d : candidates) {
      if (same(d, l)) {
        r.same_as[l] = d;
        ++members[d];
        members[l] = 0;
        break;
      }
    }
    if (r.same_as[l] == l && candidates.size() < max_candidates) candidates.push_back(l);
  }
  for (std::size_t l = 0; l < n_layers; ++l) {
    for (std::size_t i = r.range[l].first; i < r.range[l].second; ++i) r.times[i] = members[l];
  }
}

} // namespace

LayerRepeats layer_repeats(const ModelSpec& spec, std::span<const Tensor> tensors, std::span<const Dtype> types,
                           bool dedupe) {
  LayerRepeats r;
  const std::size_t n_layers = spec.layers.size();
  r.range.assign(n_layers, {0, 0});
  r.same_as.resize(n_layers);
  for (std::size_t l = 0; l < n_layers; ++l) r.same_as[l] = static_cast<std::uint32_t>(l);
  r.times.assign(tensors.size(), 1);
  // A layer's tensors are contiguous, in layer order (model_tensors); MTP blocks, numbered
  // after the layers, stand alone.
  bool contiguous = true;
  std::int64_t last_layer = -1;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const std::int32_t l = tensors[i].layer;
    if (l < 0 || static_cast<std::size_t>(l) >= n_layers) continue;
    auto& range = r.range[static_cast<std::size_t>(l)];
    if (l != last_layer) {
      contiguous = contiguous && l > last_layer;
      range.first = i;
      last_layer = l;
    }
    range.second = i + 1;
  }
  r.by_layer = contiguous;
  if (!contiguous || !dedupe) return r;
  // What shard() reads of a layer (KV heads, head sizes) and what decides its tensors
  // (model_tensors builds them from the LayerSpec): cheap tests before the tensors and
  // types are compared one by one.
  const auto same = [&](std::size_t a, std::size_t b) {
    const LayerSpec& la = spec.layers[a];
    const LayerSpec& lb = spec.layers[b];
    if (la.attention != lb.attention || la.num_kv_heads != lb.num_kv_heads || la.head_dim_k != lb.head_dim_k ||
        la.head_dim_v != lb.head_dim_v || la.moe != lb.moe || la.has_mixer != lb.has_mixer ||
        la.has_mlp != lb.has_mlp || la.head_dim_q != lb.head_dim_q || la.k_eq_v != lb.k_eq_v) {
      return false;
    }
    const auto [a0, a1] = r.range[a];
    const auto [b0, b1] = r.range[b];
    if (a1 - a0 != b1 - b0) return false;
    for (std::size_t k = 0; k < a1 - a0; ++k) {
      const Tensor& x = tensors[a0 + k];
      const Tensor& y = tensors[b0 + k];
      if (x.role != y.role || x.bias != y.bias || x.mtp != y.mtp || !same_shape(x, y)) return false;
      if (!types.empty() && types[a0 + k] != types[b0 + k]) return false;
    }
    return true;
  };
  match_layers(r, same);
  return r;
}

LayerRepeats layer_repeats_typed(const LayerRepeats& untyped, std::span<const Dtype> types) {
  LayerRepeats r;
  r.by_layer = untyped.by_layer;
  r.range = untyped.range;
  const std::size_t n_layers = r.range.size();
  r.same_as.resize(n_layers);
  for (std::size_t l = 0; l < n_layers; ++l) r.same_as[l] = static_cast<std::uint32_t>(l);
  r.times.assign(types.size(), 1);
  if (!r.by_layer) return r;
  // A layer may repeat an earlier one only if it did without the types (same tensors, so
  // ranges of one length); then its types are compared one by one.
  match_layers(r, [&](std::size_t a, std::size_t b) {
    if (untyped.same_as[b] == b || untyped.same_as[a] != untyped.same_as[b]) return false;
    const auto [a0, a1] = r.range[a];
    const std::size_t b0 = r.range[b].first;
    for (std::size_t k = 0; k < a1 - a0; ++k) {
      if (types[a0 + k] != types[b0 + k]) return false;
    }
    return true;
  });
  return r;
}

void WeightTables::prepare() {
  if (prepared_) return;
  prepared_ = true;
  if (storage_.size() != tensors_.size()) storage_ = tensor_storage(spec_, tensors_, format_);
  if (format_.kind == FormatKind::gguf && choices_.size() != tensors_.size()) {
    choices_ = detail::gguf_types_chosen(spec_, tensors_, format_);
  }
  if (!repeats_ || repeats_->times.size() != tensors_.size()) {
    repeats_ = layer_repeats(spec_, tensors_, choices_, format_.kind != FormatKind::file && !format_.fp8_ffn_only);
  }
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    const std::int32_t l = tensors_[i].layer;
    if (l < 0 || static_cast<std::size_t>(l) >= spec_.layers.size()) outside_layers_.push_back(i);
  }
  for (std::uint32_t l = 0; l < spec_.layers.size(); ++l) {
    if (repeats_->same_as[l] == l) distinct_.push_back(l);
  }
}

const WeightTables::Table& WeightTables::table(std::uint32_t tp, bool ep) {
  for (const Table& t : tables_) {
    if (t.tp == tp && t.ep == ep) return t;
  }
  prepare();
  Table t;
  t.tp = tp;
  t.ep = ep;
  // Every layer on one stage: the storage rules that count tensors across the model (GGUF
  // mixes) see the whole model, as the file would have it.
  const Parallel one_stage{tp, 1, ep};
  const bool gguf = format_.kind == FormatKind::gguf;
  // Each tensor's shard bytes; only the entries written below are read.
  std::vector<std::uint64_t>& bytes = scratch_;
  bytes.resize(tensors_.size());
  bool whole_list = false; // a GGUF shard whose mix choice may differ: run the mix on the shards
  const auto store = [&](std::size_t i) {
    Tensor x = tensors_[i];
    shard(spec_, x, one_stage);
    if (same_shape(x, tensors_[i])) bytes[i] = storage_[i].bytes;
    else if (!gguf) bytes[i] = detail::storage_of(spec_, x, format_).bytes;
    else if (detail::gguf_choice_holds(tensors_[i], x)) bytes[i] = detail::gguf_storage_as(x, choices_[i]).bytes;
    else whole_list = true;
  };
  // The tensors outside the layers, and those of each distinct layer.
  const LayerRepeats& repeats = *repeats_;
  if (repeats.by_layer) {
    for (const std::size_t i : outside_layers_) store(i);
    for (const std::uint32_t l : distinct_) {
      for (std::size_t i = repeats.range[l].first; i < repeats.range[l].second; ++i) store(i);
    }
  } else {
    for (std::size_t i = 0; i < tensors_.size(); ++i) store(i);
  }
  if (whole_list) {
    std::vector<Tensor> shards = tensors_;
    for (Tensor& x : shards) shard(spec_, x, one_stage);
    const std::vector<TensorStorage> storage = tensor_storage(spec_, shards, format_);
    for (std::size_t i = 0; i < storage.size(); ++i) bytes[i] = storage[i].bytes;
  }
  // Tensors of the files vramcalc does not place: on the first stage, whole (an upper bound).
  if (format_.file) t.first_stage_bytes = format_.file->unmatched_bytes;
  std::vector<std::uint64_t> per_layer(spec_.num_layers);
  const auto add = [&](std::size_t i) {
    const Tensor& x = tensors_[i];
    if (x.layer >= 0) {
      const auto l = static_cast<std::size_t>(x.layer);
      per_layer[l] = checked_add(per_layer[l], bytes[i], "the weights per GPU");
    } else if (x.role == TensorRole::token_embd || x.group() == TensorGroup::vision) {
      t.first_stage_bytes = checked_add(t.first_stage_bytes, bytes[i], "the weights per GPU");
      if (x.role == TensorRole::token_embd) t.tied_head_bytes = bytes[i];
    } else {
      t.last_stage_bytes = checked_add(t.last_stage_bytes, bytes[i], "the weights per GPU");
    }
  };
  if (repeats.by_layer && !whole_list) {
    for (const std::size_t i : outside_layers_) add(i);
    for (const std::uint32_t l : distinct_) {
      for (std::size_t i = repeats.range[l].first; i < repeats.range[l].second; ++i) add(i);
    }
  } else {
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
      const std::int32_t l = tensors_[i].layer;
      if (whole_list || l < 0 || repeats.same_as[static_cast<std::size_t>(l)] == static_cast<std::uint32_t>(l)) add(i);
    }
  }
  if (!whole_list) {
    for (std::size_t l = 0; l < per_layer.size(); ++l) per_layer[l] = per_layer[repeats.same_as[l]];
  }
  if (!spec_.tie_word_embeddings) t.tied_head_bytes = 0;
  t.layer_prefix.assign(spec_.num_layers + 1, 0);
  t.uniform = true;
  for (std::size_t i = 0; i < per_layer.size(); ++i) {
    t.layer_prefix[i + 1] = checked_add(t.layer_prefix[i], per_layer[i], "the weights per GPU");
    t.uniform = t.uniform && per_layer[i] == per_layer[0];
  }
  if (t.uniform && !per_layer.empty()) t.layer_bytes = per_layer[0];
  tables_.push_back(std::move(t));
  return tables_.back();
}

const std::optional<Parallel>& WeightTables::layout(std::uint32_t gpus) {
  if (gpus >= layouts_.size()) layouts_.resize(gpus + 1);
  auto& known = layouts_[gpus];
  if (!known) known = choose_parallel(spec_, gpus);
  return *known;
}

const WeightTables::LayerKv& WeightTables::layer_kv(std::uint32_t tp, Dtype kv_dtype) {
  for (const KvKey& k : layer_kv_) {
    if (k.tp == tp && k.dtype == kv_dtype) return k.kv;
  }
  KvKey k{tp, kv_dtype, {}};
  LayerKv& kv = k.kv;
  const std::size_t n = spec_.layers.size();
  kv.layers.reserve(n);
  kv.kind.reserve(n);
  const auto same_kv = [](const LayerSpec& a, const LayerSpec& b) {
    return a.attention == b.attention && a.num_kv_heads == b.num_kv_heads && a.head_dim_k == b.head_dim_k &&
           a.head_dim_v == b.head_dim_v && a.has_mixer == b.has_mixer;
  };
  for (std::size_t i = 0; i < n; ++i) {
    const LayerSpec& spec = spec_.layers[i];
    // Layers repeat (every one, or every other): reuse the figures of the last two.
    if (i >= 1 && same_kv(spec, spec_.layers[i - 1])) {
      kv.layers.push_back(kv.layers[i - 1]);
    } else if (i >= 2 && same_kv(spec, spec_.layers[i - 2])) {
      kv.layers.push_back(kv.layers[i - 2]);
    } else {
      LayerSpec l = spec;
      l.num_kv_heads = kv_heads_per_rank(l.num_kv_heads, tp);
      // Recurrent state is split by heads and channels.
      kv.layers.push_back({kv_bytes_per_token(spec_, l, kv_dtype), ceil_div(state_bytes_per_sequence(spec_, l), tp)});
    }
    // Its kind: among the last few kinds (linear in the layers for any spec).
    const LayerKvBytes& b = kv.layers.back();
    std::uint32_t kind = static_cast<std::uint32_t>(kv.kind_layer.size());
    const std::size_t from = kv.kind_layer.size() > 16 ? kv.kind_layer.size() - 16 : 0;
    for (std::size_t c = kv.kind_layer.size(); c-- > from;) {
      const LayerSpec& o = spec_.layers[kv.kind_layer[c]];
      const LayerKvBytes& ob = kv.layers[kv.kind_layer[c]];
      if (ob.kv_bytes_per_token == b.kv_bytes_per_token && ob.state_bytes == b.state_bytes &&
          o.attention == spec.attention && o.window == spec.window) {
        kind = static_cast<std::uint32_t>(c);
        break;
      }
    }
    if (kind == kv.kind_layer.size()) {
      kv.kind_layer.push_back(static_cast<std::uint32_t>(i));
      kv.kind_count.push_back(0);
    }
    ++kv.kind_count[kind];
    kv.kind.push_back(kind);
  }
  layer_kv_.push_back(std::move(k));
  return layer_kv_.back().kv;
}

RankCosts::RankCosts(const ModelSpec& spec, const WeightFormat& format, Dtype kv_dtype, std::uint64_t context_tokens,
                     std::uint64_t batch, const KvPolicy& policy)
    : own_(std::make_unique<WeightTables>(spec, format)), weights_(own_.get()), kv_dtype_(kv_dtype),
      context_tokens_(context_tokens), batch_(batch), policy_(policy) {}

RankCosts::RankCosts(WeightTables& weights, Dtype kv_dtype, std::uint64_t context_tokens, std::uint64_t batch,
                     const KvPolicy& policy)
    : weights_(&weights), kv_dtype_(kv_dtype), context_tokens_(context_tokens), batch_(batch), policy_(policy) {
  kv_tables_.reserve(8); // the tensor-parallel widths tried: a few
}

void RankCosts::reset(WeightTables& weights, Dtype kv_dtype, std::uint64_t context_tokens, std::uint64_t batch,
                      const KvPolicy& policy) {
  own_.reset();
  weights_ = &weights;
  kv_dtype_ = kv_dtype;
  context_tokens_ = context_tokens;
  batch_ = batch;
  policy_ = policy;
  kv_live_ = 0;
}

RankCosts::KvTable& RankCosts::kv_table(std::uint32_t tp) {
  for (std::size_t i = 0; i < kv_live_; ++i) {
    if (kv_tables_[i].tp == tp) return kv_tables_[i];
  }
  const ModelSpec& spec = weights_->spec();
  const WeightTables::LayerKv& layers = weights_->layer_kv(tp, kv_dtype_);
  if (kv_live_ == kv_tables_.size()) kv_tables_.emplace_back();
  KvTable& t = kv_tables_[kv_live_]; // counted in once complete (a check may throw)
  t.tp = tp;
  t.layers = &layers;
  t.kind_kv.clear();
  t.kind_state.clear();
  t.kv_prefix.clear();
  t.state_prefix.clear();
  t.kv_total = t.state_total = 0;
  const std::uint64_t kept = policy_tokens(policy_, context_tokens_);
  const std::size_t kinds = layers.kind_layer.size();
  t.kind_kv.reserve(kinds);
  t.kind_state.reserve(kinds);
  for (std::size_t k = 0; k < kinds; ++k) {
    const std::uint32_t l = layers.kind_layer[k];
    const LayerKvBytes& b = layers.layers[l];
    const std::uint64_t per_seq = checked_mul(b.kv_bytes_per_token, kv_tokens_kept(spec.layers[l], kept), "the KV cache");
    const std::uint64_t kv = checked_mul(per_seq, batch_, "the KV cache");
    const std::uint64_t state = checked_mul(b.state_bytes, batch_, "the state");
    t.kind_kv.push_back(kv);
    t.kind_state.push_back(state);
    t.kv_total = checked_add(t.kv_total, checked_mul(kv, layers.kind_count[k], "the KV cache"), "the KV cache");
    t.state_total = checked_add(t.state_total, checked_mul(state, layers.kind_count[k], "the state"), "the state");
  }
  t.uniform = std::all_of(t.kind_kv.begin(), t.kind_kv.end(), [&](std::uint64_t b) { return b == t.kind_kv[0]; }) &&
              std::all_of(t.kind_state.begin(), t.kind_state.end(), [&](std::uint64_t b) { return b == t.kind_state[0]; });
  ++kv_live_;
  return t;
}

RankMemory RankCosts::busiest(const Parallel& p) {
  const WeightTables::Table& w = weights_->table(p.tp, p.expert_parallel);
  KvTable& kv = kv_table(p.tp);
  if (p.pp == 1) {
    // One stage holds everything.
    RankMemory r;
    r.weights_bytes = checked_add(checked_add(w.layer_prefix.back(), w.first_stage_bytes, "the weights per GPU"),
                                  w.last_stage_bytes, "the weights per GPU");
    r.kv_bytes = kv.kv_total;
    r.state_bytes = kv.state_total;
    return r;
  }
  const std::uint64_t num_layers = weights_->spec().num_layers;
  // stage_layers(): `base` layers a stage, one more for the stages from `extra_from` to the
  // one before the last.
  const std::uint64_t base = num_layers / p.pp;
  const std::uint64_t extra_from = p.pp - 1 - num_layers % p.pp;
  const auto layers_in = [&](std::uint64_t stage) {
    return base + (stage >= extra_from && stage + 1 < p.pp ? 1 : 0);
  };
  // One stage's memory from its layers' sums; the first stage holds the embedding, the last
  // the head. The busiest is the first stage with the most.
  RankMemory best;
  std::uint64_t best_total = 0;
  const auto visit = [&](std::uint64_t stage, std::uint64_t weights, std::uint64_t kv_bytes, std::uint64_t state) {
    RankMemory r{weights, kv_bytes, state};
    if (stage == 0) r.weights_bytes = checked_add(r.weights_bytes, w.first_stage_bytes, "the weights per GPU");
    if (stage + 1 == p.pp) {
      r.weights_bytes = checked_add(r.weights_bytes, w.last_stage_bytes, "the weights per GPU");
      r.weights_bytes = checked_add(r.weights_bytes, w.tied_head_bytes, "the weights per GPU");
    }
    const std::uint64_t total = r.total();
    if (stage == 0 || total > best_total) {
      best = r;
      best_total = total;
    }
  };
  if (w.uniform && kv.uniform && !kv.kind_kv.empty()) {
    // Every layer alike: a stage's memory grows with its layers, so the middle stages are
    // all outdone by the first of them with the most layers (stage max(extra_from, 1)), or
    // equalled by stage 1. The busiest is among stages 0, 1, that one and the last, visited
    // in order (products bounded by the totals, as the sums are).
    const std::uint64_t candidates[] = {0, 1, std::max<std::uint64_t>(extra_from, 1), p.pp - 1u};
    for (std::size_t c = 0; c < std::size(candidates); ++c) {
      const std::uint64_t stage = candidates[c];
      if (c > 0 && stage == candidates[c - 1]) continue;
      const std::uint64_t n = layers_in(stage);
      visit(stage, n * w.layer_bytes, n * kv.kind_kv[0], n * kv.kind_state[0]);
    }
    return best;
  }
  if (kv.kv_prefix.empty()) {
    const std::vector<std::uint32_t>& kind = kv.layers->kind;
    kv.kv_prefix.reserve(kind.size() + 1);
    kv.state_prefix.reserve(kind.size() + 1);
    kv.kv_prefix.push_back(0);
    kv.state_prefix.push_back(0);
    for (const std::uint32_t k : kind) {
      kv.kv_prefix.push_back(kv.kv_prefix.back() + kv.kind_kv[k]);
      kv.state_prefix.push_back(kv.state_prefix.back() + kv.kind_state[k]);
    }
  }
  std::uint64_t first = 0;
  for (std::uint32_t stage = 0; stage < p.pp; ++stage) {
    const std::uint64_t last = first + layers_in(stage);
    visit(stage, w.layer_prefix[last] - w.layer_prefix[first], kv.kv_prefix[last] - kv.kv_prefix[first],
          kv.state_prefix[last] - kv.state_prefix[first]);
    first = last;
  }
  return best;
}

RankMemory busiest_rank(const ModelSpec& spec, const WeightFormat& format, Dtype kv_dtype,
                        std::uint64_t context_tokens, std::uint64_t batch, const Parallel& p) {
  RankCosts costs(spec, format, kv_dtype, context_tokens, batch);
  return costs.busiest(p);
}

} // namespace vramcalc
