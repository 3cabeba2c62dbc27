// llama-server's draft model (-md / --draft): its weights once, one context of its own per
// slot, each with its KV cache and compute buffers (docs/engines.md, "Draft model").
#include "helpers.hpp"
#include "../support/engine_cases.hpp"
#include "vramcalc/engine.hpp"
#include "vramcalc/estimate.hpp"

using namespace vramcalc;
using vramcalc::test::catalog;
using vramcalc::test::catalog_gpu;
using vramcalc::test::format_of;
using vramcalc::test::model;

namespace {

std::shared_ptr<const DraftModel> draft_of(const std::string& id, const std::string& format) {
  return std::make_shared<const DraftModel>(DraftModel{model(id), format_of(format), id});
}

// The b6xxx build the per-slot draft contexts were read in (October 2025); from PR #22838
// (2026-05-08) one context serves every slot (test below).
constexpr std::uint32_t per_slot_release = 20251015;

Settings llamacpp_settings(const std::string& format, std::uint64_t ctx, std::uint64_t batch, const GpuSpec& gpu,
                           std::uint32_t release = per_slot_release) {
  Settings s;
  s.engine_options.llamacpp.release = release;
  s.weights = format_of(format);
  s.kv_dtype = Dtype::f16;
  s.context_tokens = ctx;
  s.batch = batch;
  s.engine = EngineKind::llamacpp;
  s.gpus.push_back(GpuRequest{gpu, 1});
  return s;
}

const LlamaCppResult& plan_of(const Report& r) { return std::get<LlamaCppSection>(r.engine->detail).plan; }

} // namespace

TEST_CASE("llama-server -md: the draft's weights once and one context per slot") {
  // Llama-3.1-8B Q4_K_M with Llama-3.2-1B Q8_0 as draft, -c 32768 -np 2 on an RTX 4090: each
  // slot's draft context has the target's 16,384 cells per slot (llama_n_ctx_seq), one
  // sequence, f16 K and V: 16 layers x 2 x 8 KV heads x 64 x 2 bytes = 32,768 bytes a cell,
  // x 16,384 cells = 536,870,912 bytes (512 MiB) a context.
  const GpuSpec& gpu = catalog_gpu("rtx-4090");
  Settings s = llamacpp_settings("q4_k_m", 16384, 2, gpu);
  const auto plain = estimate(model("llama3.1-8b"), s, catalog().gpus);
  s.draft = draft_of("llama3.2-1b", "q8_0");
  const auto with = estimate(model("llama3.1-8b"), s, catalog().gpus);
  REQUIRE(plain.has_value());
  REQUIRE(with.has_value());
  const LlamaCppResult& a = plan_of(*plain);
  const LlamaCppResult& b = plan_of(*with);
  REQUIRE(b.draft.has_value());
  const LlamaCppDraft& d = *b.draft;
  CHECK(d.contexts == 2);
  CHECK(d.n_ctx == 16'384);
  CHECK(d.kv_bytes == 16ull * 2 * 8 * 64 * 2 * 16'384);
  CHECK(d.kv_bytes == 536'870'912ull);
  // The same context planned on its own: n_seq 1, n_batch = its n_ctx (cparams_dft.n_batch),
  // every layer on the GPU, no margin.
  LlamaCppOptions o;
  o.release = per_slot_release;
  o.type_k = o.type_v = Dtype::f16;
  o.server = false;
  o.n_batch = 16'384;
  const LlamaCppResult alone = llamacpp_plan(model("llama3.2-1b"), format_of("q8_0"), 16'384, 1, {gpu}, 0, o);
  CHECK(d.weights_bytes == alone.gpus[0].model_bytes + alone.host.model_bytes);
  CHECK(d.kv_bytes == alone.gpus[0].kv_bytes);
  CHECK(d.compute_bytes == alone.gpus[0].compute_bytes + alone.host.compute_bytes);
  // On the GPU: the target's figures plus the draft's weights and two contexts. The target's
  // compute buffer differs only by --draft-max's outputs (16 by default with a draft model).
  CHECK(b.gpus[0].model_bytes == a.gpus[0].model_bytes + alone.gpus[0].model_bytes);
  CHECK(b.gpus[0].kv_bytes == a.gpus[0].kv_bytes + 2 * alone.gpus[0].kv_bytes);
  CHECK(b.n_outputs >= a.n_outputs);
  CHECK(b.gpus[0].total() > a.gpus[0].total() + d.weights_bytes + 2 * d.kv_bytes);
}

TEST_CASE("llama-server draft options: -cd, -ctkd / -ctvd, -ngld") {
  const GpuSpec& gpu = catalog_gpu("rtx-4090");
  Settings s = llamacpp_settings("q4_k_m", 16384, 1, gpu);
  s.draft = draft_of("llama3.2-1b", "q8_0");
  // -cd 4096: 4,096 cells x 32,768 bytes = 134,217,728 a context
  REQUIRE_FALSE(test::apply_option(EngineKind::llamacpp, s, "--ctx-size-draft", "4096"));
  // -ctkd q8_0: K in q8_0, 34 bytes per 32 values: 16 layers x 8 x 64 / 32 x 34 = 8,704 bytes a
  // cell for K, V f16 16 x 8 x 64 x 2 = 16,384
  REQUIRE_FALSE(test::apply_option(EngineKind::llamacpp, s, "--cache-type-k-draft", "q8_0"));
  const auto r = estimate(model("llama3.1-8b"), s, catalog().gpus);
  REQUIRE(r.has_value());
  const LlamaCppDraft& d = *plan_of(*r).draft;
  CHECK(d.n_ctx == 4'096);
  CHECK(d.type_k == Dtype::q8_0);
  CHECK(d.kv_bytes == (16ull * 8 * 64 / 32 * 34 + 16ull * 8 * 64 * 2) * 4'096);
  // -ngld 0: the draft stays in system RAM, with its KV cache; -ngl of the target unchanged
  REQUIRE_FALSE(test::apply_option(EngineKind::llamacpp, s, "--gpu-layers-draft", "0"));
  const auto cpu = estimate(model("llama3.1-8b"), s, catalog().gpus);
  REQUIRE(cpu.has_value());
  CHECK(plan_of(*cpu).draft->gpu_layers == 0);
  CHECK(s.engine_options.llamacpp.n_gpu_layers == std::nullopt);
  CHECK(plan_of(*cpu).gpus[0].kv_bytes == plan_of(*r).gpus[0].kv_bytes - d.kv_bytes);
}

TEST_CASE("a draft model over the catalog: the busiest GPU never needs less; without it nothing changes") {
  // Every model of the catalog under llama.cpp on an H200 at 4,096 tokens x 2 slots, Q8_0, with
  // Llama-3.2-1B Q8_0 as its draft.
  const GpuSpec& gpu = catalog_gpu("h200");
  for (const ModelSpec& m : catalog().models) {
    INFO(m.id);
    Settings s = llamacpp_settings("q8_0", 4096, 2, gpu);
    const auto plain = estimate(m, s, catalog().gpus);
    REQUIRE(plain.has_value());
    CHECK_FALSE(plan_of(*plain).draft.has_value());
    s.draft = draft_of("llama3.2-1b", "q8_0");
    const auto with = estimate(m, s, catalog().gpus);
    REQUIRE(with.has_value());
    CHECK(with->fit.front().required_bytes_per_gpu >= plain->fit.front().required_bytes_per_gpu);
    std::uint64_t before = plain.value().engine ? plan_of(*plain).host.total() : 0, after = plan_of(*with).host.total();
    for (const LlamaCppDevice& d : plan_of(*plain).gpus) before += d.total();
    for (const LlamaCppDevice& d : plan_of(*with).gpus) after += d.total();
    CHECK(after > before);
  }
}

TEST_CASE("llama-server -md from PR #22838: one draft context for all slots, with the target's cells") {
  // common/speculative.cpp common_speculative_init_result (the build of 2026-09-12): the draft
  // context has n_ctx = llama_n_ctx(ctx_tgt) (2 streams x 16,384 cells here), the target's 2
  // sequences, -b 2048 and -ub 512, n_outputs_max = n_parallel; -cd is gone.
  const GpuSpec& gpu = catalog_gpu("rtx-4090");
  Settings s = llamacpp_settings("q4_k_m", 16384, 2, gpu, 0);
  s.draft = draft_of("llama3.2-1b", "q8_0");
  const auto with = estimate(model("llama3.1-8b"), s, catalog().gpus);
  REQUIRE(with.has_value());
  const LlamaCppDraft& d = *plan_of(*with).draft;
  CHECK(d.contexts == 1);
  CHECK(d.n_ctx == 32'768);
  // The same KV bytes as two per-slot contexts: 16 layers x 2 x 8 x 64 x 2 bytes x 32,768 cells.
  CHECK(d.kv_bytes == 16ull * 2 * 8 * 64 * 2 * 32'768);
  // The context planned on its own: 2 sequences over 32,768 cells, the target's batch, server
  // outputs (n_parallel, n_draft 0).
  LlamaCppOptions o;
  o.type_k = o.type_v = Dtype::f16;
  const LlamaCppResult alone = llamacpp_plan(model("llama3.2-1b"), format_of("q8_0"), 32'768, 2, {gpu}, 0, o);
  CHECK(alone.n_outputs == 2);
  CHECK(d.kv_bytes == alone.gpus[0].kv_bytes);
  CHECK(d.compute_bytes == alone.gpus[0].compute_bytes + alone.host.compute_bytes);
  // One compute buffer instead of one a slot: less than the per-slot build's.
  Settings old = llamacpp_settings("q4_k_m", 16384, 2, gpu);
  old.draft = s.draft;
  const auto per_slot = estimate(model("llama3.1-8b"), old, catalog().gpus);
  REQUIRE(per_slot.has_value());
  CHECK(plan_of(*per_slot).draft->contexts == 2);
  CHECK(d.total() < plan_of(*per_slot).draft->total());
}
