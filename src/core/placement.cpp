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

std::string parallel_problem(const ModelSpec& spec, const Parallel& p) {
  if (p.tp == 0 || p.pp == 0) return "tp and pp must be at least 1";
  const auto& a = spec.attention;
  // The fit search asks for many layouts that are fine: no string is built for those.
  const auto tp = [&p] { return std::to_string(p.tp); };
  if (a.num_heads % p.tp != 0) {
    return "tp " + tp() + " does not divide the " + std::to_string(a.num_heads) + " attention heads";
  }
  if (!a.mla && a.num_kv_heads % p.tp != 0 && p.tp % a.num_kv_heads != 0) {
    return "tp " + tp() + " and the " + std::to_string(a.num_kv_heads) + " KV heads do not divide one another";
  }
  if (spec.moe && !p.expert_parallel && spec.moe->expert_intermediate_size % p.tp != 0) {
    return "tp " + tp() + " does not divide the expert width " + std::to_string(spec.moe->expert_intermediate_size);
  }
  if (spec.moe && p.expert_parallel && spec.moe->num_experts % p.tp != 0) {
    return "tp " + tp() + " does not divide the " + std::to_string(spec.moe->num_experts) + " experts";
  }
  if (p.pp > spec.num_layers) {
    return "pp " + std::to_string(p.pp) + " is more than the " + std::to_string(spec.num_layers) + " layers";
  }
  return {};
}

std::optional<Parallel> choose_parallel(const ModelSpec& spec, std::uint32_t gpus) {
  for (std::uint32_t tp = std::min<std::uint32_t>(gpus, 8); tp >= 1; --tp) {
    if (gpus % tp != 0) continue;
    const Parallel p{tp, gpus / tp, false};
    if (parallel_problem(spec, p).empty()) return p;
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
  case TensorRole::attn_sinks: return Split::rows;
  case TensorRole::attn_k:
  case TensorRole::attn_v: return Split::heads;
  case TensorRole::attn_output:
  case TensorRole::ffn_down:
  case TensorRole::ffn_down_exps:
  case TensorRole::ffn_down_shexp:
  case TensorRole::ssm_out: return t.bias ? Split::replicate : Split::cols;
  default: return Split::replicate; // norms, router, MLA q_a / kv_a, the vision tower
  }
}

// `t` as one GPU of `p` holds it.
void shard(const ModelSpec& spec, Tensor& t, const Parallel& p) {
  const std::uint64_t tp = p.tp;
  // One element of a bias or vector is its own row: treat ne0 as the split dimension.
  std::uint64_t& rows = t.bias || t.ne1 == 1 ? t.ne0 : t.ne1;
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

std::uint64_t RankMemory::total() const {
  return checked_add(checked_add(weights_bytes, kv_bytes, "the memory per GPU"), state_bytes, "the memory per GPU");
}

WeightTables::WeightTables(const ModelSpec& spec, const WeightFormat& format)
    : spec_(spec), format_(format), tensors_(model_tensors(spec)) {
  // As weight_bytes(): a GGUF does not hold the vision tower.
  if (detail::weights_drop_vision(format_)) {
    std::erase_if(tensors_, [](const Tensor& x) { return x.group() == TensorGroup::vision; });
  }
}

WeightTables::WeightTables(const ModelSpec& spec, const WeightFormat& format, std::vector<Tensor> tensors,
                           std::vector<TensorStorage> storage)
    : spec_(spec), format_(format), tensors_(std::move(tensors)), storage_(std::move(storage)) {}

const WeightTables::Table& WeightTables::table(std::uint32_t tp, bool ep) {
  for (const Table& t : tables_) {
    if (t.tp == tp && t.ep == ep) return t;
  }
  Table t;
  t.tp = tp;
  t.ep = ep;
  // Every layer on one stage: the storage rules that count tensors across the model (GGUF
  // mixes) see the whole model, as the file would have it.
  const Parallel one_stage{tp, 1, ep};
  std::vector<Tensor> tensors = tensors_;
  bool unsharded = true;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    shard(spec_, tensors[i], one_stage);
    unsharded = unsharded && same_shape(tensors[i], tensors_[i]);
  }
  // No shape changed (tp 1): the storage is the unsharded one.
  if (storage_.empty() && unsharded) storage_ = tensor_storage(spec_, tensors_, format_);
  const std::vector<TensorStorage> sharded = unsharded ? std::vector<TensorStorage>{} : tensor_storage(spec_, tensors, format_);
  const std::vector<TensorStorage>& storage = unsharded ? storage_ : sharded;
  // Tensors of the files vramcalc does not place: on the first stage, whole (an upper bound).
  if (format_.file) t.first_stage_bytes = format_.file->unmatched_bytes;
  std::vector<std::uint64_t> per_layer(spec_.num_layers);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& x = tensors[i];
    if (x.layer >= 0) {
      auto& w = per_layer[static_cast<std::size_t>(x.layer)];
      w = checked_add(w, storage[i].bytes, "the weights per GPU");
    } else if (x.role == TensorRole::token_embd || x.group() == TensorGroup::vision) {
      t.first_stage_bytes = checked_add(t.first_stage_bytes, storage[i].bytes, "the weights per GPU");
      if (x.role == TensorRole::token_embd) t.tied_head_bytes = storage[i].bytes;
    } else {
      t.last_stage_bytes = checked_add(t.last_stage_bytes, storage[i].bytes, "the weights per GPU");
    }
  }
  if (!spec_.tie_word_embeddings) t.tied_head_bytes = 0;
  t.layer_prefix.assign(spec_.num_layers + 1, 0);
  for (std::size_t i = 0; i < per_layer.size(); ++i) {
    t.layer_prefix[i + 1] = checked_add(t.layer_prefix[i], per_layer[i], "the weights per GPU");
  }
  tables_.push_back(std::move(t));
  return tables_.back();
}

const std::optional<Parallel>& WeightTables::layout(std::uint32_t gpus) {
  if (gpus >= layouts_.size()) layouts_.resize(gpus + 1);
  auto& known = layouts_[gpus];
  if (!known) known = choose_parallel(spec_, gpus);
  return *known;
}

const std::vector<WeightTables::LayerKv>& WeightTables::layer_kv(std::uint32_t tp, Dtype kv_dtype) {
  for (const KvKey& k : layer_kv_) {
    if (k.tp == tp && k.dtype == kv_dtype) return k.layers;
  }
  KvKey k{tp, kv_dtype, {}};
  k.layers.reserve(spec_.layers.size());
  for (LayerSpec l : spec_.layers) {
    l.num_kv_heads = kv_heads_per_rank(l.num_kv_heads, tp);
    // Recurrent state is split by heads and channels.
    k.layers.push_back({kv_bytes_per_token(spec_, l, kv_dtype), ceil_div(state_bytes_per_sequence(spec_, l), tp)});
  }
  layer_kv_.push_back(std::move(k));
  return layer_kv_.back().layers;
}

RankCosts::RankCosts(const ModelSpec& spec, const WeightFormat& format, Dtype kv_dtype, std::uint64_t context_tokens,
                     std::uint64_t batch, const KvPolicy& policy)
    : own_(std::make_unique<WeightTables>(spec, format)), weights_(own_.get()), kv_dtype_(kv_dtype),
      context_tokens_(context_tokens), batch_(batch), policy_(policy) {}

RankCosts::RankCosts(WeightTables& weights, Dtype kv_dtype, std::uint64_t context_tokens, std::uint64_t batch,
                     const KvPolicy& policy)
    : weights_(&weights), kv_dtype_(kv_dtype), context_tokens_(context_tokens), batch_(batch), policy_(policy) {}

const RankCosts::KvTable& RankCosts::kv_table(std::uint32_t tp) {
  for (const KvTable& t : kv_tables_) {
    if (t.tp == tp) return t;
  }
  const ModelSpec& spec = weights_->spec();
  const std::vector<WeightTables::LayerKv>& layers = weights_->layer_kv(tp, kv_dtype_);
  KvTable t;
  t.tp = tp;
  t.kv_prefix.assign(spec.num_layers + 1, 0);
  t.state_prefix.assign(spec.num_layers + 1, 0);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const std::uint64_t per_seq = checked_mul(layers[i].kv_bytes_per_token,
                                              kv_tokens_held(spec.layers[i], context_tokens_, policy_), "the KV cache");
    t.kv_prefix[i + 1] = checked_add(t.kv_prefix[i], checked_mul(per_seq, batch_, "the KV cache"), "the KV cache");
    const std::uint64_t state = checked_mul(layers[i].state_bytes, batch_, "the state");
    t.state_prefix[i + 1] = checked_add(t.state_prefix[i], state, "the state");
  }
  kv_tables_.push_back(std::move(t));
  return kv_tables_.back();
}

RankMemory RankCosts::busiest(const Parallel& p) {
  const WeightTables::Table& w = weights_->table(p.tp, p.expert_parallel);
  const KvTable& kv = kv_table(p.tp);
  const std::uint64_t num_layers = weights_->spec().num_layers;
  RankMemory best;
  for (std::uint32_t stage = 0; stage < p.pp; ++stage) {
    const auto [first, last] = stage_layers(num_layers, p.pp, stage);
    RankMemory r;
    r.weights_bytes = w.layer_prefix[last] - w.layer_prefix[first];
    r.kv_bytes = kv.kv_prefix[last] - kv.kv_prefix[first];
    r.state_bytes = kv.state_prefix[last] - kv.state_prefix[first];
    if (stage == 0) r.weights_bytes = checked_add(r.weights_bytes, w.first_stage_bytes, "the weights per GPU");
    if (stage + 1 == p.pp) {
      r.weights_bytes = checked_add(r.weights_bytes, w.last_stage_bytes, "the weights per GPU");
      if (p.pp > 1) r.weights_bytes = checked_add(r.weights_bytes, w.tied_head_bytes, "the weights per GPU");
    }
    if (r.total() > best.total()) best = r;
  }
  return best;
}

RankMemory busiest_rank(const ModelSpec& spec, const WeightFormat& format, Dtype kv_dtype,
                        std::uint64_t context_tokens, std::uint64_t batch, const Parallel& p) {
  RankCosts costs(spec, format, kv_dtype, context_tokens, batch);
  return costs.busiest(p);
}

} // namespace vramcalc
