// vLLM's speculative decoding (--speculative-config): the drafter's weights beside the
// target's, its attention layers in the one KV cache, the scheduler's lookahead slots
// (docs/engines.md, "Speculative decoding"), against the EAGLE start-up log.
#include "helpers.hpp"
#include "../support/engine_cases.hpp"
#include "vramcalc/engine.hpp"
#include "vramcalc/estimate.hpp"

#include <cmath>

using namespace vramcalc;
using vramcalc::test::catalog;
using vramcalc::test::model;

namespace {

WeightFormat fmt_of(const std::string& n) { return parse_weight_format(n, Dtype::bf16).value(); }

GpuSpec gpu_with(std::uint64_t bytes, const std::string& id = "custom") {
  GpuSpec g;
  g.id = id;
  g.memory_bytes = bytes;
  return g;
}

std::uint64_t gib_x100(std::uint64_t hundredths) { return hundredths * (1ull << 30) / 100; }

VllmOptions spec_config(const std::string& json, std::uint32_t minor = 10) {
  VllmOptions o;
  o.version_minor = minor;
  const auto e = parse_vllm_speculative_config(json, o.speculative);
  REQUIRE_FALSE(e);
  return o;
}

} // namespace

TEST_CASE("EAGLE on Llama-3.1-8B, H100: the log's 410,128 tokens from its 51.63 GiB") {
  // vllm-project/vllm#19996 (June 2025, V1): "Available KV cache memory: 51.63 GiB", "GPU KV
  // cache size: 410,128 tokens", "Maximum concurrency for 131,072 tokens per request: 3.13x"
  // (tests/data/measurements.md). The EAGLE head's layer has the target's KV shape (8 KV heads
  // x 128, bf16: 4,096 bytes a token) and joins its group: 33 layers x 16 tokens x 4,096 =
  // 2,162,688 bytes a block. 51.63 GiB = 55,437,290,373 bytes (the log's two decimals) ->
  // 25,633 blocks x 16 = 410,128 tokens; 25,633 / cdiv(131,072, 16) = 25,633 / 8,192 = 3.129.
  const VllmOptions o = spec_config(R"({"method": "eagle", "model": "yuhuili/EAGLE-LLaMA3.1-Instruct-8B",
                                        "num_speculative_tokens": 3})");
  const VllmResult v = vllm_blocks(model("llama3.1-8b"), Dtype::bf16, 131072, gib_x100(5163), Parallel{}, o,
                                   gpu_with(80ull << 30));
  CHECK(v.speculative.kv_layers == 1);
  CHECK(v.speculative.kv_bytes_per_token == 4'096);
  CHECK(v.group_size == 33);
  CHECK(v.num_gpu_blocks == 55'437'290'373ull / (33 * 65'536)); // 25,633
  CHECK(v.num_gpu_blocks == 25'633);
  CHECK(v.kv_cache_tokens == 410'128);
  CHECK(std::round(v.max_concurrency * 100) == 313);
  // The scheduler's 3 lookahead slots: a running request at 131,072 tokens may hold
  // cdiv(131,075, 16) = 8,193 blocks: 25,633 / 8,193 = 3.1286 requests.
  CHECK(v.speculative.lookahead_tokens == 3);
  CHECK(v.speculative.request_blocks_with_lookahead == 8'193);
  CHECK(v.speculative.runtime_concurrency == Approx(25633.0 / 8193.0));
  // Without the head the same memory holds 32 layers: 55,437,290,373 / 2,097,152 = 26,434 blocks.
  VllmOptions plain;
  plain.version_minor = 10;
  const VllmResult base = vllm_blocks(model("llama3.1-8b"), Dtype::bf16, 131072, gib_x100(5163), Parallel{}, plain,
                                      gpu_with(80ull << 30));
  CHECK(base.num_gpu_blocks == 26'434);
  CHECK(base.kv_cache_tokens == 422'944);
}

TEST_CASE("EAGLE-1 head weights, Llama-3.1-8B, bf16, tp 1 and tp 2") {
  // The decoder layer without its input norm: q 4,096 x 4,096, k and v 4,096 x 1,024 each,
  // o 4,096 x 4,096, gate, up and down 4,096 x 14,336 each, the post-attention norm 4,096:
  // 2 x 16,777,216 + 2 x 4,194,304 + 3 x 58,720,256 + 4,096 = 218,107,904 elements; fc
  // 8,192 x 4,096 = 33,554,432. Embedding and head are the target's. x 2 bytes.
  const VllmOptions o = spec_config(R"({"method":"eagle","num_speculative_tokens":3})");
  const ModelSpec& m = model("llama3.1-8b");
  const VllmSpecDecode one = vllm_spec_decode(m, fmt_of("bf16"), Dtype::bf16, Parallel{}, 0, o, nullptr, gpu_with(80ull << 30));
  CHECK(2 * 16'777'216ull + 2 * 4'194'304ull + 3 * 58'720'256ull + 4'096 == 218'107'904ull);
  CHECK(one.weights_bytes == (218'107'904ull + 33'554'432ull) * 2); // 503,324,672 = 480.01 MiB
  CHECK(one.derived_head);
  // tp 2: the layer's linear layers halve (8 KV heads -> 4 per GPU), its norm and fc stay whole:
  // (218,103,808 / 2 + 4,096 + 33,554,432) x 2.
  const VllmSpecDecode two = vllm_spec_decode(m, fmt_of("bf16"), Dtype::bf16, Parallel{2, 1, false}, 0, o, nullptr,
                                              gpu_with(80ull << 30));
  CHECK(two.weights_bytes == (218'103'808ull / 2 + 4'096 + 33'554'432ull) * 2);
  CHECK(two.kv_bytes_per_token == 2'048);
}

TEST_CASE("EAGLE-3 head weights, Llama-3.1-8B, bf16: its own head of 32,000 draft tokens") {
  // qkv_proj reads 2h: q 8,192 x 4,096, k and v 8,192 x 1,024; o 4,096 x 4,096; the MLP
  // 3 x 58,720,256; input and post-attention norms 2 x 4,096:
  // 33,554,432 + 2 x 8,388,608 + 16,777,216 + 176,160,768 + 8,192 = 243,269,632 + 8,192;
  // hidden_norm and the final norm 2 x 4,096; fc 12,288 x 4,096 = 50,331,648; lm_head 32,000 x
  // 4,096 = 131,072,000 (32,000 is a multiple of 64); x 2 bytes; d2t 32,000 x 8 bytes.
  const VllmOptions o = spec_config(R"({"method":"eagle3","model":"yuhuili/EAGLE3-LLaMA3.1-Instruct-8B",
                                        "num_speculative_tokens":5})");
  const VllmSpecDecode sd = vllm_spec_decode(model("llama3.1-8b"), fmt_of("bf16"), Dtype::bf16, Parallel{}, 0, o,
                                             nullptr, gpu_with(80ull << 30));
  CHECK(33'554'432ull + 2 * 8'388'608ull + 16'777'216ull + 176'160'768ull == 243'269'632ull);
  const std::uint64_t elements = 243'269'632ull + 8'192 + 8'192 + 50'331'648ull + 131'072'000ull;
  CHECK(elements == 424'689'664ull);
  CHECK(sd.weights_bytes == elements * 2 + 32'000 * 8);
  CHECK(sd.weights_bytes == 849'635'328ull); // 810.28 MiB
  CHECK(sd.kv_layers == 1);
  CHECK(sd.lookahead_tokens == 5);
}

TEST_CASE("DeepSeek-R1 MTP: the checkpoint's block loaded, its latent KV in the cache") {
  // 1 MTP block (num_nextn_predict_layers): bf16 at tp 1 its weights are the block's parameters
  // less its embedding copy (the target's is shared): 13,463,426,304 - 129,280 x 7,168 =
  // 13,463,426,304 - 926,679,040 = 12,536,747,264 elements x 2 bytes.
  const ModelSpec& m = model("deepseek-r1");
  const VllmOptions o = spec_config(R"({"method":"deepseek_mtp"})");
  const VllmSpecDecode sd = vllm_spec_decode(m, fmt_of("bf16"), Dtype::bf16, Parallel{}, 0, o, nullptr, gpu_with(1ull << 40));
  CHECK(count_params(m).mtp == 13'463'426'304ull);
  CHECK(sd.weights_bytes == (13'463'426'304ull - 926'679'040ull) * 2);
  // num_speculative_tokens defaults to the checkpoint's MTP layers; the block's MLA latent
  // (512 + 64) x 2 bytes = 1,152 a token is one more layer of the target's group.
  CHECK(sd.num_speculative_tokens == 1);
  CHECK(sd.kv_layers == 1);
  CHECK(sd.kv_bytes_per_token == 1'152);
  // fp8: the block's linear layers in fp8 as the target's, eh_proj (an nn.Linear) in bf16.
  const VllmSpecDecode fp8 = vllm_spec_decode(m, fmt_of("fp8-block"), Dtype::bf16, Parallel{8, 1, false}, 0, o, nullptr,
                                              gpu_with(1ull << 40));
  CHECK(fp8.weights_bytes < sd.weights_bytes / 8);
  CHECK(fp8.weights_bytes > 2ull * 7168 * 7168 * 2);
}

TEST_CASE("ngram drafts on the CPU: nothing on the GPU, no lookahead") {
  const VllmOptions o = spec_config(R"({"method":"ngram","num_speculative_tokens":4,"prompt_lookup_max":4})");
  CHECK(o.speculative.ignored == std::vector<std::string>{"prompt_lookup_max"});
  VllmOptions plain;
  plain.version_minor = 10;
  const ModelSpec& m = model("llama3.1-8b");
  const VllmResult a = vllm_plan(m, fmt_of("bf16"), Dtype::bf16, 32768, gpu_with(80ull << 30, "h100-sxm"), Parallel{}, o);
  const VllmResult b = vllm_plan(m, fmt_of("bf16"), Dtype::bf16, 32768, gpu_with(80ull << 30, "h100-sxm"), Parallel{}, plain);
  CHECK(a.speculative.weights_bytes == 0);
  CHECK(a.speculative.kv_layers == 0);
  CHECK(a.speculative.lookahead_tokens == 0);
  CHECK(a.kv_cache_memory_bytes == b.kv_cache_memory_bytes);
  CHECK(a.num_gpu_blocks == b.num_gpu_blocks);
}

TEST_CASE("draft_model: the draft's weights as vLLM loads it alone, its layers in the cache") {
  // Llama-3.2-1B drafting for Llama-3.1-70B at tp 2 (draft tp = the target's): its weights
  // are what vLLM's loading of the 1B alone at tp 2 puts on a GPU.
  const ModelSpec& target = model("llama3.1-70b");
  const DraftModel draft{model("llama3.2-1b"), fmt_of("bf16"), "llama3.2-1b"};
  const VllmOptions o = spec_config(R"({"method":"draft_model","model":"llama3.2-1b","num_speculative_tokens":4})", 21);
  const GpuSpec h100 = gpu_with(80ull << 30, "h100-sxm");
  const VllmResult r = vllm_plan(target, fmt_of("bf16"), Dtype::bf16, 32768, h100, Parallel{2, 1, false}, o, &draft);
  VllmOptions alone_o;
  const VllmResult alone = vllm_plan(draft.spec, draft.format, Dtype::bf16, 32768, h100, Parallel{2, 1, false}, alone_o);
  CHECK(r.speculative.weights_bytes == alone.weights_bytes);
  // 16 layers of 8 KV heads x 64, at tp 2 4 heads: 4 x 64 x 2 x 2 = 1,024 bytes a token each
  CHECK(r.speculative.kv_layers == 16);
  CHECK(r.speculative.kv_bytes_per_token == 16 * 1'024);
  // The 70B's pages (4 x 128 x 2 x 2 = 2,048 bytes a token, 32,768 a block) set the page; the
  // draft's layers hold 32 tokens a block. 80 + 16 layers: groups of 16 (2 x 80 >= 3 x 16).
  CHECK(r.page_bytes == 32'768);
  CHECK(r.widest_block_size == 32);
  CHECK(r.group_size == 16);
  CHECK(r.num_groups == 6);
  // draft_tensor_parallel_size 1: the whole draft on every GPU, its 8 KV heads unsplit
  // (8 x 64 x 2 x 2 = 2,048 bytes a token a layer).
  const VllmOptions one = spec_config(
      R"({"method":"draft_model","model":"llama3.2-1b","num_speculative_tokens":4,"draft_tensor_parallel_size":1})", 21);
  const VllmResult whole = vllm_plan(target, fmt_of("bf16"), Dtype::bf16, 32768, h100, Parallel{2, 1, false}, one, &draft);
  const VllmResult alone1 = vllm_plan(draft.spec, draft.format, Dtype::bf16, 32768, h100, Parallel{}, alone_o);
  CHECK(whole.speculative.draft_tp == 1);
  CHECK(whole.speculative.weights_bytes == alone1.weights_bytes);
  CHECK(whole.speculative.kv_bytes_per_token == 16 * 2'048);
  // Without the draft the budget is larger by exactly the draft's weights.
  VllmOptions none;
  const VllmResult base = vllm_plan(target, fmt_of("bf16"), Dtype::bf16, 32768, h100, Parallel{2, 1, false}, none);
  CHECK(base.kv_budget_bytes - r.kv_budget_bytes == static_cast<std::int64_t>(r.speculative.weights_bytes));
}

TEST_CASE("the speculative config: what it refuses, in words") {
  VllmSpeculative s;
  const auto message = [&](const char* text) {
    const auto e = parse_vllm_speculative_config(text, s);
    return e ? e->message : std::string();
  };
  CHECK(message("eagle") == "expected a JSON object like '{\"method\": \"eagle\", \"num_speculative_tokens\": 3}'");
  CHECK(message(R"({"method":"medusa","num_speculative_tokens":2})").starts_with("\"method\": 'medusa' is not a method"));
  CHECK(message(R"({"method":"eagle"})") == "\"num_speculative_tokens\" is required for method eagle");
  CHECK(message(R"({"method":"draft_model","num_speculative_tokens":2})") ==
        "method draft_model needs a \"model\" (the draft model)");
  CHECK(message(R"({"method":"eagle","num_speculative_tokens":-1})").starts_with("\"num_speculative_tokens\": "));
  CHECK(message(R"({"method":"eagle","num_speculative_tokens":3)") == "expected ',' or '}' at character 45");
  CHECK(message(R"({"method":"eagle","num_speculative_tokens":3} x)") == "text after the JSON object");
  // The method from the model's name when none is given (as vLLM detects it).
  CHECK(message(R"({"model":"yuhuili/EAGLE3-LLaMA3.1-Instruct-8B","num_speculative_tokens":3})").empty());
  CHECK(s.method == VllmSpecMethod::eagle3);
  // Nested values are skipped and named as not modelled.
  CHECK(message(R"({"method":"mtp","hf_overrides":{"a":[1,{"b":"}"}]},"num_speculative_tokens":2})").empty());
  CHECK(s.method == VllmSpecMethod::mtp);
  CHECK(s.num_speculative_tokens == 2);
  CHECK(s.ignored == std::vector<std::string>{"hf_overrides"});
}

TEST_CASE("speculative decoding over the catalog: never more KV memory, never fewer weights") {
  // Every model of the catalog on a GPU large enough for any: with an EAGLE head (and MTP where
  // the checkpoint has blocks) the KV budget never grows and the weights never shrink; a
  // one-group cache holds no more; without --speculative-config the plan is the plain one.
  const GpuSpec big = gpu_with(4ull << 40, "h200");
  for (const ModelSpec& m : catalog().models) {
    INFO(m.id);
    const WeightFormat f = fmt_of("bf16");
    VllmOptions plain;
    const VllmResult base = vllm_plan(m, f, Dtype::bf16, 8192, big, Parallel{}, plain);
    CHECK_FALSE(base.speculative.active());
    std::vector<std::string> configs = {R"({"method":"eagle","num_speculative_tokens":3})",
                                        R"({"method":"ngram","num_speculative_tokens":3})"};
    if (m.mtp_layers > 0) configs.push_back(R"({"method":"mtp"})");
    for (const std::string& c : configs) {
      INFO(c);
      const VllmResult r = vllm_plan(m, f, Dtype::bf16, 8192, big, Parallel{}, spec_config(c, 21));
      CHECK(r.requested_bytes == base.requested_bytes);
      CHECK(r.weights_bytes == base.weights_bytes);
      CHECK(r.weights_bytes + r.speculative.weights_bytes >= base.weights_bytes);
      CHECK(r.kv_cache_memory_bytes <= base.kv_cache_memory_bytes);
      // Blocks and one request's KV compare only within one group: a layer more regroups a
      // hybrid model's layers (kv_cache_utils._get_kv_cache_groups_uniform_page_size), which
      // can change the padding of its groups either way, as it does in vLLM.
      if (r.num_groups == 1 && base.num_groups == 1) {
        CHECK(r.num_gpu_blocks * r.group_size <= base.num_gpu_blocks * base.group_size + r.group_size);
        CHECK(r.needed_bytes >= base.needed_bytes);
        CHECK(r.speculative.runtime_concurrency <= base.max_concurrency);
      }
      if (c.find("ngram") == std::string::npos) CHECK(r.speculative.weights_bytes > 0);
    }
  }
}

TEST_CASE("a draft model in the generic estimate: whole in the total, its shard on every GPU") {
  // Llama-3.1-70B bf16 on 2 x H100 (tp 2) with Llama-3.2-1B bf16 as draft, 32,768 tokens x 1.
  // The draft's KV cache: 16 layers x 2 x 8 KV heads x 64 x 2 bytes = 32,768 bytes a token,
  // x 32,768 tokens = 1,073,741,824.
  Settings s;
  s.weights = fmt_of("bf16");
  s.context_tokens = 32768;
  s.gpus.push_back(GpuRequest{vramcalc::test::catalog_gpu("h100-sxm"), 2});
  s.parallel = Parallel{2, 1, false};
  const auto plain = estimate(model("llama3.1-70b"), s, catalog().gpus);
  s.draft = std::make_shared<const DraftModel>(DraftModel{model("llama3.2-1b"), fmt_of("bf16"), "llama3.2-1b"});
  const auto with = estimate(model("llama3.1-70b"), s, catalog().gpus);
  REQUIRE(plain.has_value());
  REQUIRE(with.has_value());
  REQUIRE(with->memory.draft.has_value());
  const auto draft_weights = PreparedWeights::make(model("llama3.2-1b"), fmt_of("bf16"));
  CHECK(with->memory.draft->weights_bytes == draft_weights->weights().total);
  CHECK(with->memory.draft->kv_cache_bytes == 16ull * 2 * 8 * 64 * 2 * 32'768);
  CHECK(with->memory.total_bytes ==
        plain->memory.total_bytes + with->memory.draft->weights_bytes + with->memory.draft->kv_cache_bytes);
  // Each GPU holds the draft's shard at tp 2, beside the target's.
  const RankMemory shard = busiest_rank(model("llama3.2-1b"), fmt_of("bf16"), Dtype::bf16, 32768, 1, Parallel{2, 1, false});
  CHECK(with->fit.front().required_bytes_per_gpu == plain->fit.front().required_bytes_per_gpu + shard.total());
  CHECK_FALSE(plain->memory.draft.has_value());
}

TEST_CASE("a draft model in the generic estimate over the catalog: the total and every GPU's need never fall") {
  const auto draft = std::make_shared<const DraftModel>(DraftModel{model("llama3.2-1b"), fmt_of("bf16"), "llama3.2-1b"});
  for (const ModelSpec& m : catalog().models) {
    INFO(m.id);
    Settings s;
    s.weights = fmt_of("bf16");
    s.context_tokens = 8192;
    s.batch = 2;
    s.kv_dtype = Dtype::bf16;
    s.gpus.push_back(GpuRequest{vramcalc::test::catalog_gpu("h200"), 0});
    const auto plain = estimate(m, s, catalog().gpus);
    s.draft = draft;
    const auto with = estimate(m, s, catalog().gpus);
    REQUIRE(plain.has_value());
    REQUIRE(with.has_value());
    CHECK(with->memory.total_bytes > plain->memory.total_bytes);
    CHECK(with->fit.front().required_bytes_per_gpu >= plain->fit.front().required_bytes_per_gpu);
    CHECK(with->fit.front().min_count >= plain->fit.front().min_count);
  }
}
