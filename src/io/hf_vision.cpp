// A vision-language model's encoder facts (ModelSpec::vision_profile: t, e, d_out, video) from
// its config.json and the preprocessor_config.json beside it, as vLLM derives them for its
// encoder profiling (docs/engines.md, "Multimodal encoders"; docs/hf-import.md, "Vision encoder facts").
#include "vramcalc/io/hf_config.hpp"

#include "json_util.hpp"
#include "vramcalc/engine_llamacpp.hpp"
#include "vramcalc/io/catalog.hpp"
#include "vramcalc/units.hpp"

#include <cmath>
#include <filesystem>

namespace vramcalc::io {

using nlohmann::json;
using detail::LoadFailure;

namespace {

// A positive integer at `key` of `o` (a number, or {"height": N, "width": N} with N equal, as
// PixtralImageProcessor's patch_size is spelled): absent is nullopt, anything else names the key.
std::optional<std::uint64_t> positive(const json& o, const char* key, const std::string& where) {
  const auto it = o.find(key);
  if (it == o.end() || it->is_null()) return std::nullopt;
  const json* v = &*it;
  if (v->is_object() && v->contains("height") && v->contains("width")) {
    if (v->at("height") != v->at("width")) {
      throw LoadFailure{Error{ErrorCode::invalid_model, where + "/" + key + ": a patch that is not square (" +
                                                            detail::json_excerpt(*v) + ")"}};
    }
    v = &v->at("height");
  }
  if (!v->is_number_unsigned() || v->get<std::uint64_t>() == 0 || v->get<std::uint64_t>() > (1ull << 40)) {
    throw LoadFailure{Error{ErrorCode::invalid_model, where + "/" + key + ": expected a positive integer, got " +
                                                          detail::json_excerpt(*v)}};
  }
  return v->get<std::uint64_t>();
}

std::uint64_t required(const json& o, const char* key, const std::string& where) {
  if (auto v = positive(o, key, where)) return *v;
  throw LoadFailure{Error{ErrorCode::invalid_model, where + "/" + key + ": missing"}};
}

const json& object_at(const json& o, const char* key, const std::string& where) {
  const auto it = o.find(key);
  if (it == o.end() || !it->is_object()) throw LoadFailure{Error{ErrorCode::invalid_model, where + "/" + key + ": missing (an object)"}};
  return *it;
}

// The integer square root (the largest n with n x n <= v).
std::uint64_t isqrt(std::uint64_t v) {
  std::uint64_t n = 0;
  for (std::uint64_t bit = 1ull << 31; bit != 0; bit >>= 1) {
    if ((n + bit) * (n + bit) <= v) n += bit;
  }
  return n;
}

// Qwen2-VL / Qwen2.5-VL / Qwen3-VL: smart_resize to the largest image of at most `max_pixels`
// in multiples of patch x merge, n x n merged patches (qwen2_vl.py / qwen3_vl.py
// get_image_size_with_most_features; 3584 x 3584 at 14 px, 4096 x 4096 at 16 px): e = t = n^2.
std::uint64_t qwen_tokens(std::uint64_t max_pixels, std::uint64_t patch, std::uint64_t merge) {
  const std::uint64_t factor = checked_mul(patch, merge, "the image size");
  const std::uint64_t n = isqrt(max_pixels / checked_mul(factor, factor, "the image size"));
  return n * n;
}

// nullopt: a model_type whose rule vramcalc lacks (its profiling is then said not modelled).
std::optional<EncoderProfile> profile(const json& c, const json& p, const std::string& config_file, const std::string& pre_file) {
  // Where a key is, for messages: "file: /path" + "/key".
  const std::string origin = config_file + ": ", pre_origin = pre_file + ": ";
  const std::string type = c.contains("model_type") && c.at("model_type").is_string() ? c.at("model_type").get<std::string>() : "";
  const json& vision = object_at(c, "vision_config", origin);
  const std::string vpath = origin + "/vision_config";
  EncoderProfile out;
  if (type == "gemma3") {
    // Gemma3Processor: "\n\n<start_of_image>" + mm_tokens_per_image soft tokens + "<end_of_image>\n\n":
    // t = e + 4 (pan-and-scan off, vLLM's default); d_out the language model's hidden size.
    out.embeds_per_item = positive(c, "mm_tokens_per_image", origin).value_or(256);
    out.max_tokens_per_item = out.embeds_per_item + 4;
    out.output_width = required(object_at(c, "text_config", origin), "hidden_size", origin + "/text_config");
    return out;
  }
  if (type == "qwen2_vl" || type == "qwen2_5_vl" || type == "qwen3_vl" || type == "qwen3_vl_moe") {
    const std::uint64_t patch = required(p, "patch_size", pre_origin);
    const std::uint64_t merge = required(p, "merge_size", pre_origin);
    // Qwen2-VL's processors give max_pixels; Qwen3-VL's size.longest_edge (a pixel count too).
    std::optional<std::uint64_t> max_pixels = positive(p, "max_pixels", pre_origin);
    if (!max_pixels && p.contains("size") && p.at("size").is_object()) {
      max_pixels = positive(p.at("size"), "longest_edge", pre_origin + "/size");
    }
    if (!max_pixels) throw LoadFailure{Error{ErrorCode::invalid_model, pre_origin + "/max_pixels: missing (or /size/longest_edge)"}};
    out.max_tokens_per_item = out.embeds_per_item = qwen_tokens(*max_pixels, patch, merge);
    out.video = true;
    // Qwen2-VL's vision_config names the merger's output hidden_size (its tower is embed_dim wide).
    const bool qwen2 = type == "qwen2_vl" && !vision.contains("out_hidden_size");
    const std::uint64_t width = required(vision, qwen2 ? "hidden_size" : "out_hidden_size", vpath);
    if (type.starts_with("qwen3")) {
      // The merger's output and one DeepStack merger's per level, concatenated (qwen3_vl.py).
      const auto d = vision.find("deepstack_visual_indexes");
      const std::uint64_t levels = d != vision.end() && d->is_array() ? d->size() : 0;
      out.output_width = checked_mul(width, 1 + levels, "the encoder's output width");
    } else {
      out.output_width = width;
    }
    return out;
  }
  if (type == "mistral3") {
    // Pixtral: the image at size.longest_edge in patch_size patches, merged spatial_merge_size
    // squared: n x n embeddings and one [IMG_BREAK] / [IMG_END] token per row, t = n (n + 1).
    const std::uint64_t edge = required(object_at(p, "size", pre_origin), "longest_edge", pre_origin + "/size");
    const std::uint64_t patch = required(p, "patch_size", pre_origin);
    const std::uint64_t merge = positive(c, "spatial_merge_size", origin).value_or(1);
    const std::uint64_t n = (edge + patch - 1) / patch / merge;
    out.embeds_per_item = n * n;
    out.max_tokens_per_item = n * (n + 1);
    out.output_width = required(object_at(c, "text_config", origin), "hidden_size", origin + "/text_config");
    return out;
  }
  return std::nullopt;
}

// The image processor's rule and facts (ModelSpec::image_processor) for the model types whose
// rule vramcalc has: Qwen2-VL's smart_resize (Qwen2-VL, Qwen2.5-VL, Qwen3-VL: min_pixels /
// max_pixels, which transformers lets override size.shortest_edge / longest_edge), Pixtral's
// longest edge (Mistral 3), Gemma 3's fixed 896 px square.
std::optional<ImageProcessor> processor_rule(const json& c, const json& p, const std::string& config_file,
                                             const std::string& pre_file) {
  const std::string origin = config_file + ": ", pre_origin = pre_file + ": ";
  const std::string type = c.contains("model_type") && c.at("model_type").is_string() ? c.at("model_type").get<std::string>() : "";
  ImageProcessor out;
  out.source = pre_file;
  const json no_size = json::object();
  const json& size = p.contains("size") && p.at("size").is_object() ? p.at("size") : no_size;
  if (type == "gemma3") {
    out.kind = ImageProcessorKind::fixed;
    out.tokens = positive(c, "mm_tokens_per_image", origin).value_or(256) + 4;
    out.longest_edge = required(object_at(c, "vision_config", origin), "image_size", origin + "/vision_config");
    out.source = config_file;
  } else if (type == "qwen2_vl" || type == "qwen2_5_vl" || type == "qwen3_vl" || type == "qwen3_vl_moe") {
    out.kind = ImageProcessorKind::qwen2_vl;
    out.patch = required(p, "patch_size", pre_origin);
    out.merge = required(p, "merge_size", pre_origin);
    auto min = positive(p, "min_pixels", pre_origin);
    if (!min) min = positive(size, "shortest_edge", pre_origin + "/size");
    auto max = positive(p, "max_pixels", pre_origin);
    if (!max) max = positive(size, "longest_edge", pre_origin + "/size");
    if (!min) throw LoadFailure{Error{ErrorCode::invalid_model, pre_origin + "/min_pixels: missing (or /size/shortest_edge)"}};
    if (!max) throw LoadFailure{Error{ErrorCode::invalid_model, pre_origin + "/max_pixels: missing (or /size/longest_edge)"}};
    out.min_pixels = *min;
    out.max_pixels = *max;
  } else if (type == "mistral3") {
    out.kind = ImageProcessorKind::pixtral;
    out.patch = required(p, "patch_size", pre_origin);
    out.merge = positive(c, "spatial_merge_size", origin).value_or(1);
    out.longest_edge = required(object_at(p, "size", pre_origin), "longest_edge", pre_origin + "/size");
  } else if (type == "llama4") {
    // vLLM mllama4.py get_patch_per_chunk: (image_size // patch_size)^2 // int(round(1 /
    // pixel_shuffle_ratio^2)) tokens a tile of vision_config.image_size px; max_patches tiles
    // (Llama4ImageProcessorFast's default 16).
    const json& vision = object_at(c, "vision_config", origin);
    const std::string vpath = origin + "/vision_config";
    out.kind = ImageProcessorKind::llama4;
    out.longest_edge = required(vision, "image_size", vpath);
    const std::uint64_t side = out.longest_edge / required(vision, "patch_size", vpath);
    const auto ratio = vision.find("pixel_shuffle_ratio");
    if (ratio == vision.end() || !ratio->is_number() || ratio->get<double>() <= 0 || ratio->get<double>() > 1) {
      throw LoadFailure{Error{ErrorCode::invalid_model, vpath + "/pixel_shuffle_ratio: expected a number in (0, 1]"}};
    }
    const double r = ratio->get<double>();
    out.tokens = side * side / static_cast<std::uint64_t>(std::nearbyint(1.0 / (r * r)));
    out.max_tiles = positive(p, "max_patches", pre_origin).value_or(16);
    if (out.tokens == 0 || out.max_tiles > 64) {
      throw LoadFailure{Error{ErrorCode::invalid_model, pre_origin + "/max_patches: expected 1 to 64 tiles"}};
    }
  } else if (type == "internvl_chat") {
    // vLLM internvl.py: tiles of force_image_size (else vision_config.image_size) px, each
    // int((image_size // patch_size)^2 x downsample_ratio^2) tokens; min / max_dynamic_patch
    // tiles (1 and 1 without dynamic_image_size), use_thumbnail.
    const json& vision = object_at(c, "vision_config", origin);
    out.kind = ImageProcessorKind::internvl;
    out.longest_edge = positive(c, "force_image_size", origin).value_or(0);
    if (out.longest_edge == 0) out.longest_edge = required(vision, "image_size", origin + "/vision_config");
    const std::uint64_t side = out.longest_edge / required(vision, "patch_size", origin + "/vision_config");
    const auto ratio = c.find("downsample_ratio");
    if (ratio == c.end() || !ratio->is_number() || ratio->get<double>() <= 0 || ratio->get<double>() > 1) {
      throw LoadFailure{Error{ErrorCode::invalid_model, origin + "/downsample_ratio: expected a number in (0, 1]"}};
    }
    const double r = ratio->get<double>();
    out.tokens = static_cast<std::uint64_t>(static_cast<double>(side * side) * (r * r));
    const bool dynamic = c.value("dynamic_image_size", false);
    out.min_tiles = dynamic ? positive(c, "min_dynamic_patch", origin).value_or(1) : 1;
    out.max_tiles = dynamic ? positive(c, "max_dynamic_patch", origin).value_or(6) : 1;
    out.thumbnail = c.value("use_thumbnail", false);
    out.source = config_file;
    if (out.tokens == 0 || out.min_tiles > out.max_tiles || out.max_tiles > 64) {
      throw LoadFailure{Error{ErrorCode::invalid_model, origin + "/max_dynamic_patch: tiles out of range (1 <= "
                                                                 "min_dynamic_patch <= max_dynamic_patch <= 64)"}};
    }
  } else {
    return std::nullopt;
  }
  // The bounds a model spec's vision.image_processor takes (model_json.cpp).
  if (out.patch > 1024 || out.merge > 64 || out.longest_edge > (1u << 16) || out.min_pixels > (1ull << 32) ||
      out.max_pixels > (1ull << 32) || (out.kind == ImageProcessorKind::qwen2_vl &&
                                        out.max_pixels < out.patch * out.merge * out.patch * out.merge)) {
    throw LoadFailure{Error{ErrorCode::invalid_model, pre_origin + ": image processor sizes out of range (patch_size "
                                                                   "<= 1024, merge_size <= 64, pixels <= 2^32)"}};
  }
  return out;
}

} // namespace

std::expected<std::optional<EncoderProfile>, Error> hf_vision_profile(std::string_view config, std::string_view preprocessor,
                                                                      std::string_view origin, std::string_view pre_origin) {
  try {
    const json c = detail::parse_strict(config, std::string(origin), ErrorCode::invalid_model);
    if (!c.is_object() || !c.contains("vision_config")) return std::nullopt;
    const json p = detail::parse_strict(preprocessor, std::string(pre_origin), ErrorCode::invalid_model);
    if (!p.is_object()) return std::unexpected(Error{ErrorCode::invalid_model, std::string(pre_origin) + ": not a JSON object"});
    return profile(c, p, std::string(origin), std::string(pre_origin));
  } catch (const LoadFailure& f) {
    return std::unexpected(f.error);
  } catch (const OverflowError& e) {
    return std::unexpected(Error{ErrorCode::invalid_model, std::string(pre_origin) + ": " + e.what()});
  }
}

std::expected<std::optional<ImageProcessor>, Error> hf_image_processor(std::string_view config, std::string_view preprocessor,
                                                                       std::string_view origin, std::string_view pre_origin) {
  try {
    const json c = detail::parse_strict(config, std::string(origin), ErrorCode::invalid_model);
    if (!c.is_object() || !c.contains("vision_config")) return std::nullopt;
    const json p = detail::parse_strict(preprocessor, std::string(pre_origin), ErrorCode::invalid_model);
    if (!p.is_object()) return std::unexpected(Error{ErrorCode::invalid_model, std::string(pre_origin) + ": not a JSON object"});
    return processor_rule(c, p, std::string(origin), std::string(pre_origin));
  } catch (const LoadFailure& f) {
    return std::unexpected(f.error);
  } catch (const json::exception&) {
    // A switch that is not a boolean (dynamic_image_size, use_thumbnail).
    return std::unexpected(Error{ErrorCode::invalid_model, std::string(origin) +
                                                               ": /dynamic_image_size or /use_thumbnail: expected true or false"});
  }
}

namespace {

// Outside gemma3 a key the clip tower needs and the config leaves out leaves it uncounted
// (transformers' defaults are not taken); a malformed one is an error.
struct Absent {};

std::uint64_t present(const json& o, const char* key, const std::string& where) {
  if (const auto n = positive(o, key, where)) return *n;
  throw Absent{};
}

// clip.cpp's tower facts from vision_config under the names llama.cpp's converter
// (convert_hf_to_gguf.py) writes for each projector but gemma3's; nullopt where no compute
// buffer rule covers the model (docs/engines.md, "Vision projector").
std::optional<ClipTower> merged_clip_tower(const std::string& type, const json& c, const json& v, const std::string& origin) {
  const std::string where = origin + ": /vision_config";
  ClipTower t;
  t.source = origin;
  std::uint64_t merge = 0, image = 0;
  if (type == "qwen2_5_vl" || type == "qwen3_vl" || type == "qwen3_vl_moe" || type == "qwen3_5" || type == "qwen3_5_moe") {
    t.projector = type == "qwen2_5_vl" ? "qwen2.5vl_merger" : "qwen3vl_merger"; // the converter writes Qwen3.5's as Qwen3-VL's
    t.heads = present(v, "num_heads", where);
    t.blocks = present(v, "depth", where);
    merge = positive(v, "spatial_merge_size", where).value_or(2);
    // A DeepStack layer before the last two blocks keeps its output live to the graph's end.
    if (const auto d = v.find("deepstack_visual_indexes"); d != v.end() && d->is_array()) {
      for (const json& i : *d) {
        if (!i.is_number_unsigned()) continue;
        t.deepstack_kept += i.get<std::uint64_t>() + 2 < t.blocks ? 1u : 0u;
        t.deepstack_before_last += i.get<std::uint64_t>() + 1 < t.blocks ? 1u : 0u;
      }
    }
    // The merger's output width: the DeepStack features' (flash attention's final concat).
    if (type != "qwen2_5_vl") t.projection_width = present(v, "out_hidden_size", where);
  } else if (type == "gemma4") {
    t.projector = "gemma4v";
    merge = positive(v, "pooling_kernel_size", where).value_or(3);
  } else if (type == "mistral3") {
    t.projector = "pixtral";
    merge = positive(c, "spatial_merge_size", origin + ": ").value_or(2);
    const auto text = c.find("text_config");
    if (text == c.end() || !text->is_object()) return std::nullopt;
    t.projection_width = present(*text, "hidden_size", origin + ": /text_config");
  } else if (type == "llama4" || type == "internvl_chat") {
    // InternViT-6B's q / k norms (qk_normalization) lay the graph out otherwise: a rule of its own.
    t.qk_norm = type == "internvl_chat" && v.value("qk_normalization", json()) == json(true);
    t.projector = type == "llama4" ? "llama4" : "internvl";
    image = present(v, "image_size", where);
  } else {
    return std::nullopt;
  }
  if (t.heads == 0) t.heads = present(v, "num_attention_heads", where);
  if (t.blocks == 0) t.blocks = present(v, "num_hidden_layers", where);
  t.width = present(v, "hidden_size", where);
  t.ffn_width = present(v, "intermediate_size", where);
  t.patch_size = present(v, "patch_size", where);
  if (t.patch_size > 1024 || merge > 64 || image / t.patch_size > 4096 || t.blocks < 2) return std::nullopt;
  t.patches = llamacpp_clip_warmup_patches(t.projector, image, t.patch_size, merge);
  if (t.patches == 0) return std::nullopt;
  return t;
}

std::optional<ClipTower> clip_tower_of(const json& c, const std::string& origin) {
  const std::string type = c.value("model_type", json()).is_string() ? c.at("model_type").get<std::string>() : "";
  const json& v = object_at(c, "vision_config", origin + ": ");
  if (type != "gemma3") {
    try {
      return merged_clip_tower(type, c, v, origin);
    } catch (const Absent&) {
      return std::nullopt;
    }
  }
  // SiglipVisionConfig's defaults are not Gemma 3's: every key must be there.
  const std::string where = origin + ": /vision_config";
  const std::uint64_t side = required(v, "image_size", where) / required(v, "patch_size", where);
  ClipTower t{"gemma3", checked_mul(side, side, "the patches"), required(v, "num_attention_heads", where),
              required(v, "hidden_size", where), required(v, "intermediate_size", where), origin};
  if (t.patches < 2304 || required(v, "num_hidden_layers", where) < 2) return std::nullopt;
  return t;
}

} // namespace

std::expected<std::optional<ClipTower>, Error> hf_clip_tower(std::string_view config, std::string_view origin) {
  try {
    const json c = detail::parse_strict(config, std::string(origin), ErrorCode::invalid_model);
    if (!c.is_object() || !c.contains("vision_config")) return std::nullopt;
    return clip_tower_of(c, std::string(origin));
  } catch (const LoadFailure& f) {
    return std::unexpected(f.error);
  } catch (const OverflowError& e) {
    return std::unexpected(Error{ErrorCode::invalid_model, std::string(origin) + ": " + e.what()});
  }
}

std::optional<Error> add_hf_vision_profile(HfImport& imported, const std::string& dir, std::string_view config,
                                           std::string_view origin) {
  auto tower = hf_clip_tower(config, origin);
  if (!tower) return tower.error();
  imported.spec.vision_clip = *tower;
  namespace fs = std::filesystem;
  const fs::path pre = fs::path(dir) / "preprocessor_config.json";
  std::error_code ec;
  if (!fs::is_regular_file(pre, ec)) return std::nullopt;
  auto text = read_text_file(pre.string(), ErrorCode::invalid_model);
  if (!text) return text.error();
  auto p = hf_vision_profile(config, *text, origin, pre.string());
  if (!p) return p.error();
  if (*p) imported.spec.vision_profile = **p;
  auto rule = hf_image_processor(config, *text, origin, pre.string());
  if (!rule) return rule.error();
  imported.spec.image_processor = *rule;
  return std::nullopt;
}

} // namespace vramcalc::io
