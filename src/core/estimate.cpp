#include "vramcalc/estimate.hpp"

#include "vramcalc/kv.hpp"
#include "vramcalc/tensors.hpp"
#include "vramcalc/units.hpp"

#include "engine_sections.hpp"
#include "weights_detail.hpp"

#include <algorithm>
#include <limits>
#include <tuple>

namespace vramcalc {

namespace {

// Whether the engine planned drafts with the model's MTP layers, so their weights are in its
// figures: vLLM's and TensorRT-LLM's MTP method, llama.cpp's draft-mtp (Ollama's from 0.30.0
// too), SGLang's NEXTN / EAGLE without a draft model of its own.
bool engine_loads_mtp(const Settings& settings, const Report& r) {
  if (settings.engine == EngineKind::vllm) return settings.engine_options.vllm.speculative.method == VllmSpecMethod::mtp;
  if (settings.engine == EngineKind::trtllm) return settings.engine_options.trtllm.speculative.kind == TrtllmSpecKind::mtp;
  if (!r.engine) return false;
  if (const auto* l = std::get_if<LlamaCppSection>(&r.engine->detail)) return l->plan.mtp.has_value();
  if (const auto* o = std::get_if<OllamaSection>(&r.engine->detail)) return o->plan.llamacpp.mtp.has_value();
  if (const auto* g = std::get_if<SglangSection>(&r.engine->detail)) {
    return g->plan.draft_model.empty() && g->plan.draft_layers > 0 && g->plan.draft_weights_bytes > 0;
  }
  return false;
}

} // namespace

std::uint64_t usable_bytes(const GpuSpec& gpu) {
  // memory_bytes < 2^56 and usable_percent <= 100 (checked by the loader), so no overflow.
  return gpu.memory_bytes / 100 * gpu.usable_percent + gpu.memory_bytes % 100 * gpu.usable_percent / 100;
}

std::uint64_t cuda_visible_bytes(const GpuSpec& gpu) {
  if (gpu.cuda_memory_bytes) return *gpu.cuda_memory_bytes;
  constexpr std::uint64_t reserve = 512ull << 20;
  if (gpu.custom || gpu.vendor != "nvidia" || gpu.memory_bytes <= 2 * reserve) return gpu.memory_bytes;
  return gpu.memory_bytes - reserve;
}

std::string cuda_visible_source(const GpuSpec& gpu) {
  if (gpu.cuda_memory_bytes) return gpu.cuda_memory_source;
  if (gpu.custom) return "as given with --gpu-mem";
  if (gpu.vendor != "nvidia" || gpu.memory_bytes <= (1ull << 30)) return "the catalog's total";
  return "rule: the driver's total less 512 MiB";
}

namespace {

std::uint32_t min_count_even(std::uint64_t model_bytes, std::uint64_t overhead_bytes, std::uint64_t usable) {
  if (usable <= overhead_bytes) return 0;
  // ceil(model / n) + overhead <= usable  <=>  model <= n * (usable - overhead).
  const std::uint64_t n = std::max<std::uint64_t>(1, ceil_div(model_bytes, usable - overhead_bytes));
  return n > max_gpu_count ? 0 : static_cast<std::uint32_t>(n);
}

} // namespace

std::uint32_t min_gpu_count_even(std::uint64_t model_bytes, std::uint64_t overhead_bytes, const GpuSpec& gpu) {
  return min_count_even(model_bytes, overhead_bytes, usable_bytes(gpu));
}

namespace {

// Memory of the busiest GPU for each GPU count, computed once per estimate and shared by
// every GPU row (it does not depend on the GPU). Reset for each estimate; its buffers stay.
class FitSearch {
public:
  void reset(WeightTables& weights, const Settings& s) {
    weights_ = &weights;
    if (costs_) costs_->reset(weights, s.kv_dtype, s.context_tokens, s.batch, s.kv_policy);
    else costs_.emplace(weights, s.kv_dtype, s.context_tokens, s.batch, s.kv_policy);
    overhead_ = s.overhead_bytes;
    // The draft model of speculative decoding (Settings::draft): on every GPU, sharded at
    // the target's tensor-parallel width, its KV cache for the same context and sequences;
    // not one the engine alone sizes (DraftModel::engine_only).
    if (s.draft && !s.draft->engine_only) {
      if (draft_ != s.draft.get()) {
        draft_ = s.draft.get();
        draft_costs_.reset();
        draft_tables_ = std::make_unique<WeightTables>(draft_->spec, draft_->format);
      }
      if (draft_costs_) draft_costs_->reset(*draft_tables_, s.kv_dtype, s.context_tokens, s.batch, s.kv_policy);
      else draft_costs_.emplace(*draft_tables_, s.kv_dtype, s.context_tokens, s.batch, s.kv_policy);
    } else {
      draft_ = nullptr;
      draft_costs_.reset();
    }
    memo_.clear();
    // by_count_ entries of an earlier estimate are told apart by their stamp, not cleared.
    if (++stamp_ == 0) {
      for (Slot& slot : by_count_) slot.stamp = 0;
      stamp_ = 1;
    }
  }

  // The busiest GPU under a layout: its parts (overhead not included) and what it needs in
  // all, overhead included.
  struct Busiest {
    RankMemory parts;
    std::uint64_t required = 0;
  };

  // Every GPU row asks for the same few layouts: each is computed once.
  Busiest at(const Parallel& p) {
    for (const auto& [key, value] : memo_) {
      if (key.tp == p.tp && key.pp == p.pp && key.expert_parallel == p.expert_parallel) return value;
    }
    RankMemory parts = costs_->busiest(p);
    if (draft_costs_) {
      const RankMemory d = draft_costs_->busiest(Parallel{p.tp, 1, p.expert_parallel});
      parts.weights_bytes = checked_add(parts.weights_bytes, d.weights_bytes, "the memory per GPU");
      parts.kv_bytes = checked_add(parts.kv_bytes, d.kv_bytes, "the memory per GPU");
      parts.state_bytes = checked_add(parts.state_bytes, d.state_bytes, "the memory per GPU");
    }
    const Busiest b{parts, checked_add(parts.total(), overhead_, "the memory per GPU")};
    memo_.emplace_back(p, b);
    return b;
  }
  std::uint64_t required(const Parallel& p) { return at(p).required; }
  [[nodiscard]] std::uint64_t overhead() const { return overhead_; }

  // The smallest count of a GPU with `usable` bytes that fits with a chosen layout, searched
  // upward from the even-split lower bound; 0 if none up to max_gpu_count.
  std::uint32_t min_count(std::uint64_t usable, std::uint64_t model_bytes) {
    const std::uint32_t lower = min_count_even(model_bytes, overhead_, usable);
    if (lower == 0) return 0;
    const std::uint32_t upper = std::min<std::uint32_t>(max_gpu_count, lower * 4 + 8);
    for (std::uint32_t n = lower; n <= upper; ++n) {
      const Count& c = count(n);
      if (c.layout && c.busiest.required <= usable) return n;
    }
    return 0;
  }

  // `n` GPUs in the layout choose_parallel gives them (none if no layout of n works), and
  // the busiest GPU under it. Every GPU row searches the same counts: each is looked up
  // once per estimate.
  struct Count {
    std::optional<Parallel> layout;
    Busiest busiest;
  };
  const Count& count(std::uint32_t n) {
    if (n >= by_count_.size()) by_count_.resize(n + 1);
    Slot& slot = by_count_[n];
    if (slot.stamp != stamp_) {
      slot.count.layout = weights_->layout(n);
      slot.count.busiest = slot.count.layout ? at(*slot.count.layout) : Busiest{};
      slot.stamp = stamp_;
    }
    return slot.count;
  }

private:
  struct Slot {
    std::uint32_t stamp = 0; // the estimate it was computed for
    Count count;
  };
  WeightTables* weights_ = nullptr;
  std::optional<RankCosts> costs_;
  const DraftModel* draft_ = nullptr;
  std::unique_ptr<WeightTables> draft_tables_; // the draft's; outlives draft_costs_
  std::optional<RankCosts> draft_costs_;
  std::uint64_t overhead_ = 0;
  std::vector<std::pair<Parallel, Busiest>> memo_;
  std::vector<Slot> by_count_; // references stay valid: resized only in count()
  std::uint32_t stamp_ = 0;
};

// One row of the fit check: `gpu` at `count` (0: its smallest count, `smallest`), in the
// layout given or the one choose_parallel gives.
void fit_of(GpuFit& f, FitSearch& search, const ModelSpec& spec, const GpuSpec& gpu, std::uint64_t usable,
            std::uint32_t count, const std::optional<Parallel>& given, bool requested, std::uint32_t smallest) {
  f.gpu = &gpu;
  f.requested = requested;
  f.usable_bytes = usable;
  f.min_count = smallest;
  f.count = count;
  std::optional<Parallel> layout = given;
  FitSearch::Busiest busiest;
  if (!layout) {
    const std::uint32_t n = count != 0 ? count : smallest;
    if (n != 0) {
      // choose_parallel's layout: no problem by construction.
      const FitSearch::Count& c = search.count(n);
      layout = c.layout;
      busiest = c.busiest;
    } else {
      layout = Parallel{};
    }
  }
  if (!layout) {
    f.problem = GpuFit::Problem::no_split;
    f.layout = Parallel{count, 1, false};
    f.required_bytes_per_gpu = search.required(Parallel{});
    return;
  }
  if (busiest.required == 0) {
    if (!parallel_problem(spec, *layout).empty()) f.problem = GpuFit::Problem::layout;
    busiest = search.at(*layout);
  }
  f.layout = *layout;
  f.count = layout->gpus();
  f.required_bytes_per_gpu = busiest.required;
  f.busiest = busiest.parts;
  f.overhead_bytes = search.overhead();
  f.fits = f.problem == GpuFit::Problem::none && f.required_bytes_per_gpu <= usable;
}

// The memory of the whole model for the settings (weights, KV cache, state) and with the
// overhead; fails (OverflowError) like estimate().
struct Totals {
  KvCache kv;
  RankMemory draft; // the draft model's weights, KV cache and state, all of them
  std::uint64_t model_bytes = 0;
  std::uint64_t total_bytes = 0;
};

Totals totals_of(const Settings& s, const PreparedWeights& prepared) {
  Totals t;
  t.kv = kv_cache(prepared.model(), prepared.tables().layer_kv(1, s.kv_dtype).layers, s.kv_dtype, s.context_tokens, s.batch,
                  s.kv_policy);
  t.model_bytes = checked_add(checked_add(prepared.weights().total, t.kv.total_bytes, "the total memory"),
                              t.kv.state_total_bytes, "the total memory");
  if (s.draft && !s.draft->engine_only) {
    t.draft = busiest_rank(s.draft->spec, s.draft->format, s.kv_dtype, s.context_tokens, s.batch, Parallel{});
    t.model_bytes = checked_add(t.model_bytes, t.draft.total(), "the total memory");
  }
  t.total_bytes = checked_add(t.model_bytes, s.overhead_bytes, "the total memory");
  if (t.total_bytes > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    throw OverflowError("the total memory (" + with_commas(t.total_bytes) + " bytes) exceeds 2^63 bytes");
  }
  return t;
}

} // namespace

// The KV cache by the tokens its layers hold (report.hpp KvGroup), from the same per-layer
// bytes as kv_cache(): the groups sum to its total.
namespace {

std::vector<KvGroup> kv_groups(const ModelSpec& model, std::span<const LayerKvBytes> layers, const Settings& s) {
  std::vector<KvGroup> out;
  const std::uint64_t kept = policy_tokens(s.kv_policy, s.context_tokens);
  for (std::size_t i = 0; i < std::min(layers.size(), model.layers.size()); ++i) {
    const LayerSpec& l = model.layers[i];
    if (layers[i].kv_bytes_per_token == 0) continue;
    const std::string kind = l.attention == AttentionKind::sliding   ? "window"
                             : l.attention == AttentionKind::chunked ? "chunked"
                             : model.attention.mla && model.attention.mla->latent_cache ? "latent"
                                                                     : "full";
    const std::uint64_t window = l.attention == AttentionKind::full ? 0 : l.window;
    KvGroup* g = nullptr;
    for (KvGroup& x : out) {
      if (x.kind == kind && x.window_tokens == window) g = &x;
    }
    if (g == nullptr) {
      g = &out.emplace_back();
      g->kind = kind;
      g->window_tokens = window;
      g->tokens_held = kv_tokens_kept(l, kept);
    }
    ++g->layers;
    g->bytes_per_token = checked_add(g->bytes_per_token, layers[i].kv_bytes_per_token, "the KV bytes per token");
  }
  // Full context first, then the layers that hold less (the order the table reads them in).
  const auto rank = [](const KvGroup& g) {
    return g.kind == "full" ? 0 : g.kind == "latent" ? 1 : g.kind == "chunked" ? 2 : 3;
  };
  std::stable_sort(out.begin(), out.end(), [&](const KvGroup& a, const KvGroup& b) {
    return std::make_pair(rank(a), a.window_tokens) < std::make_pair(rank(b), b.window_tokens);
  });
  for (KvGroup& g : out) g.bytes = checked_mul(checked_mul(g.bytes_per_token, g.tokens_held, "the KV cache size"), s.batch, "the KV cache size");
  return out;
}

} // namespace

// What a fit check keeps between estimates: the catalog's GPUs in the order rows list GPUs
// that need as many (least memory, then id, then catalog order), their usable bytes, the
// search and the rows.
struct FitChecker::State {
  explicit State(std::span<const GpuSpec> gpus) : catalog(gpus) {}
  std::span<const GpuSpec> catalog;
  bool ordered = false;
  std::vector<const GpuSpec*> gpu; // the catalog in that order
  std::vector<std::uint64_t> usable;
  std::vector<std::uint32_t> smallest; // per GPU in that order: its smallest count
  std::vector<std::uint64_t> keys;     // (rank << 32) | position, sorted
  FitSearch search;
  std::vector<GpuFit> rows;

  void order() {
    if (ordered) return;
    ordered = true;
    std::vector<std::pair<std::uint64_t, const GpuSpec*>> by_usable;
    by_usable.reserve(catalog.size());
    for (const GpuSpec& g : catalog) by_usable.emplace_back(usable_bytes(g), &g);
    std::sort(by_usable.begin(), by_usable.end(), [](const auto& a, const auto& b) {
      if (a.first != b.first) return a.first < b.first;
      if (a.second->id != b.second->id) return a.second->id < b.second->id;
      return a.second < b.second; // catalog order
    });
    for (const auto& [u, g] : by_usable) {
      usable.push_back(u);
      gpu.push_back(g);
    }
  }

  // The rows of the fit check; fails (OverflowError) like estimate().
  void fit_rows(const Settings& settings, const PreparedWeights& prepared, std::uint64_t model_bytes) {
    const ModelSpec& model = prepared.model();
    search.reset(prepared.tables(), settings);
    rows.clear();
    if (!settings.gpus.empty()) {
      for (const GpuRequest& g : settings.gpus) {
        const std::uint64_t u = usable_bytes(g.gpu);
        fit_of(rows.emplace_back(), search, model, g.gpu, u, g.count, settings.parallel, true,
               search.min_count(u, model_bytes));
      }
      return;
    }
    // Smallest deployment first: fewest GPUs, then the order above; GPUs that cannot hold
    // the model at any count last. Positions are below 2^32 (the catalog is in memory).
    order();
    const std::size_t n = gpu.size();
    smallest.resize(n);
    keys.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      // GPUs of the same usable bytes need the same count.
      smallest[i] = i > 0 && usable[i] == usable[i - 1] ? smallest[i - 1] : search.min_count(usable[i], model_bytes);
      const std::uint64_t rank = smallest[i] == 0 ? std::uint64_t{max_gpu_count} + 1 : smallest[i];
      keys[i] = rank << 32 | i;
    }
    std::sort(keys.begin(), keys.end());
    for (const std::uint64_t key : keys) {
      const std::size_t i = key & 0xffff'ffffu;
      fit_of(rows.emplace_back(), search, model, *gpu[i], usable[i], 0, settings.parallel, false, smallest[i]);
    }
  }
};

namespace {

void fill_fit_row(FitRow& r, const GpuFit& f, const ModelSpec& spec) {
  const GpuSpec& gpu = *f.gpu;
  r.gpu = gpu.id;
  r.gpu_name = gpu.name;
  r.gpu_segment = gpu.segment;
  r.gpu_memory_bytes = gpu.memory_bytes;
  r.gpu_bandwidth_gb_per_s = gpu.bandwidth_gb_per_s;
  r.gpu_bf16_tflops = gpu.bf16_tflops;
  r.requested = f.requested;
  r.usable_bytes = f.usable_bytes;
  r.min_count = f.min_count;
  r.count = f.count;
  r.tp = f.layout.tp;
  r.pp = f.layout.pp;
  r.required_bytes_per_gpu = f.required_bytes_per_gpu;
  if (f.problem == GpuFit::Problem::no_split) {
    r.problem = "no tensor / pipeline split of " + std::to_string(f.count) + " GPUs suits this model";
    r.headroom_bytes = 0;
    return;
  }
  if (f.problem == GpuFit::Problem::layout) r.problem = parallel_problem(spec, f.layout);
  r.busiest_weights_bytes = f.busiest.weights_bytes;
  r.busiest_kv_bytes = f.busiest.kv_bytes;
  r.busiest_state_bytes = f.busiest.state_bytes;
  r.overhead_bytes = f.overhead_bytes;
  r.fits = f.fits;
  // Both sides are below 2^63 (checked by the caller), so the difference fits in int64.
  r.headroom_bytes = static_cast<std::int64_t>(r.usable_bytes) - static_cast<std::int64_t>(r.required_bytes_per_gpu);
}

// Upper bounds on speed (docs/speed.md). Decode: every step reads the weights it uses once
// (for MoE, the experts chosen by the batch's tokens, at most all of them) and each
// sequence's KV cache, at the GPUs' memory bandwidth; tensor-parallel GPUs read their shares
// at once, pipeline stages one after another. Prefill: 2 FLOPs per active parameter per
// token plus attention's 2 x q width x (context x tokens attended), at dense BF16 TFLOPS.
void add_speed_bounds(Report& r, const ModelSpec& model, const Settings& s, const WeightBytes& w, const KvCache& kv,
                      const ParamCounts& params) {
  const double batch = static_cast<double>(s.batch);
  double weights_read = static_cast<double>(w.total - w.routed_expert_bytes);
  if (model.moe && w.routed_expert_bytes > 0) {
    const double experts = static_cast<double>(model.moe->num_experts);
    const double chosen = std::min(experts, batch * static_cast<double>(model.moe->experts_per_token));
    weights_read += static_cast<double>(w.routed_expert_bytes) * chosen / experts;
  }
  const double step_bytes = weights_read + static_cast<double>(kv.total_bytes + kv.state_total_bytes);
  // Prefill FLOPs for one sequence of the whole context.
  const double ctx = static_cast<double>(s.context_tokens);
  const double q_width = static_cast<double>(model.attention.num_heads * model.attention.head_dim);
  double attention = 0;
  const std::uint64_t kept = policy_tokens(s.kv_policy, s.context_tokens);
  for (const LayerSpec& l : model.layers) {
    if (!l.has_mixer || l.attention == AttentionKind::none) continue;
    // A layer with its own query head size (Gemma 4's global layers) attends that wide.
    const double width = l.head_dim_q != 0 ? static_cast<double>(model.attention.num_heads * l.head_dim_q) : q_width;
    attention += 2 * width * ctx * static_cast<double>(kv_tokens_kept(l, kept));
  }
  const double flops = 2 * static_cast<double>(params.active) * ctx + attention;
  for (FitRow& f : r.fit) {
    if (!f.problem.empty() || f.count == 0) continue;
    if (f.gpu_bandwidth_gb_per_s > 0 && step_bytes > 0) {
      const double step_seconds = step_bytes / (static_cast<double>(f.tp) * f.gpu_bandwidth_gb_per_s * 1e9);
      f.decode_tokens_per_s = 1.0 / step_seconds;
      f.aggregate_decode_tokens_per_s = batch / step_seconds;
    }
    if (f.gpu_bf16_tflops && *f.gpu_bf16_tflops > 0) {
      f.prefill_seconds = flops / (static_cast<double>(f.tp) * *f.gpu_bf16_tflops * 1e12);
    }
    f.cost = cheapest_offer(s.prices, f.gpu, f.tp, f.pp);
    if (f.cost && f.aggregate_decode_tokens_per_s) {
      f.usd_per_million_output_tokens = usd_per_million_tokens(f.cost->usd_micros_per_hour, *f.aggregate_decode_tokens_per_s);
    }
  }
}

} // namespace


void decide_by_engine(FitRow& row, const EngineSection& e, std::uint64_t batch) {
  row.decided_by = std::string(e.name());
  row.fits = e.fits;
  detail::engine_decide(row, e, batch);
}

namespace {

// The fewest GPUs of the first requested type the engine fits on (more than asked, up to
// 64); 0 if none. The same search as every engine verdict: the engine planned at each count.
std::uint32_t engine_min_count(const ModelSpec& model, const Settings& settings) {
  Settings t = settings;
  t.gpus.resize(1);
  t.parallel.reset();
  const std::uint32_t most = detail::engine_most_gpus(settings.engine, model);
  for (std::uint32_t n = std::max<std::uint32_t>(2, settings.gpus.front().count + 1); n <= most; ++n) {
    t.gpus.front().count = n;
    const auto p = choose_parallel(model, n);
    if (!p && engine_traits(settings.engine).parallel_layouts) continue;
    if (detail::engine_section(model, t, p.value_or(Parallel{1, n, false})).fits) return n;
  }
  return 0;
}

} // namespace

FitChecker::FitChecker(std::span<const GpuSpec> catalog) : state_(std::make_unique<State>(catalog)) {}
FitChecker::~FitChecker() = default;
FitChecker::FitChecker(FitChecker&&) noexcept = default;
FitChecker& FitChecker::operator=(FitChecker&&) noexcept = default;

std::expected<std::span<const GpuFit>, Error> FitChecker::check(const Settings& settings,
                                                                       const PreparedWeights& prepared) {
  if (!same_storage_rule(settings.weights, prepared.format())) {
    auto again = PreparedWeights::make(prepared.model(), settings.weights);
    if (!again) return std::unexpected(again.error());
    return check(settings, *again); // the rows refer to GPUs, not to the weights
  }
  return overflow_as_error([&] {
    state_->fit_rows(settings, prepared, totals_of(settings, prepared).model_bytes);
    return std::span<const GpuFit>(state_->rows);
  });
}

std::expected<std::vector<GpuFit>, Error> fit_check(const Settings& settings, std::span<const GpuSpec> catalog,
                                                           const PreparedWeights& prepared) {
  FitChecker checker(catalog);
  auto rows = checker.check(settings, prepared);
  if (!rows) return std::unexpected(rows.error());
  return std::vector<GpuFit>(rows->begin(), rows->end());
}

PreparedModel::PreparedModel(const ModelSpec& model) : model_(&model), tensors_(model_tensors(model, true)) {
  // What the weights hold: no MTP block, and no vision tower in a format that leaves it
  // out. The list ends with the vision tower, then the MTP blocks (model_tensors): prefixes.
  n_held_ = tensors_.size();
  while (n_held_ > 0 && tensors_[n_held_ - 1].mtp) --n_held_;
  n_held_text_ = n_held_;
  while (n_held_text_ > 0 && tensors_[n_held_text_ - 1].group() == TensorGroup::vision) --n_held_text_;
  // Repeated layers are counted and stored once, times their number (layer_repeats); the
  // tensors after the layers (vision tower, MTP blocks) count once each.
  repeats_ = layer_repeats(model, tensors_);
  params_ = detail::count_params(model, tensors_, repeats_.times);
  gguf_infos_bytes_ = gguf_infos_bytes();
}

std::uint64_t PreparedModel::gguf_infos_bytes() const {
  const std::span<const Tensor> text(tensors_.data(), n_held_text_);
  if (!repeats_.by_layer) return detail::gguf_tensor_infos_bytes(text);
  // A layer that repeats another has the same tensors, so the same infos but for the layer
  // number in each name ("blk.7." against "blk.12."). The layers' tensors are in the text.
  const std::size_t n_layers = repeats_.range.size();
  const auto digits = [](std::size_t l) {
    std::uint64_t d = 1;
    for (; l >= 10; l /= 10) ++d;
    return d;
  };
  std::uint64_t bytes = 0;
  for (const Tensor& t : text) {
    if (t.layer < 0 || static_cast<std::size_t>(t.layer) >= n_layers) bytes += detail::gguf_tensor_info_bytes(t);
  }
  std::vector<std::uint64_t> own(n_layers); // a layer that repeats none: its infos
  for (std::size_t l = 0; l < n_layers; ++l) {
    const auto [first, last] = repeats_.range[l];
    if (last > text.size()) return detail::gguf_tensor_infos_bytes(text); // not so: count them all
    const std::uint32_t d = repeats_.same_as[l];
    if (d == l) {
      own[l] = detail::gguf_tensor_infos_bytes(text.subspan(first, last - first));
      bytes += own[l];
    } else {
      bytes += own[d] - (last - first) * digits(d) + (last - first) * digits(l);
    }
  }
  return bytes;
}

std::expected<PreparedModel, Error> PreparedModel::make(const ModelSpec& model) {
  return overflow_as_error([&] { return PreparedModel(model); });
}

PreparedWeights::PreparedWeights(PreparedModel prepared, const WeightFormat& format)
    : model_(prepared.model_), format_(format), params_(prepared.params_) {
  // One tensor list and one storage pass serve the weights, the file and the unsharded
  // per-GPU table; the public count_params / weight_bytes / file_bytes run the same code
  // over lists of their own (weights_detail.hpp).
  const ModelSpec& model = *model_;
  const std::vector<Tensor>& all = prepared.tensors_;
  const bool drop_vision = detail::weights_drop_vision(format);
  const std::size_t n_held = drop_vision ? prepared.n_held_text_ : prepared.n_held_;
  const std::span<const Tensor> held(all.data(), n_held);
  // A GGUF mix may store two layers of one shape differently: repeats then also need the
  // same choices. Storage from files goes by name, so by layer: no repeats.
  std::vector<Dtype> choices;
  LayerRepeats repeats;
  if (format.kind == FormatKind::gguf) {
    choices = detail::gguf_types_chosen(model, held, format);
    repeats = layer_repeats_typed(prepared.repeats_, choices);
  } else if (format.kind == FormatKind::file || format.fp8_ffn_only) {
    // (fbgemm-fp8 stores the first and last layers differently from the alike middle ones.)
    repeats = layer_repeats(model, held, {}, false);
  } else {
    repeats = std::move(prepared.repeats_);
    repeats.times.resize(n_held);
  }
  std::vector<TensorStorage> storage;
  storage.reserve(all.size());
  for (std::size_t i = 0; i < n_held; ++i) {
    const Tensor& t = held[i];
    if (repeats.times[i] == 0) storage.push_back(storage[repeats.original(i, t)]);
    else if (format.kind == FormatKind::gguf) storage.push_back(detail::gguf_storage_as(t, choices[i]));
    else storage.push_back(detail::storage_of(model, t, format));
  }
  if (format.kind == FormatKind::gguf) {
    file_bytes_ = detail::gguf_file_bytes(model, prepared.gguf_infos_bytes_, storage); // held: the text prefix
  } else if (format.kind == FormatKind::file) {
    file_bytes_ = format.file ? format.file->file_bytes : 0;
  } else {
    // The checkpoint also ships what the weights leave out (the MTP blocks).
    for (std::size_t i = n_held; i < all.size(); ++i) storage.push_back(detail::storage_of(model, all[i], format));
    file_bytes_ = detail::safetensors_file_bytes(model, format, all, storage);
    storage.resize(n_held);
  }
  weights_ = detail::weight_bytes(held, storage, format, repeats.times);
  std::vector<Tensor> tensors = std::move(prepared.tensors_);
  tensors.resize(n_held);
  tables_ = std::make_shared<WeightTables>(model, format, std::move(tensors), std::move(storage), std::move(choices),
                                           std::move(repeats));
}

std::expected<PreparedWeights, Error> PreparedWeights::make(const PreparedModel& model,
                                                                    const WeightFormat& format) {
  return overflow_as_error([&] { return PreparedWeights(model, format); }); // a copy: the weights keep the tensor list
}

std::expected<PreparedWeights, Error> PreparedWeights::make(const ModelSpec& model, const WeightFormat& format) {
  auto prepared = PreparedModel::make(model);
  if (!prepared) return std::unexpected(prepared.error());
  return overflow_as_error([&] { return PreparedWeights(std::move(*prepared), format); });
}

std::expected<Report, Error> estimate(const ModelSpec& model, const Settings& settings,
                                              std::span<const GpuSpec> catalog) {
  auto prepared = PreparedWeights::make(model, settings.weights);
  if (!prepared) return std::unexpected(prepared.error());
  return estimate(settings, catalog, *prepared);
}

std::expected<Report, Error> estimate(const Settings& settings, std::span<const GpuSpec> catalog,
                                              const PreparedWeights& prepared) {
  // Weights prepared for another format would be silently wrong: prepare the right ones.
  if (!same_storage_rule(settings.weights, prepared.format())) return estimate(prepared.model(), settings, catalog);
  const ModelSpec& model = prepared.model();
  return overflow_as_error([&] {
    Report r;
    const ParamCounts& params = prepared.params();
    r.model.id = model.id;
    r.model.name = model.name;
    r.model.family = model.family;
    r.model.params_total = params.total;
    r.model.params_active = params.active;
    r.model.params_vision = params.vision;
    r.model.params_mtp = params.mtp;
    r.model.moe = model.moe.has_value();
    r.model.num_layers = model.num_layers;
    r.model.num_heads = model.attention.num_heads;
    r.model.num_kv_heads = model.attention.num_kv_heads;
    r.model.head_dim = model.attention.head_dim;
    r.model.v_head_dim = model.attention.v_head_dim;
    r.model.hidden_size = model.hidden_size;
    r.model.max_context = model.max_context;
    r.model.attention = attention_summary(model);
    r.model.dtype = std::string(traits(model.dtype).name);

    r.settings.quant = settings.weights.id;
    r.settings.quant_description = settings.weights.description;
    r.settings.kv_dtype = std::string(traits(settings.kv_dtype).name);
    r.settings.kv_display = std::string(dtype_display(settings.kv_dtype));
    r.settings.context_tokens = settings.context_tokens;
    r.settings.batch = settings.batch;
    r.settings.overhead_bytes = settings.overhead_bytes;

    const WeightBytes& w = prepared.weights();
    r.memory.weights_bytes = w.total;
    r.memory.file_bytes = prepared.file_bytes();
    for (const GroupBytes& g : w.groups) {
      r.memory.weights_by_group.push_back({std::string(tensor_group_name(g.group)), g.dtypes, g.params, g.bytes});
    }
    const Totals totals = totals_of(settings, prepared);
    const KvCache& kv = totals.kv;
    r.memory.kv_policy = describe(settings.kv_policy);
    r.memory.kv_cache_bytes = kv.total_bytes;
    r.memory.kv_bytes_per_token = kv.bytes_per_token;
    r.memory.kv_naive_bytes = kv.naive_bytes;
    r.memory.state_bytes = kv.state_total_bytes;
    r.memory.kv_groups = kv_groups(model, prepared.tables().layer_kv(1, settings.kv_dtype).layers, settings);
    r.memory.overhead_bytes = settings.overhead_bytes;
    r.memory.total_bytes = totals.total_bytes;
    if (settings.draft && !settings.draft->engine_only) {
      r.memory.draft = DraftSummary{settings.draft->name, settings.draft->format.id, totals.draft.weights_bytes,
                                    totals.draft.kv_bytes + totals.draft.state_bytes};
    }

    FitChecker::State fit(catalog);
    fit.fit_rows(settings, prepared, totals.model_bytes);
    const std::vector<GpuFit>& fits = fit.rows;
    r.fit.resize(fits.size());
    for (std::size_t i = 0; i < fits.size(); ++i) fill_fit_row(r.fit[i], fits[i], model);

    add_speed_bounds(r, model, settings, w, kv, params);
    if (settings.engine != EngineKind::generic && !settings.gpus.empty()) {
      const FitRow& row = r.fit.front();
      r.engine = detail::engine_section(model, settings, settings.parallel.value_or(Parallel{row.tp, row.pp, false}));
      decide_by_engine(r.fit.front(), *r.engine, settings.batch);
      if (!r.fit.front().fits) r.fit.front().min_count = engine_min_count(model, settings);
    }
    if (settings.host_mem_bytes && settings.engine == EngineKind::generic) {
      r.notes.push_back("--host-mem: the generic estimate keeps nothing in host memory; an engine (--engine vllm, "
                        "llamacpp, ollama) says what it needs there.");
    }
    if (model.moe) {
      r.notes.push_back("MoE: all " + with_commas(model.moe->num_experts) +
                        " experts must be in memory; only " + with_commas(model.moe->experts_per_token) +
                        (model.moe->experts_per_token == 1 ? " is" : " are") + " read per token (" + with_commas(params.active) + " active parameters).");
    }
    if (model.max_context != 0 && settings.context_tokens > model.max_context) {
      r.notes.push_back("The context (" + with_commas(settings.context_tokens) +
                        " tokens) is longer than the model's maximum (" + with_commas(model.max_context) + ").");
    }
    if (params.vision > 0) {
      r.notes.push_back(settings.weights.kind == FormatKind::gguf
                            ? "The vision tower (" + with_commas(params.vision) +
                                  (settings.engine_options.llamacpp.mmproj_dtype || settings.engine_options.llamacpp.mmproj_size_bytes
                                       ? " parameters) is not in the model's GGUF: llama.cpp loads it from the mmproj "
                                         "file, counted in its figures (--mmproj)."
                                       : " parameters) is not counted: llama.cpp loads it from a separate mmproj file.")
                            : "Weights include the vision tower (" + with_commas(params.vision) +
                                  " parameters, kept at the native dtype).");
    }
    if (params.mtp > 0 && !engine_loads_mtp(settings, r)) {
      r.notes.push_back("Not counted: " + std::to_string(model.mtp_layers) + " multi-token-prediction layer(s), " +
                        with_commas(params.mtp) + " parameters, loaded only for MTP speculative decoding.");
    }
    for (const std::string& n : model.notes) r.notes.push_back(n);
    return r;
  });
}

} // namespace vramcalc
