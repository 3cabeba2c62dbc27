// A LoRA adapter GGUF's pairs, as src/llama-adapter.cpp llama_adapter_lora_init_impl reads
// them (docs/engines.md, llama.cpp "LoRA adapters"); a projector's tensors, as clip.cpp loads them.
#include "vramcalc/io/gguf_lora.hpp"

#include "vramcalc/engine_llamacpp.hpp"

#include <cstdio>
#include <map>

namespace vramcalc::io {

namespace {

std::unexpected<Error> lora_error(const GgufFile& f, const std::string& what) {
  return std::unexpected(Error{ErrorCode::invalid_argument, f.origin + ": " + what});
}

const DtypeTraits* type_of(std::uint32_t ggml_type) {
  for (const DtypeTraits& t : dtype_table) {
    if (t.ggml_id >= 0 && static_cast<std::uint32_t>(t.ggml_id) == ggml_type) return &t;
  }
  return nullptr;
}

// The layer of a base tensor's name: blk.N. -> N; output.weight -> -1; others (token_embd) -2.
std::expected<std::int64_t, std::string> base_layer(const std::string& base, std::uint64_t n_layer) {
  if (base == "output.weight") return -1;
  if (!base.starts_with("blk.")) return -2;
  std::uint64_t n = 0;
  std::size_t i = 4;
  for (; i < base.size() && i < 14 && base[i] >= '0' && base[i] <= '9'; ++i) n = n * 10 + static_cast<std::uint64_t>(base[i] - '0');
  if (i == 4 || i >= base.size() || base[i] != '.') return std::unexpected("'" + base + "' is not a layer's tensor");
  if (n >= n_layer) {
    return std::unexpected("'" + base + "' is past the model's " + std::to_string(n_layer) +
                           " layers (llama.cpp: \"does not exist in base model\")");
  }
  return static_cast<std::int64_t>(n);
}

} // namespace

std::expected<LlamaCppLora, Error> llamacpp_lora_from_gguf(const GgufFile& f, const ModelSpec& spec) {
  const std::string type = f.get_string("general.type").value_or("");
  if (type != "adapter") return lora_error(f, "not a LoRA adapter (general.type '" + type + "'; llama.cpp expects 'adapter')");
  const std::string adapter = f.get_string("adapter.type").value_or("");
  if (adapter != "lora") return lora_error(f, "adapter.type is '" + adapter + "'; llama.cpp loads 'lora'");
  std::map<std::string, std::pair<const GgufTensorInfo*, const GgufTensorInfo*>> pairs;
  for (const GgufTensorInfo& t : f.tensors) {
    if (t.name.ends_with(".lora_a")) pairs[t.name.substr(0, t.name.size() - 7)].first = &t;
    else if (t.name.ends_with(".lora_b")) pairs[t.name.substr(0, t.name.size() - 7)].second = &t;
    else if (!t.name.ends_with("_norm.weight")) return lora_error(f, "tensor '" + t.name + "' is neither .lora_a nor .lora_b");
  }
  LlamaCppLora lora;
  lora.name = f.origin;
  for (const auto& [base, ab] : pairs) {
    if (ab.first == nullptr || ab.second == nullptr) return lora_error(f, "'" + base + "' has only one of lora_a and lora_b");
    const auto layer = base_layer(base, spec.num_layers);
    if (!layer) return lora_error(f, layer.error());
    const DtypeTraits* ta = type_of(ab.first->ggml_type);
    const DtypeTraits* tb = type_of(ab.second->ggml_type);
    if (ta == nullptr || tb == nullptr) return lora_error(f, "'" + base + "': a ggml type vramcalc does not size");
    LlamaCppLoraPair p;
    p.layer = *layer;
    p.routed_expert = base.find("_exps.") != std::string::npos;
    p.type_a = ta->id;
    p.type_b = tb->id;
    p.a_ne0 = ab.first->ne[0];
    p.a_bytes = ab.first->bytes;
    p.b_ne0 = ab.second->ne[0];
    p.b_bytes = ab.second->bytes;
    lora.pairs.push_back(p);
  }
  return lora;
}

std::expected<LlamaCppLora, Error> read_llamacpp_lora(const std::string& path, const ModelSpec& spec) {
  auto f = read_gguf_file(path, GgufReadOptions{});
  if (!f) return std::unexpected(f.error());
  return llamacpp_lora_from_gguf(*f, spec);
}

std::expected<LlamaCppMmproj, Error> llamacpp_mmproj_from_gguf(const GgufFile& f) {
  const std::string arch = f.get_string("general.architecture").value_or("");
  if (arch != "clip") {
    return lora_error(f, "not a multimodal projector (general.architecture '" + arch + "'; llama.cpp's mmproj files are 'clip')");
  }
  LlamaCppMmproj out;
  out.bytes = f.tensor_bytes();
  out.tensors = f.tensors.size();
  if (out.tensors == 0) return lora_error(f, "a projector without tensors");
  // clip.cpp load_hparams: clip.projector_type, or clip.vision.projector_type in a file with
  // several encoders; the warmup image per projector (llamacpp_clip_warmup_patches).
  out.projector = f.get_string("clip.projector_type").value_or(f.get_string("clip.vision.projector_type").value_or(""));
  const auto image = f.get_uint("clip.vision.image_size");
  const auto patch = f.get_uint("clip.vision.patch_size");
  const auto width = f.get_uint("clip.vision.embedding_length");
  const auto ffn = f.get_uint("clip.vision.feed_forward_length");
  const auto heads = f.get_uint("clip.vision.attention.head_count");
  const auto blocks = f.get_uint("clip.vision.block_count");
  const std::uint64_t merge = f.get_uint("clip.vision.projector.scale_factor")
                                  .value_or(f.get_uint("clip.vision.spatial_merge_size").value_or(0));
  if (!llamacpp_clip_projector_known(out.projector) || !image || !patch || *patch == 0 || *patch > 1024 || !width ||
      !ffn || !heads || !blocks || *blocks < 2 || *image / *patch > 4096 || merge > 64) {
    return out;
  }
  // kimik25 warms up at the side of its image_max_pixels instead of image_size.
  const std::uint64_t size = out.projector == "kimik25" ? f.get_uint("clip.vision.image_max_pixels").value_or(0) : *image;
  ClipTower t{out.projector, llamacpp_clip_warmup_patches(out.projector, size, *patch, merge), *heads, *width, *ffn,
              f.origin, *patch, *blocks, 0, 0};
  if (t.patches == 0) return out;
  // qwen3vl: a DeepStack layer (v.deepstack.N.*) before the last two blocks keeps its output live
  // (and one before the last block is live in a later block's MLP);
  // pixtral: mm.2.weight's output width is the [IMG_BREAK] rows' (qwen3vl: the DeepStack features').
  for (const GgufTensorInfo& g : f.tensors) {
    if (g.name == "mm.2.weight") t.projection_width = g.ne[1];
    if (g.name == "v.blk.0.attn_q_norm.weight" && out.projector == "internvl") t.qk_norm = true; // InternViT-6B
    unsigned layer = 0;
    char tail[8] = {};
    if (std::sscanf(g.name.c_str(), "v.deepstack.%u.fc1.%7s", &layer, tail) == 2 && std::string_view(tail) == "weight") {
      if (layer + 2 < *blocks) ++t.deepstack_kept;
      if (layer + 1 < *blocks) ++t.deepstack_before_last;
    }
  }
  // gemma3's rule starts at 2,304 patches (under it the input and patch embedding peak).
  if (out.projector != "gemma3" || t.patches >= 2304) out.clip = t;
  return out;
}

std::expected<LlamaCppMmproj, Error> read_llamacpp_mmproj(const std::string& path) {
  auto f = read_gguf_file(path, GgufReadOptions{});
  if (!f) return std::unexpected(f.error());
  return llamacpp_mmproj_from_gguf(*f);
}

} // namespace vramcalc::io
