// TensorRT-LLM's MTP speculative decoding under the newest rules (docs/engines.md,
// "TensorRT-LLM", "Speculative decoding"): the MTP layers' weights, their KV layers in the
// pool's cell, the draft and extra KV tokens of the profiling requests and of each request.
#include "helpers.hpp"
#include "../support/engine_cases.hpp"
#include "core/engine_sections.hpp"
#include "vramcalc/engine.hpp"

using namespace vramcalc;
using vramcalc::test::catalog;
using vramcalc::test::catalog_gpu;
using vramcalc::test::format_of;
using vramcalc::test::model;

namespace {

constexpr std::uint64_t gib = 1ull << 30;

TrtllmOptions newest_mtp(std::uint32_t max_draft_len) {
  TrtllmOptions o;
  o.release = TrtllmRelease::newest;
  o.speculative = {TrtllmSpecKind::mtp, max_draft_len};
  o.activation_bytes = gib;      // given, so the arithmetic below is the plan's own
  o.non_torch_bytes = 3 * gib;
  return o;
}

} // namespace

TEST_CASE("TensorRT-LLM MTP: DeepSeek-R1 fp8 on 8x H200, max_draft_len 1 and 3 (exact bytes)", "[trtllm][trtllm-mtp]") {
  const ModelSpec& m = model("deepseek-r1"); // 61 MLA layers, one MTP layer (num_nextn_predict_layers 1)
  const Parallel p{8, 1, false};
  const WeightFormat f = format_of("fp8");
  TrtllmOptions plain = newest_mtp(0);
  plain.speculative = {};
  const TrtllmResult base = trtllm_plan(m, f, Dtype::bf16, 32768, catalog_gpu("h200"), p, plain);
  REQUIRE(base.error.empty());
  CHECK(base.weights_bytes == 85247585184ull);
  CHECK(base.bytes_per_token == 70272); // 61 x 576 x 2

  const TrtllmResult r = trtllm_plan(m, f, Dtype::bf16, 32768, catalog_gpu("h200"), p, newest_mtp(3));
  REQUIRE(r.error.empty());
  // One MTP layer in the checkpoint: MTP_EAGLE_ONE_MODEL, its layer replayed 3 times;
  // get_num_spec_layers 1, get_num_extra_kv_tokens 3 - 1 = 2.
  CHECK(r.spec_mode == "MTP Eagle");
  CHECK(r.spec_max_draft_len == 3);
  CHECK(r.spec_layers == 1);
  CHECK(r.spec_extra_kv_tokens == 2);
  // Weights: the MTP layer on each GPU, its decoder layer sharded as the model's, enorm, hnorm,
  // eh_proj (2 x 7168 x 7168 x 2 bytes = 205,520,896, unsharded BF16) and shared_head's norm
  // (the embedding and lm_head are the target's): 1,660,696,096; plus its MLA k_b_proj_trans,
  // with -q fp8's per-tensor scales in the model dtype: 16 heads x 512 x 128 x 2 = 2,097,152.
  // 1,662,793,248 in all.
  CHECK(detail::mtp_layers_bytes(m, f, p, false) == 1660696096ull);
  CHECK(r.spec_weights_bytes == 1660696096ull + 2097152ull);
  CHECK(r.weights_bytes == 85247585184ull + 1662793248ull);
  // The cell: (61 + 1) x 576 x 2 = 71,424 bytes a token, the spec layer's 1,152 of it.
  CHECK(r.spec_layer_bytes_per_token == 1152);
  CHECK(r.bytes_per_token == 71424);
  CHECK(r.estimate_bytes_per_token == 71424);
  // The profiling request: 8,192 tokens + 1 generated + 3 (overlap scheduler) + 3 draft + 2
  // extra = 8,201 -> 257 blocks = 8,224 tokens x 71,424 = 587,390,976 bytes.
  CHECK(r.estimation_tokens == 8224);
  CHECK(r.estimation_kv_bytes == 587390976ull);
  // peak = 86,910,378,432 + 587,390,976 + 1 GiB + 3 GiB = 91,792,736,704; the budget:
  // (150,217,949,184 + 587,390,976 - 91,792,736,704) = 59,012,603,456 x 15,099,494 / 2^24
  // = 53,111,341,703; // 71,424 = 743,606 tokens, the max_tokens of both pools: the target's
  // (its free cap 0.9 x (150,217,949,184 - 86,910,378,432 - 3 GiB) / 70,272 = 769,548 does
  // not bind) and the MTP layer's own, created after it (0.9 x the 7,833,210,432 bytes the
  // target's left / 1,152 = 6,119,695); 743,606 // 32 = 23,237 blocks = 743,584 tokens in each,
  // x 70,272 + x 1,152 = 53,109,743,616 bytes.
  CHECK(r.peak_bytes == 91792736704ull);
  CHECK(r.kv_budget_bytes == 53111341703ull);
  CHECK(r.max_tokens == 743606);
  CHECK(r.spec_separate_pool);
  CHECK(r.free_cap_tokens == 769548);
  CHECK(r.blocks == 23237);
  CHECK(r.draft_kv_tokens == 743584);
  CHECK(r.draft_kv_cache_bytes == 743584ull * 1152);
  CHECK(r.kv_cache_bytes == 53109743616ull);
  // Without MTP: 777,092 tokens, 777,088 in blocks.
  CHECK(base.max_tokens == 777092);
  CHECK(base.kv_tokens == 777088);
  // A request of 32,766 tokens holds 32,766 + 3 + 2 = 32,771 -> 1,025 blocks = 32,800 tokens;
  // with max_draft_len 1 (no extra), 32,767 -> 1,024 blocks = 32,768; without MTP 32,768.
  CHECK(trtllm_request_tokens(r, 32766) == 32800);
  const TrtllmResult one = trtllm_plan(m, f, Dtype::bf16, 32768, catalog_gpu("h200"), p, newest_mtp(1));
  REQUIRE(one.error.empty());
  CHECK(one.spec_max_draft_len == 1);
  CHECK(one.spec_extra_kv_tokens == 0);
  CHECK(one.spec_layers == 1);
  CHECK(one.weights_bytes == r.weights_bytes); // the same one MTP layer
  // Profiling: 8,192 + 1 + 1 + 1 + 0 = 8,195 -> 257 blocks, the same 8,224 tokens.
  CHECK(one.estimation_tokens == 8224);
  CHECK(one.kv_tokens == r.kv_tokens);
  CHECK(trtllm_request_tokens(one, 32766) == 32768);
  CHECK(trtllm_request_tokens(base, 32766) == 32768);
  // max_draft_len not given: MTP Eagle drafts 1.
  CHECK(trtllm_plan(m, f, Dtype::bf16, 32768, catalog_gpu("h200"), p, newest_mtp(0)).spec_max_draft_len == 1);
}

TEST_CASE("TensorRT-LLM MTP: refused under 1.1, without MTP layers, with pipeline parallelism", "[trtllm][trtllm-mtp]") {
  const WeightFormat f = format_of("bf16");
  TrtllmOptions old = newest_mtp(3);
  old.release = TrtllmRelease::v1_1;
  const TrtllmResult r = trtllm_plan(model("deepseek-r1"), f, Dtype::bf16, 0, catalog_gpu("h200"), Parallel{8, 1, false}, old);
  CHECK_THAT(r.error, Catch::Matchers::Contains("--trtllm-version newest"));
  CHECK(r.kv_tokens == 0);
  const TrtllmResult none = trtllm_plan(model("llama3.1-8b"), f, Dtype::bf16, 0, catalog_gpu("h200"), Parallel{}, newest_mtp(3));
  CHECK_THAT(none.error, Catch::Matchers::Contains("has none"));
  const TrtllmResult pp = trtllm_plan(model("deepseek-r1"), f, Dtype::bf16, 0, catalog_gpu("h200"), Parallel{8, 2, false}, newest_mtp(3));
  CHECK_THAT(pp.error, Catch::Matchers::Contains("pipeline parallelism"));
}

TEST_CASE("property: TensorRT-LLM MTP on every catalog model with MTP layers never lowers the need; without it "
          "nothing changes", "[trtllm][trtllm-mtp]") {
  std::size_t with_mtp = 0;
  for (const ModelSpec& m : catalog().models) {
    INFO(m.id);
    const std::optional<Parallel> p = choose_parallel(m, 8);
    if (!p) continue;
    const WeightFormat f = parse_weight_format("bf16", m.dtype).value();
    TrtllmOptions plain;
    plain.release = TrtllmRelease::newest;
    const TrtllmResult base = trtllm_plan(m, f, m.dtype, 0, catalog_gpu("h200"), *p, plain);
    // Without speculative decoding the spec fields stay 0 and a request holds its context in blocks.
    CHECK(base.spec_mode.empty());
    CHECK(base.spec_weights_bytes == 0);
    CHECK(base.spec_layers == 0);
    if (base.error.empty()) {
      CHECK(trtllm_request_tokens(base, 1000) == (1000 + base.tokens_per_block - 1) / base.tokens_per_block * base.tokens_per_block);
    }
    if (m.mtp_layers == 0 || !base.error.empty() || p->pp > 1) continue;
    ++with_mtp;
    for (std::uint32_t d : {1u, 2u, 3u, 4u}) {
      TrtllmOptions o = plain;
      o.speculative = {TrtllmSpecKind::mtp, d};
      const TrtllmResult r = trtllm_plan(m, f, m.dtype, 0, catalog_gpu("h200"), *p, o);
      REQUIRE(r.error.empty());
      CHECK(r.weights_bytes > base.weights_bytes);
      CHECK(r.bytes_per_token > base.bytes_per_token);
      CHECK(r.estimation_tokens >= base.estimation_tokens);
      CHECK(r.peak_bytes > base.peak_bytes);
      CHECK(r.kv_tokens <= base.kv_tokens);
      for (std::uint64_t ctx : {1ull, 4000ull, 32767ull}) {
        CHECK(trtllm_request_tokens(r, ctx) >= trtllm_request_tokens(base, ctx));
        CHECK(trtllm_request_tokens(r, ctx) * r.bytes_per_token >= trtllm_request_tokens(base, ctx) * base.bytes_per_token);
      }
    }
  }
  CHECK(with_mtp >= 2); // DeepSeek-V3 / R1, GLM-4.5, ...
}

TEST_CASE("TensorRT-LLM MTP: vanilla MTP on a checkpoint with 3 MTP layers (exact bytes)", "[trtllm][trtllm-mtp]") {
  // DeepSeek-R1 as if its checkpoint held 3 MTP layers (num_nextn_predict_layers 3): vanilla MTP,
  // get_num_spec_layers 3, max_draft_len at most 3 (update_spec_config_from_model_config).
  ModelSpec m = model("deepseek-r1");
  m.mtp_layers = 3;
  const Parallel p{8, 1, false};
  const WeightFormat f = format_of("fp8");
  const TrtllmResult r = trtllm_plan(m, f, Dtype::bf16, 32768, catalog_gpu("h200"), p, newest_mtp(5));
  REQUIRE(r.error.empty());
  CHECK(r.spec_mode == "MTP");
  CHECK(r.spec_max_draft_len == 3); // min(5, 3)
  CHECK(r.spec_layers == 3);
  CHECK(r.spec_extra_kv_tokens == 2);
  // Three MTP layers' weights: 3 x (1,660,696,096 + 2,097,152) = 4,988,379,744.
  CHECK(r.spec_weights_bytes == 3 * (1660696096ull + 2097152ull));
  CHECK(r.weights_bytes == 85247585184ull + 4988379744ull);
  // The cell: (61 + 3) x 576 x 2 = 73,728; the spec layers' 3 x 1,152 = 3,456 of it.
  CHECK(r.bytes_per_token == 73728);
  CHECK(r.spec_layer_bytes_per_token == 3456);
  // Not given: the checkpoint's 3.
  CHECK(trtllm_plan(m, f, Dtype::bf16, 32768, catalog_gpu("h200"), p, newest_mtp(0)).spec_max_draft_len == 3);
  // With attention DP no separate draft pool (_should_create_separate_draft_kv_cache): the MTP
  // layers are layers of the target's pool, its 64 x 576 x 2 = 73,728 bytes a token in one.
  TrtllmOptions dp = newest_mtp(3);
  dp.attention_dp = true;
  const TrtllmResult joint = trtllm_plan(m, f, Dtype::bf16, 32768, catalog_gpu("h200"), p, dp);
  REQUIRE(joint.error.empty());
  CHECK_FALSE(joint.spec_separate_pool);
  CHECK(joint.draft_kv_tokens == 0);
  CHECK(joint.bytes_per_token == 73728);
  CHECK(joint.kv_cache_bytes == joint.kv_tokens * 73728);
}
