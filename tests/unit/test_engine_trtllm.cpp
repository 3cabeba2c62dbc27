// TensorRT-LLM's KV budget, bytes per token and blocks, with the arithmetic written out, and
// against public start-up logs (tests/data/trtllm/logs.md lists each line with its source).
#include "helpers.hpp"
#include "../support/engine_cases.hpp"
#include "vramcalc/engine.hpp"
#include "vramcalc/estimate.hpp"
#include "vramcalc/report.hpp"

#include <cmath>

using namespace vramcalc;
using vramcalc::test::catalog;
using vramcalc::test::catalog_gpu;
using vramcalc::test::format_of;
using vramcalc::test::gpu_of_bytes;
using vramcalc::test::model;

namespace {

constexpr std::uint64_t gib = 1ull << 30;
constexpr double gib_d = 1073741824.0;

// Applies an engine option by its flag, as the command line and deployment files do.
std::optional<Error> apply_option(Settings& s, std::string_view flag, std::string_view text) {
  return vramcalc::test::apply_option(EngineKind::trtllm, s, flag, text);
}

Settings trtllm_settings(const std::string& quant, Dtype kv, std::uint64_t ctx, std::uint64_t batch, const std::string& gpu_id) {
  Settings s = vramcalc::test::settings_for(quant, kv, ctx, batch);
  s.engine = EngineKind::trtllm;
  s.gpus.push_back(GpuRequest{catalog_gpu(gpu_id), 1});
  return s;
}

// The log's two-decimal GiB figure as bytes (its middle).
std::uint64_t gib_bytes(double g) { return static_cast<std::uint64_t>(std::llround(g * gib_d)); }

} // namespace

TEST_CASE("TensorRT-LLM: KV bytes per token per GPU, allocated and estimated (GQA, MLA, fp8, nvfp4)", "[trtllm]") {
  const ModelSpec& llama = model("llama3.1-8b"); // 32 layers, 8 KV heads of 128
  // Allocated (get_cache_bytes_per_token): 2 (K, V) x 32 layers x 8 heads x 128 x 2 bytes = 131,072.
  CHECK(trtllm_bytes_per_token(llama, Dtype::bf16, 32, 1, false) == 131072);
  // fp8: one byte an element, 65,536 (the L2 log's pool: 860,320 tokens x 65,536 = 52.51 GiB).
  CHECK(trtllm_bytes_per_token(llama, Dtype::f8_e4m3, 32, 1, false) == 65536);
  // nvfp4: 65,536 elements / 2 + one FP8 scale per 16 (4,096) = 36,864.
  CHECK(trtllm_bytes_per_token(llama, Dtype::nvfp4, 32, 1, false) == 36864);
  // The estimate (get_cache_size_per_token) counts nvfp4 as 2 bytes in 1.1, 36,864 in the newest.
  CHECK(trtllm_estimate_bytes_per_token(llama, Dtype::nvfp4, 32, 1, false, TrtllmRelease::v1_1) == 131072);
  CHECK(trtllm_estimate_bytes_per_token(llama, Dtype::nvfp4, 32, 1, false, TrtllmRelease::newest) == 36864);
  CHECK(trtllm_estimate_bytes_per_token(llama, Dtype::f8_e4m3, 32, 1, false, TrtllmRelease::v1_1) == 65536);
  // tp 2: 4 heads a GPU, 65,536 bf16. tp 16: the pool keeps ceil(8 / 16) = 1 head (2 x 32 x 1 x
  // 128 x 2 = 16,384); the estimate 128 x 8 // 16 = 64 elements a layer (2 x 32 x 64 x 2 = 8,192).
  CHECK(trtllm_bytes_per_token(llama, Dtype::bf16, 32, 2, false) == 65536);
  CHECK(trtllm_bytes_per_token(llama, Dtype::bf16, 32, 16, false) == 16384);
  CHECK(trtllm_estimate_bytes_per_token(llama, Dtype::bf16, 32, 16, false, TrtllmRelease::v1_1) == 8192);
  // Attention DP at tp 8: every GPU keeps all 8 heads.
  CHECK(trtllm_bytes_per_token(llama, Dtype::bf16, 32, 8, true) == 131072);
  // MLA (DeepSeek-V3, 61 layers): one latent of 512 + 64 = 576, K only, on every GPU: fp8 61 x
  // 576 = 35,136 (the "kv size is 35136" of the repository's own log-parser fixture), bf16 70,272.
  const ModelSpec& ds = model("deepseek-v3");
  CHECK(trtllm_bytes_per_token(ds, Dtype::f8_e4m3, 61, 8, false) == 35136);
  CHECK(trtllm_estimate_bytes_per_token(ds, Dtype::f8_e4m3, 61, 8, false, TrtllmRelease::v1_1) == 35136);
  CHECK(trtllm_bytes_per_token(ds, Dtype::bf16, 61, 1, false) == 70272);
  // Through the plan, which counts the layers: gpt-oss-120b's 36 layers (sliding ones too, at full
  // length: no max_attention_window) x 2 x 8 heads x 64 x 2 = 73,728 = L1's "kv size is 73728";
  // SmolLM2-135M 30 x 2 x 3 x 64 x 2 = 23,040 (L4); TinyLlama 22 x 2 x 4 x 64 x 2 = 22,528 (L3).
  CHECK(trtllm_plan(model("gpt-oss-120b"), format_of("mxfp4"), Dtype::bf16, 0, catalog_gpu("h200"), Parallel{}, {}).bytes_per_token == 73728);
  CHECK(trtllm_plan(model("smollm2-135m"), format_of("bf16"), Dtype::bf16, 0, catalog_gpu("l4"), Parallel{}, {}).bytes_per_token == 23040);
  CHECK(trtllm_plan(model("tinyllama-1.1b"), format_of("bf16"), Dtype::bf16, 0, catalog_gpu("l4"), Parallel{}, {}).bytes_per_token == 22528);
  // Pipeline parallel 2: the 16 layers of a stage, 65,536.
  CHECK(trtllm_plan(llama, format_of("bf16"), Dtype::bf16, 0, catalog_gpu("h100"), Parallel{1, 2, false}, {}).bytes_per_token == 65536);
}

TEST_CASE("TensorRT-LLM: the fraction as a float32, and the CUDA-graph batch sizes", "[trtllm]") {
  // 0.9 as a float32 is 15,099,494 / 2^24 = 0.89999997615...: of 10 GiB, 10 x 2^30 x 15,099,494
  // / 2^24 = 9,663,676,160, 256 bytes under 0.9 x 10 GiB. 0.8 -> 13,421,773 / 2^24, 128 over.
  CHECK(trtllm_fraction_of(10 * gib, 900000) == 9663676160ull);
  CHECK(trtllm_fraction_of(10 * gib, 800000) == 8589934720ull);
  CHECK(trtllm_fraction_of(0, 900000) == 0);

  // Default: 1-31, 32, 64, 128 (34 graphs).
  TrtllmOptions o;
  const auto d = trtllm_cuda_graph_batch_sizes(o);
  CHECK(d.size() == 34);
  CHECK(d.back() == 128);
  // Padding: 1, 2, 4, 8, 16, ..., 128 (19); at max_batch_size 64 the 11 of L1's "Creating CUDA
  // graph instances for 11 batch sizes".
  o.cuda_graph_padding = true;
  CHECK(trtllm_cuda_graph_batch_sizes(o).size() == 19);
  o.max_batch_size = 64;
  CHECK(trtllm_cuda_graph_batch_sizes(o) == std::vector<std::uint64_t>{1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64});
  // Padding up to 4096 (L2, trtllm-bench): 19 + 256, 512, 1024, 2048 + 4096 = 24.
  o.max_batch_size = 4096;
  o.cuda_graph_max_batch_size = 4096;
  CHECK(trtllm_cuda_graph_batch_sizes(o).size() == 24);
  // No padding, max 300: ..., 128, 256, 300.
  TrtllmOptions n;
  n.cuda_graph_max_batch_size = 300;
  const auto s = trtllm_cuda_graph_batch_sizes(n);
  CHECK(s.size() == 36);
  CHECK(s[s.size() - 2] == 256);
  CHECK(s.back() == 300);
  n.cuda_graphs = false;
  CHECK(trtllm_cuda_graph_batch_sizes(n).empty());
}

TEST_CASE("TensorRT-LLM: the budget, max_tokens and blocks (exact bytes)", "[trtllm]") {
  const ModelSpec& m = model("llama3.1-8b");
  TrtllmOptions o;
  o.activation_bytes = gib;
  o.non_torch_bytes = 2 * gib;
  const TrtllmResult r = trtllm_plan(m, format_of("bf16"), Dtype::bf16, 0, catalog_gpu("h100"), Parallel{}, o);
  REQUIRE(r.error.empty());
  CHECK(r.device_total_bytes == 85018542080ull); // the H100's measured CUDA total
  CHECK(r.weights_bytes == 16060522496ull);      // 8,030,261,248 params x 2
  // The profiling cache: one request of min(8192, 131071) = 8192 tokens + 2 (generated, overlap
  // scheduler) = 8194 -> 257 blocks -> 8,224 tokens x 131,072 = 1,077,936,128 bytes.
  CHECK(r.estimation_requests == 1);
  CHECK(r.estimation_tokens == 8224);
  CHECK(r.estimation_kv_bytes == 1077936128ull);
  // peak = weights + that cache + 1 GiB + 2 GiB; the budget adds the cache back:
  // (85,018,542,080 - 16,060,522,496 - 1,073,741,824 - 2,147,483,648) = 65,736,794,112 x
  // 15,099,494 / 2^24 = 59,163,113,133 (0.9 x would be 59,163,114,700).
  CHECK(r.peak_bytes == 16060522496ull + 1077936128ull + 3 * gib);
  CHECK(r.kv_budget_bytes == 59163113133ull);
  // max_tokens = 59,163,113,133 // 131,072 = 451,378; the free memory at allocation, 0.9 x
  // (total - weights - 2 GiB) / 131,072 = 458,751, does not bind. 1.1: ceil(451,378 / 32) =
  // 14,106 blocks = 451,392 tokens; newest: 14,105 = 451,360.
  CHECK(r.max_tokens == 451378);
  CHECK(r.free_cap_tokens == 458751);
  CHECK(r.blocks == 14106);
  CHECK(r.kv_tokens == 451392);
  CHECK(r.kv_cache_bytes == 451392ull * 131072);
  TrtllmOptions newest = o;
  newest.release = TrtllmRelease::newest;
  CHECK(trtllm_plan(m, format_of("bf16"), Dtype::bf16, 0, catalog_gpu("h100"), Parallel{}, newest).kv_tokens == 451360);
  // The pool holds 451,392 >= 131,072: max_seq_len stays; it starts.
  CHECK(r.max_seq_len == 131072);
  CHECK(r.max_seq_len_final == 131072);
  CHECK_FALSE(r.max_seq_len_reduced);
  CHECK(r.starts);
  // kv_cache_config.max_tokens 100,000 caps it: ceil(100,000 / 32) = 3,125 blocks = 100,000.
  TrtllmOptions capped = o;
  capped.max_tokens = 100000;
  const TrtllmResult c = trtllm_plan(m, format_of("bf16"), Dtype::bf16, 0, catalog_gpu("h100"), Parallel{}, capped);
  CHECK(c.max_tokens == 100000);
  CHECK(c.kv_tokens == 100000);
  // ... and max_seq_len is cut to the pool: "Adjusted max_seq_len to 100000".
  CHECK(c.max_seq_len_final == 100000);
  CHECK(c.max_seq_len_reduced);
  // Without chunked prefill a prompt fits one forward pass (8,192 tokens), with it max_seq_len.
  CHECK(r.longest_prompt_tokens == 8192);
  TrtllmOptions chunked = o;
  chunked.enable_chunked_prefill = true;
  CHECK(trtllm_plan(m, format_of("bf16"), Dtype::bf16, 0, catalog_gpu("h100"), Parallel{}, chunked).longest_prompt_tokens == 131072);
  // max_seq_len 4096 with 2048 requests at most: max_num_tokens stays 8192 (< 4096 x 2048); the
  // dummy prompts are 4095 tokens: 2 of 4095 + one of 2, (4097 -> 129 blocks) x 2 + (4 -> 1) =
  // 259 blocks = 8,288 tokens.
  const TrtllmResult s = trtllm_plan(m, format_of("bf16"), Dtype::bf16, 4096, catalog_gpu("h100"), Parallel{}, o);
  CHECK(s.estimation_requests == 3);
  CHECK(s.estimation_tokens == 8288);
  // max_batch_size 1 and max_seq_len 4096: max_num_tokens clamped to 4096.
  TrtllmOptions one = o;
  one.max_batch_size = 1;
  CHECK(trtllm_plan(m, format_of("bf16"), Dtype::bf16, 4096, catalog_gpu("h100"), Parallel{}, one).max_num_tokens == 4096);
}

TEST_CASE("TensorRT-LLM: nvfp4 KV under 1.1 fills 28% of its budget (the estimate's 2 bytes)", "[trtllm]") {
  const ModelSpec& m = model("llama3.1-8b");
  TrtllmOptions o;
  o.activation_bytes = gib;
  o.non_torch_bytes = 2 * gib;
  // The same budget (the profiling cache is added back): 59,163,113,133 bytes // 131,072 (nvfp4
  // counted as 2 bytes) = 451,378 tokens in 1.1 -> 451,392 x 36,864 bytes: 16.6 GB of a 59.2 GB
  // budget. The newest sources divide by 36,864: 1,604,902 tokens -> 50,153 blocks (floor) =
  // 1,604,896.
  const TrtllmResult old = trtllm_plan(m, format_of("bf16"), Dtype::nvfp4, 0, catalog_gpu("h100"), Parallel{}, o);
  CHECK(old.kv_budget_bytes == 59163113133ull);
  CHECK(old.estimate_bytes_per_token == 131072);
  CHECK(old.bytes_per_token == 36864);
  CHECK(old.kv_tokens == 451392);
  TrtllmOptions n = o;
  n.release = TrtllmRelease::newest;
  const TrtllmResult now = trtllm_plan(m, format_of("bf16"), Dtype::nvfp4, 0, catalog_gpu("h100"), Parallel{}, n);
  CHECK(now.max_tokens == 1604902);
  CHECK(now.kv_tokens == 1604896);
}

TEST_CASE("TensorRT-LLM: does not start, refuses what it does not model", "[trtllm]") {
  // Llama-3-70B in bf16 on one H100: 141 GB of weights on a 79.2 GiB device.
  const TrtllmResult r = trtllm_plan(model("llama3-70b"), format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("h100"), Parallel{}, {});
  REQUIRE(r.error.empty());
  CHECK_FALSE(r.starts);
  CHECK(r.kv_budget_bytes == 0);
  CHECK(r.kv_tokens == 0);
  // At tp 4 it starts.
  CHECK(trtllm_plan(model("llama3-70b"), format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("h100"), Parallel{4, 1, false}, {}).starts);
  // Recurrent layers (MambaHybridCacheManager), a KV dtype it does not allocate, a fraction of 1.
  CHECK_FALSE(trtllm_plan(model("qwen3-next-80b-a3b"), format_of("bf16"), Dtype::bf16, 0, catalog_gpu("h200"), Parallel{}, {}).error.empty());
  CHECK(trtllm_plan(model("kimi-linear-48b-a3b"), format_of("bf16"), Dtype::bf16, 0, catalog_gpu("h200"), Parallel{}, {})
            .error.starts_with("TensorRT-LLM keeps the state of recurrent layers in its MambaHybridCacheManager"));
  CHECK_FALSE(trtllm_plan(model("llama3.1-8b"), format_of("bf16"), Dtype::q8_0, 0, catalog_gpu("h100"), Parallel{}, {}).error.empty());
  // Llama-3.1-8B's 8 heads of 128 at tp 2048: 1,024 // 2,048 = 0 bytes estimated.
  CHECK_FALSE(trtllm_plan(model("llama3.1-8b"), format_of("bf16"), Dtype::bf16, 0, catalog_gpu("h100"), Parallel{2048, 1, false}, {}).error.empty());
  TrtllmOptions whole;
  whole.free_gpu_memory_fraction_ppm = 1'000'000;
  CHECK_FALSE(trtllm_plan(model("llama3.1-8b"), format_of("bf16"), Dtype::bf16, 0, catalog_gpu("h100"), Parallel{}, whole).error.empty());
}

TEST_CASE("TensorRT-LLM: L1, gpt-oss-120b on a DGX Spark, 1.1.0rc3 (logs.md)", "[trtllm]") {
  // The log's own figures in the budget formula: (119.70 - 113.65 + 0.56) GiB x 0.9 = 5.949 GiB
  // ("available KV cache memory ... 5.95 GiB"), each figure +/- 0.005 GiB.
  const std::uint64_t budget = trtllm_fraction_of(gib_bytes(119.70) - gib_bytes(113.65) + gib_bytes(0.56), 900000);
  CHECK(std::abs(static_cast<double>(budget) / gib_d - 5.95) < 0.015);
  // 5.95 GiB // 73,728 is 86,580 to 86,726 tokens over the printed rounding: the log's 86,711.
  CHECK(gib_bytes(5.945) / 73728 <= 86711);
  CHECK(gib_bytes(5.955) / 73728 >= 86711);
  // The pool from max_tokens 86,711: ceil(86,711 / 32) = 2,710 blocks = 86,720 tokens x 73,728 =
  // 5.95 GiB, "Adjusted max_seq_len to 86720".
  const GpuSpec spark = gpu_of_bytes(gib_bytes(119.70));
  TrtllmOptions o;
  o.max_batch_size = 64;
  o.cuda_graph_padding = true;
  o.disable_overlap_scheduler = true;
  o.free_gpu_memory_fraction_ppm = 900000;
  TrtllmOptions capped = o;
  capped.max_tokens = 86711;
  const TrtllmResult c = trtllm_plan(model("gpt-oss-120b"), format_of("mxfp4"), Dtype::bf16, 0, spark, Parallel{}, capped);
  CHECK(c.kv_tokens == 86720);
  CHECK(std::abs(static_cast<double>(c.kv_cache_bytes) / gib_d - 5.95) < 0.005);
  CHECK(c.max_seq_len_final == 86720);
  // The profiling cache: 8,192 + 1 (overlap scheduler off) -> 257 blocks = 8,224 tokens,
  // 0.56 GiB ("Allocated 0.56 GiB for max tokens in paged KV cache (8224)"); 11 CUDA graphs.
  CHECK(c.estimation_tokens == 8224);
  CHECK(std::abs(static_cast<double>(c.estimation_kv_bytes) / gib_d - 0.56) < 0.005);
  CHECK(c.cuda_graph_batch_sizes.size() == 11);
  // The activation estimate against "Memory dynamically allocated during inference (inside
  // torch) 0.85 GiB": 8,192 tokens x (2 x 2,880 + 4 experts x (2,880 + 3 x 2,880)) x 2 bytes +
  // 201,088 logits x 4 = 850,150,912 = 0.79 GiB (-7%).
  const TrtllmResult e = trtllm_plan(model("gpt-oss-120b"), format_of("mxfp4"), Dtype::bf16, 0, spark, Parallel{}, o);
  CHECK(e.activation_bytes == 8192ull * (2 * 2880 + 4 * (2880 + 3 * 2880)) * 2 + 201088ull * 4);
  CHECK(std::abs(static_cast<double>(e.activation_bytes) / gib_d / 0.85 - 1) < 0.08);
  // Unified memory: "outside torch" is 49.28 GiB (the OS and everything else in the 119.70 GiB),
  // not predictable from the GPU. With it and the log's activations given, the plan's peak is
  // the log's less the weights it holds beyond the checkpoint: TensorRT-LLM's "after loading"
  // 63.52 GiB includes the 0.56 GiB profiling cache, so it holds 62.96 GiB of weights where the
  // checkpoint has 60.77 GiB (MXFP4 experts re-laid-out for its MoE kernels: not modelled).
  TrtllmOptions measured = o;
  measured.activation_bytes = gib_bytes(0.85);
  measured.non_torch_bytes = gib_bytes(49.28);
  const TrtllmResult w = trtllm_plan(model("gpt-oss-120b"), format_of("mxfp4"), Dtype::bf16, 0, spark, Parallel{}, measured);
  CHECK(std::abs(static_cast<double>(w.weights_bytes) / gib_d - 60.77) < 0.01);
  CHECK(std::abs(static_cast<double>(gib_bytes(113.65) - w.peak_bytes) / gib_d - (62.96 - 60.77)) < 0.02);
  // The weights' gap entered where the plan takes a measurement gives the log's pool to 0.1%.
  measured.non_torch_bytes = gib_bytes(49.28) + gib_bytes(62.96) - w.weights_bytes;
  const TrtllmResult fixed = trtllm_plan(model("gpt-oss-120b"), format_of("mxfp4"), Dtype::bf16, 0, spark, Parallel{}, measured);
  CHECK(std::abs(static_cast<double>(fixed.kv_tokens) / 86720 - 1) < 0.002);
}

TEST_CASE("TensorRT-LLM: L2, Llama-3.1-8B FP8 on one H100, 0.20.0 (logs.md, from the GPU alone)", "[trtllm]") {
  // trtllm-bench: fraction 0.8, max_num_tokens 23,552, max_batch_size 4,096, max_seq_len 157, CUDA
  // graphs with padding to 4,096 (its 24 batch sizes); the checkpoint's FP8 KV.
  TrtllmOptions o;
  o.free_gpu_memory_fraction_ppm = 800000;
  o.max_num_tokens = 23552;
  o.max_batch_size = 4096;
  o.cuda_graph_padding = true;
  o.cuda_graph_max_batch_size = 4096;
  const TrtllmResult r = trtllm_plan(model("llama3.1-8b"), format_of("fp8"), Dtype::f8_e4m3, 157, catalog_gpu("h100"), Parallel{}, o);
  REQUIRE(r.error.empty());
  CHECK(r.cuda_graph_batch_sizes.size() == 24);
  CHECK(r.bytes_per_token == 65536);
  // "Rank 0 uses 8.46 GB for model weights" (GiB): the FP8 linear layers and bf16 embedding,
  // head and norms vramcalc sizes, 9,081,201,536 bytes = 8.457 GiB.
  CHECK(r.weights_bytes == 9081201536ull);
  CHECK(std::abs(static_cast<double>(r.weights_bytes) / gib_d - 8.46) < 0.005);
  CHECK(r.max_seq_len_final == 157);
  // Logged: "Both free_gpu_memory_fraction and max_tokens are set (to 0.800000011920929 and
  // 860308)". vramcalc: 859,259 (-0.12%); the non-torch memory (its CUDA graphs up to batch 4,096)
  // was fitted to this log, so this row checks the activations and weights more than it tests
  // the fit (docs/engines.md).
  CHECK(std::abs(static_cast<double>(r.max_tokens) / 860308 - 1) < 0.005);
  // The pool from the logged max_tokens: ceil(860,308 / 32) = 26,885 blocks = 860,320 tokens x
  // 65,536 = 52.51 GiB ("Allocated 52.51 GiB for max tokens in paged KV cache (860320)"); no
  // memory outside torch, so that the plan's own budget is above the log's and the cap binds.
  TrtllmOptions capped = o;
  capped.max_tokens = 860308;
  capped.non_torch_bytes = 0;
  const TrtllmResult c = trtllm_plan(model("llama3.1-8b"), format_of("fp8"), Dtype::f8_e4m3, 157, catalog_gpu("h100"), Parallel{}, capped);
  CHECK(c.blocks == 26885);
  CHECK(c.kv_tokens == 860320);
  CHECK(std::abs(static_cast<double>(c.kv_cache_bytes) / gib_d - 52.51) < 0.005);
}

TEST_CASE("TensorRT-LLM: L3 and L4, pools of small models (logs.md)", "[trtllm]") {
  // L3 (the model inferred from its 22,528 bytes a token: TinyLlama-1.1B's): 116,617 primary
  // blocks x 32 = 3,731,744 tokens x 22,528 = 78.30 GiB, as logged.
  TrtllmOptions l3;
  l3.max_tokens = 116617 * 32;
  const TrtllmResult t = trtllm_plan(model("tinyllama-1.1b"), format_of("bf16"), Dtype::bf16, 2048, catalog_gpu("h200"), Parallel{}, l3);
  CHECK(t.blocks == 116617);
  CHECK(t.kv_tokens == 3731744);
  CHECK(std::abs(static_cast<double>(t.kv_cache_bytes) / gib_d - 78.30) < 0.005);

  // L4: SmolLM2-135M-Instruct, --max_seq_len 2049, on a "12 GiB GPU" (the log names no model:
  // taken as an RTX 3060 12GB, CUDA total 11.5 GiB by the catalog's rule). Logged: "Estimated max
  // memory in KV cache : 9.06 GiB", 13,189 blocks = 422,048 tokens.
  const TrtllmResult s = trtllm_plan(model("smollm2-135m"), format_of("bf16"), Dtype::bf16, 2049, catalog_gpu("rtx-3060-12gb"), Parallel{}, {});
  REQUIRE(s.error.empty());
  // The profiling cache: 4 prompts of 2,048 tokens + 2 -> 65 blocks each: 260 blocks = 8,320
  // tokens x 23,040 = 191,692,800 bytes.
  CHECK(s.estimation_requests == 4);
  CHECK(s.estimation_tokens == 8320);
  CHECK(s.estimation_kv_bytes == 191692800ull);
  // From the GPU alone: 9.57 GiB where the log has 9.06 (+5.6%), 446,112 tokens (+5.7%); the
  // GPU's own total (and whatever a desktop holds on it) is not known (docs/engines.md).
  CHECK(std::abs(static_cast<double>(s.kv_budget_bytes) / gib_d / 9.06 - 1) < 0.06);
  CHECK(std::abs(static_cast<double>(s.kv_tokens) / 422048 - 1) < 0.06);
  // The logged pool's arithmetic: 13,189 x 32 x 23,040 = 9.06 GiB.
  TrtllmOptions l4;
  l4.max_tokens = 422048;
  const TrtllmResult p = trtllm_plan(model("smollm2-135m"), format_of("bf16"), Dtype::bf16, 2049, catalog_gpu("rtx-3060-12gb"), Parallel{}, l4);
  CHECK(p.blocks == 13189);
  CHECK(std::abs(static_cast<double>(p.kv_cache_bytes) / gib_d - 9.06) < 0.005);
}

TEST_CASE("TensorRT-LLM: the CUTLASS MoE workspace of the profiling run (moe_kernels.cu)", "[trtllm]") {
  // Qwen3-30B-A3B in bf16 at tp 1, max_num_tokens 8,192: R = 8,192 x 8 = 65,536 rows, H 2,048, I
  // 768, 128 experts, activations 2 bytes, each buffer rounded up to 128 bytes: four index arrays
  // 4 x 262,144; expert offsets 129 x 8 = 1,032 -> 1,152; final scales 262,144; GEMM inputs
  // max(R H 2, R H 2, R I 2) = 268,435,456; outputs max(2 R I 2 = 201,326,592, R H 2, R I 2) =
  // 268,435,456; two pointer arrays 2 x 1,024. No FP4 scales.
  const ModelSpec& q = model("qwen3-30b-a3b");
  TrtllmOptions o;
  const TrtllmResult r = trtllm_plan(q, format_of("bf16"), Dtype::bf16, 0, catalog_gpu("h100"), Parallel{}, o);
  REQUIRE(r.error.empty());
  CHECK(r.moe_workspace_bytes == 4 * 262144ull + 1152 + 262144 + 2 * 268435456ull + 2 * 1024);
  CHECK(r.moe_workspace_bytes == 538184832ull);
  // Expert parallel at tp 4: 32 experts on a GPU, I whole: offsets 33 x 8 = 264 -> 384, pointer
  // arrays 2 x 256; the rows are still every token x top-8.
  const TrtllmResult e = trtllm_plan(q, format_of("bf16"), Dtype::bf16, 0, catalog_gpu("h100"), Parallel{4, 1, true}, o);
  CHECK(e.moe_workspace_bytes == 4 * 262144ull + 384 + 262144 + 2 * 268435456ull + 2 * 256);
  // The activations hold it once, beside the largest other layer: 8,192 x (2 x 2,048 + the MoE
  // layer's output 2,048) x 2 + 8,192 x 128 router logits x 4 = 100,663,296 + 4,194,304 against
  // the attention's (2 x 2,048 + (32 + 2 x 4) x 128 + 32 x 128) x 2 x 8,192 = 218,103,808; + the
  // logits of one request 151,936 x 4 = 607,744.
  CHECK(r.activation_bytes == 218103808ull + 538184832ull + 607744ull);
  // Formats whose CUTLASS path is not read (FP8, MXFP4, INT4 groups) keep the per-token estimate.
  CHECK(trtllm_plan(q, format_of("fp8"), Dtype::bf16, 0, catalog_gpu("h100"), Parallel{}, o).moe_workspace_bytes == 0);
  // A dense model has none.
  CHECK(trtllm_plan(model("llama3.1-8b"), format_of("bf16"), Dtype::bf16, 0, catalog_gpu("h100"), Parallel{}, o)
            .moe_workspace_bytes == 0);
}

TEST_CASE("TensorRT-LLM: L5 to L8, Qwen3-8B FP8, Kimi-K2.5 at tp 8, an 8B and TinyLlama at tp 2 (logs.md)", "[trtllm]") {
  // L5 (1.2.0rc2): nvidia/Qwen3-8B-FP8 with its FP8 KV, max_seq_len 9193, max_num_tokens 8192; the
  // GPU an sm_120 GeForce (taken as an RTX 5090). 36 layers x 2 x 8 heads x 128 x 1 byte = 73,728.
  const TrtllmResult q = trtllm_plan(model("qwen3-8b"), format_of("fp8"), Dtype::f8_e4m3, 9193, catalog_gpu("rtx-5090"), Parallel{}, {});
  REQUIRE(q.error.empty());
  CHECK(q.bytes_per_token == 73728);
  // The profiling cache: one prompt of min(8192, 9192) = 8,192 + 2 tokens -> 257 blocks ("primary
  // blocks=257") = 8,224 tokens x 73,728 = 606,339,072 bytes = 0.56 GiB, as logged.
  CHECK(q.estimation_requests == 1);
  CHECK(q.estimation_tokens == 8224);
  CHECK(q.estimation_kv_bytes == 606339072ull);
  CHECK(std::abs(static_cast<double>(q.estimation_kv_bytes) / gib_d - 0.56) < 0.005);
  // The final pool: 1,444 blocks x 32 = 46,208 tokens x 73,728 = 3.17 GiB. The script's KV settings
  // are not in the log: from the GPU alone the pool would be about six times this (logs.md).
  TrtllmOptions q_capped;
  q_capped.max_tokens = 46208;
  const TrtllmResult qc = trtllm_plan(model("qwen3-8b"), format_of("fp8"), Dtype::f8_e4m3, 9193, catalog_gpu("rtx-5090"), Parallel{}, q_capped);
  CHECK(qc.blocks == 1444);
  CHECK(std::abs(static_cast<double>(qc.kv_cache_bytes) / gib_d - 3.17) < 0.005);
  CHECK(q.kv_cache_bytes > 5 * qc.kv_cache_bytes);

  // L6 (1.3.0rc7, the newest rules): nvidia/Kimi-K2.5-NVFP4 on 8x B300 at tp 8, quickstart_advanced's
  // defaults (fraction 0.9, no CUDA graphs), FP8 KV. The catalog's checkpoint: NVFP4 with every
  // layer's self_attn left unquantized (its config.json ignore list), and K2.5's vision tower.
  // MLA: 61 layers x (512 + 64) x 1 byte = 35,136 on every GPU. 5,073,376 tokens // 32 = 158,543
  // blocks x 32 x 35,136 = 166.02 GiB, as logged.
  const ModelSpec& k25 = model("kimi-k2.5");
  WeightFormat k25_fp4 = format_of("nvfp4");
  REQUIRE(set_unquantized(k25_fp4, k25.checkpoints.front().unquantized).has_value());
  TrtllmOptions k;
  k.release = TrtllmRelease::newest;
  k.cuda_graphs = false;
  TrtllmOptions k_capped = k;
  k_capped.max_tokens = 5073376;
  const TrtllmResult kc = trtllm_plan(k25, k25_fp4, Dtype::f8_e4m3, 0, catalog_gpu("b300"), Parallel{8, 1, false}, k_capped);
  REQUIRE(kc.error.empty());
  CHECK(kc.bytes_per_token == 35136);
  CHECK(kc.blocks == 158543);
  CHECK(kc.kv_tokens == 5073376);
  CHECK(std::abs(static_cast<double>(kc.kv_cache_bytes) / gib_d - 166.02) < 0.005);
  // From the GPU alone. Weights on each GPU: Kimi K2's shards in NVFP4 (73,367,132,992, the 68.33
  // GiB vramcalc held before), plus per layer the attention in bf16 where NVFP4 had it:
  //   q_a 7168 x 1536 and kv_a 7168 x 576, replicated: 22,020,096 + 8,257,536 (NVFP4 6,193,160 +
  //   2,322,440); q_b 1536 x 1536, kv_b 512 x 2048, o 1024 x 7168 on this GPU: 4,718,592 +
  //   2,097,152 + 14,680,064 (NVFP4 1,327,112 + 589,832 + 4,128,776): 51,773,440 - 14,561,320 =
  //   37,212,120 x 61 = 2,269,939,320;
  // TensorRT-LLM's k_b_proj_trans, 8 heads x 512 x 128 x 2 bytes = 1,048,576 x 61 = 63,963,136;
  // the vision tower and projector whole on every GPU, 471,143,920 x 2 = 942,287,840.
  const TrtllmResult kg = trtllm_plan(k25, k25_fp4, Dtype::f8_e4m3, 0, catalog_gpu("b300"), Parallel{8, 1, false}, k);
  CHECK(kg.weights_bytes == 73367132992ull + 2269939320ull + 63963136ull + 942287840ull);
  CHECK(kg.weights_bytes == 76643323288ull);
  // Activations: the CUTLASS MoE workspace for R = 8,192 x 8 = 65,536 rows, H 7,168, I 2,048 / 8 =
  // 256, 384 experts, each buffer rounded up to 128: four index arrays 4 x 262,144; expert offsets
  // 385 x 8 = 3,080 -> 3,200; final scales 262,144; GEMM inputs max(R H / 2, R H 2, R I / 2) =
  // 939,524,096; outputs max(2 R I 2, R H 2, R I / 2) = 939,524,096; two pointer arrays 2 x 3,072;
  // FP4 scales (65,536 + 384 x 127 = 114,304 rows) x 7,168 / 16 = 51,208,192: 1,931,576,448.
  CHECK(kg.moe_workspace_bytes == 4 * 262144ull + 3200 + 262144 + 2 * 939524096ull + 2 * 3072 + 51208192);
  CHECK(kg.moe_workspace_bytes == 1931576448ull);
  // Besides it: residual and normed copy 2 x 7,168 and the larger of the dense layer's 3 x 18,432 /
  // 8 = 6,912 (x 2 bytes x 8,192 = 348,127,232) and the MoE layer's output 7,168 x 2 and fp32
  // router logits 384 x 4 (8,192 x (43,008 + 1,536) = 364,904,448), + one request's logits 163,840
  // x 4 = 655,360: 364,904,448 + 1,931,576,448 + 655,360 = 2,297,136,256 (before: 1,275,723,776,
  // one bf16 copy of the expanded input).
  CHECK(kg.activation_bytes == 364904448ull + 1931576448ull + 655360ull);
  CHECK(kg.non_torch_bytes == GiB / 2 + GiB / 2 + (4 * 64 * MiB * 8 + 2 * MiB));
  // Peak 76,643,323,288 + 288,958,464 (profiling KV) + 2,297,136,256 + 3,223,322,624 =
  // 82,452,740,632 = 76.79 GiB; budget 0.9 x (268.09 - 76.79 + 0.27) = 172.42 GiB: +3.9% over the
  // logged pool (before: 176.02 GiB, +6.0%), within 5%. The logged pool puts the peak at 83.9 GiB:
  // 7.1 GiB a GPU not sourced (logs.md).
  CHECK(kg.peak_bytes == 82452740632ull);
  const double k_err = static_cast<double>(kg.kv_budget_bytes) / static_cast<double>(kc.kv_cache_bytes) - 1;
  CHECK(k_err > 0.035);
  CHECK(k_err < 0.05);
  const double logged_peak = static_cast<double>(kg.device_total_bytes + kg.estimation_kv_bytes) / gib_d - 166.02 / 0.9;
  CHECK(std::abs(logged_peak - 83.9) < 0.1);
  // The same model under -q nvfp4 without the checkpoint's exclusions quantizes the attention:
  // 2,269,939,320 bytes less on each GPU.
  CHECK(trtllm_plan(k25, format_of("nvfp4"), Dtype::f8_e4m3, 0, catalog_gpu("b300"), Parallel{8, 1, false}, k).weights_bytes ==
        kg.weights_bytes - 2269939320ull);
  // The 1.1 rules count no all-reduce workspace (its 8 MB a rank is not counted), nor tp 1.
  TrtllmOptions k11 = k;
  k11.release = TrtllmRelease::v1_1;
  CHECK(trtllm_plan(k25, k25_fp4, Dtype::f8_e4m3, 0, catalog_gpu("b300"), Parallel{8, 1, false}, k11)
            .non_torch_bytes == GiB);

  // L7 (February 2025): 131,072 bytes a token and max_seq_len 131072: a Llama-3.1-8B-class model;
  // 64 tokens a block. 220,480 = 3,445 blocks x 64; x 131,072 = 26.91 GiB; the pool holds 131,072
  // tokens, so max_seq_len stays 131072 ("max_seq_len=131072, ..., max_num_tokens=8192").
  TrtllmOptions l7;
  l7.tokens_per_block = 64;
  l7.max_tokens = 220480;
  const TrtllmResult e = trtllm_plan(model("llama3.1-8b"), format_of("bf16"), Dtype::bf16, 131072, catalog_gpu("h100"), Parallel{}, l7);
  CHECK(e.bytes_per_token == 131072);
  CHECK(e.blocks == 3445);
  CHECK(std::abs(static_cast<double>(e.kv_cache_bytes) / gib_d - 26.91) < 0.005);
  CHECK(e.max_seq_len_final == 131072);
  CHECK(e.max_num_tokens == 8192);

  // L8 (February 2025): TinyLlama at tp 2: 22 layers x 2 x (4 / 2) heads x 64 x 2 = 11,264 bytes a
  // token. 1,800,032 tokens = 56,251 blocks x 32 x 11,264 = 18.88 GiB, as logged.
  TrtllmOptions t;
  t.free_gpu_memory_fraction_ppm = 250000;
  TrtllmOptions t_capped = t;
  t_capped.max_tokens = 1800032;
  const TrtllmResult tc = trtllm_plan(model("tinyllama-1.1b"), format_of("bf16"), Dtype::bf16, 2048, catalog_gpu("h100"), Parallel{2, 1, false}, t_capped);
  CHECK(tc.bytes_per_token == 11264);
  CHECK(tc.blocks == 56251);
  CHECK(std::abs(static_cast<double>(tc.kv_cache_bytes) / gib_d - 18.88) < 0.005);
  // From the GPU alone (H100, fraction 0.25): 1,833,696 tokens, 19.24 GiB: +1.9%, within 2%.
  const TrtllmResult tg = trtllm_plan(model("tinyllama-1.1b"), format_of("bf16"), Dtype::bf16, 2048, catalog_gpu("h100"), Parallel{2, 1, false}, t);
  CHECK(tg.kv_tokens == 1833696);
  CHECK(std::abs(static_cast<double>(tg.kv_tokens) / 1800032 - 1) < 0.02);
  CHECK(std::abs(static_cast<double>(tg.kv_cache_bytes) / gib_d / 18.88 - 1) < 0.02);
}

TEST_CASE("property: TensorRT-LLM on every catalog model: runs or is refused by name, the pool adds up, monotone",
          "[trtllm]") {
  std::size_t modelled = 0, refused = 0;
  for (const ModelSpec& m : catalog().models) {
    INFO(m.id);
    const std::optional<Parallel> p = choose_parallel(m, 8);
    if (!p) continue;
    const WeightFormat f = parse_weight_format("bf16", m.dtype).value();
    const TrtllmResult r = trtllm_plan(m, f, m.dtype, 0, catalog_gpu("h200"), *p, {});
    if (!r.error.empty()) {
      CHECK(r.kv_tokens == 0);
      ++refused;
      continue;
    }
    ++modelled;
    CHECK(r.bytes_per_token > 0);
    CHECK(r.kv_tokens % r.tokens_per_block == 0);
    CHECK(r.kv_tokens == r.blocks * r.tokens_per_block);
    CHECK(r.kv_cache_bytes == r.kv_tokens * r.bytes_per_token);
    CHECK(r.peak_bytes == r.weights_bytes + r.estimation_kv_bytes + r.activation_bytes + r.non_torch_bytes);
    CHECK(r.estimation_kv_bytes == r.estimation_tokens * r.bytes_per_token);
    CHECK(r.estimation_tokens >= r.max_num_tokens);
    // The budget is 0.9 (as a float32) of what the peak leaves, the profiling cache added back.
    const std::uint64_t room = r.device_total_bytes + r.estimation_kv_bytes;
    CHECK(r.kv_budget_bytes == (room > r.peak_bytes ? trtllm_fraction_of(room - r.peak_bytes, 900000) : 0));
    CHECK(r.max_tokens == r.kv_budget_bytes / r.estimate_bytes_per_token);
    // The smaller of max_tokens and the free memory's cap (which binds when the estimate counts
    // less than a KV head per GPU), rounded up to a block (1.1).
    const std::uint64_t tokens = std::min(r.max_tokens, r.free_cap_tokens);
    CHECK(r.kv_tokens >= tokens);
    CHECK(r.kv_tokens < tokens + r.tokens_per_block);
    if (r.estimate_bytes_per_token == r.bytes_per_token) CHECK(tokens == r.max_tokens);
    CHECK(r.max_seq_len_final <= r.max_seq_len);
    CHECK(r.max_seq_len_final <= r.kv_tokens);
    if (r.starts) CHECK(r.blocks > 0);
    // A smaller fraction or a larger forward pass never gives more tokens.
    TrtllmOptions half;
    half.free_gpu_memory_fraction_ppm = 500000;
    CHECK(trtllm_plan(m, f, m.dtype, 0, catalog_gpu("h200"), *p, half).kv_tokens <= r.kv_tokens);
    TrtllmOptions wide;
    wide.max_num_tokens = 32768;
    CHECK(trtllm_plan(m, f, m.dtype, 0, catalog_gpu("h200"), *p, wide).kv_tokens <= r.kv_tokens);
  }
  CHECK(modelled > 50);
  CHECK(refused > 0); // models with recurrent layers
}

TEST_CASE("TensorRT-LLM: an estimate with NVFP4 KV on a B200: bytes per token with their scales, the pool, the fit", "[trtllm]") {
  const ModelSpec& llama = model("llama3.1-8b"); // 32 layers, 8 KV heads of 128
  Settings s = trtllm_settings("bf16", Dtype::nvfp4, 32768, 4, "b200");
  const Report r = estimate(llama, s, catalog().gpus).value();
  REQUIRE(r.engine);
  REQUIRE(r.engine->kind() == EngineKind::trtllm);
  const TrtllmSection& t = std::get<TrtllmSection>(r.engine->detail);
  const TrtllmResult& g = t.plan;
  REQUIRE(g.error.empty());
  // K and V: 2 x 32 layers x 8 heads x 128 = 65,536 elements; e2m1 half a byte each (32,768)
  // plus one FP8 scale per 16 elements (4,096) = 36,864 bytes a token.
  CHECK(g.bytes_per_token == 36864);
  // The generic report counts the same cache with dtype_table's nvfp4 block (64 elements in
  // 36 bytes: 4 scales + 32 bytes): 2,048 elements a layer = 32 blocks = 1,152 bytes, x 32.
  CHECK(r.memory.kv_bytes_per_token == 36864);
  CHECK(r.memory.kv_cache_bytes == 36864ull * 32768 * 4);
  // 1.1's budget is divided by 2 bytes an element: 131,072.
  CHECK(g.estimate_bytes_per_token == 131072);
  CHECK(g.max_tokens == g.kv_budget_bytes / 131072);
  CHECK(g.blocks == (g.max_tokens + 31) / 32);
  CHECK(g.kv_tokens == g.blocks * 32);
  CHECK(g.kv_cache_bytes == g.kv_tokens * 36864);
  // Each request of 32,768 tokens holds 1,024 whole blocks.
  CHECK(t.holds_requests == g.kv_tokens / 32768);
  CHECK(r.engine->fits == (t.holds_requests >= 4));
  // The fit row: what it holds (weights, activations, outside torch, the pool) against the
  // same with 4 requests of 32,768 tokens x 36,864 bytes; the headroom is the spare pool.
  const FitRow& row = r.fit.front();
  CHECK(row.decided_by == "trtllm");
  const std::uint64_t rest = g.weights_bytes + g.activation_bytes + g.non_torch_bytes;
  CHECK(row.usable_bytes == rest + g.kv_cache_bytes);
  CHECK(row.required_bytes_per_gpu == rest + 4ull * 32768 * 36864);
  CHECK(row.headroom_bytes == static_cast<std::int64_t>(g.kv_cache_bytes) - static_cast<std::int64_t>(4ull * 32768 * 36864));

  // The newest sources divide the budget by what the pool allocates: 36,864, and round down.
  s.engine_options.trtllm.release = TrtllmRelease::newest;
  const Report n = estimate(llama, s, catalog().gpus).value();
  const TrtllmResult& gn = std::get<TrtllmSection>(n.engine->detail).plan;
  CHECK(gn.estimate_bytes_per_token == 36864);
  CHECK(gn.max_tokens == gn.kv_budget_bytes / 36864);
  CHECK(gn.blocks == gn.max_tokens / 32);
  CHECK(gn.kv_cache_bytes > 3 * g.kv_cache_bytes); // 131,072 / 36,864 = 3.56 times the tokens
}

TEST_CASE("TensorRT-LLM: the fit needs the context within max_seq_len and the batch within max_batch_size", "[trtllm]") {
  const ModelSpec& llama = model("llama3.1-8b");
  Settings s = trtllm_settings("bf16", Dtype::bf16, 32768, 8, "h100");
  const Report r = estimate(llama, s, catalog().gpus).value();
  const TrtllmSection& t = std::get<TrtllmSection>(r.engine->detail);
  REQUIRE(r.engine->fits);
  CHECK(t.holds_requests == t.plan.kv_tokens / 32768);
  // max_batch_size 4: 4 at once, 8 asked.
  REQUIRE_FALSE(apply_option(s, "--max-batch-size", "4"));
  const Report b = estimate(llama, s, catalog().gpus).value();
  CHECK(std::get<TrtllmSection>(b.engine->detail).holds_requests == 4);
  CHECK_FALSE(b.engine->fits);
  CHECK_FALSE(b.fit.front().fits);
  // A cap of 100,000 tokens: 3,125 blocks, 3 requests of 32,768 (1,024 blocks each).
  s = trtllm_settings("bf16", Dtype::bf16, 32768, 3, "h100");
  REQUIRE_FALSE(apply_option(s, "--max-tokens", "100000"));
  const Report c = estimate(llama, s, catalog().gpus).value();
  const TrtllmSection& tc = std::get<TrtllmSection>(c.engine->detail);
  CHECK(tc.plan.max_tokens == 100000);
  CHECK(tc.plan.blocks == 3125);
  CHECK(tc.holds_requests == 3);
  CHECK(c.engine->fits);
  // A context over the model's 131,072: max_seq_len is clamped, the requests refused.
  s = trtllm_settings("bf16", Dtype::bf16, 262144, 1, "h100");
  const Report l = estimate(llama, s, catalog().gpus).value();
  const TrtllmSection& tl = std::get<TrtllmSection>(l.engine->detail);
  CHECK(tl.plan.max_seq_len == 131072);
  CHECK(tl.holds_requests == 0);
  CHECK_FALSE(l.engine->fits);
}

TEST_CASE("TensorRT-LLM: its options read and refused by flag", "[trtllm]") {
  Settings s;
  CHECK_FALSE(apply_option(s, "--free-gpu-memory-fraction", "0.85"));
  CHECK(s.engine_options.trtllm.free_gpu_memory_fraction_ppm == 850000);
  const auto one = apply_option(s, "--free-gpu-memory-fraction", "1");
  REQUIRE(one);
  CHECK(one->message.starts_with("--free-gpu-memory-fraction: must be below 1"));
  CHECK(apply_option(s, "--free-gpu-memory-fraction", "0"));
  CHECK_FALSE(apply_option(s, "--max-num-tokens", "16k"));
  CHECK(s.engine_options.trtllm.max_num_tokens == 16384);
  CHECK_FALSE(apply_option(s, "--tokens-per-block", "64"));
  CHECK(s.engine_options.trtllm.tokens_per_block == 64);
  CHECK(apply_option(s, "--tokens-per-block", "0"));
  CHECK_FALSE(apply_option(s, "--cuda-graph-max-batch-size", "256"));
  CHECK(s.engine_options.trtllm.cuda_graph_max_batch_size == 256);
  CHECK_FALSE(apply_option(s, "--cuda-graph-enable-padding", "true"));
  CHECK(s.engine_options.trtllm.cuda_graph_padding);
  CHECK_FALSE(apply_option(s, "--no-cuda-graphs", "true"));
  CHECK_FALSE(s.engine_options.trtllm.cuda_graphs);
  CHECK_FALSE(apply_option(s, "--enable-chunked-prefill", "true"));
  CHECK(s.engine_options.trtllm.enable_chunked_prefill);
  CHECK_FALSE(apply_option(s, "--enable-attention-dp", "true"));
  CHECK(s.engine_options.trtllm.attention_dp);
  // Releases: 0.20 to 1.1 (1.1.0rc3 too) follow the 1.1 rules; "newest"; others are refused.
  for (const char* v : {"1.1", "1.1.0", "1.1.0rc3", "1.0", "0.20", "0.21.0"}) {
    INFO(v);
    s.engine_options.trtllm.release = TrtllmRelease::newest;
    CHECK_FALSE(apply_option(s, "--trtllm-version", v));
    CHECK(s.engine_options.trtllm.release == TrtllmRelease::v1_1);
  }
  CHECK_FALSE(apply_option(s, "--trtllm-version", "newest"));
  CHECK(s.engine_options.trtllm.release == TrtllmRelease::newest);
  for (const char* v : {"1.2", "0.19", "2", "abc", ""}) {
    INFO(v);
    const auto e = apply_option(s, "--trtllm-version", v);
    REQUIRE(e);
    CHECK(e->message.starts_with("--trtllm-version: "));
  }
  // A flag two engines spell alike (vLLM's and SGLang's --enable-lora) is one flag of the
  // command line: the same names, the same kind (switch or value) and the same deployment key.
  // TensorRT-LLM's flags and keys are its own.
  std::vector<const EngineOptionSpec*> seen;
  std::vector<std::string_view> keys;
  for (const EngineTraits& e : engine_table) {
    for (const EngineOptionSpec& spec : engine_option_specs(e.kind)) {
      INFO(spec.names);
      const auto same = std::find_if(seen.begin(), seen.end(), [&](const EngineOptionSpec* t) { return t->flag() == spec.flag(); });
      if (same != seen.end()) {
        CHECK(e.kind != EngineKind::trtllm);
        CHECK((*same)->names == spec.names);
        CHECK((*same)->is_switch == spec.is_switch);
        CHECK((*same)->key == spec.key);
      }
      seen.push_back(&spec);
      if (e.kind == EngineKind::trtllm && spec.key != "version") {
        CHECK(std::find(keys.begin(), keys.end(), spec.key) == keys.end());
      }
      keys.push_back(spec.key);
    }
  }
}

TEST_CASE("TensorRT-LLM: weights it does not load and KV dtypes its pool does not take are refused by name", "[trtllm]") {
  const Report g = estimate(model("llama3.1-8b"), trtllm_settings("q4_k_m", Dtype::f16, 8192, 1, "h100"), catalog().gpus).value();
  const TrtllmResult& gg = std::get<TrtllmSection>(g.engine->detail).plan;
  CHECK(gg.error.starts_with("TensorRT-LLM loads Hugging Face and ModelOpt checkpoints, not q4_k_m"));
  CHECK_FALSE(g.engine->fits);
  const Report k = estimate(model("llama3.1-8b"), trtllm_settings("bf16", Dtype::i8, 8192, 1, "h100"), catalog().gpus).value();
  CHECK(std::get<TrtllmSection>(k.engine->detail).plan.error.find("not int8") != std::string::npos);
  const Report h = estimate(model("nemotron-3-nano-30b-a3b"), trtllm_settings("bf16", Dtype::bf16, 8192, 1, "h100"), catalog().gpus).value();
  CHECK(std::get<TrtllmSection>(h.engine->detail).plan.error.starts_with("TensorRT-LLM keeps the state of recurrent layers"));
  CHECK_FALSE(h.engine->fits);
}

TEST_CASE("property: TensorRT-LLM on every catalog model: runs, the pool adds up, monotone in context and batch", "[trtllm]") {
  const auto counts = vramcalc::test::over_catalog_grid(EngineKind::trtllm, catalog_gpu("h100"), 8,
                                                        [](const Report& r, std::uint64_t ctx, std::uint64_t batch, bool) {
    const TrtllmResult& g = std::get<TrtllmSection>(r.engine->detail).plan;
    if (!g.error.empty()) return false;
    CHECK(g.kv_tokens == g.blocks * g.tokens_per_block);
    CHECK(g.kv_cache_bytes == g.kv_tokens * g.bytes_per_token);
    CHECK(g.peak_bytes == g.weights_bytes + g.estimation_kv_bytes + g.activation_bytes + g.non_torch_bytes);
    CHECK(g.max_tokens <= g.kv_budget_bytes / g.estimate_bytes_per_token);
    if (r.engine->fits) CHECK(g.kv_tokens >= ctx * batch);
    return true;
  });
  CHECK(counts.modelled > 50);
  CHECK(counts.refused > 0); // recurrent models
}

TEST_CASE("Gemma 4: TensorRT-LLM's one head size per cache is refused, by name") {
  const TrtllmResult r = trtllm_plan(model("gemma-4-31b"), format_of("bf16"), Dtype::bf16, 0, catalog_gpu("h200"),
                                     Parallel{}, {});
  CHECK(r.error.find("one head size for every layer") != std::string::npos);
  CHECK(r.error.find("(512 against 256)") != std::string::npos);
}
