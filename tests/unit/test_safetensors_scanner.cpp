// The safetensors header scanner (src/io/safetensors_header.cpp) against the reader it
// replaced (tests/support/safetensors_reference.hpp): on every header below, the same
// tensors and metadata, or the same message, word for word.
#include "../support/safetensors_reference.hpp"
#include "../support/safetensors_scan.hpp"
#include "../support/safetensors_writer.hpp"
#include "io/safetensors_header.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

using namespace vramcalc;
using namespace vramcalc::test;

namespace {

std::string in_quotes(std::string_view s) { return "'" + excerpt(s, 300) + "'"; }

// "" when the scanner and the previous reader agree on `text`, else what differs.
std::string differ(std::string_view text) {
  const auto ref = reference::read_header(text, "x.safetensors");
  io::SafetensorsSet set;
  const auto refusal = scan_safetensors_header(text, "x.safetensors", set);
  if (refusal && refusal->empty()) return "the scanner refused with an empty message";
  const std::string message = refusal.value_or("");
  if (!ref) {
    return message == ref.error() ? "" : "previous: " + in_quotes(ref.error()) + ", scanner: " + in_quotes(message);
  }
  if (!message.empty()) return "previous read it, scanner: " + in_quotes(message);
  if (set.metadata != ref->metadata) return "metadata differ";
  if (set.tensors.size() != ref->tensors.size()) {
    return std::to_string(ref->tensors.size()) + " tensors before, " + std::to_string(set.tensors.size()) + " now";
  }
  for (std::size_t i = 0; i < set.tensors.size(); ++i) {
    const io::SafetensorsTensor& t = set.tensors[i];
    const reference::Tensor& r = ref->tensors[i];
    if (t.name != r.name || t.dtype != r.dtype || !std::ranges::equal(t.shape, r.shape) || t.begin != r.begin ||
        t.end != r.end) {
      return "tensor " + std::to_string(i) + " differs: " + in_quotes(r.name) + " before, " + in_quotes(t.name) + " now";
    }
  }
  return "";
}


const std::string ok_a = R"("a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]})";

// Headers read the usual way and every unusual way the scanner handles on its own.
std::vector<std::string> corpus() {
  std::vector<std::string> c;
  const auto entry = [](const std::string& body) { return "{\"a\":" + body + "}"; };
  // valid: every dtype, metadata, shapes, orders, whitespace, escapes, a BOM
  SafetensorsWriter w;
  w.metadata("format", "pt").metadata("note", "x\\u00e9\\n\\\"q\\\"");
  for (const char* d : {"BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ",
                        "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64"}) {
    w.tensor(std::string("t.") + d, d, {2, 4}, io::safetensors_dtype_bits(d));
  }
  c.push_back(w.json());
  c.push_back("{}");
  c.push_back(" \t\r\n{ \t\r\n} \t\r\n");
  c.push_back("\xEF\xBB\xBF{" + ok_a + "}");
  c.push_back(R"({"b":{"data_offsets":[6,14],"shape":[2],"dtype":"F32"},"a":{"shape":[3],"dtype":"BF16","data_offsets":[0,6]}})");
  c.push_back("{ \"a\" : { \"dtype\" : \"U8\" , \"shape\" : [ 2 , 3 ] , \"data_offsets\" : [ 0 , 6 ] } }");
  c.push_back(R"({"s":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"z":{"dtype":"F16","shape":[0,3],"data_offsets":[8,8]}})");
  c.push_back(R"({"\u0061\u00e9\ud83d\ude00\/\\\"\b\f\n\r\t\u0000~/":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})");
  c.push_back(R"({"a":{"dty\u0070e":"\u0055\u0038","shape":[1],"data_offsets":[0,1]}})");
  c.push_back("{\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xED\x9F\xBF\xEE\x80\x80\xF4\x8F\xBF\xBF\x7F\":"
              R"({"dtype":"U8","shape":[1],"data_offsets":[0,1]}})");
  c.push_back(R"({"__metadata__":{},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})");
  c.push_back(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"__metadata__":{"k":"v","k2":""}})");
  c.push_back(R"({"__metadata__":{"z":"1","a":"2","m":"\u0000"}})");
  c.push_back(R"({"a":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,0]}})");
  c.push_back(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[18446744073709551615,18446744073709551615]}})");
  // entries the scanner reads as a document (extra keys, signs, fractions, long shapes)
  c.push_back(entry(R"({"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":{"x":[1,2,{"y":null}]}})"));
  c.push_back(entry(R"({"extra":true,"dtype":"U8","shape":[1],"data_offsets":[0,1]})"));
  c.push_back(entry(R"({"dtype":"U8","shape":[-0,1],"data_offsets":[-0,0]})"));
  c.push_back(entry(R"({"dtype":"U8","shape":[1],"data_offsets":[0,1],"dtype":"U8"})"));
  c.push_back(entry(R"({"shape":[1],"shape":[1],"dtype":"U8","data_offsets":[0,1]})"));
  c.push_back(entry(R"({"dtype":"U8","shape":[1],"data_offsets":[0,1,2]})"));
  c.push_back(entry(R"({"dtype":"U8","shape":[1],"data_offsets":[0]})"));
  c.push_back(entry(R"({"dtype":"U8","shape":[1],"data_offsets":[]})"));
  c.push_back(entry(R"({"dtype":"U8","shape":[1],"data_offsets":{"0":1}})"));
  c.push_back(entry(R"({"dtype":"U8","shape":1,"data_offsets":[0,1]})"));
  c.push_back(entry(R"({"dtype":["U8"],"shape":[1],"data_offsets":[0,1]})"));
  c.push_back(entry(R"({"dtype":null,"shape":[1],"data_offsets":[0,1]})"));
  c.push_back(entry(R"({"dtype":"u8","shape":[1],"data_offsets":[0,1]})"));
  c.push_back(entry(R"({"dtype":"\u001b[2J","shape":[1],"data_offsets":[0,1]})"));
  c.push_back(entry(R"({"dtype":"U8","shape":[1.0],"data_offsets":[0,1]})"));
  c.push_back(entry(R"({"dtype":"U8","shape":[1e0],"data_offsets":[0,1]})"));
  c.push_back(entry(R"({"dtype":"U8","shape":[1E+2],"data_offsets":[0,100]})"));
  c.push_back(entry(R"({"dtype":"U8","shape":[-1],"data_offsets":[0,1]})"));
  c.push_back(entry(R"({"dtype":"U8","shape":[1],"data_offsets":[-1,0]})"));
  c.push_back(entry(R"({"dtype":"U8","shape":[1],"data_offsets":[0.5,1]})"));
  c.push_back(entry(R"({"dtype":"U8","shape":[18446744073709551616],"data_offsets":[0,1]})"));
  c.push_back(entry(R"({"dtype":"U8","shape":[-9223372036854775808],"data_offsets":[0,1]})"));
  c.push_back(entry(R"({"dtype":"U8","shape":[-9223372036854775809],"data_offsets":[0,1]})"));
  c.push_back(entry(R"({"dtype":"U8","shape":[1e-400],"data_offsets":[0,1]})"));
  c.push_back(entry(R"({"dtype":"U8","shape":[true],"data_offsets":[0,1]})"));
  c.push_back(entry(R"({"dtype":"U8","shape":[[1]],"data_offsets":[0,1]})"));
  c.push_back(entry(R"({"dtype":"U8","shape":[1],"data_offsets":[1,0]})"));
  c.push_back(entry(R"({"dtype":"F16","shape":[3],"data_offsets":[0,8]})"));
  c.push_back(entry(R"({"dtype":"F4","shape":[3],"data_offsets":[0,2]})"));
  c.push_back(entry(R"({"dtype":"U8","shape":[4294967296,4294967296,16],"data_offsets":[0,0]})"));
  c.push_back(entry(R"({"dtype":"U64","shape":[4294967296,1073741824],"data_offsets":[0,0]})"));
  c.push_back(entry(R"({"dtype":"U8","shape":[1]})"));
  c.push_back(entry(R"({"shape":[1],"data_offsets":[0,1]})"));
  c.push_back(entry(R"({})"));
  c.push_back(entry(R"([1])"));
  c.push_back(entry(R"("U8")"));
  c.push_back(entry(R"(null)"));
  c.push_back(entry(R"(-5)"));
  {
    std::string dims;
    for (int i = 0; i < 70; ++i) dims += (i ? "," : "") + std::string("1");
    c.push_back(entry(R"({"dtype":"U8","shape":[)" + dims + R"(],"data_offsets":[0,1]})"));
    for (int i = 0; i < 5000; ++i) dims += ",1";
    c.push_back(entry(R"({"dtype":"U8","shape":[)" + dims + R"(],"data_offsets":[0,1]})"));
    std::string keys;
    for (int i = 0; i < 5000; ++i) keys += "\"k" + std::to_string(i) + "\":1,";
    c.push_back(entry("{" + keys + R"("dtype":"U8","shape":[1],"data_offsets":[0,1]})"));
  }
  // nesting: past the document's 8 levels, 100,000 deep, with duplicates at each depth
  const auto nested = [](std::size_t n, const std::string& inner) { return std::string(n, '[') + inner + std::string(n, ']'); };
  c.push_back(entry(R"({"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":)" + nested(20, "1") + "}"));
  c.push_back(entry(R"({"dtype":"U8","shape":)" + nested(100'000, "") + R"(,"data_offsets":[0,1]})"));
  c.push_back(entry(R"({"dtype":)" + nested(100'000, "1") + R"(,"shape":[1],"data_offsets":[0,1]})"));
  c.push_back("{\"__metadata__\":" + nested(100'000, "") + "}");
  c.push_back(nested(100'000, ""));
  c.push_back(entry(R"({"x":{"y":{"z":1,"z":2}},"dtype":"U8","shape":[1],"data_offsets":[0,1]})"));
  c.push_back(entry(R"({"x":[[[[[[[[[[{"z":1,"z":2}]]]]]]]]]],"dtype":"U8","shape":[1],"data_offsets":[0,1]})"));
  c.push_back(entry(R"({"x":[[[[[[{"z":1,"z":2}]]]]]],"dtype":"U8","shape":[1],"data_offsets":[0,1]})"));
  // metadata read as a document
  c.push_back(R"({"__metadata__":{"k":1}})");
  c.push_back(R"({"__metadata__":{"b":1,"a":[1]}})");
  c.push_back(R"({"__metadata__":{"k":"a","k":"b"}})");
  c.push_back(R"({"__metadata__":{"k":{"x":1,"x":2}}})");
  c.push_back(R"({"__metadata__":{"k":[[[[[[[[[[{"x":1,"x":2}]]]]]]]]]]}})");
  c.push_back(R"({"__metadata__":"pt"})");
  c.push_back(R"({"__metadata__":null})");
  c.push_back(R"({"__metadata__":{},"__metadata__":{}})");
  c.push_back(R"({"__metadata__":{"k":1},"__metadata__":{}})");
  c.push_back(R"({"__metad\u0061ta__":{"k":"v"}})");
  // which problem wins: the first in the text; immediate duplicates before later syntax errors
  c.push_back(R"({"a":{"dtype":"X","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"Y","shape":[1],"data_offsets":[0,1]}})");
  c.push_back("{" + ok_a + R"(,"b":{"dtype":"X","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})");
  c.push_back("{" + ok_a + "," + ok_a + R"(,"b":{"dtype":"X","shape":[1],"data_offsets":[0,1]}})");
  c.push_back("{" + ok_a + "," + ok_a + ",\"b\":}");
  c.push_back(R"({"b":{"dtype":"X","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","dtype":"U8"}})");
  c.push_back(R"({"a":{"dtype":"U8","dtype":"U8"} x)");
  c.push_back(R"({"a":{"dtype":"U8","dtype" x)");
  c.push_back(R"({"__metadata__":{},"__metadata__" x)");
  c.push_back(R"({"a":{"dtype":"X","shape":[1],"data_offsets":[0,1]}} x)");
  c.push_back(R"({"b":{"dtype":"X","shape":[1],"data_offsets":[0,1]},"__metadata__":{"k":1}})");
  c.push_back(R"({"__metadata__":{"k":1},"b":{"dtype":"X","shape":[1],"data_offsets":[0,1]}})");
  c.push_back("[1,2]");
  c.push_back("\"x\"");
  c.push_back("0");
  c.push_back("[" + ok_a + "]");
  // invalid JSON of every kind: the message is nlohmann's, from its own parse
  for (const char* bad : {"", " ", "{", "}", "{\"a\"", "{\"a\":", "{\"a\":}", "{\"a\" 1}", "{\"a\":1,}", "{,}", "{1:2}",
                          "{\"a\":1 \"b\":2}", "[1,]", "[,1]", "[01]", "[1.]", "[.5]", "[1e]", "[1e+]", "[-]", "[--1]",
                          "[+1]", "[0x1]", "[tru]", "[nul]", "[True]", "[NaN]", "[Infinity]", "[1E400]", "[-1e400]",
                          "{\"a\":1E400}", "[\"\\x\"]", "[\"\\u12\"]", "[\"\\u12G4\"]", "[\"\\ud800\"]",
                          "[\"\\ud800\\u0041\"]", "[\"\\udc00\"]", "[\"\\ud800\\\"]", "[\"abc]", "[\"a\tb\"]",
                          "[\"a\nb\"]", "{}{}", "{} x", "{}\x00", "// c\n{}", "{/*c*/}", "\xEF\xBB{}", "\xEF{}",
                          "\xEF\xBB\xBF\xEF\xBB\xBF{}", "{\"a\":[1,2}", "{\"a\":{]}", "[\"\xC0\x80\"]", "[\"\xC1\xBF\"]",
                          "[\"\xE0\x80\x80\"]", "[\"\xED\xA0\x80\"]", "[\"\xF4\x90\x80\x80\"]", "[\"\xF5\x80\x80\x80\"]",
                          "[\"\xFF\"]", "[\"\x80\"]", "[\"\xC3\"]", "[\"\xE2\x82\"]", "[\"\xF0\x9F\x98\"]",
                          "{\"\xff\":1}", "\t\v{}", "\f{}"}) {
    c.emplace_back(bad);
  }
  c.push_back(std::string("{\"a\x00\":1}", 8));
  c.push_back(std::string("{}\x00 garbage", 11)); // nlohmann stops at a NUL byte between tokens
  c.push_back(std::string("{\"a\":\x00}", 7));
  c.push_back(std::string("[1\x00]", 4));
  c.push_back(std::string("\x00", 1));
  c.push_back("{" + ok_a + ",\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]} x");
  c.push_back("{" + ok_a + ",\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}");
  c.push_back(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":1E400}})");
  c.push_back(R"({"a":{"dtype":"U8","shape":[1E400],"data_offsets":[0,1]}})");
  c.push_back(R"({"__metadata__":{"k":1E400}})");
  c.push_back("{\"" + std::string(1 << 20, 'x') + "\x01\":1}");
  c.push_back("{\"" + std::string(1 << 20, 'x') + "\":" + R"({"dtype":"U8","shape":[1],"data_offsets":[0,1]}})");
  return c;
}

} // namespace

TEST_CASE("safetensors scanner: the same tensors or the same message as the previous reader, on every case",
          "[safetensors]") {
  for (const std::string& text : corpus()) {
    INFO(excerpt(text, 300));
    CHECK(differ(text) == "");
  }
}

TEST_CASE("safetensors scanner: agrees with the previous reader on every truncation and single-byte change",
          "[safetensors]") {
  SafetensorsWriter w;
  w.metadata("format", "pt").tensor("a.\xC3\xA9", "BF16", {4, 4}, 16).tensor("b", "F4", {2, 8}, 4);
  w.tensor("c", "U8", {3}, 8);
  const std::string good = w.json() + R"( )";
  const std::string unusual = R"({"__metadata__":{"k":"\u00e9"},"x":{"shape":[-0,2],"dtype":"U8","data_offsets":[0,0],)"
                              R"("e":[{"f":1.5e3}]},"y\n":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
  for (const std::string& base : {good, unusual}) {
    for (std::size_t cut = 0; cut < base.size(); ++cut) {
      const std::string text = base.substr(0, cut);
      INFO("cut at " << cut << ": " << excerpt(text, 300));
      CHECK(differ(text) == "");
    }
    for (std::size_t i = 0; i < base.size(); ++i) {
      for (int v : {0x00, 0x09, 0x20, 0x22, 0x2c, 0x2d, 0x2e, 0x30, 0x31, 0x3a, 0x45, 0x5b, 0x5c, 0x5d, 0x61, 0x7b,
                    0x7d, 0x7f, 0x80, 0xc3, 0xff}) {
        std::string bad = base;
        bad[i] = static_cast<char>(v);
        INFO("byte " << i << " = " << v << ": " << excerpt(bad, 300));
        CHECK(differ(bad) == "");
      }
    }
  }
}

TEST_CASE("safetensors scanner: agrees with the previous reader on 20,000 random edits of valid headers",
          "[safetensors]") {
  // Inserted fragments the usual form does not hold: JSON syntax, escapes, numbers of every type.
  const std::vector<std::string> pieces = {"{", "}", "[", "]", ",", ":", "\"", "\\", "\\u00e9", "\\ud83d\\ude00", "-",
                                           "0", "1.5", "1e400", "-0", "18446744073709551616", "null", "true", " ",
                                           "\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"U8\"",
                                           "[1]", "[0,1]", "{\"a\":1}", "\xC3", "\xA9", "\x01"};
  SafetensorsWriter w;
  w.metadata("format", "pt").metadata("k", "v").tensor("a", "BF16", {4, 4}, 16).tensor("b", "F4", {2, 8}, 4);
  w.tensor("c", "U8", {3}, 8).tensor("a.b", "F8_E4M3", {0}, 8);
  const std::string base = w.json();
  std::mt19937 rng(19); // fixed: the same edits on every run
  for (int i = 0; i < 20'000; ++i) {
    std::string text = base;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % (text.size() + 1);
      switch (rng() % 3) {
      case 0: text.insert(at, pieces[rng() % pieces.size()]); break;
      case 1: text.erase(at, 1 + rng() % 4); break;
      default: text.replace(at, 1, pieces[rng() % pieces.size()]); break;
      }
    }
    INFO(excerpt(text, 400));
    const std::string d = differ(text);
    if (!d.empty()) FAIL_CHECK(d);
  }
}

TEST_CASE("safetensors scanner: 20,000 tensors read as before, names and shapes in one arena", "[safetensors]") {
  SafetensorsWriter w;
  for (int i = 0; i < 20'000; ++i) {
    w.tensor("model.layers." + std::to_string(i / 256) + ".mlp.experts." + std::to_string(i % 256) + ".weight", "BF16",
             {static_cast<std::uint64_t>(1 + i % 7), 3}, 16);
  }
  const std::string text = w.json();
  CHECK(differ(text) == "");
  io::SafetensorsSet set;
  io::detail::read_safetensors_header(text, "x.safetensors", set);
  REQUIRE(set.tensors.size() == 20'000);
  CHECK(set.storage.size() == 1);
  // A copy shares the arena: its views stay valid when the original is gone.
  io::SafetensorsSet copy;
  {
    const io::SafetensorsSet original = set;
    copy = original;
  }
  set = {};
  CHECK(copy.tensors[19'999].name == "model.layers.78.mlp.experts.31.weight");
  CHECK(std::ranges::equal(copy.tensors[19'999].shape, std::vector<std::uint64_t>{1 + 19'999 % 7, 3}));
  CHECK(copy.tensors[19'999].dtype == "BF16");
}
