// Tensor and pipeline parallelism: what one GPU holds.
//
// Tensor parallel (tp) shards each linear layer across tp GPUs: column-parallel layers
// (q, k, v, gate, up) by output rows, row-parallel ones (o, down) by input columns; the
// vocabulary of the embedding and the head is split too. Norms, routers and MLA's
// compressed projections are replicated. KV heads are split, and replicated when tp
// exceeds their number (each GPU keeps max(1, kv_heads / tp)); MLA's latent is on every
// GPU. Pipeline parallel (pp) gives each stage a run of layers; the embedding goes with the
// first stage, the head with the last. docs/parallelism.md has the rules and sources.
#pragma once

#include "vramcalc/dtype.hpp"
#include "vramcalc/format.hpp"
#include "vramcalc/kv.hpp"
#include "vramcalc/model.hpp"
#include "vramcalc/tensors.hpp"
#include "vramcalc/units.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vramcalc {

struct Parallel {
  std::uint32_t tp = 1;
  std::uint32_t pp = 1;
  bool expert_parallel = false; // MoE experts spread over the tp GPUs instead of sharded
  [[nodiscard]] std::uint32_t gpus() const { return tp * pp; }
};

// Why a (tp, pp) does not work for a model; empty when it does.
[[nodiscard]] std::string parallel_problem(const ModelSpec& spec, const Parallel& p);

// The layers [first, last) stage `stage` holds (vLLM get_pp_indices: an even split, the
// remainder going to the later stages but the last).
[[nodiscard]] std::pair<std::uint64_t, std::uint64_t> stage_layers(std::uint64_t num_layers, std::uint32_t pp,
                                                                    std::uint32_t stage);

// The tensors (as shards) one GPU of `stage` holds under `p`.
[[nodiscard]] std::vector<Tensor> rank_tensors(const ModelSpec& spec, const Parallel& p, std::uint32_t stage);

struct RankMemory {
  std::uint64_t weights_bytes = 0;
  std::uint64_t kv_bytes = 0;    // for the context and batch asked
  std::uint64_t state_bytes = 0; // recurrent state
  [[nodiscard]] std::uint64_t total() const {
    return checked_add(checked_add(weights_bytes, kv_bytes, "the memory per GPU"), state_bytes, "the memory per GPU");
  }
};

// The layout vramcalc uses for `gpus` GPUs when the user gives none: tensor parallel over
// as many as possible up to 8 (one node), pipeline stages for the rest; the first (tp, pp)
// the model allows. Empty if no split of `gpus` works.
[[nodiscard]] std::optional<Parallel> choose_parallel(const ModelSpec& spec, std::uint32_t gpus);

// Layers that repeat an earlier layer of a tensor list (model_tensors' order): the same
// layer spec (the attention window aside, which no tensor shows), the same tensors (roles,
// shapes) and, when `types` are given (a GGUF mix's choices, one per tensor), the same types. Such layers store the same bytes
// and shard alike at any tensor-parallel width, so sums over a model's tensors can visit
// each distinct layer once, times the layers it stands for. Storage read from files goes
// by tensor name, so by layer: pass `dedupe` false for it.
struct LayerRepeats {
  bool by_layer = false; // each layer's tensors are contiguous; `range` holds them
  std::vector<std::pair<std::size_t, std::size_t>> range; // per layer: [first, last) in the list
  std::vector<std::uint32_t> same_as;                    // per layer: the layer it repeats (itself if none)
  std::vector<std::uint64_t> times; // per tensor: the tensors it stands for, itself included (0: a repeat)
  // The index of the tensor whose storage tensor `i` (a repeat) shares.
  [[nodiscard]] std::size_t original(std::size_t i, const Tensor& t) const;
};
[[nodiscard]] LayerRepeats layer_repeats(const ModelSpec& spec, std::span<const Tensor> tensors,
                                         std::span<const Dtype> types = {}, bool dedupe = true);
// layer_repeats(spec, tensors) narrowed to the layers whose `types` (one per tensor of a
// prefix of `tensors` holding every layer) match too: the same as layer_repeats with the
// types, from the comparisons already made. `times` then covers that prefix.
[[nodiscard]] LayerRepeats layer_repeats_typed(const LayerRepeats& untyped, std::span<const Dtype> types);

// The weights each GPU holds per layer, for any tensor-parallel width: they depend only on
// the model and the format, so one WeightTables serves every context, KV dtype and batch
// (sweeps and searches build it once). Tables are built on first use, one per (tp, ep);
// so are the other context-independent answers the fit search asks for again and again
// (layouts per GPU count, KV bytes per token per layer).
class WeightTables {
public:
  WeightTables(const ModelSpec& spec, const WeightFormat& format);
  // With the tensors the weights hold (model_tensors without the MTP blocks, and without the
  // vision tower when the format leaves it out) and their storage, as PreparedWeights has
  // them: the unsharded table then needs no second storage pass.
  // For a GGUF format, `gguf_choices` are the mix's types of `tensors` before the row-length
  // fallback (computed here when empty).
  WeightTables(const ModelSpec& spec, const WeightFormat& format, std::vector<Tensor> tensors,
               std::vector<TensorStorage> storage, std::vector<Dtype> gguf_choices = {},
               std::optional<LayerRepeats> repeats = std::nullopt);

  struct Table {
    std::uint32_t tp = 0;
    bool ep = false;
    std::vector<std::uint64_t> layer_prefix; // layer_prefix[i]: weights of layers [0, i)
    std::uint64_t first_stage_bytes = 0;     // token embedding, vision tower
    std::uint64_t last_stage_bytes = 0;      // final norm and head
    std::uint64_t tied_head_bytes = 0;       // a tied head's own copy when pp > 1
    std::uint64_t layer_bytes = 0;           // every layer's, when all layers hold the same
    bool uniform = false;                    // all layers hold the same bytes
  };
  const Table& table(std::uint32_t tp, bool ep);

  // choose_parallel(spec(), gpus), computed once per count.
  const std::optional<Parallel>& layout(std::uint32_t gpus);

  // Per layer, what one of `tp` GPUs keeps: KV bytes per token at `kv_dtype`, and bytes of
  // recurrent state per sequence (at tp 1: the whole model's, as kv_cache() counts them);
  // and the layers grouped into kinds that keep the same (same figures, same attention
  // window), so a context's KV cache is a few products rather than a sum over the layers.
  struct LayerKv {
    std::vector<LayerKvBytes> layers;
    std::vector<std::uint32_t> kind;       // per layer: its kind
    std::vector<std::uint32_t> kind_layer; // per kind: its first layer
    std::vector<std::uint64_t> kind_count; // per kind: its layers
  };
  const LayerKv& layer_kv(std::uint32_t tp, Dtype kv_dtype);

  [[nodiscard]] const ModelSpec& spec() const { return spec_; }

private:
  struct KvKey {
    std::uint32_t tp;
    Dtype dtype;
    LayerKv kv;
  };
  void prepare();

  const ModelSpec& spec_;
  WeightFormat format_;
  std::vector<Tensor> tensors_;        // unsharded
  std::vector<TensorStorage> storage_; // of tensors_
  // Filled by prepare(), before the first table (unless given):
  bool prepared_ = false;
  std::vector<Dtype> choices_; // GGUF: each tensor's type before the row-length fallback
  std::optional<LayerRepeats> repeats_;
  std::vector<std::uint32_t> distinct_;     // the layers that repeat no other
  std::vector<std::size_t> outside_layers_; // indices in tensors_ of the tensors of no layer
  std::vector<std::uint64_t> scratch_;      // table(): per tensor, reused
  std::deque<Table> tables_;           // deque: references stay valid as tables are added
  std::vector<std::optional<std::optional<Parallel>>> layouts_; // by GPU count; outer: known
  std::deque<KvKey> layer_kv_;
};

// What each GPU holds, for any (tp, pp): per-layer bytes are computed once per tp (and
// expert-parallel choice), so trying many layouts costs one pass over the tensors per tp
// plus a prefix sum per stage.
class RankCosts {
public:
  RankCosts(const ModelSpec& spec, const WeightFormat& format, Dtype kv_dtype, std::uint64_t context_tokens,
            std::uint64_t batch, const KvPolicy& policy = {});
  // With weight tables shared by other RankCosts (which must outlive this one).
  RankCosts(WeightTables& weights, Dtype kv_dtype, std::uint64_t context_tokens, std::uint64_t batch,
            const KvPolicy& policy = {});

  // The busiest GPU (the stage with the most bytes) under `p`.
  [[nodiscard]] RankMemory busiest(const Parallel& p);

  // The same costs for another request over `weights` (which must outlive this), reusing
  // this one's buffers: for sweeps that ask many.
  void reset(WeightTables& weights, Dtype kv_dtype, std::uint64_t context_tokens, std::uint64_t batch,
             const KvPolicy& policy = {});

private:
  struct KvTable {
    std::uint32_t tp = 0;
    const WeightTables::LayerKv* layers = nullptr;
    std::vector<std::uint64_t> kind_kv, kind_state; // per kind of layer: one layer's bytes
    std::uint64_t kv_total = 0, state_total = 0;    // every layer's
    bool uniform = false; // every kind keeps the same bytes (so every layer does)
    // Layers [0, i); built when a layout has more than one stage. No sum of them exceeds
    // the totals, which are checked.
    std::vector<std::uint64_t> kv_prefix, state_prefix;
  };
  KvTable& kv_table(std::uint32_t tp);

  std::unique_ptr<WeightTables> own_;
  WeightTables* weights_;
  Dtype kv_dtype_;
  std::uint64_t context_tokens_;
  std::uint64_t batch_;
  KvPolicy policy_;
  std::vector<KvTable> kv_tables_; // a reference lives only until the next kv_table()
  std::size_t kv_live_ = 0;        // kv_tables_[0, kv_live_) are this request's; the rest, spare buffers
};

// One-off form of RankCosts::busiest.
[[nodiscard]] RankMemory busiest_rank(const ModelSpec& spec, const WeightFormat& format, Dtype kv_dtype,
                                      std::uint64_t context_tokens, std::uint64_t batch, const Parallel& p);

// KV heads one tensor-parallel GPU keeps.
[[nodiscard]] std::uint64_t kv_heads_per_rank(std::uint64_t kv_heads, std::uint32_t tp);

} // namespace vramcalc
