// Tensor and pipeline parallelism: what each GPU holds.
#include "helpers.hpp"
#include "vramcalc/estimate.hpp"
#include "vramcalc/kv.hpp"
#include "vramcalc/placement.hpp"

using namespace vramcalc;
using vramcalc::test::model;

namespace {
WeightFormat fmt_of(const std::string& n) { return parse_weight_format(n, Dtype::bf16).value(); }
} // namespace

TEST_CASE("pipeline stages follow vLLM's get_pp_indices") {
  // 126 layers over 8 stages: 15 each, the 6 left over go to stages 6, 5, 4, 3, 2, 1
  const std::uint64_t expected[] = {15, 16, 16, 16, 16, 16, 16, 15};
  std::uint64_t next = 0;
  for (std::uint32_t s = 0; s < 8; ++s) {
    const auto [first, last] = stage_layers(126, 8, s);
    CHECK(first == next);
    CHECK(last - first == expected[s]);
    next = last;
  }
  CHECK(next == 126);
  CHECK(stage_layers(80, 1, 0) == std::pair<std::uint64_t, std::uint64_t>{0, 80});
}

TEST_CASE("stage_layers' closed form equals get_pp_indices step by step") {
  // get_pp_indices as vLLM writes it: partition sizes, the remainder one each to the
  // partitions before the last, counting back from it; then prefix sums.
  for (std::uint64_t n = 1; n <= 130; ++n) {
    for (std::uint32_t pp = 1; pp <= std::min<std::uint64_t>(n, 64); ++pp) {
      std::vector<std::uint64_t> sizes(pp, n / pp);
      for (std::uint64_t i = 2; i < n % pp + 2; ++i) ++sizes[pp - i];
      std::uint64_t first = 0;
      for (std::uint32_t s = 0; s < pp; ++s) {
        INFO(n << " layers, " << pp << " stages, stage " << s);
        CHECK(stage_layers(n, pp, s) == std::pair<std::uint64_t, std::uint64_t>{first, first + sizes[s]});
        first += sizes[s];
      }
    }
  }
}

TEST_CASE("KV heads are split, and replicated beyond their number") {
  CHECK(kv_heads_per_rank(8, 1) == 8);
  CHECK(kv_heads_per_rank(8, 4) == 2);
  CHECK(kv_heads_per_rank(8, 16) == 1);
  const ModelSpec& m = model("llama3-70b");
  // tp 16: each GPU keeps 1 KV head: 2 x 80 x 1 x 128 x 2 = 40,960 bytes per token
  const RankMemory r = busiest_rank(m, fmt_of("bf16"), Dtype::bf16, 1, 1, Parallel{16, 1, false});
  CHECK(r.kv_bytes == 40'960);
  CHECK(parallel_problem(m, Parallel{16, 1, false}).empty());
  CHECK(parallel_problem(m, Parallel{3, 1, false}) == "tp 3 does not divide the 64 attention heads");
}

TEST_CASE("MLA's latent is on every tensor-parallel GPU") {
  const ModelSpec& m = model("deepseek-r1");
  const RankMemory one = busiest_rank(m, fmt_of("fp8-block"), Dtype::bf16, 1000, 1, Parallel{1, 1, false});
  const RankMemory eight = busiest_rank(m, fmt_of("fp8-block"), Dtype::bf16, 1000, 1, Parallel{8, 1, false});
  CHECK(one.kv_bytes == 70'272'000);   // 70,272 bytes per token x 1000
  CHECK(eight.kv_bytes == 70'272'000); // the same on each of the 8
}

TEST_CASE("Llama 3.1 405B fp8 on 8 x H100 (tp 8)") {
  const ModelSpec& m = model("llama3.1-405b");
  const RankMemory r = busiest_rank(m, fmt_of("fp8"), Dtype::bf16, 32768, 1, Parallel{8, 1, false});
  // Every linear matrix is split 8 ways, fp8 with one f32 scale per shard; the embedding and
  // head are split by vocabulary (128,256 / 8 = 16,032 rows) in bf16; norms are replicated:
  //   per layer: q 16384 x 2048 = 33,554,432; k, v 16384 x 128 (1 of 8 KV heads) = 2,097,152
  //              each; o 2048 x 16384 = 33,554,432; gate, up 16384 x 6656 and down 6656 x 16384
  //              = 109,051,904 each -> 398,458,880 bytes + 7 scales x 4 = 398,458,908
  //              + norms 2 x 16384 x 2 bytes = 65,536 -> 398,524,444 per layer
  //   126 layers: 50,214,079,944; embedding and head 2 x 16,032 x 16,384 x 2 = 1,050,673,152;
  //   final norm 32,768  -> weights 51,264,785,864 (47.74 GiB)
  //   KV: 126 x 2 x 1 x 128 x 2 bytes x 32,768 = 2,113,929,216
  CHECK(r.weights_bytes == 51'264'785'864ull);
  CHECK(r.kv_bytes == 2'113'929'216ull);
}

TEST_CASE("choose_parallel prefers tensor parallel within a node") {
  const ModelSpec& m = model("llama3-70b");
  CHECK(choose_parallel(m, 8)->tp == 8);
  CHECK(choose_parallel(m, 16)->tp == 8);
  CHECK(choose_parallel(m, 16)->pp == 2);
  CHECK(choose_parallel(m, 6)->tp == 2); // 64 heads: tp 6 and 3 do not divide them
  CHECK(choose_parallel(m, 6)->pp == 3);
}

TEST_CASE("property: on one GPU the busiest GPU holds exactly the model") {
  for (const ModelSpec& m : vramcalc::test::catalog().models) {
    for (const char* f : {"bf16", "fp8", "q4_k_m", "awq", "exl2-4.65"}) {
      INFO(m.id << " " << f);
      const WeightFormat w = fmt_of(f);
      const RankMemory r = busiest_rank(m, w, Dtype::bf16, 4096, 2, Parallel{});
      CHECK(r.weights_bytes == weight_bytes(m, w).total);
      CHECK(r.kv_bytes == kv_cache(m, Dtype::bf16, 4096, 2).total_bytes);
      CHECK(r.state_bytes == kv_cache(m, Dtype::bf16, 4096, 2).state_total_bytes);
    }
  }
}

TEST_CASE("property: more GPUs never need more memory each; totals at least the model") {
  const ModelSpec& m = model("qwen3-30b-a3b");
  const WeightFormat w = fmt_of("bf16");
  std::uint64_t prev = UINT64_MAX;
  for (std::uint32_t tp : {1u, 2u, 4u}) {
    const RankMemory r = busiest_rank(m, w, Dtype::bf16, 32768, 1, Parallel{tp, 1, false});
    CHECK(r.total() <= prev);
    CHECK(r.total() * tp >= weight_bytes(m, w).total);
    prev = r.total();
  }
}

TEST_CASE("Kimi Delta Attention at tp 2: vLLM's column-parallel projections, convolutions, A_log and dt_bias halve") {
  const ModelSpec& m = model("kimi-linear-48b-a3b"); // layer 0: KDA, 32 heads of 128, P 4,096, hidden 2,304
  std::vector<std::string> got;
  for (const Tensor& t : rank_tensors(m, Parallel{2, 1, false}, 0)) {
    if (t.layer != 0 || t.group() == TensorGroup::mlp || t.group() == TensorGroup::norms) continue;
    got.push_back(t.gguf_name() + " " + std::to_string(t.ne0) + "x" + std::to_string(t.ne1));
  }
  // kda.py: q/k/v_proj, the convolutions, f_b, g_b, b_proj ColumnParallelLinear (rows / 2);
  // dt_bias sharded_weight_loader(0), A_log sharded_weight_loader(2) (heads / 2); f_a, g_a
  // ReplicatedLinear; o_norm replicated; o_proj RowParallelLinear (columns / 2).
  const std::vector<std::string> expected = {
      "blk.0.attn_q.weight 2304x2048",      "blk.0.attn_k.weight 2304x2048",      "blk.0.attn_v.weight 2304x2048",
      "blk.0.ssm_conv1d_q.weight 4x2048",   "blk.0.ssm_conv1d_k.weight 4x2048",   "blk.0.ssm_conv1d_v.weight 4x2048",
      "blk.0.ssm_f_a.weight 2304x128",      "blk.0.ssm_f_b.weight 128x2048",      "blk.0.ssm_dt.bias 2048x1",
      "blk.0.ssm_beta.weight 2304x16",      "blk.0.ssm_a.weight 16x1",            "blk.0.ssm_g_a.weight 2304x128",
      "blk.0.ssm_g_b.weight 128x2048",      "blk.0.ssm_norm.weight 128x1",        "blk.0.attn_output.weight 2048x2304",
  };
  CHECK(got == expected);
}
