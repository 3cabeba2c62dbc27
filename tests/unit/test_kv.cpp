#include "helpers.hpp"
#include "vramcalc/format.hpp"
#include "vramcalc/kv.hpp"
#include "vramcalc/tensors.hpp"
#include "vramcalc/units.hpp"

#include <tuple>

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

TEST_CASE("Gemma 4 31B: global layers with their own head size and KV heads, K = V still two tensors") {
  const ModelSpec& m = model("gemma-4-31b");
  // 60 layers: 50 sliding (window 1,024) and 10 global.
  // sliding, per token: K 16 heads x 256 x 2 bytes = 8,192; V the same: 16,384
  const LayerSpec& sliding = m.layers[0];
  CHECK(sliding.attention == AttentionKind::sliding);
  CHECK(kv_bytes_per_token(m, sliding, Dtype::bf16) == 16'384);
  // global (attention_k_eq_v): K 4 heads x 512 x 2 bytes = 4,096, and V as many: one
  // projection, but K gets k_norm and RoPE, V v_norm only, so the cache keeps both: 8,192
  const LayerSpec& global = m.layers[5];
  CHECK(global.attention == AttentionKind::full);
  CHECK(global.num_kv_heads == 4);
  CHECK(global.head_dim_k == 512);
  CHECK(global.k_eq_v);
  CHECK(kv_bytes_per_token(m, global, Dtype::bf16) == 8'192);
  // growth per token: 50 x 16,384 + 10 x 8,192 = 819,200 + 81,920 = 901,120
  CHECK(kv_cache(m, Dtype::bf16, 1, 1).bytes_per_token == 901'120);
  // at 131,072 tokens: 50 x 1,024 x 16,384 + 10 x 131,072 x 8,192
  //                  = 838,860,800 + 10,737,418,240 = 11,576,279,040
  CHECK(kv_cache(m, Dtype::bf16, 131072, 1).total_bytes == 11'576'279'040ull);
  // fp8: half of that, 5,788,139,520
  CHECK(kv_cache(m, Dtype::f8_e4m3, 131072, 1).total_bytes == 5'788'139'520ull);
}

TEST_CASE("Gemma 4 26B A4B: 2 KV heads of 512 on the global layers") {
  const ModelSpec& m = model("gemma-4-26b-a4b");
  // sliding: 2 x 8 heads x 256 x 2 bytes = 8,192; global: 2 x 2 heads x 512 x 2 bytes = 4,096
  // per token: 25 x 8,192 + 5 x 4,096 = 204,800 + 20,480 = 225,280
  CHECK(kv_cache(m, Dtype::bf16, 1, 1).bytes_per_token == 225'280);
  // at 262,144 tokens: 25 x 1,024 x 8,192 + 5 x 262,144 x 4,096 = 209,715,200 + 5,368,709,120
  CHECK(kv_cache(m, Dtype::bf16, 262144, 1).total_bytes == 5'578'424'320ull);
}

TEST_CASE("Kimi Delta Attention: one layer's tensors, its bytes and its state per sequence") {
  const ModelSpec& s = model("kimi-linear-48b-a3b"); // layer 0 is a KDA layer: 32 heads of 128, kernel 4
  std::vector<Tensor> layer0;
  for (const Tensor& t : model_tensors(s)) {
    if (t.layer == 0 && t.group() != TensorGroup::mlp && t.group() != TensorGroup::norms) layer0.push_back(t);
  }
  // vLLM kda.py KimiDeltaAttention, P = 32 x 128 = 4,096, hidden 2,304: (role, ne0 = in, ne1 = out)
  const std::vector<std::tuple<std::string, std::uint64_t, std::uint64_t, bool>> expected = {
      {"attn_q", 2304, 4096, false},    {"attn_k", 2304, 4096, false},   {"attn_v", 2304, 4096, false},
      {"ssm_conv1d_q", 4, 4096, false}, {"ssm_conv1d_k", 4, 4096, false}, {"ssm_conv1d_v", 4, 4096, false},
      {"ssm_f_a", 2304, 128, false},    {"ssm_f_b", 128, 4096, false},   {"ssm_dt", 4096, 1, true},
      {"ssm_beta", 2304, 32, false},    {"ssm_a", 32, 1, true},          {"ssm_g_a", 2304, 128, false},
      {"ssm_g_b", 128, 4096, false},    {"ssm_norm", 128, 1, false},     {"attn_output", 4096, 2304, false},
  };
  REQUIRE(layer0.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& [role, ne0, ne1, f32] = expected[i];
    INFO(role);
    CHECK(tensor_role_name(layer0[i].role) == role);
    CHECK(layer0[i].ne0 == ne0);
    CHECK(layer0[i].ne1 == ne1);
    CHECK(layer0[i].stored_f32 == f32); // A_log and dt_bias: float32 in the checkpoint
  }
  // bf16 weights of the layer's mixer: its 39,514,272 elements (test_hf_config.cpp) but the 4,128
  // float32 ones = 39,510,144 x 2 bytes = 79,020,288, and A_log + dt_bias (32 + 4,096) x 4 bytes
  // = 16,512: 79,036,800.
  const WeightFormat bf16 = parse_weight_format("bf16", Dtype::bf16).value();
  std::uint64_t bytes = 0;
  for (const TensorStorage& t : tensor_storage(s, layer0, bf16)) bytes += t.bytes;
  CHECK(bytes == 79'036'800ull);
  // The whole checkpoint: 49,122,681,728 x 2 bytes + 20 layers x 4,128 x 2 more for float32
  // = 98,245,363,456 + 165,120 = 98,245,528,576 (91.50 GiB, as its 20 shards' listing says).
  CHECK(weight_bytes(s, bf16).total == 98'245'528'576ull);
  // A GGUF keeps the convolutions in f32 (never quantized), like Mamba's ssm_conv1d.
  const WeightFormat q8 = parse_weight_format("gguf-q8_0", Dtype::bf16).value();
  const std::vector<TensorStorage> g = tensor_storage(s, layer0, q8);
  CHECK(g[3].dtype == Dtype::f32);
  CHECK(g[3].bytes == 4 * 4096 * 4);
  CHECK(g[0].dtype == Dtype::q8_0);

  // State per KDA layer and sequence (vLLM MambaStateShapeCalculator.kda_state_shape and
  // kda_state_dtype): conv q, k, v 3 x (4 - 1) x 4,096 = 36,864 elements in the model's bf16
  // = 73,728 bytes; recurrent 32 x 128 x 128 = 524,288 elements in float32 = 2,097,152 bytes.
  const StateElements e = state_elements(s, s.layers[0]);
  CHECK(e.conv == 36'864);
  CHECK(e.ssm == 524'288);
  CHECK(e.dtype == Dtype::bf16);
  CHECK(e.ssm_dtype == Dtype::f32);
  CHECK(state_bytes_per_sequence(s, s.layers[0]) == 73'728 + 2'097'152);
  CHECK(state_bytes_per_sequence(s, s.layers[3]) == 0); // an MLA layer
  // 20 KDA layers: 20 x 2,170,880 = 43,417,600 per sequence, x 4 sequences; 7 MLA layers x
  // 576 x 2 bytes = 8,064 bytes per token.
  const KvCache kv = kv_cache(s, Dtype::bf16, 131072, 4);
  CHECK(kv.state_total_bytes == 4 * 43'417'600ull);
  CHECK(kv.total_bytes == 4ull * 131072 * 8'064);
  // A state_dtype moves the conv part only: fp32 conv 36,864 x 4 = 147,456 + 2,097,152.
  ModelSpec f32 = s;
  f32.recurrent->state_dtype = Dtype::f32;
  CHECK(state_bytes_per_sequence(f32, f32.layers[0]) == 147'456 + 2'097'152);
}
