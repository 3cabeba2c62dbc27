// explain(): its parts add up to the estimate, and each part is the hand arithmetic.
#include "helpers.hpp"
#include "../support/engine_cases.hpp"
#include "vramcalc/explain.hpp"
#include "vramcalc/render.hpp"

using namespace vramcalc;
using vramcalc::test::catalog;
using vramcalc::test::model;
using vramcalc::test::settings_for;

namespace {

// Llama-3.1-8B bf16 at 8,192 tokens on one H100 under `engine`.
Settings on_h100(EngineKind engine, const std::string& quant = "bf16") {
  Settings s = settings_for(quant, Dtype::bf16, 8192);
  s.engine = engine;
  s.gpus.push_back(GpuRequest{vramcalc::test::catalog_gpu("h100"), 1});
  return s;
}

bool has(const std::string& text, const std::string& part) {
  INFO(text);
  return text.find(part) != std::string::npos;
}

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

// The engines' steps read their plans' figures: each line is the section's numbers, and the
// section's numbers are the hand arithmetic.
TEST_CASE("explain --engine vllm: the LoRA slots as elements x slots x bytes, the offload tiers and the host", "[explain]") {
  Settings s = on_h100(EngineKind::vllm);
  VllmOptions& o = s.engine_options.vllm;
  o.enable_lora = true;
  o.max_loras = 4;
  o.max_lora_rank = 16;
  o.cpu_offload_bytes = 4ull << 30;
  o.kv_offloading_bytes = 8ull << 30;
  s.host_mem_bytes = 64ull << 30;
  const Explanation e = explain(model("llama3.1-8b"), s, catalog().gpus).value();
  const auto& v = std::get<VllmSection>(e.report.engine->detail).plan;
  // One slot: rank 16 x (32 layers x 81,920 (q, k, v, o, gate, up, down: in + out) + embed_tokens
  // and lm_head 2 x (128,256 + 4,096)) = 16 x 2,886,144 = 46,178,304 elements (test_vllm_lora.cpp).
  CHECK(v.lora.slot_elems == 16ull * (32 * 81920 + 2 * (128256 + 4096)));
  CHECK(v.lora.slot_elems == 46'178'304ull);
  // x 4 slots x 2 bytes (bf16) = 369,426,432 bytes.
  CHECK(v.lora.slot_bytes == 46'178'304ull * 4 * 2);
  const std::string text = render_explain(e, RenderOptions{});
  CHECK(has(text, "46,178,304 elements \u00d7 4 slots \u00d7 2 B (lora_dtype) = 369,426,432 bytes"));
  // int(4 x 2^30) = 4,294,967,296; whole parameters until reached.
  CHECK(has(text, "--cpu-offload-gb 4 \u2192 int(4 \u00d7 2^30) = 4,294,967,296 bytes"));
  CHECK(v.cpu_offload.bytes >= 4'294'967'296ull);
  CHECK(has(text, with_commas(v.cpu_offload.bytes) + " bytes"));
  CHECK(has(text, "--kv-offloading-size 8 \u2192 int(8 \u00d7 2^30) = 8,589,934,592 bytes"));
  // Host: the offloaded parameters + the CPU KV tier.
  CHECK(e.report.engine->host_bytes == v.cpu_offload.bytes + 8'589'934'592ull);
  CHECK(has(text, "Host memory (system RAM): " + with_commas(e.report.engine->host_bytes) + " bytes"));
  CHECK(has(text, "--host-mem 68,719,476,736 bytes (64.00 GiB): fits"));
  // The generic steps are as without the engine.
  CHECK(tensor_sum(e) == e.report.memory.weights_bytes);
}

TEST_CASE("explain --engine sglang: the LoRA pool per slot", "[explain]") {
  Settings s = on_h100(EngineKind::sglang);
  s.engine_options.sglang.enable_lora = true;
  s.engine_options.sglang.max_lora_rank = 16;
  const Explanation e = explain(model("llama3.1-8b"), s, catalog().gpus).value();
  const SglangLora& l = std::get<SglangSection>(e.report.engine->detail).plan.lora;
  // A layer at rank 16, tp 1: qkv_proj 16 x (3 x 4,096 + 4,096 + 2 x 1,024) = 16 x 18,432, o_proj
  // 16 x 8,192, gate_up_proj 16 x (2 x 4,096 + 2 x 14,336) = 16 x 36,864, down_proj 16 x 18,432:
  // 16 x 81,920 = 1,310,720; x 32 layers = 41,943,040 elements a slot.
  CHECK(l.slot_elems == 32ull * 16 * (18432 + 8192 + 36864 + 18432));
  CHECK(l.slot_elems == 41'943'040ull);
  // x 8 slots (the default) x 2 bytes = 671,088,640 bytes (640 MiB).
  CHECK(l.bytes == 41'943'040ull * 8 * 2);
  CHECK(has(render_explain(e, RenderOptions{}), "41,943,040 \u00d7 8 slots \u00d7 2 B = 671,088,640 bytes (640.00 MiB)"));
}

TEST_CASE("explain --engine llamacpp: adapters, the projector and -nkvo from the plan", "[explain]") {
  Settings s = on_h100(EngineKind::llamacpp, "q4_k_m");
  LlamaCppOptions& o = s.engine_options.llamacpp;
  o.loras.assign(3, llamacpp_rank_lora(model("llama3.1-8b"), 16, Dtype::f32));
  o.n_gpu_layers = 20;
  o.no_kv_offload = true;
  const Explanation e = explain(model("llama3.1-8b"), s, catalog().gpus).value();
  REQUIRE(e.adapters.size() == 3);
  // 7 projections x 32 layers = 224 pairs; 32 x 5,242,880 = 167,772,160 bytes an adapter (test_llamacpp_lora.cpp).
  CHECK(e.adapters[0].pairs == 224);
  CHECK(e.adapters[0].bytes == 167'772'160ull);
  const LlamaCppResult& p = std::get<LlamaCppSection>(e.report.engine->detail).plan;
  // -ngl 20: the output layer and 19 repeating layers on the GPU, 13 on the CPU: 3 x 5,242,880 a layer.
  CHECK(p.gpus[0].lora_bytes == 19ull * 3 * 5'242'880);
  CHECK(p.host.lora_bytes == 13ull * 3 * 5'242'880);
  const std::string text = render_explain(e, RenderOptions{});
  CHECK(has(text, "3 \u00d7 rank 16: 224 pairs, 167,772,160 bytes each = 503,316,480 bytes"));
  CHECK(has(text, "h100-sxm 298,844,160 + system RAM 204,472,320 = 503,316,480 bytes"));
  // -nkvo: 32 layers x 8,192 cells x 2 x 1,024 x 2 B = 1 GiB on the CPU device.
  CHECK(p.host.kv_bytes == 32ull * 8192 * 2 * 1024 * 2);
  CHECK(has(text, "every layer's cache on the CPU device, 1,073,741,824 bytes (1.00 GiB)"));

  Settings m = on_h100(EngineKind::llamacpp, "q4_k_m");
  m.engine_options.llamacpp.mmproj_dtype = Dtype::bf16;
  const Explanation g = explain(model("gemma-3-27b"), m, catalog().gpus).value();
  // 423,060,336 parameters x 2 B = 846,120,672 bytes.
  CHECK(has(render_explain(g, RenderOptions{}),
            "--mmproj bf16: the vision tower's 423,060,336 parameters \u00d7 2 B = 846,120,672 bytes), one buffer (clip.cpp load_tensors) on the first GPU"));
}

TEST_CASE("explain --engine vllm: the encoder's profiling as budget, items and held outputs", "[explain]") {
  Settings s = on_h100(EngineKind::vllm);
  const Explanation e = explain(model("gemma-3-27b"), s, catalog().gpus).value();
  const VllmEncoder& enc = std::get<VllmSection>(e.report.engine->detail).plan.encoder;
  REQUIRE(enc.profiled);
  // t = 260; budget max(8,192, 260) = 8,192; items 8,192 / 260 = 31; 31 x 256 x 5,376 x 2 B.
  CHECK(enc.items == 31);
  CHECK(enc.held_bytes == 31ull * 256 * 5376 * 2);
  CHECK(has(render_explain(e, RenderOptions{}),
            "held outputs: 31 items \u00d7 256 rows \u00d7 5,376 (output width) \u00d7 2 B = 85,327,872 bytes"));
}
