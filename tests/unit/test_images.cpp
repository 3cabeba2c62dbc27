// Images per request: the placeholder tokens of a W x H image by the model's image processor
// (src/core/images.cpp; docs/engines.md, "Images per request"), with the processors' own worked
// examples, sizes where Python's floating point decides the answer, and the importer's facts.
#include "helpers.hpp"
#include "vramcalc/images.hpp"
#include "vramcalc/io/catalog.hpp"
#include "vramcalc/io/hf_config.hpp"

using namespace vramcalc;

namespace {

ImageProcessor qwen(std::uint64_t patch, std::uint64_t min_pixels, std::uint64_t max_pixels) {
  ImageProcessor p;
  p.kind = ImageProcessorKind::qwen2_vl;
  p.patch = patch;
  p.merge = 2;
  p.min_pixels = min_pixels;
  p.max_pixels = max_pixels;
  return p;
}

// Qwen2.5-VL's preprocessor_config.json: min_pixels 3,136, max_pixels 12,845,056, 14 px x 2.
const ImageProcessor q25 = qwen(14, 3136, 12'845'056);
// Qwen3-VL's: size.shortest_edge 65,536, size.longest_edge 16,777,216, 16 px x 2.
const ImageProcessor q3 = qwen(16, 65'536, 16'777'216);

ImageTokens tokens_of(const ImageProcessor& p, std::uint64_t w, std::uint64_t h) {
  auto t = image_tokens(p, w, h);
  if (!t) FAIL(t.error());
  return *t;
}

ImageProcessor pixtral() {
  ImageProcessor p;
  p.kind = ImageProcessorKind::pixtral;
  p.patch = 14;
  p.merge = 2;
  p.longest_edge = 1540;
  return p;
}

} // namespace

TEST_CASE("Qwen2-VL smart_resize: transformers' and vLLM's worked examples", "[images]") {
  // transformers tests/models/qwen2_vl/test_image_processing_qwen2_vl.py test_select_best_resolution:
  // smart_resize(561, 278, factor=28) == (560, 280) (min 56 x 56, max 28 x 28 x 1,280 pixels):
  // round(561 / 28 = 20.04) = 20 -> 560, round(278 / 28 = 9.93) = 10 -> 280; 560 x 280 = 156,800
  // within [3,136, 1,003,520]. Tokens (560 / 14) (280 / 14) / 2^2 = 40 x 20 / 4 = 200.
  const ImageProcessor small = qwen(14, 56 * 56, 28 * 28 * 1280);
  ImageTokens t = tokens_of(small, 278, 561);
  CHECK(t.resized_height == 560);
  CHECK(t.resized_width == 280);
  CHECK(t.tokens == 40 * 20 / 4);
  // test_call_pil: 1,024 x 1,024 images give image_grid_thw [1, 70, 70]: round(1024 / 28 = 36.57)
  // = 37 -> 1,036^2 = 1,073,296 > 1,003,520, so beta = sqrt(1,048,576 / 1,003,520) = 1.0222 and
  // floor(1024 / 1.0222 / 28 = 35.78) = 35 -> 980 = 70 patches of 14; 35 x 35 = 1,225 tokens.
  t = tokens_of(small, 1024, 1024);
  CHECK(t.resized_width == 980);
  CHECK(t.resized_height == 980);
  CHECK(t.tokens == 35 * 35);
  // vLLM tests/models/multimodal/processing/test_qwen2_vl.py (Qwen2-VL-2B, the stop_sign asset,
  // 1,300 x 876 as tests/entrypoints/serve/tokenize/test_tokenization_vlm.py says): 1,426 tokens
  // by default: round(876 / 28 = 31.29) = 31, round(1300 / 28 = 46.43) = 46, 31 x 46 = 1,426;
  // with min_pixels 64^2, max_pixels 512^2: 868 x 1,288 > 262,144, beta = sqrt(1,138,800 /
  // 262,144) = 2.0843, floor(876 / 2.0843 / 28 = 15.01) = 15, floor(1300 / 2.0843 / 28 = 22.28)
  // = 22: 330 tokens. (The same 1,426 in test_tokenization_vlm.py's 1,451 prompt tokens of
  // Qwen2.5-VL-3B: 1,426 image tokens and 25 of text.)
  t = tokens_of(q25, 1300, 876);
  CHECK(t.resized_width == 46 * 28);
  CHECK(t.resized_height == 31 * 28);
  CHECK(t.tokens == 1426);
  t = tokens_of(qwen(14, 64 * 64, 512 * 512), 1300, 876);
  CHECK(t.resized_width == 22 * 28);
  CHECK(t.resized_height == 15 * 28);
  CHECK(t.tokens == 330);
}

TEST_CASE("Qwen2.5-VL and Qwen3-VL: a 1920 x 1080 image", "[images]") {
  // Qwen2.5-VL: round(1920 / 28 = 68.57) = 69 -> 1,932, round(1080 / 28 = 38.57) = 39 -> 1,092;
  // 1,932 x 1,092 = 2,109,744 pixels within [3,136, 12,845,056]: 69 x 39 = 2,691 tokens.
  ImageTokens t = tokens_of(q25, 1920, 1080);
  CHECK(t.width == 1920);
  CHECK(t.height == 1080);
  CHECK(t.resized_width == 1932);
  CHECK(t.resized_height == 1092);
  CHECK(t.tokens == 69 * 39);
  CHECK(t.tokens == 2691);
  // Qwen3-VL: round(1920 / 32) = 60 -> 1,920, round(1080 / 32 = 33.75) = 34 -> 1,088: 60 x 34 = 2,040.
  t = tokens_of(q3, 1920, 1080);
  CHECK(t.resized_width == 1920);
  CHECK(t.resized_height == 1088);
  CHECK(t.tokens == 2040);
  // 8K (7,680 x 4,320): 7,672 x 4,312 > max_pixels; beta = sqrt(33,177,600 / 12,845,056) = 1.6071,
  // floor(7680 / 1.6071 / 28 = 170.67) = 170 -> 4,760, floor(4320 / 1.6071 / 28 = 96.0) = 96 ->
  // 2,688: 170 x 96 = 16,320 tokens, just under the 16,384 of a square 3,584 px image.
  t = tokens_of(q25, 7680, 4320);
  CHECK(t.resized_width == 4760);
  CHECK(t.resized_height == 2688);
  CHECK(t.tokens == 16'320);
}

TEST_CASE("smart_resize: Python's floating point, not exact arithmetic, decides", "[images]") {
  // Qwen2.5-VL, 4,832 x 2,718: beta = sqrt(13,133,376 / 12,845,056), and 2718 / beta / 28 is
  // 95.99999999999999 in doubles (exactly 96 with real numbers): floor 95 -> 2,660, not 2,688.
  // 4832 / beta / 28 = 170.7 -> 170 -> 4,760. Tokens 95 x 170 = 16,150 (exact math: 16,320).
  ImageTokens t = tokens_of(q25, 4832, 2718);
  CHECK(t.resized_height == 2660);
  CHECK(t.resized_width == 4760);
  CHECK(t.tokens == 95 * 170);
  // Qwen3-VL, 239 x 239: round(239 / 32 = 7.47) = 7 -> 224^2 = 50,176 < 65,536, so beta =
  // sqrt(65,536 / 57,121) and 239 x beta = 256.00000000000006 in doubles (256 exactly): ceil(
  // 8.000000000000002) = 9 -> 288 a side, (288 / 16)^2 / 4 = 81 tokens (exact math: 64).
  t = tokens_of(q3, 239, 239);
  CHECK(t.resized_width == 288);
  CHECK(t.tokens == 81);
  // round() is Python's: ties to even. 70 / 28 = 2.5 rounds to 2 -> 56 x 56 = 3,136 pixels, not
  // under min_pixels: 2 x 2 = 4 tokens (half up would give 84 px, 9 tokens). 98 / 28 = 3.5 -> 4.
  CHECK(tokens_of(q25, 70, 70).tokens == 4);
  CHECK(tokens_of(q25, 98, 98).resized_width == 112);
  // Below min_pixels: 1 x 1 -> round(1 / 28) = 0, 0 < 3,136: beta = sqrt(3,136) = 56, ceil(56 /
  // 28) = 2 -> 56 x 56, 4 tokens; Qwen3-VL sqrt(65,536) = 256 -> 256 x 256, 8 x 8 = 64 tokens.
  CHECK(tokens_of(q25, 1, 1).tokens == 4);
  CHECK(tokens_of(q3, 1, 1).tokens == 64);
}

TEST_CASE("smart_resize: an aspect ratio over 200 is refused, 200 is taken", "[images]") {
  // 200 x 1: round(200 / 28 = 7.14) = 7 -> 196 x 0 = 0 < 3,136: beta = sqrt(3,136 / 200) = 3.96,
  // ceil(200 x 3.96 / 28 = 28.28) = 29 -> 812, ceil(3.96 / 28) = 1 -> 28: 29 x 1 = 29 tokens.
  const ImageTokens t = tokens_of(q25, 200, 1);
  CHECK(t.resized_width == 812);
  CHECK(t.resized_height == 28);
  CHECK(t.tokens == 29);
  const auto wide = image_tokens(q25, 201, 1);
  REQUIRE_FALSE(wide.has_value());
  CHECK(wide.error().find("aspect ratio over 200") != std::string::npos);
  // Sides outside 1 .. 2^20 never reach the arithmetic.
  CHECK_FALSE(image_tokens(q25, 0, 10).has_value());
  CHECK_FALSE(image_tokens(q25, max_image_side + 1, max_image_side).has_value());
  // The largest sides: 2^20 x 2^20 = 2^40 pixels, beta = sqrt(2^40 / 12,845,056) = 292.57,
  // floor(2^20 / 292.57 / 28 = 128.0) -> 128: the square 3,584 px image, 16,384 tokens.
  const ImageTokens largest = tokens_of(q25, max_image_side, max_image_side);
  CHECK(largest.resized_width == 3584);
  CHECK(largest.tokens == 16'384);
}

TEST_CASE("the largest image each processor makes is the catalog's t", "[images]") {
  // vLLM get_image_size_with_most_features: 12,845,056 // 28^2 = 16,384 = 128 x 128 merged
  // patches: 3,584 x 3,584; Qwen3-VL 16,777,216 // 32^2 = 16,384: 4,096 x 4,096.
  ImageTokens t = largest_image(q25);
  CHECK(t.resized_width == 3584);
  CHECK(t.tokens == 16'384);
  t = largest_image(q3);
  CHECK(t.resized_width == 4096);
  CHECK(t.tokens == 16'384);
  // A budget with no square: 1,280 merged patches (max_pixels 1,003,520): 32 x 40 (aspect 1.25).
  t = largest_image(qwen(14, 3136, 28 * 28 * 1280));
  CHECK(t.tokens == 1280);
  CHECK(t.resized_width == 40 * 28);
  CHECK(t.resized_height == 32 * 28);
  // Every catalog model with a rule and a t: its largest image has t tokens.
  const io::Catalog catalog = io::load_builtin_catalog().value();
  std::size_t with_rule = 0, with_t = 0;
  for (const ModelSpec& m : catalog.models) {
    if (!m.image_processor) continue;
    ++with_rule;
    INFO(m.id);
    CHECK(m.vision_params > 0);
    if (!m.vision_profile) continue;
    ++with_t;
    CHECK(largest_image(*m.image_processor).tokens == m.vision_profile->max_tokens_per_item);
  }
  // Qwen2.5-VL x 4, Qwen3-VL x 5, Gemma 3 x 3, Mistral Small 3.1, Magistral Small; InternVL3 x 6,
  // InternVL3.5-8B and Llama 4 x 2 have a rule and no t (their encoder profiling is not modelled).
  CHECK(with_t == 14);
  CHECK(with_rule == 23); // and Llama 4 Scout, Maverick
}

TEST_CASE("Pixtral (Mistral Small 3.1): the longest side scaled to 1,540, a break token per row", "[images]") {
  const ImageProcessor p = pixtral();
  // 1,920 x 1,080: ratio = max(1920 / 1540, 1080 / 1540) = 1.2468; floor(1920 / 1.2468) = 1,540,
  // floor(1080 / 1.2468 = 866.25) = 866; (866 - 1) // 28 + 1 = 31 rows, (1540 - 1) // 28 + 1 = 55
  // columns: 31 x (55 + 1) = 1,736 tokens, the image 1,540 x 868.
  ImageTokens t = tokens_of(p, 1920, 1080);
  CHECK(t.resized_width == 1540);
  CHECK(t.resized_height == 31 * 28);
  CHECK(t.tokens == 31 * 56);
  // Not scaled up: 100 x 100 -> (99 // 28) + 1 = 4 rows and columns, 4 x 5 = 20 tokens.
  t = tokens_of(p, 100, 100);
  CHECK(t.resized_width == 112);
  CHECK(t.tokens == 20);
  // 1,540 square: 55 x 56 = 3,080, the catalog's t; the largest image.
  CHECK(tokens_of(p, 1540, 1540).tokens == 3080);
  CHECK(largest_image(p).tokens == 3080);
  // A side scaled to 0 pixels: refused (the processor cannot resize to it).
  const auto thin = image_tokens(p, 10'000, 1);
  REQUIRE_FALSE(thin.has_value());
  CHECK(thin.error().find("to 0") != std::string::npos);
}

TEST_CASE("InternVL: the closest grid of 448 px tiles, a thumbnail, 256 tokens a tile", "[images]") {
  ImageProcessor p;
  p.kind = ImageProcessorKind::internvl;
  p.longest_edge = 448;
  p.tokens = 256; // int((448 // 14)^2 x 0.5^2)
  p.min_tiles = 1;
  p.max_tiles = 12;
  p.thumbnail = true;
  // 800 x 600: aspect 1.3333 is 4 / 3 exactly: 12 tiles + the thumbnail = 13 x 256 + <img>,
  // </img> = 3,330 tokens, on a 1,792 x 1,344 canvas.
  ImageTokens t = tokens_of(p, 800, 600);
  CHECK(t.resized_width == 4 * 448);
  CHECK(t.resized_height == 3 * 448);
  CHECK(t.tokens == 13 * 256 + 2);
  // 1,920 x 1,080 (aspect 1.7778): 2 / 1 is the closest (0.2222), and 4 / 2 ties it; the tie goes
  // to 4 x 2 as 2,073,600 px > 0.5 x 448^2 x 8 = 802,816: 8 tiles + thumbnail, 9 x 256 + 2 = 2,306.
  t = tokens_of(p, 1920, 1080);
  CHECK(t.resized_width == 1792);
  CHECK(t.resized_height == 896);
  CHECK(t.tokens == 9 * 256 + 2);
  // 1,000 x 1,000: 1 x 1 (diff 0), then the ties 2 x 2 (1,000,000 > 401,408) and 3 x 3
  // (> 903,168), not 4 x 4 (16 tiles > 12): 9 + 1 tiles, 2,562 tokens.
  t = tokens_of(p, 1000, 1000);
  CHECK(t.resized_width == 1344);
  CHECK(t.tokens == 10 * 256 + 2);
  // 448 x 448: one tile, no thumbnail: 258. 1 x 1 px: the same.
  CHECK(tokens_of(p, 448, 448).tokens == 258);
  CHECK(tokens_of(p, 1, 1).tokens == 258);
  // The largest: 12 tiles + thumbnail, at the squarest 12-tile grid (3 x 4).
  t = largest_image(p);
  CHECK(t.tokens == 3330);
  CHECK(t.resized_width == 3 * 448);
  CHECK(t.resized_height == 4 * 448);
}

TEST_CASE("Llama 4: the best-fit canvas of 336 px tiles, a global tile, separators", "[images]") {
  ImageProcessor p;
  p.kind = ImageProcessorKind::llama4;
  p.longest_edge = 336;
  p.tokens = 144; // (336 // 14)^2 // int(round(1 / 0.5^2))
  p.max_tiles = 16;
  // One tile: <|image_start|>, <|image|>, 144 patches, <|image_end|>: 147 (any image that fits
  // 336 x 336 is upscaled to it: the smallest scale >= 1).
  CHECK(tokens_of(p, 336, 336).tokens == 144 + 3);
  CHECK(tokens_of(p, 100, 100).tokens == 147);
  // 1,920 x 1,080: no canvas of at most 16 tiles holds it at scale >= 1 (5 x 4 = 20 tiles would),
  // so the largest downscale: 3 rows x 5 columns (1,680 x 1,008) scales by min(1680 / 1920,
  // 1008 / 1080) = 0.875 in float32; 15 tiles of 144 + a separator each, then the global tile:
  // 15 x 145 + 147 = 2,322 tokens.
  ImageTokens t = tokens_of(p, 1920, 1080);
  CHECK(t.resized_width == 5 * 336);
  CHECK(t.resized_height == 3 * 336);
  CHECK(t.tokens == 15 * 145 + 147);
  // 800 x 600: the least upscale >= 1 is 2 x 3 tiles (1,008 x 672: min(1.26, 1.12) = 1.12):
  // 6 x 145 + 147 = 1,017.
  t = tokens_of(p, 800, 600);
  CHECK(t.resized_width == 1008);
  CHECK(t.resized_height == 672);
  CHECK(t.tokens == 6 * 145 + 147);
  // 2,000 x 100: 1 x 6 tiles (2,016 x 336, scale 1.008): 1,017.
  CHECK(tokens_of(p, 2000, 100).tokens == 1017);
  // The largest (vLLM: 16 tiles high, one wide; 4 x 4 as well): 16 x 145 + 147 = 2,467.
  CHECK(tokens_of(p, 1344, 1344).tokens == 2467);
  t = largest_image(p);
  CHECK(t.tokens == 2467);
  CHECK(t.resized_height == 16 * 336);
}

TEST_CASE("Gemma 3: every image 896 x 896, 260 tokens", "[images]") {
  ImageProcessor p;
  p.kind = ImageProcessorKind::fixed;
  p.longest_edge = 896;
  p.tokens = 256 + 4;
  const ImageTokens t = tokens_of(p, 1920, 1080);
  CHECK(t.resized_width == 896);
  CHECK(t.resized_height == 896);
  CHECK(t.tokens == 260);
  CHECK(tokens_of(p, 1, 1).tokens == 260);
}

TEST_CASE("image sizes (--image-size): WIDTHxHEIGHT, and what is wrong with the rest", "[images]") {
  CHECK(parse_image_size("1920x1080").value() == std::pair<std::uint64_t, std::uint64_t>{1920, 1080});
  CHECK(parse_image_size("640X480").value() == std::pair<std::uint64_t, std::uint64_t>{640, 480});
  CHECK(parse_image_size("640\u00d7480").value() == std::pair<std::uint64_t, std::uint64_t>{640, 480});
  CHECK(parse_image_size("1048576x1").has_value());
  for (const char* bad : {"1920x", "x1080", "1920", "", "x", "-1x5", "1e3x5", "19 20x1080", "1920x1080x3", "1.5x2"}) {
    INFO(bad);
    const auto r = parse_image_size(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == "expected WIDTHxHEIGHT in pixels, such as 1920x1080");
  }
  for (const char* bad : {"0x10", "10x0", "99999999999x1", "1048577x1", "18446744073709551616x1",
                          "99999999999999999999999999999999x1"}) {
    INFO(bad);
    const auto r = parse_image_size(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == "each side must be 1 to 1,048,576 pixels");
  }
}

TEST_CASE("the importer reads the same processor facts as the catalog's", "[images][hf]") {
  static const io::Catalog catalog = io::load_builtin_catalog().value();
  const std::pair<const char*, const char*> dirs[] = {{"Qwen2.5-VL-7B-Instruct", "qwen2.5-vl-7b"},
                                                      {"Qwen3-VL-4B-Instruct", "qwen3-vl-4b"},
                                                      {"gemma-3-4b-it", "gemma-3-4b"},
                                                      {"Mistral-Small-3.1-24B-Instruct-2503", "mistral-small-3.1-24b"},
                                                      {"InternVL3-1B", "internvl3-1b"},
                                                      {"Llama-4-Scout-17B-16E-Instruct", "llama-4-scout"}};
  for (const auto& [dir, id] : dirs) {
    INFO(dir);
    const std::string base = std::string(VRAMCALC_TEST_DATA) + "/hf/" + dir;
    const auto config = io::read_text_file(base + "/config.json", ErrorCode::invalid_model);
    // InternVL's tiling is config.json's, Llama 4's max_patches the processor's default: their
    // preprocessor files are not in the fixtures.
    const bool config_only = std::string(dir) == "InternVL3-1B" || std::string(dir).starts_with("Llama-4");
    const auto pre = config_only ? std::expected<std::string, Error>("{}")
                                                        : io::read_text_file(base + "/preprocessor_config.json", ErrorCode::invalid_model);
    REQUIRE(config.has_value());
    REQUIRE(pre.has_value());
    const auto got = io::hf_image_processor(*config, *pre, "config.json", "preprocessor_config.json");
    if (!got) FAIL(got.error().message);
    REQUIRE(got->has_value());
    const ImageProcessor& want = *(*catalog.find_model(id))->image_processor;
    const ImageProcessor& p = **got;
    CHECK(p.kind == want.kind);
    CHECK(p.patch == want.patch);
    CHECK(p.merge == want.merge);
    CHECK(p.min_pixels == want.min_pixels);
    CHECK(p.max_pixels == want.max_pixels);
    CHECK(p.longest_edge == want.longest_edge);
    CHECK(p.tokens == want.tokens);
    CHECK(p.min_tiles == want.min_tiles);
    CHECK(p.max_tiles == want.max_tiles);
    CHECK(p.thumbnail == want.thumbnail);
  }
  // Qwen2.5-VL without its pixel bounds: named by file and key.
  const std::string config = R"({"model_type": "qwen2_5_vl", "vision_config": {"out_hidden_size": 3584}})";
  const auto missing = io::hf_image_processor(config, R"({"patch_size": 14, "merge_size": 2, "max_pixels": 1000000})",
                                              "c.json", "p.json");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message == "p.json: /min_pixels: missing (or /size/shortest_edge)");
  // A model type without a rule: none, no error.
  const auto other = io::hf_image_processor(R"({"model_type": "llava", "vision_config": {}})", "{}", "c.json", "p.json");
  REQUIRE(other.has_value());
  CHECK_FALSE(other->has_value());
}
