// A vision-language model's vision tower from its config.json: the parameters of the modules
// transformers builds from vision_config (and the wrapper's projector), each formula from the
// model's modeling file (docs/hf-import.md, "Vision tower").
#include "hf_vision_tower.hpp"

#include "json_util.hpp"
#include "vramcalc/io/hf_config.hpp"
#include "vramcalc/units.hpp"

#include <cmath>

namespace vramcalc::io::detail {

using nlohmann::json;

namespace {

// A size key the config leaves out and whose transformers default vramcalc does not take:
// the tower is not counted, and the import says which key.
struct NotCounted {
  std::string why;
};

// The keys of one object of the config; `path` is its JSON pointer ("/vision_config").
class ConfigKeys {
public:
  ConfigKeys(const json& o, std::string path, const std::string& origin) : o_(o), path_(std::move(path)), origin_(origin) {}

  // A positive integer; absent: `fallback` (the config class's default), or NotCounted when 0.
  std::uint64_t n(const char* key, std::uint64_t fallback = 0) const {
    const auto it = o_.find(key);
    if (it == o_.end() || it->is_null()) {
      if (fallback == 0) throw NotCounted{path_ + "/" + key + " missing"};
      return fallback;
    }
    // At most 2^24: a product of two stays below 2^48, so only the sums need checking.
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() == 0 || it->get<std::uint64_t>() > (1ull << 24)) {
      throw LoadFailure{Error{ErrorCode::invalid_model, origin_ + ": " + path_ + "/" + key +
                                                            ": expected a positive integer up to 16777216, got " +
                                                            json_excerpt(*it)}};
    }
    return it->get<std::uint64_t>();
  }

  bool flag(const char* key, std::optional<bool> fallback) const {
    const auto it = o_.find(key);
    if (it == o_.end() || it->is_null()) {
      if (!fallback) throw NotCounted{path_ + "/" + key + " missing"};
      return *fallback;
    }
    if (!it->is_boolean()) {
      throw LoadFailure{Error{ErrorCode::invalid_model, origin_ + ": " + path_ + "/" + key + ": expected true or false, got " +
                                                            json_excerpt(*it)}};
    }
    return it->get<bool>();
  }

  std::string text(const char* key) const {
    const auto it = o_.find(key);
    if (it == o_.end() || it->is_null()) throw NotCounted{path_ + "/" + key + " missing"};
    if (!it->is_string()) {
      throw LoadFailure{Error{ErrorCode::invalid_model, origin_ + ": " + path_ + "/" + key + ": expected a string, got " +
                                                            json_excerpt(*it)}};
    }
    return it->get<std::string>();
  }

  // The object at `key` (text_config, llm_config); NotCounted when absent.
  ConfigKeys object(const char* key) const {
    const auto it = o_.find(key);
    if (it == o_.end() || !it->is_object()) throw NotCounted{path_ + "/" + key + " missing"};
    return ConfigKeys(*it, path_ + "/" + key, origin_);
  }

  [[nodiscard]] const json& value() const { return o_; }

private:
  const json& o_;
  std::string path_;
  const std::string& origin_;
};

// Parameters, added up with checked arithmetic.
struct Count {
  std::uint64_t n = 0;
  void add(std::uint64_t a, std::uint64_t b = 1, std::uint64_t c = 1) {
    n = checked_add(n, checked_mul(checked_mul(a, b, "the vision tower"), c, "the vision tower"), "the vision tower");
  }
  // nn.Linear(in, out, bias).
  void linear(std::uint64_t in, std::uint64_t out, bool bias) {
    add(in, out);
    if (bias) add(out);
  }
  void layer_norm(std::uint64_t dim) { add(2, dim); } // weight and bias
  void rms_norm(std::uint64_t dim) { add(dim); }      // weight
};

// `count` parameters of one encoder layer, `layers` times.
void repeat(Count& c, std::uint64_t layers, const Count& layer) { c.add(layers, layer.n); }

// SigLIP (transformers modeling_siglip.py, SiglipVisionTransformer): the patch conv with bias,
// a learned position per patch, per layer two LayerNorms, q/k/v/out with biases, fc1/fc2 with
// biases; the post LayerNorm; the attention-pooling head when vision_use_head (default true).
// Gemma 3 (modeling_gemma3.py, Gemma3MultiModalProjector): mm_input_projection_weight
// (vision hidden x text hidden) and mm_soft_emb_norm (an RMSNorm over the vision hidden size).
std::uint64_t gemma3(const ConfigKeys& top, const ConfigKeys& v) {
  const std::uint64_t h = v.n("hidden_size"), ff = v.n("intermediate_size"), p = v.n("patch_size");
  const std::uint64_t side = v.n("image_size") / p;
  Count c;
  c.add(v.n("num_channels", 3), p * p, h);
  c.add(h);
  c.add(side * side, h);
  Count layer;
  layer.layer_norm(h);
  layer.layer_norm(h);
  for (int i = 0; i < 4; ++i) layer.linear(h, h, true);
  layer.linear(h, ff, true);
  layer.linear(ff, h, true);
  repeat(c, v.n("num_hidden_layers"), layer);
  c.layer_norm(h);
  if (v.flag("vision_use_head", true)) { // SiglipMultiheadAttentionPoolingHead
    c.add(h);                            // probe
    c.linear(h, 3 * h, true);            // nn.MultiheadAttention in_proj
    c.linear(h, h, true);                // its out_proj
    c.layer_norm(h);
    c.linear(h, ff, true);
    c.linear(ff, h, true);
  }
  c.add(h, top.object("text_config").n("hidden_size"));
  c.rms_norm(h);
  return c.n;
}

// Gemma 4 (modeling_gemma4.py, Gemma4VisionModel, Gemma4MultimodalEmbedder): the patch
// embedder (Gemma4VisionPatchEmbedder: input_proj 3 x patch_size^2 -> hidden, no bias, and a
// position table of 2 x position_embedding_size (default 10,240) x hidden); per layer q (heads x
// head_dim), k and v (KV heads x head_dim), o, no biases, q/k RMSNorms over head_dim, four
// RMSNorms over hidden, the gated MLP; the standardizing bias and scale when standardize
// (default false); the embedder's projection hidden -> text hidden, no bias. Clipped linears
// (use_clipped_linears: E2B, E4B) and attention biases are not counted.
std::uint64_t gemma4(const ConfigKeys& top, const ConfigKeys& v) {
  if (v.flag("use_clipped_linears", false)) throw NotCounted{"/vision_config/use_clipped_linears true"};
  if (v.flag("attention_bias", false)) throw NotCounted{"/vision_config/attention_bias true"};
  const std::uint64_t h = v.n("hidden_size"), ff = v.n("intermediate_size"), p = v.n("patch_size");
  const std::uint64_t hd = v.n("head_dim"), heads = v.n("num_attention_heads"), kv = v.n("num_key_value_heads", heads);
  Count c;
  c.add(3, p * p, h);
  c.add(2, v.n("position_embedding_size", 10'240), h);
  Count layer;
  layer.add(2, h, heads * hd); // q, o
  layer.add(2, h, kv * hd);    // k, v
  layer.add(2, hd);            // q_norm, k_norm
  layer.add(4, h);             // four RMSNorms
  layer.add(3, h, ff);         // gate, up, down
  repeat(c, v.n("num_hidden_layers"), layer);
  if (v.flag("standardize", false)) c.add(2, h);
  c.add(h, top.object("text_config").n("hidden_size"));
  return c.n;
}

// Qwen2-VL (modeling_qwen2_vl.py, Qwen2VisionTransformerPretrainedModel): a Conv3d patch embedding
// without bias over embed_dim; per block two LayerNorms, qkv (3 x embed_dim) and proj with biases,
// fc1 to int(embed_dim x mlp_ratio) (default 4) and fc2 with biases; the merger (PatchMerger): a
// LayerNorm over embed_dim, embed_dim x merge^2 -> same -> hidden_size with biases.
std::uint64_t qwen2_vl(const ConfigKeys& v, const std::string& origin) {
  const std::uint64_t h = v.n("embed_dim"), p = v.n("patch_size"), m = v.n("spatial_merge_size", 2);
  std::uint64_t ff = checked_mul(h, 4, "the vision tower");
  if (const auto r = v.value().find("mlp_ratio"); r != v.value().end() && !r->is_null()) {
    if (!r->is_number() || !(r->get<double>() > 0.0 && r->get<double>() <= 64.0)) {
      throw LoadFailure{Error{ErrorCode::invalid_model, origin + ": /vision_config/mlp_ratio: expected a positive number, got " +
                                                            json_excerpt(*r)}};
    }
    ff = static_cast<std::uint64_t>(static_cast<double>(h) * r->get<double>()); // Python's int(): truncation
  }
  const std::uint64_t merged = checked_mul(h, m * m, "the vision tower");
  const auto in = v.value().contains("in_chans") ? v.n("in_chans") : v.n("in_channels", 3);
  Count c;
  c.add(in * v.n("temporal_patch_size", 2), p * p, h);
  Count block;
  block.layer_norm(h);
  block.layer_norm(h);
  block.linear(h, 3 * h, true);
  block.linear(h, h, true);
  block.linear(h, ff, true);
  block.linear(ff, h, true);
  repeat(c, v.n("depth"), block);
  c.layer_norm(h);
  c.linear(merged, merged, true);
  c.linear(merged, v.n("hidden_size"), true);
  return c.n;
}

// Qwen2.5-VL (modeling_qwen2_5_vl.py, Qwen2_5_VisionTransformerPretrainedModel): a Conv3d patch
// embedding without bias (in_channels x temporal_patch_size x patch_size^2); per block two
// RMSNorms, qkv (3 x hidden) and proj with biases, the gated MLP (gate, up, down) with biases;
// the merger (Qwen2_5_VLPatchMerger): an RMSNorm, hidden x merge^2 -> same -> out_hidden_size
// with biases.
std::uint64_t qwen2_5_vl(const ConfigKeys& v) {
  const std::uint64_t h = v.n("hidden_size"), ff = v.n("intermediate_size"), p = v.n("patch_size");
  const std::uint64_t m = v.n("spatial_merge_size", 2), merged = checked_mul(h, m * m, "the vision tower");
  Count c;
  c.add(v.n("in_channels", 3) * v.n("temporal_patch_size", 2), p * p, h);
  Count block;
  block.rms_norm(h);
  block.rms_norm(h);
  block.linear(h, 3 * h, true);
  block.linear(h, h, true);
  block.linear(h, ff, true);
  block.linear(h, ff, true);
  block.linear(ff, h, true);
  repeat(c, v.n("depth"), block);
  c.rms_norm(h);
  c.linear(merged, merged, true);
  c.linear(merged, v.n("out_hidden_size"), true);
  return c.n;
}

// Qwen3-VL (modeling_qwen3_vl.py, Qwen3VLVisionModel): a Conv3d patch embedding with bias,
// num_position_embeddings learned positions; per block two LayerNorms, qkv and proj with
// biases, linear_fc1 / linear_fc2 with biases; the merger (Qwen3VLVisionPatchMerger: a
// LayerNorm over hidden, hidden x merge^2 -> same -> out_hidden_size) and one DeepStack merger
// per deepstack_visual_indexes entry (the same with its LayerNorm over hidden x merge^2).
// Qwen3.5 (modeling_qwen3_5.py, Qwen3_5VisionModel): the same tower and merger, no DeepStack
// mergers (`deepstack` false).
std::uint64_t qwen3_vl(const ConfigKeys& v, bool deepstack) {
  const std::uint64_t h = v.n("hidden_size"), ff = v.n("intermediate_size"), p = v.n("patch_size");
  const std::uint64_t m = v.n("spatial_merge_size", 2), merged = checked_mul(h, m * m, "the vision tower");
  const std::uint64_t out = v.n("out_hidden_size");
  Count c;
  c.add(v.n("in_channels", 3) * v.n("temporal_patch_size", 2), p * p, h);
  c.add(h);
  c.add(v.n("num_position_embeddings"), h);
  Count block;
  block.layer_norm(h);
  block.layer_norm(h);
  block.linear(h, 3 * h, true);
  block.linear(h, h, true);
  block.linear(h, ff, true);
  block.linear(ff, h, true);
  repeat(c, v.n("depth"), block);
  Count merger;
  merger.linear(merged, merged, true);
  merger.linear(merged, out, true);
  c.layer_norm(h);
  c.add(merger.n);
  const auto d = v.value().find("deepstack_visual_indexes");
  const std::uint64_t levels = deepstack && d != v.value().end() && d->is_array() ? d->size() : 0;
  merger.layer_norm(merged);
  c.add(levels, merger.n);
  return c.n;
}

// Pixtral (modeling_pixtral.py, PixtralVisionModel): the patch conv without bias, ln_pre (an
// RMSNorm); per layer two RMSNorms, q/k/v/o hidden x hidden without biases, the gated MLP
// without biases. Mistral 3 (modeling_mistral3.py, Mistral3MultiModalProjector): an RMSNorm over
// the vision hidden size, the patch merger (hidden x spatial_merge_size^2 -> hidden, no bias),
// linear_1 (hidden x the vision_feature_layer count -> text hidden) and linear_2 (text hidden
// -> text hidden), with biases when multimodal_projector_bias (default true).
std::uint64_t mistral3(const ConfigKeys& top, const ConfigKeys& v) {
  const std::uint64_t h = v.n("hidden_size"), ff = v.n("intermediate_size"), p = v.n("patch_size");
  const std::uint64_t m = top.n("spatial_merge_size", 2), text = top.object("text_config").n("hidden_size");
  const bool bias = top.flag("multimodal_projector_bias", true);
  const auto fl = top.value().find("vision_feature_layer");
  const std::uint64_t feature_layers = fl != top.value().end() && fl->is_array() ? fl->size() : 1;
  Count c;
  c.add(v.n("num_channels", 3), p * p, h);
  c.rms_norm(h);
  Count layer;
  layer.rms_norm(h);
  layer.rms_norm(h);
  layer.add(4, h, h);
  layer.add(3, h, ff);
  repeat(c, v.n("num_hidden_layers"), layer);
  c.rms_norm(h);
  c.linear(checked_mul(h, m * m, "the vision tower"), h, false);
  c.linear(checked_mul(h, feature_layers, "the vision tower"), text, bias);
  c.linear(text, text, bias);
  return c.n;
}

// Llama 4 (modeling_llama4.py, Llama4VisionModel): the unfold patch embedding (a linear of
// num_channels x patch_size^2 -> hidden, no bias), the class embedding, (image_size /
// patch_size)^2 + 1 learned positions, layernorm_pre and layernorm_post; per layer two
// LayerNorms, q/k/v/o with biases, fc1/fc2 with biases; the pixel-shuffle adapter
// (Llama4VisionMLP2: intermediate_size -> projector_input_dim -> projector_output_dim, no
// biases); Llama4MultiModalProjector: vision_output_dim -> text hidden, no bias.
std::uint64_t llama4(const ConfigKeys& top, const ConfigKeys& v) {
  const std::uint64_t h = v.n("hidden_size"), ff = v.n("intermediate_size"), p = v.n("patch_size");
  const std::uint64_t side = v.n("image_size") / p;
  Count c;
  c.add(v.n("num_channels", 3), p * p, h);
  c.add(h);
  c.add(side * side + 1, h);
  c.layer_norm(h);
  c.layer_norm(h);
  Count layer;
  layer.layer_norm(h);
  layer.layer_norm(h);
  for (int i = 0; i < 4; ++i) layer.linear(h, h, true);
  layer.linear(h, ff, true);
  layer.linear(ff, h, true);
  repeat(c, v.n("num_hidden_layers"), layer);
  c.linear(ff, v.n("projector_input_dim"), false);
  c.linear(v.n("projector_output_dim"), v.n("projector_output_dim"), false);
  c.linear(v.n("vision_output_dim"), top.object("text_config").n("hidden_size"), false);
  return c.n;
}

// InternVL (OpenGVLab's remote code: modeling_intern_vit.py InternVisionModel,
// modeling_internvl_chat.py InternVLChatModel.mlp1): the class embedding, the patch conv with
// bias, (image_size / patch_size)^2 + 1 learned positions; per layer qkv (bias when qkv_bias),
// proj with bias, q/k RMSNorms when qk_normalization, fc1/fc2 with biases, two norms
// (norm_type rms_norm or layer_norm) and two layer scales; mlp1: a LayerNorm over hidden x
// (1 / downsample_ratio)^2, that -> LLM hidden -> LLM hidden with biases.
std::uint64_t internvl(const ConfigKeys& top, const ConfigKeys& v, const std::string& origin) {
  const std::uint64_t h = v.n("hidden_size"), ff = v.n("intermediate_size"), p = v.n("patch_size");
  const std::uint64_t side = v.n("image_size") / p;
  const std::string norm = v.text("norm_type");
  if (norm != "rms_norm" && norm != "layer_norm") {
    throw LoadFailure{Error{ErrorCode::invalid_model, origin + ": /vision_config/norm_type: expected rms_norm or layer_norm, got " +
                                                          json_excerpt(json(norm))}};
  }
  double ratio = 0.5;
  if (const auto r = top.value().find("downsample_ratio"); r != top.value().end() && !r->is_null()) {
    ratio = r->is_number() ? r->get<double>() : 0.0;
    if (!(ratio >= 1.0 / 64 && ratio <= 1.0) || std::abs(1.0 / ratio - std::round(1.0 / ratio)) > 1e-9) {
      throw LoadFailure{Error{ErrorCode::invalid_model, origin + ": /downsample_ratio: expected 1/n (0.5), got " + json_excerpt(*r)}};
    }
  }
  const auto shuffle = static_cast<std::uint64_t>(std::llround(1.0 / ratio));
  const std::uint64_t llm = top.object("llm_config").n("hidden_size");
  Count c;
  c.add(h);
  c.linear(v.n("num_channels", 3) * p * p, h, true);
  c.add(side * side + 1, h);
  Count layer;
  layer.linear(h, 3 * h, v.flag("qkv_bias", std::nullopt));
  layer.linear(h, h, true);
  if (v.flag("qk_normalization", std::nullopt)) layer.add(2, h);
  layer.linear(h, ff, true);
  layer.linear(ff, h, true);
  layer.add(norm == "layer_norm" ? 4 : 2, h);
  layer.add(2, h);
  repeat(c, v.n("num_hidden_layers"), layer);
  const std::uint64_t in = checked_mul(h, shuffle * shuffle, "the vision tower");
  c.layer_norm(in);
  c.linear(in, llm, true);
  c.linear(llm, llm, true);
  return c.n;
}

// Kimi K2.5 (moonshotai's remote code modeling_kimi_k25.py: MoonViT and the patchmerger
// mm_projector; tensor names and shapes as the checkpoint lists them): the patch conv with bias,
// a learned init_pos_emb_height x init_pos_emb_width x hidden position table; per block norm0
// and norm1 (LayerNorms), wqkv (3 x hidden) and wo with biases, fc0 / fc1 with biases; the
// final LayerNorm; mm_projector: pre_norm (a LayerNorm over mm_hidden_size), mm x k -> mm x k
// and mm x k -> text_hidden_size with biases (k the merge_kernel_size product).
std::uint64_t kimi_k25(const ConfigKeys& v, const std::string& origin) {
  if (v.text("mm_projector_type") != "patchmerger") throw NotCounted{"/vision_config/mm_projector_type not patchmerger"};
  const std::uint64_t h = v.n("vt_hidden_size"), ff = v.n("vt_intermediate_size"), p = v.n("patch_size");
  const std::uint64_t mm = v.n("mm_hidden_size");
  const auto k = v.value().find("merge_kernel_size");
  if (k == v.value().end() || !k->is_array() || k->size() != 2) throw NotCounted{"/vision_config/merge_kernel_size missing"};
  std::uint64_t area = 1;
  for (const json& side : *k) {
    if (!side.is_number_unsigned() || side.get<std::uint64_t>() == 0 || side.get<std::uint64_t>() > 64) {
      throw LoadFailure{Error{ErrorCode::invalid_model, origin + ": /vision_config/merge_kernel_size: expected two sides of 1 to 64, got " +
                                                            json_excerpt(*k)}};
    }
    area *= side.get<std::uint64_t>();
  }
  const std::uint64_t merged = checked_mul(mm, area, "the vision tower");
  Count c;
  c.add(v.n("num_channels", 3), p * p, h);
  c.add(h);
  c.add(v.n("init_pos_emb_height"), v.n("init_pos_emb_width"), h);
  Count block;
  block.layer_norm(h);
  block.layer_norm(h);
  block.linear(h, 3 * h, true);
  block.linear(h, h, true);
  block.linear(h, ff, true);
  block.linear(ff, h, true);
  repeat(c, v.n("vt_num_hidden_layers"), block);
  c.layer_norm(h);
  c.layer_norm(mm);
  c.linear(merged, merged, true);
  c.linear(merged, v.n("text_hidden_size"), true);
  return c.n;
}

} // namespace

std::optional<VisionTower> hf_vision_tower(const json& root, const std::string& origin, std::string& why) {
  const auto vit = root.find("vision_config");
  if (vit == root.end() || !vit->is_object()) return std::nullopt;
  const std::string type = root.contains("model_type") && root.at("model_type").is_string() ? root.at("model_type").get<std::string>() : "";
  const ConfigKeys top(root, "", origin), v(*vit, "/vision_config", origin);
  try {
    VisionTower t;
    if (type == "gemma3") {
      t = {gemma3(top, v), "SigLIP vision_config and Gemma 3's projector (transformers modeling_siglip.py, modeling_gemma3.py)"};
    } else if (type == "gemma4") {
      t = {gemma4(top, v), "Gemma 4 vision_config and its embedder (transformers modeling_gemma4.py)"};
    } else if (type == "qwen2_vl") {
      t = {qwen2_vl(v, origin), "Qwen2-VL vision_config: ViT and patch merger (transformers modeling_qwen2_vl.py)"};
    } else if (type == "qwen2_5_vl") {
      t = {qwen2_5_vl(v), "Qwen2.5-VL vision_config: ViT and patch merger (transformers modeling_qwen2_5_vl.py)"};
    } else if (type == "qwen3_vl" || type == "qwen3_vl_moe") {
      t = {qwen3_vl(v, true), "Qwen3-VL vision_config: ViT, patch merger and DeepStack mergers (transformers modeling_qwen3_vl.py)"};
    } else if (type == "qwen3_5" || type == "qwen3_5_moe") {
      t = {qwen3_vl(v, false), "Qwen3.5 vision_config: ViT and patch merger (transformers modeling_qwen3_5.py)"};
    } else if (type == "mistral3") {
      t = {mistral3(top, v), "Pixtral vision_config and Mistral 3's projector (transformers modeling_pixtral.py, modeling_mistral3.py)"};
    } else if (type == "llama4") {
      t = {llama4(top, v), "Llama 4 vision_config: vision model, pixel-shuffle adapter and projector (transformers modeling_llama4.py)"};
    } else if (type == "kimi_k25") {
      t = {kimi_k25(v, origin), "MoonViT vision_config and Kimi K2.5's patch-merger projector (modeling_kimi_k25.py)"};
    } else if (type == "internvl_chat") {
      t = {internvl(top, v, origin), "InternViT vision_config and InternVL's mlp1 projector (modeling_intern_vit.py, modeling_internvl_chat.py)"};
    } else {
      why = "model_type " + json_excerpt(json(type)) + " has no vision tower formula";
      return std::nullopt;
    }
    t.source = "counted from config.json: " + t.source + ", " + std::to_string(t.params) + " parameters";
    return t;
  } catch (const NotCounted& n) {
    why = n.why;
    return std::nullopt;
  } catch (const OverflowError& e) {
    throw LoadFailure{Error{ErrorCode::invalid_model, origin + ": /vision_config: " + e.what()}};
  }
}

} // namespace vramcalc::io::detail

namespace vramcalc::io {

std::expected<std::optional<std::uint64_t>, Error> hf_vision_params(std::string_view config, std::string_view origin) {
  try {
    const std::string o(origin);
    const nlohmann::json root = detail::parse_strict(config, o, ErrorCode::invalid_model);
    if (!root.is_object()) return std::unexpected(Error{ErrorCode::invalid_model, o + ": expected a JSON object"});
    std::string why;
    if (auto t = detail::hf_vision_tower(root, o, why)) return t->params;
    return std::nullopt;
  } catch (const detail::LoadFailure& f) {
    return std::unexpected(f.error);
  }
}

} // namespace vramcalc::io
