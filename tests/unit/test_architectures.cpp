// KV cache and recurrent state of the catalog's architectures, to the byte, checked against
// the arithmetic written out here and against an independent per-layer loop.
#include "helpers.hpp"
#include "vramcalc/kv.hpp"

#include <algorithm>

using namespace vramcalc;
using vramcalc::test::model;

namespace {

// The test's own per-layer sum, from the spec's fields only (not from kv.cpp):
// full layers hold the context, windowed layers min(context, window), MLA layers one latent.
std::uint64_t independent_kv(const ModelSpec& m, std::uint64_t bytes_per_elem, std::uint64_t ctx) {
  std::uint64_t total = 0;
  for (const LayerSpec& l : m.layers) {
    if (!l.has_mixer || l.attention == AttentionKind::none) continue;
    const std::uint64_t per_token =
        m.attention.mla ? (m.attention.mla->kv_lora_rank + m.attention.mla->qk_rope_head_dim) * bytes_per_elem
                        : l.num_kv_heads * (l.head_dim_k + l.head_dim_v) * bytes_per_elem;
    const std::uint64_t held = l.attention == AttentionKind::full ? ctx : std::min(ctx, l.window);
    total += per_token * held;
  }
  return total;
}

void check_both(const std::string& id, std::uint64_t ctx, std::uint64_t expected) {
  const ModelSpec& m = model(id);
  INFO(id << " at " << ctx << " tokens");
  CHECK(kv_cache(m, Dtype::bf16, ctx, 1).total_bytes == expected);
  CHECK(independent_kv(m, 2, ctx) == expected);
}

} // namespace

TEST_CASE("Llama 3 70B (GQA): 8 KV heads") {
  // 80 layers x 2 x 8 x 128 x 2 bytes = 327,680 per token; x 131,072 = 42,949,672,960
  check_both("llama3-70b", 131072, 42'949'672'960ull);
}

TEST_CASE("DeepSeek-R1 (MLA): one 576-element latent per token and layer") {
  // 61 x (512 + 64) x 2 = 70,272 bytes per token; x 32,768 = 2,302,672,896
  CHECK(kv_cache(model("deepseek-r1"), Dtype::bf16, 1, 1).bytes_per_token == 70'272);
  check_both("deepseek-r1", 32768, 2'302'672'896ull);
}

TEST_CASE("Gemma 3 27B: 5 local (1024) : 1 global") {
  const ModelSpec& m = model("gemma-3-27b");
  // 62 layers; global where (i + 1) % 6 == 0: 10 layers; 52 local.
  CHECK(std::count_if(m.layers.begin(), m.layers.end(),
                      [](const LayerSpec& l) { return l.attention == AttentionKind::full; }) == 10);
  // per layer per token: 2 x 16 KV heads x 128 x 2 = 8,192 bytes
  // at 32,768: 10 x 8,192 x 32,768 + 52 x 8,192 x 1,024 = 2,684,354,560 + 436,207,616
  check_both("gemma-3-27b", 32768, 3'120'562'176ull);
  // at 131,072: 10,737,418,240 + 436,207,616; the naive all-global figure would be
  // 62 x 8,192 x 131,072 = 66,571,993,088 (+496%)
  check_both("gemma-3-27b", 131072, 11'173'625'856ull);
}

TEST_CASE("gpt-oss-120b: 128-token windows alternating with full attention") {
  // per layer per token 2 x 8 x 64 x 2 = 2,048; at 65,536:
  // 18 x 2,048 x 65,536 + 18 x 2,048 x 128 = 2,415,919,104 + 4,718,592
  check_both("gpt-oss-120b", 65536, 2'420'637'696ull);
}

TEST_CASE("Mistral 7B v0.1: every layer slides over 4096 tokens") {
  // 32 x 2 x 8 x 128 x 2 = 131,072 per token while under the window; capped at 4,096 tokens:
  // 131,072 x 4,096 = 536,870,912 at any context above 4,096
  check_both("mistral-7b", 32768, 536'870'912ull);
  check_both("mistral-7b", 2048, 268'435'456ull);
}

TEST_CASE("Qwen3-Next-80B-A3B: 3 Gated DeltaNet : 1 full, plus a fixed state") {
  const ModelSpec& m = model("qwen3-next-80b-a3b");
  // 12 full layers x 2 x 2 KV heads x 256 x 2 = 24,576 per token; x 262,144 = 6,442,450,944
  check_both("qwen3-next-80b-a3b", 262144, 6'442'450'944ull);
  // 36 linear layers x ((4 - 1) x (2 x 16 x 128 + 32 x 128) + 32 x 128 x 128) x 2 bytes
  //   = 36 x (24,576 + 524,288) x 2 = 39,518,208 per sequence, at any context
  CHECK(kv_cache(m, Dtype::bf16, 1, 1).state_bytes_per_sequence == 39'518'208ull);
  CHECK(kv_cache(m, Dtype::bf16, 262144, 3).state_total_bytes == 3 * 39'518'208ull);
}

TEST_CASE("Jamba v0.1: attention on 4 of 32 layers, Mamba state on the rest") {
  // 4 x 2 x 8 x 128 x 2 = 16,384 per token; x 262,144 = 4,294,967,296
  check_both("jamba-v0.1", 262144, 4'294'967'296ull);
  // 28 Mamba layers x ((4 - 1) x 8,192 + 8,192 x 16) x 2 bytes = 28 x 155,648 x 2 = 8,716,288
  CHECK(kv_cache(model("jamba-v0.1"), Dtype::bf16, 1, 1).state_bytes_per_sequence == 8'716'288ull);
}

TEST_CASE("Nemotron-H 8B: Mamba-2 state, 4 attention layers, MLP-only layers") {
  // 4 x 2 x 8 x 128 x 2 = 16,384 per token
  check_both("nemotron-h-8b", 8192, 134'217'728ull);
  // 24 Mamba-2 layers x ((4 - 1) x (8,192 + 2 x 8 x 128) + 128 x 64 x 128) x 2
  //   = 24 x (30,720 + 1,048,576) x 2 = 51,806,208
  CHECK(kv_cache(model("nemotron-h-8b"), Dtype::bf16, 1, 1).state_bytes_per_sequence == 51'806'208ull);
}

TEST_CASE("property: a window never holds more than full attention, and KV grows with context") {
  for (const ModelSpec& m : vramcalc::test::catalog().models) {
    INFO(m.id);
    std::uint64_t prev = 0;
    for (std::uint64_t ctx : {1ull, 100ull, 4096ull, 65536ull, 1ull << 20}) {
      const KvCache kv = kv_cache(m, Dtype::bf16, ctx, 1);
      CHECK(kv.total_bytes >= prev);
      CHECK(kv.total_bytes <= kv.bytes_per_token * ctx);
      prev = kv.total_bytes;
    }
  }
}
