// Hugging Face config.json import, against real configs (tests/data/hf, sources in SOURCES.md).
#include "vramcalc/engine_llamacpp.hpp"
#include "vramcalc/io/catalog.hpp"
#include "vramcalc/io/hf_config.hpp"
#include "vramcalc/kv.hpp"
#include "vramcalc/tensors.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

using namespace vramcalc;

namespace {

io::HfImport import_dir(const std::string& dir) {
  const std::string path = std::string(VRAMCALC_TEST_DATA) + "/hf/" + dir + "/config.json";
  auto text = io::read_text_file(path, ErrorCode::invalid_model);
  if (!text) FAIL(text.error().message);
  auto r = io::parse_hf_config(*text, dir + "/config.json", dir);
  if (!r) FAIL(r.error().message);
  return *r;
}

} // namespace

TEST_CASE("dense imports equal the checkpoints' safetensors totals") {
  // Hugging Face safetensors totals (tests/data/hf/SOURCES.md, official counts)
  CHECK(count_params(import_dir("Qwen2.5-7B").spec).total == 7'615'616'512ull);
  CHECK(count_params(import_dir("Qwen3-32B").spec).total == 32'762'123'264ull);
  CHECK(count_params(import_dir("Llama-3.2-1B").spec).total == 1'235'814'400ull);
  CHECK(count_params(import_dir("Llama-3.1-8B").spec).total == 8'030'261'248ull);
  // Llama-2-7b-hf's safetensors hold 6,738,417,664 values: the 6,738,415,616 weights plus
  // 32 layers x 64 rotary inv_freq buffer entries (2,048).
  CHECK(count_params(import_dir("Llama-2-7b-hf").spec).total + 32 * 64 == 6'738'417'664ull);
  // SmolLM3-3B (tied): embeddings 128,256 x 2,048 = 262,668,288; per layer q and o 2 x 2,048^2 =
  // 8,388,608, k and v 2 x 2,048 x 512 = 2,097,152, MLP 3 x 2,048 x 11,008 = 67,633,152, two
  // norms 4,096: 78,123,008; 36 layers 2,812,428,288; final norm 2,048.
  CHECK(count_params(import_dir("SmolLM3-3B").spec).total == 262'668'288ull + 36 * 78'123'008ull + 2'048ull);
  CHECK(count_params(import_dir("SmolLM3-3B").spec).total == 3'075'098'624ull);
}

TEST_CASE("Hunyuan-A13B (hunyuan_v1_moe): per-layer lists, a shared MLP, q/k norms, a bias-free router") {
  const auto r = import_dir("Hunyuan-A13B-Instruct");
  const ModelSpec& s = r.spec;
  CHECK(s.arch == "hunyuan-moe");
  REQUIRE(s.moe);
  CHECK(s.moe->num_experts == 64);
  CHECK(s.moe->experts_per_token == 8);
  CHECK(s.moe->expert_intermediate_size == 3072);
  CHECK(s.moe->shared_experts == 1);
  CHECK(s.moe->shared_intermediate_size == 3072);
  CHECK_FALSE(s.moe->router_bias);
  CHECK(s.attention.qk_norm);
  CHECK(s.tie_word_embeddings);
  // Embeddings 128,167 x 4,096 = 524,972,032 (tied). Per layer: q and o 2 x 4,096^2 = 33,554,432,
  // k and v 2 x 4,096 x 1,024 = 8,388,608, q/k norms 2 x 128; router 4,096 x 64 = 262,144;
  // 64 experts and the shared MLP 65 x 3 x 4,096 x 3,072 = 2,453,667,840; two norms 8,192:
  // 2,495,881,472. 32 layers; final norm 4,096.
  const ParamCounts p = count_params(s);
  CHECK(p.total == 524'972'032ull + 32 * 2'495'881'472ull + 4'096ull);
  // Active: 8 of 64 experts and the shared MLP, 9 x 37,748,736 = 339,738,624 in place of
  // 2,453,667,840 per layer.
  CHECK(p.active == p.total - 32 * (2'453'667'840ull - 339'738'624ull));

  // A per-layer list whose entries differ is refused, naming the key.
  auto bad = io::parse_hf_config(R"({"model_type": "hunyuan_v1_moe", "hidden_size": 64, "num_hidden_layers": 2,
      "num_attention_heads": 4, "num_key_value_heads": 4, "intermediate_size": 32, "vocab_size": 100,
      "num_experts": 4, "moe_topk": [2, 1], "torch_dtype": "bfloat16"})", "h/config.json", "h");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message.find("/moe_topk: per-layer values differ") != std::string::npos);
}

TEST_CASE("Falcon-H1 and Gemma 3n are refused, naming model_type, not read from the standard keys") {
  for (const char* mt : {"falcon_h1", "gemma3n", "gemma3n_text"}) {
    INFO(mt);
    const std::string config = std::string(R"({"model_type": ")") + mt +
                               R"(", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 4, "intermediate_size": 32, "vocab_size": 100, "torch_dtype": "bfloat16"})";
    auto r = io::parse_hf_config(config, "m/config.json", "m");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message.find("m/config.json: /model_type: " + std::string(mt) + " is not expressible yet") !=
          std::string::npos);
  }
  // Gemma 3n keeps its language model in text_config; the path names it.
  auto nested = io::parse_hf_config(R"({"model_type": "gemma3n", "text_config": {"model_type": "gemma3n_text",
      "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 32, "vocab_size": 100}})",
                                    "m/config.json", "m");
  REQUIRE_FALSE(nested.has_value());
  CHECK(nested.error().message.find("/text_config/model_type: gemma3n_text is not expressible yet") != std::string::npos);
}

TEST_CASE("Command A (cohere2): sliding_window_pattern without layer_types gives three sliding layers per global one") {
  const auto r = import_dir("c4ai-command-a-03-2025");
  CHECK(r.warnings.empty());
  const ModelSpec& s = r.spec;
  CHECK(s.arch == "cohere2");
  CHECK(s.tie_word_embeddings);
  CHECK(s.attention.sliding_window == 4096);
  // transformers' Cohere2Config: layer i is sliding when (i + 1) % sliding_window_pattern != 0.
  REQUIRE(s.layers.size() == 64);
  CHECK(s.layers[0].attention == AttentionKind::sliding);
  CHECK(s.layers[2].attention == AttentionKind::sliding);
  CHECK(s.layers[3].attention == AttentionKind::full);
  CHECK(s.layers[62].attention == AttentionKind::sliding);
  CHECK(s.layers[63].attention == AttentionKind::full);
  // Embeddings 256,000 x 12,288 = 3,145,728,000 (tied); per layer q and o 2 x 12,288^2 =
  // 301,989,888, k and v 2 x 12,288 x 1,024 = 25,165,824, MLP 3 x 12,288 x 36,864 =
  // 1,358,954,496, one LayerNorm 12,288: 1,686,122,496; 64 layers; final norm 12,288.
  CHECK(count_params(s).total == 3'145'728'000ull + 64 * 1'686'122'496ull + 12'288ull);
  // KV cache at 32,768 tokens, bf16: 16 global layers x 32,768 + 48 sliding layers x 4,096 tokens,
  // each token 2 x 8 x 128 x 2 bytes = 4,096 bytes.
  CHECK(kv_cache(s, Dtype::bf16, 32768, 1).total_bytes == (16 * 32768ull + 48 * 4096ull) * 4096ull);
}

TEST_CASE("Qwen2 has QKV biases; Gemma ties embeddings by default") {
  const auto q = import_dir("Qwen2.5-7B").spec;
  CHECK(q.attention.qkv_bias);
  CHECK_FALSE(q.attention.o_bias);
  const auto g = import_dir("gemma-2-9b").spec; // no tie_word_embeddings key: Gemma2Config says true
  CHECK(g.tie_word_embeddings);
  CHECK(g.norms_per_layer == 4);
  CHECK(g.layers[0].attention == AttentionKind::sliding);
  CHECK(g.layers[1].attention == AttentionKind::full);
}

TEST_CASE("DeepSeek-R1: MLA latent, MTP counted apart, fp8 checkpoint") {
  const auto r = import_dir("DeepSeek-R1");
  const ModelSpec& s = r.spec;
  REQUIRE(s.attention.mla);
  // 61 layers x (512 + 64) x 2 bytes = 70,272 bytes per token
  CHECK(kv_cache(s, Dtype::bf16, 1, 1).bytes_per_token == 70'272);
  const ParamCounts p = count_params(s);
  CHECK(p.total == 671'026'419'200ull);
  CHECK(p.mtp == 13'463'426'304ull); // total + MTP = 684,489,845,504: the "685B" on Hugging Face
  CHECK(s.weights_format == "fp8-block");
  CHECK(s.moe->first_dense_layers == 3);
  CHECK(s.layers[2].moe == false);
  CHECK(s.layers[3].moe == true);
}

TEST_CASE("ERNIE 4.5 MoE: its own expert keys, layer 0 dense, two shared experts") {
  // Before the architecture table had a row for ernie4_5_moe, moe_num_experts went unread and
  // the model imported as a dense 3,347,724,800.
  const io::HfImport r = import_dir("ERNIE-4.5-21B-A3B-Thinking");
  CHECK(r.warnings.empty());
  const ModelSpec& s = r.spec;
  REQUIRE(s.moe);
  CHECK(s.moe->num_experts == 64);
  CHECK(s.moe->experts_per_token == 6);
  CHECK(s.moe->shared_experts == 2);
  CHECK(s.moe->router_bias);
  CHECK_FALSE(s.layers[0].moe);
  CHECK(s.layers[1].moe);
  CHECK(s.layers[27].moe);
  // tied embedding 103,424 x 2,560                                   =    264,765,440
  // 28 layers x (attention 2 x 2,560^2 + 2 x 2,560 x 4 x 128 = 15,728,640, norms 5,120)
  //                                                                     =    440,545,280
  // layer 0 dense MLP 3 x 2,560 x 12,288                              =     94,371,840
  // 27 MoE layers x (66 experts (64 + 2 shared) x 3 x 2,560 x 1,536 = 778,567,680,
  //                  router 2,560 x 64 = 163,840, bias 64)           = 21,025,752,768
  // final norm                                                        =          2,560
  //                                                                     21,825,437,888
  // = the Hugging Face safetensors total (21,821,012,480 bf16 + 4,425,408 f32; SOURCES.md)
  const ParamCounts p = count_params(s);
  CHECK(p.total == 21'825'437'888ull);
  // active: 27 layers x 58 idle experts x 11,796,480 = 18,473,287,680 fewer
  CHECK(p.active == 21'825'437'888ull - 18'473'287'680ull);
}

TEST_CASE("Ling 2.0 (bailing_moe): the shared expert, q/k norms and the router's expert bias") {
  // Before the row, num_shared_experts went unread: 390,086,400 short (31 shared experts of
  // 12,582,912, 32 layers' q/k norms of 256, 31 routers' biases of 256).
  const io::HfImport r = import_dir("Ling-flash-2.0");
  CHECK(r.warnings.empty());
  const ModelSpec& s = r.spec;
  REQUIRE(s.moe);
  CHECK(s.moe->shared_experts == 1);
  CHECK(s.moe->router_bias);
  CHECK(s.attention.qk_norm);
  CHECK(s.attention.fused_qkv);
  CHECK_FALSE(s.attention.qkv_bias);
  // embedding and head 2 x 157,184 x 4,096                            =   1,287,651,328
  // 32 layers x (attention 2 x 4,096^2 + 2 x 4,096 x 4 x 128 = 37,748,736, q/k norms 256,
  //              norms 8,192)                                           =   1,208,229,888
  // layer 0 dense MLP 3 x 4,096 x 9,216                                =     113,246,208
  // 31 MoE layers x (257 experts (256 + 1 shared) x 3 x 4,096 x 1,024 = 3,233,808,384,
  //                  router 4,096 x 256 = 1,048,576, bias 256)        = 100,280,573,696
  // final norm                                                         =           4,096
  //                                                                      102,889,705,216
  // = the Hugging Face safetensors total (102,889,697,280 bf16 + 7,936 f32 biases; SOURCES.md)
  CHECK(count_params(s).total == 102'889'705'216ull);
}

TEST_CASE("ERNIE 4.5 MoE: moe_layer_end_index and moe_layer_interval") {
  // 6 layers; MoE where (i + 1) % 2 == 0 and 1 <= i <= 4: layers 1 and 3 (5 is past the end)
  auto r = io::parse_hf_config(R"({"model_type": "ernie4_5_moe", "hidden_size": 64, "num_hidden_layers": 6,
      "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 100,
      "max_position_embeddings": 2048, "moe_num_experts": 4, "moe_k": 2, "moe_intermediate_size": 32,
      "moe_layer_start_index": 1, "moe_layer_end_index": 4, "moe_layer_interval": 2})", "e/config.json", "e");
  REQUIRE(r.has_value());
  std::string moe;
  for (const LayerSpec& l : r->spec.layers) moe += l.moe ? 'M' : 'd';
  CHECK(moe == "dMdMdd");
  CHECK(r->spec.moe->shared_experts == 2); // Ernie4_5_MoeConfig's default
  CHECK(r->spec.tie_word_embeddings);      // ditto
  auto bad = io::parse_hf_config(R"({"model_type": "ernie4_5_moe", "hidden_size": 64, "num_hidden_layers": 6,
      "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 100, "moe_num_experts": 4,
      "moe_intermediate_size": 32})", "e/config.json", "e");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message == "e/config.json: /moe_k: missing for a MoE model");
}

TEST_CASE("gpt-oss: alternating 128-token windows, sinks, MXFP4 experts") {
  const ModelSpec s = import_dir("gpt-oss-120b").spec;
  CHECK(s.weights_format == "mxfp4");
  CHECK(s.attention.sinks);
  CHECK(s.layers[0].attention == AttentionKind::sliding);
  CHECK(s.layers[1].attention == AttentionKind::full);
  // per layer per token: 2 x 8 KV heads x 64 x 2 bytes = 2,048
  // at 8,192 tokens: 18 full layers x 2,048 x 8,192 + 18 sliding layers x 2,048 x 128
  //                = 301,989,888 + 4,718,592 = 306,708,480
  CHECK(kv_cache(s, Dtype::bf16, 8192, 1).total_bytes == 306'708'480ull);
}

TEST_CASE("Qwen3-Next: 3 Gated DeltaNet layers to 1 full, with a fixed state") {
  const ModelSpec s = import_dir("Qwen3-Next-80B-A3B-Instruct").spec;
  const KvCache kv = kv_cache(s, Dtype::bf16, 4096, 1);
  // KV: 12 full layers x 2 x 2 KV heads x 256 x 2 bytes = 24,576 bytes per token
  CHECK(kv.bytes_per_token == 24'576);
  // state per linear layer: conv (4 - 1) x (2 x 16 x 128 + 32 x 128) = 24,576 elements
  //                       + recurrent 32 heads x 128 x 128 = 524,288 elements
  //                       = 548,864 x 2 bytes (bf16) = 1,097,728; x 36 layers = 39,518,208
  CHECK(kv.state_bytes_per_sequence == 39'518'208ull);
  CHECK(kv_cache(s, Dtype::bf16, 262144, 1).state_bytes_per_sequence == 39'518'208ull); // context-free
}

TEST_CASE("Kimi-Linear: MLA on the 1-based full_attn_layers, Kimi Delta Attention on kda_layers") {
  const ModelSpec s = import_dir("Kimi-Linear-48B-A3B-Instruct").spec;
  REQUIRE(s.recurrent);
  CHECK(s.recurrent->kind == RecurrentKind::kda);
  CHECK(s.max_context == 1'048'576); // model_max_length
  // full_attn_layers [4, 8, 12, 16, 20, 24, 27] are layers 3, 7, ..., 23 and 26 counting from 0
  for (std::size_t i = 0; i < s.layers.size(); ++i) {
    INFO("layer " << i);
    const bool mla = i == 26 || i % 4 == 3;
    CHECK((s.layers[i].attention == AttentionKind::full) == mla);
    CHECK(s.layers[i].moe == (i >= 1)); // first_k_dense_replace 1
  }
  CHECK(s.moe->shared_experts == 1);
  CHECK(s.moe->experts_per_token == 8);
  CHECK(s.moe->router_bias);
  // The checkpoint's 20,493 tensors hold 49,122,681,728 parameters (its tensor listing):
  //   embedding + head 2 x 163,840 x 2,304 = 754,974,720; final norm 2,304; 27 x 2 norms of 2,304 = 124,416
  //   KDA layer: q, k, v 3 x 2,304 x 4,096 = 28,311,552; convs 3 x 4 x 4,096 = 49,152;
  //     f_a, g_a 2 x 2,304 x 128 = 589,824; f_b, g_b 2 x 128 x 4,096 = 1,048,576; dt_bias 4,096;
  //     b_proj 2,304 x 32 = 73,728; A_log 32; o_norm 128; o_proj 4,096 x 2,304 = 9,437,184
  //     = 39,514,272; x 20 = 790,285,440
  //   MLA layer: q 2,304 x 32 x 192 = 14,155,776; kv_a 2,304 x 576 = 1,327,104; kv_a norm 512;
  //     kv_b 512 x 32 x 256 = 4,194,304; o 4,096 x 2,304 = 9,437,184 = 29,114,880; x 7 = 203,804,160
  //   dense MLP (layer 0) 3 x 2,304 x 9,216 = 63,700,992
  //   MoE layer: 256 experts x 3 x 2,304 x 1,024 = 1,811,939,328; router 2,304 x 256 + 256 bias
  //     = 590,080; shared 3 x 2,304 x 1,024 = 7,077,888 = 1,819,607,296; x 26 = 47,309,789,696
  const ParamCounts c = count_params(s);
  CHECK(c.total == 49'122'681'728ull);
  // active: 248 of the 256 routed experts idle in 26 layers: 26 x 248 x 7,077,888 = 45,638,221,824
  CHECK(c.active == 49'122'681'728ull - 45'638'221'824ull);
  // KV: 7 MLA layers x (512 + 64) x 2 bytes = 8,064 bytes per token
  const KvCache kv = kv_cache(s, Dtype::bf16, 4096, 1);
  CHECK(kv.bytes_per_token == 8'064);
  // state per KDA layer: conv 3 x (4 - 1) x 4,096 = 36,864 x 2 bytes (bf16) = 73,728
  //                    + recurrent 32 x 128 x 128 = 524,288 x 4 bytes (float32) = 2,097,152
  //                    = 2,170,880; x 20 layers = 43,417,600
  CHECK(kv.state_bytes_per_sequence == 43'417'600ull);
}

TEST_CASE("Kimi-Linear: linear_attn_config errors name the key") {
  const std::string head = R"({"model_type": "kimi_linear", "hidden_size": 64, "num_hidden_layers": 4,
      "num_attention_heads": 4, "vocab_size": 100, "intermediate_size": 128, "dtype": "bfloat16",
      "model_max_length": 4096, "kv_lora_rank": 16, "qk_nope_head_dim": 8, "qk_rope_head_dim": 4, "v_head_dim": 8,
      "linear_attn_config": )";
  auto with = [&](const std::string& lac) { return io::parse_hf_config(head + lac + "}", "k/config.json", "k"); };
  const std::string kda = R"("num_heads": 4, "head_dim": 16, "short_conv_kernel_size": 4)";
  REQUIRE(with("{" + kda + R"(, "full_attn_layers": [4], "kda_layers": [1, 2, 3]})").has_value());
  CHECK(with("{" + kda + R"(, "full_attn_layers": [4], "kda_layers": [0, 1, 2]})").error().message ==
        "k/config.json: /linear_attn_config/kda_layers: expected layer numbers from 1 to 4 (1-based), got 0");
  CHECK(with("{" + kda + R"(, "full_attn_layers": [4], "kda_layers": [1, 2, 4]})").error().message ==
        "k/config.json: /linear_attn_config/kda_layers: layer 4 is listed twice");
  CHECK(with("{" + kda + R"(, "full_attn_layers": [4], "kda_layers": [1, 2]})").error().message ==
        "k/config.json: /linear_attn_config/kda_layers: layer 3 (1-based) is in neither full_attn_layers nor kda_layers");
  CHECK(with("{" + kda + R"(, "kda_layers": [1, 2, 3]})").error().message ==
        "k/config.json: /linear_attn_config/full_attn_layers: missing: Kimi-Linear lists its attention and KDA layers (1-based)");
  CHECK(with(R"({"num_heads": 4, "full_attn_layers": [4], "kda_layers": [1, 2, 3]})").error().message ==
        "k/config.json: missing keys vramcalc needs: linear_attn_config/head_dim, linear_attn_config/short_conv_kernel_size");
  CHECK(io::parse_hf_config(head + "[]}", "k/config.json", "k").error().message ==
        "k/config.json: /linear_attn_config: expected an object");
}

TEST_CASE("Llama 4 Scout: chunked local attention on 3 of 4 layers, every layer MoE") {
  const ModelSpec s = import_dir("Llama-4-Scout-17B-16E-Instruct").spec;
  CHECK(s.layers[0].attention == AttentionKind::chunked);
  CHECK(s.layers[3].attention == AttentionKind::full);
  CHECK(s.layers[0].window == 8192);
  CHECK(s.moe->shared_experts == 1);
  for (const LayerSpec& l : s.layers) CHECK(l.moe);
}

TEST_CASE("import errors and warnings") {
  auto missing = io::parse_hf_config(R"({"model_type": "llama", "vocab_size": 10})", "x/config.json", "x");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message ==
        "x/config.json: missing keys vramcalc needs: hidden_size, num_hidden_layers, num_attention_heads");
  auto unknown = io::parse_hf_config(R"({"model_type": "brandnew", "hidden_size": 64, "num_hidden_layers": 2,
      "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 100, "torch_dtype": "bfloat16",
      "max_position_embeddings": 2048})", "y/config.json", "y");
  REQUIRE(unknown.has_value());
  CHECK(unknown->warnings.front().starts_with("model_type 'brandnew' is not one vramcalc knows"));
  auto bad = io::parse_hf_config(R"({"model_type": "llama", "hidden_size": "big"})", "z/config.json", "z");
  CHECK(bad.error().message == "z/config.json: /hidden_size: expected a non-negative integer, got \"big\"");
  auto notjson = io::parse_hf_config("{", "w/config.json", "w");
  CHECK(notjson.error().message ==
        "w/config.json:1:2: invalid JSON: syntax error while parsing object key - unexpected end of input; expected string literal");
}

TEST_CASE("quantization_config sets the default format") {
  auto with_q = [](const std::string& q) {
    const std::string text = R"({"model_type": "qwen2", "hidden_size": 64, "num_hidden_layers": 2,
        "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 100, "torch_dtype": "float16",
        "max_position_embeddings": 2048, "quantization_config": )" + q + "}";
    return io::parse_hf_config(text, "q.json", "q")->spec.weights_format.value_or("");
  };
  CHECK(with_q(R"({"quant_method": "awq", "bits": 4, "group_size": 128})") == "awq-int4-g128");
  CHECK(with_q(R"({"quant_method": "gptq", "bits": 4, "group_size": 32, "desc_act": true})") == "gptq-int4-g32");
  CHECK(with_q(R"({"quant_method": "fp8", "fmt": "e4m3"})") == "fp8");
  CHECK(with_q(R"({"quant_method": "bitsandbytes", "load_in_4bit": true})") == "nf4");
  CHECK(with_q(R"({"quant_method": "compressed-tensors", "config_groups": {"group_0": {"weights": {"num_bits": 8, "type": "float"}}}})") == "fp8");
  CHECK(with_q(R"({"quant_method": "compressed-tensors", "config_groups": {"group_0": {"weights": {"num_bits": 4, "type": "int", "group_size": 128}}}})") == "w4a16-g128");
  CHECK(with_q(R"({"quant_method": "fp8", "weight_block_size": [128, 128]})") == "fp8-block");
}

TEST_CASE("importing each reference config gives the numbers of its catalog model") {
  const auto catalog = io::load_builtin_catalog().value();
  const std::pair<const char*, const char*> pairs[] = {
      {"DeepSeek-R1", "deepseek-r1"},
      {"DeepSeek-V2-Lite", "deepseek-v2-lite"},
      {"DeepSeek-V3", "deepseek-v3"},
      {"Falcon-40B-instruct", "falcon-40b"},
      {"Llama-2-7b-hf", "llama2-7b"},
      {"Llama-2-13b-hf", "llama2-13b"},
      {"Llama-2-70b-hf", "llama2-70b"},
      {"Llama-3.1-8B", "llama3.1-8b"},
      {"Llama-3.1-70B", "llama3.1-70b"},
      {"Llama-3.1-405B", "llama3.1-405b"},
      {"Llama-3.2-1B", "llama3.2-1b"},
      {"Llama-4-Scout-17B-16E-Instruct", "llama-4-scout"},
      {"Mistral-7B-v0.1", "mistral-7b"},
      {"Mistral-7B-v0.3", "mistral-7b-v0.3"},
      {"Mixtral-8x7B-v0.1", "mixtral-8x7b"},
      {"Phi-3.5-mini-instruct", "phi-3.5-mini"},
      {"Qwen2.5-7B", "qwen2.5-7b"},
      {"Qwen2.5-32B", "qwen2.5-32b"},
      {"Qwen3-8B", "qwen3-8b"},
      {"Qwen3-32B", "qwen3-32b"},
      {"Qwen3-30B-A3B", "qwen3-30b-a3b"},
      {"Qwen3-235B-A22B", "qwen3-235b-a22b"},
      {"Qwen3-Next-80B-A3B-Instruct", "qwen3-next-80b-a3b"},
      {"Kimi-Linear-48B-A3B-Instruct", "kimi-linear-48b-a3b"},
      {"gemma-2-9b", "gemma-2-9b"},
      {"gemma-2-27b", "gemma-2-27b"},
      {"gpt-oss-20b", "gpt-oss-20b"},
      {"gpt-oss-120b", "gpt-oss-120b"},
      {"ERNIE-4.5-21B-A3B-Thinking", "ernie-4.5-21b-a3b"},
      {"Ling-flash-2.0", "ling-flash-2.0"},
      {"Mistral-Small-3.1-24B-Instruct-2503", "mistral-small-3.1-24b"},
      {"InternVL3-1B", "internvl3-1b"},
      {"Qwen2.5-VL-7B-Instruct", "qwen2.5-vl-7b"},
      {"Qwen3-VL-4B-Instruct", "qwen3-vl-4b"},
      {"gemma-4-31B-it", "gemma-4-31b"},
      {"gemma-4-26B-A4B-it", "gemma-4-26b-a4b"},
      {"c4ai-command-a-03-2025", "command-a-03-2025"},
      {"SmolLM3-3B", "smollm3-3b"},
      {"Hunyuan-A13B-Instruct", "hunyuan-a13b"},
  };
  for (const auto& [dir, id] : pairs) {
    INFO(dir << " vs " << id);
    const ModelSpec imported = import_dir(dir).spec;
    const ModelSpec& cat = **catalog.find_model(id);
    const ParamCounts a = count_params(imported), b = count_params(cat);
    CHECK(a.total == b.total);
    CHECK(a.active == b.active);
    CHECK(a.mtp == b.mtp);
    for (std::uint64_t ctx : {1ull, 4096ull, 32768ull}) {
      const KvCache x = kv_cache(imported, Dtype::bf16, ctx, 2), y = kv_cache(cat, Dtype::bf16, ctx, 2);
      CHECK(x.total_bytes == y.total_bytes);
      CHECK(x.state_total_bytes == y.state_total_bytes);
    }
    CHECK(imported.weights_format == cat.weights_format);
    // A tower counted from vision_config is the catalog's; the trimmed copy of Gemma 4 26B-A4B's
    // config leaves out `standardize` (SOURCES.md), so its count lacks the 2 x 1,152 std_bias and
    // std_scale the checkpoint holds.
    if (std::string(dir) == "gemma-4-26B-A4B-it") {
      CHECK(a.vision + 2 * 1152 == b.vision);
    } else if (imported.vision_params > 0) {
      CHECK(a.vision == b.vision);
    }
  }
}

namespace {

// Configs of the remaining supported model types, written with the keys (and values) of
// the models' Hugging Face config.json files (trimmed to what vramcalc reads). Each must
// import to the same numbers as its catalog entry.
struct InlineCase {
  const char* id;
  const char* config;
};

const InlineCase inline_cases[] = {
    {"glm-4.5-air", R"({"model_type": "glm4_moe", "hidden_size": 4096, "num_hidden_layers": 46,
       "num_attention_heads": 96, "num_key_value_heads": 8, "head_dim": 128, "attention_bias": true,
       "intermediate_size": 10944, "moe_intermediate_size": 1408, "n_routed_experts": 128,
       "n_shared_experts": 1, "num_experts_per_tok": 8, "first_k_dense_replace": 1,
       "num_nextn_predict_layers": 1, "use_qk_norm": false, "vocab_size": 151552,
       "max_position_embeddings": 131072, "tie_word_embeddings": false, "torch_dtype": "bfloat16"})"},
    {"glm-4.5", R"({"model_type": "glm4_moe", "hidden_size": 5120, "num_hidden_layers": 92,
       "num_attention_heads": 96, "num_key_value_heads": 8, "head_dim": 128, "attention_bias": true,
       "intermediate_size": 12288, "moe_intermediate_size": 1536, "n_routed_experts": 160,
       "n_shared_experts": 1, "num_experts_per_tok": 8, "first_k_dense_replace": 3,
       "num_nextn_predict_layers": 1, "use_qk_norm": true, "vocab_size": 151552,
       "max_position_embeddings": 131072, "tie_word_embeddings": false, "torch_dtype": "bfloat16"})"},
    {"command-r", R"({"model_type": "cohere", "hidden_size": 8192, "num_hidden_layers": 40,
       "num_attention_heads": 64, "num_key_value_heads": 64, "intermediate_size": 22528,
       "vocab_size": 256000, "max_position_embeddings": 131072, "use_qk_norm": false,
       "torch_dtype": "float16"})"},
    {"jamba-v0.1", R"({"model_type": "jamba", "hidden_size": 4096, "num_hidden_layers": 32,
       "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 14336,
       "attn_layer_offset": 4, "attn_layer_period": 8, "expert_layer_offset": 1, "expert_layer_period": 2,
       "num_experts": 16, "num_experts_per_tok": 2, "mamba_d_conv": 4, "mamba_d_state": 16,
       "mamba_expand": 2, "mamba_dt_rank": 256, "mamba_conv_bias": true, "vocab_size": 65536,
       "max_position_embeddings": 262144, "tie_word_embeddings": false, "torch_dtype": "bfloat16"})"},
    {"kimi-k2", R"({"model_type": "kimi_k2", "hidden_size": 7168, "num_hidden_layers": 61,
       "num_attention_heads": 64, "num_key_value_heads": 64, "intermediate_size": 18432,
       "q_lora_rank": 1536, "kv_lora_rank": 512, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64,
       "v_head_dim": 128, "n_routed_experts": 384, "n_shared_experts": 1, "num_experts_per_tok": 8,
       "moe_intermediate_size": 2048, "first_k_dense_replace": 1, "moe_layer_freq": 1,
       "num_nextn_predict_layers": 0, "vocab_size": 163840, "max_position_embeddings": 131072,
       "tie_word_embeddings": false, "torch_dtype": "bfloat16",
       "quantization_config": {"quant_method": "fp8", "fmt": "e4m3", "weight_block_size": [128, 128]}})"},
    // Qwen2.5-VL: the language model's keys at the top level (its sources in the catalog entries).
    {"qwen2.5-vl-32b", R"({"model_type": "qwen2_5_vl", "hidden_size": 5120, "num_hidden_layers": 64,
       "num_attention_heads": 40, "num_key_value_heads": 8, "intermediate_size": 27648, "vocab_size": 152064,
       "max_position_embeddings": 128000, "max_window_layers": 64, "sliding_window": 32768,
       "use_sliding_window": false, "tie_word_embeddings": false, "torch_dtype": "bfloat16"})"},
    {"qwen2.5-vl-72b", R"({"model_type": "qwen2_5_vl", "hidden_size": 8192, "num_hidden_layers": 80,
       "num_attention_heads": 64, "num_key_value_heads": 8, "intermediate_size": 29568, "vocab_size": 152064,
       "max_position_embeddings": 128000, "max_window_layers": 80, "sliding_window": 32768,
       "use_sliding_window": false, "tie_word_embeddings": false, "torch_dtype": "bfloat16"})"},
    // InternVL3 78B: internvl_chat with the language model in llm_config.
    {"internvl3-78b", R"({"model_type": "internvl_chat", "architectures": ["InternVLChatModel"], "torch_dtype": "bfloat16",
       "tie_word_embeddings": false, "llm_config": {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
         "hidden_size": 8192, "intermediate_size": 29568, "num_hidden_layers": 80, "num_attention_heads": 64,
         "num_key_value_heads": 8, "vocab_size": 151674, "max_position_embeddings": 32768, "max_window_layers": 70,
         "sliding_window": null, "use_sliding_window": false, "torch_dtype": "bfloat16"}})"},
    // InternVL3.5 8B: the same wrapper around a Qwen3 (q/k norms by the qwen3 row).
    {"internvl3.5-8b", R"({"model_type": "internvl_chat", "architectures": ["InternVLChatModel"],
       "llm_config": {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "attention_bias": false,
         "head_dim": 128, "hidden_size": 4096, "intermediate_size": 12288, "max_position_embeddings": 40960,
         "num_attention_heads": 32, "num_hidden_layers": 36, "num_key_value_heads": 8, "sliding_window": null,
         "use_sliding_window": false, "torch_dtype": "bfloat16", "vocab_size": 151936}})"},
    {"nemotron-h-8b", R"({"model_type": "nemotron_h", "hidden_size": 4096, "num_hidden_layers": 52,
       "hybrid_override_pattern": "M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M-",
       "num_attention_heads": 32, "num_key_value_heads": 8, "attention_head_dim": 128,
       "intermediate_size": 21504, "mamba_num_heads": 128, "mamba_head_dim": 64, "ssm_state_size": 128,
       "n_groups": 8, "conv_kernel": 4, "expand": 2, "vocab_size": 131072, "max_position_embeddings": 8192,
       "tie_word_embeddings": false, "torch_dtype": "bfloat16"})"},
};

} // namespace

TEST_CASE("other model types import to their catalog numbers") {
  const auto catalog = io::load_builtin_catalog().value();
  for (const InlineCase& k : inline_cases) {
    INFO(k.id);
    auto r = io::parse_hf_config(k.config, std::string(k.id) + "/config.json", k.id);
    REQUIRE(r.has_value());
    CHECK(r->warnings.empty());
    const ModelSpec& cat = **catalog.find_model(k.id);
    const ParamCounts a = count_params(r->spec), b = count_params(cat);
    CHECK(a.total == b.total);
    CHECK(a.active == b.active);
    CHECK(a.mtp == b.mtp);
    for (std::uint64_t ctx : {1ull, 32768ull}) {
      const KvCache x = kv_cache(r->spec, Dtype::bf16, ctx, 1), y = kv_cache(cat, Dtype::bf16, ctx, 1);
      CHECK(x.total_bytes == y.total_bytes);
      CHECK(x.state_total_bytes == y.state_total_bytes);
    }
  }
}

TEST_CASE("multimodal configs: the language model comes from text_config") {
  auto r = io::parse_hf_config(R"({"model_type": "gemma3", "architectures": ["Gemma3ForConditionalGeneration"],
      "torch_dtype": "bfloat16", "vision_config": {"hidden_size": 1152, "image_size": 896, "intermediate_size": 4304,
        "model_type": "siglip_vision_model", "num_attention_heads": 16, "num_hidden_layers": 27, "patch_size": 14,
        "vision_use_head": false},
      "text_config": {"model_type": "gemma3_text", "hidden_size": 2560, "num_hidden_layers": 34,
        "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256, "intermediate_size": 10240,
        "vocab_size": 262208, "sliding_window": 1024, "sliding_window_pattern": 6,
        "max_position_embeddings": 131072}})", "gemma-3-4b/config.json", "gemma-3-4b");
  REQUIRE(r.has_value());
  const auto catalog = io::load_builtin_catalog().value();
  const ModelSpec& cat = **catalog.find_model("gemma-3-4b");
  CHECK(count_params(r->spec).total == count_params(cat).total);
  CHECK(kv_cache(r->spec, Dtype::bf16, 65536, 1).total_bytes == kv_cache(cat, Dtype::bf16, 65536, 1).total_bytes);
  CHECK(r->spec.tie_word_embeddings);
  // The tower is counted from vision_config (gemma-3-4b-it's): the catalog's 419,816,304.
  CHECK(r->warnings.empty());
  CHECK(r->spec.vision_params == cat.vision_params);
  CHECK(count_params(r->spec).vision == 419'816'304ull);
  // A vision_config without a size key: not counted, and the import names the key.
  auto partial = io::parse_hf_config(R"({"model_type": "gemma3", "torch_dtype": "bfloat16", "vision_config": {"hidden_size": 1152},
      "text_config": {"model_type": "gemma3_text", "hidden_size": 2560, "num_hidden_layers": 34,
        "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256, "intermediate_size": 10240,
        "vocab_size": 262208, "sliding_window": 1024, "sliding_window_pattern": 6,
        "max_position_embeddings": 131072}})", "g/config.json", "g");
  if (!partial) FAIL(partial.error().message);
  CHECK(partial->spec.vision_params == 0);
  CHECK(partial->warnings == std::vector<std::string>{"the vision tower (vision_config) is not counted (/vision_config/"
                                                      "intermediate_size missing): its weights are not in the estimate"});
}

TEST_CASE("multimodal configs: InternVL keeps the language model in llm_config") {
  // InternVL3-1B (internvl_chat): a Qwen2 of 24 x 896, 14 heads over 2 KV heads, vocabulary
  // 151,674, untied (tests/data/hf/SOURCES.md).
  const io::HfImport r = import_dir("InternVL3-1B");
  // No note: the tower is counted from vision_config (InternViT-300M and mlp1: 308,495,104).
  CHECK(r.warnings.empty());
  const ModelSpec& s = r.spec;
  CHECK(s.vision_params == 308'495'104ull);
  CHECK(s.arch == "qwen2");
  CHECK(s.attention.qkv_bias); // the Qwen2 row's rule, read from llm_config's model_type
  CHECK_FALSE(s.tie_word_embeddings);
  CHECK(s.max_context == 32768);
  // embedding and head 2 x 151,674 x 896                                 =   271,799,808
  // 24 layers x (q 896 x 896 + 896, k and v 896 x 128 + 128 each, o 896 x 896,
  //              MLP 3 x 896 x 4,864, norms 1,792)                      =   357,897,216
  // final norm                                                           =           896
  //                                                                          629,697,920
  // + InternViT-300M and the mlp1 projector (308,495,104) = 938,193,024, the 1.88 GB
  // model.safetensors at 2 bytes a parameter.
  CHECK(count_params(s).total == 629'697'920ull);
  // A key missing under llm_config is named with its path.
  auto bad = io::parse_hf_config(R"({"model_type": "internvl_chat", "llm_config": {"model_type": "qwen2",
      "hidden_size": "wide"}})", "v/config.json", "v");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message == "v/config.json: /llm_config/hidden_size: expected a non-negative integer, got \"wide\"");
}

TEST_CASE("layer-pattern periods longer than the model stop at its layers") {
  // Found by fuzz_hf_config: a period of 2e9 built a pattern of 2e9 layers. Only the first
  // num_hidden_layers entries are used, so the pattern stops there, with the same layers.
  const char* base = R"({"hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4,
      "num_key_value_heads": 1, "head_dim": 64, "intermediate_size": 512, "vocab_size": 1000,
      "max_position_embeddings": 8192, )";
  auto kinds = [](const ModelSpec& s) {
    std::string k;
    for (const LayerSpec& l : s.layers) k += l.attention == AttentionKind::full ? 'F' : l.attention == AttentionKind::sliding ? 'S' : 'N';
    return k;
  };
  auto gemma = io::parse_hf_config(std::string(base) + R"("model_type": "gemma3_text", "sliding_window": 512,
      "sliding_window_pattern": 2000000000})", "gemma/config.json", "gemma");
  REQUIRE(gemma.has_value());
  CHECK(kinds(gemma->spec) == "SSSS");
  auto gemma4 = io::parse_hf_config(std::string(base) + R"("model_type": "gemma3_text", "sliding_window": 512,
      "sliding_window_pattern": 4})", "gemma/config.json", "gemma");
  REQUIRE(gemma4.has_value());
  CHECK(kinds(gemma4->spec) == "SSSF");
  auto jamba = io::parse_hf_config(std::string(base) + R"("model_type": "jamba", "attn_layer_period": 2000000000,
      "attn_layer_offset": 1})", "jamba/config.json", "jamba");
  REQUIRE(jamba.has_value());
  CHECK(kinds(jamba->spec) == "NFNN");
}

TEST_CASE("zero key-value heads are refused, not divided by") {
  // Found by fuzz_hf_config (tests/fuzz/corpus/hf_config/crash-zero-kv-heads.json):
  // num_key_value_heads 0 reached `num_attention_heads % 0`, undefined behaviour.
  const char* base = R"({"hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4,
      "head_dim": 64, "intermediate_size": 512, "vocab_size": 1000, "max_position_embeddings": 8192, )";
  auto err = [&](const std::string& rest) {
    auto r = io::parse_hf_config(std::string(base) + rest, "m/config.json", "m");
    return r ? std::string("(parsed)") : r.error().message;
  };
  CHECK(err(R"("model_type": "gemma3_text", "num_key_value_heads": 0, "sliding_window": 512,
      "sliding_window_pattern": 2000000000})") == "m/config.json: /num_key_value_heads: must be positive");
  CHECK(err(R"("model_type": "llama", "num_key_value_heads": 0})") ==
        "m/config.json: /num_key_value_heads: must be positive");
  CHECK(err(R"("model_type": "llama", "num_key_value_heads": 3})") ==
        "m/config.json: /num_key_value_heads: must divide num_attention_heads (4)");
  CHECK(err(R"("model_type": "falcon", "new_decoder_architecture": true, "num_kv_heads": 0})") ==
        "m/config.json: /num_kv_heads: must be positive");
}

TEST_CASE("a pure Mamba-2 model: no KV cache, a fixed state, no MLP") {
  // Mamba2Config defaults (the docstring's state-spaces/mamba2-130m): 24 layers, 768 wide,
  // 24 heads of 64 (d_inner 1536), state 128, 1 group, conv 4, vocab 50280, tied embeddings.
  auto r = io::parse_hf_config(R"({"model_type": "mamba2", "hidden_size": 768, "num_hidden_layers": 24,
      "num_heads": 24, "head_dim": 64, "state_size": 128, "n_groups": 1, "conv_kernel": 4, "expand": 2,
      "vocab_size": 50280, "tie_word_embeddings": true, "torch_dtype": "bfloat16"})",
                               "mamba2/config.json", "mamba2");
  REQUIRE(r.has_value());
  const ModelSpec& s = r->spec;
  // per layer: norm 768; in_proj 768 x (2 x 1536 + 2 x 128 + 24) = 2,574,336; conv 4 x 1792
  // + bias 1792; dt_bias, A_log, D 3 x 24; gated norm 1536; out_proj 1536 x 768 = 1,179,648
  //   = 3,765,320; x 24 = 90,367,680; + tied embedding 38,615,040 + final norm 768
  CHECK(count_params(s).total == 128'983'488ull);
  const KvCache kv = kv_cache(s, Dtype::bf16, 100000, 1);
  CHECK(kv.total_bytes == 0);
  // per layer: (4 - 1) x (1536 + 2 x 128) + 24 x 64 x 128 = 201,984 elements x 2 bytes; x 24
  CHECK(kv.state_bytes_per_sequence == 24ull * 201'984 * 2);
}

TEST_CASE("Gemma 4: the global layers' keys, the MoE block, and the E2B / E4B keys refused") {
  const std::string base = R"({"model_type": "gemma4_text", "hidden_size": 64, "num_hidden_layers": 6,
      "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "global_head_dim": 32,
      "intermediate_size": 96, "vocab_size": 100, "sliding_window": 8, "max_position_embeddings": 256, )";
  // attention_k_eq_v: the global layers take num_global_key_value_heads and lose v_proj
  auto kv = io::parse_hf_config(base + R"("attention_k_eq_v": true, "num_global_key_value_heads": 1})", "g/config.json", "g");
  REQUIRE(kv.has_value());
  const ModelSpec& s = kv->spec;
  CHECK(s.layers[0].attention == AttentionKind::sliding); // default layer_types: five sliding, one full
  CHECK(s.layers[0].head_dim_k == 16);
  CHECK(s.layers[0].num_kv_heads == 2);
  CHECK(s.layers[5].attention == AttentionKind::full);
  CHECK(s.layers[5].head_dim_k == 32);
  CHECK(s.layers[5].head_dim_v == 32);
  CHECK(s.layers[5].num_kv_heads == 1);
  CHECK(s.layers[5].k_eq_v);
  CHECK(s.layer_scalar);
  // without it the global layers keep num_key_value_heads (Gemma4TextAttention) and v_proj
  auto plain = io::parse_hf_config(base + R"("num_global_key_value_heads": 1})", "g/config.json", "g");
  REQUIRE(plain.has_value());
  CHECK(plain->spec.layers[5].num_kv_heads == 2);
  CHECK_FALSE(plain->spec.layers[5].k_eq_v);
  // enable_moe_block: experts beside the dense MLP, top_k_experts a token
  auto moe = io::parse_hf_config(base + R"("enable_moe_block": true, "num_experts": 4, "top_k_experts": 2,
      "moe_intermediate_size": 24})", "g/config.json", "g");
  REQUIRE(moe.has_value());
  REQUIRE(moe->spec.moe.has_value());
  CHECK(moe->spec.moe->experts_per_token == 2);
  CHECK(moe->spec.moe->dense_mlp_beside);
  CHECK(moe->spec.intermediate_size == 96);
  // num_experts without enable_moe_block: no experts
  auto off = io::parse_hf_config(base + R"("num_experts": 4, "top_k_experts": 2})", "g/config.json", "g");
  REQUIRE(off.has_value());
  CHECK_FALSE(off->spec.moe.has_value());
  // E2B / E4B: per-layer input embeddings and KV-sharing layers are named, not guessed
  auto ple = io::parse_hf_config(base + R"("hidden_size_per_layer_input": 256})", "e2b/config.json", "e2b");
  REQUIRE_FALSE(ple.has_value());
  CHECK(ple.error().message.find("e2b/config.json: /hidden_size_per_layer_input: Gemma 4's per-layer input embeddings") !=
        std::string::npos);
  auto shared = io::parse_hf_config(base + R"("num_kv_shared_layers": 2})", "e4b/config.json", "e4b");
  REQUIRE_FALSE(shared.has_value());
  CHECK(shared.error().message.find("/num_kv_shared_layers: layers reusing another layer's KV cache") != std::string::npos);
}

namespace {

// The encoder facts of a model directory's config.json and preprocessor_config.json.
EncoderProfile vision_of(const std::string& dir) {
  const std::string base = std::string(VRAMCALC_TEST_DATA) + "/hf/" + dir;
  auto config = io::read_text_file(base + "/config.json", ErrorCode::invalid_model);
  auto pre = io::read_text_file(base + "/preprocessor_config.json", ErrorCode::invalid_model);
  REQUIRE(config.has_value());
  REQUIRE(pre.has_value());
  auto p = io::hf_vision_profile(*config, *pre, dir + "/config.json", dir + "/preprocessor_config.json");
  if (!p) FAIL(p.error().message);
  REQUIRE(p->has_value());
  return **p;
}

const EncoderProfile& catalog_vision(const std::string& id) {
  static const io::Catalog catalog = io::load_builtin_catalog().value();
  const ModelSpec* m = *catalog.find_model(id);
  REQUIRE(m->vision_profile.has_value());
  return *m->vision_profile;
}

void same(const EncoderProfile& a, const EncoderProfile& b) {
  CHECK(a.max_tokens_per_item == b.max_tokens_per_item);
  CHECK(a.embeds_per_item == b.embeds_per_item);
  CHECK(a.output_width == b.output_width);
  CHECK(a.video == b.video);
}

} // namespace

TEST_CASE("vision facts from config.json and preprocessor_config.json equal the catalog's hand-filled ones", "[hf][vision]") {
  // Gemma 3: mm_tokens_per_image 256 soft tokens, t = 256 + start/end of image and their blank
  // lines = 260; d_out the text hidden size 2,560.
  const EncoderProfile g = vision_of("gemma-3-4b-it");
  CHECK(g.max_tokens_per_item == 256 + 4);
  CHECK(g.embeds_per_item == 256);
  CHECK(g.output_width == 2560);
  same(g, catalog_vision("gemma-3-4b"));
  // Its tower for llama.cpp's clip compute buffer: 896 / 14 = 64, 4,096 patches; 16 heads, 1,152
  // wide, MLP 4,304, as the catalog's vision.llamacpp_clip.
  {
    const std::string base = std::string(VRAMCALC_TEST_DATA) + "/hf/gemma-3-4b-it/config.json";
    const auto text = io::read_text_file(base, ErrorCode::invalid_model);
    REQUIRE(text.has_value());
    const auto t = io::hf_clip_tower(*text, "config.json");
    REQUIRE(t.has_value());
    REQUIRE(t->has_value());
    static const io::Catalog catalog = io::load_builtin_catalog().value();
    const ClipTower& c = *(*catalog.find_model("gemma-3-4b"))->vision_clip;
    CHECK((*t)->patches == 64 * 64);
    CHECK((*t)->patches == c.patches);
    CHECK((*t)->heads == c.heads);
    CHECK((*t)->width == c.width);
    CHECK((*t)->ffn_width == c.ffn_width);
  }
  // Qwen2.5-VL: max_pixels 12,845,056 in (14 x 2)^2 = 784-pixel merged patches: 16,384 = 128^2
  // (3,584 x 3,584); d_out out_hidden_size 3,584.
  const EncoderProfile q25 = vision_of("Qwen2.5-VL-7B-Instruct");
  CHECK(q25.max_tokens_per_item == 12'845'056ull / (28 * 28));
  CHECK(q25.max_tokens_per_item == 16'384);
  CHECK(q25.output_width == 3584);
  same(q25, catalog_vision("qwen2.5-vl-7b"));
  // Qwen3-VL: size.longest_edge 16,777,216 pixels in (16 x 2)^2 = 1,024-pixel merged patches:
  // 16,384 = 128^2 (4,096 x 4,096); d_out out_hidden_size 2,560 x (1 + 3 DeepStack levels) = 10,240.
  const EncoderProfile q3 = vision_of("Qwen3-VL-4B-Instruct");
  CHECK(q3.max_tokens_per_item == 16'777'216ull / (32 * 32));
  CHECK(q3.output_width == 2560 * 4);
  same(q3, catalog_vision("qwen3-vl-4b"));
  // Mistral Small 3.1 (Pixtral): 1,540 px / 14 px = 110 patches a side, merged 2 x 2: 55; e = 55^2 =
  // 3,025, t = 55 x 56 = 3,080 (a break or end token per row); d_out 5,120.
  const EncoderProfile m = vision_of("Mistral-Small-3.1-24B-Instruct-2503");
  CHECK(m.embeds_per_item == 55 * 55);
  CHECK(m.max_tokens_per_item == 55 * 56);
  CHECK(m.output_width == 5120);
  same(m, catalog_vision("mistral-small-3.1-24b"));
}

// Every projector with a compute buffer rule: the importer's clip tower from the real config.json
// equals the catalog model's hand-filled vision.llamacpp_clip (patch size where the catalog gives
// it: gemma3's and internvl's rules leave the image out), and so do both compute buffers.
TEST_CASE("clip towers from config.json equal the catalog's vision.llamacpp_clip", "[hf][vision][mmproj]") {
  static const io::Catalog catalog = io::load_builtin_catalog().value();
  struct Case {
    const char* dir;
    const char* model;
    std::uint64_t patches, blocks;
  };
  const Case cases[] = {
      {"gemma-3-4b-it", "gemma-3-4b", 64 * 64, 0},                  // 896 / 14 = 64 a side
      {"gemma-4-26B-A4B-it", "gemma-4-26b-a4b", 48 * 48, 27},       // 16 x 16 tokens of 3 x 3 (pooling_kernel_size default)
      {"gemma-4-31B-it", "gemma-4-31b", 48 * 48, 27},               // pooling_kernel_size 3
      {"Qwen2.5-VL-7B-Instruct", "qwen2.5-vl-7b", 92 * 92, 32},     // 46 x 46 tokens of 2 x 2
      {"Qwen3-VL-4B-Instruct", "qwen3-vl-4b", 92 * 92, 24},         // DeepStack [5, 11, 17]: all three kept (< 24 - 2)
      {"Mistral-Small-3.1-24B-Instruct-2503", "mistral-small-3.1-24b", 32 * 32, 24}, // 16 x 16 tokens of 2 x 2
      {"Llama-4-Scout-17B-16E-Instruct", "llama-4-scout", 24 * 24, 34}, // 336 / 14 = 24 a side
      {"InternVL3-1B", "internvl3-1b", 32 * 32, 24},                // 448 / 14 = 32 a side
  };
  for (const Case& k : cases) {
    INFO(k.dir);
    const auto text = io::read_text_file(std::string(VRAMCALC_TEST_DATA) + "/hf/" + k.dir + "/config.json", ErrorCode::invalid_model);
    REQUIRE(text.has_value());
    const auto t = io::hf_clip_tower(*text, "config.json");
    REQUIRE(t.has_value());
    REQUIRE(t->has_value());
    const ClipTower& c = *(*catalog.find_model(k.model))->vision_clip;
    const ClipTower& h = **t;
    CHECK(h.patches == k.patches);
    CHECK(h.blocks == k.blocks);
    CHECK(h.projector == c.projector);
    CHECK(h.patches == c.patches);
    CHECK(h.heads == c.heads);
    CHECK(h.width == c.width);
    CHECK(h.ffn_width == c.ffn_width);
    CHECK(h.blocks == c.blocks);
    CHECK(h.deepstack_kept == c.deepstack_kept);
    CHECK(h.projection_width == c.projection_width);
    if (c.patch_size != 0) CHECK(h.patch_size == c.patch_size);
    CHECK(llamacpp_clip_compute_bytes(h, true) == llamacpp_clip_compute_bytes(c, true));
    CHECK(llamacpp_clip_compute_bytes(h, false) == llamacpp_clip_compute_bytes(c, false));
  }
  // Qwen3-VL 4B with 3 DeepStack layers kept; Qwen3.5 (no DeepStack) from the same tower.
  const auto q3 = io::read_text_file(std::string(VRAMCALC_TEST_DATA) + "/hf/Qwen3-VL-4B-Instruct/config.json", ErrorCode::invalid_model);
  REQUIRE(q3.has_value());
  CHECK(io::hf_clip_tower(*q3, "c").value()->deepstack_kept == 3);
  nlohmann::json q35 = nlohmann::json::parse(*q3);
  q35["model_type"] = "qwen3_5";
  q35["vision_config"]["deepstack_visual_indexes"] = nlohmann::json::array();
  CHECK(io::hf_clip_tower(q35.dump(), "c").value()->deepstack_kept == 0);
  // InternViT-6B: InternVL3-1B's config with the 6B tower of InternVL3 38B / 78B (3,200 wide, 25
  // heads, MLP 12,800, 45 layers, qk_normalization): the catalog's tower, q / k norms and all.
  const auto i1 = io::read_text_file(std::string(VRAMCALC_TEST_DATA) + "/hf/InternVL3-1B/config.json", ErrorCode::invalid_model);
  REQUIRE(i1.has_value());
  nlohmann::json i6 = nlohmann::json::parse(*i1);
  i6["vision_config"]["hidden_size"] = 3200;
  i6["vision_config"]["num_attention_heads"] = 25;
  i6["vision_config"]["intermediate_size"] = 12800;
  i6["vision_config"]["num_hidden_layers"] = 45;
  i6["vision_config"]["qk_normalization"] = true;
  const ClipTower h6 = io::hf_clip_tower(i6.dump(), "c").value().value();
  CHECK(h6.qk_norm);
  const ClipTower& c6 = *(*catalog.find_model("internvl3-78b"))->vision_clip;
  CHECK(llamacpp_clip_compute_bytes(h6, true) == llamacpp_clip_compute_bytes(c6, true));
  CHECK(llamacpp_clip_compute_bytes(h6, false) == llamacpp_clip_compute_bytes(c6, false));
  CHECK(llamacpp_clip_compute_bytes(h6, true) == 91'840'000ull);
  // Model types without a rule: not counted.
  CHECK_FALSE(io::hf_clip_tower(R"({"model_type": "qwen2_vl", "vision_config": {}})", "c").value());
  // A key the tower needs left out: not counted (no transformers default taken); a malformed one is named.
  CHECK_FALSE(io::hf_clip_tower(R"({"model_type": "llama4", "vision_config": {"image_size": 336}})", "c").value());
  const auto bad = io::hf_clip_tower(R"({"model_type": "llama4", "vision_config": {"image_size": -336}})", "c.json");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message == "c.json: /vision_config/image_size: expected a positive integer, got -336");
}

TEST_CASE("vision facts: what is missing or malformed is named by file and key", "[hf][vision]") {
  const std::string config = R"({"model_type": "qwen2_5_vl", "vision_config": {"out_hidden_size": 3584}})";
  auto missing = io::hf_vision_profile(config, R"({"patch_size": 14, "merge_size": 2})", "c.json", "p.json");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message == "p.json: /max_pixels: missing (or /size/longest_edge)");
  auto bad = io::hf_vision_profile(config, R"({"patch_size": -14, "merge_size": 2, "max_pixels": 100})", "c.json", "p.json");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message == "p.json: /patch_size: expected a positive integer, got -14");
  // A model type without a rule, or a config without a vision tower: no facts, no error.
  auto other = io::hf_vision_profile(R"({"model_type": "llava", "vision_config": {}})", "{}", "c.json", "p.json");
  REQUIRE(other.has_value());
  CHECK_FALSE(other->has_value());
  auto text_only = io::hf_vision_profile(R"({"model_type": "llama"})", "{}", "c.json", "p.json");
  REQUIRE(text_only.has_value());
  CHECK_FALSE(text_only->has_value());
}

namespace {

std::optional<std::uint64_t> tower_of(const std::string& dir) {
  const std::string path = std::string(VRAMCALC_TEST_DATA) + "/hf/" + dir + "/config.json";
  auto text = io::read_text_file(path, ErrorCode::invalid_model);
  REQUIRE(text.has_value());
  auto n = io::hf_vision_params(*text, dir + "/config.json");
  if (!n) FAIL(n.error().message);
  return *n;
}

std::uint64_t catalog_tower(const std::string& id) {
  static const io::Catalog catalog = io::load_builtin_catalog().value();
  return (*catalog.find_model(id))->vision_params;
}

} // namespace

TEST_CASE("vision towers counted from vision_config equal the catalog's vision.params", "[hf][vision-tower]") {
  // Gemma 3 4B (SigLIP, 27 x 1152, MLP 4304, 896 px / 14 px, no head): patch conv 3 x 14^2 x 1152
  // + 1152 = 678,528; 64^2 positions x 1152 = 4,718,592; a layer: two LayerNorms 4 x 1152, q/k/v/o
  // 4 x (1152^2 + 1152) = 5,313,024, fc1 + fc2 2 x 1152 x 4304 + 4304 + 1152 = 9,921,872:
  // 15,239,504, x 27 = 411,466,608; post LayerNorm 2,304: 416,866,032. Projector 1152 x 2560 and
  // its RMSNorm 1152: 2,950,272.
  CHECK(tower_of("gemma-3-4b-it") == 678'528ull + 4'718'592ull + 27 * 15'239'504ull + 2'304ull + 1152ull * 2560 + 1152);
  CHECK(tower_of("gemma-3-4b-it") == catalog_tower("gemma-3-4b"));
  // Qwen2.5-VL 7B (32 x 1280, MLP 3420): Conv3d 3 x 2 x 14^2 x 1280 = 1,505,280; a block: two
  // RMSNorms 2,560, qkv 3 x 1280^2 + 3,840 = 4,919,040, proj 1,639,680, gate/up/down 3 x 1280 x
  // 3420 + 2 x 3420 + 1280 = 13,140,920: 19,702,200, x 32 = 630,470,400; merger RMSNorm 1,280,
  // 5120^2 + 5120 = 26,219,520, 5120 x 3584 + 3584 = 18,353,664.
  CHECK(tower_of("Qwen2.5-VL-7B-Instruct") == 1'505'280ull + 32 * 19'702'200ull + 1'280 + 26'219'520 + 18'353'664);
  CHECK(tower_of("Qwen2.5-VL-7B-Instruct") == catalog_tower("qwen2.5-vl-7b"));
  // Qwen3-VL 4B (24 x 1024, MLP 4096, 16 px): Conv3d 3 x 2 x 16^2 x 1024 + 1024 = 1,573,888;
  // 2304 x 1024 positions = 2,359,296; a block: LayerNorms 4,096, qkv 3,148,800, proj 1,049,600,
  // fc1 + fc2 8,393,728: 12,596,224, x 24 = 302,309,376; merger LayerNorm 2,048, 4096^2 + 4096 =
  // 16,781,312, 4096 x 2560 + 2560 = 10,488,320; 3 DeepStack mergers, each with a LayerNorm over
  // 4096 (8,192): 3 x 27,277,824.
  CHECK(tower_of("Qwen3-VL-4B-Instruct") ==
        1'573'888ull + 2'359'296 + 24 * 12'596'224ull + 2'048 + 16'781'312 + 10'488'320 + 3 * 27'277'824ull);
  CHECK(tower_of("Qwen3-VL-4B-Instruct") == catalog_tower("qwen3-vl-4b"));
  // Mistral Small 3.1 (Pixtral 24 x 1024, MLP 4096): patch conv 3 x 14^2 x 1024 = 602,112, ln_pre
  // 1,024; a layer 2 x 1024 + 4 x 1024^2 + 3 x 1024 x 4096 = 16,779,264; projector RMSNorm 1,024,
  // merger 4096 x 1024, linear_1 1024 x 5120, linear_2 5120^2 (multimodal_projector_bias false).
  CHECK(tower_of("Mistral-Small-3.1-24B-Instruct-2503") ==
        602'112ull + 1'024 + 24 * 16'779'264ull + 1'024 + 4096ull * 1024 + 1024ull * 5120 + 5120ull * 5120);
  CHECK(tower_of("Mistral-Small-3.1-24B-Instruct-2503") == catalog_tower("mistral-small-3.1-24b"));
  CHECK(tower_of("Mistral-Small-3.1-24B-Instruct-2503") == catalog_tower("magistral-small-2509"));
  // Llama 4 Scout (34 x 1408, MLP 5632, 336 px / 14 px): unfold linear 3 x 14^2 x 1408 = 827,904,
  // class embedding 1,408, (24^2 + 1) x 1408 = 812,416 positions, layernorm_pre/post 5,632; a layer:
  // q/k/v/o 4 x (1408^2 + 1408) = 7,935,488, fc1 + fc2 2 x 1408 x 5632 + 5632 + 1408 = 15,866,752,
  // two LayerNorms 5,632: 23,807,872, x 34; adapter 5632 x 4096 + 4096^2 = 39,845,888; projector
  // 4096 x 5120 = 20,971,520 (each as the per-module table in tests/data/hf/SOURCES.md prints it).
  CHECK(tower_of("Llama-4-Scout-17B-16E-Instruct") ==
        827'904ull + 1'408 + 812'416 + 5'632 + 34 * 23'807'872ull + 39'845'888 + 20'971'520);
  CHECK(tower_of("Llama-4-Scout-17B-16E-Instruct") == catalog_tower("llama-4-scout"));
  CHECK(tower_of("Llama-4-Scout-17B-16E-Instruct") == catalog_tower("llama-4-maverick"));
  // InternVL3 1B (InternViT-300M, 24 x 1024): a layer qkv 3,148,800, proj 1,049,600, MLP 8,393,728,
  // LayerNorms 4,096, layer scales 2,048: 12,598,272; class 1,024, patch conv 603,136, 1,025
  // positions 1,049,600; mlp1 LayerNorm 8,192, 4096 x 896 + 896, 896^2 + 896.
  CHECK(tower_of("InternVL3-1B") ==
        24 * 12'598'272ull + 1'024 + 603'136 + 1'049'600 + 8'192 + 4096ull * 896 + 896 + 896ull * 896 + 896);
  CHECK(tower_of("InternVL3-1B") == catalog_tower("internvl3-1b"));
  // Gemma 4 31B (27 x 1152, 16 heads and 16 KV heads of 72, MLP 4304, 16 px, standardize):
  // input_proj 768 x 1152 = 884,736; positions 2 x 10,240 x 1152 = 23,592,960; a layer q/k/v/o
  // 4 x 1152^2 = 5,308,416, q/k norms 2 x 72, four norms 4 x 1152, MLP 3 x 1152 x 4304 =
  // 14,874,624: 20,187,792, x 27; std bias and scale 2 x 1152; projection 1152 x 5376 = 6,193,152.
  CHECK(tower_of("gemma-4-31B-it") == 884'736ull + 23'592'960 + 27 * 20'187'792ull + 2'304 + 6'193'152);
  CHECK(tower_of("gemma-4-31B-it") == catalog_tower("gemma-4-31b"));
  // The 26B-A4B: the same tower into a 2816-wide model (its vision_config as the 31B's).
  auto g26 = io::hf_vision_params(R"({"model_type": "gemma4", "text_config": {"hidden_size": 2816},
      "vision_config": {"hidden_size": 1152, "intermediate_size": 4304, "num_hidden_layers": 27, "num_attention_heads": 16,
      "num_key_value_heads": 16, "head_dim": 72, "patch_size": 16, "position_embedding_size": 10240, "standardize": true,
      "use_clipped_linears": false}})", "g4/config.json");
  REQUIRE(g26.has_value());
  CHECK(*g26 == catalog_tower("gemma-4-26b-a4b"));
  // No vision_config: nullopt.
  CHECK_FALSE(tower_of("Qwen3-8B").has_value());
}

TEST_CASE("vision towers: the other catalog sizes by the same formulas", "[hf][vision-tower]") {
  // vision_config values as the catalog entries' sources state them (Qwen2.5-VL 72B: MLP 3456,
  // out 8192; Qwen3-VL 30B-A3B: 27 x 1152, MLP 4304, out 2048; InternVL3 38B: InternViT-6B, 45
  // layers of 3200, RMSNorms, q/k norms, no qkv bias, into a 5120-wide LLM; the other sizes
  // differ from the 4B / 7B / 1B configs held only in the projector's output width and, for
  // Qwen2.5-VL 32B and Qwen3-VL 8B / 235B, the tower the 72B and 30B share).
  const std::string siglip = R"("vision_config": {"hidden_size": 1152, "image_size": 896, "intermediate_size": 4304,
      "num_hidden_layers": 27, "patch_size": 14, "vision_use_head": false})";
  const std::string gemma12 = R"({"model_type": "gemma3", "text_config": {"hidden_size": 3840}, )" + siglip + "}";
  const std::string gemma27 = R"({"model_type": "gemma3", "text_config": {"hidden_size": 5376}, )" + siglip + "}";
  const auto qwen25 = [](const char* ff, const char* out) {
    return std::string(R"({"model_type": "qwen2_5_vl", "vision_config": {"depth": 32, "hidden_size": 1280, "intermediate_size": )") +
           ff + R"(, "out_hidden_size": )" + out + R"(, "patch_size": 14}})";
  };
  const auto qwen3 = [](const char* depth, const char* h, const char* ff, const char* out) {
    return std::string(R"({"model_type": "qwen3_vl", "vision_config": {"depth": )") + depth + R"(, "hidden_size": )" + h +
           R"(, "intermediate_size": )" + ff + R"(, "out_hidden_size": )" + out +
           R"(, "patch_size": 16, "num_position_embeddings": 2304, "deepstack_visual_indexes": [8, 16, 24]}})";
  };
  const auto qwen35 = [](const char* type, const char* out) {
    return std::string(R"({"model_type": ")") + type + R"(", "vision_config": {"depth": 27, "hidden_size": 1152,
        "intermediate_size": 4304, "out_hidden_size": )" + out + R"(, "patch_size": 16, "num_position_embeddings": 2304,
        "deepstack_visual_indexes": []}})";
  };
  const auto vit300m = [](const char* llm) {
    return std::string(R"({"model_type": "internvl_chat", "downsample_ratio": 0.5, "llm_config": {"hidden_size": )") + llm +
           R"(}, "vision_config": {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24, "image_size": 448,
           "patch_size": 14, "norm_type": "layer_norm", "qkv_bias": true, "qk_normalization": false}})";
  };
  const std::string more[][2] = {
      {"gemma-3-12b", gemma12},
      {"gemma-3-27b", gemma27},
      {"qwen2.5-vl-3b", qwen25("3420", "2048")},
      {"qwen2.5-vl-32b", qwen25("3456", "5120")},
      {"qwen3-vl-2b", qwen3("24", "1024", "4096", "2048")},
      {"qwen3-vl-8b", qwen3("27", "1152", "4304", "4096")},
      {"qwen3-vl-235b-a22b", qwen3("27", "1152", "4304", "4096")},
      {"internvl3-2b", vit300m("1536")},
      {"internvl3-8b", vit300m("3584")},
      {"internvl3-14b", vit300m("5120")},
      {"internvl3.5-8b", vit300m("4096")},
      // Qwen3.5: the Qwen3-VL tower of 27 x 1152 with no DeepStack mergers (Qwen3_5VisionModel).
      {"qwen3.5-27b", qwen35("qwen3_5", "5120")},
      {"qwen3.5-35b-a3b", qwen35("qwen3_5_moe", "2048")},
      {"qwen3.5-122b-a10b", qwen35("qwen3_5_moe", "3072")},
      {"qwen3.5-397b-a17b", qwen35("qwen3_5_moe", "4096")},
  };
  for (const auto& [id, config] : more) {
    INFO(id);
    auto n = io::hf_vision_params(config, id + "/config.json");
    REQUIRE(n.has_value());
    CHECK(*n == catalog_tower(id));
  }
  const std::pair<const char*, const char*> cases[] = {
      {"qwen2.5-vl-72b", R"({"model_type": "qwen2_5_vl", "vision_config": {"depth": 32, "hidden_size": 1280,
         "intermediate_size": 3456, "out_hidden_size": 8192, "patch_size": 14, "spatial_merge_size": 2,
         "temporal_patch_size": 2, "in_channels": 3}})"},
      {"qwen3-vl-30b-a3b", R"({"model_type": "qwen3_vl_moe", "vision_config": {"depth": 27, "hidden_size": 1152,
         "intermediate_size": 4304, "out_hidden_size": 2048, "patch_size": 16, "num_position_embeddings": 2304,
         "deepstack_visual_indexes": [8, 16, 24]}})"},
      {"internvl3-38b", R"({"model_type": "internvl_chat", "downsample_ratio": 0.5, "llm_config": {"hidden_size": 5120},
         "vision_config": {"hidden_size": 3200, "intermediate_size": 12800, "num_hidden_layers": 45, "image_size": 448,
         "patch_size": 14, "norm_type": "rms_norm", "qkv_bias": false, "qk_normalization": true}})"},
      {"internvl3-78b", R"({"model_type": "internvl_chat", "downsample_ratio": 0.5, "llm_config": {"hidden_size": 8192},
         "vision_config": {"hidden_size": 3200, "intermediate_size": 12800, "num_hidden_layers": 45, "image_size": 448,
         "patch_size": 14, "norm_type": "rms_norm", "qkv_bias": false, "qk_normalization": true}})"},
  };
  for (const auto& [id, config] : cases) {
    INFO(id);
    auto n = io::hf_vision_params(config, std::string(id) + "/config.json");
    REQUIRE(n.has_value());
    CHECK(*n == catalog_tower(id));
  }
  // InternViT-6B's layer: qkv 3 x 3200^2, proj 3200^2 + 3200, q/k RMSNorms 6,400, MLP 2 x 3200 x
  // 12800 + 12800 + 3200, RMSNorms 6,400, layer scales 6,400: 122,918,400.
  CHECK(catalog_tower("internvl3-38b") == 45 * 122'918'400ull + 3'200 + 1'884'800 + 3'280'000 + 25'600 +
                                              12'800ull * 5120 + 5120 + 5120ull * 5120 + 5120);
}

TEST_CASE("vision towers: Kimi K2.5's MoonViT and patch merger", "[hf][vision-tower]") {
  // Kimi-K2.5's vision_config keys as a public dump of the checkpoint's config.json prints them
  // (found by content search); the tensor shapes as the catalog entry cites them: patch conv
  // [1152, 3, 14, 14] + 1152 = 678,528; pos_emb [64, 64, 1152] = 4,718,592; a block norm0 / norm1
  // 4 x 1152, wqkv 3456 x 1152 + 3456, wo 1152^2 + 1152, fc0 / fc1 2 x 1152 x 4304 + 4304 + 1152:
  // 15,239,504, x 27; final_layernorm 2,304; mm_projector pre_norm 2,304, 4608^2 + 4608 =
  // 21,238,272, 7168 x 4608 + 7168 = 33,037,312.
  const char* config = R"({"model_type": "kimi_k25", "text_config": {"model_type": "kimi_k2", "hidden_size": 7168},
      "vision_config": {"init_pos_emb_height": 64, "init_pos_emb_time": 4, "init_pos_emb_width": 64,
      "merge_kernel_size": [2, 2], "merge_type": "sd2_tpool", "mm_hidden_size": 1152, "mm_projector_type": "patchmerger",
      "model_type": "", "patch_size": 14, "pos_emb_type": "divided_fixed", "projector_hidden_act": "gelu",
      "projector_ln_eps": 1e-05, "text_hidden_size": 7168, "video_attn_type": "spatial_temporal", "vt_hidden_size": 1152,
      "vt_intermediate_size": 4304, "vt_num_attention_heads": 16, "vt_num_hidden_layers": 27}})";
  auto n = io::hf_vision_params(config, "k25.json");
  REQUIRE(n.has_value());
  CHECK(*n == 678'528ull + 4'718'592 + 27 * 15'239'504ull + 2'304 + 2'304 + 21'238'272 + 33'037'312);
  CHECK(*n == catalog_tower("kimi-k2.5"));
}

TEST_CASE("vision towers: Qwen2-VL against its checkpoints' totals", "[hf][vision-tower]") {
  // No catalog entry: the Hub's parameter counts of Qwen2-VL 7B and 2B Instruct, 8,291,375,616 and
  // 2,208,985,600 (a public table of Hugging Face model sizes, found by content search; it gives
  // InternVL2.5 1B, the InternVL3 1B architecture, as 938,193,024, the count SOURCES.md and the
  // InternVL3-1B import agree on), less their language models. 7B: Qwen2.5-7B's 7,615,616,512
  // (same sizes, untied). 2B (1536 wide, 28 layers, 12 heads / 2 KV heads, MLP 8960, vocabulary
  // 151,936, tied): embeddings 233,373,696; a layer q 2,360,832, k and v 2 x 393,472, o 2,359,296,
  // MLP 41,287,680, norms 3,072: 46,797,824, x 28; final norm 1,536: 1,543,714,304.
  // The tower (32 x 1280, mlp_ratio 4): Conv3d 1,505,280; a block LayerNorms 5,120, qkv 4,919,040,
  // proj 1,639,680, fc1 6,558,720, fc2 6,554,880: 19,677,440, x 32; merger LayerNorm 2,560,
  // 5120^2 + 5120 = 26,219,520, 5120 x out + out.
  const auto tower = [](const char* out) {
    return std::string(R"({"model_type": "qwen2_vl", "vision_config": {"depth": 32, "embed_dim": 1280, "mlp_ratio": 4,
        "num_heads": 16, "in_chans": 3, "hidden_size": )") + out + R"(, "patch_size": 14, "spatial_merge_size": 2,
        "spatial_patch_size": 14, "temporal_patch_size": 2}})";
  };
  const std::uint64_t body = 1'505'280ull + 32 * 19'677'440ull + 2'560 + 26'219'520;
  auto q7 = io::hf_vision_params(tower("3584"), "q7.json");
  REQUIRE(q7.has_value());
  CHECK(*q7 == body + 5120ull * 3584 + 3584);
  CHECK(*q7 == 8'291'375'616ull - 7'615'616'512ull);
  auto q2 = io::hf_vision_params(tower("1536"), "q2.json");
  REQUIRE(q2.has_value());
  CHECK(1'543'714'304ull == 233'373'696ull + 28 * 46'797'824ull + 1'536);
  CHECK(*q2 == 2'208'985'600ull - 1'543'714'304ull);
  // Its encoder facts: the merger's width is vision_config.hidden_size (no out_hidden_size).
  auto facts = io::hf_vision_profile(tower("3584"), R"({"patch_size": 14, "merge_size": 2, "max_pixels": 12845056})", "q7.json",
                                     "p.json");
  REQUIRE(facts.has_value());
  REQUIRE(facts->has_value());
  CHECK((*facts)->output_width == 3584);
  CHECK((*facts)->embeds_per_item == 16'384);
}

TEST_CASE("vision towers: a key of the wrong type is named", "[hf][vision-tower]") {
  auto bad = io::hf_vision_params(R"({"model_type": "qwen2_5_vl", "vision_config": {"hidden_size": -1}})", "c.json");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message == "c.json: /vision_config/hidden_size: expected a positive integer up to 16777216, got -1");
  auto ratio = io::hf_vision_params(R"({"model_type": "internvl_chat", "downsample_ratio": 0.3, "llm_config": {"hidden_size": 8},
      "vision_config": {"hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "image_size": 28, "patch_size": 14,
      "norm_type": "layer_norm", "qkv_bias": true, "qk_normalization": false}})", "c.json");
  REQUIRE_FALSE(ratio.has_value());
  CHECK(ratio.error().message == "c.json: /downsample_ratio: expected 1/n (0.5), got 0.3");
  // Sizes past 2^24, or a ratio of almost nothing, are refused, not multiplied.
  auto huge = io::hf_vision_params(R"({"model_type": "qwen2_5_vl", "vision_config": {"hidden_size": 4294967296}})", "c.json");
  REQUIRE_FALSE(huge.has_value());
  CHECK(huge.error().message == "c.json: /vision_config/hidden_size: expected a positive integer up to 16777216, got 4294967296");
  auto tiny = io::hf_vision_params(R"({"model_type": "internvl_chat", "downsample_ratio": 1e-300, "llm_config": {"hidden_size": 8},
      "vision_config": {"hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "image_size": 28, "patch_size": 14,
      "norm_type": "layer_norm", "qkv_bias": true, "qk_normalization": false}})", "c.json");
  REQUIRE_FALSE(tiny.has_value());
  CHECK(tiny.error().message.starts_with("c.json: /downsample_ratio: expected 1/n (0.5), got 1e-300"));
}
