// safetensors header reader and sharded index, on files written in memory by
// tests/support/safetensors_writer.hpp; [shared] reads the safetensors project's samples.
#include "../support/safetensors_writer.hpp"
#include "../support/shared_dir.hpp"
#include "../support/skip.hpp"
#include "vramcalc/io/safetensors.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

using namespace vramcalc;
using namespace vramcalc::test;

namespace {

io::SafetensorsSet parse_ok(const std::string& bytes) {
  auto r = io::parse_safetensors(io::memory_source(bytes), "x.safetensors");
  if (!r) FAIL(r.error().message);
  return *r;
}

std::string parse_error(const std::string& bytes) {
  auto r = io::parse_safetensors(io::memory_source(bytes), "x.safetensors");
  return r ? "(parsed)" : r.error().message;
}

std::string header_len(std::uint64_t n) {
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  return out;
}

} // namespace

TEST_CASE("safetensors: every dtype, sized from its bits", "[safetensors]") {
  struct D {
    const char* name;
    std::uint32_t bits;
  };
  constexpr D dtypes[] = {{"BOOL", 8},        {"F4", 4},          {"F6_E2M3", 6},     {"F6_E3M2", 6}, {"U8", 8},
                          {"I8", 8},          {"F8_E5M2", 8},     {"F8_E4M3", 8},     {"F8_E8M0", 8}, {"F8_E4M3FNUZ", 8},
                          {"F8_E5M2FNUZ", 8}, {"I16", 16},        {"U16", 16},        {"F16", 16},    {"BF16", 16},
                          {"I32", 32},        {"U32", 32},        {"F32", 32},        {"C64", 64},    {"F64", 64},
                          {"I64", 64},        {"U64", 64}};
  SafetensorsWriter w;
  w.metadata("format", "pt");
  for (const D& d : dtypes) {
    CHECK(io::safetensors_dtype_bits(d.name) == d.bits);
    w.tensor(std::string("t.") + d.name, d.name, {2, 4}, d.bits); // 8 elements
  }
  CHECK(io::safetensors_dtype_bits("F128") == 0);
  CHECK(io::safetensors_dtype_bits("bf16") == 0); // names are case-sensitive
  const io::SafetensorsSet s = parse_ok(w.bytes());
  REQUIRE(s.tensors.size() == 22);
  CHECK(s.metadata.at("format") == "pt");
  // 8 elements each: 4 x 8-bit... : BOOL 8 + F4 4 + F6 6 + 6 + 7 one-byte types x 8 + 4 x 16
  // + 3 x 32 + 4 x 64 = 24 + 56 + 64 + 96 + 256 = 496
  CHECK(s.tensor_bytes() == 496);
  CHECK(s.file_bytes == w.bytes().size());
  CHECK(s.files == std::vector<std::string>{"x.safetensors"});
  // sorted by offset: the writer's order
  CHECK(s.tensors[0].name == "t.BOOL");
  CHECK(s.tensors[1].name == "t.F4");
  CHECK(s.tensors[1].bytes() == 4); // 8 x 4 bits
  CHECK(s.tensors[2].bytes() == 6); // 8 x 6 bits
  CHECK(s.tensors[18].dtype == "C64");
  CHECK(s.tensors[18].bytes() == 64);
  CHECK(s.tensors[18].elements() == 8);
  CHECK(std::ranges::equal(s.tensors[18].shape, std::vector<std::uint64_t>{2, 4}));
  CHECK(s.files[s.tensors[18].file_index] == "x.safetensors");
}

TEST_CASE("safetensors: headers in any order, zero-sized tensors, an empty file", "[safetensors]") {
  // offsets need not follow the JSON order; zero-sized tensors sit anywhere in the run
  const std::string j = R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[6,14]},)"
                        R"("z":{"dtype":"F16","shape":[0,3],"data_offsets":[6,6]},)"
                        R"("a":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]},"s":{"dtype":"I64","shape":[],"data_offsets":[14,22]}})";
  const io::SafetensorsSet s = parse_ok(safetensors_file(j, 22, /*pad=*/false));
  REQUIRE(s.tensors.size() == 4);
  CHECK(s.tensors[0].name == "a");
  CHECK(s.tensors[1].name == "z");
  CHECK(s.tensors[3].elements() == 1); // a scalar: shape []
  CHECK(s.tensor_bytes() == 22);
  // the reference writer's output for no tensors: "{}" padded to 8 bytes
  const io::SafetensorsSet e = parse_ok(safetensors_file("{}", 0));
  CHECK(e.tensors.empty());
  CHECK(e.file_bytes == 16);
}

TEST_CASE("safetensors: the malformed corpus", "[safetensors]") {
  struct Case {
    std::string name;
    std::string bytes;
    std::string error;
  };
  auto one = [](const std::string& entry, std::uint64_t data) { return safetensors_file("{" + entry + "}", data); };
  const std::vector<Case> cases = {
      {"empty file", "", "x.safetensors: truncated: the header length needs 8 bytes at offset 0, the file has 0"},
      {"five bytes", std::string("\x05\0\0\0\0", 5), "x.safetensors: truncated: the header length needs 8 bytes at offset 0, the file has 5"},
      {"header above the cap", header_len(200'000'000) + "{}",
       "x.safetensors: header length 200000000 exceeds the 100,000,000-byte limit"},
      {"header longer than the file", header_len(100) + "{\"a\":1}   ",
       "x.safetensors: truncated: the JSON header needs 100 bytes at offset 8, the file has 18"},
      {"invalid JSON", safetensors_file("{\"a\":", 0),
       "x.safetensors:1:9: invalid JSON: syntax error while parsing value - unexpected end of input; expected '[', "
       "'{', or a literal"},
      {"not an object", safetensors_file("[1,2]", 0), "x.safetensors: the header is not a JSON object"},
      {"duplicate tensor name",
       one(R"("a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]})", 2),
       "x.safetensors: /a: duplicate key"},
      {"entry not an object", one(R"("a":[1])", 0),
       "x.safetensors: /a: expected an object with dtype, shape and data_offsets"},
      {"missing data_offsets", one(R"("a":{"dtype":"U8","shape":[1]})", 1), "x.safetensors: /a: missing key 'data_offsets'"},
      {"unknown dtype", one(R"("a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]})", 16),
       "x.safetensors: /a/dtype: unknown dtype 'F128'"},
      {"dtype not a string", one(R"("a":{"dtype":16,"shape":[1],"data_offsets":[0,2]})", 2),
       "x.safetensors: /a/dtype: expected a string, got 16"},
      {"negative dimension", one(R"("a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]})", 0),
       "x.safetensors: /a/shape: dimensions must be non-negative integers, got -1"},
      {"fractional dimension", one(R"("a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,0]})", 0),
       "x.safetensors: /a/shape: dimensions must be non-negative integers, got 1.5"},
      {"offsets not a pair", one(R"("a":{"dtype":"U8","shape":[1],"data_offsets":[0]})", 1),
       "x.safetensors: /a/data_offsets: expected [begin, end], got [0]"},
      {"end before begin", one(R"("a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]})", 4),
       "x.safetensors: /a/data_offsets: end 0 is before begin 4"},
      {"size disagrees with the shape", one(R"("a":{"dtype":"F16","shape":[3],"data_offsets":[0,8]})", 8),
       "x.safetensors: /a: data_offsets [0, 8] hold 8 bytes, but shape [3] of F16 takes 6"},
      {"a fraction of a byte", one(R"("a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]})", 2),
       "x.safetensors: /a: 3 elements of F4 take 12 bits, not a whole number of bytes"},
      {"shape product overflows", one(R"("a":{"dtype":"U8","shape":[4294967296,4294967296,16],"data_offsets":[0,0]})", 0),
       "x.safetensors: /a/shape: [4294967296, 4294967296, 16] x 8 bits does not fit in 64 bits"},
      {"bits overflow", one(R"("a":{"dtype":"U64","shape":[4294967296,1073741824],"data_offsets":[0,0]})", 0),
       "x.safetensors: /a/shape: [4294967296, 1073741824] x 64 bits does not fit in 64 bits"},
      {"overlapping tensors",
       one(R"("a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[8],"data_offsets":[4,12]})", 12),
       "x.safetensors: tensor 'b' at data_offsets [4, 12] overlaps tensor 'a' at [0, 8]"},
      {"gap between tensors",
       one(R"("a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[8],"data_offsets":[10,18]})", 18),
       "x.safetensors: tensor 'b' at data_offsets [10, 18] leaves a gap: the data before it ends at 8"},
      {"control bytes in a name", one(R"("\u001b[2J":{"dtype":"U8","shape":[8],"data_offsets":[4,12]})", 12),
       "x.safetensors: tensor '\\x1b[2J' at data_offsets [4, 12] leaves a gap: the data before it ends at 0"},
      {"first tensor not at 0", one(R"("a":{"dtype":"U8","shape":[8],"data_offsets":[4,12]})", 12),
       "x.safetensors: tensor 'a' at data_offsets [4, 12] leaves a gap: the data before it ends at 0"},
      {"data past the tensors", safetensors_file(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})", 16, false),
       "x.safetensors: the tensors cover 8 bytes of data, but the file has 16 after the 53-byte header"},
      {"data shorter than the tensors", safetensors_file(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})", 4, false),
       "x.safetensors: the tensors cover 8 bytes of data, but the file has 4 after the 53-byte header"},
      {"metadata value not a string", safetensors_file(R"({"__metadata__":{"k":1}})", 0),
       "x.safetensors: /__metadata__/k: expected a string, got 1"},
      {"metadata not an object", safetensors_file(R"({"__metadata__":"pt"})", 0),
       "x.safetensors: /__metadata__: expected an object of strings"},
      {"invalid UTF-8", safetensors_file("{\"\xff\":1}", 0),
       "x.safetensors:1:3: invalid JSON: syntax error while parsing object key - invalid string: ill-formed UTF-8 "
       "byte; last read: '\"\\xff'; expected string literal"}, // nlohmann quotes the raw byte; shown escaped
  };
  for (const Case& c : cases) {
    INFO(c.name);
    CHECK(parse_error(c.bytes) == c.error);
  }
}

TEST_CASE("safetensors: every truncation and single-byte corruption is read or refused, never crashes", "[safetensors]") {
  SafetensorsWriter w;
  w.metadata("format", "pt").tensor("a", "BF16", {4, 4}, 16).tensor("b", "F4", {2, 8}, 4).tensor("c", "U8", {3}, 8);
  const std::string good = w.bytes();
  for (std::size_t cut = 0; cut < good.size(); ++cut) {
    CHECK_FALSE(io::parse_safetensors(io::memory_source(std::string_view(good).substr(0, cut)), "x"));
  }
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (int v : {0x00, 0x22, 0x30, 0x7f, 0xff}) {
      std::string bad = good;
      bad[i] = static_cast<char>(v);
      (void)io::parse_safetensors(io::memory_source(bad), "x");
    }
  }
}

TEST_CASE("safetensors: a sharded checkpoint through its index", "[safetensors]") {
  TempDir dir;
  SafetensorsWriter s1, s2;
  s1.metadata("format", "pt");
  s1.tensor("model.embed_tokens.weight", "BF16", {4, 4}, 16); // 32 bytes
  s1.tensor("model.norm.weight", "F32", {2}, 32);             // 8 bytes
  s2.metadata("format", "pt");
  s2.tensor("lm_head.weight", "I64", {3}, 64);                // 24 bytes
  const std::string shard1 = dir.write("model-00001-of-00002.safetensors", s1.bytes());
  const std::string shard2 = dir.write("model-00002-of-00002.safetensors", s2.bytes());
  auto index = [&](const std::string& total, const std::string& map) {
    return dir.write("model.safetensors.index.json", R"({"metadata": {"total_size": )" + total +
                                                         R"(}, "weight_map": {)" + map + "}}");
  };
  const std::string good_map = R"("model.embed_tokens.weight": "model-00001-of-00002.safetensors",
      "model.norm.weight": "model-00001-of-00002.safetensors", "lm_head.weight": "model-00002-of-00002.safetensors")";
  const std::string path = index("64", good_map);

  auto set = io::read_safetensors_index(path);
  REQUIRE(set);
  CHECK(set->files == std::vector<std::string>{shard1, shard2});
  CHECK(set->tensors.size() == 3);
  CHECK(set->tensor_bytes() == 32 + 8 + 24);
  CHECK(set->file_bytes == s1.bytes().size() + s2.bytes().size());
  CHECK(set->metadata.at("format") == "pt");
  CHECK(set->files[set->tensors[2].file_index] == shard2);
  CHECK(set->warnings.empty());

  index("65", good_map);
  CHECK(io::read_safetensors_index(path)->warnings ==
        std::vector<std::string>{"metadata.total_size is 65, but the shards' tensors take 64 bytes"});

  // a tensor the index places in the wrong shard
  index("64", R"("model.embed_tokens.weight": "model-00001-of-00002.safetensors",
      "model.norm.weight": "model-00002-of-00002.safetensors", "lm_head.weight": "model-00002-of-00002.safetensors")");
  CHECK(io::read_safetensors_index(path).error().message ==
        path + ": /weight_map/model.norm.weight: the index names shard model-00002-of-00002.safetensors, but "
               "model-00001-of-00002.safetensors holds the tensor");
  // a mapped tensor no shard holds
  index("64", good_map + R"(, "extra.weight": "model-00002-of-00002.safetensors")");
  CHECK(io::read_safetensors_index(path).error().message ==
        path + ": /weight_map/extra.weight: shard model-00002-of-00002.safetensors does not hold the tensor");
  // a shard tensor the index does not map: read, with a warning
  index("64", R"("model.embed_tokens.weight": "model-00001-of-00002.safetensors",
      "lm_head.weight": "model-00002-of-00002.safetensors")");
  const auto extra = io::read_safetensors_index(path);
  REQUIRE(extra);
  CHECK(extra->warnings == std::vector<std::string>{
                               "model-00001-of-00002.safetensors holds tensor 'model.norm.weight', which the index does not map"});
  // a shard outside the directory
  index("64", R"("a": "../model-00001-of-00002.safetensors")");
  CHECK(io::read_safetensors_index(path).error().message ==
        path + ": /weight_map: shard '../model-00001-of-00002.safetensors' is not a file name inside the checkpoint's directory");
  // a missing shard
  index("64", good_map + R"(, "x": "model-00003-of-00003.safetensors")");
  const auto missing = io::read_safetensors_index(path);
  CHECK(missing.error().code == ErrorCode::io);
  CHECK(missing.error().message == dir.file("model-00003-of-00003.safetensors") + ": cannot open: No such file or directory");
  // the same tensor in two shards
  SafetensorsWriter dup;
  dup.tensor("lm_head.weight", "I64", {3}, 64);
  dir.write("model-00003-of-00003.safetensors", dup.bytes());
  index("64", good_map + R"(, "x": "model-00003-of-00003.safetensors")");
  CHECK(io::read_safetensors_index(path).error().message ==
        path + ": tensor 'lm_head.weight' is in two shards: model-00002-of-00002.safetensors and "
               "model-00003-of-00003.safetensors");
  // an index without a weight_map
  dir.write("model.safetensors.index.json", R"({"metadata": {}})");
  CHECK(io::read_safetensors_index(path).error().message ==
        path + ": /weight_map: missing; expected an object of tensor name -> shard file");
}

TEST_CASE("safetensors: the index text on its own", "[safetensors]") {
  const auto index = io::parse_safetensors_index(
      R"({"metadata": {"total_size": 1.5e10}, "weight_map": {"b": "s2.safetensors", "a": "s1.safetensors",
          "c": "s1.safetensors"}})",
      "i.json");
  REQUIRE(index);
  CHECK(index->weight_map.size() == 3);
  CHECK(index->shards == std::vector<std::string>{"s1.safetensors", "s2.safetensors"});
  CHECK(index->total_size == 15'000'000'000u);
  const auto err = [](const char* text) {
    auto r = io::parse_safetensors_index(text, "i.json");
    return r ? std::string("(parsed)") : r.error().message;
  };
  CHECK(err(R"({"weight_map": {}})") == "i.json: /weight_map: maps no tensors");
  CHECK(err(R"({"weight_map": {"a": 1}})") == "i.json: /weight_map/a: expected a shard file name, got 1");
  CHECK(err(R"({"metadata": [], "weight_map": {"a": "s"}})") == "i.json: /metadata: expected an object");
  CHECK(err("[]") == "i.json: expected a JSON object");
}

TEST_CASE("safetensors: the safetensors project's sample files", "[shared]") {
  const std::string dir = shared_dir() + "/fixtures/safetensors";
  if (!std::filesystem::is_directory(dir)) {
    VRAMCALC_SKIP("no shared fixtures at " << dir << " (set VRAMCALC_SHARED_DIR)");
  }
  // data bytes = file size - 8 - header length; each sample holds shape [6] of its dtype
  struct Sample {
    const char* file;
    const char* dtype;
    std::uint64_t bytes;
  };
  constexpr Sample samples[] = {{"B.safetensors", "U8", 6},   {"H.safetensors", "U16", 12}, {"I.safetensors", "U32", 24},
                                {"b.safetensors", "I8", 6},   {"d.safetensors", "F64", 48}, {"e.safetensors", "F16", 12},
                                {"f.safetensors", "F32", 24}, {"h.safetensors", "I16", 12}, {"i.safetensors", "I32", 24}};
  for (const Sample& s : samples) {
    INFO(s.file);
    const auto r = io::read_safetensors_file(dir + "/" + s.file);
    REQUIRE(r);
    REQUIRE(r->tensors.size() == 1);
    CHECK(r->tensors[0].dtype == s.dtype);
    CHECK(std::ranges::equal(r->tensors[0].shape, std::vector<std::uint64_t>{6}));
    CHECK(r->tensor_bytes() == s.bytes);
    CHECK(r->metadata.at("test") == "a");
  }
  const auto all = io::read_safetensors_file(dir + "/overall.safetensors");
  REQUIRE(all);
  CHECK(all->tensors.size() == 9);
  CHECK(all->tensor_bytes() == 6 + 12 + 24 + 6 + 48 + 12 + 24 + 12 + 24); // 168
  CHECK(all->file_bytes == 702);                                          // 8 + 526 + 168
}
