#include "vramcalc/estimate.hpp"

#include "vramcalc/kv.hpp"
#include "vramcalc/tensors.hpp"
#include "vramcalc/units.hpp"

#include "weights_detail.hpp"

#include <algorithm>
#include <deque>
#include <limits>
#include <tuple>

namespace vramcalc {

std::uint64_t usable_bytes(const GpuSpec& gpu) {
  // memory_bytes < 2^56 and usable_percent <= 100 (checked by the loader), so no overflow.
  return gpu.memory_bytes / 100 * gpu.usable_percent + gpu.memory_bytes % 100 * gpu.usable_percent / 100;
}

std::uint32_t min_gpu_count_even(std::uint64_t model_bytes, std::uint64_t overhead_bytes, const GpuSpec& gpu) {
  const std::uint64_t usable = usable_bytes(gpu);
  if (usable <= overhead_bytes) return 0;
  // ceil(model / n) + overhead <= usable  <=>  model <= n * (usable - overhead).
  const std::uint64_t n = std::max<std::uint64_t>(1, ceil_div(model_bytes, usable - overhead_bytes));
  return n > max_gpu_count ? 0 : static_cast<std::uint32_t>(n);
}

namespace {

// Memory of the busiest GPU for each GPU count, computed once per estimate and shared by
// every GPU row (it does not depend on the GPU).
class FitSearch {
public:
  FitSearch(WeightTables& weights, const Settings& s)
      : weights_(weights), costs_(weights, s.kv_dtype, s.context_tokens, s.batch, s.kv_policy),
        overhead_(s.overhead_bytes) {}

  // Bytes the busiest GPU needs under `p`, overhead included.
  std::uint64_t required(const Parallel& p) { return busiest_memo(p).second; }

  // The busiest GPU's parts under `p` (overhead not included).
  RankMemory busiest(const Parallel& p) { return busiest_memo(p).first; }
  [[nodiscard]] std::uint64_t overhead() const { return overhead_; }

  // The smallest count of `gpu` that fits with a chosen layout, searched upward from the
  // even-split lower bound; 0 if none up to max_gpu_count.
  std::uint32_t min_count(const GpuSpec& gpu, std::uint64_t model_bytes, Parallel* layout) {
    const std::uint32_t lower = min_gpu_count_even(model_bytes, overhead_, gpu);
    if (lower == 0) return 0;
    const std::uint64_t usable = usable_bytes(gpu);
    const std::uint32_t upper = std::min<std::uint32_t>(max_gpu_count, lower * 4 + 8);
    for (std::uint32_t n = lower; n <= upper; ++n) {
      const std::optional<Parallel>& p = weights_.layout(n);
      if (p && required(*p) <= usable) {
        if (layout != nullptr) *layout = *p;
        return n;
      }
    }
    return 0;
  }

private:
  // Every GPU row asks for the same few layouts: each is computed once.
  const std::pair<RankMemory, std::uint64_t>& busiest_memo(const Parallel& p) {
    for (const auto& [key, value] : memo_) {
      if (key.tp == p.tp && key.pp == p.pp && key.expert_parallel == p.expert_parallel) return value;
    }
    const RankMemory parts = costs_.busiest(p);
    memo_.emplace_back(p, std::pair{parts, checked_add(parts.total(), overhead_, "the memory per GPU")});
    return memo_.back().second;
  }

  WeightTables& weights_;
  RankCosts costs_;
  std::uint64_t overhead_;
  std::deque<std::pair<Parallel, std::pair<RankMemory, std::uint64_t>>> memo_; // deque: stable references
};

FitRow fit_row(FitSearch& search, const ModelSpec& spec, const GpuSpec& gpu, std::uint32_t count,
               const std::optional<Parallel>& given, bool requested, std::uint64_t model_bytes) {
  FitRow r;
  r.gpu = gpu.id;
  r.gpu_name = gpu.name;
  r.gpu_memory_bytes = gpu.memory_bytes;
  r.gpu_bandwidth_gb_per_s = gpu.bandwidth_gb_per_s;
  r.gpu_bf16_tflops = gpu.bf16_tflops;
  r.requested = requested;
  r.usable_bytes = usable_bytes(gpu);
  Parallel smallest{};
  r.min_count = search.min_count(gpu, model_bytes, &smallest);
  std::optional<Parallel> layout = given;
  if (!layout) {
    if (count != 0) layout = choose_parallel(spec, count);
    else if (r.min_count != 0) layout = smallest;
    else layout = Parallel{};
  }
  if (!layout) {
    r.count = count;
    r.problem = "no tensor / pipeline split of " + std::to_string(count) + " GPUs suits this model";
    r.tp = count;
    r.required_bytes_per_gpu = search.required(Parallel{});
    r.headroom_bytes = 0;
    return r;
  }
  r.tp = layout->tp;
  r.pp = layout->pp;
  r.count = layout->gpus();
  r.problem = parallel_problem(spec, *layout);
  r.required_bytes_per_gpu = search.required(*layout);
  const RankMemory parts = search.busiest(*layout);
  r.busiest_weights_bytes = parts.weights_bytes;
  r.busiest_kv_bytes = parts.kv_bytes;
  r.busiest_state_bytes = parts.state_bytes;
  r.overhead_bytes = search.overhead();
  r.fits = r.problem.empty() && r.required_bytes_per_gpu <= r.usable_bytes;
  // Both sides are below 2^63 (checked by the caller), so the difference fits in int64.
  r.headroom_bytes = static_cast<std::int64_t>(r.usable_bytes) - static_cast<std::int64_t>(r.required_bytes_per_gpu);
  return r;
}

std::string with_commas(std::uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
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
  for (const LayerSpec& l : model.layers) {
    if (!l.has_mixer || l.attention == AttentionKind::none) continue;
    attention += 2 * q_width * ctx * static_cast<double>(kv_tokens_held(l, s.context_tokens, s.kv_policy));
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
  }
}

} // namespace

namespace {

// llama.cpp runs GGUF files: a plain float format means the GGUF file of that type.
WeightFormat as_gguf(const WeightFormat& f) {
  if (f.kind == FormatKind::gguf || f.kind == FormatKind::file) return f;
  const char* name = f.dtype == Dtype::f32 ? "gguf-f32" : f.dtype == Dtype::f16 ? "gguf-f16" : "gguf-bf16";
  return parse_weight_format(name, f.dtype).value();
}

EngineDevice engine_device(const LlamaCppDevice& d) {
  EngineDevice e;
  e.name = d.name;
  e.usable_bytes = d.usable_bytes;
  e.model_bytes = d.model_bytes;
  e.kv_bytes = d.kv_bytes;
  e.compute_bytes = d.compute_bytes;
  e.output_bytes = d.output_bytes;
  e.overhead_bytes = d.overhead_bytes;
  e.total_bytes = d.total();
  e.layers = d.layers;
  e.output = d.output;
  e.fits = d.fits();
  return e;
}

// The first requested GPU type, at its count (or the fewest of them that llama.cpp fits on,
// splitting layers, when no count is given).
EngineSection llamacpp_section(const ModelSpec& model, const Settings& s) {
  const GpuRequest& g = s.gpus.front();
  LlamaCppOptions o = s.llamacpp;
  if (!o.type_k) o.type_k = s.kv_dtype;
  if (!o.type_v) o.type_v = s.kv_dtype;
  const WeightFormat w = as_gguf(s.weights);
  const std::uint64_t n_ctx = checked_mul(s.context_tokens, s.batch, "the context");
  const auto plan_on = [&](std::uint32_t n) {
    return llamacpp_plan(model, w, n_ctx, s.batch, std::vector<GpuSpec>(n, g.gpu), s.overhead_bytes, o);
  };
  LlamaCppResult p;
  if (g.count != 0) {
    p = plan_on(g.count);
  } else {
    // More GPUs than layers + 1 hold nothing more.
    const auto most = static_cast<std::uint32_t>(std::min<std::uint64_t>(model.num_layers + 1, max_gpu_count));
    for (std::uint32_t n = 1; n <= most; ++n) {
      p = plan_on(n);
      if (p.fits || !p.error.empty()) break;
    }
  }
  EngineSection e;
  e.name = "llamacpp";
  e.version = "2026";
  e.gpu = g.gpu.id;
  e.gpu_name = g.gpu.name;
  e.tp = 1;
  e.pp = static_cast<std::uint32_t>(p.gpus.size());
  e.context_tokens = s.context_tokens;
  e.batch = s.batch;
  e.weights = w.id;
  e.n_ctx = p.n_ctx;
  e.n_seq = s.batch;
  e.cells = p.cells;
  e.n_stream = p.n_stream;
  const std::uint64_t window = model.attention.sliding_window != 0 ? model.attention.sliding_window : model.attention.chunk_size;
  e.swa_cells = window != 0 ? p.swa_cells : 0;
  e.n_batch = p.n_batch;
  e.n_ubatch = p.n_ubatch;
  e.flash_attn = p.flash_attn;
  e.kv_unified = o.kv_unified;
  e.swa_full = o.swa_full;
  // llama.cpp's spellings (ggml type names).
  const auto ggml_name = [](Dtype d) {
    return d == Dtype::f16 ? std::string("f16") : d == Dtype::f32 ? std::string("f32") : std::string(traits(d).name);
  };
  e.type_k = ggml_name(p.type_k);
  e.type_v = ggml_name(p.type_v);
  e.kv_bytes = p.kv_bytes;
  e.state_bytes = p.state_bytes;
  e.gpu_layers = p.gpu_layers;
  e.total_layers = static_cast<std::uint32_t>(model.num_layers + 1);
  for (const LlamaCppDevice& d : p.gpus) e.devices.push_back(engine_device(d));
  e.host = engine_device(p.host);
  e.host.fits = true;
  e.error = p.error;
  e.aborts = p.aborts;
  if (p.gpu_layers < e.total_layers) {
    e.notes.push_back(std::to_string(e.total_layers - p.gpu_layers) + " of " + std::to_string(e.total_layers) +
                      " layers (counting the output) stay in system RAM and run on the CPU (-ngl " +
                      std::to_string(p.gpu_layers) + ").");
  }
  if (o.n_cpu_moe > 0 && model.moe) {
    e.notes.push_back("The routed experts of the first " + std::to_string(std::min<std::uint64_t>(o.n_cpu_moe, model.num_layers)) +
                      " layers stay in system RAM and run on the CPU (--n-cpu-moe).");
  }
  e.fits = p.fits;
  return e;
}

} // namespace

PreparedWeights::PreparedWeights(const ModelSpec& model, const WeightFormat& format)
    : model_(&model), format_(format) {
  // One tensor list and one storage pass serve the parameter counts, the weights, the file
  // and the unsharded per-GPU table; the public count_params / weight_bytes / file_bytes
  // run the same code over lists of their own (weights_detail.hpp).
  const std::vector<Tensor> all = model_tensors(model, true); // MTP blocks last
  params_ = detail::count_params(model, all);
  // What the weights hold: no MTP block, and no vision tower when the format leaves it out.
  const bool drop_vision = detail::weights_drop_vision(format);
  const auto held_tensor = [drop_vision](const Tensor& t) {
    return !t.mtp && !(drop_vision && t.group() == TensorGroup::vision);
  };
  std::vector<Tensor> held;
  held.reserve(all.size());
  for (const Tensor& t : all) {
    if (held_tensor(t)) held.push_back(t);
  }
  std::vector<TensorStorage> storage;
  if (format.kind == FormatKind::gguf) {
    // A mix decides each tensor's type by its place among the others: the storage of the
    // file's own list.
    storage = tensor_storage(model, held, format);
    file_bytes_ = detail::gguf_file_bytes(model, held, storage);
  } else {
    // Each tensor's storage depends on that tensor alone: one pass over every tensor, the
    // held ones picked out of it.
    const std::vector<TensorStorage> every = tensor_storage(model, all, format);
    file_bytes_ = format.kind == FormatKind::file ? (format.file ? format.file->file_bytes : 0)
                                                  : detail::safetensors_file_bytes(model, format, all, every);
    storage.reserve(held.size());
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (held_tensor(all[i])) storage.push_back(every[i]);
    }
  }
  weights_ = detail::weight_bytes(held, storage, format);
  tables_ = std::make_shared<WeightTables>(model, format, std::move(held), std::move(storage));
}

std::expected<PreparedWeights, EstimateError> PreparedWeights::make(const ModelSpec& model, const WeightFormat& format) {
  try {
    return PreparedWeights(model, format);
  } catch (const OverflowError& e) {
    return std::unexpected(EstimateError{e.what()});
  }
}

std::expected<Report, EstimateError> estimate(const ModelSpec& model, const Settings& settings,
                                              std::span<const GpuSpec> catalog) {
  auto prepared = PreparedWeights::make(model, settings.weights);
  if (!prepared) return std::unexpected(prepared.error());
  return estimate(settings, catalog, *prepared);
}

std::expected<Report, EstimateError> estimate(const Settings& settings, std::span<const GpuSpec> catalog,
                                              const PreparedWeights& prepared) {
  // Weights prepared for another format would be silently wrong: prepare the right ones.
  if (settings.weights.id != prepared.format().id) return estimate(prepared.model(), settings, catalog);
  const ModelSpec& model = prepared.model();
  try {
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
    const KvCache kv = kv_cache(model, settings.kv_dtype, settings.context_tokens, settings.batch, settings.kv_policy);
    r.memory.kv_policy = describe(settings.kv_policy);
    r.memory.kv_cache_bytes = kv.total_bytes;
    r.memory.kv_bytes_per_token = kv.bytes_per_token;
    r.memory.kv_naive_bytes = kv.naive_bytes;
    r.memory.state_bytes = kv.state_total_bytes;
    r.memory.overhead_bytes = settings.overhead_bytes;
    const std::uint64_t model_bytes =
        checked_add(checked_add(w.total, kv.total_bytes, "the total memory"), kv.state_total_bytes, "the total memory");
    r.memory.total_bytes = checked_add(model_bytes, settings.overhead_bytes, "the total memory");
    if (r.memory.total_bytes > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      throw OverflowError("the total memory (" + with_commas(r.memory.total_bytes) + " bytes) exceeds 2^63 bytes");
    }

    FitSearch search(prepared.tables(), settings);
    r.fit.reserve(settings.gpus.empty() ? catalog.size() : settings.gpus.size());
    if (settings.gpus.empty()) {
      for (const GpuSpec& g : catalog) {
        r.fit.push_back(fit_row(search, model, g, 0, settings.parallel, false, model_bytes));
      }
      // Smallest deployment first: fewest GPUs, then least memory; GPUs that cannot hold
      // the model at any count last. Sorted as indices: rows are large to move.
      std::vector<std::size_t> order(r.fit.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&r](std::size_t i, std::size_t j) {
        const FitRow& a = r.fit[i];
        const FitRow& b = r.fit[j];
        if ((a.min_count == 0) != (b.min_count == 0)) return b.min_count == 0;
        return std::tie(a.min_count, a.usable_bytes, a.gpu) < std::tie(b.min_count, b.usable_bytes, b.gpu);
      });
      std::vector<FitRow> sorted;
      sorted.reserve(r.fit.size());
      for (std::size_t i : order) sorted.push_back(std::move(r.fit[i]));
      r.fit = std::move(sorted);
    } else {
      for (const GpuRequest& g : settings.gpus) {
        r.fit.push_back(fit_row(search, model, g.gpu, g.count, settings.parallel, true, model_bytes));
      }
    }

    add_speed_bounds(r, model, settings, w, kv, params);
    if (settings.engine == EngineKind::vllm && !settings.gpus.empty()) {
      const GpuRequest& g = settings.gpus.front();
      const FitRow& row = r.fit.front();
      const Parallel p = settings.parallel.value_or(Parallel{row.tp, row.pp, false});
      VllmOptions o = settings.vllm;
      // --overhead replaces vLLM's non-torch estimate (e.g. with a log's own figure).
      if (settings.overhead_given) o.non_torch_bytes = settings.overhead_bytes;
      const VllmResult v = vllm_plan(model, settings.weights, settings.kv_dtype, settings.context_tokens, g.gpu, p, o);
      EngineSection e;
      e.name = "vllm";
      e.version = std::to_string(o.version_major) + "." + std::to_string(o.version_minor);
      e.gpu = g.gpu.id;
      e.gpu_name = g.gpu.name;
      e.tp = p.tp;
      e.pp = p.pp;
      e.context_tokens = settings.context_tokens;
      e.batch = settings.batch;
      e.gpu_memory_bytes = v.gpu_memory_bytes;
      e.utilization_bp = v.utilization_bp;
      e.requested_bytes = v.requested_bytes;
      e.weights_bytes = v.weights_bytes;
      e.activation_bytes = v.activation_bytes;
      e.non_torch_bytes = v.non_torch_bytes;
      e.cuda_graph_bytes = v.cuda_graph_bytes;
      e.kv_cache_memory_bytes = v.kv_cache_memory_bytes;
      e.kv_memory_given = v.kv_memory_given;
      e.max_num_seqs = v.max_num_seqs;
      e.max_num_batched_tokens = v.max_num_batched_tokens;
      e.block_size = v.block_size;
      e.page_bytes = v.page_bytes;
      e.num_groups = v.num_groups;
      e.group_size = v.group_size;
      e.num_gpu_blocks = v.num_gpu_blocks;
      e.kv_cache_tokens = v.kv_cache_tokens;
      e.max_concurrency = v.max_concurrency;
      e.needed_bytes = v.needed_bytes;
      e.starts = v.starts;
      e.max_model_len_fit = v.max_model_len_fit;
      e.fits = v.starts && v.max_concurrency >= static_cast<double>(settings.batch);
      r.engine = std::move(e);
    }
    if (settings.engine == EngineKind::llamacpp && !settings.gpus.empty()) {
      r.engine = llamacpp_section(model, settings);
    }
    if (model.moe) {
      r.notes.push_back("MoE: all " + std::to_string(model.moe->num_experts) +
                        " experts must be in memory; only " + std::to_string(model.moe->experts_per_token) +
                        " are read per token (" + with_commas(params.active) + " active parameters).");
    }
    if (model.max_context != 0 && settings.context_tokens > model.max_context) {
      r.notes.push_back("The context (" + with_commas(settings.context_tokens) +
                        " tokens) is longer than the model's maximum (" + with_commas(model.max_context) + ").");
    }
    if (params.vision > 0) {
      r.notes.push_back(settings.weights.kind == FormatKind::gguf
                            ? "The vision tower (" + with_commas(params.vision) +
                                  " parameters) is not counted: llama.cpp loads it from a separate mmproj file."
                            : "Weights include the vision tower (" + with_commas(params.vision) +
                                  " parameters, kept at the native dtype).");
    }
    if (params.mtp > 0) {
      r.notes.push_back("Not counted: " + std::to_string(model.mtp_layers) + " multi-token-prediction layer(s), " +
                        with_commas(params.mtp) + " parameters, loaded only for MTP speculative decoding.");
    }
    for (const std::string& n : model.notes) r.notes.push_back(n);
    return r;
  } catch (const OverflowError& e) {
    return std::unexpected(EstimateError{e.what()});
  }
}

} // namespace vramcalc
