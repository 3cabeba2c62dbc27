// vLLM's KV budget, blocks, tokens and concurrency against its own start-up logs
// (tests/data/measurements.md lists each log line with its source).
#include "helpers.hpp"
#include "../support/engine_cases.hpp"
#include "vramcalc/engine.hpp"

#include <climits>
#include <cmath>

using namespace vramcalc;
using vramcalc::test::catalog;
using vramcalc::test::catalog_gpu;
using vramcalc::test::format_of;
using vramcalc::test::model;

namespace {

GpuSpec gpu_with(std::uint64_t bytes, const std::string& id = "custom") {
  GpuSpec g;
  g.id = id;
  g.memory_bytes = bytes;
  return g;
}

VllmOptions version(std::uint32_t minor) {
  VllmOptions o;
  o.version_minor = minor;
  return o;
}

std::uint64_t gib_x100(std::uint64_t hundredths) { return hundredths * (1ull << 30) / 100; }

double rel(double a, double b) { return std::abs(a / b - 1.0); }

} // namespace

TEST_CASE("blocks, tokens and concurrency from the logged KV memory (within 1%)") {
  struct Row {
    const char* model;
    std::uint32_t tp;
    std::uint64_t kv_gib_x100; // "Available KV cache memory", GiB x 100 as logged
    std::uint64_t max_model_len;
    std::uint64_t blocks;      // 0 when the log does not give it
    std::uint64_t tokens;      // 0 when the log does not give it
    double concurrency;        // 0 when the log does not give it
    std::uint32_t minor;
    const char* what;
  };
  const Row rows[] = {
      {"qwen2.5-1.5b", 1, 236, 32768, 5519, 0, 2.69, 6, "Qwen2.5-1.5B, T4, util 0.5 (vLLM V0)"},
      {"llama3.2-3b", 1, 238, 10000, 1395, 0, 2.23, 6, "Llama-3.2-3B Q8_0 GGUF, RTX 4070 (V0)"},
      {"qwen2.5-1.5b", 1, 56, 32768, 0, 20992, 0, 20, "Qwen2.5-1.5B, DGX Spark, util 0.04"},
      {"llama3.1-8b", 1, 1992, 32768, 0, 163168, 0, 10, "Llama-3.1-8B, A100 40GB"},
      {"llama3.1-8b", 1, 8579, 131072, 43925, 702800, 5.36, 10, "Llama-3.1-8B, --enforce-eager"},
      {"llama3.1-8b", 1, 381, 20000, 1952, 0, 1.56, 6, "Llama-3.1-8B, RTX 3090, max_model_len 20000 (V0)"},
      {"llama3.1-8b", 1, 289, 29000, 1478, 23648, 0.82, 6, "Llama-3.1-8B, RTX 3090, max_model_len 29000 (V0)"},
      {"qwen2.5-7b", 1, 800, 32768, 0, 149712, 4.57, 11, "Qwen2.5-7B-Instruct-AWQ, 16 GB card"},
      {"qwen3-30b-a3b", 4, 2374, 32768, 0, 1037152, 31.65, 11, "Qwen3-Coder-30B (Qwen3-30B-A3B), 4 x L40S, tp 4"},
      {"qwen3-30b-a3b", 1, 3359, 32768, 0, 366880, 0, 20, "Qwen3-VL-30B-A3B-FP8 language model, RTX PRO 6000"},
      // vLLM 0.10.1.1 on A100 80GB (dennislee22/vLLM-benchmarking logs); Qwen2-7B-Instruct has
      // Qwen2.5-7B's KV shapes
      {"gpt-oss-120b", 4, 4532, 16384, 0, 2640144, 284.25, 10, "gpt-oss-120b, 4 x A100 80GB, tp 4"},
      {"qwen2.5-7b", 1, 501, 16384, 5867, 93872, 5.73, 10, "Qwen2-7B, A100 80GB, util 0.25"},
      {"qwen2.5-7b", 1, 2483, 16384, 29053, 464848, 28.37, 10, "Qwen2-7B, A100 80GB, util 0.5"},
      {"qwen2.5-7b", 2, 3183, 16384, 74510, 1192160, 72.76, 10, "Qwen2-7B, 2 x A100 80GB, tp 2"},
      // MiniMax-M2.7 AWQ on 2 x DGX Spark (0.29.1rc1) at utilization 0.85: "28.74 GiB KV ->
      // 240,816 tokens" (the summary's rounding; +0.9% here)
      {"minimax-m2", 2, 2874, 196608, 0, 240816, 0, 21, "MiniMax-M2.7, 2 x DGX Spark, tp 2"},
  };
  for (const Row& r : rows) {
    INFO(r.what);
    const VllmResult v = vllm_blocks(model(r.model), Dtype::bf16, r.max_model_len, gib_x100(r.kv_gib_x100),
                                     Parallel{r.tp, 1, false}, version(r.minor), gpu_with(48ull << 30));
    // The logged memory has two decimals (+-0.005 GiB): allow 1% on top of that rounding.
    if (r.blocks != 0) CHECK(rel(static_cast<double>(v.num_gpu_blocks), static_cast<double>(r.blocks)) < 0.01);
    if (r.tokens != 0) CHECK(rel(static_cast<double>(v.kv_cache_tokens), static_cast<double>(r.tokens)) < 0.01);
    if (r.concurrency != 0) CHECK(rel(v.max_concurrency, r.concurrency) < 0.01);
  }
}

TEST_CASE("the page arithmetic, exactly: Llama 3.1 8B") {
  // page = 16 tokens x 8 KV heads x (128 + 128) x 2 bytes = 65,536 per layer; 32 layers
  // 43,925 blocks x 65,536 x 32 = 92,117,401,600 bytes is what the 85.79 GiB log holds
  const VllmResult v = vllm_blocks(model("llama3.1-8b"), Dtype::bf16, 131072, 92'117'401'600ull, Parallel{},
                                   version(10), gpu_with(100ull << 30));
  CHECK(v.page_bytes == 65'536);
  CHECK(v.num_gpu_blocks == 43'925);
  CHECK(v.kv_cache_tokens == 702'800);
  // 43,925 / cdiv(131,072, 16) = 43,925 / 8,192 = 5.362
  CHECK(v.max_concurrency == Approx(43925.0 / 8192.0));
  // one 131,072-token request needs 8,192 blocks x 65,536 x 32 = 17,179,869,184 bytes
  CHECK(v.needed_bytes == 17'179'869'184ull);
  CHECK(v.starts);
}

TEST_CASE("Kimi-Linear: MLA pages grown to hold a KDA state, in steps of 64 tokens") {
  // KDA state per layer (MambaSpec page): 3 x 3 x 4,096 conv x 2 bytes + 32 x 128 x 128 x 4 bytes
  // = 73,728 + 2,097,152 = 2,170,880. MLA row 576 x 2 bytes = 1,152 per token. The block grows to
  // 64 x cdiv(2,170,880, 64 x 1,152) = 64 x cdiv(2,170,880, 73,728) = 64 x 30 = 1,920 tokens
  // (HybridAttentionMambaModelConfig, MLA alignment 64); page 1,920 x 1,152 = 2,211,840.
  const ModelSpec& m = model("kimi-linear-48b-a3b");
  const VllmResult v = vllm_blocks(m, Dtype::bf16, 131072, 20ull << 30, Parallel{}, version(11), catalog_gpu("h100"));
  CHECK(v.block_size == 1'920);
  CHECK(v.page_bytes == 2'211'840);
  // 7 MLA and 20 KDA layers: groups of min(7, 20) = 7 layers (2 x 20 >= 3 x 7): 1 + cdiv(20, 7) = 4
  CHECK(v.group_size == 7);
  CHECK(v.num_groups == 4);
  // 21,474,836,480 / 2,211,840 / 7 = 1,387 blocks; one 131,072-token request needs cdiv(131,072,
  // 1,920) = 69 MLA blocks + 3 KDA groups x 1 = 72 blocks of 7 x 2,211,840 = 1,114,767,360 bytes.
  CHECK(v.num_gpu_blocks == 1'387);
  CHECK(v.needed_bytes == 1'114'767'360ull);
  CHECK(v.starts);
  // tp 2: the KDA heads split (state 2,170,880 / 2 = 1,085,440 per rank), the MLA latent does not:
  // 64 x cdiv(1,085,440, 73,728) = 64 x 15 = 960 tokens.
  const VllmResult t2 = vllm_blocks(m, Dtype::bf16, 131072, 20ull << 30, Parallel{2, 1, false}, version(11), catalog_gpu("h100"));
  CHECK(t2.block_size == 960);
}

TEST_CASE("a request that does not fit: vLLM refuses, with the largest max_model_len") {
  // Qwen2.5-3B: 36 layers x 2 x 2 KV heads x 128 x 2 bytes = 36,864 per token; 32,000 tokens
  // need 2,000 blocks x 16 x 36,864 = 1,179,648,000 bytes, "1.1 GiB" as the log says; with
  // 0.59 GiB (633,507,676 bytes) the largest that fits is 17,184 tokens (1,074 blocks).
  const VllmResult v = vllm_blocks(model("qwen2.5-3b"), Dtype::bf16, 32000, gib_x100(59), Parallel{}, version(11),
                                   gpu_with(8ull << 30));
  CHECK(v.needed_bytes == 1'179'648'000ull);
  CHECK_FALSE(v.starts);
  CHECK(v.max_model_len_fit == 17'184);
}

TEST_CASE("weights, activation peak and available KV memory from the GPU alone, against every log") {
  // Every vLLM start-up log that names its GPU (tests/data/measurements.md, "vLLM budgets from
  // the GPU alone"): the catalog GPU (its CUDA-visible total), the release, the settings, and
  // the logged figures in GiB x 10,000 (0: not logged). Within 2% unless `tolerance` says
  // otherwise; measurements.md gives the reason for each wider row.
  struct Row {
    const char* what;
    const char* model;
    const char* format;
    const char* gpu;
    std::uint32_t minor, tp, util_ppm;
    std::uint64_t max_model_len;
    std::uint32_t block;
    std::int64_t weights, activation, kv; // GiB x 10,000 as logged
    double tolerance;
    std::uint64_t non_torch_bytes; // 0: vramcalc's estimate; else the log's own figure
    std::uint64_t gpu_total_gib_x100 = 0; // 0: the catalog's CUDA total; else the log's
  };
  const std::int64_t none = INT64_MIN;
  const Row rows[] = {
      // vLLM 0.11.0 on H100 80GB (llm-d-benchmark empirical-vllm-memory-results.md), block 128
      {"gpt-oss-20b", "gpt-oss-20b", "mxfp4", "h100", 11, 1, 900000, 16000, 128, 134700, 73800, 502800, 0.02, 0},
      // gpt-oss-120b ran at utilization 0.95, not the table's 0.9: its four figures sum to
      // 0.95 x 79.18 GiB (measurements.md; "gpt-oss-120b: the row's own arithmetic" below)
      {"gpt-oss-120b", "gpt-oss-120b", "mxfp4", "h100", 11, 1, 950000, 16000, 128, 643800, 73800, 33300, 0.02, 0},
      {"Llama-3.3-70B FP8 tp 2", "llama3.3-70b", "fp8-channel", "h100", 11, 2, 900000, 16000, 128, 338800, 48400, 320000,
       0.02, 0},
      {"Llama-3.3-70B FP8 tp 1", "llama3.3-70b", "fp8-channel", "h100", 11, 1, 900000, 16000, 128, 677200, none, -14400,
       0.02, 0},
      {"Llama-3.1-8B", "llama3.1-8b", "bf16", "h100", 11, 1, 900000, 16000, 128, 149900, 47600, 513800, 0.02, 0},
      {"Qwen3-0.6B 16k", "qwen3-0.6b", "bf16", "h100", 11, 1, 900000, 16000, 128, 11200, 55600, 644500, 0.02, 0},
      {"Qwen3-0.6B 32k", "qwen3-0.6b", "bf16", "h100", 11, 1, 900000, 32000, 128, none, none, 644500, 0.02, 0},
      {"Qwen3-32B tp 1", "qwen3-32b", "bf16", "h100", 11, 1, 900000, 16000, 128, 610300, 56400, 44500, 0.02, 0},
      {"Qwen3-32B tp 2", "qwen3-32b", "bf16", "h100", 11, 2, 900000, 16000, 128, 305900, 56400, 344900, 0.02, 0},
      // vLLM 0.10.1.1 on A100 80GB (dennislee22/vLLM-benchmarking logs)
      {"gpt-oss-120b tp 4", "gpt-oss-120b", "mxfp4", "a100-80gb-sxm", 10, 4, 800000, 16384, 0, 172217, none, 453200,
       0.02, 0},
      {"Qwen2-7B util 0.25", "qwen2-7b", "bf16", "a100-80gb-sxm", 10, 1, 250000, 16384, 0, 142488, none, 50100, 0.02, 0},
      {"Qwen2-7B util 0.5", "qwen2-7b", "bf16", "a100-80gb-sxm", 10, 1, 500000, 16384, 0, none, none, 248300, 0.02, 0},
      {"Qwen2-7B tp 2 util 0.5", "qwen2-7b", "bf16", "a100-80gb-sxm", 10, 2, 500000, 16384, 0, 71217, none, 318300,
       0.02, 0},
      // Older logs: V0 (0.6-era), an A100 40GB, a 16 GB card whose release is not stated
      {"T4, V0", "qwen2.5-1.5b", "fp16", "t4", 6, 1, 500000, 32768, 0, 28875, 20200, 23600, 0.02, 0},
      {"A100 40GB Llama-3.1-8B", "llama3.1-8b", "bf16", "a100-40gb", 10, 1, 900000, 32768, 0, none, none, 199200, 0.02,
       0},
      // The RTX 3090 logs count 0.35 GiB of other processes' memory as non-torch (a desktop
      // GPU); the test takes that figure from the log.
      {"RTX 3090 20000 tokens, V0", "llama3.1-8b", "bf16", "rtx-3090", 6, 1, 900000, 20000, 0, 149888, none, 38100, 0.02,
       gib_x100(35)},
      {"RTX 3090 29000 tokens, V0", "llama3.1-8b", "bf16", "rtx-3090", 6, 1, 900000, 29000, 0, none, none, 28900, 0.02,
       gib_x100(35)},
      // RTX 4080 under WSL2 (CUDA total 15.99 GiB as logged), vLLM 0.26.0: a dense model on
      // the V2 model runner (0.25+), no CUDA-graph estimate; the sampler with the 0.21 rules
      // (activation 0.90 against the logged 1.04, not checked: measurements.md)
      {"RTX 4080 AWQ, 0.26 (V2 runner)", "qwen2.5-7b", "awq", "rtx-4080", 26, 1, 900000, 32768, 0, 52900, none, 80000,
       0.02, 0, 1599},
      // DeepSeek-R1-Distill-Qwen-14B on 2 x RTX 4090, tp 2, V0 (February 2025): weights per
      // rank. Its KV (8.69) and activation (0.19) are the second rank's, which does not sample;
      // vLLM keeps the first rank's smaller cache (measurements.md), so they are not compared.
      {"R1-Distill-Qwen-14B tp 2, V0", "qwen2.5-14b", "bf16", "rtx-4090", 7, 2, 980000, 131072, 0, 139476, none, none,
       0.02, 0},
      // Weights only (the GPU does not change them): Mistral-7B v0.3, Llama-3.1-8B on V1 and
      // V0, Qwen2.5-1.5B on a DGX Spark, Qwen2.5-VL-7B AWQ (V0); the LoRA row is below.
      {"Mistral-7B v0.3 weights", "mistral-7b-v0.3", "bf16", "h100", 11, 1, 900000, 32768, 0, 135084, none, none, 0.02, 0},
      {"Llama-3.1-8B weights, V1", "llama3.1-8b", "bf16", "h100", 10, 1, 900000, 131072, 0, 149889, none, none, 0.02, 0},
      {"Llama-3.1-8B weights, V0", "llama3.1-8b", "bf16", "h100", 6, 1, 900000, 131072, 0, 149888, none, none, 0.02, 0},
      {"Qwen2.5-1.5B weights, DGX Spark", "qwen2.5-1.5b", "bf16", "h100", 20, 1, 900000, 32768, 0, 28900, none, none, 0.02,
       0},
      {"Qwen2.5-VL-7B AWQ weights, V0", "qwen2.5-vl-7b", "awq", "h100", 6, 1, 900000, 4096, 0, 65935, none, none, 0.02, 0},
      // Qwen2.5-7B with a LoRA adapter enabled (V1): 14.5499 logged, 14.2164 predicted (-2.3%).
      // vramcalc does not model LoRA: with --enable-lora vLLM allocates each projection's
      // stacked adapter buffers, max_loras x max_lora_rank x (in + out) x 2 bytes (28 layers x
      // 90,112 x rank x 2: 0.30 GiB at rank 64), but the log does not give the rank, so the
      // 0.33 GiB stay unexplained (measurements.md); the row holds the base weights to 3%.
      {"Qwen2.5-7B weights with LoRA enabled", "qwen2.5-7b", "bf16", "h100", 11, 1, 900000, 32768, 0, 145499, none, none,
       0.03, 0},
  };
  for (const Row& r : rows) {
    INFO(r.what);
    VllmOptions o = version(r.minor);
    o.utilization_ppm = r.util_ppm;
    o.block_size = r.block;
    if (r.non_torch_bytes != 0) o.non_torch_bytes = r.non_torch_bytes;
    ModelSpec m = model(std::string(r.model) == "qwen2-7b" ? "qwen2.5-7b" : r.model);
    // Qwen2-7B-Instruct: Qwen2.5-7B's shapes, max_position_embeddings 32,768.
    if (std::string(r.model) == "qwen2-7b") m.max_context = 32768;
    GpuSpec gpu = **catalog().find_gpu(r.gpu);
    if (r.gpu_total_gib_x100 != 0) {
      gpu.memory_bytes = gib_x100(r.gpu_total_gib_x100);
      gpu.custom = true; // the total as the log prints it
    }
    const VllmResult v = vllm_plan(m, format_of(r.format), Dtype::bf16, r.max_model_len, gpu, Parallel{r.tp, 1, false}, o);
    const auto check = [&](const char* what, double predicted_bytes, std::int64_t logged) {
      if (logged == none) return;
      const double want = static_cast<double>(logged) / 10000 * (1ull << 30);
      INFO(what << ": predicted " << predicted_bytes / (1ull << 30) << " GiB, logged " << want / (1ull << 30));
      CHECK(rel(predicted_bytes, want) < r.tolerance);
    };
    check("weights", static_cast<double>(v.weights_bytes), r.weights);
    check("activation", static_cast<double>(v.activation_bytes), r.activation);
    check("available KV", static_cast<double>(v.kv_budget_bytes), r.kv);
  }
}

TEST_CASE("gpt-oss-120b on one H100: the row's own arithmetic says utilization 0.95") {
  // vLLM 0.11 (gpu_worker.py determine_available_memory): available = total x utilization
  // - weights - activation peak - non-torch, every figure as the log prints it. In GiB x 100:
  // 64.38 + 7.38 + 0.13 + 3.33 = 75.22, where 0.9 x 79.18 = 71.26 and 0.95 x 79.18 = 75.22.
  const std::uint64_t logged_sum = 6438 + 738 + 13 + 333;
  CHECK(logged_sum == 7522);
  CHECK(79'18 * 95 / 100 == 7522); // 7522.1, truncated
  CHECK(79'18 * 90 / 100 == 7126); // 3.96 GiB short of the sum: not the table's 0.9
  // The same sum for the other single-GPU rows of that table is 0.9 x 79.18 (71.26), e.g.
  // gpt-oss-20b 13.47 + 7.38 + 0.13 + 50.28 and Llama-3.1-8B 14.99 + 4.76 + 0.13 + 51.38.
  CHECK(1347 + 738 + 13 + 5028 == 7126);
  CHECK(1499 + 476 + 13 + 5138 == 7126);
}

TEST_CASE("MXFP4 experts on Hopper: the triton_kernels layouts") {
  // gpt-oss-120b on one H100 (0.11): the width 2,880 is a multiple of 64 and the swizzled
  // weights need no padding (rows 5,760 and 2,880 are multiples of 16, byte columns 1,440 of
  // 32). Per expert the swizzled scales beside the originals: w13 rows 5,760 -> 5,888 (256) x
  // 90 = 529,920; w2 rows 2,880 -> 3,072 x 90 = 276,480; the biases in fp32, (5,760 + 2,880)
  // x 2 more bytes = 17,280: 823,680 bytes x 128 experts x 36 layers. Plus the rotary cache
  // 131,072 x 64 x 2 = 16,777,216.
  const ModelSpec& m = model("gpt-oss-120b");
  const GpuSpec& h100 = **catalog().find_gpu("h100");
  const VllmResult v = vllm_plan(m, format_of("mxfp4"), Dtype::bf16, 16000, h100, Parallel{}, version(11));
  const std::uint64_t shards = busiest_rank(m, format_of("mxfp4"), Dtype::bf16, 1, 0, Parallel{}).weights_bytes;
  CHECK(529'920 + 276'480 + 17'280 == 823'680);
  CHECK(v.weights_bytes == shards + 16'777'216ull + 823'680ull * 128 * 36);
  // tp 2: the width 1,440 pads to 1,472; scales w13 2,944 -> 3,072 x 90, w2 3,072 x 46
  const Parallel tp2{2, 1, false};
  const VllmResult v2 = vllm_plan(m, format_of("mxfp4"), Dtype::bf16, 16000, h100, tp2, version(11));
  const std::uint64_t shards2 = busiest_rank(m, format_of("mxfp4"), Dtype::bf16, 1, 0, tp2).weights_bytes;
  // create_weights' padding of one expert, 1,440 -> 1,472 (w13 64 x 1,440 + 64 x 90, w2
  // 2,880 x 16 + 2,880 x 1, biases 64 x 2):
  const std::uint64_t pad = 64 * 1440 + 64 * 90 + 2880 * 16 + 2880 * 1 + 64 * 2;
  const std::uint64_t scales = 3072 * 90 + 3072 * 46;
  const std::uint64_t bias32 = (2 * 1472 + 2880) * 2;
  CHECK(v2.weights_bytes == shards2 + 16'777'216ull + (pad + scales + bias32) * 128 * 36);
}

TEST_CASE("the GPU total vLLM budgets from is the one CUDA reports") {
  // H100 80GB: nvidia-smi 81,559 MiB; vLLM's log prints 79.18 GiB = 81,080 MiB
  CHECK(cuda_visible_bytes(**catalog().find_gpu("h100")) == 81080ull << 20);
  // no measurement: the driver's total less 512 MiB (RTX 4090: 24,564 - 512 MiB)
  CHECK(cuda_visible_bytes(**catalog().find_gpu("4090")) == (24564ull - 512) << 20);
  GpuSpec custom = gpu_with(24ull << 30);
  custom.custom = true;
  CHECK(cuda_visible_bytes(custom) == 24ull << 30);
}

TEST_CASE("MXFP4 experts as vLLM pads them") {
  const ModelSpec& m = model("gpt-oss-120b");
  VllmOptions o = version(10);
  // A100 (Marlin), tp 4: per GPU the expert width 2880 / 4 = 720 pads to 768, the hidden
  // size 2880 to 3072. One expert: w13 2*768*1536 + 2*768*96 scales, w2 3072*384 + 3072*24,
  // biases (1536 + 3072) x 2 = 3,769,344 bytes, against 2*720*1440 + 2*720*90 + 2880*360 +
  // 2880*23 + (1440 + 2880) x 2 = 3,314,880 unpadded: 454,464 more x 128 experts x 36 layers.
  // Plus the rotary cache 131,072 x 64 x 2 = 16,777,216; the vocabulary (201,088) is a
  // multiple of 64.
  const GpuSpec& a100 = **catalog().find_gpu("a100-80gb-sxm");
  const Parallel tp4{4, 1, false};
  const VllmResult v = vllm_plan(m, format_of("mxfp4"), Dtype::bf16, 16384, a100, tp4, o);
  const std::uint64_t shards = busiest_rank(m, format_of("mxfp4"), Dtype::bf16, 1, 0, tp4).weights_bytes;
  CHECK(v.weights_bytes == shards + 16'777'216ull + 454'464ull * 128 * 36);
}

TEST_CASE("pipeline parallel: each stage's cache holds its own layers") {
  // Llama-3.1-8B on 2 x H100, pp 2: 16 layers per stage, page 16 x 8 x 256 x 2 = 64 KiB;
  // the stage with the fewest blocks sets them, and a token costs 16 layers' KV, not 32.
  const ModelSpec& m = model("llama3.1-8b");
  const GpuSpec& h100 = **catalog().find_gpu("h100");
  const VllmResult pp = vllm_plan(m, format_of("bf16"), Dtype::bf16, 32768, h100, Parallel{1, 2, false}, version(11));
  CHECK(pp.group_size == 16);
  CHECK(pp.num_gpu_blocks == pp.kv_cache_memory_bytes / 65'536 / 16);
  CHECK(pp.needed_bytes == 2048ull * 65'536 * 16);
  const VllmResult tp = vllm_plan(m, format_of("bf16"), Dtype::bf16, 32768, h100, Parallel{2, 1, false}, version(11));
  CHECK(tp.group_size == 32);
  // pp 2 holds about as many tokens as tp 2 (each GPU keeps half of every token's KV)
  CHECK(rel(static_cast<double>(pp.kv_cache_tokens), static_cast<double>(tp.kv_cache_tokens)) < 0.1);
}

TEST_CASE("releases modelled") {
  CHECK(vllm_release_modelled(0, 10));
  CHECK(vllm_release_modelled(0, 11));
  CHECK(vllm_release_modelled(0, 21));
  CHECK(vllm_release_modelled(0, 6));
  CHECK_FALSE(vllm_release_modelled(0, 27));
  CHECK_FALSE(vllm_release_modelled(0, 15));
  CHECK_FALSE(vllm_release_modelled(1, 0));
}

TEST_CASE("weights as vLLM loads them: parameters + rotary cache") {
  // Llama-3.1-8B bf16: 8,030,261,248 x 2 = 16,060,522,496 bytes + cos/sin cache
  // 131,072 positions x 128 x 2 bytes = 33,554,432 -> 16,094,076,928 = 14.9888 GiB, as logged
  const VllmResult v = vllm_plan(model("llama3.1-8b"), format_of("bf16"), Dtype::bf16, 8192,
                                 **catalog().find_gpu("h100"), Parallel{}, version(21));
  CHECK(v.weights_bytes == 16'094'076'928ull);
}

TEST_CASE("defaults follow the GPU: >= 70 GiB (not A100) gets 8192 tokens and 1024 sequences") {
  const ModelSpec& m = model("llama3.1-8b");
  const VllmResult h100 = vllm_plan(m, format_of("bf16"), Dtype::bf16, 8192, **catalog().find_gpu("h100"), Parallel{}, version(21));
  const VllmResult a100 = vllm_plan(m, format_of("bf16"), Dtype::bf16, 8192, **catalog().find_gpu("a100-80gb"), Parallel{}, version(21));
  CHECK(h100.max_num_batched_tokens == 8192);
  CHECK(h100.max_num_seqs == 1024);
  CHECK(a100.max_num_batched_tokens == 2048);
  CHECK(a100.max_num_seqs == 256);
  CHECK(h100.utilization_ppm == 920000); // 0.92 since v0.21
  CHECK(h100.cuda_graph_bytes == (1ull << 29));
}

TEST_CASE("MLA block sizes and sliding-window groups") {
  // DeepSeek-R1 on H200: FlashMLA forces 64-token blocks; page = 64 x 576 x 2 bytes
  const VllmResult r1 = vllm_plan(model("deepseek-r1"), format_of("fp8-block"), Dtype::bf16, 32768,
                                  **catalog().find_gpu("h200"), Parallel{8, 1, false}, version(21));
  CHECK(r1.block_size == 64);
  CHECK(r1.page_bytes == 64 * 576 * 2);
  // gpt-oss-20b: 12 sliding + 12 full layers -> 2 groups of 12; page 16 x 8 x 128 x 2 = 32 KiB
  const VllmResult oss = vllm_blocks(model("gpt-oss-20b"), Dtype::bf16, 131072, 12ull << 30, Parallel{}, version(11),
                                     gpu_with(80ull << 30));
  CHECK(oss.num_groups == 2);
  CHECK(oss.group_size == 12);
  CHECK(oss.page_bytes == 32'768);
  // 12 GiB / 32 KiB / 12 = 32,768 blocks; reported (before 0.21) as 32,768 // 2 x 16 tokens
  CHECK(oss.num_gpu_blocks == 32'768);
  CHECK(oss.kv_cache_tokens == 262'144);
}

TEST_CASE("EAGLE drafter: its layer is one more in the cache") {
  // Llama-3.1-8B with an EAGLE drafter on an H100 (V1): "Available KV cache memory: 51.63 GiB",
  // "GPU KV cache size: 410,128 tokens", "Maximum concurrency for 131,072 tokens per request:
  // 3.13x". The drafter's decoder layer has the target's KV shape and joins its cache group:
  // 33 layers x 65,536 bytes a block = 2,162,688; 51.63 GiB = 55,437,290,373 bytes (the
  // log's two decimals) -> 25,633 blocks x 16 = 410,128 tokens; 25,633 / 8,192 = 3.129.
  ModelSpec m = model("llama3.1-8b");
  m.layers.push_back(m.layers.back());
  m.num_layers += 1;
  const VllmResult v = vllm_blocks(m, Dtype::bf16, 131072, gib_x100(5163), Parallel{}, version(10),
                                   gpu_with(80ull << 30));
  CHECK(gib_x100(5163) == 55'437'290'373ull);
  CHECK(v.num_gpu_blocks == 55'437'290'373ull / (33 * 65'536));
  CHECK(v.kv_cache_tokens == 410'128);
  CHECK(std::round(v.max_concurrency * 100) == 313);
}

TEST_CASE("MiniMax-M2 at tp 2: the KV one 196,608-token request needs") {
  // "To serve at least one request with the model's max seq len (196608), 23.25 GiB KV cache
  // is needed, which is larger than the available KV cache memory (22.5 GiB)" (MiniMax-M2.7
  // AWQ, 2 x DGX Spark, tp 2, vLLM 0.29.1rc1; M2.7 has MiniMax-M2's attention shapes).
  // Per rank and token: 62 layers x 2 x (8 / 2) KV heads x 128 x 2 bytes = 126,976;
  // x 196,608 = 24,964,497,408 bytes = 23.25 GiB exactly.
  const VllmResult v = vllm_blocks(model("minimax-m2"), Dtype::bf16, 196608, 22ull * (1ull << 30) + (1ull << 29),
                                   Parallel{2, 1, false}, version(21), gpu_with(119ull << 30));
  CHECK(v.needed_bytes == 196'608ull * 126'976);
  CHECK(v.needed_bytes == 2325ull * (1ull << 30) / 100);
  CHECK_FALSE(v.starts);
}

TEST_CASE("R1-Distill-Qwen-14B at tp 2 (V0): the quoted KV memory is not the rank that limits") {
  // 2 x RTX 4090, tp 2, max_model_len 131,072. The quoted "rest of the memory reserved for KV
  // Cache is only 8.69GiB" comes with the VllmWorkerProcess's lines (the second rank); the same
  // log refuses to start with "the maximum number of tokens that can be stored in KV cache
  // (81536)", which is the first rank's (V0 keeps the fewest blocks of any rank). Per rank a
  // block is 16 tokens x 48 layers x 2 x (8 / 2) KV heads x 128 x 2 bytes = 1,572,864 bytes.
  const ModelSpec& m = model("qwen2.5-14b");
  const Parallel tp2{2, 1, false};
  const VllmResult second = vllm_blocks(m, Dtype::bf16, 131072, gib_x100(869), tp2, version(7), gpu_with(24ull << 30));
  CHECK(second.page_bytes * 48 == 1'572'864);
  CHECK(second.num_gpu_blocks == gib_x100(869) / 1'572'864); // 5,932 blocks, 94,912 tokens
  CHECK(second.kv_cache_tokens == 94'912);
  // 81,536 tokens are 5,096 blocks: the first rank held at most 5,097 blocks, 7.47 GiB, 1.2 GiB
  // less than the quoted second rank.
  CHECK(81'536 / 16 == 5'096);
  const std::uint64_t first_rank_at_most = 5'097ull * 1'572'864;
  CHECK(first_rank_at_most < gib_x100(748));
  CHECK(gib_x100(869) - first_rank_at_most > gib_x100(120));
  // The first rank samples: V0's profile run sorts 256 x 152,064 logits for top-k/top-p (1.45
  // GiB of activation, where the second rank logs 0.19). From the GPU alone vramcalc gives that
  // rank 23.49 GiB x 0.98 - 13.79 weights - 1.45 - 0.25 non-torch = 7.53 GiB: 5,142 blocks
  // against the 5,096 the log's 81,536 tokens are (+0.9%).
  VllmOptions o = version(7);
  o.utilization_ppm = 980'000; // the run's --gpu-memory-utilization 0.98
  const VllmResult first = vllm_plan(m, format_of("bf16"), Dtype::bf16, 131072, **catalog().find_gpu("rtx-4090"), tp2, o);
  INFO("predicted " << first.num_gpu_blocks << " blocks");
  CHECK(rel(static_cast<double>(first.num_gpu_blocks), 5096.0) < 0.02);
  CHECK(rel(static_cast<double>(first.kv_cache_tokens), 81536.0) < 0.02);
}

TEST_CASE("Llama-3.1-8B on an H100 NVL: the KV cache tokens from the GPU alone") {
  // "NVIDIA H100 NVL | FlashAttention 3 | 545,456 tokens" (max_model_len 32,768; the same
  // benchmark notes as the A100 40GB row, whose release is taken as 0.10 above). The GPU
  // total is the catalog's CUDA figure (nvidia-smi less 512 MiB: no H100 NVL log prints it).
  VllmOptions o = version(10);
  const VllmResult v = vllm_plan(model("llama3.1-8b"), format_of("bf16"), Dtype::bf16, 32768,
                                 **catalog().find_gpu("h100-nvl"), Parallel{}, o);
  INFO("predicted " << v.kv_cache_tokens << " tokens");
  CHECK(rel(static_cast<double>(v.kv_cache_tokens), 545456.0) < 0.02);
}

TEST_CASE("V0 turns chunked prefill on above 32K: the profile run is 2,048 tokens") {
  // Qwen2.5-14B at tp 2 on RTX 4090s, V0. At 131,072 tokens chunked prefill is on: a step is
  // 2,048 tokens; the forward 2,048 x (2 x 5,120 + 3 x 13,824 / 2) x 2 bytes = 126,877,696
  // with its logits, 256 rows x 152,064 x 6 bytes = 233,570,304: 360,448,000. The sampler's
  // sort is larger: the forward's output 2,048 x 5,120 x 2 = 20,971,520, 52 MiB of cuBLAS
  // workspaces and 38 bytes a logit, 256 x 152,064 x 38 = 1,479,278,592: 1,554,776,064.
  const ModelSpec& m = model("qwen2.5-14b");
  const GpuSpec& g = **catalog().find_gpu("rtx-4090");
  const Parallel tp2{2, 1, false};
  const VllmResult chunked = vllm_plan(m, format_of("bf16"), Dtype::bf16, 131072, g, tp2, version(7));
  CHECK(chunked.max_num_batched_tokens == 2048);
  CHECK(chunked.max_num_seqs == 256);
  CHECK(2048ull * (2 * 5120 + 3 * 13824 / 2) * 2 + 256ull * 152064 * 6 == 360'448'000ull);
  CHECK(chunked.activation_bytes == 2048ull * 5120 * 2 + (52ull << 20) + 256ull * 152064 * 38);
  CHECK(chunked.activation_bytes == 1'554'776'064ull);
  CHECK(chunked.non_torch_bytes == (1ull << 30) / 4); // several GPUs before 0.11
  // At 32,768 tokens (not above 32K) a step holds a whole prompt.
  const VllmResult whole = vllm_plan(m, format_of("bf16"), Dtype::bf16, 32768, g, tp2, version(7));
  CHECK(whole.max_num_batched_tokens == 32768);
  // One GPU, V0: non-torch 16 MiB (the V0 logs: 0.01 and 0.02 GiB).
  CHECK(vllm_plan(m, format_of("bf16"), Dtype::bf16, 8192, **catalog().find_gpu("h100"), Parallel{}, version(6))
            .non_torch_bytes == 16ull << 20);
}

TEST_CASE("From 0.25 dense models run on the V2 model runner: no CUDA-graph estimate") {
  const GpuSpec& h100 = **catalog().find_gpu("h100");
  const auto graphs = [&](const char* name, std::uint32_t minor, bool eager = false) {
    VllmOptions o = version(minor);
    o.enforce_eager = eager;
    return vllm_plan(model(name), format_of("bf16"), Dtype::bf16, 8192, h100, Parallel{}, o).cuda_graph_bytes;
  };
  CHECK(graphs("llama3.1-8b", 21) == 512ull << 20); // V1 runner, the 0.21 estimate
  CHECK(graphs("llama3.1-8b", 24) == 512ull << 20);
  CHECK(graphs("llama3.1-8b", 25) == 0);            // V2 runner: profile_cudagraph_memory returns 0
  CHECK(graphs("llama3.1-8b", 27) == 0);
  CHECK(graphs("qwen3-30b-a3b", 27) == 512ull << 20); // MoE: still the V1 runner
  CHECK(graphs("qwen3-30b-a3b", 27, true) == 0);
  CHECK(graphs("llama3.1-8b", 11) == 0);            // before 0.21, out of the headroom
  // The RTX 4080 log (0.26, 15.99 GiB as logged, utilization 0.9): requested = floor(15.99
  // GiB x 0.9) and available = requested - weights - activation - non-torch, nothing else.
  GpuSpec g = **catalog().find_gpu("rtx-4080");
  g.memory_bytes = gib_x100(1599);
  g.custom = true;
  VllmOptions o = version(26);
  o.utilization_ppm = 900000;
  const VllmResult v = vllm_plan(model("qwen2.5-7b"), format_of("awq"), Dtype::bf16, 32768, g, Parallel{}, o);
  CHECK(v.requested_bytes == gib_x100(1599) * 9 / 10);
  CHECK(v.kv_budget_bytes == static_cast<std::int64_t>(v.requested_bytes - v.weights_bytes - v.activation_bytes -
                                                       v.non_torch_bytes));
}

TEST_CASE("Gemma 4 31B: the global layers' smaller page holds 32 tokens a block") {
  // Per token and layer (bf16, tp 1): sliding K + V 2 x 16 x 256 x 2 = 16,384; global (4 KV
  // heads of 512, K = V still cached twice) 2 x 4 x 512 x 2 = 8,192. vLLM gives each layer a
  // 16-token block, then unify_kv_cache_spec_page_size raises the global layers' block to
  // 16 x 16,384 / 8,192 = 32 tokens so every page is 262,144 bytes.
  const VllmResult v = vllm_blocks(model("gemma-4-31b"), Dtype::bf16, 131072, 40ull << 30, Parallel{}, version(21),
                                   gpu_with(80ull << 30));
  CHECK(v.block_size == 16);
  CHECK(v.widest_block_size == 32);
  CHECK(v.page_bytes == 262'144);
  // 50 sliding and 10 global layers: groups of min(50, 10) = 10 layers, 5 + 1 = 6 groups
  CHECK(v.group_size == 10);
  CHECK(v.num_groups == 6);
  // 40 GiB / 262,144 / 10 = 16,384 blocks
  CHECK(v.num_gpu_blocks == 16'384);
  // one 131,072-token request, 8,192 tokens batched: a sliding group
  // cdiv(1,023 + 8,192, 16) + 1 = 577 blocks, 5 of them; the global group cdiv(131,072, 32) = 4,096
  // blocks: 2,885 + 4,096 = 6,981 blocks x 10 layers x 262,144 = 18,300,272,640 bytes
  CHECK(v.max_num_batched_tokens == 8192);
  CHECK(v.needed_bytes == 18'300'272'640ull);
  CHECK(v.max_concurrency == Approx(16384.0 / 6981.0));
}
