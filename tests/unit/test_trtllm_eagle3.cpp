// TensorRT-LLM's Eagle3 and DraftTarget speculative decoding under the newest rules
// (docs/engines.md, "TensorRT-LLM", "Speculative decoding"): the head's or draft model's
// weights, its KV layers in their own pool sized by the shared max_tokens, Eagle3's hidden-state
// buffers, the draft and extra KV tokens of the profiling requests and of each request.
#include "helpers.hpp"
#include "../support/engine_cases.hpp"
#include "vramcalc/engine.hpp"
#include "vramcalc/io/hf_config.hpp"
#include "vramcalc/io/catalog.hpp"

using namespace vramcalc;
using vramcalc::test::catalog_gpu;
using vramcalc::test::format_of;
using vramcalc::test::model;

namespace {

constexpr std::uint64_t gib = 1ull << 30;

// tests/data/trtllm/eagle3-llama31-8b: the shapes of yuhuili/EAGLE3-LLaMA3.1-Instruct-8B's
// config.json (1 layer, hidden 4,096, 32 heads / 8 KV heads, intermediate 14,336, vocab
// 128,256, draft_vocab_size 32,000, float16).
DraftModel eagle3_head() {
  const std::string path = std::string(VRAMCALC_TEST_DATA) + "/trtllm/eagle3-llama31-8b/config.json";
  auto text = io::read_text_file(path, ErrorCode::invalid_model);
  REQUIRE(text);
  auto r = io::parse_hf_config(*text, "eagle3-llama31-8b/config.json", "eagle3-llama31-8b");
  REQUIRE(r);
  const ModelSpec& s = r->spec;
  return DraftModel{s, parse_weight_format("f16", s.dtype).value(), "eagle3-llama31-8b"};
}

TrtllmOptions newest(TrtllmSpecKind kind, std::uint32_t max_draft_len) {
  TrtllmOptions o;
  o.release = TrtllmRelease::newest;
  o.speculative = {kind, max_draft_len};
  o.activation_bytes = gib; // given, so the arithmetic below is the plan's own
  o.non_torch_bytes = 3 * gib;
  return o;
}

} // namespace

TEST_CASE("TensorRT-LLM Eagle3: Llama-3.1-8B bf16 on one H100 with an EAGLE-3 head, max_draft_len 3 (exact bytes)",
          "[trtllm][trtllm-eagle3]") {
  const ModelSpec& m = model("llama3.1-8b");
  const DraftModel head = eagle3_head();
  REQUIRE(head.spec.draft_vocab_size == 32000);
  REQUIRE(trtllm_eagle3_shape_problem(m, head.spec).empty());
  const TrtllmResult r = trtllm_plan(m, format_of("bf16"), Dtype::bf16, 32768, catalog_gpu("h100"), Parallel{},
                                     newest(TrtllmSpecKind::eagle3, 3), &head);
  REQUIRE(r.error.empty());
  CHECK(r.spec_mode == "Eagle3");
  CHECK(r.spec_draft_model == "eagle3-llama31-8b");
  CHECK(r.spec_layers == 1); // get_num_spec_layers: the head's num_hidden_layers
  CHECK(r.spec_extra_kv_tokens == 2);
  CHECK(r.spec_separate_pool);
  // The head: its layer with qkv_proj reading 2h, q 8,192 x 4,096 + k and v 8,192 x 1,024 each
  // = 50,331,648; o_proj 4,096 x 4,096 = 16,777,216; the gated MLP 3 x 4,096 x 14,336 =
  // 176,160,768; input_layernorm and post_attention_layernorm 8,192: 243,277,824. fc 3 x 4,096
  // x 4,096 = 50,331,648; hidden_norm and the final norm 8,192; lm_head 32,000 x 4,096 =
  // 131,072,000. 424,689,664 elements x 2 (fp16) = 849,379,328, + d2t 32,000 x 4 = 128,000:
  // 849,507,328 bytes.
  CHECK(r.spec_weights_bytes == 849507328ull);
  CHECK(r.weights_bytes == 8030261248ull * 2 + 849507328ull);
  // Its buffers: Eagle3ResourceManager (min(8,192, 2,048 x 32,768) + (3 + 1) x 2,048) = 16,384
  // rows x 3 x 4,096 x 2 = 402,653,184; the one-model spec metadata 8,192 x 12,288 x 2 =
  // 201,326,592: 603,979,776.
  CHECK(r.spec_buffer_bytes == 603979776ull);
  // The cell: the target's 32 x 2 x 8 x 128 x 2 = 131,072 and the head's 1 x 2 x 8 x 128 x 2 =
  // 4,096 in its own pool; the budget divides by both: 135,168.
  CHECK(r.spec_layer_bytes_per_token == 4096);
  CHECK(r.bytes_per_token == 135168);
  CHECK(r.estimate_bytes_per_token == 135168);
  // The profiling request: 8,192 + 1 + 3 (overlap scheduler) + 3 + 2 = 8,201 -> 257 blocks =
  // 8,224 tokens x 135,168 = 1,111,621,632 bytes (both pools).
  CHECK(r.estimation_tokens == 8224);
  CHECK(r.estimation_kv_bytes == 1111621632ull);
  // peak = 16,910,029,824 + 603,979,776 + 1,111,621,632 + 1 GiB + 3 GiB = 22,920,598,528;
  // budget = (85,018,542,080 + 1,111,621,632 - 22,920,598,528) x 15,099,494 / 2^24 =
  // 56,888,607,158; // 135,168 = 420,873 max_tokens, each pool's.
  CHECK(r.device_total_bytes == 85018542080ull);
  CHECK(r.peak_bytes == 22920598528ull);
  CHECK(r.kv_budget_bytes == 56888607158ull);
  CHECK(r.max_tokens == 420873);
  // The target's pool: free now 85,018,542,080 - 16,910,029,824 - 3 GiB - 603,979,776 =
  // 64,283,307,008, its cap 0.9 x that // 131,072 = 441,398 does not bind: 13,152 blocks =
  // 420,864 tokens. The draft's, created after, on what the target's pool left (8,120,307,712 x
  // 0.9 // 4,096 = 2,003,866): 420,864 tokens too, x 4,096 = 1,723,858,944 bytes.
  CHECK(r.free_cap_tokens == 441398);
  CHECK(r.blocks == 13152);
  CHECK(r.kv_tokens == 420864);
  CHECK(r.draft_kv_tokens == 420864);
  CHECK(r.draft_kv_cache_bytes == 1723858944ull);
  CHECK(r.kv_cache_bytes == 420864ull * 131072 + 1723858944ull);
  // A request of 32,766 tokens holds 32,766 + 3 + 2 = 32,771 -> 1,025 blocks = 32,800.
  CHECK(trtllm_request_tokens(r, 32766) == 32800);

  // Without speculative decoding: 444,005 max_tokens (the profiling request 8,194 -> 257 blocks).
  TrtllmOptions plain = newest(TrtllmSpecKind::none, 0);
  const TrtllmResult base = trtllm_plan(m, format_of("bf16"), Dtype::bf16, 32768, catalog_gpu("h100"), Parallel{}, plain);
  REQUIRE(base.error.empty());
  CHECK(base.max_tokens == 444005);
  CHECK(base.draft_kv_tokens == 0);
  CHECK(base.spec_buffer_bytes == 0);

  // An FP8 cache: the head's KV is FP8 too (the draft config copies kv_cache_quant_algo), 2,048
  // bytes a token beside the target's 65,536.
  const TrtllmResult fp8 = trtllm_plan(m, format_of("bf16"), Dtype::f8_e4m3, 32768, catalog_gpu("h100"), Parallel{},
                                       newest(TrtllmSpecKind::eagle3, 3), &head);
  REQUIRE(fp8.error.empty());
  CHECK(fp8.spec_layer_bytes_per_token == 2048);
  CHECK(fp8.bytes_per_token == 65536 + 2048);
}

TEST_CASE("TensorRT-LLM DraftTarget: Llama-3.1-8B with Llama-3.2-1B as the draft model, tp 2 (exact bytes)",
          "[trtllm][trtllm-eagle3]") {
  const ModelSpec& m = model("llama3.1-8b");
  const DraftModel draft{model("llama3.2-1b"), format_of("bf16"), "llama3.2-1b"};
  const TrtllmResult r = trtllm_plan(m, format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("h100"), Parallel{2, 1, false},
                                     newest(TrtllmSpecKind::draft_target, 4), &draft);
  REQUIRE(r.error.empty());
  CHECK(r.spec_mode == "DraftTarget");
  CHECK(r.spec_layers == 16);
  CHECK(r.spec_max_draft_len == 4);
  CHECK(r.spec_extra_kv_tokens == 3);
  CHECK(r.spec_buffer_bytes == 0);
  // The draft's KV at tp 2: 16 layers x 2 x (8 / 2) x 64 x 2 = 16,384 bytes a token in its
  // own pool; the target's 32 x 2 x 4 x 128 x 2 = 65,536.
  CHECK(r.spec_layer_bytes_per_token == 16384);
  CHECK(r.bytes_per_token == 65536 + 16384);
  CHECK(r.estimate_bytes_per_token == 65536 + 16384);
  CHECK(r.draft_kv_tokens == r.kv_tokens);
  // The draft model whole, sharded at tp 2: per layer q and o 2,048 x 2,048, k and v 2,048 x
  // 512, the gated MLP 3 x 2,048 x 8,192 = 60,817,408 / 2 = 30,408,704, + its two norms 4,096
  // unsharded: 30,412,800 x 16 = 486,604,800; the embedding (tied: the lm_head too) 128,256 x
  // 2,048 / 2 = 131,334,144; the final norm 2,048. 617,940,992 x 2 bytes = 1,235,881,984.
  CHECK(r.spec_weights_bytes == 1235881984ull);
  // A request of 8,190 tokens: 8,190 + 4 + 3 = 8,197 -> 257 blocks = 8,224 tokens.
  CHECK(trtllm_request_tokens(r, 8190) == 8224);
}

TEST_CASE("TensorRT-LLM Eagle3: a head that is not EAGLE-3-shaped, and what is refused", "[trtllm][trtllm-eagle3]") {
  const ModelSpec& m = model("llama3.1-8b");
  const DraftModel small{model("llama3.2-1b"), format_of("bf16"), "llama3.2-1b"};
  // hidden 2,048 is not the target's 4,096.
  CHECK_THAT(trtllm_eagle3_shape_problem(m, small.spec), Catch::Matchers::Contains("hidden_size 2048"));
  const TrtllmResult r = trtllm_plan(m, format_of("bf16"), Dtype::bf16, 0, catalog_gpu("h100"), Parallel{},
                                     newest(TrtllmSpecKind::eagle3, 3), &small);
  CHECK_THAT(r.error, Catch::Matchers::Contains("not an EAGLE-3 head"));
  // The target itself as a "head": as many layers as the target.
  CHECK_THAT(trtllm_eagle3_shape_problem(m, m), Catch::Matchers::Contains("DraftTarget"));
  const DraftModel head = eagle3_head();
  TrtllmOptions dp = newest(TrtllmSpecKind::eagle3, 3);
  dp.attention_dp = true;
  CHECK_THAT(trtllm_plan(m, format_of("bf16"), Dtype::bf16, 0, catalog_gpu("h100"), Parallel{}, dp, &head).error,
             Catch::Matchers::Contains("attention DP"));
  CHECK_THAT(trtllm_plan(m, format_of("bf16"), Dtype::bf16, 0, catalog_gpu("h100"), Parallel{}, newest(TrtllmSpecKind::eagle3, 0), &head).error,
             Catch::Matchers::Contains("max_draft_len must be > 0"));
  CHECK_THAT(trtllm_plan(m, format_of("bf16"), Dtype::bf16, 0, catalog_gpu("h100"), Parallel{}, newest(TrtllmSpecKind::eagle3, 3)).error,
             Catch::Matchers::Contains("needs its draft model"));
  TrtllmOptions old = newest(TrtllmSpecKind::eagle3, 3);
  old.release = TrtllmRelease::v1_1;
  CHECK_THAT(trtllm_plan(m, format_of("bf16"), Dtype::bf16, 0, catalog_gpu("h100"), Parallel{}, old, &head).error,
             Catch::Matchers::Contains("--trtllm-version newest"));
}
