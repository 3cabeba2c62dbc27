// Properties over the whole catalog: parts add up to totals, memory never shrinks when the
// context, the batch or the bits grow, and a sliding window never holds more than full
// attention. Each case runs every catalog model through estimate() on a fixed GPU layout.
#include "helpers.hpp"
#include "vramcalc/engine.hpp"
#include "../support/engine_cases.hpp"
#include "vramcalc/estimate.hpp"
#include "vramcalc/kv.hpp"
#include "vramcalc/placement.hpp"
#include "core/weights_detail.hpp"

#include <array>
#include <functional>
#include <tuple>

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
        // The busiest of eight never holds more than the whole model, nor less than an eighth of
        // it. "Busiest" is by weights, KV and state together: where the cache outweighs the
        // weights (SmolLM2 135M at 131,072 tokens) it is a stage with more layers, not the one
        // with the embedding, so only the sum is bounded below.
        CHECK(f.busiest_weights_bytes <= mem.weights_bytes);
        const std::uint64_t busiest = f.busiest_weights_bytes + f.busiest_kv_bytes + f.busiest_state_bytes;
        CHECK(busiest * f.count >= mem.weights_bytes + mem.kv_cache_bytes + mem.state_bytes);
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

TEST_CASE("property: the busiest pipeline stage is the first with the most, over every stage") {
  // RankCosts::busiest takes a shortcut when every layer holds the same (four stages looked
  // at); here every stage is summed layer by layer from the same tables, and the first stage
  // with the largest total wins, as in the step-by-step walk.
  std::size_t uniform = 0, mixed = 0;
  for (const ModelSpec& m : catalog().models) {
    for (const char* name : {"bf16", "q4_k_m", "fp8"}) {
      const WeightFormat f = *parse_weight_format(name, m.dtype);
      WeightTables tables(m, f);
      for (const std::uint32_t tp : {1u, 8u}) {
        const WeightTables::Table& w = tables.table(tp, false);
        const WeightTables::LayerKv& kv = tables.layer_kv(tp, Dtype::bf16);
        bool same = true;
        for (std::uint64_t l = 0; l < m.num_layers; ++l) {
          same = same && w.layer_prefix[l + 1] - w.layer_prefix[l] == w.layer_prefix[1] - w.layer_prefix[0];
        }
        for (const std::uint64_t ctx : {std::uint64_t{4096}, std::uint64_t{1} << 20}) {
          for (const std::uint64_t batch : {std::uint64_t{1}, std::uint64_t{3}}) {
            RankCosts costs(tables, Dtype::bf16, ctx, batch);
            const std::uint64_t n = m.num_layers;
            for (const std::uint64_t pp64 : {std::uint64_t{2}, std::uint64_t{3}, std::uint64_t{4}, std::uint64_t{5}, std::uint64_t{7}, std::uint64_t{8}, std::uint64_t{16}, n - 1, n}) {
              if (pp64 < 2 || pp64 > m.num_layers) continue;
              const auto pp = static_cast<std::uint32_t>(pp64);
              INFO(m.id << " " << name << " tp " << tp << " pp " << pp << " ctx " << ctx << " batch " << batch);
              RankMemory best;
              std::uint64_t best_total = 0;
              for (std::uint32_t s = 0; s < pp; ++s) {
                const auto [first, last] = stage_layers(m.num_layers, pp, s);
                RankMemory r;
                r.weights_bytes = w.layer_prefix[last] - w.layer_prefix[first];
                if (s == 0) r.weights_bytes += w.first_stage_bytes;
                if (s + 1 == pp) r.weights_bytes += w.last_stage_bytes + w.tied_head_bytes;
                for (std::uint64_t l = first; l < last; ++l) {
                  r.kv_bytes += kv.layers[l].kv_bytes_per_token * kv_tokens_kept(m.layers[l], ctx) * batch;
                  r.state_bytes += kv.layers[l].state_bytes * batch;
                }
                if (s == 0 || r.total() > best_total) {
                  best = r;
                  best_total = r.total();
                }
              }
              const RankMemory got = costs.busiest({tp, pp, false});
              CHECK(got.weights_bytes == best.weights_bytes);
              CHECK(got.kv_bytes == best.kv_bytes);
              CHECK(got.state_bytes == best.state_bytes);
              ++(same ? uniform : mixed);
            }
          }
        }
      }
    }
  }
  // Both ways are exercised: dense models whose layers are all alike, and MoE models with
  // dense first layers, hybrids and sliding windows whose layers are not.
  CHECK(uniform > 1000);
  CHECK(mixed > 1000);
}

TEST_CASE("property: repeats narrowed by a GGUF mix's types equal repeats found with them") {
  // PreparedModel finds the repeated layers once per model; each GGUF format narrows them by
  // its types (layer_repeats_typed) instead of comparing every tensor again.
  std::size_t narrowed = 0;
  for (const ModelSpec& m : catalog().models) {
    std::vector<Tensor> all = model_tensors(m, true);
    const LayerRepeats untyped = layer_repeats(m, all);
    std::erase_if(all, [](const Tensor& t) { return t.mtp || t.group() == TensorGroup::vision; });
    for (std::string_view name : listed_weight_formats()) {
      const WeightFormat f = *parse_weight_format(name, m.dtype);
      if (f.kind != FormatKind::gguf) continue;
      INFO(m.id << " in " << name);
      const std::vector<Dtype> types = detail::gguf_types_chosen(m, all, f);
      const LayerRepeats direct = layer_repeats(m, all, types);
      const LayerRepeats typed = layer_repeats_typed(untyped, types);
      CHECK(typed.by_layer == direct.by_layer);
      CHECK(typed.range == direct.range);
      CHECK(typed.same_as == direct.same_as);
      CHECK(typed.times == direct.times);
      if (typed.same_as != untyped.same_as) ++narrowed;
    }
  }
  CHECK(narrowed > 50); // the mixes store some layers differently (use_more_bits and others)
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

TEST_CASE("property: one FitChecker over many estimates gives fit_check's rows, smallest deployment first") {
  // A FitChecker keeps the catalog's order and its buffers from one check to the next; here
  // one serves every model, format, context and request, and each answer is compared with
  // a fresh fit_check(). The order is checked on its own terms, and each smallest count
  // against the count below it, asked for directly.
  FitChecker checker(catalog().gpus);
  const GpuSpec h100 = **catalog().find_gpu("h100");
  std::size_t rows_checked = 0;
  for (const ModelSpec& m : catalog().models) {
    for (const std::string quant : {"bf16", "q4_k_m", "fp8"}) {
      for (const std::uint64_t ctx : {std::uint64_t{4096}, std::uint64_t{1} << 20}) {
        for (const bool asked : {false, true}) {
          INFO(m.id << " in " << quant << ", ctx " << ctx << (asked ? ", 3 H100s asked" : ""));
          Settings s = vramcalc::test::settings_for(quant, Dtype::bf16, ctx, 1, m.dtype);
          if (asked) s.gpus = {{h100, 3}};
          const auto prepared = PreparedWeights::make(m, s.weights);
          REQUIRE(prepared.has_value());
          const auto fresh = fit_check(s, catalog().gpus, *prepared);
          const auto reused = checker.check(s, *prepared);
          REQUIRE(fresh.has_value() == reused.has_value());
          if (!fresh) continue;
          REQUIRE(fresh->size() == reused->size());
          for (std::size_t i = 0; i < fresh->size(); ++i) {
            const GpuFit& a = (*fresh)[i];
            const GpuFit& b = (*reused)[i];
            CHECK(a.gpu == b.gpu);
            CHECK(a.min_count == b.min_count);
            CHECK(a.count == b.count);
            CHECK(a.layout.tp == b.layout.tp);
            CHECK(a.layout.pp == b.layout.pp);
            CHECK(a.required_bytes_per_gpu == b.required_bytes_per_gpu);
            CHECK(a.busiest.kv_bytes == b.busiest.kv_bytes);
            CHECK(a.fits == b.fits);
          }
          if (asked) continue;
          REQUIRE(fresh->size() == catalog().gpus.size());
          // Fewest GPUs first (none at any count last), then least usable memory, then id.
          const auto rank = [](const GpuFit& f) { return f.min_count == 0 ? max_gpu_count + 1 : f.min_count; };
          for (std::size_t i = 1; i < fresh->size(); ++i) {
            const GpuFit& a = (*fresh)[i - 1];
            const GpuFit& b = (*fresh)[i];
            CHECK(std::make_tuple(rank(a), a.usable_bytes, a.gpu->id) <= std::make_tuple(rank(b), b.usable_bytes, b.gpu->id));
          }
          // One GPU fewer than the smallest count does not fit.
          for (const GpuFit& f : *fresh) {
            if (f.min_count < 2) continue;
            Settings fewer = s;
            fewer.gpus = {{*f.gpu, f.min_count - 1}};
            const auto r = checker.check(fewer, *prepared);
            REQUIRE(r.has_value());
            CHECK_FALSE(r->front().fits);
            ++rows_checked;
          }
        }
      }
    }
  }
  CHECK(rows_checked > 1000);
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

TEST_CASE("property: vLLM LoRA never lowers what is used and comes exactly off the KV budget; off, nothing changes") {
  const GpuSpec& h100 = **catalog().find_gpu("h100");
  const WeightFormat bf16 = parse_weight_format("bf16", Dtype::bf16).value();
  for (const ModelSpec& m : catalog().models) {
    for (const std::uint32_t minor : {10u, 11u, 21u}) {
      INFO(m.id << " on vLLM 0." << minor);
      VllmOptions base;
      base.version_minor = minor;
      const VllmResult without = vllm_plan(m, bf16, Dtype::bf16, 8192, h100, Parallel{}, base);
      // LoRA options without --enable-lora: every number is today's.
      VllmOptions off = base;
      off.max_loras = 4;
      off.max_lora_rank = 64;
      off.lora_options_given = true;
      const VllmResult ignored = vllm_plan(m, bf16, Dtype::bf16, 8192, h100, Parallel{}, off);
      CHECK(ignored.lora.total() == 0);
      CHECK(ignored.kv_budget_bytes == without.kv_budget_bytes);
      CHECK(ignored.num_gpu_blocks == without.num_gpu_blocks);
      std::uint64_t previous = 0;
      for (const auto& [slots, rank] : {std::pair{1u, 8u}, std::pair{1u, 16u}, std::pair{2u, 16u}, std::pair{4u, 64u}}) {
        VllmOptions on = base;
        on.enable_lora = true;
        on.max_loras = slots;
        on.max_lora_rank = rank;
        const VllmResult with = vllm_plan(m, bf16, Dtype::bf16, 8192, h100, Parallel{}, on);
        CHECK(with.lora.total() > previous); // more slots or a higher rank: more, never less
        previous = with.lora.total();
        CHECK(with.weights_bytes == without.weights_bytes);
        CHECK(with.activation_bytes == without.activation_bytes);
        CHECK(with.kv_budget_bytes == without.kv_budget_bytes - static_cast<std::int64_t>(with.lora.total()));
        CHECK(with.num_gpu_blocks <= without.num_gpu_blocks);
      }
    }
  }
}

// ---- host memory and the offload tiers (docs/engines.md, "Host memory", "CPU offload") ----

namespace {

// The estimate over_catalog_grid made, with `change` applied to its settings.
Report grid_again(const Report& r, EngineKind engine, const GpuSpec& gpu, std::uint32_t count, std::uint64_t ctx,
                  std::uint64_t batch, const std::function<void(Settings&)>& change) {
  const ModelSpec& m = vramcalc::test::model(r.model.id);
  Settings s = vramcalc::test::settings_for("bf16", m.dtype, ctx, batch, m.dtype);
  s.engine = engine;
  s.gpus.push_back(GpuRequest{gpu, count});
  change(s);
  return run(m, s);
}

void same_verdict(const Report& a, const Report& b) {
  REQUIRE(a.engine);
  REQUIRE(b.engine);
  CHECK(a.engine->fits == b.engine->fits);
  CHECK(a.engine->host_bytes == b.engine->host_bytes);
  CHECK(a.fit.front().fits == b.fit.front().fits);
  CHECK(a.fit.front().required_bytes_per_gpu == b.fit.front().required_bytes_per_gpu);
  CHECK(a.fit.front().usable_bytes == b.fit.front().usable_bytes);
  CHECK(a.fit.front().headroom_bytes == b.fit.front().headroom_bytes);
}

} // namespace

TEST_CASE("property: vLLM without the offload options is today's; --cpu-offload-gb never raises a GPU's need",
          "[host-mem]") {
  const GpuSpec& h100 = **catalog().find_gpu("h100");
  const auto counts = vramcalc::test::over_catalog_grid(
      EngineKind::vllm, h100, 1, [&](const Report& r, std::uint64_t ctx, std::uint64_t batch, bool) {
        CHECK(r.engine->host_bytes == 0); // V1: nothing in host memory without the options
        CHECK(r.engine->host_fits);
        // Zero offload and a host that holds anything: the same numbers.
        same_verdict(r, grid_again(r, EngineKind::vllm, h100, 1, ctx, batch, [](Settings& s) {
                       s.engine_options.vllm.cpu_offload_bytes = 0;
                       s.host_mem_bytes = UINT64_MAX;
                     }));
        const Report off = grid_again(r, EngineKind::vllm, h100, 1, ctx, batch,
                                      [](Settings& s) { s.engine_options.vllm.cpu_offload_bytes = 4 * GiB; });
        CHECK(off.fit.front().required_bytes_per_gpu <= r.fit.front().required_bytes_per_gpu);
        CHECK(off.fit.front().headroom_bytes >= r.fit.front().headroom_bytes);
        if (r.engine->fits) CHECK(off.engine->fits);
        return true;
      });
  CHECK(counts.modelled > 50);
}

TEST_CASE("property: llama.cpp -nkvo never raises a GPU's need, and moves the KV cache to the host", "[host-mem]") {
  const GpuSpec& gpu = **catalog().find_gpu("4090");
  const auto counts = vramcalc::test::over_catalog_grid(
      EngineKind::llamacpp, gpu, 2, [&](const Report& r, std::uint64_t ctx, std::uint64_t batch, bool) {
        const LlamaCppResult& p = std::get<LlamaCppSection>(r.engine->detail).plan;
        if (!p.error.empty()) return false;
        CHECK(r.engine->host_bytes == p.host.total());
        same_verdict(r, grid_again(r, EngineKind::llamacpp, gpu, 2, ctx, batch,
                                   [](Settings& s) { s.host_mem_bytes = UINT64_MAX; }));
        const Report n = grid_again(r, EngineKind::llamacpp, gpu, 2, ctx, batch,
                                    [](Settings& s) { s.engine_options.llamacpp.no_kv_offload = true; });
        const LlamaCppResult& q = std::get<LlamaCppSection>(n.engine->detail).plan;
        REQUIRE(q.gpus.size() == p.gpus.size());
        for (std::size_t i = 0; i < q.gpus.size(); ++i) {
          CHECK(q.gpus[i].kv_bytes == 0);
          CHECK(q.gpus[i].total() <= p.gpus[i].total());
        }
        CHECK(q.kv_bytes == p.kv_bytes);
        CHECK(n.engine->host_bytes >= r.engine->host_bytes);
        return true;
      });
  CHECK(counts.modelled > 50);
}

TEST_CASE("property: SGLang's LoRA pool never lowers what is held and comes exactly off the KV pool") {
  const GpuSpec& h100 = **catalog().find_gpu("h100");
  const WeightFormat bf16 = parse_weight_format("bf16", Dtype::bf16).value();
  for (const ModelSpec& m : catalog().models) {
    INFO(m.id);
    const SglangResult without = sglang_plan(m, bf16, Dtype::bf16, 8192, h100, Parallel{}, SglangOptions{});
    if (!without.error.empty()) continue;
    std::uint64_t previous = 0;
    for (const auto& [slots, rank] : {std::pair{1u, 8u}, std::pair{1u, 16u}, std::pair{8u, 16u}, std::pair{8u, 64u}}) {
      SglangOptions o;
      o.enable_lora = true;
      o.max_loras_per_batch = slots;
      o.max_lora_rank = rank;
      const SglangResult with = sglang_plan(m, bf16, Dtype::bf16, 8192, h100, Parallel{}, o);
      CHECK(with.lora.bytes > previous);
      previous = with.lora.bytes;
      CHECK(with.weights_bytes == without.weights_bytes);
      CHECK(with.static_bytes == without.static_bytes);
      CHECK(with.rest_bytes == without.rest_bytes - static_cast<std::int64_t>(with.lora.bytes));
      if (without.mamba_pool_bytes == 0) {
        CHECK(with.max_total_num_tokens <= without.max_total_num_tokens);
      } else {
        // A hybrid linear model's memory is split into whole state slots first: one slot fewer can
        // leave more to the KV pool than the LoRA pool took, so only the pools together shrink.
        CHECK(with.max_mamba_cache_size <= without.max_mamba_cache_size);
        CHECK(with.kv_pool_bytes + with.mamba_pool_bytes <= without.kv_pool_bytes + without.mamba_pool_bytes);
      }
    }
    SglangOptions off;
    off.max_loras_per_batch = 4;
    off.max_lora_rank = 64;
    off.lora_options_given = true;
    CHECK(sglang_plan(m, bf16, Dtype::bf16, 8192, h100, Parallel{}, off).max_total_num_tokens == without.max_total_num_tokens);
  }
}

TEST_CASE("property: SGLang's --cpu-offload-gb off is today's, on it grows the pool by exactly what left the GPU") {
  const GpuSpec& h100 = **catalog().find_gpu("h100");
  const WeightFormat bf16 = parse_weight_format("bf16", Dtype::bf16).value();
  for (const ModelSpec& m : catalog().models) {
    INFO(m.id);
    const SglangResult without = sglang_plan(m, bf16, Dtype::bf16, 8192, h100, Parallel{}, SglangOptions{});
    if (!without.error.empty()) continue;
    CHECK(without.host_bytes == 0);
    CHECK(without.cpu_offload.bytes == 0);
    std::uint64_t previous = 0;
    for (const std::uint64_t g : {1ull, 4ull, 64ull}) {
      SglangOptions o;
      o.cpu_offload_bytes = g << 30;
      const SglangResult with = sglang_plan(m, bf16, Dtype::bf16, 8192, h100, Parallel{}, o);
      const std::uint64_t off = with.cpu_offload.bytes - with.cpu_offload.v_slot_bytes;
      CHECK(with.cpu_offload.bytes >= previous); // a larger budget never offloads less
      previous = with.cpu_offload.bytes;
      CHECK(with.host_bytes == with.cpu_offload.bytes);
      CHECK(with.static_bytes == without.static_bytes);
      CHECK(with.weights_bytes == without.weights_bytes - off);
      CHECK(with.rest_bytes == without.rest_bytes + static_cast<std::int64_t>(off));
      if (without.mamba_pool_bytes == 0) CHECK(with.max_total_num_tokens >= without.max_total_num_tokens);
    }
  }
}

TEST_CASE("property: Ollama LoRA adapters never lower what a device holds, and without them nothing changes") {
  const GpuSpec& gpu = **catalog().find_gpu("4090");
  const auto counts = vramcalc::test::over_catalog_grid(
      EngineKind::ollama, gpu, 1, [&](const Report& r, std::uint64_t ctx, std::uint64_t batch, bool) {
        const OllamaResult& p = std::get<OllamaSection>(r.engine->detail).plan;
        if (!p.llamacpp.error.empty()) return false;
        CHECK(p.llamacpp.lora_bytes == 0);
        const ModelSpec& m = vramcalc::test::model(r.model.id);
        // An empty adapter list is today's request, byte for byte.
        const Report none = grid_again(r, EngineKind::ollama, gpu, 1, ctx, batch,
                                       [](Settings& s) { s.engine_options.ollama.loras.clear(); });
        const OllamaResult& n = std::get<OllamaSection>(none.engine->detail).plan;
        CHECK(n.gpu_totals_bytes == p.gpu_totals_bytes);
        CHECK(n.gpu_layers == p.gpu_layers);
        CHECK(none.fit.front().required_bytes_per_gpu == r.fit.front().required_bytes_per_gpu);
        const Report l = grid_again(r, EngineKind::ollama, gpu, 1, ctx, batch, [&](Settings& s) {
          s.engine_options.ollama.loras.assign(2, llamacpp_rank_lora(m, 16, Dtype::f32));
        });
        const OllamaResult& q = std::get<OllamaSection>(l.engine->detail).plan;
        CHECK(q.llamacpp.lora_bytes > 0);
        CHECK_FALSE((l.engine->fits && !r.engine->fits)); // an adapter never makes it fit
        CHECK(q.gpu_layers <= p.gpu_layers);                // nor offloads more layers
        if (q.gpu_layers == p.gpu_layers && q.settings.parallel == p.settings.parallel) {
          // The same placement: each GPU holds its share of the adapters more, nothing less.
          REQUIRE(q.gpu_totals_bytes.size() == p.gpu_totals_bytes.size());
          for (std::size_t i = 0; i < q.gpu_totals_bytes.size(); ++i) {
            CHECK(q.gpu_totals_bytes[i] == p.gpu_totals_bytes[i] + q.llamacpp.gpus[i].lora_bytes);
          }
          CHECK(l.engine->host_bytes >= r.engine->host_bytes);
        }
        return true;
      });
  CHECK(counts.modelled > 50);
}

TEST_CASE("property: llama.cpp LoRA adapters never lower a device's need and add exactly their bytes") {
  const GpuSpec& gpu = **catalog().find_gpu("4090");
  const auto counts = vramcalc::test::over_catalog_grid(
      EngineKind::llamacpp, gpu, 2, [&](const Report& r, std::uint64_t ctx, std::uint64_t batch, bool) {
        const LlamaCppResult& p = std::get<LlamaCppSection>(r.engine->detail).plan;
        if (!p.error.empty()) return false;
        // Without an adapter: none counted anywhere.
        CHECK(p.lora_adapters == 0);
        CHECK(p.lora_bytes == 0);
        CHECK(p.host.lora_bytes == 0);
        for (const LlamaCppDevice& d : p.gpus) CHECK(d.lora_bytes == 0);
        const ModelSpec& m = vramcalc::test::model(r.model.id);
        const Report l = grid_again(r, EngineKind::llamacpp, gpu, 2, ctx, batch, [&](Settings& s) {
          s.engine_options.llamacpp.loras.assign(2, llamacpp_rank_lora(m, 16, Dtype::f32));
        });
        const LlamaCppResult& q = std::get<LlamaCppSection>(l.engine->detail).plan;
        REQUIRE(q.gpus.size() == p.gpus.size());
        std::uint64_t added = q.host.total() - p.host.total();
        CHECK(q.host.total() >= p.host.total());
        for (std::size_t i = 0; i < q.gpus.size(); ++i) {
          CHECK(q.gpus[i].total() >= p.gpus[i].total());
          CHECK(q.gpus[i].total() - p.gpus[i].total() == q.gpus[i].lora_bytes);
          added += q.gpus[i].total() - p.gpus[i].total();
        }
        CHECK(added == q.lora_bytes);
        CHECK(l.fit.front().required_bytes_per_gpu >= r.fit.front().required_bytes_per_gpu);
        return true;
      });
  CHECK(counts.modelled > 50);
}
