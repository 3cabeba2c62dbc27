#include "helpers.hpp"
#include "vramcalc/kv.hpp"
#include "vramcalc/units.hpp"

using namespace vramcalc;
using vramcalc::test::model;
using vramcalc::test::spec_from;

TEST_CASE("Llama 3 70B KV: GQA counts 8 KV heads, not 64") {
  const ModelSpec& m = model("llama3-70b");
  // fp16: 2 (K,V) x 80 layers x 8 KV heads x 128 x 2 bytes = 327,680 bytes = 320 KiB per token
  CHECK(kv_cache(m, Dtype::f16, 1, 1).bytes_per_token == 327'680);
  // fp16 at 4096 tokens: 327,680 x 4,096 = 1,342,177,280
  CHECK(kv_cache(m, Dtype::f16, 4096, 1).total_bytes == 1'342'177'280ull);
  // fp16 at 131072 tokens: 327,680 x 131,072 = 42,949,672,960 = 40 GiB
  CHECK(kv_cache(m, Dtype::f16, 131072, 1).total_bytes == 40ull << 30);
  // fp8 at 131072: 2 x 80 x 8 x 128 x 131,072 x 1 = 21,474,836,480
  CHECK(kv_cache(m, Dtype::f8_e4m3, 131072, 1).total_bytes == 21'474'836'480ull);
  // The naive formula with 64 attention heads: 2 x 80 x 64 x 128 x 2 = 2,621,440 per token, 8x too much.
  CHECK(kv_cache(m, Dtype::f16, 1, 1).naive_bytes == 2'621'440);
}

TEST_CASE("block-quantized KV types count their scales") {
  const ModelSpec& m = model("llama3-70b");
  // q8_0: a row of 8 x 128 = 1024 elements = 32 blocks x 34 bytes = 1,088; K + V = 2,176
  //       x 80 layers = 174,080 bytes per token
  CHECK(kv_cache(m, Dtype::q8_0, 1, 1).bytes_per_token == 174'080);
  // q4_0: 32 blocks x 18 = 576 per row; 2 x 576 x 80 = 92,160
  CHECK(kv_cache(m, Dtype::q4_0, 1, 1).bytes_per_token == 92'160);
}

TEST_CASE("batch multiplies, context multiplies") {
  const ModelSpec& m = model("llama3-8b");
  // 2 x 32 x 8 x 128 x 2 = 131,072 bytes per token; x 8192 tokens x 4 sequences = 4 GiB
  CHECK(kv_cache(m, Dtype::bf16, 8192, 4).total_bytes == 4ull << 30);
}

TEST_CASE("sliding-window layers hold at most the window") {
  const ModelSpec s = spec_from(R"({
    "schema": "vramcalc-model/1", "id": "swa", "name": "swa", "family": "t", "arch": "gemma3",
    "source": "test", "dtype": "bf16", "max_context": 131072, "hidden_size": 64, "num_layers": 6,
    "intermediate_size": 128, "vocab_size": 100, "tie_word_embeddings": true,
    "attention": {"num_heads": 4, "num_kv_heads": 2, "head_dim": 32, "sliding_window": 1024},
    "layer_pattern": ["sliding", "sliding", "sliding", "sliding", "sliding", "full"]
  })");
  // per layer per token: 2 x 2 heads x 32 x 2 bytes = 256 bytes
  // at 8192 tokens: 5 sliding layers x 1024 x 256 + 1 full layer x 8192 x 256
  //               = 1,310,720 + 2,097,152 = 3,407,872
  const KvCache kv = kv_cache(s, Dtype::bf16, 8192, 1);
  CHECK(kv.bytes_per_token == 6 * 256);
  CHECK(kv.total_bytes == 3'407'872);
  // below the window every layer holds the whole context: 6 x 256 x 512
  CHECK(kv_cache(s, Dtype::bf16, 512, 1).total_bytes == 6 * 256 * 512);
}

TEST_CASE("MLA caches one latent per token per layer") {
  const ModelSpec s = spec_from(R"({
    "schema": "vramcalc-model/1", "id": "mla", "name": "mla", "family": "t", "arch": "deepseek2",
    "source": "test", "dtype": "bf16", "max_context": 163840, "hidden_size": 7168, "num_layers": 61,
    "intermediate_size": 18432, "vocab_size": 129280, "tie_word_embeddings": false,
    "attention": {"num_heads": 128, "num_kv_heads": 128,
                  "mla": {"q_lora_rank": 1536, "kv_lora_rank": 512, "qk_nope_head_dim": 128,
                          "qk_rope_head_dim": 64, "v_head_dim": 128}}
  })");
  // 61 layers x (512 + 64) x 2 bytes = 70,272 bytes per token
  CHECK(kv_cache(s, Dtype::bf16, 1, 1).bytes_per_token == 70'272);
}

TEST_CASE("a context that overflows 64 bits throws, it does not wrap") {
  const ModelSpec& m = model("llama3-70b");
  // 327,680 x 2^40 x 2^20 sequences > 2^64
  CHECK_THROWS_AS(kv_cache(m, Dtype::f16, 1ull << 40, 1ull << 20), OverflowError);
}
