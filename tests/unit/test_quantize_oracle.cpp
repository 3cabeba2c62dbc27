// llama.cpp's own quantizer as the oracle for the GGUF mixes: each shared fixture is
// quantized by the real llama_model_quantize to every mix, and vramcalc's prediction of
// each tensor's type and bytes must equal the file llama.cpp wrote. Runs only when
// VRAMCALC_ORACLE_RUN names the oracle's run.sh (tests/oracle/llamacpp-quantize.sh sets it up).
#include "../support/gguf_writer.hpp"
#include "../support/safetensors_writer.hpp" // TempDir
#include "../support/shared_dir.hpp"
#include "../support/skip.hpp"
#include "vramcalc/format.hpp"
#include "vramcalc/io/gguf.hpp"
#include "vramcalc/io/model_json.hpp"
#include "vramcalc/tensors.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>

using namespace vramcalc;
using namespace vramcalc::test;

TEST_CASE("llama.cpp's quantizer: every mix, tensor by tensor", "[oracle]") {
  const char* run = std::getenv("VRAMCALC_ORACLE_RUN");
  if (run == nullptr || *run == '\0') {
    VRAMCALC_SKIP("VRAMCALC_ORACLE_RUN is not set (tests/oracle/llamacpp-quantize.sh sets it)");
  }
  const std::string fixtures = shared_dir() + "/fixtures/gguf";
  TempDir tmp;
  std::vector<std::string> skipped;
  std::size_t compared = 0;
  for (const char* base : {"tiny-llama-f16", "tiny-gemma3-swa-f16"}) {
    const std::string in = fixtures + "/" + base + ".gguf";
    const auto src = io::read_gguf_file(in);
    REQUIRE(src);
    const auto model = io::gguf_to_spec(*src);
    REQUIRE(model);
    const ModelSpec& spec = model->spec;
    std::vector<Tensor> tensors = model_tensors(spec);
    std::erase_if(tensors, [](const Tensor& t) { return t.group() == TensorGroup::vision; });
    for (const GgufFtypeTraits& ft : gguf_ftypes()) {
      if (ft.id == GgufFtype::all_f32) continue; // not a quantization
      const std::string out = tmp.file(std::string(base) + "-" + std::string(ft.name) + ".gguf");
      const std::string cmd = std::string("'") + run + "' quantize '" + in + "' '" + out + "' " +
                              std::to_string(ft.llama_ftype) + " > /dev/null 2>&1";
      if (std::system(cmd.c_str()) != 0) {
        skipped.push_back(std::string(base) + " " + std::string(ft.name)); // e.g. a mix that needs an imatrix
        continue;
      }
      const auto file = io::read_gguf_file(out);
      REQUIRE(file);
      const auto format = parse_weight_format(ft.name, spec.dtype);
      REQUIRE(format);
      const std::vector<TensorStorage> predicted = tensor_storage(spec, tensors, *format);
      std::map<std::string, const io::GgufTensorInfo*> written;
      for (const io::GgufTensorInfo& t : file->tensors) written[t.name] = &t;
      CHECK(written.size() == tensors.size());
      std::uint64_t total = 0;
      for (std::size_t i = 0; i < tensors.size(); ++i) {
        const std::string name = tensors[i].gguf_name();
        INFO(base << " " << ft.name << " " << name);
        const auto it = written.find(name);
        REQUIRE(it != written.end());
        INFO("written " << io::ggml_type_name(it->second->ggml_type) << ", predicted " << traits(predicted[i].dtype).name);
        CHECK(static_cast<std::int64_t>(it->second->ggml_type) == traits(predicted[i].dtype).ggml_id);
        CHECK(it->second->bytes == predicted[i].bytes);
        total += predicted[i].bytes;
      }
      CHECK(total == file->tensor_bytes());
      ++compared;
    }
  }
  std::string s;
  for (const std::string& x : skipped) s += (s.empty() ? "" : ", ") + x;
  WARN("compared " << compared << " quantized files; llama.cpp refused: " << (s.empty() ? "none" : s));
  CHECK(compared >= 40);
}

namespace {

ModelSpec tiny_spec(const std::string& json) {
  auto m = io::parse_model_spec(json, "tiny.json");
  REQUIRE(m);
  return *m;
}

// A GGUF of the tensors vramcalc lists for `spec` (f32 vectors, f16 matrices, zeros) with the
// metadata llama.cpp's hyperparameter loader reads: what its quantizer needs (no tokenizer).
std::string source_gguf(const ModelSpec& spec) {
  GgufWriter w;
  const std::string a = spec.arch;
  w.str("general.architecture", a).u32("general.file_type", 1);
  w.u32(a + ".block_count", static_cast<std::uint32_t>(spec.num_layers));
  w.u32(a + ".context_length", static_cast<std::uint32_t>(spec.max_context));
  w.u32(a + ".embedding_length", static_cast<std::uint32_t>(spec.hidden_size));
  w.u32(a + ".feed_forward_length", static_cast<std::uint32_t>(spec.intermediate_size));
  w.u32(a + ".attention.head_count", static_cast<std::uint32_t>(spec.attention.num_heads));
  w.u32(a + ".attention.head_count_kv", static_cast<std::uint32_t>(spec.attention.num_kv_heads));
  w.u32(a + ".attention.key_length", static_cast<std::uint32_t>(spec.attention.head_dim));
  w.u32(a + ".attention.value_length", static_cast<std::uint32_t>(spec.attention.v_head_dim));
  w.u32(a + ".rope.dimension_count", static_cast<std::uint32_t>(spec.attention.head_dim));
  w.f32(a + ".attention.layer_norm_rms_epsilon", 1e-5f);
  if (spec.attention.sliding_window != 0) w.u32(a + ".attention.sliding_window", static_cast<std::uint32_t>(spec.attention.sliding_window));
  if (spec.moe) {
    w.u32(a + ".expert_count", static_cast<std::uint32_t>(spec.moe->num_experts));
    w.u32(a + ".expert_used_count", static_cast<std::uint32_t>(spec.moe->experts_per_token));
    w.u32(a + ".expert_feed_forward_length", static_cast<std::uint32_t>(spec.moe->expert_intermediate_size));
  }
  for (const Tensor& t : model_tensors(spec)) {
    std::vector<std::uint64_t> ne{t.ne0};
    if (t.ne1 > 1 || t.ne2 > 1) ne.push_back(t.ne1);
    if (t.ne2 > 1) ne.push_back(t.ne2);
    const bool f32 = !t.is_matrix() || t.role == TensorRole::ffn_gate_inp;
    w.tensor(t.gguf_name(), f32 ? g_f32 : g_f16, ne);
  }
  return w.bytes();
}

} // namespace

TEST_CASE("llama.cpp's quantizer: fused QKV / gate-up (Phi-3) and an 8-expert MoE (gpt-oss), every mix", "[oracle]") {
  const char* run = std::getenv("VRAMCALC_ORACLE_RUN");
  if (run == nullptr || *run == '\0') {
    VRAMCALC_SKIP("VRAMCALC_ORACLE_RUN is not set (tests/oracle/llamacpp-quantize.sh sets it)");
  }
  const auto base = [](const std::string& id, const std::string& arch, const std::string& body) {
    return R"({"schema": "vramcalc-model/1", "id": ")" + id + R"(", "name": ")" + id + R"(", "family": "t", "arch": ")" +
           arch + R"(", "source": "https://example.org", "dtype": "fp16", "max_context": 4096, )" + body + "}";
  };
  // Phi-3: one attn_qkv of q + k + v rows and one ffn_up of 2 x n_ff rows per layer.
  const ModelSpec phi3 = tiny_spec(base("tiny-phi3", "phi3", R"("hidden_size": 256, "num_layers": 8,
      "intermediate_size": 512, "vocab_size": 512, "tie_word_embeddings": false,
      "attention": {"num_heads": 4, "num_kv_heads": 2, "head_dim": 64})"));
  REQUIRE(phi3.attention.fused_qkv);
  REQUIRE(phi3.fused_gate_up);
  // gpt-oss with 8 experts: llama.cpp's n_expert == 8 rules apply (attn_v / attn_k Q8_0, ...).
  const ModelSpec oss = tiny_spec(base("tiny-gpt-oss", "gpt-oss", R"("hidden_size": 256, "num_layers": 8,
      "intermediate_size": 256, "vocab_size": 512, "tie_word_embeddings": false, "layer_pattern": ["sliding", "full"],
      "attention": {"num_heads": 4, "num_kv_heads": 2, "head_dim": 64, "qkv_bias": true, "o_bias": true, "sinks": true,
                    "sliding_window": 128},
      "moe": {"num_experts": 8, "experts_per_token": 2, "expert_intermediate_size": 256, "router_bias": true,
              "expert_bias": true})"));
  TempDir tmp;
  std::vector<std::string> skipped;
  std::size_t compared = 0;
  for (const ModelSpec* spec : {&phi3, &oss}) {
    const std::string in = tmp.write(spec->id + ".gguf", source_gguf(*spec));
    const std::vector<Tensor> tensors = model_tensors(*spec);
    for (const GgufFtypeTraits& ft : gguf_ftypes()) {
      if (ft.id == GgufFtype::all_f32) continue;
      const std::string out = tmp.file(spec->id + "-" + std::string(ft.name) + ".gguf");
      const std::string cmd = std::string("'") + run + "' quantize '" + in + "' '" + out + "' " +
                              std::to_string(ft.llama_ftype) + " > /dev/null 2>&1";
      if (std::system(cmd.c_str()) != 0) {
        skipped.push_back(spec->id + " " + std::string(ft.name));
        continue;
      }
      const auto file = io::read_gguf_file(out);
      REQUIRE(file);
      auto format = parse_weight_format(ft.name, spec->dtype);
      REQUIRE(format);
      format->imatrix = false; // the oracle quantizes without an importance matrix
      const std::vector<TensorStorage> predicted = tensor_storage(*spec, tensors, *format);
      std::map<std::string, const io::GgufTensorInfo*> written;
      for (const io::GgufTensorInfo& t : file->tensors) written[t.name] = &t;
      CHECK(written.size() == tensors.size());
      for (std::size_t i = 0; i < tensors.size(); ++i) {
        const std::string name = tensors[i].gguf_name();
        INFO(spec->id << " " << ft.name << " " << name);
        const auto it = written.find(name);
        REQUIRE(it != written.end());
        INFO("written " << io::ggml_type_name(it->second->ggml_type) << ", predicted " << traits(predicted[i].dtype).name);
        CHECK(static_cast<std::int64_t>(it->second->ggml_type) == traits(predicted[i].dtype).ggml_id);
        CHECK(it->second->bytes == predicted[i].bytes);
      }
      ++compared;
    }
  }
  std::string s;
  for (const std::string& x : skipped) s += (s.empty() ? "" : ", ") + x;
  WARN("compared " << compared << " quantized files; llama.cpp refused: " << (s.empty() ? "none" : s));
  CHECK(compared >= 40);
}
