#include "vramcalc/io/model_json.hpp"

#include "json_util.hpp"
#include "vramcalc/engine_llamacpp.hpp"
#include "vramcalc/format.hpp"

#include <cctype>

namespace vramcalc::io {

using detail::LoadFailure;
using detail::ObjectReader;
using nlohmann::json;

namespace {

// Sane bounds: large enough for any real model, small enough that no product of a few
// of them can wrap silently (every product is also checked).
constexpr std::uint64_t max_dim = 1ull << 31;
constexpr std::uint64_t max_layers = 65536;
constexpr std::uint64_t max_heads = 65536;
constexpr std::uint64_t max_experts = 65536;

bool valid_id(std::string_view id) {
  for (char c : id) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' ||
          c == '.' || c == '_'))
      return false;
  }
  return !id.empty();
}

LayerKind parse_kind(const ObjectReader& r, const std::string& origin, std::string_view key, std::size_t i,
                         const json& v) {
  const std::string where = origin + ": " + r.path_of(key) + "/" + std::to_string(i);
  if (!v.is_string()) {
    throw LoadFailure{{ErrorCode::invalid_model, where + ": expected a string"}};
  }
  const auto s = v.get<std::string>();
  if (s == "full") return {AttentionKind::full, false};
  if (s == "sliding") return {AttentionKind::sliding, false};
  if (s == "chunked") return {AttentionKind::chunked, false};
  if (s == "none") return {AttentionKind::none, false};
  if (s == "mlp") return {AttentionKind::none, true};
  throw LoadFailure{{ErrorCode::invalid_model,
                     where + ": unknown layer kind '" + s + "' (expected full, sliding, chunked, none or mlp)"}};
}

// `unquantized`: the modules a quantized format leaves out (WeightFormat::unquantized_*), by
// tensor group or role name; only beside the format it qualifies.
std::vector<std::string> read_unquantized(ObjectReader& r, const std::optional<std::string>& format, Dtype dtype) {
  std::vector<std::string> names = r.str_array("unquantized");
  if (names.empty()) return names;
  if (!format) r.fail("unquantized", "needs a weights format beside it (the modules that format leaves out)");
  WeightFormat f = *parse_weight_format(*format, dtype);
  if (auto ok = set_unquantized(f, names); !ok) r.fail("unquantized", ok.error().message);
  return names;
}

// Schema, names, source, dtype, the format a checkpoint ships in, the maximum context.
void read_identity(ObjectReader& r, ModelSpec& s) {
  const std::string schema = r.str("schema");
  if (schema != "vramcalc-model/1") {
    r.fail("schema", "unsupported schema '" + schema + "' (this vramcalc reads vramcalc-model/1)");
  }
  s.id = r.str("id");
  if (!valid_id(s.id)) r.fail("id", "must be lowercase letters, digits, '-', '.' or '_', got '" + s.id + "'");
  s.name = r.str("name");
  s.family = r.str("family");
  s.arch = r.str("arch");
  s.aliases = r.str_array("aliases");
  s.source = r.str("source");
  s.notes = r.str_array("notes");
  s.remarks = r.str_array("remarks");

  const std::string dtype = r.str("dtype");
  auto d = parse_dtype(dtype);
  if (!d || !(*d == Dtype::f32 || *d == Dtype::f16 || *d == Dtype::bf16)) {
    r.fail("dtype", "expected fp32, fp16 or bf16, got '" + dtype + "'");
  }
  s.dtype = *d;
  if (auto wf = r.opt_str("weights_format")) {
    if (auto f = parse_weight_format(*wf, s.dtype); !f) r.fail("weights_format", f.error().message);
    s.weights_format = *wf;
  }
  s.unquantized = read_unquantized(r, s.weights_format, s.dtype);
  s.max_context = r.u64("max_context", 1, 1ull << 40);
}

// Known hub checkpoints with their own format or context.
void read_checkpoints(ObjectReader& r, ModelSpec& s) {
  if (r.has("checkpoints")) {
    const json& arr = r.array("checkpoints");
    for (std::size_t i = 0; i < arr.size(); ++i) {
      ObjectReader c = r.element(arr, "checkpoints", i);
      Checkpoint cp;
      cp.repo = c.str("repo");
      if (cp.repo.empty() || cp.repo.size() > 256) c.fail("repo", "must be a hub name of 1 to 256 characters");
      if (auto wf = c.opt_str("format")) {
        if (auto f = parse_weight_format(*wf, s.dtype); !f) c.fail("format", f.error().message);
        cp.weights_format = *wf;
      }
      cp.unquantized = read_unquantized(c, cp.weights_format, s.dtype);
      cp.max_context = c.opt_u64("max_context", 1, 1ull << 40).value_or(0);
      cp.source = c.str("source");
      c.finish();
      s.checkpoints.push_back(std::move(cp));
    }
  }
}

// Sizes, norms and the MLP of a decoder block.
void read_block(ObjectReader& r, ModelSpec& s) {
  s.hidden_size = r.u64("hidden_size", 1, max_dim);
  s.num_layers = r.u64("num_layers", 1, max_model_layers);
  s.vocab_size = r.u64("vocab_size", 1, max_dim);
  s.intermediate_size = r.u64("intermediate_size", 0, max_dim);
  s.tie_word_embeddings = r.boolean("tie_word_embeddings");

  if (auto norm = r.opt_str("norm")) {
    if (*norm == "rmsnorm") s.norm = NormKind::rmsnorm;
    else if (*norm == "layernorm") s.norm = NormKind::layernorm;
    else if (*norm == "layernorm_bias") {
      s.norm = NormKind::layernorm;
      s.norm_bias = true;
    } else {
      r.fail("norm", "expected rmsnorm, layernorm or layernorm_bias, got '" + *norm + "'");
    }
  }
  s.norms_per_layer = r.opt_u64("norms_per_layer", 1, 4).value_or(2);
  if (auto mlp = r.opt_str("mlp")) {
    if (*mlp == "gated") s.mlp = MlpKind::gated;
    else if (*mlp == "plain") s.mlp = MlpKind::plain;
    else r.fail("mlp", "expected gated or plain, got '" + *mlp + "'");
  }
  s.mlp_bias = r.opt_bool("mlp_bias", false);
  s.separate_mlp = r.opt_bool("separate_mlp", false);
  s.layer_scalar = r.opt_bool("layer_scalar", false);

}

// /attention: heads, head sizes, biases, local windows, MLA.
void read_attention(ObjectReader& r, ModelSpec& s) {
  ObjectReader a = r.object("attention");
  AttentionSpec& at = s.attention;
  at.num_heads = a.u64("num_heads", 1, max_heads);
  at.num_kv_heads = a.u64("num_kv_heads", 1, max_heads);
  at.qkv_bias = a.opt_bool("qkv_bias", false);
  at.o_bias = a.opt_bool("o_bias", false);
  at.qk_norm = a.opt_bool("qk_norm", false);
  at.sinks = a.opt_bool("sinks", false);
  at.output_gate = a.opt_bool("output_gate", false);
  at.sliding_window = a.opt_u64("sliding_window", 1, 1ull << 40).value_or(0);
  at.chunk_size = a.opt_u64("chunk_size", 1, 1ull << 40).value_or(0);
  // Full-attention layers with their own shape (Gemma 4).
  at.global_head_dim = a.opt_u64("global_head_dim", 1, max_dim).value_or(0);
  at.global_num_kv_heads = a.opt_u64("global_kv_heads", 1, max_heads).value_or(0);
  at.global_k_eq_v = a.opt_bool("global_k_eq_v", false);
  if (at.global_num_kv_heads != 0 && at.num_heads % at.global_num_kv_heads != 0) {
    a.fail("global_kv_heads", "must divide num_heads (" + std::to_string(at.num_heads) + "), got " +
                                  std::to_string(at.global_num_kv_heads));
  }
  if (auto m = a.opt_object("mla")) {
    MlaSpec mla;
    mla.q_lora_rank = m->u64("q_lora_rank", 0, max_dim);
    mla.kv_lora_rank = m->u64("kv_lora_rank", 1, max_dim);
    mla.qk_nope_head_dim = m->u64("qk_nope_head_dim", 1, max_dim);
    mla.qk_rope_head_dim = m->u64("qk_rope_head_dim", 0, max_dim);
    mla.v_head_dim = m->u64("v_head_dim", 1, max_dim);
    m->finish();
    at.mla = mla;
    at.head_dim = a.opt_u64("head_dim", 1, max_dim).value_or(mla.qk_nope_head_dim + mla.qk_rope_head_dim);
    at.v_head_dim = a.opt_u64("v_head_dim", 1, max_dim).value_or(mla.v_head_dim);
  } else {
    at.head_dim = a.u64("head_dim", 1, max_dim);
    at.v_head_dim = a.opt_u64("v_head_dim", 1, max_dim).value_or(at.head_dim);
    if (at.num_heads % at.num_kv_heads != 0) {
      a.fail("num_kv_heads", "must divide num_heads (" + std::to_string(at.num_heads) + "), got " +
                                 std::to_string(at.num_kv_heads));
    }
  }
  a.finish();
}

// /moe: experts, shared experts, which layers.
void read_moe(ObjectReader& r, ModelSpec& s) {
  if (auto m = r.opt_object("moe")) {
    MoeSpec moe;
    moe.num_experts = m->u64("num_experts", 2, max_experts);
    moe.experts_per_token = m->u64("experts_per_token", 1, max_experts);
    if (moe.experts_per_token > moe.num_experts) {
      m->fail("experts_per_token", "must not exceed num_experts (" + std::to_string(moe.num_experts) + ")");
    }
    moe.expert_intermediate_size = m->u64("expert_intermediate_size", 1, max_dim);
    moe.shared_experts = m->opt_u64("shared_experts", 0, max_experts).value_or(0);
    moe.shared_intermediate_size =
        m->opt_u64("shared_intermediate_size", 1, max_dim).value_or(moe.expert_intermediate_size);
    moe.first_dense_layers = m->opt_u64("first_dense_layers", 0, s.num_layers).value_or(0);
    moe.layer_step = m->opt_u64("layer_step", 1, max_layers).value_or(1);
    moe.layer_offset = m->opt_u64("layer_offset", 0, max_layers).value_or(0);
    if (moe.layer_offset >= moe.layer_step) {
      m->fail("layer_offset", "must be less than layer_step (" + std::to_string(moe.layer_step) + ")");
    }
    moe.router_bias = m->opt_bool("router_bias", false);
    moe.expert_bias = m->opt_bool("expert_bias", false);
    moe.shared_expert_gate = m->opt_bool("shared_expert_gate", false);
    moe.dense_mlp_beside = m->opt_bool("dense_mlp_beside", false);
    m->finish();
    s.moe = moe;
  }

}

// /recurrent: the state of Mamba, Mamba-2, Gated DeltaNet and Kimi Delta Attention layers.
void read_recurrent(ObjectReader& r, ModelSpec& s) {
  if (auto rr = r.opt_object("recurrent")) {
    RecurrentSpec rec;
    const std::string kind = rr->str("kind");
    if (kind == "mamba") rec.kind = RecurrentKind::mamba;
    else if (kind == "mamba2") rec.kind = RecurrentKind::mamba2;
    else if (kind == "gated_deltanet") rec.kind = RecurrentKind::gated_deltanet;
    else if (kind == "kda") rec.kind = RecurrentKind::kda;
    else rr->fail("kind", "expected mamba, mamba2, gated_deltanet or kda, got '" + kind + "'");
    if (auto sd = rr->opt_str("state_dtype")) {
      auto sdt = parse_dtype(*sd);
      if (!sdt || !(*sdt == Dtype::f32 || *sdt == Dtype::f16 || *sdt == Dtype::bf16)) {
        rr->fail("state_dtype", "expected fp32, fp16 or bf16, got '" + *sd + "'");
      }
      rec.state_dtype = *sdt;
    }
    rec.d_conv = rr->u64("d_conv", 1, 1024);
    rec.conv_bias = rr->opt_bool("conv_bias", true);
    if (rec.kind == RecurrentKind::gated_deltanet) {
      rec.num_heads = rr->u64("num_v_heads", 1, max_heads);
      rec.num_k_heads = rr->u64("num_k_heads", 1, max_heads);
      rec.head_k_dim = rr->u64("head_k_dim", 1, max_dim);
      rec.head_v_dim = rr->u64("head_v_dim", 1, max_dim);
    } else if (rec.kind == RecurrentKind::kda) {
      rec.num_heads = rr->u64("num_heads", 1, max_heads);
      rec.head_dim = rr->u64("head_dim", 1, max_dim);
    } else {
      rec.d_inner = rr->u64("d_inner", 1, max_dim);
      rec.d_state = rr->u64("d_state", 1, max_dim);
      if (rec.kind == RecurrentKind::mamba) {
        rec.dt_rank = rr->u64("dt_rank", 1, max_dim);
        rec.dt_norms = rr->opt_bool("dt_norms", false);
      } else {
        rec.num_heads = rr->u64("num_heads", 1, max_heads);
        rec.n_groups = rr->opt_u64("n_groups", 1, max_heads).value_or(1);
        if (rec.d_inner % rec.num_heads != 0) {
          rr->fail("num_heads", "must divide d_inner (" + std::to_string(rec.d_inner) + ")");
        }
        rec.head_dim = rec.d_inner / rec.num_heads;
      }
    }
    rr->finish();
    s.recurrent = rec;
  }
}

// layer_pattern (repeated) or layer_types (one per layer).
std::vector<LayerKind> read_layer_pattern(ObjectReader& r, const ModelSpec& s, const std::string& origin) {
  std::vector<LayerKind> pattern;
  const bool has_pattern = r.has("layer_pattern"), has_types = r.has("layer_types");
  if (has_pattern && has_types) r.fail("layer_types", "give layer_pattern or layer_types, not both");
  if (has_pattern || has_types) {
    const char* key = has_pattern ? "layer_pattern" : "layer_types";
    const json& arr = r.array(key);
    if (arr.empty()) r.fail(key, "must not be empty");
    if (has_types && arr.size() != s.num_layers) {
      r.fail(key, "has " + std::to_string(arr.size()) + " entries, but num_layers is " + std::to_string(s.num_layers));
    }
    if (arr.size() > s.num_layers) {
      r.fail(key, "is longer (" + std::to_string(arr.size()) + ") than num_layers (" + std::to_string(s.num_layers) + ")");
    }
    for (std::size_t i = 0; i < arr.size(); ++i) pattern.push_back(parse_kind(r, origin, key, i, arr[i]));
    for (LayerKind k : pattern) {
      if (k.attention == AttentionKind::sliding && s.attention.sliding_window == 0) {
        r.fail(key, "has sliding layers but /attention/sliding_window is not set");
      }
      if (k.attention == AttentionKind::chunked && s.attention.chunk_size == 0) {
        r.fail(key, "has chunked layers but /attention/chunk_size is not set");
      }
      if (k.mlp_only && !s.separate_mlp) r.fail(key, "has mlp layers but separate_mlp is not true");
    }
  }

  return pattern;
}

// `vision.image_processor`: the rule of the model's image processor and its facts (ImageProcessor).
ImageProcessor read_image_processor(ObjectReader& c) {
  ImageProcessor p;
  const std::string kind = c.str("kind");
  if (kind == "qwen2_vl") {
    p.kind = ImageProcessorKind::qwen2_vl;
    p.patch = c.u64("patch", 1, 1024);
    p.merge = c.u64("merge", 1, 64);
    p.min_pixels = c.u64("min_pixels", 1, 1ull << 32);
    p.max_pixels = c.u64("max_pixels", 1, 1ull << 32);
    if (p.max_pixels < p.patch * p.merge * p.patch * p.merge) {
      c.fail("max_pixels", "is less than one merged patch (" + std::to_string(p.patch * p.merge) + "^2 pixels)");
    }
  } else if (kind == "pixtral") {
    p.kind = ImageProcessorKind::pixtral;
    p.patch = c.u64("patch", 1, 1024);
    p.merge = c.u64("merge", 1, 64);
    p.longest_edge = c.u64("longest_edge", 1, 1u << 16);
  } else if (kind == "internvl") {
    p.kind = ImageProcessorKind::internvl;
    p.longest_edge = c.u64("image_size", 1, 1u << 16);
    p.tokens = c.u64("tile_tokens", 1, 1u << 20);
    p.min_tiles = c.u64("min_tiles", 1, 64);
    p.max_tiles = c.u64("max_tiles", p.min_tiles, 64);
    p.thumbnail = c.boolean("thumbnail");
  } else if (kind == "llama4") {
    p.kind = ImageProcessorKind::llama4;
    p.longest_edge = c.u64("image_size", 1, 1u << 16);
    p.tokens = c.u64("tile_tokens", 1, 1u << 20);
    p.max_tiles = c.u64("max_tiles", 1, 64);
  } else if (kind == "fixed") {
    p.longest_edge = c.u64("image_size", 1, 1u << 16);
    p.tokens = c.u64("tokens", 1, 1u << 24);
  } else {
    c.fail("kind", "expected qwen2_vl, pixtral, internvl, llama4 or fixed, got '" + kind + "'");
  }
  p.source = c.str("source");
  c.finish();
  return p;
}

// Multi-token prediction and the vision tower.
void read_mtp_and_vision(ObjectReader& r, ModelSpec& s) {
  s.mtp_layers = r.opt_u64("mtp_layers", 0, 64).value_or(0);
  s.mtp_own_embeddings = r.opt_bool("mtp_own_embeddings", true);
  if (auto v = r.opt_object("vision")) {
    s.vision_params = v->u64("params", 1, 1ull << 40);
    s.vision_source = v->str("source");
    // The encoder's profiling facts: all three or none.
    const auto t = v->opt_u64("max_tokens_per_image", 1, 1u << 24);
    const auto e = v->opt_u64("embeddings_per_image", 1, 1u << 24);
    const auto d = v->opt_u64("output_width", 1, 1u << 20);
    if (t || e || d) {
      if (!t || !e || !d) {
        v->fail(!t ? "max_tokens_per_image" : !e ? "embeddings_per_image" : "output_width",
                "is required with the other encoder profiling keys (max_tokens_per_image, embeddings_per_image, "
                "output_width)");
      }
      s.vision_profile = EncoderProfile{*t, *e, *d, v->opt_bool("video", false)};
    }
    if (auto c = v->opt_object("image_processor")) s.image_processor = read_image_processor(*c);
    if (auto c = v->opt_object("llamacpp_clip")) {
      ClipTower& tower = s.vision_clip.emplace();
      tower.projector = c->str("projector");
      if (!llamacpp_clip_projector_known(tower.projector)) {
        c->fail("projector", "expected gemma3, gemma4v, internvl, kimik25, llama4, pixtral, qwen2.5vl_merger or qwen3vl_merger (the "
                             "projector types whose compute buffer is measured), got '" + tower.projector + "'");
      }
      // gemma3's rule is measured from 2,304 patches (672 px at 14 px); under it other stages peak.
      tower.patches = c->u64("patches", tower.projector == "gemma3" ? 2304 : 1, 1u << 20);
      tower.heads = c->u64("heads", 1, 1024);
      tower.width = c->u64("width", 1, 1u << 16);
      tower.ffn_width = c->u64("ffn_width", 1, 1u << 18);
      // The warmup image is in the buffer of every rule but gemma3's and internvl's: its patch size is required there.
      const auto patch = c->opt_u64("patch_size", 1, 1024);
      if (!patch && tower.projector != "gemma3" && tower.projector != "internvl") {
        c->fail("patch_size", "is required for projector " + tower.projector);
      }
      tower.patch_size = patch.value_or(0);
      tower.blocks = c->opt_u64("blocks", 2, 1024).value_or(0);
      if (c->has("deepstack_layers")) {
        if (tower.projector != "qwen3vl_merger" || tower.blocks == 0) {
          c->fail("deepstack_layers", "is for projector qwen3vl_merger, with blocks");
        }
        // Each DeepStack layer's output stays live until the graph's end, except the last two blocks'.
        const nlohmann::json& layers = c->array("deepstack_layers");
        for (std::size_t i = 0; i < layers.size(); ++i) {
          if (!layers[i].is_number_unsigned() || layers[i].get<std::uint64_t>() >= tower.blocks) {
            c->fail("deepstack_layers", "element " + std::to_string(i) + " is not a block index under blocks");
          }
          if (layers[i].get<std::uint64_t>() + 2 < tower.blocks) ++tower.deepstack_kept;
          if (layers[i].get<std::uint64_t>() + 1 < tower.blocks) ++tower.deepstack_before_last;
        }
      }
      const auto projection = c->opt_u64("projection_width", 1, 1u << 20);
      if (!projection && tower.projector == "pixtral") c->fail("projection_width", "is required for projector pixtral");
      tower.projection_width = projection.value_or(0);
      tower.qk_norm = c->opt_bool("qk_norm", false);
      if (tower.qk_norm && tower.projector != "internvl") c->fail("qk_norm", "is for projector internvl (InternViT-6B)");
      tower.source = c->str("source");
      c->finish();
    }
    v->finish();
  }

}

// The tokenizer and the published counts.
void read_tokenizer_and_counts(ObjectReader& r, ModelSpec& s) {
  if (auto t = r.opt_object("tokenizer")) {
    const std::string kind = t->str("kind");
    if (kind != "spm" && kind != "bpe") t->fail("kind", "expected spm or bpe, got '" + kind + "'");
    s.tokenizer_spm = kind == "spm";
    s.tokenizer_merges = t->opt_u64("merges", 1, max_dim).value_or(0);
    t->finish();
  }
  if (auto o = r.opt_object("official_params")) {
    OfficialParams p;
    p.total = o->u64("total", 1, 1ull << 50);
    p.active = o->opt_u64("active", 1, 1ull << 50).value_or(0);
    p.source = o->str("source");
    p.includes_vision = o->opt_bool("includes_vision", false);
    p.includes_mtp = o->opt_bool("includes_mtp", false);
    p.total_excludes_embeddings = o->opt_bool("total_excludes_embeddings", false);
    p.active_excludes_embedding = o->opt_bool("active_excludes_embedding", false);
    p.precision = o->opt_u64("precision", 1, 1ull << 40).value_or(0);
    o->finish();
    s.official = p;
  }
}

// What the expanded layers must agree with.
void check_layers(const ObjectReader& r, const ModelSpec& s) {
  bool recurrent_layer = false;
  for (const LayerSpec& l : s.layers) {
    recurrent_layer = recurrent_layer || (l.attention == AttentionKind::none && l.has_mixer);
  }
  if (s.recurrent && !recurrent_layer) {
    r.fail("recurrent", "is set but no layer is of kind none (give layer_pattern or layer_types)");
  }
  bool dense_layer = false;
  const bool beside = s.moe && s.moe->dense_mlp_beside;
  for (const LayerSpec& l : s.layers) dense_layer = dense_layer || (l.has_mlp && (!l.moe || beside));
  if (dense_layer && s.intermediate_size == 0) {
    r.fail("intermediate_size", "must be at least 1: some layers have a dense MLP");
  }
  if (s.moe) {
    bool any_moe = false;
    for (const LayerSpec& l : s.layers) any_moe = any_moe || l.moe;
    if (!any_moe) r.fail("moe", "no layer is a MoE layer with this first_dense_layers / layer_step / layer_offset");
  }
}

ModelSpec parse(std::string_view text, const std::string& origin, detail::Keys keys) {
  const json j = detail::parse_strict(text, origin, ErrorCode::invalid_model, keys);
  ObjectReader r(j, origin, "", ErrorCode::invalid_model);
  ModelSpec s;
  s.origin = origin;
  read_identity(r, s);
  read_checkpoints(r, s);
  read_block(r, s);
  read_attention(r, s);
  read_moe(r, s);
  read_recurrent(r, s);
  read_mtp_and_vision(r, s);
  const std::vector<LayerKind> pattern = read_layer_pattern(r, s, origin);
  read_tokenizer_and_counts(r, s);
  r.finish();

  apply_arch_layout(s); // the converter's fused tensors (Phi-3, Falcon, ...)
  expand_layers(s, pattern);
  check_layers(r, s);
  return s;
}

} // namespace

std::expected<ModelSpec, Error> parse_model_spec(std::string_view text, std::string_view origin) {
  try {
    return parse(text, std::string(origin), detail::Keys::check_duplicates);
  } catch (const LoadFailure& f) {
    return std::unexpected(f.error);
  }
}

std::expected<ModelSpec, Error> detail::parse_model_spec_embedded(std::string_view text, std::string_view origin) {
  try {
    return parse(text, std::string(origin), Keys::trusted);
  } catch (const LoadFailure& f) {
    return std::unexpected(f.error);
  }
}

} // namespace vramcalc::io
