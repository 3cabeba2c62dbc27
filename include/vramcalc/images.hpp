// Images per request (--images N, --image-size WxH): the placeholder tokens an image of W x H
// pixels takes in the prompt, by the model's image processor (ModelSpec::image_processor), as
// the engines' processors compute it (docs/engines.md, "Images per request").
#pragma once

#include "vramcalc/model.hpp"

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace vramcalc {

// The most pixels a side of an image given to --image-size may have: every product of two
// sides stays far below 2^53, so the processors' floating point is reproduced exactly.
inline constexpr std::uint64_t max_image_side = 1ull << 20; // 1,048,576

// One image as the processor sees it.
struct ImageTokens {
  std::uint64_t width = 0, height = 0;                 // as given (the largest image: its own size)
  std::uint64_t resized_width = 0, resized_height = 0; // as the processor resizes it
  std::uint64_t tokens = 0;                            // its placeholder tokens in the prompt
};

// The tokens of one `width` x `height` image (each 1 .. max_image_side), or why the processor
// refuses it (Qwen2-VL's aspect ratio over 200; a side Pixtral's resize leaves 0 pixels).
[[nodiscard]] std::expected<ImageTokens, std::string> image_tokens(const ImageProcessor& p, std::uint64_t width,
                                                                   std::uint64_t height);

// The image with the most tokens the processor makes (vLLM's get_image_size_with_most_features).
[[nodiscard]] ImageTokens largest_image(const ImageProcessor& p);

// "1920x1080" (also "1920X1080", "1920×1080") as (width, height), or what is wrong with it.
[[nodiscard]] std::expected<std::pair<std::uint64_t, std::uint64_t>, std::string> parse_image_size(std::string_view text);

// The images each request carries, for the report (Report::images).
struct ImagesWorkload {
  std::uint64_t per_request = 0;
  ImageTokens image;               // width / height 0: the largest image of a model with no processor rule
  bool size_given = false;         // --image-size given (else the largest image)
  std::uint64_t tokens_per_request = 0; // per_request x image.tokens
  std::uint64_t context_tokens = 0;     // the context per sequence they are part of
};

} // namespace vramcalc
