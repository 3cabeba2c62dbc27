// Inverse answers are checked by the forward computation: the answer fits, one step more
// does not.
#include "helpers.hpp"
#include "vramcalc/plan.hpp"

using namespace vramcalc;
using vramcalc::test::catalog;
using vramcalc::test::model;

namespace {

Settings base(const std::string& gpu, std::uint32_t count, const std::string& quant, std::uint64_t ctx,
              std::uint64_t batch = 1) {
  Settings s;
  s.weights = parse_weight_format(quant, Dtype::bf16).value();
  s.kv_dtype = Dtype::bf16;
  s.context_tokens = ctx;
  s.batch = batch;
  s.gpus.push_back({**catalog().find_gpu(gpu), count});
  return s;
}

std::vector<WeightFormat> order() {
  std::vector<WeightFormat> out;
  for (std::string_view n : listed_weight_formats()) out.push_back(parse_weight_format(n, Dtype::bf16).value());
  return out;
}

} // namespace

TEST_CASE("max context: the answer fits, one more token does not") {
  const ModelSpec& m = model("llama3-70b");
  Settings s = base("rtx4090", 2, "q4_k_m", 8192);
  const auto c = max_context(m, s, catalog().gpus);
  REQUIRE(c.has_value());
  s.context_tokens = *c;
  CHECK(fits(m, s, catalog().gpus));
  s.context_tokens = *c + 1;
  CHECK_FALSE(fits(m, s, catalog().gpus));
}

TEST_CASE("max context aligned to vLLM blocks: the next block does not fit") {
  const ModelSpec& m = model("llama3.1-8b");
  Settings s = base("rtx4090", 1, "bf16", 8192);
  s.engine = EngineKind::vllm;
  const auto c = max_context(m, s, catalog().gpus, 16);
  REQUIRE(c.has_value());
  CHECK(*c % 16 == 0);
  s.context_tokens = *c;
  CHECK(fits(m, s, catalog().gpus));
  s.context_tokens = *c + 16;
  CHECK_FALSE(fits(m, s, catalog().gpus));
}

TEST_CASE("max context under llama.cpp: 256-aligned, the next 256 tokens do not fit") {
  const ModelSpec& m = model("llama3.1-8b");
  Settings s = base("rtx4090", 1, "q8_0", 8192);
  s.engine = EngineKind::llamacpp;
  s.kv_dtype = Dtype::f16;
  const auto c = max_context(m, s, catalog().gpus, 256);
  REQUIRE(c.has_value());
  CHECK(*c % 256 == 0);
  s.context_tokens = *c;
  CHECK(fits(m, s, catalog().gpus));
  s.context_tokens = *c + 256;
  CHECK_FALSE(fits(m, s, catalog().gpus));
}

TEST_CASE("max batch: the answer fits, one more sequence does not") {
  const ModelSpec& m = model("llama3.1-8b");
  Settings s = base("h100", 1, "fp8", 32768);
  const auto b = max_batch(m, s, catalog().gpus);
  REQUIRE(b.has_value());
  s.batch = *b;
  CHECK(fits(m, s, catalog().gpus));
  s.batch = *b + 1;
  CHECK_FALSE(fits(m, s, catalog().gpus));
}

TEST_CASE("best format: it fits, every better one does not") {
  const ModelSpec& m = model("llama3-70b");
  Settings s = base("h100", 1, "bf16", 8192);
  const auto formats = order();
  const auto f = best_format(m, s, catalog().gpus, formats);
  REQUIRE(f.has_value());
  s.weights = *f;
  CHECK(fits(m, s, catalog().gpus));
  for (const WeightFormat& better : formats) {
    if (better.id == f->id) break;
    s.weights = better;
    INFO(better.id);
    CHECK_FALSE(fits(m, s, catalog().gpus));
  }
}

TEST_CASE("what would fit names working alternatives") {
  const ModelSpec& m = model("llama3-70b");
  const Settings s = base("rtx4090", 2, "q4_k_m", 32768);
  const auto ideas = what_would_fit(m, s, catalog().gpus, order());
  REQUIRE_FALSE(ideas.empty());
  CHECK(ideas.front().starts_with("a context of at most"));
}

TEST_CASE("plan: fewest GPUs first, then least memory; every option fits") {
  Settings s = base("h100", 1, "bf16", 32768, 4);
  s.gpus.clear();
  const ModelSpec& m = model("llama3-70b");
  const std::vector<WeightFormat> formats{parse_weight_format("fp8", Dtype::bf16).value()};
  const auto options = plan(m, s, catalog().gpus, formats);
  REQUIRE(options.size() > 10);
  for (std::size_t i = 1; i < options.size(); ++i) {
    CHECK(options[i - 1].count <= options[i].count);
    if (options[i - 1].count == options[i].count) {
      CHECK(options[i - 1].gpu_usable_bytes <= options[i].gpu_usable_bytes);
    }
  }
  for (const PlanOption& o : options) CHECK(o.headroom_bytes >= 0);
}

TEST_CASE("KV policies cap the tokens kept") {
  const ModelSpec& m = model("llama3-70b");
  KvPolicy streaming;
  streaming.kind = KvPolicy::Kind::streaming;
  streaming.sinks = 4;
  streaming.window = 4096;
  // 327,680 bytes per token (fp16) x (4 + 4,096) tokens, whatever the context
  CHECK(kv_cache(m, Dtype::f16, 131072, 1, streaming).total_bytes == 327'680ull * 4100);
  CHECK(kv_cache(m, Dtype::f16, 1000, 1, streaming).total_bytes == 327'680ull * 1000);
  KvPolicy h2o;
  h2o.kind = KvPolicy::Kind::h2o;
  h2o.ratio_bp = 2000; // 20%: ceil(0.2 x 10,001) = 2,001 tokens
  CHECK(policy_tokens(h2o, 10001) == 2001);
  h2o.ratio_bp = 0;
  h2o.budget = 2048;
  CHECK(kv_cache(m, Dtype::f16, 131072, 2, h2o).total_bytes == 327'680ull * 2048 * 2);
}

TEST_CASE("speed bounds: decode from bandwidth, prefill from TFLOPS") {
  const ModelSpec& m = model("llama3.1-8b");
  Settings s = base("h100", 1, "bf16", 1, 1);
  const auto r = estimate(m, s, catalog().gpus).value();
  const FitRow& f = r.fit.front();
  // one step reads 16,060,522,496 bytes of weights + 131,072 of KV at 3,350 GB/s
  REQUIRE(f.decode_tokens_per_s.has_value());
  CHECK(*f.decode_tokens_per_s == Approx(3350e9 / (16'060'522'496.0 + 131'072.0)));
  // prefill of 1 token: 2 x 8,030,261,248 FLOPs + attention 2 x 4,096 x 1 x 1 x 32 layers, at 989 TFLOPS
  REQUIRE(f.prefill_seconds.has_value());
  CHECK(*f.prefill_seconds == Approx((2 * 8'030'261'248.0 + 2 * 4096.0 * 32) / 989e12));
}

TEST_CASE("GeForce cards get a prefill bound from their whitepaper TFLOPS (models/gpus.json)") {
  const ModelSpec& m = model("llama3.1-8b");
  // prefill of 1 token: 2 x 8,030,261,248 FLOPs + attention 2 x 4,096 x 1 x 1 x 32 layers, at the dense
  // BF16 rate with FP32 accumulate: RTX 3090 71 TFLOPS (GA102 whitepaper), RTX 5090 209.5 (RTX Blackwell)
  const double flops = 2 * 8'030'261'248.0 + 2 * 4096.0 * 32;
  for (const auto& [gpu, tflops] : {std::pair{"3090", 71e12}, std::pair{"5090", 209.5e12}}) {
    INFO(gpu);
    const auto r = estimate(m, base(gpu, 1, "bf16", 1, 1), catalog().gpus).value();
    REQUIRE(r.fit.front().prefill_seconds.has_value());
    CHECK(*r.fit.front().prefill_seconds == Approx(flops / tflops));
  }
}

TEST_CASE("engines load their own formats: vLLM no GGUF or EXL2, llama.cpp only GGUF (and its float types)") {
  const auto f = [](std::string_view n) { return parse_weight_format(n, Dtype::bf16).value(); };
  for (std::string_view n : {"bf16", "fp16", "fp32", "fp8", "fp8-block", "int8", "gptq-int4-g128", "awq", "w4a16-g128",
                             "nf4", "bnb-int8", "mxfp4", "nvfp4"}) {
    CHECK(engine_loads(EngineKind::vllm, f(n)));
  }
  for (std::string_view n : {"q8_0", "q4_k_m", "iq4_xs", "exl2-4.0"}) CHECK_FALSE(engine_loads(EngineKind::vllm, f(n)));
  for (std::string_view n : {"q8_0", "q4_k_m", "iq2_xs", "bf16", "fp16", "fp32"}) {
    CHECK(engine_loads(EngineKind::llamacpp, f(n)));
  }
  for (std::string_view n : {"fp8", "awq", "nf4", "nvfp4", "exl2-4.0"}) CHECK_FALSE(engine_loads(EngineKind::llamacpp, f(n)));
  for (std::string_view n : listed_weight_formats()) CHECK(engine_loads(EngineKind::generic, f(n)));
}

TEST_CASE("best format under vLLM: the best vLLM format that fits, never a GGUF mix") {
  // Llama 3.1 70B on one H100 at 8k: bf16, fp8 and int8 do not start; a 4-bit format does.
  const ModelSpec& m = model("llama3.1-70b");
  Settings s = base("h100", 1, "bf16", 8192);
  s.engine = EngineKind::vllm;
  std::vector<WeightFormat> loaded;
  for (const WeightFormat& f : order()) {
    if (engine_loads(EngineKind::vllm, f)) loaded.push_back(f);
  }
  const auto best = best_format(m, s, catalog().gpus, loaded);
  REQUIRE(best.has_value());
  CHECK(best->kind != FormatKind::gguf);
  CHECK((best->kind == FormatKind::nvfp4 || best->kind == FormatKind::int_group || best->kind == FormatKind::bnb4 ||
         best->kind == FormatKind::mxfp4));
  Settings chosen = s;
  chosen.weights = *best;
  CHECK(fits(m, chosen, catalog().gpus));
  // Every better vLLM format was tried and does not start.
  for (const WeightFormat& f : loaded) {
    if (f.id == best->id) break;
    Settings t = s;
    t.weights = f;
    CHECK_FALSE(fits(m, t, catalog().gpus));
  }
}
