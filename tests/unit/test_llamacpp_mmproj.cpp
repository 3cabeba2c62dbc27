// llama.cpp's vision projector compute buffer (docs/engines.md, "Vision projector"): the buffer
// clip.cpp reserves at its warmup, against tests/data/llamacpp/mmproj_compute.csv (clip.cpp of
// the llama.cpp node-llama-cpp 3.21.1 ships, CPU backend; tests/data/llamacpp/README.md).
#include "helpers.hpp"
#include "../support/gguf_writer.hpp"
#include "vramcalc/engine.hpp"
#include "vramcalc/estimate.hpp"
#include "vramcalc/io/gguf_lora.hpp"

#include <fstream>
#include <map>
#include <sstream>

using namespace vramcalc;
using vramcalc::test::catalog;
using vramcalc::test::model;

namespace {

std::vector<std::map<std::string, std::string>> mmproj_rows() {
  std::ifstream in(std::string(VRAMCALC_TEST_DATA) + "/llamacpp/mmproj_compute.csv");
  REQUIRE(in.good());
  const auto cells = [](const std::string& line) {
    std::vector<std::string> out;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) out.push_back(c);
    return out;
  };
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> header = cells(line);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    const std::vector<std::string> c = cells(line);
    REQUIRE(c.size() == header.size());
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < c.size(); ++i) row[header[i]] = c[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

std::uint64_t u64(const std::string& s) { return std::stoull(s); }

} // namespace

TEST_CASE("llama.cpp mmproj compute buffer: Gemma 3's SigLIP at its 896 px warmup", "[llamacpp-mmproj]") {
  const ModelSpec& m = model("gemma-3-27b");
  REQUIRE(m.vision_clip);
  const ClipTower& t = *m.vision_clip;
  // 896 px / 14 px = 64 patches a side: 4,096 patches; 16 heads, 1,152 wide, MLP 4,304.
  CHECK(t.patches == 64ull * 64);
  // Flash attention: 4,096 x 4 B x (4,304 + 3 x 1,152 = 7,760) = 127,139,840 bytes (121.25 MiB).
  CHECK(llamacpp_clip_compute_bytes(t, true) == 4096ull * 4 * (4304 + 3 * 1152));
  CHECK(llamacpp_clip_compute_bytes(t, true) == 127'139'840ull);
  // Without: scores 16 x 4,096^2 x 4 B = 1,073,741,824 plus 4,096 x 4 B x 6 x 1,152 = 113,246,208:
  // 1,186,988,032 bytes (1,132.00 MiB).
  CHECK(16ull * 4096 * 4096 * 4 == 1'073'741'824ull);
  CHECK(4096ull * 4 * 6 * 1152 == 113'246'208ull);
  CHECK(llamacpp_clip_compute_bytes(t, false) == 1'186'988'032ull);
  // gguf-parser-go #44 read llama.cpp's "[mtmd] adding N MiB to fit_params_target" on ROCm:
  // 121 MiB with flash attention, 1,132 without; these are 121.25 and 1,132.00 MiB.
  CHECK(127'139'840ull / (1024 * 1024) == 121);
  CHECK(1'186'988'032ull == 1132ull * 1024 * 1024);
  // Every Gemma 3 with a vision tower has the same one.
  for (const char* id : {"gemma-3-4b", "gemma-3-12b"}) {
    REQUIRE(model(id).vision_clip);
    CHECK(llamacpp_clip_compute_bytes(*model(id).vision_clip, true) == 127'139'840ull);
  }
}

TEST_CASE("llama.cpp mmproj compute buffer: exact on every measured run it covers", "[llamacpp-mmproj]") {
  const auto rows = mmproj_rows();
  REQUIRE(rows.size() == 62);
  std::size_t covered = 0;
  for (const auto& row : rows) {
    INFO(row.at("projector") << " " << row.at("warmup_px") << " px, " << row.at("blocks") << " blocks, "
                             << row.at("weights") << ", fa " << row.at("fa"));
    if (row.at("projector") != "gemma3") {
      // Qwen2.5-VL (measured, not modelled; docs/engines.md): without flash attention, from 2
      // blocks, scores H x n^2 x 4 + the window mask n^2 x 4 + 5 x n x E x 4 + 20,059,712 bytes
      // of inputs, at its fixed 8,464 patches; with it the peak moves with the width.
      const std::uint64_t n = u64(row.at("patches")), h = u64(row.at("heads")), e = u64(row.at("width"));
      if (row.at("fa") == "0" && u64(row.at("blocks")) >= 2) {
        CHECK(u64(row.at("compute_bytes")) == h * n * n * 4 + n * n * 4 + 5 * n * e * 4 + 20'059'712ull);
      }
      continue;
    }
    const ClipTower t{"gemma3", u64(row.at("patches")), u64(row.at("heads")), u64(row.at("width")),
                      u64(row.at("ffn_width")), ""};
    const std::uint64_t measured = u64(row.at("compute_bytes"));
    const std::uint64_t rule = llamacpp_clip_compute_bytes(t, row.at("fa") == "1");
    // The rule holds from 2,304 patches (672 px) with 2 blocks or more: the block count and the
    // weights' type (f16, f32, an f32 projection) do not change the buffer.
    if (t.patches >= 2304 && u64(row.at("blocks")) >= 2) {
      CHECK(rule == measured);
      ++covered;
    } else if (t.patches < 2304) {
      // Under 2,304 patches the input and the patch embedding weigh more: above the rule (1,024
      // patches with flash attention: 47,120,384 for 31,784,960), so the catalog's key refuses them.
      CHECK(measured > rule);
    } else {
      // A single block peaks where its MLP meets the projector: at most the rule (an upper bound).
      CHECK(measured <= rule);
    }
  }
  CHECK(covered == 18);
}

TEST_CASE("llama.cpp --mmproj: the encoder's compute buffer on the projector's device", "[llamacpp-mmproj]") {
  Settings s;
  s.weights = parse_weight_format("q4_k_m", Dtype::bf16).value();
  s.context_tokens = 8192;
  s.engine = EngineKind::llamacpp;
  s.engine_options.llamacpp.mmproj_dtype = Dtype::f16;
  s.gpus.push_back(GpuRequest{**catalog().find_gpu("rtx4090"), 1});
  const auto with = estimate(model("gemma-3-27b"), s, catalog().gpus);
  s.engine_options.llamacpp.mmproj_dtype.reset();
  const auto without = estimate(model("gemma-3-27b"), s, catalog().gpus);
  REQUIRE(with);
  REQUIRE(without);
  const LlamaCppResult& a = std::get<LlamaCppSection>(with->engine->detail).plan;
  const LlamaCppResult& b = std::get<LlamaCppSection>(without->engine->detail).plan;
  // Flash attention on (auto, a GPU that has it): 127,139,840 bytes more in the GPU's compute buffer.
  CHECK(a.flash_attn);
  CHECK(a.mmproj_compute_bytes == 127'139'840ull);
  CHECK(a.gpus[0].compute_bytes == b.gpus[0].compute_bytes + 127'139'840ull);
  CHECK(a.host.compute_bytes == b.host.compute_bytes);

  // --no-mmproj-offload, flash attention off: 1,186,988,032 bytes in the host's.
  s.engine_options.llamacpp.mmproj_dtype = Dtype::f16;
  s.engine_options.llamacpp.no_mmproj_offload = true;
  s.engine_options.llamacpp.flash_attn = FlashAttn::off;
  const auto cpu = estimate(model("gemma-3-27b"), s, catalog().gpus);
  s.engine_options.llamacpp.mmproj_dtype.reset();
  const auto cpu_without = estimate(model("gemma-3-27b"), s, catalog().gpus);
  REQUIRE(cpu);
  REQUIRE(cpu_without);
  const LlamaCppResult& c = std::get<LlamaCppSection>(cpu->engine->detail).plan;
  const LlamaCppResult& d = std::get<LlamaCppSection>(cpu_without->engine->detail).plan;
  CHECK(c.mmproj_compute_bytes == 1'186'988'032ull);
  CHECK(c.host.compute_bytes == d.host.compute_bytes + 1'186'988'032ull);
  CHECK(c.gpus[0].compute_bytes == d.gpus[0].compute_bytes);

  // A model without the clip facts keeps the note and adds nothing.
  s.engine_options.llamacpp = LlamaCppOptions{};
  s.engine_options.llamacpp.mmproj_dtype = Dtype::f16;
  const auto qwen = estimate(model("qwen2.5-vl-7b"), s, catalog().gpus);
  REQUIRE(qwen);
  CHECK(std::get<LlamaCppSection>(qwen->engine->detail).plan.mmproj_compute_bytes == 0);
}

TEST_CASE("llama.cpp --mmproj FILE.gguf: the tower read from the projector's header", "[llamacpp-mmproj]") {
  using namespace vramcalc::test;
  const auto projector = [](const char* type, std::uint32_t image_size, std::uint32_t blocks) {
    GgufWriter w;
    w.str("general.architecture", "clip").str("clip.projector_type", type);
    w.u32("clip.vision.image_size", image_size).u32("clip.vision.patch_size", 14);
    w.u32("clip.vision.embedding_length", 1152).u32("clip.vision.feed_forward_length", 4304);
    w.u32("clip.vision.attention.head_count", 16).u32("clip.vision.block_count", blocks);
    w.tensor("v.patch_embd.weight", g_f16, {14, 14, 3, 1152});
    auto f = io::parse_gguf(io::memory_source(w.bytes()), "mmproj.gguf");
    REQUIRE(f.has_value());
    auto m = io::llamacpp_mmproj_from_gguf(*f);
    REQUIRE(m.has_value());
    return *m;
  };
  // Gemma 3's: 896 / 14 = 64, 4,096 patches; the rule gives 127,139,840 bytes with flash attention.
  const io::LlamaCppMmproj g = projector("gemma3", 896, 27);
  CHECK(g.projector == "gemma3");
  REQUIRE(g.clip);
  CHECK(g.clip->patches == 4096);
  CHECK(llamacpp_clip_compute_bytes(*g.clip, true) == 127'139'840ull);
  // 1,120 px: 80^2 = 6,400 patches, measured 198,656,000 = 6,400 x 4 x 7,760 (mmproj_compute.csv).
  CHECK(llamacpp_clip_compute_bytes(*projector("gemma3", 1120, 2).clip, true) == 198'656'000ull);
  // Outside the measured rule: 448 px (1,024 patches), one block, another projector.
  CHECK_FALSE(projector("gemma3", 448, 27).clip);
  CHECK_FALSE(projector("gemma3", 896, 1).clip);
  const io::LlamaCppMmproj q = projector("qwen2.5vl_merger", 560, 32);
  CHECK(q.projector == "qwen2.5vl_merger");
  CHECK_FALSE(q.clip);

  // The file's tower wins over the model's; a file naming another projector counts none; a file
  // without the key leaves the model's.
  const ModelSpec& m = model("gemma-3-27b");
  LlamaCppOptions o;
  CHECK(llamacpp_mmproj_tower(m, o) == &*m.vision_clip);
  o.mmproj_projector = "gemma3";
  o.mmproj_clip = projector("gemma3", 1120, 2).clip;
  CHECK(llamacpp_mmproj_tower(m, o)->patches == 6400);
  o.mmproj_projector = "qwen2.5vl_merger";
  o.mmproj_clip.reset();
  CHECK(llamacpp_mmproj_tower(m, o) == nullptr);
}
