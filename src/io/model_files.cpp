// Model files to a spec and a `file` weight format. Only headers are read; the bytes of
// the weights are the files' own. Name mapping: docs/file-formats.md.
#include "vramcalc/io/model_files.hpp"

#include "vramcalc/io/catalog.hpp"
#include "vramcalc/io/hf_config.hpp"
#include "vramcalc/tensors.hpp"
#include "vramcalc/units.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>

namespace vramcalc::io {

namespace {

namespace fs = std::filesystem;

bool consume(std::string_view& s, std::string_view prefix) {
  if (!s.starts_with(prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

// "12.rest" -> 12, s = "rest".
std::optional<std::uint64_t> consume_index(std::string_view& s) {
  std::size_t i = 0;
  std::uint64_t v = 0;
  while (i < s.size() && i < 9 && std::isdigit(static_cast<unsigned char>(s[i])) != 0) v = v * 10 + static_cast<std::uint64_t>(s[i++] - '0');
  if (i == 0 || i >= s.size() || s[i] != '.') return std::nullopt;
  s.remove_prefix(i + 1);
  return v;
}

// The parts of a quantized or plain linear layer stored beside (or below) its weight.
constexpr std::array<std::string_view, 30> companions{
    "weight", "bias", "qweight", "qzeros", "scales", "g_idx", "weight_scale", "weight_scale_inv", "input_scale",
    "weight_packed", "weight_shape", "weight_zero_point", "weight_global_scale", "input_global_scale", "SCB",
    "weight_format", "q_weight", "q_scale", "q_scale_max", "q_invperm", "q_perm", "q_groups", "q_group_map",
    "blocks", "scales_", "zeros", "absmax", "quant_map", "nested_absmax", "nested_quant_map"};

// "x.self_attn.q_proj.qweight" -> base "x.self_attn.q_proj", bias false.
std::pair<std::string_view, bool> split_companion(std::string_view name) {
  // bitsandbytes keeps its state under the weight: "...down_proj.weight.absmax",
  // "...weight.quant_state.bitsandbytes__nf4".
  if (const auto w = name.find(".weight."); w != std::string_view::npos) return {name.substr(0, w), false};
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos) return {name, false};
  const std::string_view last = name.substr(dot + 1);
  if (std::find(companions.begin(), companions.end(), last) != companions.end()) {
    return {name.substr(0, dot), last == "bias"};
  }
  // gpt-oss MXFP4 experts: "gate_up_proj_blocks", "gate_up_proj_scales", "gate_up_proj_bias".
  for (std::string_view suffix : {"_blocks", "_scales", "_bias"}) {
    if (last.ends_with(suffix)) {
      return {name.substr(0, name.size() - suffix.size()), suffix == "_bias"};
    }
  }
  return {name, false};
}

struct RoleName {
  std::string_view hf;
  std::string_view gguf;
};

// Per-layer modules (after "layers.N."), HF -> GGUF role. Longest names first where one is
// a prefix of another is not needed: matching is exact on the module path.
constexpr RoleName layer_roles[] = {
    {"input_layernorm", "attn_norm"},
    {"ln_1", "attn_norm"},
    {"attention_norm", "attn_norm"},
    {"pre_feedforward_layernorm", "ffn_norm"},
    {"post_feedforward_layernorm", "post_ffw_norm"},
    {"self_attn.q_proj", "attn_q"},
    {"self_attn.k_proj", "attn_k"},
    {"self_attn.v_proj", "attn_v"},
    {"self_attn.qkv_proj", "attn_qkv"},  // Phi-3: fused, as its GGUF keeps it
    {"self_attn.o_proj", "attn_output"},
    {"self_attn.dense", "attn_output"},
    {"self_attn.q_norm", "attn_q_norm"},
    {"self_attn.k_norm", "attn_k_norm"},
    {"self_attn.sinks", "attn_sinks"},
    {"self_attn.q_a_proj", "attn_q_a"},
    {"self_attn.q_a_layernorm", "attn_q_a_norm"},
    {"self_attn.q_b_proj", "attn_q_b"},
    {"self_attn.kv_a_proj_with_mqa", "attn_kv_a_mqa"},
    {"self_attn.kv_a_layernorm", "attn_kv_a_norm"},
    {"self_attn.kv_b_proj", "attn_kv_b"},
    {"mlp.gate_proj", "ffn_gate"},
    {"mlp.up_proj", "ffn_up"},
    {"mlp.gate_up_proj", "ffn_up"},      // Phi-3: gate and up in one ffn_up
    {"mlp.down_proj", "ffn_down"},
    {"mlp.fc1", "ffn_up"},
    {"mlp.fc2", "ffn_down"},
    {"feed_forward.w1", "ffn_gate"},
    {"feed_forward.w3", "ffn_up"},
    {"feed_forward.w2", "ffn_down"},
    {"mlp.gate", "ffn_gate_inp"},
    {"mlp.router", "ffn_gate_inp"},
    {"block_sparse_moe.gate", "ffn_gate_inp"},
    {"feed_forward.router", "ffn_gate_inp"},
    {"mlp.shared_expert.gate_proj", "ffn_gate_shexp"},
    {"mlp.shared_expert.up_proj", "ffn_up_shexp"},
    {"mlp.shared_expert.down_proj", "ffn_down_shexp"},
    {"mlp.shared_experts.gate_proj", "ffn_gate_shexp"},
    {"mlp.shared_experts.up_proj", "ffn_up_shexp"},
    {"mlp.shared_experts.down_proj", "ffn_down_shexp"},
    {"feed_forward.shared_expert.gate_proj", "ffn_gate_shexp"},
    {"feed_forward.shared_expert.up_proj", "ffn_up_shexp"},
    {"feed_forward.shared_expert.down_proj", "ffn_down_shexp"},
    {"mlp.shared_expert_gate", "ffn_gate_inp_shexp"},
    {"mlp.experts.gate_up_proj", "ffn_gate_exps"},
    {"mlp.experts.down_proj", "ffn_down_exps"},
    {"feed_forward.experts.gate_up_proj", "ffn_gate_exps"},
    {"feed_forward.experts.down_proj", "ffn_down_exps"},
    {"mixer.in_proj", "ssm_in"},
    {"mixer.conv1d", "ssm_conv1d"},
    {"mixer.x_proj", "ssm_x"},
    {"mixer.dt_proj", "ssm_dt"},
    {"mixer.dt_bias", "ssm_dt"},
    {"mixer.A_log", "ssm_a"},
    {"mixer.D", "ssm_d"},
    {"mixer.norm", "ssm_norm"},
    {"mixer.out_proj", "ssm_out"},
    {"mamba.in_proj", "ssm_in"},
    {"mamba.conv1d", "ssm_conv1d"},
    {"mamba.x_proj", "ssm_x"},
    {"mamba.dt_proj", "ssm_dt"},
    {"mamba.A_log", "ssm_a"},
    {"mamba.D", "ssm_d"},
    {"mamba.out_proj", "ssm_out"},
    {"linear_attn.in_proj_qkvz", "ssm_in"},
    {"linear_attn.in_proj_ba", "ssm_ba"},
    {"linear_attn.conv1d", "ssm_conv1d"},
    {"linear_attn.dt_bias", "ssm_dt"},
    {"linear_attn.A_log", "ssm_a"},
    {"linear_attn.norm", "ssm_norm"},
    {"linear_attn.out_proj", "ssm_out"},
    // Kimi Delta Attention (Kimi-Linear's self_attn on its kda_layers; q/k/v/o_proj as above)
    {"self_attn.q_conv1d", "ssm_conv1d_q"},
    {"self_attn.k_conv1d", "ssm_conv1d_k"},
    {"self_attn.v_conv1d", "ssm_conv1d_v"},
    {"self_attn.f_a_proj", "ssm_f_a"},
    {"self_attn.f_b_proj", "ssm_f_b"},
    {"self_attn.b_proj", "ssm_beta"},
    {"self_attn.g_a_proj", "ssm_g_a"},
    {"self_attn.g_b_proj", "ssm_g_b"},
    {"self_attn.A_log", "ssm_a"},
    {"self_attn.dt", "ssm_dt"}, // dt_bias: split_companion reads the "_bias" suffix (gpt-oss's)
    {"self_attn.o_norm", "ssm_norm"},
    {"block_sparse_moe.shared_experts.gate_proj", "ffn_gate_shexp"},
    {"block_sparse_moe.shared_experts.up_proj", "ffn_up_shexp"},
    {"block_sparse_moe.shared_experts.down_proj", "ffn_down_shexp"},
    {"block_sparse_moe.gate.e_score_correction", "ffn_gate_inp"}, // _bias: the router's bias
};

// Routed experts stored one by one: "<prefix>.E.<proj>".
constexpr RoleName expert_roles[] = {
    {"gate_proj", "ffn_gate_exps"}, {"up_proj", "ffn_up_exps"}, {"down_proj", "ffn_down_exps"},
    {"w1", "ffn_gate_exps"},        {"w3", "ffn_up_exps"},      {"w2", "ffn_down_exps"},
};

// safetensors dtype of the main data -> Dtype, for display.
Dtype safetensors_dtype(std::string_view t, Dtype fallback) {
  if (t == "BF16") return Dtype::bf16;
  if (t == "F16") return Dtype::f16;
  if (t == "F32") return Dtype::f32;
  if (t == "F64") return Dtype::f64;
  if (t == "F8_E4M3" || t == "F8_E4M3FN") return Dtype::f8_e4m3;
  if (t == "F8_E5M2") return Dtype::f8_e5m2;
  if (t == "I8" || t == "U8") return Dtype::i8;
  if (t == "I32" || t == "U32") return Dtype::i4; // packed int4 (GPTQ, AWQ, compressed-tensors)
  if (t == "F4") return Dtype::mxfp4;
  return fallback;
}

// A quantized weight's scales, zeros and indices: no elements of the weight itself.
bool is_quantization_side_tensor(std::string_view name) {
  return name.ends_with(".scales") || name.ends_with(".qzeros") || name.ends_with(".g_idx") || name.ends_with("_scale") ||
         name.ends_with("_scale_inv") || name.ends_with("absmax");
}

// A tensor of the vision tower or its projector, whatever the wrapper calls them
// (vision_tower., vision_model., visual. / model.visual., multi_modal_projector., mm_projector.,
// InternVL's mlp1. ...).
bool is_vision_tensor(std::string_view base) {
  return base.find("vision") != std::string_view::npos || base.starts_with("visual.") || base.starts_with("model.visual.") ||
         base.find("multi_modal_projector") != std::string_view::npos || base.find("mm_projector") != std::string_view::npos ||
         base.find("image_newline") != std::string_view::npos || base.starts_with("mlp1.");
}

// Builds the FileTensors of `mf` from its tensor list; counts model tensors the files lack.
// Each tensor's `mapped` holds the GGUF name it would have (empty: none); it is kept when a
// tensor of the model has that name (GGUF files: a tensor outside the vision tower), with
// the group of the first such tensor. The model's tensors are walked with one name buffer
// and looked up among the files' names, not put in a map of their own: a 4,096-layer model
// has 36,000 of them, and a header may hold none.
void finish(ModelFiles& mf, bool gguf, std::uint64_t file_bytes) {
  const std::vector<Tensor> model = model_tensors(mf.spec);
  {
    std::unordered_map<std::string_view, std::optional<TensorGroup>> wanted; // views of mf.tensors[].mapped
    for (const FileTensorInfo& t : mf.tensors) {
      if (!t.mapped.empty()) wanted.emplace(t.mapped, std::nullopt);
    }
    std::string name;
    for (const Tensor& t : model) {
      if (wanted.empty()) break;
      if (gguf && t.group() == TensorGroup::vision) continue;
      name.clear();
      t.append_gguf_name(name);
      if (const auto it = wanted.find(name); it != wanted.end() && !it->second) it->second = t.group();
    }
    std::vector<std::optional<TensorGroup>> group_of(mf.tensors.size());
    for (std::size_t i = 0; i < mf.tensors.size(); ++i) {
      if (!mf.tensors[i].mapped.empty()) group_of[i] = wanted.at(mf.tensors[i].mapped);
    }
    for (std::size_t i = 0; i < mf.tensors.size(); ++i) {
      if (group_of[i]) {
        mf.tensors[i].group = *group_of[i];
      } else {
        mf.tensors[i].mapped.clear();
      }
    }
  }
  auto ft = std::make_shared<FileTensors>();
  ft->origin = mf.files.empty() ? std::string() : mf.files.front();
  ft->gguf = gguf;
  ft->file_bytes = file_bytes;
  std::map<std::string, Dtype> main_type;
  for (FileTensorInfo& t : mf.tensors) {
    mf.tensor_bytes = checked_add(mf.tensor_bytes, t.bytes, "the tensor bytes");
    if (t.mapped.empty()) {
      ft->unmatched_bytes = checked_add(ft->unmatched_bytes, t.bytes, "the tensor bytes");
      ++ft->unmatched_count;
      continue;
    }
    FileTensors::Entry& e = ft->by_name[t.mapped];
    const Dtype d = gguf ? parse_dtype(t.type).value_or(mf.spec.dtype) : safetensors_dtype(t.type, mf.spec.dtype);
    // The type of the largest part is the tensor's type (qweight over its scales).
    if (e.bytes == 0 || t.bytes > e.bytes / 2) e.dtype = d;
    e.bytes = checked_add(e.bytes, t.bytes, "the tensor bytes");
    // Elements of the weight itself (not of its scales); packed ints hold several.
    if (!gguf && is_quantization_side_tensor(t.name)) continue;
    e.elements = checked_add(e.elements, t.elements, "the tensor elements");
  }
  // A shard's share (tensor parallel) is taken by element count; packed or block formats
  // store fewer elements than the model tensor has, so use the model's count there.
  std::string name;
  for (const Tensor& t : model) {
    name.clear();
    t.append_gguf_name(name);
    const auto it = ft->by_name.find(name);
    if (it != ft->by_name.end()) {
      it->second.elements = t.elements();
    } else if (!(gguf && t.group() == TensorGroup::vision)) {
      ++mf.missing_count;
    }
  }
  // A GGUF's MTP blocks (blk.L ... with nextn.* tensors) stay out of the weights (llama.cpp skips
  // them unless --spec-type draft-mtp loads them) and so among the unmatched tensors; they are
  // indexed by name too, so that draft-mtp finds their types and bytes.
  if (gguf && mf.spec.mtp_layers > 0) {
    std::set<std::string> mtp_names;
    for (const Tensor& t : model_tensors(mf.spec, true)) {
      if (t.mtp) mtp_names.insert(t.gguf_name());
    }
    for (const FileTensorInfo& t : mf.tensors) {
      if (!t.mapped.empty() || !mtp_names.contains(t.name) || ft->by_name.contains(t.name)) continue;
      FileTensors::Entry& e = ft->by_name[t.name];
      e.dtype = parse_dtype(t.type).value_or(mf.spec.dtype);
      e.bytes = t.bytes;
      e.elements = t.elements;
    }
  }
  if (ft->unmatched_count > 0) {
    mf.warnings.push_back(std::to_string(ft->unmatched_count) + " tensor(s) of the files (" +
                          std::to_string(ft->unmatched_bytes) +
                          " bytes) are not part of the model as vramcalc describes it; counted as \"other\" weights");
  }
  if (mf.missing_count > 0) {
    mf.warnings.push_back(std::to_string(mf.missing_count) +
                          " tensor(s) of the model are not in the files (fused with another, or absent); they "
                          "take no bytes of their own");
  }
  mf.format.id = "file";
  mf.format.kind = FormatKind::file;
  mf.format.dtype = mf.spec.dtype;
  mf.format.description = std::string("as stored in the ") + (gguf ? "GGUF" : "safetensors") + " file" +
                          (mf.files.size() == 1 ? "" : "s");
  if (gguf) {
    for (const auto& [k, v] : mf.facts) {
      if (k == "general.file_type") mf.format.description += " (" + v.substr(0, v.find(' ')) + ")";
    }
  } else if (mf.spec.weights_format) {
    mf.format.description += " (" + *mf.spec.weights_format + ")";
  }
  mf.format.file = std::move(ft);
}

// The vision tower as the files hold it: its tensors' elements are the spec's vision_params
// (one "vision" tensor, whose bytes are then the files' own), in place of what config.json's
// vision_config gave, so the tower is counted once; a difference is said.
void set_vision_from_files(ModelFiles& mf, const SafetensorsSet& set) {
  std::uint64_t elements = 0;
  for (const SafetensorsTensor& t : set.tensors) {
    if (is_vision_tensor(split_companion(t.name).first) && !is_quantization_side_tensor(t.name)) {
      elements = checked_add(elements, t.elements(), "the tensor elements");
    }
  }
  if (elements == 0) return;
  ModelSpec& s = mf.spec;
  if (s.vision_params != 0 && s.vision_params != elements) {
    mf.warnings.push_back("config.json's vision_config gives a vision tower of " + std::to_string(s.vision_params) +
                          " parameters, the files hold " + std::to_string(elements) + "; the files' count is used");
  }
  std::erase_if(mf.warnings, [](const std::string& w) { return w.starts_with("the vision tower (vision_config) is not counted"); });
  s.vision_params = elements;
  s.vision_source = "the vision tensors of the safetensors files, " + std::to_string(elements) + " parameters";
}

std::string file_name(const std::string& path) { return fs::path(path).filename().string(); }

bool ends_with_icase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (std::size_t i = 0; i < suffix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != suffix[i]) return false;
  }
  return true;
}

std::expected<ModelFiles, Error> open_safetensors(const std::string& path, const fs::path& dir) {
  const fs::path config = dir / "config.json";
  std::error_code ec;
  if (!fs::is_regular_file(config, ec)) {
    return std::unexpected(Error{ErrorCode::io, path + ": safetensors files hold no architecture; vramcalc reads it "
                                                      "from the config.json beside them, and there is none"});
  }
  auto text = read_text_file(config.string(), ErrorCode::invalid_model);
  if (!text) return std::unexpected(text.error());
  std::string id = dir.lexically_normal().filename().string();
  if (id.empty() || id == ".") id = fs::absolute(dir).lexically_normal().filename().string();
  for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (id.empty()) id = "model";
  auto imported = parse_hf_config(*text, config.string(), id);
  if (!imported) return std::unexpected(imported.error());
  if (auto e = add_hf_vision_profile(*imported, dir.string(), *text, config.string())) return std::unexpected(*e);
  auto set = path.ends_with(".json") ? read_safetensors_index(path) : read_safetensors_file(path);
  if (!set) return std::unexpected(set.error());
  std::vector<std::string> warnings = std::move(imported->warnings);
  for (const std::string& w : set->warnings) warnings.push_back(w);
  return model_files_from_safetensors(*set, std::move(imported->spec), std::move(warnings), path);
}

} // namespace

std::optional<std::string> hf_tensor_to_gguf(std::string_view name, const ModelSpec& spec) {
  auto [base, bias] = split_companion(name);
  const std::string suffix = bias ? ".bias" : ".weight";
  // The language model's prefix, whatever the wrapper.
  std::string_view s = base;
  if (is_vision_tensor(s)) {
    if (spec.vision_params == 0) return std::nullopt;
    return std::string(tensor_role_name(TensorRole::vision)) + ".weight";
  }
  for (std::string_view p : {"model.language_model.", "language_model.model.", "language_model.", "model.", "transformer.",
                             "backbone."}) {
    if (consume(s, p)) break;
  }
  if (s == "embed_tokens" || s == "wte" || s == "word_embeddings" || s == "embeddings" || s == "tok_embeddings") {
    return "token_embd.weight";
  }
  if (s == "lm_head" || s == "output" || s == "embed_out") return "output.weight";
  if (s == "norm" || s == "final_layernorm" || s == "ln_f" || s == "norm_f" || s == "final_layer_norm") {
    return "output_norm" + suffix;
  }
  if (!(consume(s, "layers.") || consume(s, "h.") || consume(s, "blocks."))) return std::nullopt;
  const auto layer = consume_index(s);
  if (!layer || *layer >= spec.num_layers) return std::nullopt; // MTP blocks and the like
  const std::string blk = "blk." + std::to_string(*layer) + ".";
  if (s == "post_attention_layernorm") {
    // Gemma 2/3 normalise after attention and before the MLP; elsewhere this is the pre-MLP norm.
    return blk + (spec.norms_per_layer == 4 ? "post_attention_norm" : "ffn_norm") + suffix;
  }
  for (const RoleName& r : layer_roles) {
    if (s == r.hf) return blk + std::string(r.gguf) + suffix;
  }
  // One expert at a time: "mlp.experts.7.down_proj", "block_sparse_moe.experts.7.w2".
  for (std::string_view p : {"mlp.experts.", "block_sparse_moe.experts.", "feed_forward.experts."}) {
    std::string_view rest = s;
    if (!consume(rest, p)) continue;
    if (!consume_index(rest)) return std::nullopt;
    for (const RoleName& r : expert_roles) {
      if (rest == r.hf) return blk + std::string(r.gguf) + suffix;
    }
  }
  return std::nullopt;
}

std::expected<ModelFiles, Error> model_files_from_gguf(std::span<const GgufFile> parts) {
  auto g = gguf_to_spec(parts);
  if (!g) return std::unexpected(g.error());
  ModelFiles mf;
  mf.kind = "gguf";
  mf.spec = std::move(g->spec);
  mf.warnings = std::move(g->warnings);
  std::uint64_t file_bytes = 0;
  for (const GgufFile& f : parts) {
    mf.files.push_back(f.origin);
    file_bytes = checked_add(file_bytes, f.file_size, "the file size");
  }
  const GgufFile& first = parts.front();
  mf.facts.emplace_back("GGUF version", std::to_string(first.version));
  mf.facts.emplace_back("alignment", std::to_string(first.alignment));
  mf.facts.emplace_back("data offset", std::to_string(first.data_offset));
  if (auto n = first.get_string("general.name")) mf.facts.emplace_back("general.name", *n);
  if (auto ft = first.get_uint("general.file_type")) {
    const GgufFtypeTraits* mix = gguf_ftype_by_llama_ftype(*ft);
    mf.facts.emplace_back("general.file_type",
                          mix != nullptr ? std::string(mix->name) + " (" + std::to_string(*ft) + ")" : std::to_string(*ft));
  }
  for (const GgufFile& f : parts) {
    for (const GgufTensorInfo& t : f.tensors) {
      FileTensorInfo info;
      info.name = t.name;
      info.type = std::string(ggml_type_name(t.ggml_type));
      info.elements = checked_mul(checked_mul(t.ne[0], t.ne[1]), checked_mul(t.ne[2], t.ne[3]), "a tensor's size");
      info.bytes = t.bytes;
      info.mapped = t.name; // kept by finish() when the model has a tensor of that name
      mf.tensors.push_back(std::move(info));
    }
  }
  finish(mf, true, file_bytes);
  return mf;
}

ModelFiles model_files_from_safetensors(const SafetensorsSet& set, ModelSpec spec, std::vector<std::string> warnings,
                                        std::string origin) {
  ModelFiles mf;
  mf.kind = "safetensors";
  mf.spec = std::move(spec);
  mf.warnings = std::move(warnings);
  mf.files = set.files.empty() ? std::vector<std::string>{origin} : set.files;
  mf.facts.emplace_back("shards", std::to_string(std::max<std::size_t>(1, set.files.size())));
  for (const auto& [k, v] : set.metadata) mf.facts.emplace_back("__metadata__." + k, v);
  set_vision_from_files(mf, set);
  for (const SafetensorsTensor& t : set.tensors) {
    FileTensorInfo info;
    info.name = t.name;
    info.type = t.dtype;
    info.elements = t.elements();
    info.bytes = t.bytes();
    if (auto g = hf_tensor_to_gguf(t.name, mf.spec)) info.mapped = std::move(*g); // kept by finish() as for GGUF
    mf.tensors.push_back(std::move(info));
  }
  finish(mf, false, set.file_bytes);
  return mf;
}

bool is_model_files_path(const std::string& path) {
  std::error_code ec;
  if (ends_with_icase(path, ".gguf") || ends_with_icase(path, ".safetensors") ||
      ends_with_icase(path, ".safetensors.index.json")) {
    return true;
  }
  if (!fs::is_directory(path, ec)) return false;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    const std::string n = e.path().filename().string();
    if (ends_with_icase(n, ".gguf") || ends_with_icase(n, ".safetensors")) return true;
  }
  return false;
}

std::expected<ModelFiles, Error> open_model_files(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    const fs::path dir(path);
    if (fs::is_regular_file(dir / "model.safetensors.index.json", ec)) {
      return open_safetensors((dir / "model.safetensors.index.json").string(), dir);
    }
    std::vector<std::string> st, gguf;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const std::string n = e.path().filename().string();
      if (ends_with_icase(n, ".safetensors")) st.push_back(e.path().string());
      if (ends_with_icase(n, ".gguf")) gguf.push_back(e.path().string());
    }
    std::sort(st.begin(), st.end());
    std::sort(gguf.begin(), gguf.end());
    if (st.size() == 1) return open_safetensors(st.front(), dir);
    if (st.size() > 1) {
      return std::unexpected(Error{ErrorCode::io, path + ": " + std::to_string(st.size()) +
                                                      " safetensors files but no model.safetensors.index.json"});
    }
    // GGUF: split parts of one model count once; an mmproj file is the vision tower.
    std::set<std::string> models;
    std::string pick;
    for (const std::string& g : gguf) {
      if (file_name(g).find("mmproj") != std::string::npos) continue;
      const auto split = parse_gguf_split_name(g);
      if (models.insert(split ? split->prefix : g).second) pick = g;
    }
    if (models.empty()) {
      return std::unexpected(Error{ErrorCode::io, path + ": no config.json with safetensors, and no GGUF file"});
    }
    if (models.size() > 1) {
      std::string list;
      for (const std::string& m : models) list += (list.empty() ? "" : ", ") + file_name(m);
      return std::unexpected(
          Error{ErrorCode::invalid_argument, path + ": holds " + std::to_string(models.size()) + " GGUF models (" + list +
                                                 "); name one of them"});
    }
    return open_model_files(pick);
  }
  if (!fs::exists(path, ec)) return std::unexpected(Error{ErrorCode::io, "cannot read '" + path + "': No such file or directory"});
  if (ends_with_icase(path, ".gguf")) {
    auto parts = read_gguf_split(path);
    if (!parts) return std::unexpected(parts.error());
    return model_files_from_gguf(*parts);
  }
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  return open_safetensors(path, dir);
}

} // namespace vramcalc::io
