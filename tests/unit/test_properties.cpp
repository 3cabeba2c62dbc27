// Properties over the whole catalog: parts add up to totals, memory never shrinks when the
// context, the batch or the bits grow, and a sliding window never holds more than full
// attention. Each case runs every catalog model through estimate() on a fixed GPU layout.
#include "helpers.hpp"
#include "vramcalc/estimate.hpp"
#include "vramcalc/kv.hpp"
#include "vramcalc/placement.hpp"
#include "core/weights_detail.hpp"

#include <array>

using namespace vramcalc;
using vramcalc::test::catalog;

namespace {

Settings settings_for(const ModelSpec& m, const std::string& quant, Dtype kv, std::uint64_t ctx, std::uint64_t batch) {
  Settings s = vramcalc::test::settings_for(quant, kv, ctx, batch, m.dtype);
  // 8 H100s: tensor parallel where the heads allow it, pipeline stages otherwise.
  s.gpus.push_back({**catalog().find_gpu("h100"), 8});
  return s;
}

Report run(const ModelSpec& m, const Settings& s) {
  auto r = estimate(m, s, catalog().gpus);
  REQUIRE(r.has_value());
  return std::move(*r);
}

// Contexts from one token to 1M, batches from 1 to 256.
constexpr std::array<std::uint64_t, 6> contexts{1, 100, 4096, 32768, 131072, 1ull << 20};
constexpr std::array<std::uint64_t, 4> batches{1, 2, 16, 256};

} // namespace

TEST_CASE("property: totals equal the sum of their parts, on one GPU and on the busiest of eight") {
  for (const ModelSpec& m : catalog().models) {
    for (std::uint64_t ctx : {4096ull, 131072ull}) {
      INFO(m.id << " at " << ctx << " tokens");
      const Report r = run(m, settings_for(m, "q4_k_m", Dtype::f8_e4m3, ctx, 4));
      const MemorySummary& mem = r.memory;
      CHECK(mem.total_bytes == mem.weights_bytes + mem.kv_cache_bytes + mem.state_bytes + mem.overhead_bytes);
      std::uint64_t groups = 0;
      for (const WeightGroup& g : mem.weights_by_group) groups += g.bytes;
      CHECK(groups == mem.weights_bytes);
      for (const FitRow& f : r.fit) {
        if (!f.requested || !f.problem.empty()) continue;
        CHECK(f.required_bytes_per_gpu ==
              f.busiest_weights_bytes + f.busiest_kv_bytes + f.busiest_state_bytes + f.overhead_bytes);
        // The busiest of eight never holds more than the whole model, nor less than an eighth of it.
        CHECK(f.busiest_weights_bytes <= mem.weights_bytes);
        CHECK(f.busiest_weights_bytes * f.count >= mem.weights_bytes);
        CHECK(f.headroom_bytes == static_cast<std::int64_t>(f.usable_bytes) - static_cast<std::int64_t>(f.required_bytes_per_gpu));
      }
    }
  }
}

TEST_CASE("property: memory never shrinks as the context or the batch grows") {
  for (const ModelSpec& m : catalog().models) {
    INFO(m.id);
    for (std::uint64_t batch : {1ull, 8ull}) {
      std::uint64_t prev_total = 0, prev_busiest = 0;
      for (std::uint64_t ctx : contexts) {
        const Report r = run(m, settings_for(m, "bf16", Dtype::bf16, ctx, batch));
        CHECK(r.memory.total_bytes >= prev_total);
        CHECK(r.fit.front().required_bytes_per_gpu >= prev_busiest);
        prev_total = r.memory.total_bytes;
        prev_busiest = r.fit.front().required_bytes_per_gpu;
      }
    }
    std::uint64_t prev_total = 0;
    for (std::uint64_t batch : batches) {
      const Report r = run(m, settings_for(m, "bf16", Dtype::bf16, 32768, batch));
      CHECK(r.memory.total_bytes >= prev_total);
      prev_total = r.memory.total_bytes;
    }
  }
}

TEST_CASE("property: memory never shrinks as the weights' or the KV cache's bits grow") {
  // In bits per weight: Q2_K 2.6, Q3_K_M 3.9, Q4_K_M 4.8, Q5_K_M 5.7, Q6_K 6.6, Q8_0 8.5, 16, 32.
  const std::array<const char*, 8> formats{"q2_k", "q3_k_m", "q4_k_m", "q5_k_m", "q6_k", "q8_0", "bf16", "fp32"};
  // Bits per element: Q4_0 4.5, FP8 8, Q8_0 8.5, BF16 16, FP32 32.
  const std::array<Dtype, 5> kvs{Dtype::q4_0, Dtype::f8_e4m3, Dtype::q8_0, Dtype::bf16, Dtype::f32};
  for (const ModelSpec& m : catalog().models) {
    INFO(m.id);
    std::uint64_t prev = 0;
    for (const char* f : formats) {
      INFO(f);
      const Report r = run(m, settings_for(m, f, Dtype::bf16, 8192, 1));
      CHECK(r.memory.weights_bytes >= prev);
      prev = r.memory.weights_bytes;
    }
    prev = 0;
    for (Dtype kv : kvs) {
      const Report r = run(m, settings_for(m, "bf16", kv, 32768, 2));
      CHECK(r.memory.kv_cache_bytes >= prev);
      prev = r.memory.kv_cache_bytes;
    }
  }
}

TEST_CASE("property: a sliding window never holds more than full attention, and all of it inside the window") {
  int windowed = 0;
  for (const ModelSpec& m : catalog().models) {
    ModelSpec full = m;
    bool any = false;
    std::uint64_t smallest_window = ~0ull;
    for (LayerSpec& l : full.layers) {
      if (l.attention == AttentionKind::sliding || l.attention == AttentionKind::chunked) {
        any = true;
        smallest_window = std::min(smallest_window, l.window);
        l.attention = AttentionKind::full;
        l.window = 0;
      }
    }
    if (!any) continue;
    ++windowed;
    INFO(m.id);
    for (std::uint64_t ctx : contexts) {
      const std::uint64_t windowed_kv = kv_cache(m, Dtype::bf16, ctx, 3).total_bytes;
      const std::uint64_t full_kv = kv_cache(full, Dtype::bf16, ctx, 3).total_bytes;
      CHECK(windowed_kv <= full_kv);
      // Inside every window the window changes nothing.
      if (ctx <= smallest_window) CHECK(windowed_kv == full_kv);
    }
  }
  CHECK(windowed >= 5); // Gemma 2/3, Mistral, gpt-oss, Llama 4, ... are in the catalog
}

TEST_CASE("property: prepared weights equal the one-off computations, for every model and format") {
  // PreparedWeights derives the counts, the weights, the file and the per-GPU tables from one
  // tensor list and one storage pass; the public functions and rank_tensors() build their own.
  for (const ModelSpec& m : catalog().models) {
    for (std::string_view name : listed_weight_formats()) {
      INFO(m.id << " in " << name);
      const WeightFormat f = *parse_weight_format(name, m.dtype);
      const auto prepared = PreparedWeights::make(m, f);
      REQUIRE(prepared.has_value());
      const ParamCounts p = count_params(m);
      CHECK(prepared->params().total == p.total);
      CHECK(prepared->params().active == p.active);
      CHECK(prepared->params().embedding == p.embedding);
      CHECK(prepared->params().vision == p.vision);
      CHECK(prepared->params().mtp == p.mtp);
      const WeightBytes w = weight_bytes(m, f);
      CHECK(prepared->weights().total == w.total);
      CHECK(prepared->weights().routed_expert_bytes == w.routed_expert_bytes);
      REQUIRE(prepared->weights().groups.size() == w.groups.size());
      for (std::size_t g = 0; g < w.groups.size(); ++g) {
        CHECK(prepared->weights().groups[g].group == w.groups[g].group);
        CHECK(prepared->weights().groups[g].params == w.groups[g].params);
        CHECK(prepared->weights().groups[g].bytes == w.groups[g].bytes);
        CHECK(prepared->weights().groups[g].dtypes == w.groups[g].dtypes);
      }
      CHECK(prepared->file_bytes() == file_bytes(m, f));
      // Each tensor-parallel table against the shards rank_tensors() lists, stored one by one.
      for (const std::uint32_t tp : {1u, 2u, 4u, 8u}) {
        for (const bool ep : {false, true}) {
          if (ep && !m.moe) continue;
          std::vector<Tensor> shards = rank_tensors(m, {tp, 1, ep}, 0);
          if (f.kind == FormatKind::gguf) {
            std::erase_if(shards, [](const Tensor& t) { return t.group() == TensorGroup::vision; });
          }
          std::uint64_t expected = 0;
          for (const TensorStorage& s : tensor_storage(m, shards, f)) expected += s.bytes;
          const WeightTables::Table& t = prepared->tables().table(tp, ep);
          INFO("tp " << tp << (ep ? " with expert parallelism" : ""));
          CHECK(t.layer_prefix.back() + t.first_stage_bytes + t.last_stage_bytes == expected);
          if (tp == 1) CHECK(expected == w.total);
        }
      }
    }
  }
}

TEST_CASE("a GGUF shard whose mix choice changes is stored as the mix decides for the shard") {
  // MXFP4_MOE stores stacked experts (ne2 > 1) in mxfp4 and other matrices in q8_0: with 8
  // experts spread over 8 GPUs each shard is one expert, which the mix stores in q8_0. The
  // table then runs the mix on the shards instead of reusing the whole model's choices.
  const ModelSpec& m = vramcalc::test::model("mixtral-8x7b");
  const WeightFormat f = *parse_weight_format("mxfp4_moe", m.dtype);
  std::vector<Tensor> shards = rank_tensors(m, {8, 1, true}, 0);
  std::uint64_t expected = 0, q8_experts = 0;
  const std::vector<TensorStorage> storage = tensor_storage(m, shards, f);
  for (std::size_t i = 0; i < shards.size(); ++i) {
    expected += storage[i].bytes;
    if (shards[i].is_routed_expert() && storage[i].dtype == Dtype::q8_0) ++q8_experts;
  }
  CHECK(q8_experts == 32 * 3); // 32 layers x gate, up, down
  WeightTables tables(m, f);
  const WeightTables::Table& t = tables.table(8, true);
  CHECK(t.layer_prefix.back() + t.first_stage_bytes + t.last_stage_bytes == expected);
}

TEST_CASE("property: GGUF tensor-name lengths are computed without the names") {
  for (const ModelSpec& m : catalog().models) {
    for (const Tensor& t : model_tensors(m, true)) {
      INFO(m.id << ": " << t.gguf_name());
      CHECK(detail::gguf_name_size(t) == t.gguf_name().size());
    }
  }
}

TEST_CASE("property: fit_check gives estimate()'s fit rows, for every model") {
  // The whole catalog at the smallest count, requested GPUs at a count (with one no layout
  // suits: 7 GPUs for 64 heads), and a layout given (--tp 3 breaks most head counts).
  const GpuSpec h100 = **catalog().find_gpu("h100");
  const GpuSpec l4 = **catalog().find_gpu("l4");
  for (const ModelSpec& m : catalog().models) {
    for (const std::string quant : {"bf16", "q4_k_m", "fp8"}) {
      for (int ask = 0; ask < 3; ++ask) {
        INFO(m.id << " in " << quant << ", case " << ask);
        Settings s = vramcalc::test::settings_for(quant, Dtype::f8_e4m3, ask == 0 ? 131072 : 8192, 2, m.dtype);
        if (ask == 1) s.gpus = {{h100, 7}, {l4, 0}, {h100, 2}};
        if (ask == 2) {
          s.gpus = {{h100, 3}, {l4, 0}};
          s.parallel = Parallel{3, 1, false};
        }
        const auto prepared = PreparedWeights::make(m, s.weights);
        REQUIRE(prepared.has_value());
        const auto report = estimate(s, catalog().gpus, *prepared);
        const auto fits = fit_check(s, catalog().gpus, *prepared);
        REQUIRE(report.has_value() == fits.has_value());
        if (!report) continue;
        REQUIRE(report->fit.size() == fits->size());
        for (std::size_t i = 0; i < fits->size(); ++i) {
          const FitRow& r = report->fit[i];
          const GpuFit& f = (*fits)[i];
          CHECK(r.gpu == f.gpu->id);
          CHECK(r.requested == f.requested);
          CHECK(r.min_count == f.min_count);
          CHECK(r.count == f.count);
          CHECK(r.tp == f.layout.tp);
          CHECK(r.pp == f.layout.pp);
          CHECK(r.required_bytes_per_gpu == f.required_bytes_per_gpu);
          CHECK(r.usable_bytes == f.usable_bytes);
          CHECK(r.fits == f.fits);
          CHECK(r.problem.empty() == (f.problem == GpuFit::Problem::none));
        }
      }
    }
  }
}
