#include "helpers.hpp"
#include "vramcalc/format.hpp"
#include "vramcalc/tensors.hpp"

using namespace vramcalc;
using vramcalc::test::model;

namespace {

WeightFormat fmt_of(const std::string& name) {
  auto f = parse_weight_format(name, Dtype::bf16);
  if (!f) FAIL(f.error().message);
  return *f;
}

// Storage of one 4096 x 4096 attention matrix under a format.
std::uint64_t one_matrix(const std::string& name) {
  const ModelSpec& m = model("llama3-8b");
  const Tensor t{TensorRole::attn_q, 0, false, false, 4096, 4096, 1};
  return tensor_storage(m, std::span(&t, 1), fmt_of(name)).front().bytes;
}

} // namespace

TEST_CASE("plain formats: bytes = parameters x element size") {
  const ModelSpec& m = model("llama3-70b");
  CHECK(weight_bytes(m, fmt_of("bf16")).total == 2 * 70'553'706'496ull);
  CHECK(weight_bytes(m, fmt_of("fp32")).total == 4 * 70'553'706'496ull);
  CHECK(weight_bytes(m, fmt_of("fp16")).total == 2 * 70'553'706'496ull);
}

TEST_CASE("GPU quantization layouts of one 4096 x 4096 matrix") {
  // fp8: 16,777,216 weights x 1 byte + one f32 scale
  CHECK(one_matrix("fp8") == 16'777'216 + 4);
  // int8 W8A16: 16,777,216 + one bf16 scale per output channel (4096 x 2)
  CHECK(one_matrix("int8") == 16'777'216 + 8'192);
  // GPTQ int4 g128: qweight 16,777,216 / 2 = 8,388,608; scales (4096/128) x 4096 x 2 = 262,144;
  // qzeros (4096/128) x (4096/8) x 4 = 65,536 -> 8,716,288
  CHECK(one_matrix("gptq-int4-g128") == 8'716'288);
  CHECK(one_matrix("awq") == 8'716'288);
  // group size 64 doubles the scales and zeros: 8,388,608 + 524,288 + 131,072
  CHECK(one_matrix("gptq-int4-g64") == 9'043'968);
  // NF4: 8,388,608 packed + 262,144 uint8 absmax (per 64) + 1,024 x 4 f32 (per 256 blocks)
  //      + 4 offset + 1,024 nested code + 64 NF4 code = 8,655,940
  CHECK(one_matrix("nf4") == 8'655'940);
  CHECK(one_matrix("q8_0") == 16'777'216 / 32 * 34);
}

TEST_CASE("GPU methods leave embeddings, output head and norms at the native dtype") {
  const ModelSpec& m = model("llama3-8b");
  const WeightBytes w = weight_bytes(m, fmt_of("fp8"));
  for (const GroupBytes& g : w.groups) {
    if (g.group == TensorGroup::token_embedding || g.group == TensorGroup::output_head) {
      CHECK(g.bytes == 2 * 525'336'576ull);
      CHECK(g.dtypes == "bf16");
    }
    if (g.group == TensorGroup::norms) CHECK(g.bytes == 2 * 65 * 4096);
  }
}

TEST_CASE("GGUF Q4_K_M of Llama 3 8B is byte-exact with llama.cpp") {
  // use_more_bits(i, 32) picks 16 of 32 layers: 0-3, 6, 9, ..., 27, 28-31. On those attn_v
  // and ffn_down are Q6_K, elsewhere Q4_K; output Q6_K; token_embd Q4_K; norms f32.
  // Q4_K: 144 bytes per 256 weights; Q6_K: 210 per 256.
  // layer: q 9,437,184 + k 2,359,296 + v 2,359,296 + o 9,437,184 + gate/up/down 3 x 33,030,144
  //        + norms 32,768 = 122,716,160; upgraded layers add 1,081,344 (v) + 15,138,816 (down)
  // blocks: 32 x 122,716,160 + 16 x 16,220,160 = 4,186,439,680
  // token_embd 295,501,824 + output 430,940,160 + output_norm 16,384
  // total 4,912,898,048 bytes = 4.58 GiB, as llama.cpp prints for Llama 3.1 8B Instruct Q4_K_M
  // ("model size = 4.58 GiB (4.89 BPW)"); its CPU buffer holds token_embd: 281.81 MiB
  // = 295,501,824 bytes; tests/data/measurements.jsonl has the log lines.
  const ModelSpec& m = model("llama3-8b");
  const auto tensors = model_tensors(m);
  const auto storage = tensor_storage(m, tensors, fmt_of("q4_k_m"));
  std::uint64_t total = 0;
  int q6_v = 0, q6_down = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    total += storage[i].bytes;
    if (tensors[i].role == TensorRole::attn_v && storage[i].dtype == Dtype::q6_k) ++q6_v;
    if (tensors[i].role == TensorRole::ffn_down && storage[i].dtype == Dtype::q6_k) ++q6_down;
    if (tensors[i].role == TensorRole::token_embd) CHECK(storage[i].bytes == 295'501'824);
    if (tensors[i].role == TensorRole::output) CHECK(storage[i].dtype == Dtype::q6_k);
  }
  CHECK(q6_v == 16);
  CHECK(q6_down == 16);
  CHECK(total == 4'912'898'048ull);
  // llama.cpp: model size 4.58 GiB (4.89 BPW); BPW = bytes x 8 / params = 4.894
  CHECK(Approx(static_cast<double>(total) / (1ull << 30)).margin(0.005) == 4.58);
  CHECK(Approx(static_cast<double>(total) * 8 / 8'030'261'248.0).margin(0.005) == 4.89);
}

TEST_CASE("GGUF Q8_0 keeps Q8_0 for the output head, f32 for norms") {
  const ModelSpec& m = model("llama3-8b");
  // 2-D weights: 8,030,261,248 - 65 x 4096 norm weights = 8,029,995,008 -> /32 x 34 = 8,531,869,696
  // norms: 266,240 x 4 = 1,064,960
  CHECK(weight_bytes(m, fmt_of("q8_0")).total == 8'531'869'696ull + 1'064'960ull);
}

TEST_CASE("format names") {
  CHECK(fmt_of("Q4_K_M").id == "q4_k_m");
  CHECK(fmt_of("q4km").id == "q4_k_m");
  CHECK(fmt_of("gguf-q5_k_m").id == "q5_k_m");
  CHECK(fmt_of("awq").id == "awq-int4-g128");
  CHECK(fmt_of("gptq").id == "gptq-int4-g128");
  CHECK(fmt_of("gptq-int4-g-1").group_size == 0);
  CHECK(fmt_of("native").id == "bf16");
  CHECK(fmt_of("bnb-nf4").id == "nf4");
  CHECK(parse_weight_format("q9_k", Dtype::bf16).error().message == "unknown weight format 'q9_k'");
  CHECK_FALSE(parse_weight_format("gptq-int4-g100", Dtype::bf16).has_value());
}
