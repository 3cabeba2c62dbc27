// explain(): its parts add up to the estimate, and each part is the hand arithmetic.
#include "helpers.hpp"
#include "vramcalc/explain.hpp"

using namespace vramcalc;
using vramcalc::test::catalog;
using vramcalc::test::model;
using vramcalc::test::settings_for;

namespace {

std::uint64_t tensor_sum(const Explanation& e) {
  std::uint64_t sum = 0;
  for (const ExplainTensor& t : e.tensors) sum += t.bytes_each * t.count;
  return sum;
}

std::uint64_t kv_sum(const Explanation& e) {
  std::uint64_t sum = 0;
  for (const ExplainKvGroup& g : e.kv) sum += g.bytes;
  return sum;
}

} // namespace

TEST_CASE("explain: Llama 3 70B, the tensors and one KV group add up to the estimate") {
  const Explanation e = explain(model("llama3-70b"), settings_for("bf16", Dtype::f8_e4m3, 131072), catalog().gpus).value();
  CHECK(tensor_sum(e) == e.report.memory.weights_bytes);
  CHECK(tensor_sum(e) == 141'107'412'992);
  // 12 distinct tensors: embedding, output norm, output, and 9 per layer × 80
  REQUIRE(e.tensors.size() == 12);
  const ExplainTensor& q = e.tensors[2];
  CHECK(q.name == "attn_q.weight");
  CHECK(q.count == 80);
  CHECK(q.bytes_each == 8192ull * 8192 * 2);
  REQUIRE(e.kv.size() == 1);
  CHECK(e.kv[0].layers == 80);
  CHECK(e.kv[0].bytes_per_token == 2 * 8 * 128 * 1); // K and V × 8 KV heads × 128 × 1 B (fp8)
  CHECK(e.kv[0].bytes == 2ull * 8 * 128 * 1 * 131072 * 80);
  CHECK(kv_sum(e) == e.report.memory.kv_cache_bytes);
  CHECK(e.state_layers == 0);
}

TEST_CASE("explain: Gemma 3 27B splits sliding-window and full layers") {
  const Explanation e = explain(model("gemma3-27b"), settings_for("bf16", Dtype::bf16, 32768, 4), catalog().gpus).value();
  REQUIRE(e.kv.size() == 2);
  CHECK(e.kv[0].kind == AttentionKind::sliding);
  CHECK(e.kv[0].layers == 52);
  CHECK(e.kv[0].tokens_held == 1024);
  // 2 × 16 KV heads × 128 × 2 B = 8,192 B per token and layer
  CHECK(e.kv[0].bytes == 8192ull * 1024 * 4 * 52);
  CHECK(e.kv[1].kind == AttentionKind::full);
  CHECK(e.kv[1].layers == 10);
  CHECK(e.kv[1].bytes == 8192ull * 32768 * 4 * 10);
  CHECK(kv_sum(e) == e.report.memory.kv_cache_bytes);
  CHECK(tensor_sum(e) == e.report.memory.weights_bytes);
}

TEST_CASE("explain: DeepSeek V3 MLA latent in q8_0, quantized weights") {
  const Explanation e = explain(model("deepseek-v3"), settings_for("q4_k_m", Dtype::q8_0, 32768), catalog().gpus).value();
  REQUIRE(e.kv.size() == 1);
  CHECK(e.kv[0].mla_rank == 512);
  CHECK(e.kv[0].mla_rope == 64);
  CHECK(e.kv[0].bytes_per_token == 576 / 32 * 34); // 18 blocks of q8_0
  CHECK(kv_sum(e) == e.report.memory.kv_cache_bytes);
  CHECK(tensor_sum(e) == e.report.memory.weights_bytes);
}

TEST_CASE("explain: Qwen3-Next keeps a fixed state in its linear-attention layers") {
  const Explanation e = explain(model("qwen3-next-80b-a3b"), settings_for("bf16", Dtype::bf16, 32768, 2), catalog().gpus).value();
  CHECK(e.state_layers == 36);
  CHECK(e.state_layers * e.state_bytes_per_layer * 2 == e.report.memory.state_bytes);
  CHECK(row_bytes(e.state.dtype, e.state.conv) + row_bytes(e.state.dtype, e.state.ssm) == e.state_bytes_per_layer);
  CHECK(kv_sum(e) == e.report.memory.kv_cache_bytes);
}

TEST_CASE("explain: an overflowing workload fails like the estimate") {
  auto e = explain(model("llama3-70b"), settings_for("bf16", Dtype::f16, 1ull << 40, 1'000'000), catalog().gpus);
  CHECK(!e);
}
