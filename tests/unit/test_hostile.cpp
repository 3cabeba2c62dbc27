// Hostile input, one test per finding of the second round (docs/reliability.md, "Hostile
// input"). Each input is generated here; each reader runs in a child process with a time and
// a memory bound (tests/support/bounded.hpp), so a crash, a hang, a quadratic parse or a
// memory amplification fails the test. The bounds leave room for the sanitizer build on a
// busy machine; the inputs are sized so the old code missed them by orders of magnitude.
#include "../support/bounded.hpp"
#include "../support/gguf_writer.hpp"
#include "../support/safetensors_writer.hpp"

#include "vramcalc/io/catalog.hpp"
#include "vramcalc/io/gguf.hpp"
#include "vramcalc/io/hf_config.hpp"
#include "vramcalc/io/model_files.hpp"
#include "vramcalc/io/output_file.hpp"
#include "vramcalc/io/safetensors.hpp"
#include "vramcalc/names.hpp"
#include "vramcalc/render.hpp"
#include "vramcalc/text.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace vramcalc;
using namespace vramcalc::test;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr double slow = 4; // ASan + UBSan: time and memory bounds this many times looser
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr double slow = 4;
#else
constexpr double slow = 1;
#endif
#else
constexpr double slow = 1;
#endif

// Runs `work` under the bounds (seconds, MiB, scaled for sanitizers) and checks it passed.
void bounded(const std::string& what, double seconds, std::uint64_t mib, const std::function<std::string()>& work) {
  const Bounded b = run_bounded(work, seconds * slow, static_cast<std::uint64_t>(static_cast<double>(mib) * slow));
  if (std::getenv("VRAMCALC_SHOW_BOUNDS") != nullptr) WARN(what << ": " << b.seconds << " s, +" << b.grown_kib << " KiB");
  INFO(what << ": " << b.seconds << " s, +" << b.grown_kib / 1024 << " MiB");
  CHECK(b.failure == "");
}

// "" when `e` is an error whose message is one line of at most `max` bytes containing `part`.
template <typename T>
std::string refused_with(const std::expected<T, Error>& e, const std::string& part, std::size_t max = 600) {
  if (e) return "accepted";
  const std::string& m = e.error().message;
  if (m.size() > max) return "message of " + std::to_string(m.size()) + " bytes";
  if (m.find('\n') != std::string::npos) return "message of several lines";
  if (m.find(part) == std::string::npos) return "message '" + m + "' lacks '" + part + "'";
  return "";
}

std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::string safetensors_header(const std::string& json) { return safetensors_file(json, 4); }

} // namespace

// ---- 1. Deep nesting ----------------------------------------------------------------

TEST_CASE("hostile: JSON nested 100,000 deep is refused with a bounded excerpt, not a stack overflow", "[hostile]") {
  const std::string deep = nested(100'000);
  bounded("config.json", 10, 256, [&] {
    const auto r = io::parse_hf_config(R"({"model_type":"llama","hidden_size":)" + deep + "}", "config.json", "m");
    return refused_with(r, "config.json: /hidden_size/0/0/0/\u2026: JSON nested deeper than 512 levels");
  });
  const std::pair<std::string, std::string> cases[] = {
      {R"({"t":{"dtype":"F32","shape":)" + deep + R"(,"data_offsets":[0,4]}})", "/t/shape: dimensions must be"},
      {R"({"t":{"dtype":)" + deep + R"(,"shape":[1],"data_offsets":[0,4]}})", "/t/dtype: expected a string, got [[[[[\u2026]]]]]"},
      {R"({"t":{"dtype":"F32","shape":[1],"data_offsets":)" + deep + "}}", "/t/data_offsets: expected [begin, end]"},
      {R"({"__metadata__":{"a":)" + deep + R"(},"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
       "/__metadata__/a: expected a string, got [[[[[\u2026]]]]]"},
  };
  for (const auto& [json, part] : cases) {
    bounded(part, 10, 256, [&] {
      return refused_with(io::parse_safetensors(io::memory_source(safetensors_header(json)), "x.safetensors"), part);
    });
  }
  bounded("index weight_map", 10, 256, [&] {
    const auto r = io::parse_safetensors_index(R"({"weight_map":{"t":)" + deep + "}}", "model.safetensors.index.json");
    return refused_with(r, "model.safetensors.index.json: /weight_map/t/0/0/\u2026: JSON nested deeper than 512 levels");
  });
}

TEST_CASE("hostile: JSON excerpts in messages are bounded, whatever the value", "[hostile]") {
  // Nesting within the 512 levels parse_strict reads: the message quotes four of them.
  const auto n = io::parse_hf_config(R"({"model_type":"llama","hidden_size":)" + nested(500) + "}", "c.json", "m");
  CHECK(refused_with(n, "c.json: /hidden_size: expected a non-negative integer, got [[[[[\u2026]]]]]") == "");
  const std::string big(1 << 20, 'x');
  const auto r = io::parse_hf_config(R"({"model_type":"llama","hidden_size":")" + big + "\"}", "c.json", "m");
  CHECK(refused_with(r, "c.json: /hidden_size: expected a non-negative integer, got \"xxxx") == "");
  CHECK(r.error().message.find("\u2026 (1,048,576 bytes)") != std::string::npos);
  // A syntax error inside a long string quotes a bounded part of it.
  const auto s = io::parse_safetensors(io::memory_source(safetensors_file("{\"" + big + "\x01\":1}", 0)), "x.safetensors");
  CHECK(refused_with(s, "x.safetensors:1:") == "");
  CHECK(s.error().message.find('\x01') == std::string::npos);
}

// ---- 3. Quadratic and per-layer scans ---------------------------------------------------

TEST_CASE("hostile: a safetensors header of 200,000 tensors parses in linear time", "[hostile]") {
  // The issue's reproducer (13.4 MB of JSON). The scanner reads it in 0.2-0.3 s of CPU and
  // 35 MB in the release build, under 1 s of CPU under ASan (docs/reliability.md); the bound leaves
  // room for a sanitized build on a busy machine and still stops the quadratic parse (over
  // 300 s) and a per-tensor amplification.
  SafetensorsWriter w;
  for (int i = 0; i < 200'000; ++i) w.tensor("t" + std::to_string(i), "U8", {1}, 8);
  const std::string bytes = w.bytes();
  bounded("200,000 tensors", 15, 128, [&] {
    const auto set = io::parse_safetensors(io::memory_source(bytes), "x.safetensors");
    if (!set) return set.error().message;
    return set->tensors.size() == 200'000 && set->tensors[199'999].name == "t199999" ? std::string()
                                                                                     : "wrong tensors";
  });
  // A name written twice is still found (after the parse, by sorting the names).
  const std::string dup = safetensors_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                                           R"("b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},)"
                                           R"("a":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}})",
                                           3);
  const auto d = io::parse_safetensors(io::memory_source(dup), "x.safetensors");
  REQUIRE_FALSE(d);
  CHECK(d.error().message == "x.safetensors: /a: duplicate key");
}

TEST_CASE("hostile: GGUF per-layer keys are looked up once, not per layer through every key", "[hostile]") {
  // 7 keys of the model and junk up to the limit of 65,536 key-value pairs: read; one more, or
  // the issue's 500,000, refused from the count alone.
  const auto file = [](std::uint64_t junk) {
    GgufWriter w;
    const std::uint32_t layers = 4096;
    w.str("general.architecture", "llama").u32("llama.block_count", layers).u32("llama.embedding_length", 64);
    w.u32("llama.feed_forward_length", 128).u32("llama.context_length", 4096);
    Bytes heads, kv;
    heads.u32(t_u32).u64(layers);
    kv.u32(t_u32).u64(layers);
    for (std::uint32_t i = 0; i < layers; ++i) {
      heads.u32(4);
      kv.u32(2);
    }
    w.kv_raw("llama.attention.head_count", t_array, heads).kv_raw("llama.attention.head_count_kv", t_array, kv);
    for (std::uint64_t i = 0; i < junk; ++i) w.u8("junk." + std::to_string(i), 1);
    return w.bytes();
  };
  STATIC_REQUIRE(io::gguf_max_metadata_pairs == 65'536);
  const std::string bytes = file(65'536 - 7);
  bounded("4,096 layers, 65,536 keys", 15, 256, [&] {
    const auto f = io::parse_gguf(io::memory_source(bytes), "x.gguf");
    if (!f) return f.error().message;
    if (f->metadata.size() != 65'536 || f->find("junk.65528") == nullptr || f->find("junk.65529") != nullptr) {
      return std::string("key index");
    }
    const auto m = io::gguf_to_spec(*f);
    if (!m) return m.error().message;
    return m->spec.num_layers == 4096 && m->spec.layers.back().num_kv_heads == 2 ? std::string() : "wrong spec";
  });
  for (const std::uint64_t junk : {std::uint64_t{65'536 - 6}, std::uint64_t{500'000 - 7}}) {
    const std::string over = file(junk);
    bounded("more keys than the limit", 5, 128, [&] {
      const auto f = io::parse_gguf(io::memory_source(over), "x.gguf");
      return refused_with(f, "x.gguf: metadata count " + std::to_string(junk + 7) +
                                 " is implausibly large (vramcalc reads at most 65,536 key-value pairs; real files "
                                 "carry fewer than 100) (at byte 16)");
    });
  }
}

TEST_CASE("hostile: 'did you mean' on a 1 MiB name answers at once, and quotes a bounded excerpt", "[hostile]") {
  const std::string name(1 << 20, 'l');
  bounded("suggest", 5, 64, [&] {
    const std::vector<NameCandidate> c{{"llama3-8b", "llama3-8b"}};
    return suggest(name, c).empty() ? std::string() : "suggested";
  });
  bounded("find_model", 10, 128, [&] {
    const auto catalog = io::load_builtin_catalog();
    if (!catalog) return catalog.error().message;
    const auto m = catalog->find_model(name);
    return refused_with(m, "unknown model 'lllll", 400);
  });
  // Names of ordinary length still get suggestions.
  const std::vector<NameCandidate> c{{"llama3-8b", "llama3-8b"}, {"qwen3-8b", "qwen3-8b"}};
  CHECK(suggest("llama3-8", c) == std::vector<std::string>{"llama3-8b"});
}

TEST_CASE("hostile: a FIFO in place of a model file is refused at once, by every reader", "[hostile]") {
  TempDir dir;
  const auto fifo = [&](const std::string& name) {
    const std::string p = dir.file(name);
    REQUIRE(::mkfifo(p.c_str(), 0600) == 0);
    return p;
  };
  const std::string gguf = fifo("x.gguf");
  bounded("GGUF", 5, 64, [&] { return refused_with(io::read_gguf_file(gguf), "x.gguf: is a FIFO (named pipe), not a regular file"); });
  bounded("model files", 5, 64, [&] { return refused_with(io::open_model_files(gguf), "is a FIFO (named pipe)"); });
  bounded("text", 5, 64, [&] { return refused_with(io::read_text_file(gguf, ErrorCode::invalid_model), "is a FIFO"); });
  std::filesystem::create_directory(dir.file("d"));
  dir.write("d/config.json", R"({"model_type":"llama","hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,)"
                             R"("intermediate_size":128,"vocab_size":100})");
  const std::string st = fifo("d/model.safetensors");
  bounded("safetensors in a directory", 5, 64, [&] { return refused_with(io::open_model_files(dir.file("d")), "is a FIFO"); });
  bounded("safetensors", 5, 64, [&] { return refused_with(io::read_safetensors_file(st), "is a FIFO"); });
  dir.write("index.json", R"({"weight_map":{"a":"shard.safetensors"}})");
  fifo("shard.safetensors");
  bounded("index shard", 5, 64, [&] { return refused_with(io::read_safetensors_index(dir.file("index.json")), "is a FIFO"); });
  // A character device (not /dev/zero itself: any device file is refused by its type).
  bounded("/dev/null", 5, 64, [&] { return refused_with(io::read_gguf_file("/dev/null"), "is a character device"); });
}

// ---- 4. Memory amplification -------------------------------------------------------------

TEST_CASE("hostile: GGUF numeric arrays cost their file bytes, within a 16 MiB budget", "[hostile]") {
  GgufWriter w;
  w.str("general.architecture", "llama");
  for (int a = 0; a < 1000; ++a) {
    Bytes b;
    b.u32(t_u8).u64(65536).zeros(65536);
    w.kv_raw("a." + std::to_string(a), t_array, b);
  }
  const std::string bytes = w.bytes(); // 65.6 MB: 40-byte variants per element made it 2.5 GB
  bounded("1,000 arrays of 65,536 u8", 15, 48, [&] {
    const auto f = io::parse_gguf(io::memory_source(bytes), "x.gguf");
    if (!f) return f.error().message;
    const io::GgufValue* first = f->find("a.0");
    const io::GgufValue* last = f->find("a.999");
    // 16 MiB / 65,536 bytes: the first 256 arrays keep their elements, the rest their count.
    if (first == nullptr || !first->elements_kept() || first->elements->bytes.size() != 65536) return std::string("a.0");
    if (last == nullptr || last->elements_kept() || last->count != 65536) return std::string("a.999");
    return f->find("a.255")->elements_kept() && !f->find("a.256")->elements_kept() ? std::string() : "budget";
  });
}

TEST_CASE("hostile: a GGUF header takes at most 16 bytes of memory per header byte", "[hostile]") {
  // The worst cases for the reader: the smallest key-value pairs (3-byte keys, u8 values, 16
  // bytes each in the file) up to the limit of 65,536, and the smallest tensor infos (3-byte
  // names, 0 dimensions).
  GgufWriter w;
  std::string key = "aaa";
  for (int i = 0; i < 65'536; ++i) {
    key[0] = static_cast<char>('a' + i % 26);
    key[1] = static_cast<char>('a' + i / 26 % 26);
    key[2] = static_cast<char>(' ' + i / 676 % 95);
    if (i >= 26 * 26 * 95) key = std::to_string(i);
    w.u8(key, 1);
  }
  const std::string bytes = w.bytes();
  bounded("65,536 tiny keys", 15, bytes.size() * 16 / (1 << 20) + 4, [&] {
    const auto f = io::parse_gguf(io::memory_source(bytes), "x.gguf");
    if (!f) return f.error().message;
    return f->metadata.size() == 65'536 ? std::string() : "wrong key count";
  });
  GgufWriter t;
  t.alignment = 1;
  t.u32("general.alignment", 1);
  for (std::uint64_t i = 0; i < 300'000; ++i) {
    Bytes info;
    info.str(std::to_string(1'000'000 + i).substr(1)).u32(0).u32(g_f32.id).u64(4 * i);
    t.tensor_info_raw(info);
  }
  const std::string infos = t.bytes() + std::string(4 * 300'000, '\0');
  bounded("300,000 tiny tensor infos", 15, t.header().size() * 16 / (1 << 20) + 4, [&] {
    const auto f = io::parse_gguf(io::memory_source(infos), "x.gguf");
    if (!f) return f.error().message;
    return f->tensors.size() == 300'000 ? std::string() : "wrong tensor count";
  });
}

TEST_CASE("hostile: a split GGUF whose parts are one file under many names is refused at part 2", "[hostile]") {
  TempDir dir;
  GgufWriter w;
  w.str("general.architecture", "llama").u16("split.count", 200);
  Bytes b;
  b.u32(t_u8).u64(65536).zeros(65536);
  w.kv_raw("a.0", t_array, b);
  const std::string part = dir.write("m-00001-of-00200.gguf", w.bytes());
  for (int i = 2; i <= 200; ++i) {
    std::filesystem::create_symlink(part, io::gguf_split_path(dir.file("m"), static_cast<std::uint32_t>(i), 200));
  }
  bounded("200 links to one part", 5, 64, [&] {
    return refused_with(io::read_gguf_split(part), "m-00002-of-00200.gguf: part 2 is the same file as");
  });
  // Distinct parts: only part 1 keeps array elements.
  TempDir copies;
  for (int i = 1; i <= 50; ++i) {
    GgufWriter p;
    p.str("general.architecture", "llama").u16("split.no", static_cast<std::uint16_t>(i - 1)).u16("split.count", 50);
    p.kv_raw("a.0", t_array, b);
    copies.write(std::filesystem::path(io::gguf_split_path("m", static_cast<std::uint32_t>(i), 50)).string(), p.bytes());
  }
  bounded("50 parts", 10, 64, [&] {
    const auto parts = io::read_gguf_split(copies.file("m-00001-of-00050.gguf"));
    if (!parts) return parts.error().message;
    return parts->front().find("a.0")->elements_kept() && !parts->back().find("a.0")->elements_kept() ? std::string()
                                                                                                       : "arrays kept";
  });
}

// ---- 2. Output files ------------------------------------------------------------------------

TEST_CASE("hostile: --plot replaces only new paths and the user's own regular files", "[hostile]") {
  TempDir dir;
  const auto untouched = [](const std::string& p, mode_t type) {
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0 && (st.st_mode & S_IFMT) == type;
  };
  // A FIFO: refused (and no open that would wait for a reader).
  const std::string fifo = dir.file("fifo.svg");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  bounded("FIFO", 5, 64, [&] { return refused_with(io::write_output_file(fifo, "<svg/>"), "is a FIFO (named pipe)"); });
  CHECK(untouched(fifo, S_IFIFO));
  // A symbolic link: refused, the link and its target left as they are.
  const std::string target = dir.write("target.txt", "keep");
  const std::string link = dir.file("link.svg");
  std::filesystem::create_symlink(target, link);
  CHECK(refused_with(io::write_output_file(link, "<svg/>"), "is a symbolic link") == "");
  CHECK(untouched(link, S_IFLNK));
  std::ifstream in(target);
  CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == "keep");
  // A directory.
  CHECK(refused_with(io::write_output_file(dir.file(""), "<svg/>"), "is a directory") == "");
  CHECK(refused_with(io::write_output_file(dir.file("sub/x.svg"), "x"), "cannot open its directory") == "");
  // A read-only file of ours.
  const std::string ro = dir.write("ro.svg", "old");
  ::chmod(ro.c_str(), 0444);
  CHECK(refused_with(io::write_output_file(ro, "<svg/>"), "is read-only") == "");
  // A new path, then our own file replaced whole, its permissions kept.
  const std::string mine = dir.file("mine.svg");
  REQUIRE(io::write_output_file(mine, "one"));
  ::chmod(mine.c_str(), 0640);
  REQUIRE(io::write_output_file(mine, "two"));
  struct stat st {};
  REQUIRE(::stat(mine.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  std::ifstream m(mine);
  CHECK(std::string(std::istreambuf_iterator<char>(m), {}) == "two");
  // Nothing else left in the directory (no temporary files).
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.file(""))) n += e.path().filename().string().starts_with(".") ? 1u : 0u;
  CHECK(n == 0);
  if (::geteuid() == 0) {
    // As root: a character device twin of /dev/null made here, and another user's read-only
    // file in a directory anyone may write (what replaced /dev/full and such files before).
    const std::string dev = dir.file("null.svg");
    REQUIRE(::mknod(dev.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
    CHECK(refused_with(io::write_output_file(dev, "<svg/>"), "is a character device") == "");
    CHECK(untouched(dev, S_IFCHR));
    const std::string theirs = dir.write("theirs.svg", "theirs");
    REQUIRE(::chown(theirs.c_str(), 12345, 12345) == 0);
    ::chmod(theirs.c_str(), 0444);
    CHECK(refused_with(io::write_output_file(theirs, "<svg/>"), "belongs to another user") == "");
    REQUIRE(::stat(theirs.c_str(), &st) == 0);
    CHECK(st.st_uid == 12345);
  }
}

// ---- 7. Escaping ----------------------------------------------------------------------------

TEST_CASE("hostile: terminal_safe shows control characters, C1, bidi overrides and broken UTF-8 as \\xNN", "[hostile]") {
  CHECK(terminal_safe("plain caf\u00e9 \u00d7 \u2026") == "plain caf\u00e9 \u00d7 \u2026");
  CHECK(terminal_safe("\x1b]0;title\x07") == "\\x1b]0;title\\x07");
  CHECK(terminal_safe("a\nb\rc\td\x7f") == "a\\x0ab\\x0dc\\x09d\\x7f");
  CHECK(terminal_safe("\xc2\x9b" "31m") == "\\xc2\\x9b31m");       // C1 CSI
  CHECK(terminal_safe("\xe2\x80\xae" "txt") == "\\xe2\\x80\\xaetxt"); // right-to-left override
  CHECK(terminal_safe("\xff\xc3") == "\\xff\\xc3");                  // not UTF-8
  CHECK(terminal_safe("\xed\xa0\x80") == "\\xed\\xa0\\x80");         // a surrogate
  CHECK(terminal_safe("\xc0\xaf") == "\\xc0\\xaf");                  // overlong
  CHECK_FALSE(needs_escaping("llama3-8b \u00d7 4"));
  CHECK(needs_escaping("a\x01"));
  CHECK(excerpt(std::string(100, 'a'), 10) == "aaaaaaaaaa\u2026 (100 bytes)");
  CHECK(excerpt("\u00e9\u00e9\u00e9", 3) == "\u00e9\u2026 (6 bytes)"); // cut at a character boundary
  CHECK(excerpt(std::string(1 << 20, '\x1b')).size() <= 4 * excerpt_bytes + 32);
}

TEST_CASE("hostile: JUnit is XML 1.0 and CSV is formula-safe, whatever the names", "[hostile]") {
  CheckReport r;
  CheckEntry e;
  e.name = "a\x01" "b\x1b[2J\xef\xbf\xbe<&>";
  e.file = "=cmd|' /C calc'!A0";
  e.message = "-1+2";
  e.status = CheckStatus::does_not_fit;
  e.where = "d.yaml:1:2";
  r.entries.push_back(e);
  r.files.push_back(e.file);
  const std::string junit = render_check(r, "junit", {});
  for (const char ch : junit) {
    const auto c = static_cast<unsigned char>(ch);
    CHECK((c >= 0x20 || c == '\n'));
  }
  CHECK(junit.find("name=\"a\\x01b\\x1b[2J\\xef\\xbf\\xbe&lt;&amp;&gt;\"") != std::string::npos);
  const std::string csv = render_check(r, "csv", {});
  CHECK(csv.find("\na\\x01b\\x1b[2J\xef\xbf\xbe<&>,'=cmd|' /C calc'!A0,does_not_fit,") != std::string::npos);
  CHECK(csv.find(",'-1+2\n") != std::string::npos);
  CHECK(csv_field("-5") == "-5"); // numbers stay numbers
  CHECK(csv_field("-1.5e3") == "-1.5e3");
  CHECK(csv_field("@SUM(A1)") == "'@SUM(A1)");
  CHECK(csv_field("+x") == "'+x");
  const std::string table = render_check(r, "table", {});
  CHECK(table.find('\x1b') == std::string::npos);
  CHECK(table.find('\x01') == std::string::npos);
}

TEST_CASE("hostile: a GGUF's name and a safetensors' metadata reach the terminal escaped", "[hostile]") {
  TempDir dir;
  GgufWriter w;
  w.str("general.architecture", "llama").str("general.name", "\x1b]0;pwned\x07\x1b[2J\nPASS forged");
  w.u32("llama.block_count", 2).u32("llama.embedding_length", 64).u32("llama.attention.head_count", 4);
  w.u32("llama.feed_forward_length", 128).u32("llama.context_length", 4096);
  const std::string path = dir.write("x.gguf", w.bytes());
  const auto mf = io::open_model_files(path);
  REQUIRE(mf);
  Settings s;
  s.weights = mf->format;
  s.context_tokens = 4096;
  const auto report = estimate(mf->spec, s, {});
  REQUIRE(report);
  const std::string out = render_table(*report, {});
  CHECK(out.starts_with("\\x1b]0;pwned\\x07\\x1b[2J\\x0aPASS forged  ("));
  for (const char ch : out) {
    const auto c = static_cast<unsigned char>(ch);
    CHECK((c >= 0x20 || c == '\n'));
  }
}

// ---- 9. Messages ----------------------------------------------------------------------------

TEST_CASE("hostile: a wrongly typed quantization_config field names its key", "[hostile]") {
  const std::string base = R"({"model_type":"llama","hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,)"
                           R"("intermediate_size":128,"vocab_size":100,"quantization_config":)";
  const std::pair<std::string, std::string> cases[] = {
      {R"({"quant_method":"gptq","bits":"four"})", "c.json: /quantization_config/bits: expected an integer, got \"four\""},
      {R"({"quant_method":5})", "c.json: /quantization_config/quant_method: expected a string, got 5"},
      {R"({"quant_method":"awq","group_size":[128]})", "c.json: /quantization_config/group_size: expected an integer, got [128]"},
      {R"({"quant_method":"bitsandbytes","load_in_4bit":"yes"})",
       "c.json: /quantization_config/load_in_4bit: expected true or false, got \"yes\""},
      {R"({"quant_method":"compressed-tensors","config_groups":{"g":{"weights":{"num_bits":"8"}}}})",
       "c.json: /quantization_config/config_groups/g/weights/num_bits: expected an integer, got \"8\""},
  };
  for (const auto& [q, message] : cases) {
    const auto r = io::parse_hf_config(base + q + "}", "c.json", "m");
    REQUIRE_FALSE(r);
    CHECK(r.error().message == message);
  }
  const auto t = io::parse_hf_config(R"({"model_type":["llama"]})", "c.json", "m");
  REQUIRE_FALSE(t);
  CHECK(t.error().message == "c.json: /model_type: expected a string, got [\"llama\"]");
}

TEST_CASE("hostile: a GGUF with more KV heads than heads is refused, as a model spec is", "[hostile]") {
  GgufWriter w;
  w.str("general.architecture", "llama").u32("llama.block_count", 2).u32("llama.embedding_length", 64);
  w.u32("llama.attention.head_count", 4).u32("llama.attention.head_count_kv", 7).u32("llama.feed_forward_length", 128);
  const auto f = io::parse_gguf(io::memory_source(w.bytes()), "x.gguf");
  REQUIRE(f);
  const auto m = io::gguf_to_spec(*f);
  REQUIRE_FALSE(m);
  CHECK(m.error().message == "x.gguf: llama.attention.head_count_kv 7 is more than llama.attention.head_count 4: a layer "
                             "cannot cache more key-value heads than it has query heads");
}

TEST_CASE("hostile: loaders refuse more than max_model_layers layers", "[hostile]") {
  GgufWriter w;
  w.str("general.architecture", "llama").u32("llama.block_count", 65536).u32("llama.embedding_length", 64);
  w.u32("llama.attention.head_count", 4).u32("llama.feed_forward_length", 128);
  const auto f = io::parse_gguf(io::memory_source(w.bytes()), "x.gguf");
  REQUIRE(f);
  const auto m = io::gguf_to_spec(*f);
  REQUIRE_FALSE(m);
  CHECK(m.error().message == "x.gguf: llama.block_count 65536 is implausibly large (vramcalc reads at most 4,096 layers)");
  const auto h = io::parse_hf_config(R"({"model_type":"llama","hidden_size":64,"num_hidden_layers":4097,)"
                                     R"("num_attention_heads":4,"intermediate_size":128,"vocab_size":100})",
                                     "c.json", "m");
  REQUIRE_FALSE(h);
  CHECK(h.error().message == "c.json: /num_hidden_layers: is implausibly large (vramcalc reads at most 4,096 layers)");
}
