#include "helpers.hpp"
#include "vramcalc/tensors.hpp"
#include <algorithm>

using namespace vramcalc;
using vramcalc::test::model;
using vramcalc::test::spec_from;

TEST_CASE("Llama 3 70B has exactly 70,553,706,496 parameters") {
  // embeddings:  128256 x 8192                           = 1,050,673,152 (twice: untied output)
  // per layer:   q 8192x8192 = 67,108,864; k, v 8192x1024 = 8,388,608 each; o 67,108,864
  //              MLP 3 x 8192 x 28672 = 704,643,072; norms 2 x 8192 = 16,384
  //              = 855,654,400; x 80 layers = 68,452,352,000
  // final norm:  8192
  // total:       68,452,352,000 + 2 x 1,050,673,152 + 8192 = 70,553,706,496
  const ParamCounts p = count_params(model("llama3-70b"));
  CHECK(p.total == 70'553'706'496ull);
  CHECK(p.active == p.total);
  CHECK(p.embedding == 2 * 1'050'673'152ull);
}

TEST_CASE("Llama 3 8B matches its safetensors total 8,030,261,248") {
  // 2 x 128256 x 4096 = 1,050,673,152; per layer 41,943,040 (attention) + 176,160,768 (MLP)
  // + 8,192 (norms) = 218,112,000; x 32 = 6,979,584,000; + 4,096 = 8,030,261,248.
  CHECK(count_params(model("llama3-8b")).total == 8'030'261'248ull);
}

namespace {
const char* tiny_moe = R"({
  "schema": "vramcalc-model/1", "id": "tiny-moe", "name": "tiny", "family": "t", "arch": "llama",
  "source": "test", "dtype": "bf16", "max_context": 4096, "hidden_size": 64, "num_layers": 4,
  "intermediate_size": 256, "vocab_size": 1000, "tie_word_embeddings": true,
  "attention": {"num_heads": 4, "num_kv_heads": 2, "head_dim": 16},
  "moe": {"num_experts": 8, "experts_per_token": 2, "expert_intermediate_size": 32,
          "shared_experts": 1, "shared_intermediate_size": 48, "first_dense_layers": 1}
})";
} // namespace

TEST_CASE("MoE: every expert counts toward the total, experts_per_token toward active") {
  const ModelSpec s = spec_from(tiny_moe);
  // embedding (tied) 1000 x 64 = 64,000; final norm 64.
  // attention per layer: q 64x64 = 4,096; k, v 64x32 = 2,048 each; o 4,096 = 12,288; norms 128.
  // layer 0 (dense): MLP 3 x 64 x 256 = 49,152.
  // layers 1-3 (MoE): router 64 x 8 = 512; experts 8 x 3 x 64 x 32 = 49,152; shared 3 x 64 x 48 = 9,216.
  // total = 64,000 + 64 + 4 x (12,288 + 128) + 49,152 + 3 x (512 + 49,152 + 9,216) = 339,520
  // active: routed experts count 2 of 8: 3 x 64 x 32 x 2 = 12,288 instead of 49,152
  //   = 339,520 - 3 x (49,152 - 12,288) = 228,928
  const ParamCounts p = count_params(s);
  CHECK(p.total == 339'520);
  CHECK(p.active == 228'928);
}

TEST_CASE("MLA projections are counted from the ranks") {
  const ModelSpec s = spec_from(R"({
    "schema": "vramcalc-model/1", "id": "tiny-mla", "name": "tiny", "family": "t", "arch": "deepseek2",
    "source": "test", "dtype": "bf16", "max_context": 4096, "hidden_size": 64, "num_layers": 1,
    "intermediate_size": 128, "vocab_size": 100, "tie_word_embeddings": false,
    "attention": {"num_heads": 2, "num_kv_heads": 2,
                  "mla": {"q_lora_rank": 24, "kv_lora_rank": 16, "qk_nope_head_dim": 8,
                          "qk_rope_head_dim": 4, "v_head_dim": 8}}
  })");
  // q_a 64x24 = 1,536; q_a_norm 24; q_b 24 x 2x(8+4) = 576; kv_a 64 x (16+4) = 1,280;
  // kv_a_norm 16; kv_b 16 x 2x(8+8) = 512; o 2x8 x 64 = 1,024  -> attention 4,968
  // MLP 3 x 64 x 128 = 24,576; norms 2 x 64; embeddings 2 x 100 x 64 = 12,800; final norm 64
  // total = 4,968 + 24,576 + 128 + 12,800 + 64 = 42,536
  CHECK(count_params(s).total == 42'536);
}

TEST_CASE("tensor names follow GGUF") {
  const auto t = model_tensors(model("llama3-8b"));
  CHECK(t.front().gguf_name() == "token_embd.weight");
  CHECK(t[1].gguf_name() == "blk.0.attn_norm.weight");
  CHECK(t[2].gguf_name() == "blk.0.attn_q.weight");
  CHECK(t.back().gguf_name() == "output.weight");
  CHECK(t.size() == 1 + 32 * 9 + 2);
}

TEST_CASE("Gemma 4 31B: global layers with their own head size and no v_proj") {
  // embedding:     262,144 x 5,376 = 1,409,286,144 (tied)
  // sliding layer: q 5,376 x 8,192 = 44,040,192; k, v 5,376 x 4,096 = 22,020,096 each;
  //                o 8,192 x 5,376 = 44,040,192; q/k norms 2 x 256; MLP 3 x 5,376 x 21,504 =
  //                346,816,512; four norms 4 x 5,376; layer scalar 1 = 478,959,105
  // global layer:  q 5,376 x 16,384 = 88,080,384; k 5,376 x 2,048 = 11,010,048; no v;
  //                o 16,384 x 5,376 = 88,080,384; q/k norms 2 x 512; the same MLP, norms
  //                and scalar = 534,009,857
  // total:         1,409,286,144 + 50 x 478,959,105 + 10 x 534,009,857 + 5,376 = 30,697,345,340
  const ParamCounts p = count_params(model("gemma-4-31b"));
  CHECK(p.total == 30'697'345'340ull);
  CHECK(p.active == p.total);
  CHECK(p.vision == 575'743'536ull);
  const std::vector<Tensor> t = model_tensors(model("gemma-4-31b"));
  const auto count = [&](std::string_view name) {
    return std::count_if(t.begin(), t.end(), [&](const Tensor& x) { return x.gguf_name() == name; });
  };
  CHECK(count("blk.5.attn_v.weight") == 0);
  CHECK(count("blk.4.attn_v.weight") == 1);
  CHECK(count("blk.5.layer_output_scale.weight") == 1);
}

TEST_CASE("Gemma 4 26B A4B: the dense MLP runs beside the experts") {
  // embedding 262,144 x 2,816 = 738,197,504 (tied)
  // every layer: dense MLP 3 x 2,816 x 2,112 = 17,842,176; experts 128 x 3 x 2,816 x 704 =
  //   761,266,176; router 2,816 x 128 = 360,448, its input scale 2,816 and expert scales 128;
  //   seven norms 7 x 2,816 = 19,712; layer scalar 1: 779,491,457
  // sliding attention: q 2,816 x 4,096, k and v 2,816 x 2,048, o 4,096 x 2,816 = 34,603,008,
  //   q/k norms 512; global: q 2,816 x 8,192, k 2,816 x 1,024, o 8,192 x 2,816 = 49,020,928, norms 1,024
  // total: 738,197,504 + 25 x (779,491,457 + 34,603,520) + 5 x (779,491,457 + 49,021,952) + 2,816
  //      = 25,233,141,790
  // active: less 30 layers x 120 unused experts x 3 x 2,816 x 704 (5,947,392) = 3,822,530,590
  const ParamCounts p = count_params(model("gemma-4-26b-a4b"));
  CHECK(p.total == 25'233'141'790ull);
  CHECK(p.active == 3'822'530'590ull);
}
