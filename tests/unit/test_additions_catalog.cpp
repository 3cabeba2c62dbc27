// Properties over the whole catalog for what serving adds beyond weights and KV under llama.cpp
// (docs/engines.md, "Vision projector", "MTP drafting"): a projector (--mmproj) or MTP drafting
// (--spec-type draft-mtp) never lowers what a device holds, adds exactly the bytes it reports,
// and, taken away, gives back the plan without it to the byte. The other additions have theirs
// beside their features (test_llamacpp_draft.cpp, test_vllm_speculative.cpp,
// test_vllm_encoder.cpp, test_vllm_lora.cpp, test_properties.cpp, test_trtllm_mtp.cpp).
#include "helpers.hpp"
#include "../support/engine_cases.hpp"
#include "vramcalc/engine.hpp"
#include "vramcalc/estimate.hpp"

using namespace vramcalc;
using vramcalc::test::catalog;
using vramcalc::test::catalog_gpu;
using vramcalc::test::format_of;

namespace {

// Every figure of two plans' devices, equal.
void same_devices(const LlamaCppResult& a, const LlamaCppResult& b) {
  REQUIRE(a.gpus.size() == b.gpus.size());
  for (std::size_t i = 0; i < a.gpus.size(); ++i) {
    INFO("GPU " << i);
    CHECK(a.gpus[i].model_bytes == b.gpus[i].model_bytes);
    CHECK(a.gpus[i].kv_bytes == b.gpus[i].kv_bytes);
    CHECK(a.gpus[i].compute_bytes == b.gpus[i].compute_bytes);
    CHECK(a.gpus[i].total() == b.gpus[i].total());
  }
  CHECK(a.host.total() == b.host.total());
  CHECK(a.gpu_layers == b.gpu_layers);
  CHECK(a.kv_bytes == b.kv_bytes);
}

std::uint64_t all_devices(const LlamaCppResult& r) {
  std::uint64_t sum = r.host.total();
  for (const LlamaCppDevice& d : r.gpus) sum += d.total();
  return sum;
}

} // namespace

TEST_CASE("property: a projector over the catalog adds exactly its weights and compute buffer to its one device",
          "[llamacpp-mmproj][catalog]") {
  // Every vision model of the catalog, Q4_K_M at 8,192 tokens x 2 slots on two H200s (room for the
  // largest), flash attention on and off, the projector on the first GPU and in system RAM.
  const GpuSpec& h200 = catalog_gpu("h200");
  std::size_t with_compute = 0, models = 0;
  for (const ModelSpec& m : catalog().models) {
    if (m.vision_params == 0) continue;
    ++models;
    for (const FlashAttn fa : {FlashAttn::on, FlashAttn::off}) {
      for (const bool offload : {true, false}) {
        INFO(m.id << (fa == FlashAttn::on ? " -fa on" : " -fa off") << (offload ? "" : " --no-mmproj-offload"));
        // Through estimate(), which sizes --mmproj f16 from the tower's parameters.
        Settings s;
        s.weights = format_of("q4_k_m");
        s.context_tokens = 8'192;
        s.batch = 2;
        s.engine = EngineKind::llamacpp;
        s.gpus.push_back(GpuRequest{h200, 2});
        s.engine_options.llamacpp.flash_attn = fa;
        s.engine_options.llamacpp.no_mmproj_offload = !offload;
        const auto run = [&] {
          auto r = estimate(m, s, catalog().gpus);
          REQUIRE(r.has_value());
          REQUIRE(r->engine);
          return std::get<LlamaCppSection>(r->engine->detail).plan;
        };
        const LlamaCppResult plain = run();
        s.engine_options.llamacpp.mmproj_dtype = Dtype::f16;
        const LlamaCppResult with = run();
        REQUIRE(plain.error.empty());
        REQUIRE(with.error.empty());
        CHECK(plain.mmproj_bytes == 0);
        CHECK(plain.mmproj_compute_bytes == 0);
        // f16 weights: 2 bytes a parameter of the tower.
        CHECK(with.mmproj_bytes == 2 * m.vision_params);
        CHECK(with.mmproj_on_gpu == offload);
        // The buffer exactly where the rule table has a rule for the tower and this -fa.
        const std::uint64_t rule = m.vision_clip ? llamacpp_clip_compute_bytes(*m.vision_clip, fa == FlashAttn::on) : 0;
        CHECK(with.mmproj_compute_bytes == rule);
        if (rule > 0) ++with_compute;
        // One device holds more, by exactly the projector's weights and buffer; every other
        // figure is the plan without it.
        const LlamaCppDevice& grew = offload ? with.gpus[0] : with.host;
        const LlamaCppDevice& was = offload ? plain.gpus[0] : plain.host;
        CHECK(grew.model_bytes == was.model_bytes + with.mmproj_bytes);
        CHECK(grew.compute_bytes == was.compute_bytes + with.mmproj_compute_bytes);
        CHECK(grew.kv_bytes == was.kv_bytes);
        CHECK(all_devices(with) == all_devices(plain) + with.mmproj_bytes + with.mmproj_compute_bytes);
        CHECK(with.gpus[1].total() == plain.gpus[1].total());
        CHECK((offload ? with.host.total() == plain.host.total() : with.gpus[0].total() == plain.gpus[0].total()));
        // Taken away again: the plan without it, to the byte.
        s.engine_options.llamacpp.mmproj_dtype.reset();
        same_devices(run(), plain);
      }
    }
  }
  CHECK(models >= 25);
  CHECK(with_compute >= 40); // the towers with a rule, in some of the four settings each
}

TEST_CASE("property: MTP drafting over the catalog never lowers a device's need; off, the plan is today's",
          "[llamacpp-mtp][catalog]") {
  // Every catalog model with MTP layers whose architecture draft-mtp covers, Q4_K_M at 16,384
  // tokens x 2 slots on four H200s, 1 to 6 draft tokens.
  const GpuSpec& h200 = catalog_gpu("h200");
  const std::vector<GpuSpec> gpus(4, h200);
  std::size_t modelled = 0;
  for (const ModelSpec& m : catalog().models) {
    if (m.mtp_layers == 0 || !llamacpp_mtp_refusal(m, 0).empty()) continue;
    INFO(m.id);
    LlamaCppOptions o;
    o.n_draft = 3; // a draft count with draft-mtp off changes nothing
    const LlamaCppResult plain = llamacpp_plan(m, format_of("q4_k_m"), 16'384, 2, gpus, 1ull << 30, LlamaCppOptions{});
    REQUIRE(plain.error.empty());
    same_devices(llamacpp_plan(m, format_of("q4_k_m"), 16'384, 2, gpus, 1ull << 30, o), plain);
    CHECK_FALSE(plain.mtp.has_value());
    std::uint64_t previous = all_devices(plain);
    for (const std::uint32_t n_draft : {1u, 3u, 6u}) {
      o.spec_mtp = true;
      o.n_draft = n_draft;
      const LlamaCppResult with = llamacpp_plan(m, format_of("q4_k_m"), 16'384, 2, gpus, 1ull << 30, o);
      REQUIRE(with.error.empty());
      REQUIRE(with.mtp.has_value());
      CHECK(with.mtp->layers == m.mtp_layers);
      CHECK(with.host.total() >= plain.host.total());
      for (std::size_t i = 0; i < gpus.size(); ++i) CHECK(with.gpus[i].total() >= plain.gpus[i].total());
      // The MTP blocks' weights and the MTP context's cache are among what was added.
      CHECK(all_devices(with) - all_devices(plain) >= with.mtp->weights_bytes + with.mtp->kv_bytes);
      // More draft tokens: never less (more outputs reserved, more state snapshots).
      CHECK(all_devices(with) >= previous);
      previous = all_devices(with);
    }
    o.spec_mtp = false;
    same_devices(llamacpp_plan(m, format_of("q4_k_m"), 16'384, 2, gpus, 1ull << 30, o), plain);
    ++modelled;
  }
  CHECK(modelled >= 5);
}
