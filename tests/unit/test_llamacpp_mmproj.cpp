// llama.cpp's vision projector compute buffer (docs/engines.md, "Vision projector"): the buffer
// clip.cpp reserves at its warmup, against tests/data/llamacpp/mmproj_compute.csv (clip.cpp of
// the llama.cpp node-llama-cpp 3.21.1 ships, CPU backend; tests/data/llamacpp/README.md).
#include "helpers.hpp"
#include "../support/csv_rows.hpp"
#include "../support/gguf_writer.hpp"
#include "vramcalc/engine.hpp"
#include "vramcalc/estimate.hpp"
#include "vramcalc/io/gguf_lora.hpp"

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

using namespace vramcalc;
using vramcalc::test::catalog;
using vramcalc::test::model;

namespace {

std::vector<std::map<std::string, std::string>> mmproj_rows(const char* file = "mmproj_compute.csv") {
  return vramcalc::test::csv_rows(std::string(VRAMCALC_TEST_DATA) + "/llamacpp/" + file);
}

std::uint64_t u64(const std::string& s) { return std::stoull(s); }

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

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

// The tower a CSV row was measured with; DeepStack layers before the last two blocks are kept.
ClipTower row_tower(const std::map<std::string, std::string>& row) {
  ClipTower t{row.at("projector"), u64(row.at("patches")), u64(row.at("heads")), u64(row.at("width")),
              u64(row.at("ffn_width")), "", u64(row.at("patch_size")), u64(row.at("blocks")), 0,
              u64(row.at("projection_width"))};
  t.qk_norm = row.at("qk_norm") == "1";
  std::stringstream ds(row.at("deepstack"));
  for (std::string layer; std::getline(ds, layer, ';');) {
    if (u64(layer) + 2 < t.blocks) ++t.deepstack_kept;
    if (u64(layer) + 1 < t.blocks) ++t.deepstack_before_last;
  }
  return t;
}

TEST_CASE("llama.cpp mmproj compute buffer: exact on every measured run it covers", "[llamacpp-mmproj]") {
  const auto rows = mmproj_rows();
  REQUIRE(rows.size() == 214);
  std::map<std::string, std::size_t> covered, uncovered;
  for (const auto& row : rows) {
    INFO(row.at("projector") << " " << row.at("warmup_px") << " px, " << row.at("blocks") << " blocks, width "
                             << row.at("width") << ", ffn " << row.at("ffn_width") << ", heads " << row.at("heads")
                             << ", " << row.at("weights") << ", fa " << row.at("fa"));
    const ClipTower t = row_tower(row);
    const bool fa = row.at("fa") == "1";
    const std::uint64_t measured = u64(row.at("compute_bytes"));
    const std::uint64_t rule = llamacpp_clip_compute_bytes(t, fa);
    const std::string key = t.projector + (fa ? " fa on" : " fa off");
    if (t.projector == "gemma3" && t.patches < 2304) {
      // Under 2,304 patches the input and the patch embedding weigh more: above the rule (1,024
      // patches with flash attention: 47,120,384 for 31,784,960), so the catalog's key refuses them.
      CHECK(measured > rule);
      ++uncovered[key];
    } else if (rule == 0) {
      // A single block (it peaks elsewhere; internvl's and llama4's rules hold there too); qwen3vl_merger with
      // flash attention; Qwen2.5-VL and pixtral outside their layouts: measured, no rule.
      CHECK((t.blocks == 1 || t.projector == "pixtral" || t.projector == "kimik25" || fa));
      CHECK((t.projector != "internvl" && t.projector != "llama4"));
      ++uncovered[key];
    } else {
      CHECK(rule == measured);
      ++covered[key];
    }
  }
  CHECK(covered == std::map<std::string, std::size_t>{{"gemma3 fa off", 9},
                                                      {"gemma3 fa on", 9},
                                                      {"gemma4v fa off", 11},
                                                      {"gemma4v fa on", 11},
                                                      {"qwen2.5vl_merger fa off", 14},
                                                      {"qwen2.5vl_merger fa on", 10},
                                                      {"qwen3vl_merger fa off", 22},
                                                      {"qwen3vl_merger fa on", 22},
                                                      {"pixtral fa on", 6},
                                                      {"pixtral fa off", 6},
                                                      {"internvl fa on", 19},
                                                      {"internvl fa off", 19},
                                                      {"llama4 fa on", 9},
                                                      {"llama4 fa off", 9},
                                                      {"kimik25 fa on", 7}});
  // Qwen2.5-VL with flash attention: 1 and 2 blocks, widths 1,920 and 2,560 (2E >= F: the MLP's
  // output fits in two freed n x width blocks), MLP 6,840 (2F > n: gate and up do not share the
  // f32 mask's freed block) lay the graph out otherwise.
  CHECK(uncovered["qwen2.5vl_merger fa on"] == 5);
  // Qwen3-VL with flash attention: 5 blocks with DeepStack layers 0-2 (all kept; their freed outputs
  // merge, the final concat peaks lower: 377,155,840, block 4's attention) is outside the layout.
  CHECK(uncovered["qwen3vl_merger fa on"] == 1);
  // pixtral: one block; width 1,280 with flash attention (over 6 x 14^2 = 1,176: the f16 K and V
  // copies no longer fit in the image's freed block); 8 heads without (8 x 1,024 < 3 x 4,096: the
  // scores no longer outweigh the MLP).
  CHECK(uncovered["pixtral fa on"] == 2);
  CHECK(uncovered["pixtral fa off"] == 2);
}

TEST_CASE("llama.cpp mmproj compute buffer: the public logs, to the printed digit", "[llamacpp-mmproj]") {
  // tests/data/llamacpp/mmproj_logs.csv: llama-server's "compute buffer size = X MiB" lines for the
  // projector's device and llama.cpp's "[mtmd] adding N MiB" (gguf-parser-go #44), each against
  // the catalog tower of the same shape (the Ministral 3 3B log: Mistral Small 3.1's tower
  // projecting to 3,072: 67,756,032 - 16 x 4 x (5,120 - 3,072) = 67,624,960 bytes, 64.49 MiB).
  const auto rows = mmproj_rows("mmproj_logs.csv");
  REQUIRE(rows.size() == 9);
  for (const auto& row : rows) {
    INFO(row.at("source") << ": " << row.at("log_model") << ", fa " << row.at("fa"));
    ClipTower t = *model(row.at("catalog_model")).vision_clip;
    if (!row.at("projection_width").empty()) t.projection_width = u64(row.at("projection_width"));
    const std::uint64_t bytes = llamacpp_clip_compute_bytes(t, row.at("fa") == "1");
    const int digits = std::stoi(row.at("digits"));
    CHECK(fixed(static_cast<double>(bytes) / (1024.0 * 1024.0), digits) == row.at("value"));
  }
}

TEST_CASE("llama.cpp mmproj compute buffer: the rules' terms at the catalog's shapes", "[llamacpp-mmproj]") {
  // Qwen2.5-VL without flash attention, n = 92^2 = 8,464 patches of 14 px (1,288 px), 16 heads,
  // 1,280 wide: scores 16 x 8,464^2 x 4 = 4,584,914,944; the f32 window mask 8,464^2 x 4 =
  // 286,557,184; five n x width f32, 5 x 8,464 x 1,280 x 4 = 216,678,400; the image 8,464 x 12 x
  // 14^2 = 19,907,328; positions 8,464 x 16 = 135,424; the two window indices 2 x 8,480 = 16,960
  // (8,464 bytes each, padded to 32): 5,108,210,240 bytes (4,871.57 MiB; gguf-parser-go #44: 4,872).
  const ClipTower& q25 = *model("qwen2.5-vl-7b").vision_clip;
  CHECK(16ull * 8464 * 8464 * 4 == 4'584'914'944ull);
  CHECK(4'584'914'944ull + 286'557'184 + 216'678'400 + 19'907'328 + 135'424 + 16'960 == 5'108'210'240ull);
  CHECK(llamacpp_clip_compute_bytes(q25, false) == 5'108'210'240ull);
  CHECK(llamacpp_clip_compute_bytes(*model("qwen2.5-vl-72b").vision_clip, false) == 5'108'210'240ull);
  // With flash attention the peak is block 1's MLP output past the f16 window mask: the image's
  // freed block 19,907,328 + positions 135,424 + the indices 16,960 + the f32 mask's freed block
  // and its f16 copy 6 x 8,464^2 = 429,835,776 + four n x width blocks 16 x 8,464 x 1,280 =
  // 173,342,720 + the MLP's output 4 x 8,464 x 3,420 = 115,787,520: 739,025,728 bytes (704.79
  // MiB; gguf-parser-go #44: 705). Qwen2.5-VL 72B's MLP is 3,456 wide: 740,244,544.
  CHECK(6ull * 8464 * 8464 == 429'835'776ull);
  CHECK(llamacpp_clip_compute_bytes(q25, true) ==
        19'907'328ull + 135'424 + 16'960 + 429'835'776 + 173'342'720 + 115'787'520);
  CHECK(llamacpp_clip_compute_bytes(q25, true) == 739'025'728ull);
  CHECK(llamacpp_clip_compute_bytes(*model("qwen2.5-vl-72b").vision_clip, true) == 740'244'544ull);
  // Qwen3-VL 8B: 16 px patches, 1,152 wide, DeepStack at blocks 8, 16, 24 of 27 (all three kept):
  // scores 4,584,914,944 + (7 + 3) x 8,464 x 1,152 x 4 = 390,021,120 + the image 8,464 x 12 x 16^2
  // = 26,001,408 + positions 135,424: 5,001,072,896 bytes.
  const ClipTower& q3 = *model("qwen3-vl-8b").vision_clip;
  CHECK(q3.deepstack_kept == 3);
  CHECK(10ull * 8464 * 1152 * 4 == 390'021'120ull);
  CHECK(llamacpp_clip_compute_bytes(q3, false) == 4'584'914'944ull + 390'021'120 + 26'001'408 + 135'424);
  CHECK(llamacpp_clip_compute_bytes(q3, false) == 5'001'072'896ull);
  // Qwen3-VL 4B: 1,024 wide, DeepStack 5, 11, 17 of 24: + 10 x 8,464 x 1,024 x 4 = 346,685,440.
  CHECK(llamacpp_clip_compute_bytes(*model("qwen3-vl-4b").vision_clip, false) ==
        4'584'914'944ull + 346'685'440 + 26'001'408 + 135'424);
  // With flash attention, U = 4 x 8,464 x 1,152 = 39,002,112 (one n x width f32) above the image
  // 26,001,408 and the positions 135,424 (26,136,832): block 26's attention (6 + 3 kept) x U =
  // 351,019,008; block 25's MLP (2 + 3) x U + 4 x 8,464 x 4,304 = 195,010,560 + 145,716,224 =
  // 340,726,784; the final DeepStack concat 4 x U + 6 x 8,464 x 4,096 = 156,008,448 + 208,011,264 =
  // 364,019,712, the largest: 390,156,544 bytes (372.08 MiB), measured so (27 blocks, 8;16;24).
  CHECK(4ull * 8464 * 1152 == 39'002'112ull);
  CHECK(6ull * 8464 * 4096 == 208'011'264ull);
  CHECK(llamacpp_clip_compute_bytes(q3, true) == 26'001'408ull + 135'424 + 4 * 39'002'112ull + 208'011'264);
  CHECK(llamacpp_clip_compute_bytes(q3, true) == 390'156'544ull);
  CHECK(llamacpp_clip_compute_bytes(*model("qwen3-vl-235b-a22b").vision_clip, true) == 390'156'544ull);
  // Qwen3-VL 30B projects to 2,048: the concat 156,008,448 + 104,005,632 is under block 26's
  // attention 9 x U: 26,136,832 + 351,019,008 = 377,155,840 (measured so).
  CHECK(llamacpp_clip_compute_bytes(*model("qwen3-vl-30b-a3b").vision_clip, true) == 26'136'832ull + 9 * 39'002'112ull);
  CHECK(llamacpp_clip_compute_bytes(*model("qwen3-vl-30b-a3b").vision_clip, true) == 377'155'840ull);
  // Qwen3-VL 2B / 4B (1,024 wide, MLP 4,096, projecting to 2,048 / 2,560): attention 9 x 4 x 8,464 x
  // 1,024 = 312,016,896 ties the MLP 5 x 34,668,544 + 4 x 8,464 x 4,096 = 173,342,720 + 138,674,176:
  // 26,136,832 + 312,016,896 = 338,153,728 (measured so).
  for (const char* id : {"qwen3-vl-2b", "qwen3-vl-4b"}) {
    CHECK(llamacpp_clip_compute_bytes(*model(id).vision_clip, true) == 26'136'832ull + 312'016'896);
  }
  // Qwen3.5 (no DeepStack): block 0's attention 6 x U = 234,012,672 over the MLP 2 x U + 145,716,224
  // = 223,720,448: 260,149,504 bytes (248.10 MiB, the Qwen3.6-27B log's figure).
  CHECK(llamacpp_clip_compute_bytes(*model("qwen3.5-27b").vision_clip, true) == 26'136'832ull + 6 * 39'002'112ull);
  CHECK(llamacpp_clip_compute_bytes(*model("qwen3.5-27b").vision_clip, true) == 260'149'504ull);
  // Qwen3.5 (no DeepStack): 7 x 8,464 x 1,152 x 4 = 273,014,784: 4,884,066,560 bytes.
  CHECK(llamacpp_clip_compute_bytes(*model("qwen3.5-27b").vision_clip, false) ==
        4'584'914'944ull + 273'014'784 + 26'001'408 + 135'424);
  CHECK(llamacpp_clip_compute_bytes(*model("qwen3.5-27b").vision_clip, false) == 4'884'066'560ull);
  // Gemma 4: 16 x 16 tokens of 3 x 3 patches, n = 48^2 = 2,304 of 16 px (768 px), 1,152 wide, MLP
  // 4,304, 16 heads. Flash attention: the gated MLP's three n x 4,304 f32 (118,996,992), three
  // n x 1,152 (31,850,496), the image 2,304 x 12 x 256 = 7,077,888 and pos_x / pos_y 2,304 x 8 =
  // 18,432: 157,943,808 (150.63 MiB). Without: scores 16 x 2,304^2 x 4 =
  // 339,738,624 + 5 x 2,304 x 1,152 x 4 = 53,084,160 + 7,077,888 + 18,432 = 399,919,104.
  // Mistral Small 3.1 (pixtral): 16 x 16 tokens of 2 x 2 patches, n = 32^2 = 1,024 of 14 px (448
  // px), 1,024 wide, MLP 4,096, 16 heads, projecting to 5,120. Flash attention: block 1's three
  // n x 4,096 f32 (50,331,648) + 14 x 1,024 x 1,024 (the live and freed n x width blocks,
  // 14,680,064) + the image 1,024 x 12 x 196 = 2,408,448 + pos_h / pos_w 8,192 + the [IMG_BREAK]
  // rows 16 x 5,120 x 4 = 327,680: 67,756,032 bytes (64.62 MiB). Without: scores 16 x 1,024^2 x 4 =
  // 67,108,864 + 20 x 1,024 x 1,024 = 20,971,520 + 2,408,448 + 8,192 + 327,680 = 90,824,704.
  const ClipTower& px = *model("mistral-small-3.1-24b").vision_clip;
  CHECK(llamacpp_clip_compute_bytes(px, true) == 50'331'648ull + 14'680'064 + 2'408'448 + 8'192 + 327'680);
  CHECK(llamacpp_clip_compute_bytes(px, true) == 67'756'032ull);
  CHECK(llamacpp_clip_compute_bytes(px, false) == 67'108'864ull + 20'971'520 + 2'408'448 + 8'192 + 327'680);
  CHECK(llamacpp_clip_compute_bytes(px, false) == 90'824'704ull);
  // InternVL3 (InternViT-300M): 448 px / 14 px, 1,024 patches and the class token: n + 1 = 1,025
  // positions, 1,024 wide, MLP 4,096, 16 heads. Flash attention: 4 x 1,025 x (4,096 + 3 x 1,024) =
  // 29,388,800 bytes (28.03 MiB); without: 16 x 1,025^2 x 4 = 67,240,000 + 16 x 1,025 x 1,024 =
  // 16,793,600: 84,033,600 (80.14 MiB).
  for (const char* id : {"internvl3-1b", "internvl3-14b", "internvl3.5-8b"}) {
    const ClipTower& iv = *model(id).vision_clip;
    CHECK(llamacpp_clip_compute_bytes(iv, true) == 4ull * 1025 * (4096 + 3 * 1024));
    CHECK(llamacpp_clip_compute_bytes(iv, true) == 29'388'800ull);
    CHECK(llamacpp_clip_compute_bytes(iv, false) == 67'240'000ull + 16'793'600);
  }
  // Llama 4 Scout / Maverick: 336 px / 14 px, 576 patches and the class token, n + 1 = 577, 1,408
  // wide, MLP 5,632, 16 heads. Flash attention: 4 x 577 x 5,632 = 12,998,656 + 8 x 577 x 1,408 =
  // 6,499,328 + the image 12 x 576 x 196 = 1,354,752 + pos_h / pos_w 2 x 2,336 (577 x 4 = 2,308
  // padded to 32) = 4,672: 20,857,408 bytes (19.89 MiB). Without: scores 16 x 577^2 x 4 =
  // 21,307,456 + 20 x 577 x 1,408 = 16,248,320 + 1,354,752 + 4,672 = 38,915,200 (37.11 MiB).
  for (const char* id : {"llama-4-scout", "llama-4-maverick"}) {
    const ClipTower& l4 = *model(id).vision_clip;
    CHECK(llamacpp_clip_compute_bytes(l4, true) == 12'998'656ull + 6'499'328 + 1'354'752 + 4'672);
    CHECK(llamacpp_clip_compute_bytes(l4, true) == 20'857'408ull);
    CHECK(llamacpp_clip_compute_bytes(l4, false) == 21'307'456ull + 16'248'320 + 1'354'752 + 4'672);
  }
  // Kimi K2.5 (MoonViT): warmup at the side of image_max_pixels = 16,384 x 14^2: 1,792 px, n =
  // 16,384 patches, 1,152 wide, MLP 4,304. Flash attention: 4 x 16,384 x 4,304 = 282,066,944 + 14 x
  // 16,384 x 1,152 = 264,241,152 + the image 12 x 16,384 x 196 = 38,535,168 + pos_h / pos_w
  // 2 x 65,536: 584,974,336 bytes (557.88 MiB). Without: no rule (0).
  const ClipTower& k25 = *model("kimi-k2.5").vision_clip;
  CHECK(llamacpp_clip_compute_bytes(k25, true) == 282'066'944ull + 264'241'152 + 38'535'168 + 131'072);
  CHECK(llamacpp_clip_compute_bytes(k25, true) == 584'974'336ull);
  CHECK(llamacpp_clip_compute_bytes(k25, false) == 0);
  // InternVL3 38B / 78B (InternViT-6B: q / k norms, and RMS norms at 3,200 wide and 45 blocks),
  // n' = 1,024 + 1 = 1,025, E 3,200, F 12,800, 25 heads: InternViT-300M's rule, measured on the
  // whole 45-block tower. With flash attention 4 n' (F + 3E); without, the scores 4 x 25 x 1,025^2
  // = 105,062,500, padded to 32 bytes 105,062,528, and four n' x E.
  for (const char* id : {"internvl3-38b", "internvl3-78b"}) {
    INFO(id);
    REQUIRE(model(id).vision_clip);
    const ClipTower& i6 = *model(id).vision_clip;
    CHECK(i6.qk_norm);
    CHECK(llamacpp_clip_compute_bytes(i6, true) == 4ull * 1025 * (12'800 + 3 * 3'200));
    CHECK(llamacpp_clip_compute_bytes(i6, true) == 91'840'000ull);
    CHECK(llamacpp_clip_compute_bytes(i6, false) == 105'062'528ull + 16ull * 1025 * 3'200);
    CHECK(llamacpp_clip_compute_bytes(i6, false) == 157'542'528ull);
  }
  // The same tower with fewer blocks has layer norms, and its q / k norms another layout: two n' x E
  // beside the MLP's output (4 n' (F + 2E)), five beside the scores (measured at 2, 4 and 6 blocks).
  ClipTower short6 = *model("internvl3-78b").vision_clip;
  short6.blocks = 4;
  CHECK(llamacpp_clip_compute_bytes(short6, true) == 4ull * 1025 * (12'800 + 2 * 3'200));
  CHECK(llamacpp_clip_compute_bytes(short6, false) == 105'062'528ull + 20ull * 1025 * 3'200);
  const ClipTower& g4 = *model("gemma-4-31b").vision_clip;
  CHECK(3ull * 2304 * 4304 * 4 == 118'996'992ull);
  CHECK(llamacpp_clip_compute_bytes(g4, true) == 118'996'992ull + 31'850'496 + 7'077'888 + 18'432);
  CHECK(llamacpp_clip_compute_bytes(g4, true) == 157'943'808ull);
  CHECK(llamacpp_clip_compute_bytes(g4, false) == 339'738'624ull + 53'084'160 + 7'077'888 + 18'432);
  CHECK(llamacpp_clip_compute_bytes(g4, false) == 399'919'104ull);
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

  // InternVL3 78B (InternViT-6B) adds its 91,840,000 bytes; Qwen3-VL 8B with flash attention on
  // its 390,156,544 (the final DeepStack concat), Qwen2.5-VL 7B its 739,025,728.
  s.engine_options.llamacpp = LlamaCppOptions{};
  s.engine_options.llamacpp.mmproj_dtype = Dtype::f16;
  const auto intern = estimate(model("internvl3-78b"), s, catalog().gpus);
  REQUIRE(intern);
  CHECK(std::get<LlamaCppSection>(intern->engine->detail).plan.mmproj_compute_bytes == 91'840'000ull);
  const auto q3 = estimate(model("qwen3-vl-8b"), s, catalog().gpus);
  REQUIRE(q3);
  CHECK(std::get<LlamaCppSection>(q3->engine->detail).plan.mmproj_compute_bytes == 390'156'544ull);
  const auto qwen = estimate(model("qwen2.5-vl-7b"), s, catalog().gpus);
  REQUIRE(qwen);
  CHECK(std::get<LlamaCppSection>(qwen->engine->detail).plan.mmproj_compute_bytes == 739'025'728ull);
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
  // Qwen2.5-VL warms up at 46 x 46 tokens of 2 x 2 patches whatever its image_size: 8,464
  // patches; without flash attention 16 x 8,464^2 x 4 + 8,464^2 x 4 + 5 x 8,464 x 1,152 x 4 +
  // 8,464 x (12 x 14^2 + 16) + 2 x 8,480 = 5,086,542,400 bytes. With it the measured layout needs
  // 2 x MLP <= n, and 2 x 4,304 = 8,608 > 8,464: no rule (0).
  const io::LlamaCppMmproj q = projector("qwen2.5vl_merger", 560, 32);
  CHECK(q.projector == "qwen2.5vl_merger");
  REQUIRE(q.clip);
  CHECK(q.clip->patches == 8464);
  CHECK(llamacpp_clip_compute_bytes(*q.clip, false) ==
        16ull * 8464 * 8464 * 4 + 8464ull * 8464 * 4 + 5ull * 8464 * 1152 * 4 + 8464ull * (12 * 196 + 16) + 2 * 8480);
  CHECK(llamacpp_clip_compute_bytes(*q.clip, false) == 5'086'542'400ull);
  CHECK(llamacpp_clip_compute_bytes(*q.clip, true) == 0);
  // pixtral without spatial_merge_size 2 (Pixtral 12B's tower, no patch merger: not measured)
  // and a projector without a rule (llava) count none.
  CHECK(projector("pixtral", 1540, 24).projector == "pixtral");
  CHECK_FALSE(projector("pixtral", 1540, 24).clip);
  CHECK_FALSE(projector("llava", 336, 24).clip);
  // internvl warms up at image_size, with the class token: this file's 896 / 14 = 64^2 = 4,096
  // patches, 4,097 positions: 4 x 4,097 x (4,304 + 3 x 1,152) bytes with flash attention.
  REQUIRE(projector("internvl", 896, 24).clip);
  CHECK(projector("internvl", 896, 24).clip->patches == 4096);
  CHECK(llamacpp_clip_compute_bytes(*projector("internvl", 896, 24).clip, true) == 4ull * 4097 * (4304 + 3 * 1152));
  {
    // Mistral Small 3.1's: spatial_merge_size 2 (32^2 = 1,024 patches at warmup) and mm.2.weight's
    // output width (5,120) for the [IMG_BREAK] rows; this file's tower is 1,152 wide, MLP 4,304:
    // 12 x 1,024 x 4,304 + 14 x 1,024 x 1,152 + 1,024 x (12 x 196 + 8) + 64 x 5,120 bytes.
    GgufWriter w;
    w.str("general.architecture", "clip").str("clip.projector_type", "pixtral");
    w.u32("clip.vision.image_size", 1540).u32("clip.vision.patch_size", 14).u32("clip.vision.spatial_merge_size", 2);
    w.u32("clip.vision.embedding_length", 1152).u32("clip.vision.feed_forward_length", 4304);
    w.u32("clip.vision.attention.head_count", 16).u32("clip.vision.block_count", 24);
    w.tensor("mm.2.weight", g_f16, {5120, 5120});
    auto f = io::parse_gguf(io::memory_source(w.bytes()), "mmproj.gguf");
    REQUIRE(f.has_value());
    auto px = io::llamacpp_mmproj_from_gguf(*f);
    REQUIRE(px.has_value());
    REQUIRE(px->clip);
    CHECK(px->clip->patches == 1024);
    CHECK(px->clip->projection_width == 5120);
    CHECK(llamacpp_clip_compute_bytes(*px->clip, true) ==
          12ull * 1024 * 4304 + 14ull * 1024 * 1152 + 1024ull * (12 * 196 + 8) + 64 * 5120);
  }

  // The file's tower wins over the model's; a file naming another projector counts none; a file
  // without the key leaves the model's.
  const ModelSpec& m = model("gemma-3-27b");
  LlamaCppOptions o;
  CHECK(llamacpp_mmproj_tower(m, o) == &*m.vision_clip);
  o.mmproj_projector = "gemma3";
  o.mmproj_clip = projector("gemma3", 1120, 2).clip;
  CHECK(llamacpp_mmproj_tower(m, o)->patches == 6400);
  o.mmproj_projector = "llava";
  o.mmproj_clip.reset();
  CHECK(llamacpp_mmproj_tower(m, o) == nullptr);
}
