// The placeholder tokens of an image by the model's image processor (images.hpp). The
// processors are Python: their arithmetic is reproduced step for step in IEEE doubles (Python's
// float), with Python's round() (to nearest, ties to even: std::nearbyint in the default
// rounding mode), math.floor and math.ceil; every integer that meets a double is below 2^53.
#include "vramcalc/images.hpp"

#include "vramcalc/units.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <vector>

namespace vramcalc {

namespace {

std::uint64_t to_u64(double v) { return v <= 0 ? 0 : static_cast<std::uint64_t>(v); }

// transformers image_processing_qwen2_vl.py smart_resize (the form without the "height or width
// < factor" refusal, with max(factor, ...) on the downscaling branch), called with factor =
// patch_size x merge_size, min_pixels = size.shortest_edge, max_pixels = size.longest_edge
// (vLLM qwen2_vl.py / qwen3_vl.py _get_vision_info); tokens = (h / patch) (w / patch) / merge^2.
std::expected<ImageTokens, std::string> qwen2_vl(const ImageProcessor& p, std::uint64_t width, std::uint64_t height) {
  const std::uint64_t factor = p.patch * p.merge;
  const double f = static_cast<double>(factor);
  const double h = static_cast<double>(height), w = static_cast<double>(width);
  // max(height, width) / min(height, width) > 200: a ValueError.
  if (std::max(h, w) / std::min(h, w) > 200.0) {
    return std::unexpected("the processor refuses an aspect ratio over 200 (smart_resize: \"absolute aspect ratio must be "
                           "smaller than 200\")");
  }
  std::uint64_t h_bar = to_u64(std::nearbyint(h / f)) * factor;
  std::uint64_t w_bar = to_u64(std::nearbyint(w / f)) * factor;
  const double pixels = static_cast<double>(height * width); // exact: each side <= 2^20
  if (h_bar * w_bar > p.max_pixels) {
    const double beta = std::sqrt(pixels / static_cast<double>(p.max_pixels));
    h_bar = std::max(factor, to_u64(std::floor(h / beta / f)) * factor);
    w_bar = std::max(factor, to_u64(std::floor(w / beta / f)) * factor);
  } else if (h_bar * w_bar < p.min_pixels) {
    const double beta = std::sqrt(static_cast<double>(p.min_pixels) / pixels);
    const double hb = h * beta, wb = w * beta; // (height * beta) / factor, as Python evaluates it
    h_bar = to_u64(std::ceil(hb / f)) * factor;
    w_bar = to_u64(std::ceil(wb / f)) * factor;
  }
  const std::uint64_t tokens = (h_bar / p.patch) * (w_bar / p.patch) / (p.merge * p.merge);
  return ImageTokens{width, height, w_bar, h_bar, tokens};
}

// vLLM pixtral.py PixtralHFEncoderInfo.get_patch_grid_size (what mistral3.py counts, after
// transformers' PixtralImageProcessor): ratio = max(w / L, h / L); over 1 both sides become
// int(math.floor(side / ratio)); then (side - 1) // (patch x merge) + 1 rows and columns, and
// the prompt holds ([IMG] x cols + [IMG_BREAK]) x rows with the last [IMG_END]: rows (cols + 1).
std::expected<ImageTokens, std::string> pixtral(const ImageProcessor& p, std::uint64_t width, std::uint64_t height) {
  const std::uint64_t unit = p.patch * p.merge;
  const double edge = static_cast<double>(p.longest_edge);
  std::uint64_t w = width, h = height;
  const double ratio = std::max(static_cast<double>(w) / edge, static_cast<double>(h) / edge);
  if (ratio > 1.0) {
    w = to_u64(std::floor(static_cast<double>(width) / ratio));
    h = to_u64(std::floor(static_cast<double>(height) / ratio));
  }
  if (w == 0 || h == 0) {
    return std::unexpected("the processor scales its longest side to " + with_commas(p.longest_edge) +
                           " pixels and the other to 0 (an aspect ratio over " + with_commas(p.longest_edge) + ")");
  }
  const std::uint64_t rows = (h - 1) / unit + 1, cols = (w - 1) / unit + 1;
  return ImageTokens{width, height, cols * unit, rows * unit, rows * (cols + 1)};
}

// InternVL's dynamic tiles, as vLLM's vllm/transformers_utils/processors/internvl.py counts them
// (get_num_image_tokens: calculate_internvl_targets over get_internvl_target_ratios(min, max),
// find_closest_aspect_ratio): the grid (i, j) with 1 <= i x j in [min, max] whose i / j is
// closest to W / H (a tie goes to the later grid when W x H > 0.5 x S^2 x i x j), sorted by i x j;
// i x j tiles of S px, one more (the thumbnail) when there are several; tile_tokens each, and
// the prompt's <img> and </img> (get_image_repl).
struct Grid {
  std::uint64_t cols = 1, rows = 1;
};

Grid internvl_grid(const ImageProcessor& p, std::uint64_t width, std::uint64_t height) {
  const double aspect = static_cast<double>(width) / static_cast<double>(height);
  const double area = static_cast<double>(width * height);
  const double side = static_cast<double>(p.longest_edge);
  Grid best;
  double best_diff = HUGE_VAL;
  // Ascending i x j (Python's sorted by product; within one product the order never decides:
  // two grids of one product tie only when a grid of another is closer).
  for (std::uint64_t n = p.min_tiles; n <= p.max_tiles; ++n) {
    for (std::uint64_t i = 1; i <= n; ++i) {
      if (n % i != 0) continue;
      const std::uint64_t j = n / i;
      const double diff = std::fabs(aspect - static_cast<double>(i) / static_cast<double>(j));
      if (diff < best_diff) {
        best_diff = diff;
        best = {i, j};
      } else if (diff == best_diff && area > 0.5 * side * side * static_cast<double>(i) * static_cast<double>(j)) {
        best = {i, j};
      }
    }
  }
  return best;
}

ImageTokens internvl(const ImageProcessor& p, std::uint64_t width, std::uint64_t height) {
  const Grid g = internvl_grid(p, width, height);
  std::uint64_t tiles = g.cols * g.rows;
  if (p.thumbnail && tiles != 1) ++tiles;
  return ImageTokens{width, height, p.longest_edge * g.cols, p.longest_edge * g.rows, tiles * p.tokens + 2};
}

// Llama 4, as transformers' image_processing_llama4_fast.py picks the canvas and vLLM's mllama4.py
// counts it: find_supported_resolutions(max_patches, S) lists the grids (rows, cols) of every
// tile count from max_patches down, grouped by rows / cols in first-seen order; get_best_fit
// takes, with float32 scales (torch's int64 / int division) min(cols S / W, rows S / H), the
// smallest scale >= 1 (else the largest below 1), the least area among its canvases (the first
// on a tie); then processing_llama4.py _prompt_split_image: <|image_start|>, with more than one
// tile each tile's tokens and a separator after each (x within a row, y at its end), <|image|>
// and the global tile's tokens, <|image_end|>.
Grid llama4_canvas(const ImageProcessor& p, std::uint64_t width, std::uint64_t height) {
  std::vector<std::pair<double, std::vector<Grid>>> by_ratio;
  for (std::uint64_t n = p.max_tiles; n >= 1; --n) {
    for (std::uint64_t rows = 1; rows <= n; ++rows) {
      if (n % rows != 0) continue;
      const double ratio = static_cast<double>(rows) / static_cast<double>(n / rows);
      auto it = std::find_if(by_ratio.begin(), by_ratio.end(), [&](const auto& e) { return e.first == ratio; });
      if (it == by_ratio.end()) it = by_ratio.insert(by_ratio.end(), {ratio, {}});
      it->second.push_back({n / rows, rows});
    }
  }
  const float w = static_cast<float>(width), h = static_cast<float>(height);
  std::vector<std::pair<Grid, float>> canvases;
  for (const auto& [ratio, grids] : by_ratio) {
    for (const Grid& g : grids) {
      const float sw = static_cast<float>(p.longest_edge * g.cols) / w;
      const float sh = static_cast<float>(p.longest_edge * g.rows) / h;
      canvases.emplace_back(g, sh > sw ? sw : sh);
    }
  }
  float up = HUGE_VALF, down = -HUGE_VALF;
  for (const auto& [g, scale] : canvases) {
    if (scale >= 1.0f) up = std::min(up, scale);
    else down = std::max(down, scale);
  }
  const float chosen = up != HUGE_VALF ? up : down;
  Grid best;
  std::uint64_t best_area = UINT64_MAX;
  for (const auto& [g, scale] : canvases) {
    if (scale == chosen && g.cols * g.rows < best_area) {
      best = g;
      best_area = g.cols * g.rows;
    }
  }
  return best;
}

ImageTokens llama4(const ImageProcessor& p, std::uint64_t width, std::uint64_t height) {
  const Grid g = llama4_canvas(p, width, height);
  const std::uint64_t tiles = g.cols * g.rows;
  const std::uint64_t tokens = (tiles > 1 ? tiles * (p.tokens + 1) : 0) + p.tokens + 3;
  return ImageTokens{width, height, p.longest_edge * g.cols, p.longest_edge * g.rows, tokens};
}

} // namespace

std::expected<ImageTokens, std::string> image_tokens(const ImageProcessor& p, std::uint64_t width, std::uint64_t height) {
  if (width == 0 || height == 0 || width > max_image_side || height > max_image_side) {
    return std::unexpected("each side must be 1 to " + with_commas(max_image_side) + " pixels");
  }
  switch (p.kind) {
  case ImageProcessorKind::qwen2_vl:
    return qwen2_vl(p, width, height);
  case ImageProcessorKind::pixtral:
    return pixtral(p, width, height);
  case ImageProcessorKind::internvl:
    return internvl(p, width, height);
  case ImageProcessorKind::llama4:
    return llama4(p, width, height);
  case ImageProcessorKind::fixed:
    break;
  }
  return ImageTokens{width, height, p.longest_edge, p.longest_edge, p.tokens};
}

ImageTokens largest_image(const ImageProcessor& p) {
  switch (p.kind) {
  case ImageProcessorKind::qwen2_vl: {
    // vLLM qwen2_vl.py get_image_size_with_most_features: max_pixels // unit^2 merged patches,
    // factored into the closest pair with an aspect ratio of at most 200 (else one fewer).
    const std::uint64_t unit = p.patch * p.merge;
    for (std::uint64_t n = p.max_pixels / (unit * unit); n > 0; --n) {
      std::uint64_t d = static_cast<std::uint64_t>(std::sqrt(static_cast<double>(n)));
      while (d * d > n) --d;
      while ((d + 1) * (d + 1) <= n) ++d;
      while (n % d != 0) --d;
      if (static_cast<double>(n / d) / static_cast<double>(d) <= 200.0) {
        const std::uint64_t side_w = unit * (n / d), side_h = unit * d;
        return ImageTokens{side_w, side_h, side_w, side_h, n};
      }
    }
    return ImageTokens{unit, unit, unit, unit, 1};
  }
  case ImageProcessorKind::pixtral: {
    const std::uint64_t unit = p.patch * p.merge, n = (p.longest_edge - 1) / unit + 1;
    return ImageTokens{p.longest_edge, p.longest_edge, n * unit, n * unit, n * (n + 1)};
  }
  case ImageProcessorKind::internvl: {
    // The most tiles a grid takes (max_tiles, and the thumbnail), at the squarest such grid
    // (vLLM's dummy image is the first of them in its set's order: the same tokens).
    Grid g;
    for (std::uint64_t i = 1; i <= p.max_tiles; ++i) {
      const std::uint64_t j = p.max_tiles / i;
      if (i * j == p.max_tiles && i <= j) g = {i, j};
    }
    const std::uint64_t w = p.longest_edge * g.cols, h = p.longest_edge * g.rows;
    return internvl(p, w, h);
  }
  case ImageProcessorKind::llama4:
    // vLLM mllama4.py get_image_size_with_most_features: max_patches tiles high, one wide.
    return llama4(p, p.longest_edge, p.longest_edge * p.max_tiles);
  case ImageProcessorKind::fixed:
    break;
  }
  return ImageTokens{p.longest_edge, p.longest_edge, p.longest_edge, p.longest_edge, p.tokens};
}

std::expected<std::pair<std::uint64_t, std::uint64_t>, std::string> parse_image_size(std::string_view text) {
  const auto bad = [&] {
    return std::unexpected(std::string("expected WIDTHxHEIGHT in pixels, such as 1920x1080"));
  };
  std::size_t x = text.find_first_of("xX");
  std::size_t skip = 1;
  if (const std::size_t times = text.find("\u00d7"); x == std::string_view::npos && times != std::string_view::npos) {
    x = times;
    skip = std::string_view("\u00d7").size();
  }
  if (x == std::string_view::npos) return bad();
  std::pair<std::uint64_t, std::uint64_t> out;
  const auto side = [&](std::string_view s, std::uint64_t& v) -> std::optional<std::string> {
    if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return "expected WIDTHxHEIGHT in pixels, such as 1920x1080";
    }
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v == 0 || v > max_image_side) {
      return "each side must be 1 to " + with_commas(max_image_side) + " pixels";
    }
    return std::nullopt;
  };
  if (auto e = side(text.substr(0, x), out.first)) return std::unexpected(*e);
  if (auto e = side(text.substr(x + skip), out.second)) return std::unexpected(*e);
  return out;
}

} // namespace vramcalc
