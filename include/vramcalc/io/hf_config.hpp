// Imports a Hugging Face config.json as a ModelSpec.
#pragma once

#include "vramcalc/error.hpp"
#include "vramcalc/model.hpp"

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc::io {

struct HfImport {
  ModelSpec spec;
  std::vector<std::string> warnings; // e.g. an unknown model_type read with the standard keys
};

// `text` is a config.json; `origin` names it in messages; `id` becomes the spec's id
// (callers pass the directory name). Supported model_type values are listed in
// docs/hf-import.md; others are read from the standard keys with a warning. A config
// missing what it needs fails with "origin: missing keys: a, b". A quantization_config
// sets spec.weights_format.
[[nodiscard]] std::expected<HfImport, Error> parse_hf_config(std::string_view text, std::string_view origin,
                                                            std::string_view id);

// A vision-language model's encoder facts (ModelSpec::vision_profile: tokens and embeddings per
// image, their width, video) from its config.json and the preprocessor_config.json beside it,
// for the model types whose rule vramcalc knows (gemma3: mm_tokens_per_image; qwen2_vl,
// qwen2_5_vl, qwen3_vl, qwen3_vl_moe: max_pixels or size.longest_edge, patch_size, merge_size;
// mistral3: size.longest_edge, patch_size, spatial_merge_size; docs/hf-import.md, "Vision encoder facts").
// nullopt: no vision_config, or a model type without a rule. Errors name the file and key.
[[nodiscard]] std::expected<std::optional<EncoderProfile>, Error> hf_vision_profile(std::string_view config,
                                                                                    std::string_view preprocessor,
                                                                                    std::string_view origin,
                                                                                    std::string_view preprocessor_origin);

// The image processor's rule and facts (ModelSpec::image_processor, for --image-size) from the
// same two files: qwen2_vl, qwen2_5_vl, qwen3_vl, qwen3_vl_moe: patch_size, merge_size,
// min_pixels / max_pixels (or size.shortest_edge / longest_edge); mistral3: patch_size,
// size.longest_edge, spatial_merge_size; gemma3: vision_config.image_size, mm_tokens_per_image
// + 4; internvl_chat: force_image_size, downsample_ratio, min / max_dynamic_patch, use_thumbnail;
// llama4: vision_config image_size, patch_size, pixel_shuffle_ratio, max_patches
// (docs/hf-import.md, "Vision encoder facts"). nullopt: no vision_config, or no rule.
[[nodiscard]] std::expected<std::optional<ImageProcessor>, Error> hf_image_processor(std::string_view config,
                                                                                     std::string_view preprocessor,
                                                                                     std::string_view origin,
                                                                                     std::string_view preprocessor_origin);

// The vision tower as llama.cpp's clip.cpp builds it from the model's mmproj file
// (ModelSpec::vision_clip), for the model types whose projector has a compute buffer rule
// (gemma3, gemma4 -> gemma4v, qwen2_5_vl -> qwen2.5vl_merger, qwen3_vl / qwen3_vl_moe / qwen3_5 /
// qwen3_5_moe -> qwen3vl_merger, mistral3 -> pixtral, llama4, internvl_chat -> internvl):
// vision_config's heads, widths, blocks, patch size and the warmup patches
// (llamacpp_clip_warmup_patches), as the catalog's vision.llamacpp_clip gives them. nullopt
// otherwise (Kimi K2.5: its warmup side is the preprocessor's in_patch_limit; InternViT-6B).
[[nodiscard]] std::expected<std::optional<ClipTower>, Error> hf_clip_tower(std::string_view config, std::string_view origin);

// Sets imported.spec.vision_clip from the config.json text (`origin` names it) and, with
// DIR/preprocessor_config.json present, vision_profile and image_processor from both; the error of a file that is
// there but wrong.
[[nodiscard]] std::optional<Error> add_hf_vision_profile(HfImport& imported, const std::string& dir, std::string_view config,
                                                         std::string_view origin);

// The vision tower's parameters (ModelSpec::vision_params, the projector included) counted
// from a config.json's vision_config, for the model types with a formula (gemma3, qwen2_vl, qwen2_5_vl,
// qwen3_vl, qwen3_vl_moe, qwen3_5, qwen3_5_moe, gemma4, mistral3, llama4, kimi_k25, internvl_chat;
// docs/hf-import.md, "Vision tower").
// nullopt: no vision_config, another model type, or a size key missing. parse_hf_config sets
// the same count; errors name the file and key.
[[nodiscard]] std::expected<std::optional<std::uint64_t>, Error> hf_vision_params(std::string_view config,
                                                                                 std::string_view origin);

// True if the text looks like a Hugging Face config (a JSON object with "model_type" or
// "architectures"), so a path can be told apart from a vramcalc model spec.
[[nodiscard]] bool looks_like_hf_config(std::string_view text);

} // namespace vramcalc::io
