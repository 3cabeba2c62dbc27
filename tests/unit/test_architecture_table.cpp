// The architecture table (architecture.hpp) as both importers read it: each row's config.json
// model types and its GGUF name, given the same model, give the same spec.
#include "../support/gguf_writer.hpp"
#include "vramcalc/architecture.hpp"
#include "vramcalc/io/gguf.hpp"
#include "vramcalc/io/hf_config.hpp"
#include "vramcalc/kv.hpp"
#include "vramcalc/tensors.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

using namespace vramcalc;
using namespace vramcalc::test;
using nlohmann::json;

namespace {

// One small model in both spellings: 8 layers of 256, 4 query heads of 64, 1 KV head, MLP 512,
// vocabulary 512, a 512-token window where the architecture has local layers.
constexpr std::uint64_t layers = 8, hidden = 256, heads = 4, head_dim = 64, ff = 512, vocab = 512;

std::vector<std::string> periodic_layer_types(std::uint64_t period) {
  std::vector<std::string> out;
  for (std::uint64_t i = 0; i < layers; ++i) out.push_back((i + 1) % period == 0 ? "full_attention" : "sliding_attention");
  return out;
}

std::string hf_config(const ArchitectureFacts& row, const char* model_type) {
  json c = {{"model_type", model_type}, {"hidden_size", hidden},       {"num_hidden_layers", layers},
            {"num_attention_heads", heads}, {"num_key_value_heads", 1}, {"head_dim", head_dim},
            {"intermediate_size", ff},  {"ffn_hidden_size", ff},        {"vocab_size", vocab},
            {"max_position_embeddings", 8192}, {"sliding_window", 512}, {"torch_dtype", "bfloat16"}};
  if (row.hf_layer_types_only) c["layer_types"] = periodic_layer_types(row.local_period);
  if (row.local_attention == LocalAttention::periodic_chunked) c["attention_chunk_size"] = row.gguf_chunk_tokens;
  if (row.mla) {
    c.update({{"q_lora_rank", 128}, {"kv_lora_rank", 64}, {"qk_nope_head_dim", 32}, {"qk_rope_head_dim", 16},
              {"v_head_dim", 32}, {"n_routed_experts", 4}});
  }
  if (row.mixers != Mixers::recurrent_only) {
    // 4 experts, 2 a token, one shared expert as wide as the others
    c.update({{"num_experts", 4}, {"num_experts_per_tok", 2}, {"shared_expert_intermediate_size", ff}});
  }
  if (row.recurrent == RecurrentKind::gated_deltanet) {
    c.update({{"linear_num_value_heads", 8}, {"linear_num_key_heads", 4}, {"linear_key_head_dim", 32},
              {"linear_value_head_dim", 32}, {"linear_conv_kernel_dim", 4}});
  }
  if (row.hf_keys == HfKeys::hunyuan) c["moe_topk"] = {2, 2, 2, 2, 2, 2, 2, 2}; // Hunyuan's own key, one per layer
  if (row.mixers == Mixers::listed) c["hybrid_override_pattern"] = "M*M-M*M-";
  if (row.recurrent == RecurrentKind::kda) {
    // Kimi-Linear's 1-based lists: layers 4 and 8 attend.
    c["linear_attn_config"] = {{"num_heads", 4},       {"head_dim", 32}, {"short_conv_kernel_size", 4},
                               {"full_attn_layers", {4, 8}}, {"kda_layers", {1, 2, 3, 5, 6, 7}}};
  }
  if (row.recurrent == RecurrentKind::mamba2) {
    c.update({{std::string(row.hf_ssm_keys.heads), 8}, {std::string(row.hf_ssm_keys.head_dim), 64},
              {std::string(row.hf_ssm_keys.state_size), 16}, {"conv_kernel", 4}});
  }
  return c.dump();
}

io::GgufFile gguf_file(const ArchitectureFacts& row) {
  GgufWriter w;
  const std::string a = std::string(row.gguf_arch) + ".";
  w.str("general.architecture", row.gguf_arch).u32(a + "block_count", layers).u32(a + "embedding_length", hidden);
  w.u32(a + "feed_forward_length", ff).u32(a + "attention.head_count", heads).u32(a + "vocab_size", vocab);
  // MLA in the current converters' keys: the cache row in key_length / value_length (kv_lora_rank
  // + rope, kv_lora_rank), the heads' sizes (nope + rope, v) in key_length_mla / value_length_mla.
  // (The older keys, without the _mla pair, make llama.cpp run the file without MLA: test_gguf.cpp.)
  w.u32(a + "attention.key_length", row.mla ? 80 : head_dim).u32(a + "attention.value_length", row.mla ? 64 : head_dim);
  if (row.mla) w.u32(a + "attention.key_length_mla", 48).u32(a + "attention.value_length_mla", 32);
  w.u32(a + "context_length", 8192).u32(a + "attention.sliding_window", 512);
  if (row.mixers == Mixers::one_attention_per_period) {
    w.arr_u32(a + "attention.head_count_kv", {0, 0, 0, 0, 1, 0, 0, 0}); // Jamba: layer 4 of 8 attends
  } else {
    w.u32(a + "attention.head_count_kv", 1);
  }
  if (row.mla) {
    w.u32(a + "attention.q_lora_rank", 128).u32(a + "attention.kv_lora_rank", 64).u32(a + "rope.dimension_count", 16);
  }
  if (row.mixers != Mixers::recurrent_only) {
    w.u32(a + "expert_count", 4).u32(a + "expert_used_count", 2).u32(a + "expert_shared_feed_forward_length", ff);
  }
  if (row.recurrent == RecurrentKind::mamba) {
    // The config.json defaults: expand 2, state 16, conv 4, dt rank ceil(256 / 16).
    w.u32(a + "ssm.conv_kernel", 4).u32(a + "ssm.inner_size", 512).u32(a + "ssm.state_size", 16).u32(a + "ssm.time_step_rank", 16);
  } else if (row.recurrent == RecurrentKind::mamba2) {
    w.u32(a + "ssm.conv_kernel", 4).u32(a + "ssm.inner_size", 512).u32(a + "ssm.state_size", 16).u32(a + "ssm.time_step_rank", 8);
  }
  auto f = io::parse_gguf(io::memory_source(w.bytes()), "x.gguf");
  REQUIRE(f);
  return *f;
}

std::string kinds(const ModelSpec& s) {
  std::string out;
  for (const LayerSpec& l : s.layers) out += std::string(attention_kind_name(l.attention)).substr(0, 1);
  return out;
}

void check_same(const ModelSpec& hf, const ModelSpec& gguf) {
  CHECK(hf.arch == gguf.arch);
  CHECK(count_params(hf).total == count_params(gguf).total);
  CHECK(kinds(hf) == kinds(gguf));
  CHECK(kv_cache(hf, Dtype::bf16, 8192, 1).total_bytes == kv_cache(gguf, Dtype::bf16, 8192, 1).total_bytes);
  CHECK(kv_cache(hf, Dtype::bf16, 1, 1).state_bytes_per_sequence == kv_cache(gguf, Dtype::bf16, 1, 1).state_bytes_per_sequence);
  CHECK(hf.tie_word_embeddings == gguf.tie_word_embeddings);
  CHECK(hf.norm == gguf.norm);
  CHECK(hf.norm_bias == gguf.norm_bias);
  CHECK(hf.norms_per_layer == gguf.norms_per_layer);
  CHECK(hf.mlp == gguf.mlp);
  CHECK(hf.separate_mlp == gguf.separate_mlp);
  CHECK(hf.fused_gate_up == gguf.fused_gate_up);
  const AttentionSpec &a = hf.attention, &b = gguf.attention;
  CHECK(a.qkv_bias == b.qkv_bias);
  CHECK(a.o_bias == b.o_bias);
  CHECK(a.qk_norm == b.qk_norm);
  CHECK(a.sinks == b.sinks);
  CHECK(a.fused_qkv == b.fused_qkv);
  if (kinds(gguf).find('s') != std::string::npos) CHECK(a.sliding_window == b.sliding_window);
  CHECK(a.chunk_size == b.chunk_size);
  CHECK(a.mla.has_value() == b.mla.has_value());
  REQUIRE(hf.moe.has_value() == gguf.moe.has_value());
  if (hf.moe) {
    CHECK(hf.moe->shared_experts == gguf.moe->shared_experts);
    CHECK(hf.moe->shared_expert_gate == gguf.moe->shared_expert_gate);
    CHECK(hf.moe->router_bias == gguf.moe->router_bias);
    CHECK(hf.moe->expert_bias == gguf.moe->expert_bias);
    CHECK(hf.moe->layer_step == gguf.moe->layer_step);
    CHECK(hf.moe->layer_offset == gguf.moe->layer_offset);
  }
  REQUIRE(hf.recurrent.has_value() == gguf.recurrent.has_value());
  if (hf.recurrent) {
    CHECK(hf.recurrent->kind == gguf.recurrent->kind);
    CHECK(hf.recurrent->dt_norms == gguf.recurrent->dt_norms);
  }
}

bool mentions(const std::vector<std::string>& warnings, std::string_view what) {
  return std::ranges::any_of(warnings, [&](const std::string& w) { return w.find(what) != std::string::npos; });
}

} // namespace

TEST_CASE("architecture table: each row's config.json and GGUF spellings import to the same spec", "[architecture]") {
  int compared = 0;
  for (const ArchitectureFacts& row : architecture_table()) {
    if (!row.gguf_rules || row.hf_model_types[0] == nullptr) continue;
    INFO(row.name);
    const io::GgufFile file = gguf_file(row);
    const auto gguf = io::gguf_to_spec(file);
    REQUIRE(gguf);
    CHECK_FALSE(mentions(gguf->warnings, "has no rules of its own"));
    for (const char* model_type : row.hf_model_types) {
      if (model_type == nullptr) continue;
      INFO(model_type);
      const auto hf = io::parse_hf_config(hf_config(row, model_type), "config.json", "m");
      REQUIRE(hf);
      CHECK_FALSE(mentions(hf->warnings, "is not one vramcalc knows"));
      check_same(hf->spec, gguf->spec);
      ++compared;
    }
  }
  // Llama, Qwen2, Qwen2-MoE, Qwen3, Qwen3-MoE, DeepSeek V2, Gemma, Gemma 2, Gemma 3 (2 model
  // types), Phi-3, gpt-oss, Falcon, Command R, Command R7B, Llama 4 (2), Mamba-2, Jamba
  CHECK(compared == 19);
}

TEST_CASE("architecture table: the rules a pattern follows", "[architecture]") {
  const auto spec = [](const ArchitectureFacts& row) { return io::gguf_to_spec(gguf_file(row))->spec; };
  // Gemma 3: 5 local : 1 global, the window given; Gemma 2 alternates; Llama 4 chunks 3 of 4
  // layers by 8,192 tokens; Jamba attends in layer 4 of 8; Mamba-2 never.
  CHECK(kinds(spec(*gguf_architecture("gemma3"))) == "sssssfss");
  CHECK(kinds(spec(*gguf_architecture("gemma2"))) == "sfsfsfsf");
  CHECK(kinds(spec(*gguf_architecture("llama4"))) == "cccfcccf");
  CHECK(spec(*gguf_architecture("llama4")).attention.chunk_size == 8192);
  CHECK(kinds(spec(*gguf_architecture("jamba"))) == "nnnnfnnn");
  CHECK(kinds(spec(*gguf_architecture("mamba2"))) == "nnnnnnnn");
  CHECK(kinds(spec(*gguf_architecture("llama"))) == "ffffffff");
}

TEST_CASE("architecture table: one list of the architectures each importer knows", "[architecture]") {
  for (const ArchitectureFacts& row : architecture_table()) {
    INFO(row.name);
    // Every model_type of the table is known to the config.json importer, as its GGUF name.
    for (const char* model_type : row.hf_model_types) {
      if (model_type == nullptr) continue;
      CHECK(hf_architecture(model_type) == &row);
      const auto hf = io::parse_hf_config(hf_config(row, model_type), "config.json", "m");
      REQUIRE(hf);
      CHECK(hf->spec.arch == row.gguf_arch);
      CHECK_FALSE(mentions(hf->warnings, "is not one vramcalc knows"));
    }
    // A GGUF name has rules when some row gives them; the layout facts come from any row.
    const ArchitectureFacts* rules = gguf_architecture(row.gguf_arch);
    CHECK((rules == &row) == row.gguf_rules);
    REQUIRE(architecture_layout(row.gguf_arch) != nullptr);
    CHECK(architecture_layout(row.gguf_arch)->fused_qkv == row.fused_qkv);
    const auto gguf = io::gguf_to_spec(gguf_file(row));
    REQUIRE(gguf);
    CHECK(mentions(gguf->warnings, "has no rules of its own") == (rules == nullptr));
  }
  CHECK(hf_architecture("starcoder2") == nullptr);
  CHECK(hf_architecture("") == nullptr);
  CHECK(gguf_architecture("qwen3next") == nullptr); // its config.json has rules; its GGUF files not yet
  CHECK(gguf_architecture("kimi-linear") == nullptr);
  CHECK(gguf_architecture("llama") == hf_architecture("llama"));
  CHECK(gguf_architecture("deepseek2") == hf_architecture("deepseek_v2"));
}

TEST_CASE("architecture table: the converter's fused tensors", "[architecture]") {
  ModelSpec s;
  s.arch = "gptneox";
  apply_arch_layout(s);
  CHECK(s.attention.fused_qkv);
  CHECK_FALSE(s.fused_gate_up);
  s.arch = "phi3";
  apply_arch_layout(s);
  CHECK(s.attention.fused_qkv);
  CHECK(s.fused_gate_up);
  s.mlp = MlpKind::plain; // only a gated MLP has a gate to fuse
  apply_arch_layout(s);
  CHECK_FALSE(s.fused_gate_up);
  s.arch = "llama";
  apply_arch_layout(s);
  CHECK_FALSE(s.attention.fused_qkv);
  s.arch = "no-such-arch";
  apply_arch_layout(s);
  CHECK_FALSE(s.attention.fused_qkv);
}

TEST_CASE("architecture table: the docs list every architecture the importers know", "[architecture]") {
  const auto read = [](const std::string& name) {
    std::ifstream in(std::string(VRAMCALC_TEST_DATA) + "/../../docs/" + name);
    REQUIRE(in);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  const std::string hf_doc = read("hf-import.md");
  const std::string gguf_doc = read("file-formats.md");
  const std::size_t rules = gguf_doc.find("Architectures with rules");
  REQUIRE(rules != std::string::npos);
  const std::string gguf_list = gguf_doc.substr(rules, gguf_doc.find("Others are", rules) - rules);
  const auto listed = [](const std::string& text, std::string_view name) {
    return std::regex_search(text, std::regex("[ |,(`\\n]" + std::string(name) + "[ ,.`|)\n]"));
  };
  for (const ArchitectureFacts& row : architecture_table()) {
    INFO(row.name);
    for (const char* model_type : row.hf_model_types) {
      if (model_type != nullptr) CHECK(listed(hf_doc, model_type));
    }
    // A GGUF name is listed when some row gives its rules (Mistral's and DeepSeek V3's are
    // Llama's and DeepSeek V2's).
    CHECK(listed(gguf_list, row.gguf_arch) == (gguf_architecture(row.gguf_arch) != nullptr));
  }
}
