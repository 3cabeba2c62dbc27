// GGUF header reader. The layout and the rules enforced follow ggml's gguf.cpp
// (gguf_init_from_reader) and llama.cpp's model loader; docs/file-formats.md lists them.
#include "vramcalc/io/gguf.hpp"

#include "position_set.hpp"

#include "vramcalc/dtype.hpp"
#include "vramcalc/units.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <optional>
#include <limits>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace vramcalc::io {

// ---------------------------------------------------------------------------------------
// Byte sources

ByteSource memory_source(std::string_view bytes) {
  ByteSource s;
  s.size = bytes.size();
  s.read = [bytes](std::uint64_t offset, std::uint64_t n, char* out) {
    if (offset > bytes.size() || n > bytes.size() - offset) return false;
    std::memcpy(out, bytes.data() + offset, static_cast<std::size_t>(n));
    return true;
  };
  return s;
}

// FileSource (every reader opens files through it): file_source.cpp.

// ---------------------------------------------------------------------------------------
// The store a file's metadata points into

// Keys and string values are copied once, end to end, into blocks that never move (a view
// stays valid as more are added); kept arrays live in a deque for the same reason. A block
// doubles from 1 KiB to 64 KiB, and a string longer than a quarter block gets its own: at
// most half the last block and a quarter of each other is unused.
class GgufStore {
public:
  std::string_view copy(const char* bytes, std::size_t n) {
    char* out = allocate(n);
    if (n != 0) std::memcpy(out, bytes, n);
    return {out, n};
  }
  // Room for n bytes, to be filled before anything else is allocated.
  char* allocate(std::size_t n) {
    if (n == 0) return nullptr;
    if (n > max_block_bytes / 4) return blocks_.emplace_back(std::make_unique_for_overwrite<char[]>(n)).get();
    if (n > left_) {
      next_block_ = std::min(next_block_ * 2, max_block_bytes);
      while (next_block_ < n) next_block_ *= 2;
      cur_ = blocks_.emplace_back(std::make_unique_for_overwrite<char[]>(next_block_)).get();
      left_ = next_block_;
    }
    char* out = cur_;
    cur_ += n;
    left_ -= n;
    return out;
  }
  GgufArray& add_array() { return arrays_.emplace_back(); }

private:
  static constexpr std::size_t max_block_bytes = 64u << 10;
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* cur_ = nullptr;
  std::size_t left_ = 0;
  std::size_t next_block_ = 512; // the first block is 1 KiB
  std::deque<GgufArray> arrays_;
};

// ---------------------------------------------------------------------------------------
// GgufFile accessors

namespace {

template <class Variant>
std::optional<std::uint64_t> as_uint(const Variant& v) {
  if (const auto* u = std::get_if<std::uint64_t>(&v)) return *u;
  if (const auto* i = std::get_if<std::int64_t>(&v); i != nullptr && *i >= 0) return static_cast<std::uint64_t>(*i);
  return std::nullopt;
}

template <class Variant>
std::optional<double> as_double(const Variant& v) {
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* u = std::get_if<std::uint64_t>(&v)) return static_cast<double>(*u);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  return std::nullopt;
}

} // namespace

const GgufValue* GgufFile::find(std::string_view key) const {
  if (key_index.size() == metadata.size()) {
    const auto it = std::ranges::lower_bound(key_index, key, {},
                                             [this](std::uint32_t i) { return metadata[i].key; });
    return it != key_index.end() && metadata[*it].key == key ? &metadata[*it].value : nullptr;
  }
  for (const GgufKv& kv : metadata) {
    if (kv.key == key) return &kv.value;
  }
  return nullptr;
}

std::optional<GgufScalar> GgufValue::element(std::uint64_t i) const {
  if (type != GgufType::array || elements == nullptr || i >= count) return std::nullopt;
  const GgufArray& a = *elements;
  if (elem_type == GgufType::string) {
    const std::uint64_t begin = i == 0 ? 0 : a.ends[i - 1];
    return std::string(a.bytes.substr(begin, a.ends[i] - begin));
  }
  const auto t = static_cast<std::uint32_t>(elem_type);
  std::uint64_t width = 0;
  switch (t) {
  case 0: case 1: case 7: width = 1; break;
  case 2: case 3: width = 2; break;
  case 4: case 5: case 6: width = 4; break;
  default: width = 8; break;
  }
  std::uint64_t v = 0;
  for (std::uint64_t k = width; k-- > 0;) v = (v << 8) | static_cast<unsigned char>(a.bytes[i * width + k]);
  switch (t) {
  case 0: case 2: case 4: case 10: return v;
  case 1: return std::int64_t{static_cast<std::int8_t>(v)};
  case 3: return std::int64_t{static_cast<std::int16_t>(v)};
  case 5: return std::int64_t{static_cast<std::int32_t>(v)};
  case 11: return static_cast<std::int64_t>(v);
  case 6: return static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(v)));
  case 12: return std::bit_cast<double>(v);
  case 7: return v != 0; // gguf.cpp: a bool is an int8, non-zero is true
  default: return std::nullopt;
  }
}

std::optional<std::uint64_t> GgufFile::get_uint(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr || v->type == GgufType::array || v->type == GgufType::boolean) return std::nullopt;
  return as_uint(v->scalar);
}

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr || v->type != GgufType::string) return std::nullopt;
  return std::string(std::get<std::string_view>(v->scalar));
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr || v->type == GgufType::array || v->type == GgufType::boolean) return std::nullopt;
  return as_double(v->scalar);
}

std::optional<std::uint64_t> GgufFile::get_uint_at(std::string_view key, std::uint64_t i) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (v->type != GgufType::array) return get_uint(key);
  if (v->elem_type == GgufType::boolean) return std::nullopt;
  const auto e = v->element(i);
  return e ? as_uint(*e) : std::nullopt;
}

std::uint64_t GgufFile::tensor_bytes() const {
  std::uint64_t sum = 0;
  for (const GgufTensorInfo& t : tensors) sum = checked_add(sum, t.bytes, "the tensor bytes");
  return sum;
}

std::uint64_t gguf_tensor_bytes(std::span<const GgufFile> parts) {
  std::uint64_t sum = 0;
  for (const GgufFile& f : parts) sum = checked_add(sum, f.tensor_bytes(), "the tensor bytes");
  return sum;
}

std::string_view ggml_type_name(std::uint32_t ggml_type) {
  for (const DtypeTraits& t : dtype_table) {
    if (t.ggml_id >= 0 && static_cast<std::uint32_t>(t.ggml_id) == ggml_type) {
      // dtype_table spells a few plain types the way users type KV dtypes; ggml's names
      // are shorter.
      if (t.id == Dtype::f32) return "f32";
      if (t.id == Dtype::f16) return "f16";
      if (t.id == Dtype::i8) return "i8";
      return t.name;
    }
  }
  return {};
}

// ---------------------------------------------------------------------------------------
// The parser

namespace {

struct Failure {
  Error error;
};

constexpr std::uint64_t read_chunk = 256u << 10; // bytes read ahead from the source at a time
constexpr std::uint64_t max_reserved = 1u << 20; // entries reserved ahead of reading them
constexpr std::uint64_t min_kv_bytes = 8 + 1 + 4 + 1;      // key length, 1-byte key, type, 1-byte value
constexpr std::uint64_t min_tensor_info_bytes = 8 + 4 + 4 + 8; // name length, n_dims, type, offset
constexpr std::uint32_t max_version = 3;

std::string_view value_type_name(std::uint32_t t) {
  switch (t) {
  case 0: return "u8";
  case 1: return "i8";
  case 2: return "u16";
  case 3: return "i16";
  case 4: return "u32";
  case 5: return "i32";
  case 6: return "f32";
  case 7: return "bool";
  case 8: return "string";
  case 9: return "array";
  case 10: return "u64";
  case 11: return "i64";
  case 12: return "f64";
  default: return "?";
  }
}

// Bytes of a fixed-size value type (GGUF_TYPE_SIZE in gguf.cpp); 0 for string and array.
std::uint64_t value_type_size(std::uint32_t t) {
  switch (t) {
  case 0: case 1: case 7: return 1;
  case 2: case 3: return 2;
  case 4: case 5: case 6: return 4;
  case 10: case 11: case 12: return 8;
  default: return 0;
  }
}

// Bytes from the file as they appear in messages: printable ASCII kept, anything else (which
// a hostile file could use to drive a terminal) as \xNN.
std::string printable(std::string_view bytes) {
  // At most 200 bytes of it: a key may be as long as the header.
  constexpr std::size_t max_shown = 200;
  std::string out;
  static constexpr char hex[] = "0123456789abcdef";
  for (char ch : bytes.substr(0, max_shown)) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out += ch;
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (bytes.size() > max_shown) out += "\u2026 (" + with_commas(bytes.size()) + " bytes)";
  return out;
}

// Sequential reads from a ByteSource through one bounded buffer. Every read is checked
// against the source size and the header limit before anything is read or allocated.
class Reader {
public:
  Reader(const ByteSource& source, std::string origin, std::uint64_t max_header)
      : source_(source), origin_(std::move(origin)), max_header_(max_header) {}

  [[nodiscard]] std::uint64_t pos() const { return pos_; }
  [[nodiscard]] std::uint64_t size() const { return source_.size; }
  [[nodiscard]] std::uint64_t remaining() const { return source_.size - pos_; }
  [[nodiscard]] const std::string& origin() const { return origin_; }

  [[noreturn]] void fail(const std::string& what, std::uint64_t at) const {
    throw Failure{{ErrorCode::invalid_model, origin_ + ": " + what + " (at byte " + std::to_string(at) + ")"}};
  }
  [[noreturn]] void fail_plain(const std::string& what) const {
    throw Failure{{ErrorCode::invalid_model, origin_ + ": " + what}};
  }

  // `describe` names what is read ("tensor info 3"); built only when a check fails.
  template <class Describe>
  void need(std::uint64_t n, Describe&& describe) const {
    if (n > remaining()) {
      fail_plain("truncated: " + describe() + " needs " + std::to_string(n) + " bytes at offset " +
                 std::to_string(pos_) + ", the file has " + std::to_string(source_.size));
    }
    if (pos_ + n > max_header_) {
      fail_plain(describe() + " at offset " + std::to_string(pos_) + " runs past the " +
                 std::to_string(max_header_) + "-byte header limit");
    }
  }

  template <class Describe>
  void read(char* out, std::uint64_t n, Describe&& describe) {
    need(n, describe);
    copy(out, n);
  }

  template <class Describe>
  void skip(std::uint64_t n, Describe&& describe) {
    need(n, describe);
    pos_ += n;
  }

  template <class T, class Describe>
  T le(Describe&& describe) {
    unsigned char b[sizeof(T)];
    read(reinterpret_cast<char*>(b), sizeof(T), describe);
    std::uint64_t v = 0;
    for (std::size_t i = sizeof(T); i-- > 0;) v = (v << 8) | b[i];
    if constexpr (std::is_signed_v<T>) {
      // two's complement reinterpretation of the low sizeof(T) bytes
      using U = std::make_unsigned_t<T>;
      return std::bit_cast<T>(static_cast<U>(v));
    } else {
      return static_cast<T>(v);
    }
  }

  template <class Describe>
  std::string string(Describe&& describe) {
    const auto len = le<std::uint64_t>([&] { return "the length of " + describe(); });
    need(len, describe); // checked before the allocation
    std::string s(static_cast<std::size_t>(len), '\0');
    copy(s.data(), len);
    return s;
  }

  // A string copied into the store (no std::string of its own): a view of the copy.
  template <class Describe>
  std::string_view string_in(GgufStore& store, Describe&& describe) {
    const auto len = le<std::uint64_t>([&] { return "the length of " + describe(); });
    need(len, describe); // checked before the allocation
    char* out = store.allocate(static_cast<std::size_t>(len));
    copy(out, len);
    return {out, static_cast<std::size_t>(len)};
  }

  // A string whose bytes are not needed: its length, and the bytes skipped unread.
  template <class Describe>
  std::uint64_t skip_string(Describe&& describe) {
    const auto len = le<std::uint64_t>([&] { return "the length of " + describe(); });
    skip(len, describe);
    return len;
  }

private:
  void copy(char* out, std::uint64_t n) {
    if (n == 0) return;
    if (pos_ >= buf_start_ && pos_ + n <= buf_start_ + buf_.size()) {
      std::memcpy(out, buf_.data() + (pos_ - buf_start_), static_cast<std::size_t>(n));
    } else if (n >= read_chunk) {
      fetch(pos_, n, out);
    } else {
      const std::uint64_t len = std::min(read_chunk, remaining());
      buf_.resize(static_cast<std::size_t>(len));
      fetch(pos_, len, buf_.data());
      buf_start_ = pos_;
      std::memcpy(out, buf_.data(), static_cast<std::size_t>(n));
    }
    pos_ += n;
  }

  void fetch(std::uint64_t offset, std::uint64_t n, char* out) const {
    if (!source_.read || !source_.read(offset, n, out)) {
      throw Failure{{ErrorCode::io, origin_ + ": cannot read " + std::to_string(n) + " bytes at offset " +
                                        std::to_string(offset)}};
    }
  }

  const ByteSource& source_;
  std::string origin_;
  std::uint64_t max_header_;
  std::uint64_t pos_ = 0;
  std::vector<char> buf_;
  std::uint64_t buf_start_ = 0;
};

const DtypeTraits* ggml_traits(std::uint32_t id) {
  for (const DtypeTraits& t : dtype_table) {
    if (t.ggml_id >= 0 && static_cast<std::uint32_t>(t.ggml_id) == id) return &t;
  }
  return nullptr;
}

std::string in_quotes(std::string_view s) { return "'" + printable(s) + "'"; }

GgufScalarView read_scalar(Reader& r, std::uint32_t type, std::string_view key, GgufStore& store) {
  auto what = [&] { return "the value of key " + in_quotes(key); };
  switch (type) {
  case 0: return std::uint64_t{r.le<std::uint8_t>(what)};
  case 1: return std::int64_t{r.le<std::int8_t>(what)};
  case 2: return std::uint64_t{r.le<std::uint16_t>(what)};
  case 3: return std::int64_t{r.le<std::int16_t>(what)};
  case 4: return std::uint64_t{r.le<std::uint32_t>(what)};
  case 5: return std::int64_t{r.le<std::int32_t>(what)};
  case 6: return static_cast<double>(std::bit_cast<float>(r.le<std::uint32_t>(what)));
  case 7: return r.le<std::int8_t>(what) != 0; // gguf.cpp: a bool is an int8, non-zero is true
  case 8: return r.string_in(store, what);
  case 10: return r.le<std::uint64_t>(what);
  case 11: return r.le<std::int64_t>(what);
  case 12: return std::bit_cast<double>(r.le<std::uint64_t>(what));
  default: return std::uint64_t{0}; // types are checked before
  }
}

GgufValue read_value(Reader& r, std::uint32_t type, std::string_view key, std::uint64_t type_at,
                     const GgufReadOptions& options, std::uint64_t& kept_budget, GgufStore& store) {
  GgufValue v;
  const std::uint64_t start = r.pos();
  v.type = static_cast<GgufType>(type);
  if (type != 9) {
    v.scalar = read_scalar(r, type, key, store);
    v.encoded_bytes = r.pos() - start;
    return v;
  }
  const auto elem = r.le<std::uint32_t>([&] { return "the element type of key " + in_quotes(key); });
  if (elem == 9) r.fail("metadata key " + in_quotes(key) + " is an array of arrays, which GGUF does not allow", type_at);
  if (elem > 12) {
    r.fail("metadata key " + in_quotes(key) + " is an array of unknown value type " + std::to_string(elem), type_at);
  }
  v.elem_type = static_cast<GgufType>(elem);
  v.count = r.le<std::uint64_t>([&] { return "the element count of key " + in_quotes(key); });
  // Every element takes at least its fixed size (strings: their 8-byte length), so a count
  // the rest of the file cannot hold is refused before anything is reserved.
  const std::uint64_t min_elem = elem == 8 ? 8 : value_type_size(elem);
  if (v.count > r.remaining() / min_elem) {
    r.fail_plain("truncated: the " + std::to_string(v.count) + " " + std::string(value_type_name(elem)) +
                 " elements of key " + in_quotes(key) + " need " + (elem == 8 ? "at least " : "") +
                 std::to_string(min_elem) + " bytes each at offset " + std::to_string(r.pos()) + ", the file has " +
                 std::to_string(r.size()));
  }
  // Kept elements are stored compactly (GgufArray): numbers one byte of memory per byte of
  // the file, within the budget of max_kept_array_bytes unless keep_arrays.
  const std::uint64_t numbers_bytes = elem == 8 ? 0 : v.count * min_elem; // fits: count <= remaining / min_elem
  const bool keep = options.keep_arrays ||
                    (elem != 8 && v.count <= gguf_kept_array_limit && numbers_bytes <= kept_budget);
  if (elem != 8) {
    if (keep) {
      GgufArray& a = store.add_array();
      a.bytes.resize(static_cast<std::size_t>(numbers_bytes));
      r.read(a.bytes.data(), numbers_bytes, [&] { return "the elements of key " + in_quotes(key); });
      v.elements = &a;
      if (!options.keep_arrays) kept_budget -= numbers_bytes;
    } else {
      r.skip(numbers_bytes, [&] { return "the elements of key " + in_quotes(key); });
    }
  } else {
    GgufArray* a = nullptr;
    if (keep) {
      a = &store.add_array();
      a->ends.reserve(static_cast<std::size_t>(v.count)); // count <= remaining / 8
    }
    for (std::uint64_t i = 0; i < v.count; ++i) {
      auto what = [&] { return "element " + std::to_string(i) + " of key " + in_quotes(key); };
      if (!keep) {
        r.skip_string(what);
        continue;
      }
      const auto len = r.le<std::uint64_t>([&] { return "the length of " + what(); });
      r.need(len, what);
      const std::size_t at = a->bytes.size();
      a->bytes.resize(at + static_cast<std::size_t>(len));
      r.read(a->bytes.data() + at, len, what);
      a->ends.push_back(a->bytes.size());
    }
    if (a != nullptr) {
      a->bytes.shrink_to_fit();
      v.elements = a;
    }
  }
  v.encoded_bytes = r.pos() - start;
  return v;
}

// The magic, the version and the two counts, each checked against what the file can hold.
struct GgufCounts {
  std::uint64_t tensors = 0, metadata = 0;
};

GgufCounts read_counts(Reader& r, GgufFile& f) {
  char magic[4];
  r.read(magic, 4, [] { return std::string("the magic"); });
  if (std::memcmp(magic, "GGUF", 4) != 0) r.fail_plain("not a GGUF file (magic '" + printable(std::string_view(magic, 4)) + "')");

  f.version = r.le<std::uint32_t>([] { return std::string("the version"); });
  const std::string supported = "vramcalc reads versions 2 and 3";
  if (f.version == 0) r.fail("GGUF version 0 is invalid", 4);
  if ((f.version & 0xFFFF) == 0) {
    r.fail("GGUF version " + std::to_string(f.version) +
               " looks byte-swapped: a big-endian file? vramcalc reads little-endian files",
           4);
  }
  if (f.version == 1) r.fail("GGUF version 1 is no longer supported (" + supported + ")", 4);
  if (f.version > max_version) r.fail("GGUF version " + std::to_string(f.version) + " is not supported (" + supported + ")", 4);

  // Counts are int64 in gguf.cpp (uint64 in docs/gguf.md); v2 and v3 both use 64 bits.
  const auto n_tensors = r.le<std::uint64_t>([] { return std::string("the tensor count"); });
  const auto n_kv = r.le<std::uint64_t>([] { return std::string("the metadata count"); });
  constexpr auto int64_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (n_tensors > int64_max) {
    r.fail("tensor count " + std::to_string(std::bit_cast<std::int64_t>(n_tensors)) + " is negative", 8);
  }
  if (n_kv > int64_max) r.fail("metadata count " + std::to_string(std::bit_cast<std::int64_t>(n_kv)) + " is negative", 16);
  const std::uint64_t after_header = r.remaining();
  if (n_tensors > after_header / min_tensor_info_bytes) {
    r.fail("tensor count " + std::to_string(n_tensors) + " cannot fit: a tensor info takes at least " +
               std::to_string(min_tensor_info_bytes) + " bytes and the file has " + std::to_string(after_header) +
               " after the header",
           8);
  }
  const std::uint64_t for_kv = after_header - n_tensors * min_tensor_info_bytes;
  if (n_kv > for_kv / min_kv_bytes) {
    r.fail("metadata count " + std::to_string(n_kv) + " cannot fit: a key-value pair takes at least " +
               std::to_string(min_kv_bytes) + " bytes and the file has " + std::to_string(for_kv) +
               " for them after the header and the tensor infos",
           16);
  }
  if (n_kv > gguf_max_metadata_pairs) {
    r.fail("metadata count " + std::to_string(n_kv) + " is implausibly large (vramcalc reads at most " +
               with_commas(gguf_max_metadata_pairs) + " key-value pairs; real files carry fewer than 100)",
           16);
  }

  return {n_tensors, n_kv};
}

// The metadata pairs (duplicate keys refused), the key index, general.alignment.
void read_metadata(Reader& r, GgufFile& f, GgufStore& store, std::uint64_t n_kv, const GgufReadOptions& options) {
  // Metadata. Memory grows with what is read, not with the counts (a count is checked
  // only against the file's size, which includes the tensor data): at most max_reserved
  // entries are reserved, address space that is touched only as entries are read. Duplicates are found through a set of positions (no second copy of the
  // keys); key_index is the same positions, sorted.
  f.metadata.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(n_kv, max_reserved)));
  detail::PositionSet keys(&f, [](const void* file, std::uint32_t i) {
    return static_cast<const GgufFile*>(file)->metadata[i].key;
  });
  keys.reserve(static_cast<std::size_t>(n_kv)); // at most gguf_max_metadata_pairs
  std::uint64_t kept_budget = options.max_kept_array_bytes;
  std::uint64_t alignment_at = 0;
  for (std::uint64_t i = 0; i < n_kv; ++i) {
    const std::uint64_t at = r.pos();
    const std::string_view key = r.string_in(store, [&] { return "metadata key " + std::to_string(i); });
    if (key.empty()) r.fail("metadata key " + std::to_string(i) + " is empty", at);
    if (keys.contains(key)) r.fail("metadata key " + in_quotes(key) + " appears twice", at);
    const std::uint64_t type_at = r.pos();
    const auto type = r.le<std::uint32_t>([&] { return "the value type of key " + in_quotes(key); });
    if (type > 12) r.fail("metadata key " + in_quotes(key) + " has unknown value type " + std::to_string(type), type_at);
    GgufValue v = read_value(r, type, key, type_at, options, kept_budget, store);
    if (key == "general.alignment") alignment_at = at;
    f.metadata.push_back(GgufKv{key, v});
    keys.insert(static_cast<std::uint32_t>(f.metadata.size() - 1));
  }
  keys.clear();
  f.key_index.resize(f.metadata.size());
  for (std::uint32_t i = 0; i < f.key_index.size(); ++i) f.key_index[i] = i;
  std::ranges::sort(f.key_index, {}, [&f](std::uint32_t i) { return f.metadata[i].key; });

  if (const GgufValue* a = f.find("general.alignment")) {
    if (a->type != GgufType::u32) {
      r.fail("general.alignment must be a u32, not " +
                 (a->type == GgufType::array ? std::string("an array") : std::string(value_type_name(static_cast<std::uint32_t>(a->type)))),
             alignment_at);
    }
    f.alignment = std::get<std::uint64_t>(a->scalar);
    if (f.alignment == 0 || (f.alignment & (f.alignment - 1)) != 0) {
      r.fail("general.alignment " + std::to_string(f.alignment) + " is not a power of two", alignment_at);
    }
  }

}

// The tensor infos: names, shapes, types and byte sizes; returns where each was read.
std::vector<std::uint64_t> read_tensor_infos(Reader& r, GgufFile& f, std::uint64_t n_tensors) {
  constexpr auto int64_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  // Tensor infos (reserved as the metadata).
  f.tensors.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(n_tensors, max_reserved)));
  detail::PositionSet names(&f, [](const void* file, std::uint32_t i) {
    return std::string_view(static_cast<const GgufFile*>(file)->tensors[i].name);
  });
  std::vector<std::uint64_t> info_at;
  info_at.reserve(f.tensors.capacity());
  for (std::uint64_t i = 0; i < n_tensors; ++i) {
    const std::uint64_t at = r.pos();
    r.need(min_tensor_info_bytes, [&] { return "tensor info " + std::to_string(i); });
    GgufTensorInfo t;
    t.name = r.string([&] { return "the name of tensor info " + std::to_string(i); });
    if (t.name.size() >= gguf_max_name_bytes) {
      r.fail("tensor info " + std::to_string(i) + " has a name of " + std::to_string(t.name.size()) +
                 " bytes; ggml allows at most " + std::to_string(gguf_max_name_bytes - 1),
             at);
    }
    if (const auto first = names.find(t.name)) {
      r.fail("tensor name " + in_quotes(t.name) + " appears twice (tensor infos " + std::to_string(*first) + " and " +
                 std::to_string(i) + ")",
             at);
    }
    const std::string tn = "tensor " + in_quotes(t.name);
    t.n_dims = r.le<std::uint32_t>([&] { return "the dimension count of " + tn; });
    if (t.n_dims > 4) r.fail(tn + " has " + std::to_string(t.n_dims) + " dimensions; ggml allows at most 4", at);
    for (std::uint32_t d = 0; d < t.n_dims; ++d) {
      const auto ne = r.le<std::int64_t>([&] { return "dimension " + std::to_string(d) + " of " + tn; });
      if (ne < 0) r.fail(tn + " dimension " + std::to_string(d) + " is negative (" + std::to_string(ne) + ")", at);
      t.ne[d] = static_cast<std::uint64_t>(ne);
    }
    // ggml keeps element counts in int64_t: the product must stay below INT64_MAX.
    std::uint64_t elements = 1;
    bool fits = true;
    for (std::uint64_t ne : t.ne) fits = fits && !__builtin_mul_overflow(elements, ne, &elements);
    if (!fits || elements >= int64_max) {
      std::string shape;
      for (std::uint32_t d = 0; d < t.n_dims; ++d) shape += (d ? " x " : "") + std::to_string(t.ne[d]);
      r.fail(tn + " has too many elements: " + shape + " does not fit in a 64-bit signed count", at);
    }
    t.ggml_type = r.le<std::uint32_t>([&] { return "the type of " + tn; });
    const DtypeTraits* traits = ggml_traits(t.ggml_type);
    if (traits == nullptr) {
      r.fail(tn + " has ggml type " + std::to_string(t.ggml_type) + ", which is unknown or removed", at);
    }
    if (t.ne[0] % traits->block_elems != 0) {
      r.fail(tn + " of type " + std::string(ggml_type_name(t.ggml_type)) + " has rows of " + std::to_string(t.ne[0]) +
                 " elements, not a multiple of its " + std::to_string(traits->block_elems) + "-element block",
             at);
    }
    try {
      // ggml_nbytes of a contiguous tensor: row_size(type, ne0) x ne1 x ne2 x ne3
      const std::uint64_t row = checked_mul(t.ne[0] / traits->block_elems, traits->block_bytes);
      t.bytes = checked_mul(checked_mul(checked_mul(row, t.ne[1]), t.ne[2]), t.ne[3]);
    } catch (const OverflowError&) {
      r.fail(tn + " takes more bytes than fit in 64 bits", at);
    }
    t.offset = r.le<std::uint64_t>([&] { return "the data offset of " + tn; });
    f.tensors.push_back(std::move(t));
    names.insert(static_cast<std::uint32_t>(f.tensors.size() - 1));
    info_at.push_back(at);
  }
  names.clear();

  return info_at;
}

// The data section: after the header padded to the alignment, each tensor's data where the
// offsets before it say and inside the file.
void check_tensor_data(Reader& r, GgufFile& f, const std::vector<std::uint64_t>& info_at) {
  f.header_bytes = r.pos();
  // The data section starts at the header padded to the alignment (GGML_PAD in gguf.cpp).
  f.data_offset = f.header_bytes + (f.alignment - f.header_bytes % f.alignment) % f.alignment;
  if (f.data_offset < f.header_bytes) r.fail("the padded header does not fit in 64 bits", f.header_bytes);
  if (!f.tensors.empty() && f.data_offset > f.file_size) {
    r.fail_plain("truncated: the data section starts at offset " + std::to_string(f.data_offset) + " (the header padded to " +
                 std::to_string(f.alignment) + " bytes), the file has " + std::to_string(f.file_size));
  }

  // gguf.cpp: each offset equals the running sum of the padded sizes before it. llama.cpp's
  // loader then checks that every tensor's data lies inside the file.
  std::uint64_t expected = 0;
  for (std::size_t i = 0; i < f.tensors.size(); ++i) {
    const GgufTensorInfo& t = f.tensors[i];
    const std::string tn = "tensor " + in_quotes(t.name);
    const std::string a = std::to_string(f.alignment);
    if (t.offset % f.alignment != 0) {
      r.fail(tn + " has data offset " + std::to_string(t.offset) + ", not a multiple of the " + a + "-byte alignment",
             info_at[i]);
    }
    if (t.offset < expected) {
      r.fail(tn + " has data offset " + std::to_string(t.offset) + ", overlapping the tensor before it, which ends at " +
                 std::to_string(expected) + " (padded to " + a + " bytes)",
             info_at[i]);
    }
    if (t.offset > expected) {
      r.fail(tn + " has data offset " + std::to_string(t.offset) + ", leaving a gap: expected " + std::to_string(expected),
             info_at[i]);
    }
    // No wrap: the offsets before this one each held a tensor inside the file, so start is
    // at most file size + alignment.
    const std::uint64_t start = f.data_offset + t.offset;
    if (t.bytes > f.file_size || start > f.file_size - t.bytes) {
      r.fail_plain("truncated: the data of " + tn + " needs " + std::to_string(t.bytes) + " bytes at offset " +
                   std::to_string(start) + ", the file has " + std::to_string(f.file_size));
    }
    expected += t.bytes + (f.alignment - t.bytes % f.alignment) % f.alignment;
  }
}

GgufFile parse(const ByteSource& source, std::string origin, const GgufReadOptions& options) {
  Reader r(source, std::move(origin), options.max_header_bytes);
  GgufFile f;
  auto store = std::make_shared<GgufStore>();
  f.store = store;
  f.origin = r.origin();
  f.file_size = source.size;
  const GgufCounts n = read_counts(r, f);
  read_metadata(r, f, *store, n.metadata, options);
  const std::vector<std::uint64_t> info_at = read_tensor_infos(r, f, n.tensors);
  check_tensor_data(r, f, info_at);
  return f;
}

} // namespace

std::expected<GgufFile, Error> parse_gguf(const ByteSource& source, std::string_view origin,
                                          const GgufReadOptions& options) {
  try {
    return parse(source, std::string(origin), options);
  } catch (const Failure& e) {
    return std::unexpected(e.error);
  } catch (const std::bad_alloc&) {
    return std::unexpected(Error{ErrorCode::io, std::string(origin) + ": out of memory while reading the header"});
  }
}

std::expected<GgufFile, Error> read_gguf_file(const std::string& path, const GgufReadOptions& options) {
  auto file = FileSource::open(path);
  if (!file) return std::unexpected(file.error());
  return parse_gguf(file->source(), path, options);
}

// ---------------------------------------------------------------------------------------
// Split models

std::optional<GgufSplitName> parse_gguf_split_name(std::string_view path) {
  constexpr std::string_view ext = ".gguf";
  if (!path.ends_with(ext)) return std::nullopt;
  std::string_view s = path.substr(0, path.size() - ext.size());
  // "-NNNNN-of-MMMMM": %05d, so at least five digits each (more above 99999).
  auto take_digits = [&s]() -> std::optional<std::uint64_t> {
    std::size_t n = 0;
    while (n < s.size() && s[s.size() - 1 - n] >= '0' && s[s.size() - 1 - n] <= '9') ++n;
    if (n < 5 || n > 9) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s.substr(s.size() - n)) v = v * 10 + static_cast<std::uint64_t>(c - '0');
    s.remove_suffix(n);
    return v;
  };
  const auto count = take_digits();
  if (!count || !s.ends_with("-of-")) return std::nullopt;
  s.remove_suffix(4);
  const auto index = take_digits();
  if (!index || !s.ends_with("-")) return std::nullopt;
  s.remove_suffix(1);
  if (*index == 0 || *count == 0 || *index > *count || s.empty()) return std::nullopt;
  return GgufSplitName{std::string(s), static_cast<std::uint32_t>(*index), static_cast<std::uint32_t>(*count)};
}

std::string gguf_split_path(std::string_view prefix, std::uint32_t index, std::uint32_t count) {
  auto pad5 = [](std::uint32_t v) {
    std::string d = std::to_string(v);
    return d.size() < 5 ? std::string(5 - d.size(), '0') + d : d;
  };
  return std::string(prefix) + "-" + pad5(index) + "-of-" + pad5(count) + ".gguf";
}

std::expected<std::vector<GgufFile>, Error> read_gguf_split(const std::string& path, const GgufReadOptions& options) {
  std::vector<GgufFile> parts;
  const auto name = parse_gguf_split_name(path);
  auto invalid = [](const std::string& what) { return std::unexpected(Error{ErrorCode::invalid_model, what}); };
  if (!name) {
    auto f = read_gguf_file(path, options);
    if (!f) return std::unexpected(f.error());
    if (const auto n = f->get_uint("split.count"); n && *n > 1) {
      return invalid(path + ": split.count says the model has " + std::to_string(*n) +
                     " parts, but the file name does not follow the <name>-00001-of-0000N.gguf convention");
    }
    parts.push_back(std::move(*f));
    return parts;
  }
  std::unordered_map<std::string, std::string> owner; // tensor name -> part
  std::vector<std::pair<FileSource::Id, std::string>> opened; // each part once: links to one file are refused
  std::uint64_t total_tensors = 0;
  for (std::uint32_t i = 1; i <= name->count; ++i) {
    const std::string p = gguf_split_path(name->prefix, i, name->count);
    std::error_code ec;
    if (!std::filesystem::exists(p, ec)) {
      return std::unexpected(Error{ErrorCode::io, path + ": part " + std::to_string(i) + " of " +
                                                      std::to_string(name->count) + " is missing (" + p + ")"});
    }
    auto file = FileSource::open(p);
    if (!file) return std::unexpected(file.error());
    for (const auto& [id, other] : opened) {
      if (id == file->id()) return invalid(p + ": part " + std::to_string(i) + " is the same file as " + other);
    }
    opened.emplace_back(file->id(), p);
    // Only part 1's metadata is used (gguf_to_spec): the others keep no array elements.
    GgufReadOptions part_options = options;
    if (i > 1 && !options.keep_arrays) part_options.max_kept_array_bytes = 0;
    auto f = parse_gguf(file->source(), p, part_options);
    if (!f) return std::unexpected(f.error());
    // gguf-split writes split.no (0-based, u16) and split.count into every part.
    if (const auto no = f->get_uint("split.no"); no && *no != i - 1) {
      return invalid(p + ": split.no is " + std::to_string(*no) + ", but the file name makes it part " +
                     std::to_string(i) + " (split.no " + std::to_string(i - 1) + ")");
    }
    if (const auto n = f->get_uint("split.count"); n && *n != name->count) {
      return invalid(p + ": split.count is " + std::to_string(*n) + ", but the file name says " +
                     std::to_string(name->count) + " parts");
    }
    for (const GgufTensorInfo& t : f->tensors) {
      if (auto [it, fresh] = owner.emplace(t.name, p); !fresh) {
        return invalid(p + ": tensor '" + t.name + "' is also in " + it->second);
      }
    }
    total_tensors += f->tensors.size();
    parts.push_back(std::move(*f));
  }
  if (const auto n = parts.front().get_uint("split.tensors.count"); n && *n != total_tensors) {
    return invalid(parts.front().origin + ": split.tensors.count is " + std::to_string(*n) + ", but the " +
                   std::to_string(name->count) + " parts hold " + std::to_string(total_tensors) + " tensors");
  }
  return parts;
}

} // namespace vramcalc::io
