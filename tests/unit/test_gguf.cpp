// GGUF header reader and GGUF -> ModelSpec, on files written in memory by
// tests/support/gguf_writer.hpp; [shared] cross-checks against real llama.cpp files.
#include "../support/gguf_writer.hpp"
#include "../support/safetensors_writer.hpp" // TempDir
#include "../support/shared_dir.hpp"
#include "../support/skip.hpp"
#include "vramcalc/engine.hpp"
#include "vramcalc/io/gguf.hpp"
#include "vramcalc/kv.hpp"
#include "vramcalc/tensors.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <limits>

using namespace vramcalc;
using namespace vramcalc::test;
using io::GgufType;

namespace {

io::GgufFile parse_ok(const std::string& bytes, const io::GgufReadOptions& options = {}) {
  auto r = io::parse_gguf(io::memory_source(bytes), "x.gguf", options);
  if (!r) FAIL(r.error().message);
  return *r;
}

std::string parse_error(const std::string& bytes, const io::GgufReadOptions& options = {}) {
  auto r = io::parse_gguf(io::memory_source(bytes), "x.gguf", options);
  if (r) return "(parsed)";
  return r.error().message;
}

io::GgufModel spec_ok(const io::GgufFile& f) {
  auto r = io::gguf_to_spec(f);
  if (!r) FAIL(r.error().message);
  return *r;
}

// The metadata of a small llama: 2 layers, 64 wide, 4 heads of 16, 2 KV heads, MLP 128.
GgufWriter tiny_llama_meta() {
  GgufWriter w;
  w.str("general.architecture", "llama").str("general.name", "Tiny Llama (test)");
  w.u32("llama.block_count", 2).u32("llama.context_length", 4096).u32("llama.embedding_length", 64);
  w.u32("llama.feed_forward_length", 128).u32("llama.attention.head_count", 4).u32("llama.attention.head_count_kv", 2);
  w.u32("llama.rope.dimension_count", 16).u32("general.file_type", 1);
  return w;
}

} // namespace

TEST_CASE("GGUF: every metadata value type, scalars and arrays", "[gguf]") {
  GgufWriter w;
  w.u8("t.u8", 200).i8("t.i8", -5).u16("t.u16", 65535).i16("t.i16", -300).u32("t.u32", 4'000'000'000u);
  w.i32("t.i32", -70000).f32("t.f32", 0.5f).boolean("t.bool", true).str("t.str", "h\xc3\xa9llo");
  w.u64("t.u64", 1ull << 40).i64("t.i64", -(1ll << 40)).f64("t.f64", 0.25);
  w.arr_u32("t.arr_u32", {1, 2, 3}).arr_i32("t.arr_i32", {-1, 7}).arr_f32("t.arr_f32", {1.5f});
  w.arr_bool("t.arr_bool", {true, false}).arr_str("t.arr_str", {"a", "bc"});
  // arrays of the remaining element types, one element each
  w.kv_raw("t.arr_u8", t_array, Bytes().u32(t_u8).u64(1).u8(9));
  w.kv_raw("t.arr_i8", t_array, Bytes().u32(t_i8).u64(1).u8(0xff));
  w.kv_raw("t.arr_u16", t_array, Bytes().u32(t_u16).u64(1).u16(500));
  w.kv_raw("t.arr_i16", t_array, Bytes().u32(t_i16).u64(1).u16(0xfffe));
  w.kv_raw("t.arr_u64", t_array, Bytes().u32(t_u64).u64(1).u64(1ull << 50));
  w.kv_raw("t.arr_i64", t_array, Bytes().u32(t_i64).u64(1).i64(-3));
  w.kv_raw("t.arr_f64", t_array, Bytes().u32(t_f64).u64(1).f64(-0.125));
  w.kv_raw("t.arr_empty", t_array, Bytes().u32(t_string).u64(0));
  const std::string bytes = w.bytes();
  const io::GgufFile f = parse_ok(bytes);

  CHECK(f.version == 3);
  CHECK(f.metadata.size() == 25);
  CHECK(f.tensors.empty());
  CHECK(f.header_bytes == bytes.size());
  CHECK(f.data_offset == (bytes.size() + 31) / 32 * 32);

  auto value = [&](const char* k) -> const io::GgufValue& {
    const io::GgufValue* v = f.find(k);
    REQUIRE(v != nullptr);
    return *v;
  };
  CHECK(value("t.u8").type == GgufType::u8);
  CHECK(f.get_uint("t.u8") == 200);
  CHECK(std::get<std::int64_t>(value("t.i8").scalar) == -5);
  CHECK(f.get_uint("t.i8") == std::nullopt); // negative
  CHECK(f.get_uint("t.u16") == 65535);
  CHECK(std::get<std::int64_t>(value("t.i16").scalar) == -300);
  CHECK(f.get_uint("t.u32") == 4'000'000'000u);
  CHECK(std::get<std::int64_t>(value("t.i32").scalar) == -70000);
  CHECK(f.get_float("t.f32") == 0.5);
  CHECK(std::get<bool>(value("t.bool").scalar));
  CHECK(f.get_uint("t.bool") == std::nullopt);
  CHECK(f.get_string("t.str") == "h\xc3\xa9llo");
  CHECK(f.get_uint("t.u64") == 1ull << 40);
  CHECK(std::get<std::int64_t>(value("t.i64").scalar) == -(1ll << 40));
  CHECK(f.get_float("t.f64") == 0.25);
  CHECK(f.get_float("t.u8") == 200.0);
  CHECK(f.get_string("t.u8") == std::nullopt);
  CHECK(f.find("absent") == nullptr);

  // Bytes after the key and its type tag: the value itself; arrays add type + count.
  CHECK(value("t.u8").encoded_bytes == 1);
  CHECK(value("t.i16").encoded_bytes == 2);
  CHECK(value("t.f32").encoded_bytes == 4);
  CHECK(value("t.bool").encoded_bytes == 1);
  CHECK(value("t.f64").encoded_bytes == 8);
  CHECK(value("t.str").encoded_bytes == 8 + 6);           // length + 6 UTF-8 bytes
  CHECK(value("t.arr_u32").encoded_bytes == 4 + 8 + 3 * 4); // 24
  CHECK(value("t.arr_bool").encoded_bytes == 4 + 8 + 2);
  CHECK(value("t.arr_str").encoded_bytes == 4 + 8 + (8 + 1) + (8 + 2)); // 31

  const io::GgufValue& arr = value("t.arr_u32");
  CHECK(arr.type == GgufType::array);
  CHECK(arr.elem_type == GgufType::u32);
  CHECK(arr.count == 3);
  CHECK(f.get_uint_at("t.arr_u32", 2) == 3);
  CHECK(f.get_uint_at("t.arr_u32", 3) == std::nullopt);
  CHECK(f.get_uint_at("t.u32", 7) == 4'000'000'000u); // a scalar answers for every layer
  CHECK(f.get_uint_at("t.arr_i32", 0) == std::nullopt); // -1
  CHECK(f.get_uint_at("t.arr_i32", 1) == 7);
  CHECK(f.get_uint_at("t.arr_bool", 0) == std::nullopt);
  CHECK(f.get_uint("t.arr_u32") == std::nullopt);
  CHECK(std::get<double>(*value("t.arr_f32").element(0)) == 1.5);
  CHECK(std::get<std::uint64_t>(*value("t.arr_u8").element(0)) == 9);
  CHECK(std::get<std::int64_t>(*value("t.arr_i8").element(0)) == -1);
  CHECK(std::get<std::uint64_t>(*value("t.arr_u16").element(0)) == 500);
  CHECK(std::get<std::int64_t>(*value("t.arr_i16").element(0)) == -2);
  CHECK(std::get<std::uint64_t>(*value("t.arr_u64").element(0)) == 1ull << 50);
  CHECK(std::get<std::int64_t>(*value("t.arr_i64").element(0)) == -3);
  CHECK(std::get<double>(*value("t.arr_f64").element(0)) == -0.125);
  CHECK(value("t.arr_empty").count == 0);

  // Strings arrays: count and size always, elements only with keep_arrays.
  const io::GgufValue& strs = value("t.arr_str");
  CHECK(strs.count == 2);
  CHECK(strs.elements == nullptr);
  CHECK(strs.element(0) == std::nullopt);
  CHECK_FALSE(strs.elements_kept());
  const io::GgufFile kept = parse_ok(bytes, {.keep_arrays = true});
  const io::GgufValue* ks = kept.find("t.arr_str");
  REQUIRE(ks->elements_kept());
  CHECK(std::get<std::string>(*ks->element(0)) == "a");
  CHECK(std::get<std::string>(*ks->element(1)) == "bc");
  CHECK(ks->element(2) == std::nullopt);
  CHECK(ks->encoded_bytes == 31);
}

TEST_CASE("GGUF: long numeric arrays keep their count only, unless asked", "[gguf]") {
  GgufWriter w;
  Bytes scores;
  scores.u32(t_f32).u64(io::gguf_kept_array_limit + 1);
  for (std::uint64_t i = 0; i <= io::gguf_kept_array_limit; ++i) scores.f32(0.0f);
  w.kv_raw("tokenizer.ggml.scores", t_array, scores);
  const std::string bytes = w.bytes();
  const io::GgufFile f = parse_ok(bytes);
  const io::GgufValue* v = f.find("tokenizer.ggml.scores");
  CHECK(v->count == 65537);
  CHECK(v->elements == nullptr);
  CHECK(v->encoded_bytes == 4 + 8 + 65537 * 4);
  CHECK(parse_ok(bytes, {.keep_arrays = true}).find("tokenizer.ggml.scores")->element(65536).has_value());
}

TEST_CASE("GGUF: tensor bytes from the ggml type table", "[gguf]") {
  GgufWriter w;
  w.tensor("q4k", g_q4_k, {512, 3});     // 512 / 256 = 2 blocks x 144 = 288 per row, x 3 = 864
  w.tensor("q6k", g_q6_k, {256, 2, 4});  // 1 block x 210 x 2 x 4 = 1,680
  w.tensor("q8", g_q8_0, {64, 5});       // 2 blocks x 34 x 5 = 340
  w.tensor("q4", g_q4_0, {32});          // 18
  w.tensor("bf", g_bf16, {7, 3});        // 21 x 2 = 42
  w.tensor("f64", g_f64, {2, 1, 1, 3});  // 6 x 8 = 48
  w.tensor("empty", g_f32, {0, 5});      // 0
  w.tensor("scalar", g_f32, {});         // n_dims 0: one element, 4 bytes
  const io::GgufFile f = parse_ok(w.bytes());
  REQUIRE(f.tensors.size() == 8);
  CHECK(f.tensors[0].bytes == 864);
  CHECK(f.tensors[0].n_dims == 2);
  CHECK(f.tensors[0].ne == std::array<std::uint64_t, 4>{512, 3, 1, 1});
  CHECK(f.tensors[0].ggml_type == 12);
  CHECK(f.tensors[1].bytes == 1680);
  CHECK(f.tensors[2].bytes == 340);
  CHECK(f.tensors[3].bytes == 18);
  CHECK(f.tensors[4].bytes == 42);
  CHECK(f.tensors[5].bytes == 48);
  CHECK(f.tensors[6].bytes == 0);
  CHECK(f.tensors[7].bytes == 4);
  CHECK(f.tensors[7].n_dims == 0);
  // offsets: running sum of sizes padded to 32: 0, 864, 864 + 1,696 = 2,560, + 352 = 2,912,
  // + 32 = 2,944, + 64 = 3,008, + 64 = 3,072, + 0 = 3,072
  CHECK(f.tensors[1].offset == 864);
  CHECK(f.tensors[2].offset == 2560);
  CHECK(f.tensors[6].offset == 3072);
  CHECK(f.tensors[7].offset == 3072);
  CHECK(f.tensor_bytes() == 864 + 1680 + 340 + 18 + 42 + 48 + 0 + 4); // 2,996
  CHECK(io::ggml_type_name(12) == "q4_k");
  CHECK(io::ggml_type_name(0) == "f32");
  CHECK(io::ggml_type_name(30) == "bf16");
  CHECK(io::ggml_type_name(4).empty()); // Q4_2, removed
}

TEST_CASE("GGUF: general.alignment 64 moves the data section and the offsets", "[gguf]") {
  GgufWriter w;
  w.alignment = 64;
  w.u32("general.alignment", 64);
  w.tensor("a", g_f32, {10});   // 40 bytes
  w.tensor("b", g_f16, {3, 2}); // 12 bytes
  const std::string bytes = w.bytes();
  const io::GgufFile f = parse_ok(bytes);
  CHECK(f.alignment == 64);
  // 24 (magic, version, counts) + 33 (key 8 + 17, type 4, u32 4)
  // + 33 (tensor a: name 8 + 1, n_dims 4, ne 8, type 4, offset 8) + 41 (tensor b: two dims) = 131
  CHECK(f.header_bytes == 131);
  CHECK(f.data_offset == 192);        // 131 padded to 64
  CHECK(f.tensors[1].offset == 64);   // 40 padded to 64
  CHECK(f.file_size == 192 + 64 + 64); // 320
  CHECK(f.tensor_bytes() == 52);

  // The same tensors at the default alignment of 32: 24 + 33 + 41 = 98 -> 128; b at 64.
  GgufWriter d;
  d.tensor("a", g_f32, {10}).tensor("b", g_f16, {3, 2});
  const io::GgufFile g = parse_ok(d.bytes());
  CHECK(g.alignment == 32);
  CHECK(g.header_bytes == 98);
  CHECK(g.data_offset == 128);
  CHECK(g.tensors[1].offset == 64);
}

TEST_CASE("GGUF: version 2 reads like version 3, and the last tensor needs no padding", "[gguf]") {
  GgufWriter w = tiny_llama_meta();
  w.version = 2;
  w.pad_last_tensor = false; // llama.cpp checks the data, not the padding, against the file size
  add_llama_tensors(w, 2, 64, 4, 2, 128, 100, g_f16);
  const io::GgufFile f = parse_ok(w.bytes());
  CHECK(f.version == 2);
  CHECK(f.tensors.size() == 2 * 9 + 3);
  CHECK(f.get_string("general.architecture") == "llama");
}

TEST_CASE("GGUF: a vocabulary-only file has no tensors and no data", "[gguf]") {
  GgufWriter w;
  w.str("general.architecture", "llama").u32("llama.block_count", 2).u32("llama.embedding_length", 64);
  w.u32("llama.attention.head_count", 4).u32("llama.context_length", 4096);
  w.arr_str("tokenizer.ggml.tokens", {"<s>", "</s>", "a", "b", "c"});
  w.arr_f32("tokenizer.ggml.scores", {0, 0, -1, -2, -3});
  const io::GgufFile f = parse_ok(w.bytes());
  CHECK(f.tensors.empty());
  CHECK(f.tensor_bytes() == 0);
  const io::GgufValue* tokens = f.find("tokenizer.ggml.tokens");
  CHECK(tokens->count == 5);
  CHECK(tokens->encoded_bytes == 4 + 8 + (8 + 3) + (8 + 4) + 3 * (8 + 1)); // 62
  const io::GgufModel m = spec_ok(f);
  CHECK(m.spec.vocab_size == 5); // the tokenizer's length
  CHECK(m.spec.num_layers == 2);
  CHECK(m.spec.attention.head_dim == 16);
  CHECK(m.warnings == std::vector<std::string>{
                          "the file holds no tensors (a vocabulary-only GGUF): weights are not in it, and the output "
                          "head is assumed separate from the embedding",
                          "llama.feed_forward_length is missing: dense MLPs are counted as empty"});
}

TEST_CASE("GGUF to spec: a llama-like file", "[gguf]") {
  GgufWriter w = tiny_llama_meta();
  add_llama_tensors(w, 2, 64, 4, 2, 128, 100, g_f16);
  const io::GgufFile f = parse_ok(w.bytes());
  // f16 matrices: embedding and head 64 x 100 each, per layer q 64 x 64, k and v 64 x 32,
  // o 64 x 64, gate/up/down 64 x 128: 6,400 x 2 + 2 x 36,864 = 86,528 elements x 2 bytes;
  // f32 norms: (2 x 2 + 1) x 64 = 320 x 4 bytes. 173,056 + 1,280 = 174,336
  CHECK(f.tensor_bytes() == 174'336);
  const io::GgufModel m = spec_ok(f);
  const ModelSpec& s = m.spec;
  CHECK(m.warnings.empty());
  CHECK(s.id == "tiny-llama-test");
  CHECK(s.name == "Tiny Llama (test)");
  CHECK(s.arch == "llama");
  CHECK(s.source == "x.gguf");
  CHECK(s.num_layers == 2);
  CHECK(s.hidden_size == 64);
  CHECK(s.intermediate_size == 128);
  CHECK(s.vocab_size == 100); // token_embd ne1
  CHECK(s.max_context == 4096);
  CHECK(s.attention.num_heads == 4);
  CHECK(s.attention.num_kv_heads == 2);
  CHECK(s.attention.head_dim == 16); // 64 / 4
  CHECK_FALSE(s.tie_word_embeddings);
  CHECK(s.dtype == Dtype::f16);
  CHECK_FALSE(s.weights_format);
  CHECK(s.layers.size() == 2);
  // params: 6,400 (embedding) + 2 x (64 + 4,096 + 2,048 + 2,048 + 4,096 + 64 + 3 x 8,192)
  //       + 64 + 6,400 (head) = 6,400 + 73,984 + 6,464 = 86,848
  CHECK(count_params(s).total == 86'848);
  // KV per token, f16: 2 layers x (K + V) x 2 KV heads x 16 x 2 bytes = 256
  CHECK(kv_cache(s, Dtype::f16, 1, 1).bytes_per_token == 256);
  CHECK(kv_cache(s, Dtype::f16, 1024, 1).total_bytes == 256 * 1024);

  // Without output.weight the head is tied to the embedding.
  GgufWriter t = tiny_llama_meta();
  add_llama_tensors(t, 2, 64, 4, 2, 128, 100, g_f16, /*tied=*/true);
  const io::GgufModel tm = spec_ok(parse_ok(t.bytes()));
  CHECK(tm.spec.tie_word_embeddings);
  CHECK(count_params(tm.spec).total == 86'848 - 6'400);
  CHECK(tm.warnings.empty());
}

TEST_CASE("GGUF to spec: quantized weights set the format, the embedding's float type the dtype", "[gguf]") {
  GgufWriter w;
  w.str("general.architecture", "llama").u32("llama.block_count", 1).u32("llama.context_length", 512);
  w.u32("llama.embedding_length", 256).u32("llama.feed_forward_length", 512).u32("llama.attention.head_count", 4);
  w.u32("general.file_type", 7); // LLAMA_FTYPE_MOSTLY_Q8_0
  add_llama_tensors(w, 1, 256, 4, 4, 512, 32, g_q8_0);
  const io::GgufModel q = spec_ok(parse_ok(w.bytes()));
  CHECK(q.spec.weights_format == "q8_0");
  CHECK(q.spec.dtype == Dtype::bf16);
  CHECK(q.warnings == std::vector<std::string>{"every weight matrix is quantized, so the native dtype is unknown; assuming bf16"});
  CHECK(q.spec.id == "x"); // no general.name: the file stem
}

TEST_CASE("GGUF to spec: sliding-window rules per architecture", "[gguf]") {
  auto meta = [](const std::string& arch, std::uint32_t layers) {
    GgufWriter w;
    w.str("general.architecture", arch).u32(arch + ".block_count", layers).u32(arch + ".embedding_length", 256);
    w.u32(arch + ".feed_forward_length", 512).u32(arch + ".attention.head_count", 4);
    w.u32(arch + ".attention.head_count_kv", 1).u32(arch + ".context_length", 8192).u32(arch + ".vocab_size", 512);
    w.u32(arch + ".attention.key_length", 128).u32(arch + ".attention.value_length", 128);
    return w;
  };
  auto kinds = [](const ModelSpec& s) {
    std::string k;
    for (const LayerSpec& l : s.layers) k += l.attention == AttentionKind::sliding ? 'S' : l.attention == AttentionKind::full ? 'F' : '-';
    return k;
  };
  // Gemma 3: 5 sliding to 1 full (llama.cpp set_swa_pattern(6): il % 6 < 5 slides).
  GgufWriter g3 = meta("gemma3", 8);
  g3.u32("gemma3.attention.sliding_window", 512);
  const ModelSpec s3 = spec_ok(parse_ok(g3.bytes())).spec;
  CHECK(kinds(s3) == "SSSSSFSS");
  CHECK(s3.attention.sliding_window == 512);
  CHECK(s3.tie_word_embeddings); // no tensors: Gemma's default
  CHECK(s3.norms_per_layer == 4);
  // per layer per token f16: 2 x 1 KV head x 128 x 2 bytes = 512; at 8192 tokens:
  // 1 full layer x 512 x 8,192 + 7 sliding x 512 x 512 = 4,194,304 + 1,835,008 = 6,029,312
  CHECK(kv_cache(s3, Dtype::f16, 8192, 1).total_bytes == 6'029'312);
  // An explicit period
  GgufWriter g3p = meta("gemma3", 4);
  g3p.u32("gemma3.attention.sliding_window", 512).u32("gemma3.attention.sliding_window_pattern", 2);
  CHECK(kinds(spec_ok(parse_ok(g3p.bytes())).spec) == "SFSF");
  // A period longer than the model (found by fuzz_gguf: 2^32 - 1 built a pattern of that many
  // layers): only the first block_count entries matter, all sliding here (layer 4 would be full).
  GgufWriter g3long = meta("gemma3", 4);
  g3long.u32("gemma3.attention.sliding_window", 512).u32("gemma3.attention.sliding_window_pattern", 0xffffffffu);
  CHECK(kinds(spec_ok(parse_ok(g3long.bytes())).spec) == "SSSS");
  GgufWriter g3five = meta("gemma3", 4);
  g3five.u32("gemma3.attention.sliding_window", 512).u32("gemma3.attention.sliding_window_pattern", 4);
  CHECK(kinds(spec_ok(parse_ok(g3five.bytes())).spec) == "SSSF");
  // No window: Gemma 3 without sliding layers
  CHECK(kinds(spec_ok(parse_ok(meta("gemma3", 3).bytes())).spec) == "FFF");
  // Gemma 2: alternating, 4096 by default
  const ModelSpec s2 = spec_ok(parse_ok(meta("gemma2", 4).bytes())).spec;
  CHECK(kinds(s2) == "SFSF");
  CHECK(s2.attention.sliding_window == 4096);
  // gpt-oss: every other layer, from layer 0
  GgufWriter oss = meta("gpt-oss", 4);
  oss.u32("gpt-oss.attention.sliding_window", 128);
  const io::GgufModel o = spec_ok(parse_ok(oss.bytes()));
  CHECK(kinds(o.spec) == "SFSF");
  CHECK(o.spec.attention.sinks);
  // a per-layer bool pattern
  GgufWriter b = meta("gemma3", 3);
  b.u32("gemma3.attention.sliding_window", 256).arr_bool("gemma3.attention.sliding_window_pattern", {false, true, true});
  CHECK(kinds(spec_ok(parse_ok(b.bytes())).spec) == "FSS");
  // Phi-3's window is ignored, as llama.cpp does
  GgufWriter phi = meta("phi3", 2);
  phi.u32("phi3.attention.sliding_window", 2047);
  const io::GgufModel p = spec_ok(parse_ok(phi.bytes()));
  CHECK(kinds(p.spec) == "FF");
  CHECK(std::ranges::count(p.warnings, "phi3.attention.sliding_window 2047 is ignored: llama.cpp runs Phi-3 with full attention") == 1);
}

TEST_CASE("GGUF to spec: DeepSeek MLA from both generations of keys; the older runs without MLA", "[gguf]") {
  auto meta = [](bool new_keys) {
    GgufWriter w;
    const std::string a = "deepseek2.";
    w.str("general.architecture", "deepseek2").u32(a + "block_count", 62).u32(a + "nextn_predict_layers", 1);
    w.u32(a + "context_length", 163840).u32(a + "embedding_length", 7168).u32(a + "feed_forward_length", 18432);
    w.u32(a + "attention.head_count", 128).u32(a + "vocab_size", 129280);
    w.u32(a + "attention.q_lora_rank", 1536).u32(a + "attention.kv_lora_rank", 512).u32(a + "rope.dimension_count", 64);
    w.u32(a + "expert_count", 256).u32(a + "expert_used_count", 8).u32(a + "expert_shared_count", 1);
    w.u32(a + "expert_feed_forward_length", 2048).u32(a + "leading_dense_block_count", 3);
    w.u32(a + "expert_gating_func", 2);
    if (new_keys) {
      // convert_hf_to_gguf after MLA-as-MQA: the cache layout in key/value_length
      w.u32(a + "attention.head_count_kv", 1).u32(a + "attention.key_length", 576).u32(a + "attention.value_length", 512);
      w.u32(a + "attention.key_length_mla", 192).u32(a + "attention.value_length_mla", 128);
    } else {
      w.u32(a + "attention.head_count_kv", 128).u32(a + "attention.key_length", 192).u32(a + "attention.value_length", 128);
    }
    return w;
  };
  for (bool new_keys : {true, false}) {
    const ModelSpec s = spec_ok(parse_ok(meta(new_keys).bytes())).spec;
    REQUIRE(s.attention.mla);
    CHECK(s.attention.mla->kv_lora_rank == 512);
    CHECK(s.attention.mla->q_lora_rank == 1536);
    CHECK(s.attention.mla->qk_rope_head_dim == 64);
    CHECK(s.attention.mla->qk_nope_head_dim == 128); // 192 - 64
    CHECK(s.attention.mla->v_head_dim == 128);
    CHECK(s.num_layers == 61); // block_count counts the MTP layer
    CHECK(s.mtp_layers == 1);
    CHECK(s.moe->first_dense_layers == 3);
    CHECK_FALSE(s.layers[2].moe);
    CHECK(s.layers[3].moe);
    if (new_keys) {
      // 61 layers x (512 + 64) x 2 bytes = 70,272 bytes per token
      CHECK(s.attention.mla->latent_cache);
      CHECK(kv_cache(s, Dtype::bf16, 1, 1).bytes_per_token == 70'272);
    } else {
      // Without key_length_mla / value_length_mla llama.cpp's is_mla() is false: K and V per
      // head, 61 layers x 128 heads x (192 + 128) x 2 bytes = 4,997,120 bytes per token,
      // 71.1 times the latent's 70,272.
      CHECK_FALSE(s.attention.mla->latent_cache);
      CHECK(kv_cache(s, Dtype::bf16, 1, 1).bytes_per_token == 4'997'120);
    }
    // What llama.cpp allocates on the CPU for -c 4096 (f16 cache, flash attention on): the
    // newer file caches the latent K only (PR #19067): 4,096 cells x 61 x 576 x 2 bytes =
    // 287,834,112; the older one K and V per head: 4,096 x 61 x 128 x (192 + 128) x 2 =
    // 20,468,203,520.
    LlamaCppOptions o;
    o.flash_attn = FlashAttn::on;
    const WeightFormat q4 = parse_weight_format("gguf-q4_k_m", Dtype::bf16).value();
    CHECK(llamacpp_plan(s, q4, 4096, 1, {}, 0, o).kv_bytes == (new_keys ? 287'834'112ull : 20'468'203'520ull));
    // the same totals as the Hugging Face import of DeepSeek-R1 (test_hf_config.cpp)
    const ParamCounts p = count_params(s);
    CHECK(p.total == 671'026'419'200ull);
    CHECK(p.mtp == 13'463'426'304ull);
  }
}

TEST_CASE("GGUF to spec: head_count_kv 0 marks a layer without attention (Jamba)", "[gguf]") {
  GgufWriter w;
  const std::string a = "jamba.";
  w.str("general.architecture", "jamba").u32(a + "block_count", 8).u32(a + "context_length", 262144);
  w.u32(a + "embedding_length", 4096).u32(a + "feed_forward_length", 14336).u32(a + "vocab_size", 65536);
  w.u32(a + "attention.head_count", 32).arr_u32(a + "attention.head_count_kv", {0, 0, 0, 0, 8, 0, 0, 0});
  w.u32(a + "ssm.conv_kernel", 4).u32(a + "ssm.inner_size", 8192).u32(a + "ssm.state_size", 16);
  w.u32(a + "ssm.time_step_rank", 256).u32(a + "expert_count", 16).u32(a + "expert_used_count", 2);
  const ModelSpec s = spec_ok(parse_ok(w.bytes())).spec;
  REQUIRE(s.recurrent);
  CHECK(s.recurrent->kind == RecurrentKind::mamba);
  CHECK(s.layers[4].attention == AttentionKind::full);
  CHECK(s.layers[4].num_kv_heads == 8);
  CHECK(s.layers[0].attention == AttentionKind::none);
  CHECK(s.layers[0].num_kv_heads == 0);
  const KvCache kv = kv_cache(s, Dtype::bf16, 1, 1);
  // one attention layer: 2 x 8 x 128 x 2 bytes = 4,096 per token
  CHECK(kv.bytes_per_token == 4096);
  // 7 Mamba layers x ((4 - 1) x 8,192 + 8,192 x 16) = 7 x 155,648 elements x 2 bytes = 2,179,072
  CHECK(kv.state_bytes_per_sequence == 2'179'072);
  CHECK(s.layers[1].moe);
  CHECK_FALSE(s.layers[0].moe);
}

TEST_CASE("GGUF to spec: Mamba keeps a state and no KV cache", "[gguf]") {
  GgufWriter w;
  const std::string a = "mamba.";
  w.str("general.architecture", "mamba").u32(a + "block_count", 64).u32(a + "context_length", 1048576);
  w.u32(a + "embedding_length", 2560).u32(a + "vocab_size", 50280).u32(a + "ssm.conv_kernel", 4);
  w.u32(a + "ssm.inner_size", 5120).u32(a + "ssm.state_size", 16).u32(a + "ssm.time_step_rank", 160);
  w.u32(a + "attention.head_count", 0).u32(a + "feed_forward_length", 0);
  const ModelSpec s = spec_ok(parse_ok(w.bytes())).spec;
  const KvCache kv = kv_cache(s, Dtype::bf16, 4096, 1);
  CHECK(kv.total_bytes == 0);
  // 64 layers x ((4 - 1) x 5,120 + 5,120 x 16) = 64 x 97,280 elements x 2 bytes = 12,451,840
  CHECK(kv.state_bytes_per_sequence == 12'451'840);
}

TEST_CASE("GGUF to spec: what the metadata lacks is an error or a warning", "[gguf]") {
  GgufWriter none;
  none.str("general.name", "x");
  CHECK(io::gguf_to_spec(parse_ok(none.bytes())).error().message ==
        "x.gguf: general.architecture is missing; is this a model file?");
  GgufWriter missing;
  missing.str("general.architecture", "llama").u32("llama.block_count", 2);
  CHECK(io::gguf_to_spec(parse_ok(missing.bytes())).error().message ==
        "x.gguf: missing keys vramcalc needs: llama.embedding_length, llama.attention.head_count");
  GgufWriter wrong;
  wrong.str("general.architecture", "llama").str("llama.block_count", "two").u32("llama.embedding_length", 64);
  CHECK(io::gguf_to_spec(parse_ok(wrong.bytes())).error().message ==
        "x.gguf: llama.block_count must be a non-negative integer, not a string");
  GgufWriter short_arr;
  short_arr.str("general.architecture", "llama").u32("llama.block_count", 3).u32("llama.embedding_length", 64);
  short_arr.arr_u32("llama.attention.head_count", {4, 4});
  CHECK(io::gguf_to_spec(parse_ok(short_arr.bytes())).error().message ==
        "x.gguf: llama.attention.head_count has 2 entries, but llama.block_count is 3");
  GgufWriter odd;
  odd.str("general.architecture", "llama\n").u32("llama.block_count", 1);
  CHECK(io::gguf_to_spec(parse_ok(odd.bytes())).error().message ==
        "x.gguf: general.architecture may hold only letters, digits, '.', '_' and '-'");
  GgufWriter unknown;
  unknown.str("general.architecture", "newarch").u32("newarch.block_count", 1).u32("newarch.embedding_length", 64);
  unknown.u32("newarch.attention.head_count", 4).u32("newarch.feed_forward_length", 128);
  const io::GgufModel u = spec_ok(parse_ok(unknown.bytes()));
  CHECK(u.warnings[0] == "architecture 'newarch' has no rules of its own in vramcalc; it is read with the standard keys");
  CHECK(u.warnings[1] == "newarch.context_length is missing: the model's maximum context is unknown; pass --ctx");
}

TEST_CASE("GGUF: split models read every part", "[gguf]") {
  TempDir dir;
  // One llama split in three: metadata in part 1, tensors spread over the parts.
  GgufWriter whole = tiny_llama_meta();
  add_llama_tensors(whole, 2, 64, 4, 2, 128, 100, g_f16);
  GgufWriter p1 = tiny_llama_meta();
  p1.u16("split.no", 0).u16("split.count", 3).i32("split.tensors.count", 21);
  p1.tensor("token_embd.weight", g_f16, {64, 100}).tensor("output_norm.weight", g_f32, {64});
  p1.tensor("output.weight", g_f16, {64, 100});
  GgufWriter p2, p3;
  p2.u16("split.no", 1).u16("split.count", 3).i32("split.tensors.count", 21);
  p3.u16("split.no", 2).u16("split.count", 3).i32("split.tensors.count", 21);
  for (int i = 0; i < 2; ++i) {
    GgufWriter& p = i == 0 ? p2 : p3;
    const std::string b = "blk." + std::to_string(i) + ".";
    p.tensor(b + "attn_norm.weight", g_f32, {64}).tensor(b + "attn_q.weight", g_f16, {64, 64});
    p.tensor(b + "attn_k.weight", g_f16, {64, 32}).tensor(b + "attn_v.weight", g_f16, {64, 32});
    p.tensor(b + "attn_output.weight", g_f16, {64, 64}).tensor(b + "ffn_norm.weight", g_f32, {64});
    p.tensor(b + "ffn_gate.weight", g_f16, {64, 128}).tensor(b + "ffn_up.weight", g_f16, {64, 128});
    p.tensor(b + "ffn_down.weight", g_f16, {128, 64});
  }
  const std::string first = dir.write("tiny-00001-of-00003.gguf", p1.bytes());
  dir.write("tiny-00002-of-00003.gguf", p2.bytes());
  const std::string third = dir.write("tiny-00003-of-00003.gguf", p3.bytes());

  auto parts = io::read_gguf_split(dir.file("tiny-00002-of-00003.gguf")); // any part finds the others
  REQUIRE(parts);
  REQUIRE(parts->size() == 3);
  CHECK((*parts)[0].origin == first);
  CHECK(io::gguf_tensor_bytes(*parts) == 174'336); // as the one-file model
  const auto model = io::gguf_to_spec(*parts);
  REQUIRE(model);
  CHECK(model->warnings.empty());
  CHECK(count_params(model->spec).total == 86'848);

  // one file that is not a split: a vector of one
  const std::string single = dir.write("single.gguf", whole.bytes());
  auto one = io::read_gguf_split(single);
  REQUIRE(one);
  CHECK(one->size() == 1);

  // a part whose split.no disagrees with its name
  dir.write("tiny-00003-of-00003.gguf", p2.bytes());
  CHECK(io::read_gguf_split(first).error().message ==
        third + ": split.no is 1, but the file name makes it part 3 (split.no 2)");
  // a missing part
  std::filesystem::remove(third);
  const auto missing = io::read_gguf_split(first);
  CHECK(missing.error().code == ErrorCode::io);
  CHECK(missing.error().message == first + ": part 3 of 3 is missing (" + third + ")");
}

TEST_CASE("GGUF: split file names", "[gguf]") {
  const auto n = io::parse_gguf_split_name("models/Llama-3-70B-Q4_K_M-00002-of-00010.gguf");
  REQUIRE(n);
  CHECK(n->prefix == "models/Llama-3-70B-Q4_K_M");
  CHECK(n->index == 2);
  CHECK(n->count == 10);
  CHECK(io::gguf_split_path(n->prefix, 3, 10) == "models/Llama-3-70B-Q4_K_M-00003-of-00010.gguf");
  CHECK_FALSE(io::parse_gguf_split_name("model.gguf"));
  CHECK_FALSE(io::parse_gguf_split_name("model-0001-of-00003.gguf")); // %05d
  CHECK_FALSE(io::parse_gguf_split_name("model-00004-of-00003.gguf"));
  CHECK_FALSE(io::parse_gguf_split_name("model-00000-of-00003.gguf"));
  CHECK_FALSE(io::parse_gguf_split_name("-00001-of-00003.gguf"));
  CHECK_FALSE(io::parse_gguf_split_name("model-00001-of-00003.bin"));
}

TEST_CASE("GGUF: files are read with pread, errors name the path", "[gguf]") {
  TempDir dir;
  GgufWriter w = tiny_llama_meta();
  add_llama_tensors(w, 2, 64, 4, 2, 128, 100, g_f16);
  const std::string path = dir.write("tiny.gguf", w.bytes());
  auto f = io::read_gguf_file(path);
  REQUIRE(f);
  CHECK(f->origin == path);
  CHECK(f->tensor_bytes() == 174'336);
  const auto missing = io::read_gguf_file(dir.file("absent.gguf"));
  CHECK(missing.error().code == ErrorCode::io);
  CHECK(missing.error().message == dir.file("absent.gguf") + ": cannot open: No such file or directory");
  std::filesystem::create_directory(dir.file("sub.gguf"));
  CHECK(io::read_gguf_file(dir.file("sub.gguf")).error().message == dir.file("sub.gguf") + ": is a directory, not a regular file");
}

TEST_CASE("GGUF: the malformed corpus", "[gguf]") {
  struct Case {
    std::string name;
    std::string bytes;
    std::string error;
    io::GgufReadOptions options{};
  };
  std::vector<Case> cases;
  auto add = [&](std::string name, std::string bytes, std::string error, io::GgufReadOptions options = {}) {
    cases.push_back({std::move(name), std::move(bytes), std::move(error), options});
  };
  auto with = [](auto&& edit) {
    GgufWriter w;
    edit(w);
    return w.bytes();
  };
  auto raw = [](auto&& edit) {
    Bytes b;
    edit(b);
    return b.str();
  };
  constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();
  // A tensor info: name, dims, ggml type, offset.
  auto info = [](const std::string& name, std::vector<std::int64_t> ne, std::uint32_t type, std::uint64_t offset) {
    Bytes b;
    b.str(name).u32(static_cast<std::uint32_t>(ne.size()));
    for (std::int64_t d : ne) b.i64(d);
    return b.u32(type).u64(offset);
  };

  // --- magic and version
  add("empty file", "", "x.gguf: truncated: the magic needs 4 bytes at offset 0, the file has 0");
  add("ggml magic", with([](GgufWriter& w) { w.magic = "GGML"; }), "x.gguf: not a GGUF file (magic 'GGML')");
  add("binary magic", with([](GgufWriter& w) { w.magic = std::string("\0\x01GG", 4); }),
      "x.gguf: not a GGUF file (magic '\\x00\\x01GG')");
  add("truncated version", std::string("GGUF\x03\x00", 6), "x.gguf: truncated: the version needs 4 bytes at offset 4, the file has 6");
  add("version 1", with([](GgufWriter& w) { w.version = 1; }),
      "x.gguf: GGUF version 1 is no longer supported (vramcalc reads versions 2 and 3) (at byte 4)");
  add("version 0", with([](GgufWriter& w) { w.version = 0; }), "x.gguf: GGUF version 0 is invalid (at byte 4)");
  add("version 4", with([](GgufWriter& w) { w.version = 4; }),
      "x.gguf: GGUF version 4 is not supported (vramcalc reads versions 2 and 3) (at byte 4)");
  add("big-endian", with([](GgufWriter& w) { w.version = 0x03000000; }),
      "x.gguf: GGUF version 50331648 looks byte-swapped: a big-endian file? vramcalc reads little-endian files (at byte 4)");

  // --- counts
  add("truncated tensor count", raw([](Bytes& b) { b.raw("GGUF").u32(3).u32(0); }),
      "x.gguf: truncated: the tensor count needs 8 bytes at offset 8, the file has 12");
  add("truncated metadata count", raw([](Bytes& b) { b.raw("GGUF").u32(3).u64(0).raw("abc"); }),
      "x.gguf: truncated: the metadata count needs 8 bytes at offset 16, the file has 19");
  add("negative tensor count", with([&](GgufWriter& w) { w.n_tensors_override = u64_max; }),
      "x.gguf: tensor count -1 is negative (at byte 8)");
  add("negative metadata count", with([](GgufWriter& w) { w.n_kv_override = 1ull << 63; }),
      "x.gguf: metadata count -9223372036854775808 is negative (at byte 16)");
  add("tensor count beyond the file", with([](GgufWriter& w) { w.n_tensors_override = 2; }),
      "x.gguf: tensor count 2 cannot fit: a tensor info takes at least 24 bytes and the file has 0 after the header (at byte 8)");
  add("metadata count beyond the file",
      with([](GgufWriter& w) {
        w.str("general.name", "x"); // 8 + 12 + 4 + 8 + 1 = 33 bytes
        w.n_kv_override = 3;
      }),
      "x.gguf: metadata count 3 cannot fit: a key-value pair takes at least 14 bytes and the file has 33 for them "
      "after the header and the tensor infos (at byte 16)");

  // --- metadata
  add("key longer than the file", with([](GgufWriter& w) { w.kv_verbatim(Bytes().u64(1000).raw("abcdef")); }),
      "x.gguf: truncated: metadata key 0 needs 1000 bytes at offset 32, the file has 38");
  add("empty key",
      with([](GgufWriter& w) {
        w.kv_verbatim(Bytes().str("").u32(t_u8).u8(1));
        w.u32("a.b", 1);
      }),
      "x.gguf: metadata key 0 is empty (at byte 24)");
  add("duplicate key", with([](GgufWriter& w) { w.str("general.name", "a").str("general.name", "b"); }),
      "x.gguf: metadata key 'general.name' appears twice (at byte 57)");
  add("control bytes in a key", with([](GgufWriter& w) { w.u8("\x1b[31m", 1).u8("\x1b[31m", 2); }),
      "x.gguf: metadata key '\\x1b[31m' appears twice (at byte 42)");
  add("unknown value type", with([](GgufWriter& w) { w.kv_raw("a.b", 13, Bytes().u32(0)); }),
      "x.gguf: metadata key 'a.b' has unknown value type 13 (at byte 35)");
  add("nested array", with([](GgufWriter& w) { w.kv_raw("a.b", t_array, Bytes().u32(t_array).u64(1).u32(t_u8).u64(0)); }),
      "x.gguf: metadata key 'a.b' is an array of arrays, which GGUF does not allow (at byte 35)");
  add("array of an unknown type", with([](GgufWriter& w) { w.kv_raw("a.b", t_array, Bytes().u32(42).u64(0)); }),
      "x.gguf: metadata key 'a.b' is an array of unknown value type 42 (at byte 35)");
  add("array count beyond the file", with([](GgufWriter& w) { w.kv_raw("a.b", t_array, Bytes().u32(t_u32).u64(1'000'000'000).u32(1)); }),
      "x.gguf: truncated: the 1000000000 u32 elements of key 'a.b' need 4 bytes each at offset 51, the file has 55");
  add("string array count beyond the file",
      with([](GgufWriter& w) { w.kv_raw("a.b", t_array, Bytes().u32(t_string).u64(1ull << 40).u64(0)); }),
      "x.gguf: truncated: the 1099511627776 string elements of key 'a.b' need at least 8 bytes each at offset 51, the "
      "file has 59");
  add("string longer than the file",
      with([](GgufWriter& w) { w.kv_raw("general.name", t_string, Bytes().u64(1ull << 50).raw("ab")); }),
      "x.gguf: truncated: the value of key 'general.name' needs 1125899906842624 bytes at offset 56, the file has 58");
  add("array string longer than the file",
      with([](GgufWriter& w) { w.kv_raw("a.b", t_array, Bytes().u32(t_string).u64(2).str("a").u64(100)); }),
      "x.gguf: truncated: element 1 of key 'a.b' needs 100 bytes at offset 68, the file has 68");
  add("truncated scalar", with([](GgufWriter& w) { w.kv_raw("a.b", t_u64, Bytes().u32(7)); }),
      "x.gguf: truncated: the value of key 'a.b' needs 8 bytes at offset 39, the file has 43");
  add("alignment of the wrong type", with([](GgufWriter& w) { w.u64("general.alignment", 64); }),
      "x.gguf: general.alignment must be a u32, not u64 (at byte 24)");
  add("alignment not a power of two", with([](GgufWriter& w) { w.u32("general.alignment", 48); }),
      "x.gguf: general.alignment 48 is not a power of two (at byte 24)");
  add("alignment zero", with([](GgufWriter& w) { w.u32("general.alignment", 0); }),
      "x.gguf: general.alignment 0 is not a power of two (at byte 24)");
  add("header above the limit", with([](GgufWriter& w) { w.str("general.name", "hello"); }),
      "x.gguf: metadata key 0 at offset 32 runs past the 40-byte header limit", {.max_header_bytes = 40});

  // --- tensor infos
  add("truncated tensor info",
      with([&](GgufWriter& w) {
        w.tensor_info_raw(info("a", {32}, 0, 0));
        w.tensor_info_raw(Bytes().zeros(20));
      }),
      "x.gguf: truncated: tensor info 1 needs 24 bytes at offset 57, the file has 77");
  add("name too long", with([&](GgufWriter& w) { w.tensor_info_raw(info(std::string(64, 'n'), {32}, 0, 0)); }),
      "x.gguf: tensor info 0 has a name of 64 bytes; ggml allows at most 63 (at byte 24)");
  add("duplicate tensor name", with([](GgufWriter& w) { w.tensor("a", g_f32, {8}).tensor("a", g_f32, {8}); }),
      "x.gguf: tensor name 'a' appears twice (tensor infos 0 and 1) (at byte 57)");
  add("five dimensions", with([&](GgufWriter& w) { w.tensor_info_raw(info("a", {1, 1, 1, 1, 1}, 0, 0)); }),
      "x.gguf: tensor 'a' has 5 dimensions; ggml allows at most 4 (at byte 24)");
  add("negative dimension", with([&](GgufWriter& w) { w.tensor_info_raw(info("a", {4, -3}, 0, 0)); }),
      "x.gguf: tensor 'a' dimension 1 is negative (-3) (at byte 24)");
  add("element count overflow", with([&](GgufWriter& w) { w.tensor_info_raw(info("a", {1ll << 32, 1ll << 32}, 0, 0)); }),
      "x.gguf: tensor 'a' has too many elements: 4294967296 x 4294967296 does not fit in a 64-bit signed count (at byte 24)");
  add("byte count overflow", with([&](GgufWriter& w) { w.tensor_info_raw(info("a", {1ll << 62}, 28, 0)); }),
      "x.gguf: tensor 'a' takes more bytes than fit in 64 bits (at byte 24)");
  add("unknown ggml type", with([&](GgufWriter& w) { w.tensor_info_raw(info("a", {32}, 99, 0)); }),
      "x.gguf: tensor 'a' has ggml type 99, which is unknown or removed (at byte 24)");
  add("removed ggml type", with([&](GgufWriter& w) { w.tensor_info_raw(info("a", {32}, 4, 0)); }),
      "x.gguf: tensor 'a' has ggml type 4, which is unknown or removed (at byte 24)");
  add("row not a multiple of the block", with([&](GgufWriter& w) { w.tensor_info_raw(info("a", {33, 2}, 2, 0)); }),
      "x.gguf: tensor 'a' of type q4_0 has rows of 33 elements, not a multiple of its 32-element block (at byte 24)");
  add("truncated dimension", with([&](GgufWriter& w) { w.tensor_info_raw(Bytes().str("a").u32(4).u64(1).u64(1).u64(1)); }),
      "x.gguf: truncated: dimension 3 of tensor 'a' needs 8 bytes at offset 61, the file has 61");

  // --- offsets and data
  add("misaligned offset", with([](GgufWriter& w) { w.tensor("a", g_f32, {8}).tensor("b", g_f32, {8}, 40); }),
      "x.gguf: tensor 'b' has data offset 40, not a multiple of the 32-byte alignment (at byte 57)");
  add("overlapping offset", with([](GgufWriter& w) { w.tensor("a", g_f32, {8}).tensor("b", g_f32, {8}, 0); }),
      "x.gguf: tensor 'b' has data offset 0, overlapping the tensor before it, which ends at 32 (padded to 32 bytes) (at byte 57)");
  add("gap between tensors", with([](GgufWriter& w) { w.tensor("a", g_f32, {8}).tensor("b", g_f32, {8}, 64); }),
      "x.gguf: tensor 'b' has data offset 64, leaving a gap: expected 32 (at byte 57)");
  add("first tensor not at 0", with([](GgufWriter& w) { w.tensor("a", g_f32, {8}, 32); }),
      "x.gguf: tensor 'a' has data offset 32, leaving a gap: expected 0 (at byte 24)");
  add("data past the end", with([](GgufWriter& w) {
        w.tensor("a", g_f32, {8}).tensor("b", g_f32, {8}); // header 90 -> data at 96; b at 128..160
        w.truncate_to = 150;
      }),
      "x.gguf: truncated: the data of tensor 'b' needs 32 bytes at offset 128, the file has 150");
  add("data section past the end", with([](GgufWriter& w) {
        w.tensor("a", g_f32, {0}); // header 57 -> data at 64
        w.truncate_to = 57;
      }),
      "x.gguf: truncated: the data section starts at offset 64 (the header padded to 32 bytes), the file has 57");

  CHECK(cases.size() >= 30);
  for (const Case& c : cases) {
    INFO(c.name);
    CHECK(parse_error(c.bytes, c.options) == c.error);
  }
}

TEST_CASE("GGUF: every truncation and single-byte corruption is read or refused, never crashes", "[gguf]") {
  GgufWriter w = tiny_llama_meta();
  w.arr_str("tokenizer.ggml.tokens", {"<s>", "</s>", "a"}).arr_i32("llama.expert_used_count", {2, 0});
  add_llama_tensors(w, 2, 64, 4, 2, 128, 100, g_q8_0);
  const std::string good = w.bytes();
  const std::uint64_t header = parse_ok(good).header_bytes;
  std::uint64_t refused = 0;
  for (std::uint64_t cut = 0; cut < header + 64; ++cut) {
    refused += io::parse_gguf(io::memory_source(std::string_view(good).substr(0, cut)), "x.gguf") ? 0u : 1u;
  }
  CHECK(refused == header + 64); // the data section is part of the file: every cut is refused
  for (std::uint64_t i = 0; i < header; ++i) {
    for (int v : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
      std::string bad = good;
      bad[static_cast<std::size_t>(i)] = static_cast<char>(v);
      const auto f = io::parse_gguf(io::memory_source(bad), "x.gguf");
      if (f) (void)io::gguf_to_spec(*f); // must not crash on odd values either
    }
  }
}

TEST_CASE("GGUF: real llama.cpp files parse to llama.cpp's own numbers", "[shared]") {
  const std::string dir = shared_dir() + "/fixtures/gguf";
  if (!std::filesystem::is_directory(dir)) {
    VRAMCALC_SKIP("no shared fixtures at " << dir << " (set VRAMCALC_SHARED_DIR)");
  }
  // Measured with the llama.cpp of node-llama-cpp@3.21.1 (CPU, its kvprobe tool):
  //   run.sh measure FILE 1024 1 f16 f16 1   (n_ctx 1024, 1 sequence, f16 K and V, flash
  //   attention on, kv_unified off, swa_full at its default: on; kvprobe sets n_ubatch 32)
  // llama_model_size = llama.cpp's sum of ggml_nbytes; context_bytes = the KV cache.
  struct Measured {
    const char* file;
    std::uint64_t llama_model_size;
    std::uint64_t context_bytes;
  };
  constexpr Measured measured[] = {
      {"llama-2-tiny-random.gguf", 1'026'144, 32'768},
      {"tiny-gemma3-swa-f16.gguf", 8'944'640, 3'145'728},
      {"tiny-llama-bf16.gguf", 2'888'704, 1'048'576},
      {"tiny-llama-f16-align64.gguf", 2'888'704, 1'048'576},
      {"tiny-llama-f16.gguf", 2'888'704, 1'048'576},
      {"tiny-llama-iq4_nl.gguf", 849'920, 1'048'576},
      {"tiny-llama-iq4_xs.gguf", 808'960, 1'048'576},
      {"tiny-llama-q2_k.gguf", 589'312, 1'048'576},
      {"tiny-llama-q3_k_m.gguf", 744'960, 1'048'576},
      {"tiny-llama-q4_0.gguf", 816'128, 1'048'576},
      {"tiny-llama-q4_k_m.gguf", 892'160, 1'048'576},
      {"tiny-llama-q5_1.gguf", 1'086'464, 1'048'576},
      {"tiny-llama-q5_k_s.gguf", 1'013'760, 1'048'576},
      {"tiny-llama-q6_k.gguf", 1'187'840, 1'048'576},
      {"tiny-llama-q8_0-mixed.gguf", 1'782'784, 1'048'576},
      {"tiny-llama-q8_0.gguf", 1'537'024, 1'048'576},
      {"tiny-llama-tq1_0.gguf", 435'200, 1'048'576},
  };
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files += e.path().extension() == ".gguf" ? 1u : 0u;
  CHECK(files == std::size(measured)); // every fixture has its measurement

  for (const Measured& m : measured) {
    INFO(m.file);
    const auto f = io::read_gguf_file(dir + "/" + m.file);
    REQUIRE(f);
    CHECK(f->tensor_bytes() == m.llama_model_size);
    const auto g = io::gguf_to_spec(*f);
    REQUIRE(g);
    const ModelSpec& s = g->spec;
    for (const std::string& w : g->warnings) CHECK_FALSE(w.starts_with("the file's tensors hold")); // params agree
    const std::string name = m.file;
    if (name.starts_with("tiny-llama")) {
      CHECK(s.num_layers == 2);
      CHECK(s.hidden_size == 256);
      CHECK(s.attention.num_heads == 4);
      CHECK(s.attention.num_kv_heads == 2);
      CHECK(s.attention.head_dim == 64);
      CHECK(s.vocab_size == 512);
      // 2 layers x 2 x 2 KV heads x 64 x 2 bytes x 1,024 cells
      CHECK(kv_cache(s, Dtype::f16, 1024, 1).total_bytes == m.context_bytes);
    } else if (name == "llama-2-tiny-random.gguf") {
      CHECK(s.num_layers == 1);
      CHECK(s.hidden_size == 8);
      CHECK(s.attention.num_heads == 2);
      CHECK(s.attention.num_kv_heads == 2);
      CHECK(s.attention.head_dim == 4);
      CHECK(s.vocab_size == 32000);
      // 1 layer x 2 x 2 x 4 x 2 bytes x 1,024
      CHECK(kv_cache(s, Dtype::f16, 1024, 1).total_bytes == m.context_bytes);
    } else {
      // tiny gemma3: 6 layers, 4 heads of 128 (256 wide), 1 KV head, window 128, tied
      CHECK(s.num_layers == 6);
      CHECK(s.attention.num_heads == 4);
      CHECK(s.attention.num_kv_heads == 1);
      CHECK(s.attention.head_dim == 128);
      CHECK(s.attention.sliding_window == 128);
      CHECK(s.tie_word_embeddings);
      std::string pattern;
      for (const LayerSpec& l : s.layers) pattern += l.attention == AttentionKind::sliding ? 'S' : 'F';
      CHECK(pattern == "SSSSSF");
      // Engine-neutral (vramcalc::kv_cache): a sliding layer holds min(context, window) tokens.
      // per layer per token: 2 x 1 x 128 x 2 bytes = 512; 5 x 512 x 128 + 512 x 1,024 = 851,968
      CHECK(kv_cache(s, Dtype::f16, 1024, 1).total_bytes == 851'968);
      // llama.cpp allocates cells, not tokens (llama-kv-cache-iswa.cpp): with swa_full (the
      // default in this build) every layer gets n_ctx padded to 256; without it, sliding layers
      // get PAD256(min(n_ctx, n_swa x n_seq + n_ubatch)) cells.
      auto llamacpp_kv = [&](bool swa_full, std::uint64_t n_ubatch) {
        const std::uint64_t cells = (1024 + 255) / 256 * 256;
        const std::uint64_t swa_cells = swa_full ? cells : (std::min(cells, 128 * 1 + n_ubatch) + 255) / 256 * 256;
        std::uint64_t total = 0;
        for (const LayerSpec& l : s.layers) {
          total += kv_bytes_per_token(s, l, Dtype::f16) * (l.attention == AttentionKind::sliding ? swa_cells : cells);
        }
        return total;
      };
      CHECK(llamacpp_kv(true, 32) == m.context_bytes); // 6 x 512 x 1,024 = 3,145,728
      // measured with swa_full off (run.sh measure ... 1 0 0): 1,179,648 =
      // 5 x 512 x PAD256(128 + 32) + 512 x 1,024 = 5 x 512 x 256 + 524,288
      CHECK(llamacpp_kv(false, 32) == 1'179'648);
    }
  }
}
