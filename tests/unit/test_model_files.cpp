// Models given by their files: GGUF and safetensors headers to a spec and exact weight
// bytes (io/model_files.hpp); files written by tests/support; [shared] checks the shared
// llama.cpp fixtures against the real library's KV cache (tests/data/llamacpp/kv.csv).
#include "../support/gguf_writer.hpp"
#include "../support/safetensors_writer.hpp"
#include "../support/shared_dir.hpp"
#include "../support/skip.hpp"
#include "helpers.hpp"
#include "vramcalc/engine.hpp"
#include "vramcalc/estimate.hpp"
#include "vramcalc/io/hf_config.hpp"
#include "vramcalc/io/model_files.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

using namespace vramcalc;
using namespace vramcalc::test;

namespace {

GgufWriter tiny_llama(GgmlType type) {
  GgufWriter w;
  w.str("general.architecture", "llama").str("general.name", "Tiny").u32("general.file_type", 7);
  w.u32("llama.block_count", 2).u32("llama.context_length", 4096).u32("llama.embedding_length", 64);
  w.u32("llama.feed_forward_length", 128).u32("llama.attention.head_count", 4).u32("llama.attention.head_count_kv", 2);
  add_llama_tensors(w, 2, 64, 4, 2, 128, 128, type);
  return w;
}

io::ModelFiles gguf_files(const GgufWriter& w) {
  auto f = io::parse_gguf(io::memory_source(w.bytes()), "tiny.gguf");
  REQUIRE(f);
  const std::vector<io::GgufFile> parts{*f};
  auto mf = io::model_files_from_gguf(parts);
  REQUIRE(mf);
  return *mf;
}

const ModelSpec& llama8b() { return model("llama3.1-8b"); }

} // namespace

TEST_CASE("safetensors names map to the model's tensors") {
  const ModelSpec& m = llama8b();
  const auto map = [&](const char* n) { return io::hf_tensor_to_gguf(n, m).value_or("-"); };
  CHECK(map("model.embed_tokens.weight") == "token_embd.weight");
  CHECK(map("lm_head.weight") == "output.weight");
  CHECK(map("model.norm.weight") == "output_norm.weight");
  CHECK(map("model.layers.3.self_attn.q_proj.weight") == "blk.3.attn_q.weight");
  CHECK(map("model.layers.3.input_layernorm.weight") == "blk.3.attn_norm.weight");
  // Llama's post-attention norm is the norm before the MLP.
  CHECK(map("model.layers.3.post_attention_layernorm.weight") == "blk.3.ffn_norm.weight");
  // GPTQ / AWQ companions, FP8 scales, bitsandbytes state: all belong to their weight.
  CHECK(map("model.layers.0.mlp.down_proj.qweight") == "blk.0.ffn_down.weight");
  CHECK(map("model.layers.0.mlp.down_proj.scales") == "blk.0.ffn_down.weight");
  CHECK(map("model.layers.0.mlp.down_proj.qzeros") == "blk.0.ffn_down.weight");
  CHECK(map("model.layers.0.mlp.down_proj.g_idx") == "blk.0.ffn_down.weight");
  CHECK(map("model.layers.0.mlp.down_proj.weight_scale") == "blk.0.ffn_down.weight");
  CHECK(map("model.layers.0.mlp.down_proj.weight.absmax") == "blk.0.ffn_down.weight");
  CHECK(map("model.layers.0.mlp.down_proj.weight.quant_state.bitsandbytes__nf4") == "blk.0.ffn_down.weight");
  CHECK(map("model.layers.0.self_attn.q_proj.bias") == "blk.0.attn_q.bias");
  // Layers past the model's (MTP blocks) and unknown modules are not the model's.
  CHECK(map("model.layers.32.self_attn.q_proj.weight") == "-");
  CHECK(map("model.layers.3.self_attn.rotary_emb.inv_freq") == "-");

  const ModelSpec& gemma = model("gemma-3-27b");
  CHECK(io::hf_tensor_to_gguf("language_model.model.layers.1.post_attention_layernorm.weight", gemma) ==
        "blk.1.post_attention_norm.weight");
  CHECK(io::hf_tensor_to_gguf("language_model.model.layers.1.pre_feedforward_layernorm.weight", gemma) ==
        "blk.1.ffn_norm.weight");
  CHECK(io::hf_tensor_to_gguf("vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight", gemma) == "vision.weight");

  const ModelSpec& mixtral = model("mixtral-8x7b");
  CHECK(io::hf_tensor_to_gguf("model.layers.5.block_sparse_moe.experts.7.w2.weight", mixtral) ==
        "blk.5.ffn_down_exps.weight");
  CHECK(io::hf_tensor_to_gguf("model.layers.5.block_sparse_moe.gate.weight", mixtral) == "blk.5.ffn_gate_inp.weight");
  const ModelSpec& v3 = model("deepseek-v3");
  CHECK(io::hf_tensor_to_gguf("model.layers.9.self_attn.kv_a_proj_with_mqa.weight_scale_inv", v3) ==
        "blk.9.attn_kv_a_mqa.weight");
  CHECK(io::hf_tensor_to_gguf("model.layers.9.mlp.shared_experts.down_proj.weight", v3) == "blk.9.ffn_down_shexp.weight");
  CHECK(io::hf_tensor_to_gguf("model.layers.61.eh_proj.weight", v3) == std::nullopt); // MTP
  // Kimi-Linear's checkpoint names (its tensor listing), as llama.cpp's kimi-linear names them.
  const ModelSpec& kimi = model("kimi-linear-48b-a3b");
  const auto k = [&](const std::string& n) { return io::hf_tensor_to_gguf("model.layers.0.self_attn." + n, kimi).value_or("-"); };
  CHECK(k("q_proj.weight") == "blk.0.attn_q.weight");
  CHECK(k("q_conv1d.weight") == "blk.0.ssm_conv1d_q.weight");
  CHECK(k("v_conv1d.weight") == "blk.0.ssm_conv1d_v.weight");
  CHECK(k("f_a_proj.weight") == "blk.0.ssm_f_a.weight");
  CHECK(k("f_b_proj.weight") == "blk.0.ssm_f_b.weight");
  CHECK(k("dt_bias") == "blk.0.ssm_dt.bias");
  CHECK(k("b_proj.weight") == "blk.0.ssm_beta.weight");
  CHECK(k("A_log") == "blk.0.ssm_a.weight");
  CHECK(k("g_b_proj.weight") == "blk.0.ssm_g_b.weight");
  CHECK(k("o_norm.weight") == "blk.0.ssm_norm.weight");
  CHECK(k("o_proj.weight") == "blk.0.attn_output.weight");
  CHECK(io::hf_tensor_to_gguf("model.layers.1.block_sparse_moe.shared_experts.up_proj.weight", kimi) ==
        "blk.1.ffn_up_shexp.weight");
  CHECK(io::hf_tensor_to_gguf("model.layers.1.block_sparse_moe.experts.255.w1.weight", kimi) ==
        "blk.1.ffn_gate_exps.weight");
}

TEST_CASE("a GGUF file's weights are its tensor bytes, tensor by tensor") {
  GgufWriter w = tiny_llama(g_q8_0);
  const io::ModelFiles mf = gguf_files(w);
  // q8_0: 34 bytes per 32. Embedding and head 64 x 128 = 8,192 elements each -> 8,704 bytes;
  // per layer q 64x64, k, v 64x32, o 64x64, gate/up/down 64x128: 36,864 elements -> 39,168;
  // norms f32: (2 x 2 + 1) x 64 x 4 = 1,280.  2 x 8,704 + 2 x 39,168 + 1,280 = 97,024.
  CHECK(mf.tensor_bytes == 97'024);
  CHECK(mf.format.kind == FormatKind::file);
  CHECK(mf.missing_count == 0);
  const WeightBytes wb = weight_bytes(mf.spec, mf.format);
  CHECK(wb.total == 97'024);
  // Estimates and llama.cpp's buffers use those bytes.
  Settings s;
  s.weights = mf.format;
  s.context_tokens = 4096;
  auto r = estimate(mf.spec, s, {});
  REQUIRE(r);
  CHECK(r->memory.weights_bytes == 97'024);
  LlamaCppOptions o;
  o.cuda = false;
  const LlamaCppResult l = llamacpp_plan(mf.spec, mf.format, 4096, 1, {}, 0, o);
  CHECK(l.host.model_bytes == 97'024); // every tensor is a multiple of 32 bytes here
}

TEST_CASE("a GGUF tensor the model does not list is still weights (\"other\")") {
  GgufWriter w = tiny_llama(g_f16);
  w.tensor("rope_freqs.weight", g_f32, {8}); // 32 bytes vramcalc's tensor list lacks
  const io::ModelFiles mf = gguf_files(w);
  const WeightBytes wb = weight_bytes(mf.spec, mf.format);
  CHECK(wb.total == mf.tensor_bytes);
  CHECK(wb.groups.back().group == TensorGroup::other);
  CHECK(wb.groups.back().bytes == 32);
  REQUIRE_FALSE(mf.warnings.empty());
}

TEST_CASE("a safetensors directory: config.json for the architecture, headers for the bytes") {
  TempDir dir;
  dir.write("config.json", R"({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 64,
    "num_hidden_layers": 1, "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 2,
    "vocab_size": 128, "max_position_embeddings": 4096, "torch_dtype": "bfloat16", "tie_word_embeddings": false,
    "rms_norm_eps": 1e-5})");
  // GPTQ 4-bit, group 32: per linear layer qweight I32 (K/8, N), scales F16 (K/32, N), qzeros I32 (K/32, N/8).
  SafetensorsWriter st;
  st.tensor("model.embed_tokens.weight", "BF16", {128, 64}, 16);
  st.tensor("model.layers.0.input_layernorm.weight", "BF16", {64}, 16);
  st.tensor("model.layers.0.post_attention_layernorm.weight", "BF16", {64}, 16);
  const auto gptq = [&](const std::string& n, std::uint64_t k, std::uint64_t out) {
    st.tensor(n + ".qweight", "I32", {k / 8, out}, 32);
    st.tensor(n + ".scales", "F16", {k / 32, out}, 16);
    st.tensor(n + ".qzeros", "I32", {k / 32, out / 8}, 32);
  };
  gptq("model.layers.0.self_attn.q_proj", 64, 64);
  gptq("model.layers.0.self_attn.k_proj", 64, 32);
  gptq("model.layers.0.self_attn.v_proj", 64, 32);
  gptq("model.layers.0.self_attn.o_proj", 64, 64);
  gptq("model.layers.0.mlp.gate_proj", 64, 128);
  gptq("model.layers.0.mlp.up_proj", 64, 128);
  gptq("model.layers.0.mlp.down_proj", 128, 64);
  st.tensor("model.norm.weight", "BF16", {64}, 16);
  st.tensor("lm_head.weight", "BF16", {128, 64}, 16);
  st.tensor("model.layers.0.self_attn.rotary_emb.inv_freq", "F32", {8}, 32); // not the model's
  dir.write("model.safetensors", st.bytes());

  auto mf = io::open_model_files(dir.file(""));
  REQUIRE(mf);
  CHECK(mf->kind == "safetensors");
  CHECK(mf->tensor_bytes == st.data_bytes());
  const WeightBytes wb = weight_bytes(mf->spec, mf->format);
  CHECK(wb.total == st.data_bytes());
  // q_proj: qweight 8 x 64 x 4 = 2,048 + scales 2 x 64 x 2 = 256 + qzeros 2 x 8 x 4 = 64.
  const auto& q = mf->format.file->by_name.at("blk.0.attn_q.weight");
  CHECK(q.bytes == 2'048 + 256 + 64);
  CHECK(q.dtype == Dtype::i4);
  CHECK(mf->format.file->unmatched_count == 1);
  CHECK(mf->format.file->unmatched_bytes == 32);
  // Tensor parallel over 2: each GPU holds half of every sharded matrix.
  Settings s;
  s.weights = mf->format;
  s.context_tokens = 4096;
  GpuSpec g;
  g.id = "g";
  g.memory_bytes = 1ull << 34;
  s.gpus.push_back({g, 2});
  auto r = estimate(mf->spec, s, {});
  REQUIRE(r);
  CHECK(r->memory.weights_bytes == st.data_bytes());
}

TEST_CASE("a Kimi-Linear safetensors directory: every tensor the model's, A_log and dt_bias in F32") {
  // Two layers of 64: layer 1 (1-based) KDA with 4 heads of 16, conv 4, and a dense MLP; layer 2
  // MLA with a 4-expert MoE and a shared expert. Names, shapes and dtypes as the 48B's checkpoint
  // lists its own.
  TempDir dir;
  dir.write("config.json", R"({"model_type": "kimi_linear", "architectures": ["KimiLinearForCausalLM"], "dtype": "bfloat16",
    "hidden_size": 64, "num_hidden_layers": 2, "intermediate_size": 128, "num_attention_heads": 4,
    "num_key_value_heads": 4, "vocab_size": 128, "model_max_length": 4096, "tie_word_embeddings": false,
    "q_lora_rank": null, "kv_lora_rank": 16, "qk_nope_head_dim": 8, "qk_rope_head_dim": 4, "v_head_dim": 8,
    "num_experts": 4, "num_experts_per_token": 2, "num_shared_experts": 1, "moe_intermediate_size": 32,
    "first_k_dense_replace": 1, "moe_layer_freq": 1,
    "linear_attn_config": {"num_heads": 4, "head_dim": 16, "short_conv_kernel_size": 4,
                           "full_attn_layers": [2], "kda_layers": [1]}})");
  SafetensorsWriter st;
  st.tensor("model.embed_tokens.weight", "BF16", {128, 64}, 16);
  for (int l = 0; l < 2; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    st.tensor(p + "input_layernorm.weight", "BF16", {64}, 16);
    st.tensor(p + "post_attention_layernorm.weight", "BF16", {64}, 16);
  }
  const std::string a = "model.layers.0.self_attn.";
  st.tensor(a + "A_log", "F32", {1, 1, 4, 1}, 32);
  st.tensor(a + "b_proj.weight", "BF16", {4, 64}, 16);
  st.tensor(a + "dt_bias", "F32", {64}, 32);
  st.tensor(a + "f_a_proj.weight", "BF16", {16, 64}, 16);
  st.tensor(a + "f_b_proj.weight", "BF16", {64, 16}, 16);
  st.tensor(a + "g_a_proj.weight", "BF16", {16, 64}, 16);
  st.tensor(a + "g_b_proj.weight", "BF16", {64, 16}, 16);
  for (const char* x : {"q", "k", "v"}) {
    st.tensor(a + x + "_conv1d.weight", "BF16", {64, 1, 4}, 16);
    st.tensor(a + x + "_proj.weight", "BF16", {64, 64}, 16);
  }
  st.tensor(a + "o_norm.weight", "BF16", {16}, 16);
  st.tensor(a + "o_proj.weight", "BF16", {64, 64}, 16);
  st.tensor("model.layers.0.mlp.gate_proj.weight", "BF16", {128, 64}, 16);
  st.tensor("model.layers.0.mlp.up_proj.weight", "BF16", {128, 64}, 16);
  st.tensor("model.layers.0.mlp.down_proj.weight", "BF16", {64, 128}, 16);
  const std::string m = "model.layers.1.self_attn.";
  st.tensor(m + "q_proj.weight", "BF16", {48, 64}, 16); // 4 heads x (8 + 4)
  st.tensor(m + "kv_a_proj_with_mqa.weight", "BF16", {20, 64}, 16);
  st.tensor(m + "kv_a_layernorm.weight", "BF16", {16}, 16);
  st.tensor(m + "kv_b_proj.weight", "BF16", {64, 16}, 16); // 4 heads x (8 + 8)
  st.tensor(m + "o_proj.weight", "BF16", {64, 32}, 16);
  const std::string e = "model.layers.1.block_sparse_moe.";
  st.tensor(e + "gate.weight", "BF16", {4, 64}, 16);
  st.tensor(e + "gate.e_score_correction_bias", "BF16", {4}, 16);
  for (int x = 0; x < 4; ++x) {
    const std::string ex = e + "experts." + std::to_string(x) + ".";
    st.tensor(ex + "w1.weight", "BF16", {32, 64}, 16);
    st.tensor(ex + "w2.weight", "BF16", {64, 32}, 16);
    st.tensor(ex + "w3.weight", "BF16", {32, 64}, 16);
  }
  st.tensor(e + "shared_experts.gate_proj.weight", "BF16", {32, 64}, 16);
  st.tensor(e + "shared_experts.up_proj.weight", "BF16", {32, 64}, 16);
  st.tensor(e + "shared_experts.down_proj.weight", "BF16", {64, 32}, 16);
  st.tensor("model.norm.weight", "BF16", {64}, 16);
  st.tensor("lm_head.weight", "BF16", {128, 64}, 16);
  dir.write("model.safetensors", st.bytes());

  auto mf = io::open_model_files(dir.file(""));
  REQUIRE(mf);
  CHECK(mf->format.file->unmatched_count == 0);
  CHECK(mf->missing_count == 0);
  CHECK(mf->tensor_bytes == st.data_bytes());
  // The spec alone says the same bytes: A_log (4) and dt_bias (64) in float32, the rest bf16.
  CHECK(weight_bytes(mf->spec, mf->format).total == st.data_bytes());
  CHECK(weight_bytes(mf->spec, parse_weight_format("bf16", Dtype::bf16).value()).total == st.data_bytes());
  CHECK(mf->format.file->by_name.at("blk.0.ssm_a.weight").dtype == Dtype::f32);
}

namespace {

// A two-layer-wide Qwen2.5-VL in miniature, its tensors named as the checkpoint names them
// (visual.*, model.layers.*): the language model 1 x 16 (2 heads of 8, 1 KV head, MLP 32,
// vocabulary 64), the tower 1 block x 8 (MLP 12, 2 px patches over 2 frames, merge 2) into 16.
std::string tiny_qwen25vl_config() {
  return R"({"model_type": "qwen2_5_vl", "torch_dtype": "bfloat16", "hidden_size": 16, "num_hidden_layers": 1,
    "num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": 32, "vocab_size": 64,
    "max_position_embeddings": 128, "tie_word_embeddings": false,
    "vision_config": {"depth": 1, "hidden_size": 8, "intermediate_size": 12, "out_hidden_size": 16, "patch_size": 2,
      "temporal_patch_size": 2, "spatial_merge_size": 2, "in_channels": 3}})";
}

SafetensorsWriter tiny_qwen25vl_tensors() {
  SafetensorsWriter st;
  st.tensor("model.embed_tokens.weight", "BF16", {64, 16}, 16);
  const std::string l = "model.layers.0.";
  st.tensor(l + "input_layernorm.weight", "BF16", {16}, 16);
  st.tensor(l + "post_attention_layernorm.weight", "BF16", {16}, 16);
  st.tensor(l + "self_attn.q_proj.weight", "BF16", {16, 16}, 16);
  st.tensor(l + "self_attn.q_proj.bias", "BF16", {16}, 16);
  st.tensor(l + "self_attn.k_proj.weight", "BF16", {8, 16}, 16);
  st.tensor(l + "self_attn.k_proj.bias", "BF16", {8}, 16);
  st.tensor(l + "self_attn.v_proj.weight", "BF16", {8, 16}, 16);
  st.tensor(l + "self_attn.v_proj.bias", "BF16", {8}, 16);
  st.tensor(l + "self_attn.o_proj.weight", "BF16", {16, 16}, 16);
  st.tensor(l + "mlp.gate_proj.weight", "BF16", {32, 16}, 16);
  st.tensor(l + "mlp.up_proj.weight", "BF16", {32, 16}, 16);
  st.tensor(l + "mlp.down_proj.weight", "BF16", {16, 32}, 16);
  st.tensor("model.norm.weight", "BF16", {16}, 16);
  st.tensor("lm_head.weight", "BF16", {64, 16}, 16);
  st.tensor("visual.patch_embed.proj.weight", "BF16", {8, 3, 2, 2, 2}, 16);
  const std::string b = "visual.blocks.0.";
  st.tensor(b + "norm1.weight", "BF16", {8}, 16);
  st.tensor(b + "norm2.weight", "BF16", {8}, 16);
  st.tensor(b + "attn.qkv.weight", "BF16", {24, 8}, 16);
  st.tensor(b + "attn.qkv.bias", "BF16", {24}, 16);
  st.tensor(b + "attn.proj.weight", "BF16", {8, 8}, 16);
  st.tensor(b + "attn.proj.bias", "BF16", {8}, 16);
  for (const char* x : {"gate_proj", "up_proj"}) {
    st.tensor(b + "mlp." + x + ".weight", "BF16", {12, 8}, 16);
    st.tensor(b + "mlp." + x + ".bias", "BF16", {12}, 16);
  }
  st.tensor(b + "mlp.down_proj.weight", "BF16", {8, 12}, 16);
  st.tensor(b + "mlp.down_proj.bias", "BF16", {8}, 16);
  st.tensor("visual.merger.ln_q.weight", "BF16", {8}, 16);
  st.tensor("visual.merger.mlp.0.weight", "BF16", {32, 32}, 16);
  st.tensor("visual.merger.mlp.0.bias", "BF16", {32}, 16);
  st.tensor("visual.merger.mlp.2.weight", "BF16", {16, 32}, 16);
  st.tensor("visual.merger.mlp.2.bias", "BF16", {16}, 16);
  return st;
}

} // namespace

TEST_CASE("a vision model's safetensors: the tower's tensors are its vision weights, counted once", "[hf][vision-tower]") {
  // The tower by the Qwen2.5-VL formula: patch conv 3 x 2 x 2^2 x 8 = 192; the block: RMSNorms 16,
  // qkv 24 x 8 + 24 = 216, proj 72, gate and up 2 x (96 + 12) = 216, down 96 + 8 = 104: 624;
  // merger RMSNorm 8, 32 x 32 + 32 = 1,056, 16 x 32 + 16 = 528: 1,592. 192 + 624 + 1,592 = 2,408.
  auto config = io::parse_hf_config(tiny_qwen25vl_config(), "c.json", "tiny");
  REQUIRE(config);
  CHECK(config->spec.vision_params == 2'408);
  TempDir dir;
  dir.write("config.json", tiny_qwen25vl_config());
  SafetensorsWriter st = tiny_qwen25vl_tensors();
  dir.write("model.safetensors", st.bytes());
  auto mf = io::open_model_files(dir.file(""));
  REQUIRE(mf);
  CHECK(mf->warnings.empty());
  CHECK(mf->format.file->unmatched_count == 0);
  CHECK(mf->missing_count == 0);
  CHECK(mf->spec.vision_params == 2'408);
  // The files' 2,408 tower values in bf16 are the one "vision" tensor: 4,816 bytes.
  CHECK(mf->format.file->by_name.at("vision.weight").bytes == 2'408 * 2);
  // Every byte once: the weights are the files' bytes, the tower not added again.
  CHECK(weight_bytes(mf->spec, mf->format).total == st.data_bytes());
  CHECK(count_params(mf->spec).vision == 2'408);

  // A tensor of the tower the formula does not know (a 4-value extra): the files' count wins.
  TempDir other;
  other.write("config.json", tiny_qwen25vl_config());
  SafetensorsWriter more = tiny_qwen25vl_tensors();
  more.tensor("visual.extra.weight", "BF16", {4}, 16);
  other.write("model.safetensors", more.bytes());
  auto mf2 = io::open_model_files(other.file(""));
  REQUIRE(mf2);
  CHECK(mf2->spec.vision_params == 2'412);
  CHECK(weight_bytes(mf2->spec, mf2->format).total == more.data_bytes());
  CHECK(mf2->warnings == std::vector<std::string>{"config.json's vision_config gives a vision tower of 2408 parameters, the "
                                                   "files hold 2412; the files' count is used"});
}

TEST_CASE("a safetensors file without config.json is refused with the reason") {
  TempDir dir;
  SafetensorsWriter st;
  st.tensor("a", "F16", {4}, 16);
  const std::string p = dir.write("model.safetensors", st.bytes());
  auto mf = io::open_model_files(p);
  REQUIRE_FALSE(mf);
  CHECK(mf.error().message.find("config.json") != std::string::npos);
}

TEST_CASE("GGUF fixtures: weights and llama.cpp's KV cache from the files themselves", "[shared]") {
  const std::string dir = shared_dir() + "/fixtures/gguf";
  if (!std::filesystem::is_directory(dir)) {
    VRAMCALC_SKIP("no shared fixtures at " << dir << " (set VRAMCALC_SHARED_DIR)");
  }
  std::map<std::string, io::ModelFiles> files;
  for (const char* name : {"tiny-llama-f16", "llama-2-tiny-random", "tiny-gemma3-swa-f16"}) {
    auto mf = io::open_model_files(dir + "/" + name + ".gguf");
    REQUIRE(mf);
    CHECK(weight_bytes(mf->spec, mf->format).total == mf->tensor_bytes);
    files.emplace(name, std::move(*mf));
  }
  // Every measured run of these three files (tests/data/llamacpp/README.md).
  std::ifstream in(std::string(VRAMCALC_TEST_DATA) + "/llamacpp/kv.csv");
  REQUIRE(in.good());
  std::string line;
  std::getline(in, line);
  std::size_t checked = 0;
  while (std::getline(in, line)) {
    std::vector<std::string> c;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) c.push_back(cell);
    const auto it = files.find(c[0]);
    if (it == files.end()) continue;
    INFO(line);
    LlamaCppOptions o;
    o.cuda = false;
    o.type_k = parse_dtype(c[3]);
    o.type_v = parse_dtype(c[4]);
    o.flash_attn = c[5] == "1" ? FlashAttn::on : FlashAttn::off;
    o.kv_unified = c[6] == "1";
    o.swa_full = c[7] == "1";
    o.n_batch = static_cast<std::uint32_t>(std::stoul(c[8]));
    o.n_ubatch = static_cast<std::uint32_t>(std::stoul(c[9]));
    const LlamaCppResult r = llamacpp_plan(it->second.spec, it->second.format, std::stoull(c[1]), std::stoull(c[2]), {}, 0, o);
    if (c[10] == "ok") {
      CHECK(r.error == "");
      CHECK(r.kv_bytes == std::stoull(c[13]));
    } else {
      CHECK(r.error != "");
      CHECK(r.aborts == (c[10] == "abort"));
    }
    ++checked;
  }
  CHECK(checked == 920 + 840 + 1760);
}

TEST_CASE("a Phi-3 GGUF: fused attn_qkv and ffn_up are the model's own tensors") {
  // convert_hf_to_gguf keeps Phi-3's qkv_proj and gate_up_proj: per layer one attn_qkv of
  // q + k + v = 64 + 32 + 32 rows and one ffn_up of 2 x 128 rows.
  GgufWriter w;
  w.str("general.architecture", "phi3").u32("general.file_type", 7);
  w.u32("phi3.block_count", 2).u32("phi3.context_length", 4096).u32("phi3.embedding_length", 64);
  w.u32("phi3.feed_forward_length", 128).u32("phi3.attention.head_count", 4).u32("phi3.attention.head_count_kv", 2);
  w.u32("phi3.rope.dimension_count", 16);
  w.tensor("token_embd.weight", g_q8_0, {64, 128});
  for (int i = 0; i < 2; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    w.tensor(p + "attn_norm.weight", g_f32, {64});
    w.tensor(p + "attn_qkv.weight", g_q8_0, {64, 128});
    w.tensor(p + "attn_output.weight", g_q8_0, {64, 64});
    w.tensor(p + "ffn_norm.weight", g_f32, {64});
    w.tensor(p + "ffn_up.weight", g_q8_0, {64, 256});
    w.tensor(p + "ffn_down.weight", g_q8_0, {128, 64});
  }
  w.tensor("output_norm.weight", g_f32, {64});
  w.tensor("output.weight", g_q8_0, {64, 128});
  const io::ModelFiles mf = gguf_files(w);
  CHECK(mf.spec.attention.fused_qkv);
  CHECK(mf.spec.fused_gate_up);
  CHECK(mf.missing_count == 0);
  // q8_0 34 bytes per 32: embedding and head 8,192 elements -> 8,704 bytes each; per layer
  // qkv 8,192 + o 4,096 + up 16,384 + down 8,192 = 36,864 elements -> 39,168; norms
  // (2 x 2 + 1) x 64 x 4 = 1,280. 2 x 8,704 + 2 x 39,168 + 1,280 = 97,024, none unmatched.
  CHECK(mf.tensor_bytes == 97'024);
  CHECK(weight_bytes(mf.spec, mf.format).groups.back().group != TensorGroup::other);
  LlamaCppOptions o;
  o.cuda = false;
  const LlamaCppResult l = llamacpp_plan(mf.spec, mf.format, 4096, 1, {}, 0, o);
  CHECK(l.host.model_bytes == 97'024);
}

TEST_CASE("a GGUF tensor in ggml's MXFP4 (type 39) takes 17 bytes per 32") {
  GgufWriter w = tiny_llama(g_q8_0);
  w.tensor("blk.0.extra.weight", g_mxfp4, {64, 10}); // 2 blocks of 32 per row x 10 rows x 17 bytes
  const io::ModelFiles mf = gguf_files(w);
  CHECK(mf.tensor_bytes == 97'024 + 2 * 10 * 17);
}
