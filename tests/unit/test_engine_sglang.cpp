// SGLang's static fraction, KV pool and token count, with the arithmetic written out, and
// against its own start-up logs (tests/data/sglang/logs.md lists each line with its source).
#include "helpers.hpp"
#include "../support/engine_cases.hpp"
#include "vramcalc/engine.hpp"

#include <cmath>
#include <memory>

using namespace vramcalc;
using vramcalc::test::catalog;
using vramcalc::test::catalog_gpu;
using vramcalc::test::format_of;
using vramcalc::test::gpu_of_bytes;
using vramcalc::test::model;

namespace {

SglangOptions fraction(std::uint32_t ppm) {
  SglangOptions o;
  o.mem_fraction_static_ppm = ppm;
  return o;
}

constexpr std::uint64_t gib = 1ull << 30;
constexpr double gib_d = 1073741824.0;

// vramcalc / logged - 1.
double rel(double ours, double logged) { return ours / logged - 1; }

} // namespace

TEST_CASE("SGLang: the default static fraction from the GPU's memory, chunk, graph batch and tp", "[sglang]") {
  const ModelSpec& m = model("llama3.1-8b");
  // H100 80GB: nvidia-smi 81,559 MiB (60-90 GiB: chunk 8192, graph bs 256 below tp 4).
  // reserved = 512 + 1.5 x 8192 + 2 x 256 + 1 x 1 / 8 x 1024 = 512 + 12288 + 512 + 128 =
  // 13,440 MiB (over the 10,240 floor); (81559 - 13440) / 81559 = 0.83521 -> 0.835, as the
  // docs notebook's server_args print (logs.md, docs-0.5B).
  const SglangResult h = sglang_plan(m, format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("h100"), Parallel{}, {});
  CHECK(h.gpu_mem_mib == 81559);
  CHECK(h.chunked_prefill_size == 8192);
  CHECK(h.cuda_graph_max_bs == 256);
  CHECK(h.reserved_bytes == 13440ull << 20);
  CHECK(h.mem_fraction_static_ppm == 835000);
  CHECK_FALSE(h.fraction_given);
  // 4x L4 at tp 4: 23,034 MiB (20-35 GiB: chunk 2048, graph bs 80 at tp >= 4): 512 + 3072 +
  // 160 + 4 / 8 x 1024 = 4,256 MiB, no floor below 60 GiB; (23034 - 4256) / 23034 = 0.81523.
  const SglangResult l = sglang_plan(m, format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("l4"), Parallel{4, 1, false}, {});
  CHECK(l.cuda_graph_max_bs == 80);
  CHECK(l.reserved_bytes == 4256ull << 20);
  CHECK(l.mem_fraction_static_ppm == 815000);
  // 8x H200 at tp 8: 143,771 MiB (90-160 GiB: 8192, bs 512): 512 + 12288 + 1024 + 1024 =
  // 14,848 MiB; (143771 - 14848) / 143771 = 0.89672 -> 0.897.
  const SglangResult h200 = sglang_plan(m, format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("h200"), Parallel{8, 1, false}, {});
  CHECK(h200.reserved_bytes == 14848ull << 20);
  CHECK(h200.mem_fraction_static_ppm == 897000);
  SglangOptions no_chunk;
  // --chunked-prefill-size -1: max_prefill_tokens 16384 counts instead: 512 + 1.5 x 16384 +
  // 512 + 128 = 25,728 MiB.
  no_chunk.chunked_prefill_size = 0;
  const SglangResult n = sglang_plan(m, format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("h100"), Parallel{}, no_chunk);
  CHECK(n.reserved_bytes == 25728ull << 20);
  CHECK(n.mem_fraction_static_ppm == 685000); // (81559 - 25728) / 81559 = 0.68454
}

TEST_CASE("SGLang: MHA pool, Llama-3.1-8B on one H100 (exact bytes; logs within 0.6%)", "[sglang]") {
  const ModelSpec& m = model("llama3.1-8b");
  const SglangResult r = sglang_plan(m, format_of("bf16"), Dtype::bf16, 131072, catalog_gpu("h100"), Parallel{}, fraction(880000));
  // Free before the weights: the CUDA total 85,018,542,080 - 420 MiB (440,401,920) =
  // 84,578,140,160; x 0.88 = 74,428,763,340.8 -> 74,428,763,340; weights 8,030,261,248
  // params x 2 = 16,060,522,496; the pool 58,368,240,844 bytes.
  CHECK(r.total_gpu_memory_bytes == 84578140160ull);
  CHECK(r.static_bytes == 74428763340ull);
  CHECK(r.weights_bytes == 16060522496ull);
  CHECK(r.rest_bytes == 58368240844ll);
  // cell = 8 KV heads x 128 x 32 layers x 2 (K, V) x 2 bytes = 131,072; 58,368,240,844 /
  // 131,072 = 445,314.3.
  CHECK(r.cell_bytes == 131072);
  CHECK(r.max_total_num_tokens == 445314);
  CHECK(r.kv_pool_bytes == 445314ull * 131072);
  // max_running_requests: min(max(445314 x 512 / 131072 = 1739, 2048), 4096) = 2048.
  CHECK(r.max_running_requests == 2048);
  CHECK(r.starts);
  // The logs (logs.md H100-8B-a, -b) at 0.88: 444,500 and 442,750 tokens.
  CHECK(std::abs(445314.0 / 444500 - 1) < 0.002);
  CHECK(std::abs(445314.0 / 442750 - 1) < 0.006);
  // fp8 KV halves the cell: 65,536 bytes, twice the tokens (58,368,240,844 / 65,536 = 890,628.6).
  const SglangResult f8 = sglang_plan(m, format_of("bf16"), Dtype::f8_e4m3, 131072, catalog_gpu("h100"), Parallel{}, fraction(880000));
  CHECK(f8.cell_bytes == 65536);
  CHECK(f8.max_total_num_tokens == 890628);
  // --page-size 64: whole pages, 445,314 -> 6,958 x 64 = 445,312.
  SglangOptions paged = fraction(880000);
  paged.page_size = 64;
  CHECK(sglang_plan(m, format_of("bf16"), Dtype::bf16, 131072, catalog_gpu("h100"), Parallel{}, paged).max_total_num_tokens == 445312);
}

TEST_CASE("SGLang: MLA pool, DeepSeek-V2-Lite on one H100 with the default fraction (exact bytes)", "[sglang]") {
  const ModelSpec& m = model("deepseek-v2-lite");
  const SglangResult r = sglang_plan(m, format_of("bf16"), Dtype::bf16, 32768, catalog_gpu("h100"), Parallel{}, {});
  // 0.835 (the H100 derivation above): 84,578,140,160 x 0.835 = 70,622,747,033.6 -> 70,622,747,033;
  // weights 15,706,484,224 params x 2 = 31,412,968,448; the pool 39,209,778,585 bytes.
  CHECK(r.static_bytes == 70622747033ull);
  CHECK(r.weights_bytes == 31412968448ull);
  CHECK(r.rest_bytes == 39209778585ll);
  // cell = (kv_lora_rank 512 + qk_rope_head_dim 64) x 27 layers x 2 bytes = 31,104 (the latent,
  // not divided by tp); 39,209,778,585 / 31,104 = 1,260,602.5.
  CHECK(r.cell_bytes == 31104);
  CHECK(r.max_total_num_tokens == 1260602);
  // min(max(1260602 x 512 / 32768 = 19,696, 2048), 4096) = 4096.
  CHECK(r.max_running_requests == 4096);
  // fp8_e5m2: one byte per element, 15,552 a token: 2,521,204 tokens.
  const SglangResult f8 = sglang_plan(m, format_of("bf16"), Dtype::f8_e5m2, 32768, catalog_gpu("h100"), Parallel{}, {});
  CHECK(f8.cell_bytes == 15552);
  CHECK(f8.max_total_num_tokens == 2521204);
  // At tp 2 the latent is still whole on each GPU: the same cell.
  CHECK(sglang_plan(m, format_of("bf16"), Dtype::bf16, 32768, catalog_gpu("h100"), Parallel{2, 1, false}, {}).cell_bytes == 31104);
}

TEST_CASE("SGLang: the pool formula against the logs' own figures", "[sglang]") {
  // profile_max_num_token: int((avail - total x (1 - f)) x 2^30 // cell), avail and total in
  // GiB as the log prints them (two decimals: each +/- 0.005 GiB, about +/- 90 tokens at a
  // 64 KiB cell and +/- 45 at 128 KiB).
  const auto tokens = [](double avail, double total, double f, double cell) {
    return std::floor((avail - total * (1 - f)) * gib / cell);
  };
  // L4-QwQ: 64 layers, 8 KV heads / tp 4 = 2 x 128 x 2 x 2 bytes = 65,536; logged 46,611.
  CHECK(std::abs(tokens(6.09, 21.63, 0.85, 65536) - 46611) < 90);
  // H100-8B-a: 131,072 a token; logged 444,500.
  CHECK(std::abs(tokens(63.72, 78.81, 0.88, 131072) - 444500) < 45);
  // H100-8B-b: logged 442,750 (total = 63.48 + 15.11 from its "mem usage").
  CHECK(std::abs(tokens(63.48, 78.59, 0.88, 131072) - 442750) < 45);
  // The same cells from the catalog's models.
  const SglangResult q = sglang_plan(model("qwq-32b"), format_of("bf16"), Dtype::bf16, 131072, catalog_gpu("l4"),
                                     Parallel{4, 1, false}, fraction(850000));
  CHECK(q.cell_bytes == 65536);
}

TEST_CASE("SGLang: whole-model predictions against the logs, and where they differ", "[sglang]") {
  // L4-QwQ: free before the weights 21.99 GiB CUDA total - 420 MiB = 21.58 GiB (log 21.63);
  // the shards 15.26 GiB where the log's load took 15.54 GiB: the 0.28 GiB more it holds after
  // loading (not modelled) is 4,600 tokens of a 64 KiB cell, so vramcalc says 50,603 where
  // SGLang logged 46,611 (+8.6%; docs/engines.md).
  const SglangResult q = sglang_plan(model("qwq-32b"), format_of("bf16"), Dtype::bf16, 131072, catalog_gpu("l4"),
                                     Parallel{4, 1, false}, fraction(850000));
  CHECK(q.max_total_num_tokens == 50603);
  CHECK(std::abs(static_cast<double>(q.total_gpu_memory_bytes) / gib - 21.63) < 0.06);
  CHECK(std::abs(static_cast<double>(q.weights_bytes) / gib - 15.54) < 0.3);
  // 0 requests of 131,072 tokens fit: 50,603 < 131,072.
  CHECK(q.max_total_num_tokens < 131072);
}

TEST_CASE("SGLang: the pool formula against the newer logs' own figures (logs.md, issue 16 rows)", "[sglang]") {
  // profile_max_num_token on each log's printed "avail mem" figures (GiB, two decimals) and its
  // fraction, the cell from vramcalc's plan of the catalog model: within 2% of the logged #tokens.
  const auto tokens = [](double avail, double total, double f, double cell) {
    return std::floor((avail - total * (1 - f)) * gib_d / cell);
  };
  // RTX3090-R1Q7B: DeepSeek-R1-Distill-Qwen-7B = Qwen2.5-7B's shapes: 4 KV heads x 128 x 28 layers
  // x 2 x 2 bytes = 57,344. (8.37 - 22.76 x 0.12) GiB / 57,344 = 105,584; logged 105,531.
  const SglangResult r7 = sglang_plan(model("qwen2.5-7b"), format_of("bf16"), Dtype::bf16, 131072, catalog_gpu("rtx-3090"),
                                      Parallel{}, fraction(880000));
  CHECK(r7.cell_bytes == 57344);
  const double t7 = tokens(8.37, 22.76, 0.88, static_cast<double>(r7.cell_bytes));
  CHECK(t7 == 105584);
  CHECK(std::abs(rel(t7, 105531)) < 0.001);
  // Its "K size: 2.82 GB" is half the pool: 105,531 x 28,672 bytes = 2.818 GiB.
  CHECK(std::abs(105531.0 * static_cast<double>(r7.cell_bytes / 2) / gib_d - 2.82) < 0.005);
  // 24G-8B: Llama-3.1-8B, 131,072 a token; at 0.88 (7.37 - 22.39 x 0.12) / 131,072 = 38,364
  // against 38,141 (+0.58%, as H100-8B-b: the fraction derived from the log is 0.879).
  const SglangResult l8 = sglang_plan(model("llama3.1-8b"), format_of("bf16"), Dtype::bf16, 131072, catalog_gpu("rtx-3090"),
                                      Parallel{}, fraction(880000));
  const double t8 = tokens(7.37, 22.39, 0.88, static_cast<double>(l8.cell_bytes));
  CHECK(t8 == 38364);
  CHECK(std::abs(rel(t8, 38141)) < 0.006);
  // A48-Q3-14B: Qwen3-14B, 8 KV heads x 128 x 40 layers x 2 x 2 = 163,840; 91,758 against 91,749.
  const SglangResult q14 = sglang_plan(model("qwen3-14b"), format_of("bf16"), Dtype::bf16, 40960,
                                       gpu_of_bytes(49140ull << 20), Parallel{}, fraction(880000));
  CHECK(q14.cell_bytes == 163840);
  const double t14 = tokens(19.67, 47.24, 0.88, static_cast<double>(q14.cell_bytes));
  CHECK(t14 == 91758);
  CHECK(std::abs(rel(t14, 91749)) < 0.001);
  // T16-0.5B: Qwen2.5-0.5B, 2 KV heads x 64 x 24 layers x 2 x 2 = 12,288; at 0.15 (13.72 - 14.70 x
  // 0.85) / 12,288 = 107,042 against 107,319 (-0.26%; the printed rounding is +/- 0.009 GiB =
  // +/- 800 tokens of this cell).
  const SglangResult q05 = sglang_plan(model("qwen2.5-0.5b"), format_of("bf16"), Dtype::bf16, 2048, catalog_gpu("t4"),
                                       Parallel{}, fraction(150000));
  CHECK(q05.cell_bytes == 12288);
  const double t05 = tokens(13.72, 14.70, 0.15, static_cast<double>(q05.cell_bytes));
  CHECK(t05 == 107042);
  CHECK(std::abs(t05 - 107319) < 800);
  // Its load: 0.92 GiB of shards (494,032,768 params x 2, tied embeddings) against "mem usage=0.98".
  CHECK(std::abs(static_cast<double>(q05.weights_bytes) / gib_d - 0.98) < 0.07);
  // H100x4-Q3-235B: 4 KV heads / tp 4 = 1 x 128 x 94 layers x 2 x 2 = 48,128; "K size: 8.23 GB" =
  // 367,404 x 24,064 bytes.
  const SglangResult q235 = sglang_plan(model("qwen3-235b-a22b"), format_of("fp8-block"), Dtype::bf16, 40960, catalog_gpu("h100"),
                                        Parallel{4, 1, false}, fraction(930000));
  CHECK(q235.cell_bytes == 48128);
  CHECK(std::abs(367404.0 * static_cast<double>(q235.cell_bytes / 2) / gib_d - 8.23) < 0.005);
  // MI355X-Q3-30B: 4 KV heads x 128 x 48 layers x 2 x 2 = 98,304; the logged budget 219,721,119,039
  // bytes is 287.18 GiB x 0.911 - 56.98 GiB from the log's own figures (within their rounding).
  const SglangResult q30 = sglang_plan(model("qwen3-30b-a3b"), format_of("bf16"), Dtype::bf16, 262144, catalog_gpu("mi355x"),
                                       Parallel{}, {});
  CHECK(q30.cell_bytes == 98304);
  CHECK(std::abs((230.20 + 56.98) * 0.911 - 56.98 - 219721119039.0 / gib_d) < 0.02);
  CHECK(219721119039ull / q30.cell_bytes == 2235118);
}

TEST_CASE("SGLang: the newer logs from the GPU alone: free memory within 5%, the pool, and why it differs", "[sglang]") {
  // RTX3090-R1Q7B (0.88 printed): 23.58 GiB CUDA total - 420 MiB = 23.17 GiB free before the
  // weights against the logged 22.76 (+1.8%).
  const SglangResult a = sglang_plan(model("qwen2.5-7b"), format_of("bf16"), Dtype::bf16, 131072, catalog_gpu("rtx-3090"),
                                     Parallel{}, fraction(880000));
  CHECK(std::abs(rel(static_cast<double>(a.total_gpu_memory_bytes) / gib_d, 22.76)) < 0.02);
  // 23.17 x 0.88 - 14.19 GiB (7,615,616,512 params x 2) = 6.20 GiB: 116,173 tokens against 105,531
  // (+10.1%). The Windows desktop held 0.41 GiB more before the start (0.36 GiB of pool) and the
  // load took 14.39 GiB (22.76 - 8.37) where the shards are 14.19.
  CHECK(a.weights_bytes == 15231233024ull);
  CHECK(a.max_total_num_tokens == 116173);
  CHECK(std::abs(rel(static_cast<double>(a.max_total_num_tokens), 105531) - 0.101) < 0.001);
  // Both of the log's figures entered: the memory in use before the weights (--overhead) and the
  // load's extra, taken off the pool: within 0.1% of the log.
  SglangOptions own = fraction(880000);
  own.init_bytes = a.cuda_memory_bytes - static_cast<std::uint64_t>(std::llround(22.76 * gib_d));
  const SglangResult a2 = sglang_plan(model("qwen2.5-7b"), format_of("bf16"), Dtype::bf16, 131072, catalog_gpu("rtx-3090"),
                                      Parallel{}, own);
  const double load_extra = (22.76 - 8.37) * gib_d - static_cast<double>(a2.weights_bytes);
  CHECK(std::abs(rel((static_cast<double>(a2.rest_bytes) - load_extra) / 57344, 105531)) < 0.001);

  // 24G-8B, taken as an RTX 3090 at 0.88: 23.17 GiB against 22.39 (+3.5%); 44,498 tokens against
  // 38,141 (+16.7%): the desktop's 0.78 GiB at 0.88 is 5,600 tokens of a 128 KiB cell.
  const SglangResult b = sglang_plan(model("llama3.1-8b"), format_of("bf16"), Dtype::bf16, 131072, catalog_gpu("rtx-3090"),
                                     Parallel{}, fraction(880000));
  CHECK(std::abs(rel(static_cast<double>(b.total_gpu_memory_bytes) / gib_d, 22.39)) < 0.05);
  CHECK(b.max_total_num_tokens == 44498);
  SglangOptions own_b = fraction(880000);
  own_b.init_bytes = b.cuda_memory_bytes - static_cast<std::uint64_t>(std::llround(22.39 * gib_d));
  const SglangResult b2 = sglang_plan(model("llama3.1-8b"), format_of("bf16"), Dtype::bf16, 131072, catalog_gpu("rtx-3090"),
                                      Parallel{}, own_b);
  // With the log's free memory: 38,878 (+1.9%); the rest is the load's 0.06 GiB and the fraction
  // (0.879 derived).
  CHECK(std::abs(rel(static_cast<double>(b2.max_total_num_tokens), 38141)) < 0.02);
  CHECK(rel(static_cast<double>(b.max_total_num_tokens), 38141) > 0.16);

  // A48-Q3-14B on a 49,140 MiB card (given, as --gpu-mem): 47.58 GiB against 47.24 (+0.7%);
  // 94,113 tokens against 91,749 (+2.6%: 0.34 GiB more free, 0.30 GiB of pool).
  const SglangResult c = sglang_plan(model("qwen3-14b"), format_of("bf16"), Dtype::bf16, 40960,
                                     gpu_of_bytes(49140ull << 20), Parallel{}, fraction(880000));
  CHECK(std::abs(rel(static_cast<double>(c.total_gpu_memory_bytes) / gib_d, 47.24)) < 0.01);
  CHECK(c.max_total_num_tokens == 94113);
  CHECK(std::abs(rel(static_cast<double>(c.max_total_num_tokens), 91749)) < 0.03);

  // H100x4-Q3-235B at tp 4, 0.93, block FP8: 404,570 tokens against 367,404 (+10.1%): 18.13 GiB of
  // pool per GPU where SGLang's is 367,404 x 48,128 = 16.47 GiB. The 1.67 GiB is 0.93 x 1.79 GiB more in use
  // before the weights than 420 MiB: NVLink tp runs hold ~2 GiB there (pull request #11716: "Init
  // torch distributed ends. mem usage=2.01 GB", 137.29 GiB free of an H200's 139.49).
  const SglangResult d = sglang_plan(model("qwen3-235b-a22b"), format_of("fp8-block"), Dtype::bf16, 40960, catalog_gpu("h100"),
                                     Parallel{4, 1, false}, fraction(930000));
  CHECK(d.max_total_num_tokens == 404570);
  CHECK(std::abs(rel(static_cast<double>(d.max_total_num_tokens), 367404) - 0.101) < 0.001);
  const double missing = static_cast<double>(d.rest_bytes) - 367404.0 * 48128;
  CHECK(std::abs(missing / gib_d - 1.67) < 0.01);
  CHECK(std::abs(missing / 0.93 / gib_d - 1.79) < 0.01);
  const SglangResult h200 = sglang_plan(model("qwen3-235b-a22b"), format_of("fp8-block"), Dtype::bf16, 40960, catalog_gpu("h200"),
                                        Parallel{8, 1, false}, {});
  CHECK(std::abs(static_cast<double>(h200.total_gpu_memory_bytes) / gib_d - 139.49) < 0.005);
  CHECK(std::abs(rel(static_cast<double>(h200.total_gpu_memory_bytes) / gib_d, 137.29)) < 0.02);

  // MI355X-Q3-30B, the default fraction: 294,896 MiB is over 160 GiB: chunk 16,384, graph batch
  // 512; 512 + 24,576 + 1,024 + 128 = 26,240 MiB; (294,896 - 26,240) / 294,896 = 0.91102 -> 0.911,
  // as printed.
  const SglangResult e = sglang_plan(model("qwen3-30b-a3b"), format_of("bf16"), Dtype::bf16, 262144, catalog_gpu("mi355x"),
                                     Parallel{}, {});
  CHECK(e.gpu_mem_mib == 294896);
  CHECK(e.reserved_bytes == 26240ull << 20);
  CHECK(e.mem_fraction_static_ppm == 911000);
  // 287.98 GiB (an AMD card: taken as given) - 420 MiB = 287.57 GiB against 287.20 (issue #18262)
  // and 287.18 (+0.13%); weights 56.87 GiB against 56.98; the budget 220,234,759,438 bytes against
  // 219,721,119,039 (+0.23%): 2,240,343 tokens against 2,235,118.
  CHECK(std::abs(rel(static_cast<double>(e.total_gpu_memory_bytes) / gib_d, 287.20)) < 0.002);
  CHECK(std::abs(static_cast<double>(e.weights_bytes) / gib_d - 56.98) < 0.12);
  CHECK(e.rest_bytes == 220234759438ll);
  CHECK(std::abs(rel(static_cast<double>(e.rest_bytes), 219721119039.0)) < 0.003);
  CHECK(e.max_total_num_tokens == 2240343);
}

TEST_CASE("SGLang: does not start when the weights take the static share", "[sglang]") {
  // Llama-3-70B in bf16 on one H100: 141 GB of weights against 0.835 x 78.77 GiB.
  const SglangResult r = sglang_plan(model("llama3-70b"), format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("h100"), Parallel{}, {});
  CHECK_FALSE(r.starts);
  CHECK(r.rest_bytes < 0);
  CHECK(r.max_total_num_tokens == 0);
}

TEST_CASE("SGLang: an estimate fits when the pool holds `batch` full requests", "[sglang]") {
  Settings s = vramcalc::test::settings_for("bf16", Dtype::bf16, 131072, 3);
  s.engine = EngineKind::sglang;
  s.gpus.push_back(GpuRequest{catalog_gpu("h100"), 1});
  // Default fraction: 416,276 tokens = 3 requests of 131,072 (393,216), not 4.
  const Report r3 = estimate(model("llama3.1-8b"), s, catalog().gpus).value();
  REQUIRE(r3.engine);
  CHECK(r3.engine->kind() == EngineKind::sglang);
  CHECK(std::get<SglangSection>(r3.engine->detail).plan.max_total_num_tokens == 416276);
  CHECK(r3.engine->fits);
  s.batch = 4;
  const Report r4 = estimate(model("llama3.1-8b"), s, catalog().gpus).value();
  CHECK_FALSE(r4.engine->fits);
  const FitRow& row = r4.fit.front();
  CHECK(row.decided_by == "sglang");
  CHECK_FALSE(row.fits);
  // usable = the static share; required = weights + 4 x 131,072 x 131,072.
  CHECK(row.usable_bytes == 70622747033ull);
  CHECK(row.required_bytes_per_gpu == 16060522496ull + 4ull * 131072 * 131072);
}

TEST_CASE("property: SGLang on every catalog model: runs, the pools add up, monotone in context and batch", "[sglang]") {
  // The pool does not depend on the context or the batch (only max_running_requests does, on
  // the context).
  std::optional<std::uint64_t> tokens;
  std::uint64_t swa_models = 0, linear_models = 0;
  const auto counts = vramcalc::test::over_catalog_grid(EngineKind::sglang, catalog_gpu("h100"), 8,
                                                        [&](const Report& r, std::uint64_t ctx, std::uint64_t batch, bool first) {
    const SglangResult& g = std::get<SglangSection>(r.engine->detail).plan;
    if (!g.error.empty()) return false;
    if (g.hybrid_swa) {
      // full x full layers + swa x sliding layers, each at one layer's cell; swa = 0.8 x full
      // (before whole pages: page 1 here).
      CHECK(g.kv_pool_bytes == (g.full_max_total_num_tokens * g.full_layers + g.swa_max_total_num_tokens * g.swa_layers) *
                                   g.layer_cell_bytes);
      CHECK(g.swa_max_total_num_tokens == g.full_max_total_num_tokens * 4 / 5);
      CHECK(g.max_total_num_tokens == g.full_max_total_num_tokens);
      if (first) ++swa_models;
    } else {
      CHECK(g.kv_pool_bytes == g.max_total_num_tokens * g.cell_bytes);
    }
    if (g.hybrid_linear) {
      CHECK(g.mamba_pool_bytes == g.max_mamba_cache_size * g.mamba_cache_per_req_bytes);
      CHECK(g.max_running_requests <= g.max_mamba_cache_size / 3);
      if (first) ++linear_models;
    }
    CHECK(static_cast<std::int64_t>(g.static_bytes) - static_cast<std::int64_t>(g.weights_bytes) == g.rest_bytes);
    CHECK(g.kv_pool_bytes + g.mamba_pool_bytes <= (g.rest_bytes > 0 ? static_cast<std::uint64_t>(g.rest_bytes) : 0));
    CHECK(g.cell_bytes > 0);
    CHECK(g.beyond_static_bytes == 0); // no speculative decoding: all within the static share
    if (first) tokens.reset();
    if (tokens) CHECK(*tokens == g.max_total_num_tokens);
    tokens = g.max_total_num_tokens;
    if (r.engine->fits) CHECK(g.max_total_num_tokens >= ctx * batch);
    return true;
  });
  CHECK(counts.modelled > 50);
  CHECK(swa_models >= 3);    // gpt-oss 20b / 120b, Llama 4 Scout (Maverick's weights leave 8x H100 no pool)
  CHECK(linear_models >= 4); // Qwen3-Next, Nemotron-H, Kimi-Linear, ...
  CHECK(counts.refused > 0); // Gemma 4 (two head sizes), Jamba (no SGLang model)
}

TEST_CASE("SGLang: Gemma 4's two head sizes and Jamba are refused, naming why", "[sglang]") {
  const SglangResult r = sglang_plan(model("gemma-4-26b-a4b"), format_of("bf16"), Dtype::bf16, 8192,
                                     catalog_gpu("h100"), Parallel{}, {});
  CHECK(r.error == "SGLang 0.5's KV pools hold one head count and head size for every layer, and this model's layers "
                   "differ (Gemma 4's global layers have their own); SGLang 0.5 has no model for it");
  const SglangResult j = sglang_plan(model("jamba-v0.1"), format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("h100"), Parallel{}, {});
  CHECK(j.error.find("SGLang 0.5 has no model for this recurrent architecture (jamba)") == 0);
}

TEST_CASE("SGLang: gpt-oss's hybrid sliding-window pool (SWAKVPool, --swa-full-tokens-ratio)", "[sglang]") {
  const ModelSpec& m = model("gpt-oss-20b");
  // H100, fraction 0.835: static 70,622,747,033 - weights 13,761,264,768 = 56,861,482,265.
  const SglangResult g = sglang_plan(m, format_of("mxfp4"), Dtype::bf16, 8192, catalog_gpu("h100"), Parallel{}, {});
  REQUIRE(g.error.empty());
  CHECK(g.rest_bytes == 56861482265);
  // One layer: 8 KV heads x (64 + 64) x 2 bytes = 2,048; profiled over all 24 layers: 49,152.
  CHECK(g.layer_cell_bytes == 2048);
  CHECK(g.cell_bytes == 49152);
  // 56,861,482,265 // 49,152 = 1,156,849 tokens (per layer, as if all were full).
  CHECK(g.profiled_tokens == 1156849);
  // set_num_tokens_hybrid_swa: 1,156,849 x 24 = 27,764,376 layer-tokens; / (0.8 x 12 + 12 =
  // 21.6) = 1,285,387.8 -> 1,285,387 full tokens; x 0.8 = 1,028,309.6 -> 1,028,309 SWA tokens.
  CHECK(g.hybrid_swa);
  CHECK(g.full_layers == 12);
  CHECK(g.swa_layers == 12);
  CHECK(g.full_max_total_num_tokens == 1285387);
  CHECK(g.swa_max_total_num_tokens == 1028309);
  CHECK(g.max_total_num_tokens == 1285387);
  // (1,285,387 + 1,028,309) x 12 x 2,048 = 56,861,392,896 bytes, 89,369 short of the rest.
  CHECK(g.kv_pool_bytes == 56861392896ull);
  // A request of 8,192 tokens takes 8,192 full tokens and min(8,192, window 128) SWA tokens.
  const SglangRequest q = sglang_request(g, 8192);
  CHECK(q.full_tokens == 8192);
  CHECK(q.swa_tokens == 128);
  CHECK(q.bytes == (8192 * 12 + 128 * 12) * 2048);
  // --page-size 64, as the MiMo-V2-Flash log of logs.md (full 375,360 = 5,865 pages, SWA
  // 300,288 = 0.8 x full, 4,692 pages): 1,156,849 -> 1,156,800 tokens; x 24 / 21.6 =
  // 1,285,333.3 -> 1,285,333 -> 1,285,312 full; x 0.8 = 1,028,266.4 -> 1,028,266 -> 1,028,224 SWA.
  SglangOptions paged;
  paged.page_size = 64;
  const SglangResult pg = sglang_plan(m, format_of("mxfp4"), Dtype::bf16, 8192, catalog_gpu("h100"), Parallel{}, paged);
  CHECK(pg.full_max_total_num_tokens == 1285312);
  CHECK(pg.swa_max_total_num_tokens == 1028224);
  // --swa-full-tokens-ratio 0.5: / (0.5 x 12 + 12 = 18) = 1,542,465.3 -> 1,542,465; x 0.5 = 771,232.
  SglangOptions half;
  half.swa_full_tokens_ratio_ppm = 500000;
  const SglangResult h = sglang_plan(m, format_of("mxfp4"), Dtype::bf16, 8192, catalog_gpu("h100"), Parallel{}, half);
  CHECK(h.full_max_total_num_tokens == 1542465);
  CHECK(h.swa_max_total_num_tokens == 771232);
  // --disable-hybrid-swa-memory: the plain pool, every layer whole-context.
  SglangOptions off;
  off.disable_hybrid_swa_memory = true;
  const SglangResult p = sglang_plan(m, format_of("mxfp4"), Dtype::bf16, 8192, catalog_gpu("h100"), Parallel{}, off);
  CHECK_FALSE(p.hybrid_swa);
  CHECK(p.max_total_num_tokens == 1156849);
  // On SM100 (B200) SGLang picks trtllm_mha for gpt-oss: pages of 64 and one whole-context pool
  // ("Disable hybrid SWA memory for GPT-OSS model with trtllm_mha attention backend",
  // server_args.py); Llama 4 keeps its hybrid pool, in pages of 64.
  const SglangResult b = sglang_plan(m, format_of("mxfp4"), Dtype::bf16, 8192, catalog_gpu("b200"), Parallel{}, {});
  CHECK(b.trtllm_mha);
  CHECK(b.page_size == 64);
  CHECK_FALSE(b.hybrid_swa);
  CHECK(b.max_total_num_tokens == static_cast<std::uint64_t>(b.rest_bytes) / 49152 / 64 * 64);
  SglangOptions page32;
  page32.page_size = 32; // a size trtllm_mha takes is kept
  CHECK(sglang_plan(m, format_of("mxfp4"), Dtype::bf16, 8192, catalog_gpu("b200"), Parallel{}, page32).page_size == 32);
  const SglangResult l4 = sglang_plan(model("llama-4-scout"), format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("b200"),
                                      Parallel{2, 1, false}, {});
  CHECK(l4.trtllm_mha);
  CHECK(l4.hybrid_swa);
  CHECK(l4.full_max_total_num_tokens % 64 == 0);
  CHECK_FALSE(g.trtllm_mha); // H100: fa3, the hybrid pool
  // Gemma 3 is not on SGLang's hybrid list: its sliding layers stay in the plain pool, whole.
  const SglangResult gm = sglang_plan(model("gemma-3-27b"), format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("h100"), Parallel{}, {});
  CHECK(gm.error.empty());
  CHECK_FALSE(gm.hybrid_swa);
  // 16 KV heads x (128 + 128) x 2 = 8,192 per layer x 62 layers = 507,904.
  CHECK(gm.cell_bytes == 507904);
}

TEST_CASE("SGLang: hybrid linear models' Mamba state pool (Qwen3-Next, Kimi-Linear)", "[sglang]") {
  // Qwen3-Next-80B-A3B on 4x H100 at tp 4 (fraction 0.824): rest 29,766,656,803.
  const SglangResult q = sglang_plan(model("qwen3-next-80b-a3b"), format_of("bf16"), Dtype::bf16, 32768,
                                     catalog_gpu("h100"), Parallel{4, 1, false}, {});
  REQUIRE(q.error.empty());
  CHECK(q.rest_bytes == 29766656803);
  // Per GDN layer on one of 4 GPUs: conv (4 - 1) x (2 x 16 x 128 + 32 x 128) / 4 = 6,144 bf16
  // = 12,288 bytes; temporal 32 x 128 x 128 / 4 = 131,072 float32 = 524,288; x 36 layers =
  // 19,316,736 bytes a request.
  CHECK(q.mamba_cache_per_req_bytes == 19316736);
  // mamba_full_memory_ratio 0.9: 29,766,656,803 x 0.9 / 1.9 = 14,100,000,064 bytes
  // -> 729 slots (729.9) = 14,081,900,544 bytes.
  CHECK(q.max_mamba_cache_size == 729);
  CHECK(q.mamba_pool_bytes == 14081900544ull);
  // The 12 attention layers: max(1, 2 / 4) head x (256 + 256) x 2 = 1,024 each, 12,288;
  // (29,766,656,803 - 14,081,900,544) // 12,288 = 1,276,428 tokens.
  CHECK(q.cell_bytes == 12288);
  CHECK(q.max_total_num_tokens == 1276428);
  // Requests: min(4,096, 729 // 3 = 243).
  CHECK(q.max_running_requests == 243);
  // --max-mamba-cache-size 100: 100 slots, the rest to the pool.
  SglangOptions given;
  given.max_mamba_cache_size = 100;
  const SglangResult g = sglang_plan(model("qwen3-next-80b-a3b"), format_of("bf16"), Dtype::bf16, 32768,
                                     catalog_gpu("h100"), Parallel{4, 1, false}, given);
  CHECK(g.mamba_pool_bytes == 1931673600ull);
  CHECK(g.max_total_num_tokens == (29766656803ull - 1931673600ull) / 12288);
  CHECK(g.max_running_requests == 33);
  // Kimi-Linear 48B on one H200: KDA state 43,417,600 bytes a request (as vLLM's, docs/recurrent.md);
  // MLA cell (512 + 64) x 2 = 1,152 x 7 attention layers = 8,064.
  const SglangResult k = sglang_plan(model("kimi-linear-48b-a3b"), format_of("bf16"), Dtype::bf16, 131072,
                                     catalog_gpu("h200"), Parallel{}, {});
  REQUIRE(k.error.empty());
  CHECK(k.mamba_cache_per_req_bytes == 43417600);
  CHECK(k.cell_bytes == 8064);
  // rest 37,602,706,792 x 0.9 / 1.9 = 17,811,808,480 -> 410 slots; 136 requests.
  CHECK(k.rest_bytes == 37602706792);
  CHECK(k.max_mamba_cache_size == 410);
  CHECK(k.max_total_num_tokens == (37602706792ull - 410ull * 43417600) / 8064);
  CHECK(k.max_running_requests == 136);
  // --disable-radix-cache --max-running-requests 48: 48 slots, and all of them may run (the
  // ratio is 1 without the radix cache, init_memory_pool), not 48 // 3 = 16.
  SglangOptions no_radix;
  no_radix.disable_radix_cache = true;
  no_radix.max_running_requests = 48;
  const SglangResult nr = sglang_plan(model("qwen3-next-80b-a3b"), format_of("bf16"), Dtype::bf16, 32768,
                                      catalog_gpu("h100"), Parallel{4, 1, false}, no_radix);
  CHECK(nr.max_mamba_cache_size == 48);
  CHECK(nr.max_running_requests == 48);
}

TEST_CASE("SGLang: the Mamba state pool against two public logs' own figures (logs.md)", "[sglang]") {
  const auto rest_of = [](double avail, double total, double f) { return (avail - total * (1 - f)) * gib_d; };
  // KT-Q35-397B: Qwen3.5-397B-A17B at tp 2 on RTX 4090s, fraction 0.85. A request's state: 45
  // GDN layers x (conv (4 - 1) x (2 x 16 x 128 + 64 x 128) / 2 = 24,576 bf16 = 49,152 bytes...
  SglangOptions kt;
  kt.mem_fraction_static_ppm = 850000;
  const SglangResult q = sglang_plan(model("qwen3.5-397b-a17b"), format_of("fp8"), Dtype::bf16, 8192,
                                     catalog_gpu("rtx-4090"), Parallel{2, 1, false}, kt);
  REQUIRE(q.error.empty());
  // ... + temporal 64 x 128 x 128 / 2 = 524,288 float32 = 2,097,152 bytes) = 45 x 2,134,016.
  CHECK(q.mamba_cache_per_req_bytes == 45ull * 2134016);
  // 15 attention layers x 2 KV heads / 2 x (256 + 256) x 2 bytes = 15,360 a token.
  CHECK(q.cell_bytes == 15360);
  // rest = 19.08 - 22.84 x 0.15 = 15.654 GiB; x 0.9 / 1.9 // 96,030,720 = 82 slots (logged
  // "max_mamba_cache_size: 82"); (rest - 82 slots) // 15,360 = 581,629 tokens, logged 580,364.
  const double kt_rest = rest_of(19.08, 22.84, 0.85);
  const auto kt_slots = static_cast<std::uint64_t>(kt_rest * 0.9 / 1.9 / static_cast<double>(q.mamba_cache_per_req_bytes));
  CHECK(kt_slots == 82);
  const double kt_tokens = std::floor((kt_rest - static_cast<double>(kt_slots * q.mamba_cache_per_req_bytes)) / 15360.0);
  CHECK(kt_tokens == 581629);
  CHECK(std::abs(rel(kt_tokens, 580364)) < 0.003);
  // XPU-Nemo3Nano: Nemotron-3-Nano-30B-A3B at tp 4, fraction 0.85, --disable-radix-cache
  // --max-running-requests 8 --page-size 64: 8 slots of 12,270,592 bytes, and 8 may run (logged
  // "max_running_requests=8"; the state / 3 rule would give 2).
  SglangOptions xpu;
  xpu.mem_fraction_static_ppm = 850000;
  xpu.disable_radix_cache = true;
  xpu.max_running_requests = 8;
  xpu.page_size = 64;
  const SglangResult n = sglang_plan(model("nemotron-3-nano-30b-a3b"), format_of("bf16"), Dtype::bf16, 8192,
                                     gpu_of_bytes(24 * gib), Parallel{4, 1, false}, xpu);
  REQUIRE(n.error.empty());
  CHECK(n.max_mamba_cache_size == 8);
  CHECK(n.max_running_requests == 8);
  CHECK(n.mamba_cache_per_req_bytes == 12270592);
  // 6 attention layers x max(1, 2 / 4) head x (128 + 128) x 2 = 3,072 a token. rest = 7.95 -
  // 22.71 x 0.15 = 4.5435 GiB; (rest - 8 slots) // 3,072 to pages of 64 = 1,556,096 tokens,
  // logged 1,557,504 (-0.09%).
  CHECK(n.cell_bytes == 3072);
  const double x_tokens =
      std::floor((rest_of(7.95, 22.71, 0.85) - 8.0 * static_cast<double>(n.mamba_cache_per_req_bytes)) / 3072.0 / 64) * 64;
  CHECK(x_tokens == 1556096);
  CHECK(std::abs(rel(x_tokens, 1557504)) < 0.001);
}

TEST_CASE("SGLang: DP attention's reserved memory, KV heads per attention rank and replicated attention", "[sglang]") {
  // Llama-3.1-70B on 8x H100 at tp 8, --enable-dp-attention --dp-size 4: attention tp 2.
  SglangOptions o;
  o.enable_dp_attention = true;
  o.dp_size = 4;
  const ModelSpec& m = model("llama3.1-70b");
  const SglangResult d = sglang_plan(m, format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("h100"), Parallel{8, 1, false}, o);
  REQUIRE(d.error.empty());
  // reserved = 512 + 12,288 + 2 x 512 + 8 / 8 x 1024 = 14,848; DP attention + 512 x 4 x 3 =
  // 6,144 and (bs 512 > 300) + 512 x 4 x 1.5 = 3,072: 24,064 MiB.
  CHECK(d.reserved_bytes == 24064ull << 20);
  CHECK(d.attention_tp == 2);
  // 8 KV heads / attention tp 2 = 4 per GPU: 4 x (128 + 128) x 2 = 2,048 a layer x 80.
  CHECK(d.layer_cell_bytes == 2048);
  CHECK(d.cell_bytes == 163840);
  // The attention weights sit on 2 GPUs instead of 8: 4x their tp-8 share; the extra is
  // ceil(A / 2) - ceil(A / 8) of the model's attention bytes A.
  const SglangResult t = sglang_plan(m, format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("h100"), Parallel{8, 1, false}, {});
  std::uint64_t attention = 0;
  for (const GroupBytes& grp : weight_bytes(m, format_of("bf16")).groups) {
    if (grp.group == TensorGroup::attention) attention = grp.bytes;
  }
  CHECK(d.dp_attention_extra_weights_bytes == (attention + 1) / 2 - (attention + 7) / 8);
  CHECK(d.weights_bytes == t.weights_bytes + d.dp_attention_extra_weights_bytes);
  // Each attention-DP rank keeps its own requests in its own pool: 9 requests are 3 a rank.
  CHECK(sglang_rank_batch(d, 9) == 3);
  CHECK(sglang_rank_batch(t, 9) == 9);
  // A hybrid linear model's state is split over the attention tp (get_attention_tp_size() in
  // configs/qwen3_next.py): Qwen3-Next FP8 on 4x B200, tp 4, dp 4 (attention tp 1), as the
  // DP4-Q3Next log of logs.md: 36 GDN layers x (conv (4 - 1) x (2 x 16 x 128 + 32 x 128) =
  // 24,576 bf16 = 49,152 bytes + temporal 32 x 128 x 128 float32 = 2,097,152 bytes) =
  // 77,266,944 bytes a request, 4x its tp-4 figure (19,316,736).
  SglangOptions dp4;
  dp4.enable_dp_attention = true;
  dp4.dp_size = 4;
  const SglangResult qn = sglang_plan(model("qwen3-next-80b-a3b"), format_of("fp8"), Dtype::bf16, 262144,
                                      catalog_gpu("b200"), Parallel{4, 1, true}, dp4);
  REQUIRE(qn.error.empty());
  CHECK(qn.attention_tp == 1);
  CHECK(qn.mamba_cache_per_req_bytes == 77266944);
  CHECK(qn.max_running_requests == qn.max_mamba_cache_size / 3);
  // A dp size that does not divide tp is refused as SGLang asserts: SGLang's own refusal.
  o.dp_size = 3;
  const SglangResult bad = sglang_plan(m, format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("h100"), Parallel{8, 1, false}, o);
  CHECK(bad.error == "--dp-size 3 with --enable-dp-attention does not divide tp 8: SGLang 0.5 asserts tp_size % dp_size == 0 "
                     "(server_args.py _handle_data_parallelism)");
  CHECK(bad.refused);
  // A model vramcalc does not model is not SGLang's refusal.
  CHECK_FALSE(sglang_plan(model("jamba-v0.1"), format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("h100"), Parallel{},
                          SglangOptions{}).refused);
}

TEST_CASE("SGLang: speculative decoding's reserve, headroom, draft weights and draft pool", "[sglang]") {
  // STANDALONE with Llama-3.2-1B drafting for Llama-3.1-8B on one H100.
  SglangOptions o;
  o.speculative = SglangSpeculative::standalone;
  o.draft_model = std::make_shared<const ModelSpec>(model("llama3.2-1b"));
  const SglangResult s = sglang_plan(model("llama3.1-8b"), format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("h100"), Parallel{}, o);
  REQUIRE(s.error.empty());
  // reserved 13,440 (over the 10 GiB floor) + 6,144 for STANDALONE = 19,584 MiB;
  // (81,559 - 19,584) / 81,559 = 0.7599 -> 0.760.
  CHECK(s.reserved_bytes == 19584ull << 20);
  CHECK(s.mem_fraction_static_ppm == 760000);
  // STANDALONE's sizes: steps 3, topk 1, draft tokens 3 + 1 = 4; max_running_requests 48.
  CHECK(s.speculative_num_steps == 3);
  CHECK(s.speculative_eagle_topk == 1);
  CHECK(s.speculative_num_draft_tokens == 4);
  CHECK(s.max_running_requests == 48);
  // Profiled 48,218,864,025 // 131,072 = 367,880; headroom 48 x (3 x 1 + 4) + 100 = 436:
  // draft_runner_cache_size 368,316 tokens for both pools.
  CHECK(s.profiled_tokens == 367880);
  CHECK(s.spec_headroom_tokens == 436);
  CHECK(s.max_total_num_tokens == 368316);
  // The draft: 16 layers x 8 KV heads x (64 + 64) x 2 = 32,768 bytes a token; its pool
  // 368,316 x 32,768 = 12,068,978,688; its bf16 weights 2,471,628,800.
  CHECK(s.draft_layers == 16);
  CHECK(s.draft_cell_bytes == 32768);
  CHECK(s.draft_kv_pool_bytes == 12068978688ull);
  CHECK(s.draft_weights_bytes == 2471628800ull);
  // Past the static share: the pool 368,316 x 131,072 = 48,275,914,752 less the rest
  // 48,218,864,025 (57,050,727, the headroom's 436 tokens and the rounding) + the draft's
  // 2,471,628,800 + 12,068,978,688 = 14,597,658,215, within the 20,298,753,639 the static
  // share leaves.
  CHECK(s.kv_pool_bytes == 48275914752ull);
  CHECK(s.beyond_static_bytes == 14597658215ull);
  CHECK(s.outside_static_bytes == 20298753639ull);
  CHECK(s.starts);
  // NEXTN on DeepSeek-V3 (fp8) with DP attention 8 on 8x H200: reserved 14,848 + 512 x 8 x 3
  // + 512 x 8 x 1.5 = 33,280, + 2,048 for the draft = 35,328 MiB; the draft is its 1 MTP
  // layer: one latent (512 + 64) x 1 byte... at bf16 KV 1,152 bytes a token.
  SglangOptions n;
  n.speculative = SglangSpeculative::nextn;
  n.enable_dp_attention = true;
  n.dp_size = 8;
  const SglangResult d = sglang_plan(model("deepseek-v3"), format_of("fp8"), Dtype::bf16, 8192, catalog_gpu("h200"),
                                     Parallel{8, 1, false}, n);
  REQUIRE(d.error.empty());
  CHECK(d.reserved_bytes == 35328ull << 20);
  CHECK(d.speculative_num_steps == 3);
  CHECK(d.speculative_num_draft_tokens == 4);
  CHECK(d.draft_layers == 1);
  CHECK(d.draft_cell_bytes == 1152);
  CHECK(d.cell_bytes == 1152 * 61);
  CHECK(d.spec_headroom_tokens == 436);
  CHECK(d.draft_kv_pool_bytes == d.max_total_num_tokens * 1152);
  CHECK(d.draft_weights_bytes > 0);
  // EAGLE on a model without MTP layers and no draft named: refused, naming the flag.
  SglangOptions e;
  e.speculative = SglangSpeculative::eagle;
  CHECK(sglang_plan(model("llama3.1-8b"), format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("h100"), Parallel{}, e).error ==
        "EAGLE needs a draft model: give --speculative-draft-model-path with a catalog model id (this model has no MTP "
        "layers for SGLang to draft with)");
  // NGRAM: no draft, no reserve, 48 requests (its headroom is not modelled).
  SglangOptions g;
  g.speculative = SglangSpeculative::ngram;
  const SglangResult ng = sglang_plan(model("llama3.1-8b"), format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("h100"), Parallel{}, g);
  CHECK(ng.reserved_bytes == 13440ull << 20);
  CHECK(ng.spec_headroom_tokens == 0);
  CHECK(ng.max_running_requests == 48);
  CHECK(ng.draft_weights_bytes == 0);
}

TEST_CASE("SGLang: the LoRA memory pool, exact bytes, off the KV pool", "[sglang][lora]") {
  // Llama-3.1-8B, bf16: h 4096, q 4096, kv 2 x 8 x 128, I 14336, 32 layers. Per layer, one slot,
  // elements over r: qkv_proj A 3h + B (q + 2kv) = 12,288 + 6,144; o_proj A q + B h = 8,192;
  // gate_up_proj A 2h + B 2I = 36,864; down_proj A I + B h = 18,432: 81,920.
  const ModelSpec& m = model("llama3.1-8b");
  SglangOptions o;
  o.enable_lora = true;
  o.max_lora_rank = 16;
  CHECK(12288 + 6144 + 8192 + 36864 + 18432 == 81920);
  const SglangLora l = sglang_lora(m, 1, o); // the default 8 slots
  CHECK(l.bytes == 81920ull * 16 * 32 * 8 * 2);
  CHECK(l.bytes == 671'088'640ull); // 640 MiB
  CHECK_FALSE(l.rank_assumed);
  // tp 2: B of qkv (q + 2kv) / 2, A of o_proj q / 2, B of gate_up I, A of down I / 2:
  // 12,288 + 3,072 + 2,048 + 4,096 + 8,192 + 14,336 + 7,168 + 4,096 = 55,296.
  CHECK(sglang_lora(m, 2, o).bytes == 55296ull * 16 * 32 * 8 * 2);
  // The pool comes out of the static share: the KV pool is smaller by exactly it.
  const GpuSpec& h100 = catalog_gpu("h100");
  const SglangResult without = sglang_plan(m, format_of("bf16"), Dtype::bf16, 8192, h100, Parallel{}, SglangOptions{});
  const SglangResult with = sglang_plan(m, format_of("bf16"), Dtype::bf16, 8192, h100, Parallel{}, o);
  CHECK(with.rest_bytes == without.rest_bytes - static_cast<std::int64_t>(l.bytes));
  CHECK(with.max_total_num_tokens == static_cast<std::uint64_t>(with.rest_bytes) / with.cell_bytes);
  // No rank given: counted at 16 and said; MoE experts are not counted and said.
  o.max_lora_rank = 0;
  CHECK(sglang_lora(m, 1, o).rank_assumed);
  CHECK(sglang_lora(m, 1, o).bytes == l.bytes);
  o.max_lora_rank = 16;
  const SglangLora moe = sglang_lora(model("qwen3-30b-a3b"), 1, o);
  CHECK(moe.moe_layers == 48);
  // Qwen3-30B-A3B attention only: 16 x (3 x 2048 + 4096 + 1024) + 16 x (4096 + 2048) = 278,528 a layer.
  CHECK(moe.bytes == 278528ull * 48 * 8 * 2);
  // Off: nothing, and the plan is today's.
  o.enable_lora = false;
  CHECK(sglang_lora(m, 1, o).bytes == 0);
  CHECK(sglang_plan(m, format_of("bf16"), Dtype::bf16, 8192, h100, Parallel{}, o).max_total_num_tokens ==
        without.max_total_num_tokens);
}

TEST_CASE("SGLang --cpu-offload-gb: the offloaded parameters leave the weights and the KV pool grows by them",
          "[sglang][offload]") {
  // Llama-3.1-8B bf16 on one H100 at --mem-fraction-static 0.88, as above, with
  // --cpu-offload-gb 1: OffloaderV1 walks the layers' parameters (qkv_proj, o_proj,
  // gate_up_proj, down_proj, the two norms: 436,224,000 bytes a layer) like vLLM's offloader.
  // Two layers 872,448,000; the third's qkv_proj 50,331,648, o_proj 33,554,432 (956,334,080 <
  // 1 GiB) and gate_up_proj 234,881,024 reach 1,191,215,104 >= 1,073,741,824.
  const ModelSpec& m = model("llama3.1-8b");
  SglangOptions o = fraction(880000);
  o.cpu_offload_bytes = gib;
  const SglangResult r = sglang_plan(m, format_of("bf16"), Dtype::bf16, 131072, catalog_gpu("h100"), Parallel{}, o);
  CHECK(r.cpu_offload.budget_bytes == 1'073'741'824);
  CHECK(r.cpu_offload.bytes == 2 * 436'224'000ull + 50'331'648 + 33'554'432 + 234'881'024);
  CHECK(r.cpu_offload.bytes == 1'191'215'104ull);
  CHECK(r.cpu_offload.params == 15);
  CHECK(r.cpu_offload.layers == 3);
  CHECK(r.cpu_offload.largest_layer_bytes == 436'224'000ull);
  // The weights on the GPU: 16,060,522,496 - 1,191,215,104 = 14,869,307,392; the static share
  // is unchanged (74,428,763,340), the pool 74,428,763,340 - 14,869,307,392 = 59,559,455,948
  // bytes: 59,559,455,948 / 131,072 = 454,402.6 tokens (445,314 without).
  CHECK(r.static_bytes == 74428763340ull);
  CHECK(r.weights_bytes == 14'869'307'392ull);
  CHECK(r.rest_bytes == 59'559'455'948ll);
  CHECK(r.max_total_num_tokens == 454402);
  CHECK(r.host_bytes == 1'191'215'104ull);
  // At tp 2 each rank offloads its own shards against the same budget: four layers of
  // 218,120,192 and the fifth's qkv_proj, o_proj, gate_up_proj and down_proj, 1,090,584,576
  // bytes each; the host holds both ranks' 2 x 1,090,584,576 = 2,181,169,152.
  const SglangResult t2 = sglang_plan(m, format_of("bf16"), Dtype::bf16, 131072, catalog_gpu("h100"), Parallel{2, 1, false}, o);
  CHECK(t2.cpu_offload.bytes == 1'090'584'576ull);
  CHECK(t2.host_bytes == 2'181'169'152ull);
  // An estimate reports the host memory and the note on the forward's copies.
  Settings s = vramcalc::test::settings_for("bf16", Dtype::bf16, 131072, 1, Dtype::bf16);
  s.engine = EngineKind::sglang;
  s.gpus.push_back(GpuRequest{catalog_gpu("h100"), 1});
  REQUIRE_FALSE(vramcalc::test::apply_option(EngineKind::sglang, s, "--mem-fraction-static", "0.88"));
  REQUIRE_FALSE(vramcalc::test::apply_option(EngineKind::sglang, s, "--cpu-offload-gb", "1"));
  CHECK(vramcalc::test::apply_option(EngineKind::sglang, s, "--cpu-offload-gb", "1.5")->message ==
        "--cpu-offload-gb: '1.5' is not a whole number of GiB (SGLang's --cpu-offload-gb is an int)");
  auto rep = estimate(m, s, catalog().gpus);
  REQUIRE(rep.has_value());
  REQUIRE(rep->engine);
  CHECK(rep->engine->host_bytes == 1'191'215'104ull);
  CHECK(std::any_of(rep->engine->notes.begin(), rep->engine->notes.end(),
                    [](const std::string& n) { return n.find("one layer's at a time") != std::string::npos; }));
}
