// vLLM's --cpu-offload-gb: each GPU's process moves whole parameters of its decoder layers to
// pinned host memory, in vLLM's order, until the bytes moved reach int(G x 2^30)
// (docs/engines.md, "CPU offload"); the GPU's weights fall by as much, the KV budget rises.
#include "helpers.hpp"
#include "../support/engine_cases.hpp"
#include "vramcalc/engine.hpp"

using namespace vramcalc;
using vramcalc::test::apply_option;
using vramcalc::test::catalog;
using vramcalc::test::catalog_gpu;
using vramcalc::test::format_of;
using vramcalc::test::model;

namespace {

VllmOptions offload(std::uint64_t bytes, std::uint32_t minor = 21) {
  VllmOptions o;
  o.version_minor = minor;
  o.cpu_offload_bytes = bytes;
  return o;
}

// Llama-3.1-8B in bf16 at tp 1: h 4096, q 32 x 128, k = v 8 x 128, I 14336; per layer, in
// vLLM's order (LlamaDecoderLayer: self_attn, mlp, input_layernorm, post_attention_layernorm):
constexpr std::uint64_t qkv = (4096 + 2 * 1024) * 4096ull * 2; // qkv_proj 50,331,648
constexpr std::uint64_t o_proj = 4096ull * 4096 * 2;          // 33,554,432
constexpr std::uint64_t gate_up = 2 * 14336ull * 4096 * 2;    // 234,881,024
constexpr std::uint64_t down = 14336ull * 4096 * 2;           // 117,440,512
constexpr std::uint64_t norm = 4096 * 2;                      // each of the two: 8,192
constexpr std::uint64_t layer = qkv + o_proj + gate_up + down + 2 * norm;

} // namespace

TEST_CASE("vLLM --cpu-offload-gb 1, Llama-3.1-8B bf16, tp 1: 15 whole parameters, 1,191,215,104 bytes", "[vllm-offload]") {
  static_assert(layer == 436'224'000);
  const VllmCpuOffload c = vllm_cpu_offload(model("llama3.1-8b"), format_of("bf16"), Parallel{}, 0, offload(GiB));
  CHECK(c.budget_bytes == 1'073'741'824);
  // Layers 0 and 1 whole: 2 x 436,224,000 = 872,448,000 < 1 GiB. Layer 2: + qkv_proj
  // 922,779,648, + o_proj 956,334,080 (still below), + gate_up_proj 1,191,215,104: at or past
  // the budget, so the loop stops before down_proj.
  CHECK(2 * layer + qkv + o_proj < GiB);
  CHECK(c.bytes == 2 * layer + qkv + o_proj + gate_up);
  CHECK(c.bytes == 1'191'215'104ull);
  CHECK(c.params == 6 + 6 + 3);
  CHECK(c.layers == 3);
  CHECK(c.largest_layer_bytes == layer);
  CHECK_FALSE(c.ignored);
  // A budget of one byte: the first parameter, qkv_proj, whole.
  const VllmCpuOffload one = vllm_cpu_offload(model("llama3.1-8b"), format_of("bf16"), Parallel{}, 0, offload(1));
  CHECK(one.bytes == qkv);
  CHECK(one.params == 1);
  // More than the 32 layers hold (32 x 436,224,000 = 13,959,168,000): all of them, nothing else.
  const VllmCpuOffload all = vllm_cpu_offload(model("llama3.1-8b"), format_of("bf16"), Parallel{}, 0, offload(100 * GiB));
  CHECK(all.bytes == 32 * layer);
  CHECK(all.params == 32 * 6);
}

TEST_CASE("vLLM --cpu-offload-gb at tensor parallel 2: each rank's budget over its own shards", "[vllm-offload]") {
  // Per rank: qkv (2048 + 2 x 512) x 4096 x 2 = 25,165,824; o_proj 2048 x 4096 x 2 =
  // 16,777,216; gate_up 2 x 7168 x 4096 x 2 = 117,440,512; down 58,720,256; the norms
  // replicated, 8,192 each: a layer 218,120,192. Four layers 872,480,768; the fifth's qkv, o,
  // gate_up reach 1,031,864,320, its down_proj 1,090,584,576 >= 1 GiB.
  const ModelSpec& m = model("llama3.1-8b");
  const VllmCpuOffload c = vllm_cpu_offload(m, format_of("bf16"), Parallel{2, 1, false}, 0, offload(GiB));
  CHECK(c.bytes == 4 * 218'120'192ull + 25'165'824 + 16'777'216 + 117'440'512 + 58'720'256);
  CHECK(c.bytes == 1'090'584'576ull);
  CHECK(c.params == 4 * 6 + 4);
  CHECK(c.layers == 5);
  // Both ranks offload as much: the host holds 2 x 1,090,584,576 pinned.
  const VllmResult r = vllm_plan(m, format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("h100"), Parallel{2, 1, false},
                                 offload(GiB));
  CHECK(r.host_bytes == 2 * 1'090'584'576ull);
}

TEST_CASE("vLLM --cpu-offload-gb: the GPU's weights fall and the KV budget rises by the offloaded bytes", "[vllm-offload]") {
  const ModelSpec& m = model("llama3.1-8b");
  const GpuSpec& gpu = catalog_gpu("l4");
  const VllmResult base = vllm_plan(m, format_of("bf16"), Dtype::bf16, 8192, gpu, Parallel{}, offload(0));
  const VllmResult off = vllm_plan(m, format_of("bf16"), Dtype::bf16, 8192, gpu, Parallel{}, offload(2 * GiB));
  // 2 GiB = 2,147,483,648: four layers 1,744,896,000, the fifth's qkv, o, gate_up
  // 2,063,663,104, its down_proj 2,181,103,616.
  CHECK(off.cpu_offload.bytes == 4 * layer + qkv + o_proj + gate_up + down);
  CHECK(off.cpu_offload.bytes == 2'181'103'616ull);
  CHECK(base.weights_bytes - off.weights_bytes == 2'181'103'616ull);
  CHECK(off.activation_bytes == base.activation_bytes); // V1 reads the host copies through UVA
  CHECK(off.kv_budget_bytes - base.kv_budget_bytes == 2'181'103'616);
  CHECK(off.num_gpu_blocks >= base.num_gpu_blocks);
  CHECK(off.host_bytes == 2'181'103'616ull);
  CHECK(base.host_bytes == 0);
  CHECK(base.cpu_offload.bytes == 0);
  // V0 (0.9) copies a layer's offloaded parameters to the GPU for its forward: the profile
  // run's peak holds the largest, a whole layer here (436,224,000).
  const VllmResult v0 = vllm_plan(m, format_of("bf16"), Dtype::bf16, 8192, gpu, Parallel{}, offload(0, 9));
  const VllmResult v0_off = vllm_plan(m, format_of("bf16"), Dtype::bf16, 8192, gpu, Parallel{}, offload(2 * GiB, 9));
  CHECK(v0_off.activation_bytes - v0.activation_bytes == layer);
  // 0.25 runs a dense model on the V2 model runner, which never installs the offloader.
  const VllmResult v25 = vllm_plan(m, format_of("bf16"), Dtype::bf16, 8192, gpu, Parallel{}, offload(2 * GiB, 25));
  CHECK(v25.cpu_offload.ignored);
  CHECK(v25.cpu_offload.bytes == 0);
  CHECK(v25.host_bytes == 0);
}

TEST_CASE("vLLM --cpu-offload-gb, Mixtral-8x7B: the router, then the experts' fused w13 and w2", "[vllm-offload]") {
  // h 4096, q 32 x 128, k = v 8 x 128, 8 experts of width 14336, bf16. One layer in vLLM's
  // order: qkv_proj 50,331,648; o_proj 33,554,432; block_sparse_moe.gate 8 x 4096 x 2 =
  // 65,536; experts.w13_weight 8 x 2 x 14336 x 4096 x 2 = 1,879,048,192; w2_weight
  // 939,524,096; the two norms 8,192 each.
  const ModelSpec& m = model("mixtral-8x7b");
  const std::uint64_t budget = qkv + o_proj + 65536 + 1;
  const VllmCpuOffload c = vllm_cpu_offload(m, format_of("bf16"), Parallel{}, 0, offload(budget));
  CHECK(c.params == 4);
  CHECK(c.bytes == qkv + o_proj + 65536 + 8ull * 2 * 14336 * 4096 * 2);
  CHECK(c.bytes == 1'962'999'808ull);
}

TEST_CASE("vLLM --cpu-offload-gb's text: GiB, decimals as vLLM's int(G x 1024^3)", "[vllm-offload]") {
  Settings s;
  REQUIRE_FALSE(apply_option(EngineKind::vllm, s, "--cpu-offload-gb", "4"));
  CHECK(s.engine_options.vllm.cpu_offload_bytes == 4 * GiB);
  REQUIRE_FALSE(apply_option(EngineKind::vllm, s, "--cpu-offload-gb", "0.3"));
  CHECK(s.engine_options.vllm.cpu_offload_bytes == 322'122'547); // 0.3 x 1,073,741,824 = 322,122,547.2
  REQUIRE_FALSE(apply_option(EngineKind::vllm, s, "--cpu-offload-gb", "2.5"));
  CHECK(s.engine_options.vllm.cpu_offload_bytes == 2'684'354'560);
  const auto bad = apply_option(EngineKind::vllm, s, "--cpu-offload-gb", "4GiB");
  REQUIRE(bad);
  CHECK(bad->message == "--cpu-offload-gb: '4GiB' is not a number of GiB like 4 or 2.5");
  CHECK(apply_option(EngineKind::vllm, s, "--cpu-offload-gb", "-1"));
}

TEST_CASE("property: --cpu-offload-gb never raises a GPU's need; 0 changes nothing", "[vllm-offload]") {
  const GpuSpec& gpu = catalog_gpu("h100");
  for (const ModelSpec& m : catalog().models) {
    INFO(m.id);
    const WeightFormat w = format_of("bf16");
    for (const Parallel p : {Parallel{}, Parallel{2, 2, false}}) {
      if (!parallel_problem(m, p).empty()) continue;
      const VllmResult base = vllm_plan(m, w, m.dtype, 8192, gpu, p, offload(0));
      const VllmResult off = vllm_plan(m, w, m.dtype, 8192, gpu, p, offload(4 * GiB));
      CHECK(base.host_bytes == 0);
      CHECK(base.cpu_offload.params == 0);
      CHECK(off.weights_bytes <= base.weights_bytes);
      CHECK(off.activation_bytes == base.activation_bytes);
      CHECK(off.kv_budget_bytes >= base.kv_budget_bytes);
      CHECK(off.num_gpu_blocks >= base.num_gpu_blocks);
      // What leaves the GPU is what the host holds (of this GPU) and the GPU's weights lose.
      CHECK(off.host_bytes >= off.cpu_offload.bytes);
      CHECK(off.weights_bytes + off.cpu_offload.bytes - off.cpu_offload.v_slot_bytes == base.weights_bytes);
    }
  }
}

TEST_CASE("property: --host-mem gates the engine's verdict and nothing else", "[vllm-offload]") {
  const ModelSpec& m = model("llama3.1-8b");
  Settings s = vramcalc::test::settings_for("bf16", m.dtype, 8192, 1, m.dtype);
  s.engine = EngineKind::vllm;
  s.gpus.push_back(GpuRequest{catalog_gpu("l4"), 1});
  s.engine_options.vllm.cpu_offload_bytes = 2 * GiB;
  const auto plain = estimate(m, s, catalog().gpus);
  REQUIRE(plain);
  REQUIRE(plain->engine);
  CHECK(plain->engine->host_bytes == 2'181'103'616ull);
  CHECK(plain->engine->host_fits);
  CHECK(plain->engine->fits);
  s.host_mem_bytes = 2'181'103'616ull; // exactly the need: fits
  const auto exact = estimate(m, s, catalog().gpus);
  CHECK(exact->engine->fits);
  CHECK(exact->fit.front().fits == plain->fit.front().fits);
  s.host_mem_bytes = 2'181'103'615ull; // one byte short
  const auto short_by_one = estimate(m, s, catalog().gpus);
  CHECK_FALSE(short_by_one->engine->host_fits);
  CHECK_FALSE(short_by_one->engine->fits);
  CHECK_FALSE(short_by_one->fit.front().fits);
  CHECK(short_by_one->fit.front().required_bytes_per_gpu == plain->fit.front().required_bytes_per_gpu);
}

TEST_CASE("V0's CPU swap blocks: the logs' \"# CPU blocks\", 4 GiB // one block of every layer", "[vllm-offload]") {
  // tests/data/measurements.md, the V0 logs' "# GPU blocks: N, # CPU blocks: M". A block is
  // 16 tokens x layers x (K + V) x KV heads x head size x 2 bytes; M = 4 GiB // block.
  struct Row {
    const char* model;
    std::uint64_t block_bytes; // the arithmetic below
    std::uint64_t cpu_blocks;  // the log's
  };
  const Row rows[] = {
      {"llama3.1-8b", 16ull * 32 * 2 * 8 * 128 * 2, 2048},  // 2,097,152: "# CPU blocks: 2048" (three logs)
      {"llama3.2-3b", 16ull * 28 * 2 * 8 * 128 * 2, 2340},  // 1,835,008: 4 GiB / it = 2340.6
      {"qwen2.5-1.5b", 16ull * 28 * 2 * 2 * 128 * 2, 9362}, // 458,752: 9362.3
      {"llama2-13b", 16ull * 40 * 2 * 40 * 128 * 2, 327},   // 13,107,200: 327.7 (a 0.1.x log; the rule is unchanged)
      {"qwen2.5-7b", 16ull * 28 * 2 * 4 * 128 * 2, 4681},   // 917,504: 4681.1 (a vLLM-derived engine's log)
  };
  for (const Row& row : rows) {
    INFO(row.model);
    const VllmResult r = vllm_plan(model(row.model), format_of("bf16"), Dtype::bf16, 4096, catalog_gpu("l4"), Parallel{},
                                   offload(0, 6));
    CHECK(r.swap_host_bytes == row.cpu_blocks * row.block_bytes);
    CHECK(r.host_bytes == r.swap_host_bytes);
    CHECK(r.weights_bytes > 0);
  }
  // --swap-space 16 at tp 2: each of the two GPUs holds 16 GiB // its block (4 KV heads of
  // Llama-3.1-8B's 8: 1,048,576 bytes), 16,384 blocks.
  VllmOptions o = offload(0, 6);
  o.swap_space_bytes = 16 * GiB;
  const VllmResult tp2 = vllm_plan(model("llama3.1-8b"), format_of("bf16"), Dtype::bf16, 4096, catalog_gpu("l4"),
                                   Parallel{2, 1, false}, o);
  CHECK(tp2.swap_host_bytes == 2 * 16384ull * (16 * 32 * 2 * 4 * 128 * 2));
  // V1 (0.10 on) has no swap space.
  o.version_minor = 21;
  CHECK(vllm_plan(model("llama3.1-8b"), format_of("bf16"), Dtype::bf16, 4096, catalog_gpu("l4"), Parallel{}, o)
            .swap_host_bytes == 0);
}

TEST_CASE("vLLM --kv-offloading-size: host memory only, once for all GPUs, from 0.14", "[vllm-offload]") {
  VllmOptions o = offload(0);
  const VllmResult base = vllm_plan(model("llama3.1-8b"), format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("h100"),
                                    Parallel{2, 1, false}, o);
  Settings s;
  REQUIRE_FALSE(apply_option(EngineKind::vllm, s, "--kv-offloading-size", "10"));
  o.kv_offloading_bytes = s.engine_options.vllm.kv_offloading_bytes;
  CHECK(o.kv_offloading_bytes == 10 * GiB);
  const VllmResult r = vllm_plan(model("llama3.1-8b"), format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("h100"),
                                 Parallel{2, 1, false}, o);
  CHECK(r.kv_offloading_host_bytes == 10 * GiB); // "summed across all TP ranks"
  CHECK(r.host_bytes == 10 * GiB);
  CHECK(r.weights_bytes == base.weights_bytes);
  CHECK(r.num_gpu_blocks == base.num_gpu_blocks);
  o.version_minor = 11; // no such option before 0.14
  CHECK(vllm_plan(model("llama3.1-8b"), format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("h100"), Parallel{2, 1, false}, o)
            .host_bytes == 0);
  CHECK(apply_option(EngineKind::vllm, s, "--kv-offloading-backend", "disk"));
  REQUIRE_FALSE(apply_option(EngineKind::vllm, s, "--kv-offloading-backend", "lmcache"));
  CHECK(s.engine_options.vllm.kv_offloading_lmcache);
}

TEST_CASE("vLLM --cpu-offload-gb 24, Gemma-4-31B fp16: the log's \"Total CPU offloaded parameters: 24.36\"", "[vllm-offload]") {
  // tests/data/measurements.md: google/gemma-4-31B-it, fp16, one GPU, --cpu-offload-gb 24. h
  // 5376; a sliding layer (5 of each 6): qkv_proj (32 x 256 + 2 x 16 x 256) x h x 2 =
  // 176,160,768, o_proj 88,080,384, q/k norms 512 each, gate_up 2 x 21504 x h x 2 =
  // 462,422,016, down 231,211,008, four norms 10,752 each; a global layer: qkv_proj with its V
  // slot (32 x 512 + 2 x 4 x 512) x h x 2 = 198,180,864 (vLLM keeps a V slot of K's size on
  // k_eq_v layers), o_proj 176,160,768, norms 1,024. Layers 0-25 and layer 26's qkv, o, norms,
  // gate_up: 26,161,024,000 bytes = 24.3644 GiB, "24.36".
  const VllmCpuOffload c =
      vllm_cpu_offload(model("gemma-4-31b"), format_of("fp16"), Parallel{}, 0, offload(24 * GiB));
  CHECK(c.bytes == 26'161'024'000ull);
  CHECK(c.layers == 27);
  CHECK(c.v_slot_bytes == 4 * (4ull * 512 * 5376 * 2)); // layers 5, 11, 17, 23
  CHECK(static_cast<std::uint64_t>(static_cast<double>(c.bytes) / static_cast<double>(GiB) * 100 + 0.5) == 2436);
}

TEST_CASE("vLLM --cpu-offload-gb with pipeline parallel: each stage's GPU from its own first layer", "[vllm-offload]") {
  // pp 2: stage 0 holds layers 0-15, stage 1 layers 16-31 (get_pp_indices); make_layers offloads
  // from each stage's first layer, so both move 2 x 436,224,000 + qkv + o + gate_up =
  // 1,191,215,104 bytes, as at pp 1, and the host holds both.
  const ModelSpec& m = model("llama3.1-8b");
  const Parallel pp2{1, 2, false};
  for (const std::uint32_t stage : {0u, 1u}) {
    CHECK(vllm_cpu_offload(m, format_of("bf16"), pp2, stage, offload(GiB)).bytes == 1'191'215'104ull);
  }
  const VllmResult r = vllm_plan(m, format_of("bf16"), Dtype::bf16, 8192, catalog_gpu("l4"), pp2, offload(GiB));
  CHECK(r.host_bytes == 2 * 1'191'215'104ull);
}
