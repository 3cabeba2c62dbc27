// vLLM's KV budget, blocks, tokens and concurrency against its own start-up logs
// (tests/data/measurements.md lists each log line with its source).
#include "helpers.hpp"
#include "vramcalc/engine.hpp"

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

TEST_CASE("available KV memory predicted from the GPU alone is within 5% of the logs") {
  struct Row {
    const char* model;
    const char* format;
    std::uint64_t total_bytes; // the GPU's total memory as the log (or the catalog) gives it
    std::uint32_t util_bp;
    std::uint64_t max_model_len;
    std::uint32_t minor;
    std::uint64_t non_torch_bytes; // 0: vramcalc's estimate; else the log's own figure
    std::uint64_t expected_gib_x100;
    const char* what;
  };
  const Row rows[] = {
      {"qwen2.5-1.5b", "fp16", gib_x100(1456), 5000, 32768, 6, 0, 236, "T4 (14.56 GiB), util 0.5, V0"},
      {"llama3.1-8b", "bf16", 40ull << 30, 9000, 32768, 10, 0, 1992, "A100 40GB, V1"},
      // The RTX 3090 logs count 0.35 GiB of other processes' memory as non-torch (a desktop
      // GPU); the test takes that figure from the log.
      {"llama3.1-8b", "bf16", gib_x100(2358), 9000, 20000, 6, gib_x100(35), 381, "RTX 3090, 20000 tokens, V0"},
      {"llama3.1-8b", "bf16", gib_x100(2358), 9000, 29000, 6, gib_x100(35), 289, "RTX 3090, 29000 tokens, V0"},
      {"qwen2.5-7b", "awq", gib_x100(1599), 9000, 32768, 11, 0, 800, "16 GB card, AWQ, V1 before 0.21"},
  };
  for (const Row& r : rows) {
    INFO(r.what);
    VllmOptions o = version(r.minor);
    o.utilization_bp = r.util_bp;
    if (r.non_torch_bytes != 0) o.non_torch_bytes = r.non_torch_bytes;
    const VllmResult v = vllm_plan(model(r.model), fmt_of(r.format), Dtype::bf16, r.max_model_len,
                                   gpu_with(r.total_bytes), Parallel{}, o);
    INFO("predicted " << static_cast<double>(v.kv_cache_memory_bytes) / (1ull << 30) << " GiB");
    CHECK(rel(static_cast<double>(v.kv_cache_memory_bytes), static_cast<double>(gib_x100(r.expected_gib_x100))) < 0.05);
  }
}

TEST_CASE("weights as vLLM loads them: parameters + rotary cache") {
  // Llama-3.1-8B bf16: 8,030,261,248 x 2 = 16,060,522,496 bytes + cos/sin cache
  // 131,072 positions x 128 x 2 bytes = 33,554,432 -> 16,094,076,928 = 14.9888 GiB, as logged
  const VllmResult v = vllm_plan(model("llama3.1-8b"), fmt_of("bf16"), Dtype::bf16, 8192,
                                 **catalog().find_gpu("h100"), Parallel{}, version(21));
  CHECK(v.weights_bytes == 16'094'076'928ull);
}

TEST_CASE("defaults follow the GPU: >= 70 GiB (not A100) gets 8192 tokens and 1024 sequences") {
  const ModelSpec& m = model("llama3.1-8b");
  const VllmResult h100 = vllm_plan(m, fmt_of("bf16"), Dtype::bf16, 8192, **catalog().find_gpu("h100"), Parallel{}, version(21));
  const VllmResult a100 = vllm_plan(m, fmt_of("bf16"), Dtype::bf16, 8192, **catalog().find_gpu("a100-80gb"), Parallel{}, version(21));
  CHECK(h100.max_num_batched_tokens == 8192);
  CHECK(h100.max_num_seqs == 1024);
  CHECK(a100.max_num_batched_tokens == 2048);
  CHECK(a100.max_num_seqs == 256);
  CHECK(h100.utilization_bp == 9200); // 0.92 since v0.21
  CHECK(h100.cuda_graph_bytes == (1ull << 29));
}

TEST_CASE("MLA block sizes and sliding-window groups") {
  // DeepSeek-R1 on H200: FlashMLA forces 64-token blocks; page = 64 x 576 x 2 bytes
  const VllmResult r1 = vllm_plan(model("deepseek-r1"), fmt_of("fp8-block"), Dtype::bf16, 32768,
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
