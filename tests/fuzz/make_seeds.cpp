// Writes the binary seed files of corpus/gguf and corpus/safetensors with the test suite's
// writers: small valid files covering each metadata type, the architectures gguf_to_spec
// maps differently (llama, MLA, hybrid, recurrent, sliding), both GGUF versions, a
// non-default alignment, and safetensors dtypes of 4 to 64 bits; plus the regression seeds
// of past findings that are easiest to state with the writer.
//   fuzz_make_seeds DIR   (DIR is tests/fuzz/corpus)
#include "../support/gguf_writer.hpp"
#include "../support/safetensors_writer.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

using namespace vramcalc::test;

namespace {

void write(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
  std::printf("%s: %zu bytes\n", path.string().c_str(), bytes.size());
}

// Keys every architecture below shares, under its own prefix.
GgufWriter base(const std::string& arch, std::uint32_t layers, std::uint32_t hidden, std::uint32_t heads) {
  GgufWriter w;
  w.str("general.architecture", arch).str("general.name", "seed " + arch);
  w.u32(arch + ".block_count", layers).u32(arch + ".context_length", 4096).u32(arch + ".embedding_length", hidden);
  w.u32(arch + ".attention.head_count", heads);
  return w;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_seeds CORPUS_DIR\n");
    return 2;
  }
  const std::filesystem::path gguf = std::filesystem::path(argv[1]) / "gguf";
  const std::filesystem::path st = std::filesystem::path(argv[1]) / "safetensors";

  // A whole small llama: metadata, a vocabulary, every tensor with its data.
  GgufWriter llama = base("llama", 2, 32, 4);
  llama.u32("llama.feed_forward_length", 64).u32("llama.attention.head_count_kv", 2);
  llama.u32("llama.rope.dimension_count", 8).u32("general.file_type", 7);
  llama.arr_str("tokenizer.ggml.tokens", {"<s>", "</s>", "a", "b"}).arr_f32("tokenizer.ggml.scores", {0, 0, -1, -2});
  add_llama_tensors(llama, 2, 32, 4, 2, 64, 32, g_q8_0);
  write(gguf / "llama-q8_0.gguf", llama.bytes());

  // Version 2, f16, a tied head, an unpadded last tensor.
  GgufWriter v2 = base("llama", 1, 32, 2);
  v2.version = 2;
  v2.pad_last_tensor = false;
  v2.u32("llama.feed_forward_length", 64);
  add_llama_tensors(v2, 1, 32, 2, 2, 64, 16, g_f16, true);
  write(gguf / "llama-v2-f16.gguf", v2.bytes());

  // Every value type, scalar and array, and alignment 64; two tensors, no architecture.
  GgufWriter types;
  types.alignment = 64;
  types.u32("general.alignment", 64);
  types.u8("t.u8", 200).i8("t.i8", -5).u16("t.u16", 65535).i16("t.i16", -300).u32("t.u32", 4'000'000'000u);
  types.i32("t.i32", -70000).f32("t.f32", 0.5f).boolean("t.bool", true).str("t.str", "h\xc3\xa9llo");
  types.u64("t.u64", 1ull << 40).i64("t.i64", -(1ll << 40)).f64("t.f64", 0.25);
  types.arr_u32("t.arr_u32", {1, 2, 3}).arr_i32("t.arr_i32", {-1, 7}).arr_bool("t.arr_bool", {true, false});
  types.kv_raw("t.arr_u64", t_array, Bytes().u32(t_u64).u64(1).u64(1ull << 50));
  types.kv_raw("t.arr_f64", t_array, Bytes().u32(t_f64).u64(1).f64(-0.125));
  types.tensor("a", g_f32, {10}).tensor("b", g_q4_k, {256, 2});
  write(gguf / "value-types-align64.gguf", types.bytes());

  // DeepSeek MLA + MoE with an MTP layer, metadata only (as a vocabulary-only file).
  GgufWriter ds = base("deepseek2", 4, 256, 8);
  ds.u32("deepseek2.nextn_predict_layers", 1).u32("deepseek2.feed_forward_length", 512);
  ds.u32("deepseek2.vocab_size", 1000).u32("deepseek2.attention.q_lora_rank", 64);
  ds.u32("deepseek2.attention.kv_lora_rank", 32).u32("deepseek2.rope.dimension_count", 16);
  ds.u32("deepseek2.expert_count", 8).u32("deepseek2.expert_used_count", 2).u32("deepseek2.expert_shared_count", 1);
  ds.u32("deepseek2.expert_feed_forward_length", 64).u32("deepseek2.leading_dense_block_count", 1);
  ds.u32("deepseek2.attention.head_count_kv", 1).u32("deepseek2.attention.key_length", 48);
  ds.u32("deepseek2.attention.value_length", 32).u32("deepseek2.attention.key_length_mla", 48);
  ds.u32("deepseek2.attention.value_length_mla", 32);
  write(gguf / "deepseek2-mla.gguf", ds.bytes());

  // Jamba: a per-layer head_count_kv array (0: a Mamba layer), experts.
  GgufWriter jamba = base("jamba", 8, 256, 8);
  jamba.u32("jamba.feed_forward_length", 512).u32("jamba.vocab_size", 1000);
  jamba.arr_u32("jamba.attention.head_count_kv", {0, 0, 0, 0, 2, 0, 0, 0});
  jamba.u32("jamba.ssm.conv_kernel", 4).u32("jamba.ssm.inner_size", 512).u32("jamba.ssm.state_size", 16);
  jamba.u32("jamba.ssm.time_step_rank", 16).u32("jamba.expert_count", 4).u32("jamba.expert_used_count", 2);
  write(gguf / "jamba-hybrid.gguf", jamba.bytes());

  // Mamba: no attention at all.
  GgufWriter mamba = base("mamba", 4, 256, 0);
  mamba.u32("mamba.vocab_size", 1000).u32("mamba.ssm.conv_kernel", 4).u32("mamba.ssm.inner_size", 512);
  mamba.u32("mamba.ssm.state_size", 16).u32("mamba.ssm.time_step_rank", 16).u32("mamba.feed_forward_length", 0);
  write(gguf / "mamba.gguf", mamba.bytes());

  // Gemma 3: sliding windows with an explicit pattern.
  GgufWriter gemma = base("gemma3", 6, 256, 4);
  gemma.u32("gemma3.feed_forward_length", 512).u32("gemma3.attention.head_count_kv", 1);
  gemma.u32("gemma3.vocab_size", 512).u32("gemma3.attention.key_length", 64).u32("gemma3.attention.value_length", 64);
  gemma.u32("gemma3.attention.sliding_window", 512).u32("gemma3.attention.sliding_window_pattern", 3);
  write(gguf / "gemma3-sliding.gguf", gemma.bytes());

  // Regression seed (found by fuzz_gguf): a sliding_window_pattern of 2^32 - 1 made
  // gguf_to_spec build a pattern of that many layers before using the first block_count.
  GgufWriter period = base("gemma3", 6, 256, 4);
  period.u32("gemma3.feed_forward_length", 512).u32("gemma3.attention.head_count_kv", 1);
  period.u32("gemma3.attention.sliding_window", 512).u32("gemma3.attention.sliding_window_pattern", 0xffffffffu);
  write(gguf / "timeout-swa-pattern-period.gguf", period.bytes());

  // safetensors: a small mixed file with metadata, a llama-like BF16 file, an empty one.
  SafetensorsWriter mixed;
  mixed.metadata("format", "pt").tensor("a", "BF16", {4, 4}, 16).tensor("b", "F4", {2, 8}, 4).tensor("c", "U8", {3}, 8);
  mixed.tensor("d", "F8_E4M3", {2, 2}, 8).tensor("e", "I64", {2}, 64).tensor("f", "F32", {}, 32);
  write(st / "mixed-dtypes.safetensors", mixed.bytes());
  SafetensorsWriter ll;
  ll.tensor("model.embed_tokens.weight", "BF16", {16, 8}, 16).tensor("model.layers.0.self_attn.q_proj.weight", "BF16", {8, 8}, 16);
  ll.tensor("model.layers.0.self_attn.q_proj.weight_scale", "F32", {8, 1}, 32).tensor("model.norm.weight", "BF16", {8}, 16);
  ll.tensor("lm_head.weight", "BF16", {16, 8}, 16);
  write(st / "llama-bf16.safetensors", ll.bytes());
  write(st / "empty.safetensors", safetensors_file("{}", 0));

  // Regression seeds of "Hostile input, round two" (docs/reliability.md), each under the
  // 1 MiB max_len of run.sh. JSON nested 65,600 deep: dump() in a message overflowed the stack.
  const std::string deep = std::string(65600, '[') + std::string(65600, ']');
  const std::filesystem::path corpus(argv[1]);
  write(corpus / "hf_config" / "crash-deep-nesting.json", R"({"model_type":"llama","hidden_size":)" + deep + "}");
  write(corpus / "model_spec" / "crash-deep-nesting.json", R"({"id":"x","name":)" + deep + "}");
  write(corpus / "safetensors_index" / "crash-deep-nesting.json", R"({"weight_map":{"t":)" + deep + "}}");
  write(st / "crash-deep-nesting.safetensors",
        safetensors_file(R"({"t":{"dtype":"F32","shape":)" + deep + R"(,"data_offsets":[0,4]}})", 4));
  // 15,000 tensors: nlohmann's callback parser walked the siblings at every object's end.
  SafetensorsWriter many;
  for (int i = 0; i < 15000; ++i) many.tensor("t" + std::to_string(i), "U8", {1}, 8);
  write(st / "slow-15000-tensors.safetensors", many.bytes());
  // Per-layer arrays of 4,096 layers among 25,000 keys: a key scan per layer.
  GgufWriter keys = base("llama", 4096, 64, 4);
  Bytes kv;
  kv.u32(t_u32).u64(4096);
  for (int i = 0; i < 4096; ++i) kv.u32(2);
  keys.kv_raw("llama.attention.head_count_kv", t_array, kv).u32("llama.feed_forward_length", 128);
  for (int i = 0; i < 25000; ++i) keys.u8("k" + std::to_string(i), 1);
  write(gguf / "slow-keys-per-layer.gguf", keys.bytes());
  // Ten numeric arrays of 65,536 elements: 40 bytes of memory per element before.
  GgufWriter arrays = base("llama", 2, 64, 4);
  for (int a = 0; a < 10; ++a) {
    Bytes b;
    b.u32(t_u8).u64(65536).zeros(65536);
    arrays.kv_raw("a." + std::to_string(a), t_array, b);
  }
  write(gguf / "fat-numeric-arrays.gguf", arrays.bytes());
  return 0;
}
