// llama.cpp's LoRA adapters (llama-server --lora; vramcalc's --lora RANK[xN]): each lora_a /
// lora_b pair in a buffer of its base tensor's buffer type, so on the device of that tensor's
// layer (docs/engines.md, llama.cpp "LoRA adapters").
#include "helpers.hpp"
#include "../support/engine_cases.hpp"
#include "../support/deployment_keys.hpp"
#include "../support/gguf_writer.hpp"
#include "vramcalc/io/gguf_lora.hpp"
#include "vramcalc/engine.hpp"
#include "vramcalc/estimate.hpp"

#include <cstdio>

using namespace vramcalc;
using vramcalc::test::catalog;
using vramcalc::test::catalog_gpu;
using vramcalc::test::format_of;
using vramcalc::test::model;

namespace {

// Llama-3.1-8B: hidden 4,096, 8 KV heads x 128 = 1,024, MLP 14,336, 32 layers. A rank-16 f32
// adapter over q, k, v, o, gate, up, down: lora_a [in, 16] and lora_b [16, out], 4 bytes each,
// so 16 x 4 x (in + out) a pair:
//   q 4,096 + 4,096 = 8,192   k 4,096 + 1,024 = 5,120   v 5,120   o 8,192
//   gate 4,096 + 14,336 = 18,432   up 18,432   down 18,432      sum 81,920
// 64 x 81,920 = 5,242,880 bytes a layer (every tensor a multiple of 128: no padding),
// x 32 layers = 167,772,160 bytes (160 MiB) an adapter.
constexpr std::uint64_t layer_bytes = 16ull * 4 * (8192 + 5120 + 5120 + 8192 + 18432 + 18432 + 18432);
static_assert(layer_bytes == 5'242'880);

const LlamaCppResult& plan_of(const Report& r) { return std::get<LlamaCppSection>(r.engine->detail).plan; }

} // namespace

TEST_CASE("llama.cpp --lora RANK: f32 pairs over every attention and MLP projection, by layer") {
  const LlamaCppLora lora = llamacpp_rank_lora(model("llama3.1-8b"), 16, Dtype::f32);
  CHECK(lora.rank == 16);
  CHECK(lora.pairs.size() == 32 * 7);
  std::uint64_t sum = 0;
  for (const LlamaCppLoraPair& p : lora.pairs) sum += p.a_bytes + p.b_bytes;
  CHECK(sum == 32 * layer_bytes);
  CHECK(sum == 167'772'160ull);
}

TEST_CASE("llama.cpp LoRA adapters follow -ngl: offloaded layers' pairs on the GPU, the rest in system RAM") {
  const GpuSpec& gpu = catalog_gpu("h100");
  LlamaCppOptions o;
  const ModelSpec& m = model("llama3.1-8b");
  const LlamaCppResult plain = llamacpp_plan(m, format_of("q4_k_m"), 8192, 1, {gpu}, 0, o);
  o.loras.assign(2, llamacpp_rank_lora(m, 16, Dtype::f32));
  const LlamaCppResult all = llamacpp_plan(m, format_of("q4_k_m"), 8192, 1, {gpu}, 0, o);
  // Every layer on the GPU: 2 adapters x 167,772,160 = 335,544,320 bytes there, nothing else moves.
  CHECK(all.lora_adapters == 2);
  CHECK(all.lora_rank == 16);
  CHECK(all.gpus[0].lora_bytes == 2 * 32 * layer_bytes);
  CHECK(all.gpus[0].lora_bytes == 335'544'320ull);
  CHECK(all.host.lora_bytes == 0);
  CHECK(all.lora_bytes == 335'544'320ull);
  CHECK(all.gpus[0].total() == plain.gpus[0].total() + 335'544'320ull);
  CHECK(all.gpus[0].model_bytes == plain.gpus[0].model_bytes);
  CHECK(all.gpus[0].kv_bytes == plain.gpus[0].kv_bytes);
  CHECK(all.gpus[0].compute_bytes == plain.gpus[0].compute_bytes);
  // -ngl 16: the output layer counts first (PR #18148), so layers 17..31 (15) are offloaded
  // and 0..16 (17) stay: GPU 2 x 15 x 5,242,880 = 157,286,400; host 2 x 17 x 5,242,880 = 178,257,920.
  o.n_gpu_layers = 16;
  const LlamaCppResult part = llamacpp_plan(m, format_of("q4_k_m"), 8192, 1, {gpu}, 0, o);
  CHECK(part.gpus[0].layers == 15);
  CHECK(part.gpus[0].lora_bytes == 157'286'400ull);
  CHECK(part.host.lora_bytes == 178'257'920ull);
  CHECK(part.lora_bytes == all.lora_bytes);
  // No GPU (CPU buffers align to 32; every tensor already does): all in system RAM.
  const LlamaCppResult cpu = llamacpp_plan(m, format_of("q4_k_m"), 8192, 1, {}, 0, o);
  CHECK(cpu.host.lora_bytes == 335'544'320ull);
}

TEST_CASE("llama.cpp --lora RANKxN through the estimate: N adapters; a draft model gets none") {
  const GpuSpec& gpu = catalog_gpu("h100");
  Settings s = vramcalc::test::settings_for("q4_k_m", Dtype::f16, 8192, 1);
  s.engine = EngineKind::llamacpp;
  s.gpus.push_back(GpuRequest{gpu, 1});
  const auto plain = estimate(model("llama3.1-8b"), s, catalog().gpus);
  s.engine_options.llamacpp.loras.assign(3, llamacpp_rank_lora(model("llama3.1-8b"), 16, Dtype::f32));
  const auto with = estimate(model("llama3.1-8b"), s, catalog().gpus);
  REQUIRE(plain.has_value());
  REQUIRE(with.has_value());
  // 3 x 167,772,160 = 503,316,480 bytes more on the busiest GPU.
  CHECK(with->fit.front().required_bytes_per_gpu == plain->fit.front().required_bytes_per_gpu + 503'316'480ull);
  CHECK(plan_of(*with).lora_bytes == 503'316'480ull);
  s.draft = std::make_shared<const DraftModel>(DraftModel{model("llama3.2-1b"), format_of("q8_0"), "llama3.2-1b"});
  const auto drafted = estimate(model("llama3.1-8b"), s, catalog().gpus);
  REQUIRE(drafted.has_value());
  CHECK(plan_of(*drafted).lora_bytes == 503'316'480ull);
}

namespace {

// A rank-8 f16 adapter for Llama-3.1-8B as convert_lora_to_gguf.py writes one: three pairs and a
// norm llama.cpp skips.
vramcalc::test::GgufWriter adapter_gguf(std::string_view general_type = "adapter") {
  using namespace vramcalc::test;
  GgufWriter w;
  w.str("general.architecture", "llama").str("general.type", general_type).str("adapter.type", "lora");
  w.f32("adapter.lora.alpha", 16.0f);
  w.tensor("blk.0.attn_q.weight.lora_a", g_f16, {4096, 8}).tensor("blk.0.attn_q.weight.lora_b", g_f16, {8, 4096});
  w.tensor("blk.31.ffn_down.weight.lora_a", g_f16, {14336, 8}).tensor("blk.31.ffn_down.weight.lora_b", g_f16, {8, 4096});
  w.tensor("output.weight.lora_a", g_f16, {4096, 8}).tensor("output.weight.lora_b", g_f16, {8, 128256});
  w.tensor("blk.0.attn_norm.weight", g_f32, {4096});
  return w;
}

LlamaCppLora read_adapter(const vramcalc::test::GgufWriter& w) {
  auto f = io::parse_gguf(io::memory_source(w.bytes()), "a.gguf");
  REQUIRE(f.has_value());
  auto l = io::llamacpp_lora_from_gguf(*f, model("llama3.1-8b"));
  REQUIRE(l.has_value());
  return *l;
}

} // namespace

TEST_CASE("llama.cpp --lora FILE: the adapter GGUF's pairs, each on its base tensor's device") {
  const LlamaCppLora lora = read_adapter(adapter_gguf());
  REQUIRE(lora.pairs.size() == 3); // the norm is skipped, as llama.cpp does
  CHECK(lora.rank == 0);
  // -ngl 16 on an H100: layers 17..31 and the output layer on the GPU, 0..16 in system RAM.
  //   blk.0.attn_q    a 4,096 x 8 x 2 = 65,536    b 8 x 4,096 x 2 = 65,536             host 131,072
  //   blk.31.ffn_down a 14,336 x 8 x 2 = 229,376  b 65,536                             GPU  294,912
  //   output          a 65,536                    b 8 x 128,256 x 2 = 2,052,096        GPU 2,117,632
  // (every size a multiple of CUDA's 128 and the CPU's 32: no padding)
  LlamaCppOptions o;
  o.n_gpu_layers = 16;
  o.loras = {lora};
  const LlamaCppResult r = llamacpp_plan(model("llama3.1-8b"), format_of("q4_k_m"), 8192, 1, {catalog_gpu("h100")}, 0, o);
  CHECK(r.gpus[0].lora_bytes == 294'912ull + 2'117'632ull);
  CHECK(r.gpus[0].lora_bytes == 2'412'544ull);
  CHECK(r.host.lora_bytes == 131'072ull);
  CHECK(r.lora_bytes == 2'543'616ull);
  CHECK(r.lora_adapters == 1);
}

TEST_CASE("llama.cpp --lora FILE: what llama.cpp refuses is refused, naming the file") {
  using namespace vramcalc::test;
  auto f = io::parse_gguf(io::memory_source(adapter_gguf("model").bytes()), "a.gguf");
  REQUIRE(f.has_value());
  auto l = io::llamacpp_lora_from_gguf(*f, model("llama3.1-8b"));
  REQUIRE_FALSE(l.has_value());
  CHECK(l.error().message == "a.gguf: not a LoRA adapter (general.type 'model'; llama.cpp expects 'adapter')");
  GgufWriter past = adapter_gguf();
  past.tensor("blk.32.attn_k.weight.lora_a", g_f16, {4096, 8}).tensor("blk.32.attn_k.weight.lora_b", g_f16, {8, 1024});
  auto p = io::llamacpp_lora_from_gguf(*io::parse_gguf(io::memory_source(past.bytes()), "a.gguf"), model("llama3.1-8b"));
  REQUIRE_FALSE(p.has_value());
  CHECK(p.error().message ==
        "a.gguf: 'blk.32.attn_k.weight' is past the model's 32 layers (llama.cpp: \"does not exist in base model\")");
  GgufWriter half = adapter_gguf();
  half.tensor("blk.3.attn_v.weight.lora_a", g_f16, {4096, 8});
  auto h = io::llamacpp_lora_from_gguf(*io::parse_gguf(io::memory_source(half.bytes()), "a.gguf"), model("llama3.1-8b"));
  REQUIRE_FALSE(h.has_value());
  CHECK(h.error().message == "a.gguf: 'blk.3.attn_v.weight' has only one of lora_a and lora_b");
}

TEST_CASE("llama.cpp LoRA buffers against a public log (tests/data/llamacpp/lora_log.md)") {
  // Llama-3-8B f16 (the shapes of llama3.1-8b), -ngl 30 on two GPUs, a build of July 2024 (the
  // output layer offloaded only with -ngl 33): layers 2..31 on the GPUs, 22 and 8 of them (the
  // split the log's sizes show, given here as -ts 22,8), layers 0 and 1 and the head on the CPU.
  // The adapter: rank 32 f16 over the seven projections (5,242,880 bytes a layer) and the head.
  const ModelSpec& m = model("llama3.1-8b");
  LlamaCppLora lora = llamacpp_rank_lora(m, 32, Dtype::f16);
  LlamaCppLoraPair head;
  head.layer = -1;
  head.a_ne0 = 4096;
  head.a_bytes = 4096ull * 32 * 2; // 262,144
  head.b_ne0 = 32;
  head.b_bytes = 32ull * 128'256 * 2; // 8,208,384
  lora.pairs.push_back(head);
  CHECK(lora.pairs.size() * 2 == 450); // "loaded 450 tensors from lora file"
  LlamaCppOptions o;
  o.release = 20240710;
  o.n_gpu_layers = 30;
  o.tensor_split = {22, 8};
  o.loras = {lora};
  const GpuSpec& gpu = catalog_gpu("rtx-4090");
  const LlamaCppResult r = llamacpp_plan(m, format_of("f16"), 4096, 1, {gpu, gpu}, 0, o);
  CHECK(r.gpus[0].lora_bytes == 22ull * 5'242'880); // CUDA0 110.00 MiB
  CHECK(r.gpus[0].lora_bytes == 110ull * 1024 * 1024);
  CHECK(r.gpus[1].lora_bytes == 40ull * 1024 * 1024); // CUDA1 40.00 MiB
  CHECK(r.host.lora_bytes == 2ull * 5'242'880 + 262'144 + 8'208'384); // CUDA_Host 18.08 MiB
  CHECK(r.host.lora_bytes == 18'956'288ull);
  char printed[32];
  std::snprintf(printed, sizeof printed, "%8.2f", static_cast<double>(r.host.lora_bytes) / 1024.0 / 1024.0);
  CHECK(std::string(printed) == "   18.08"); // as llama.cpp prints it
}

TEST_CASE("check --llama-server: --lora and --lora-scaled files, each form, into one list") {
  // --lora FNAME[,FNAME], repeatable; --lora-scaled FNAME:SCALE[,...] (today) or FNAME SCALE
  // (older builds); --lora-init-without-apply changes no memory and is read silently.
  const auto d = io::deployment_from_llama_server(
      "llama-server -m m.gguf --lora a.gguf --lora b.gguf,c.gguf --lora-scaled d.gguf:0.5,e.gguf:2 "
      "--lora-scaled f.gguf 0.3 --lora-init-without-apply -c 4096 -np 1");
  REQUIRE(d.has_value());
  CHECK(vramcalc::test::key(*d, "lora") == "a.gguf,b.gguf,c.gguf,d.gguf,e.gguf,f.gguf");
  CHECK(vramcalc::test::key(*d, "context") == "4096");
  CHECK(d->ignored.empty());
}
