// The JSON header of a safetensors file, read by a hand-written scanner in one pass over the
// text: strict JSON (RFC 8259 as nlohmann's parser reads it: UTF-8 checked, surrogate pairs,
// no comments, a leading BOM skipped), the rules of huggingface/safetensors
// safetensors/src/tensor.rs (docs/file-formats.md), and the messages the earlier reader
// (nlohmann's SAX parser feeding detail::DomBuilder) gave, word for word.
//
// Why not nlohmann: its lexer copies every token into a std::string and reports it through
// virtual-free but deep call chains; a header of 200,000 tensors (13 MB) took 0.35 s of CPU
// in a release build and 3-4 s under AddressSanitizer. Here a tensor entry in its usual form
// is read straight from the bytes, without a token copy or an allocation: its name and shape
// go into the set's arena when it is kept.
//
// Anything else is read by the generic part of the scanner, which produces nlohmann's SAX
// events (same value types, same order) for a DomBuilder, so every unusual entry and a
// __metadata__ of other than strings are checked on a small document exactly as before.
// Invalid JSON is found by the scanner; the message is then nlohmann's own, from a second
// parse of the text (only on this error path), so it stays word for word what it was.
#include "safetensors_header.hpp"

#include "json_util.hpp"
#include "position_set.hpp"
#include "vramcalc/text.hpp"
#include "vramcalc/units.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>

namespace vramcalc::io {

char* SafetensorsStorage::allocate(std::size_t n, std::size_t align) {
  if (n == 0) return nullptr;
  std::size_t pad = (align - reinterpret_cast<std::uintptr_t>(next_) % align) % align;
  if (next_ == nullptr || pad + n > left_) {
    block_bytes_ = std::min<std::size_t>(block_bytes_ * 2, std::size_t{1} << 20);
    const std::size_t size = std::max(n, block_bytes_);
    blocks_.push_back(std::make_unique_for_overwrite<char[]>(size)); // aligned for any scalar
    next_ = blocks_.back().get();
    left_ = size;
    pad = 0;
  }
  char* out = next_ + pad;
  next_ = out + n;
  left_ -= pad + n;
  return out;
}

namespace detail {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& origin, const std::string& what) {
  throw LoadFailure{{ErrorCode::invalid_model, origin + ": " + what}};
}

// Names come from the file: messages quote a bounded excerpt, control bytes shown as \xNN.
std::string printable(std::string_view name) { return excerpt(name, 200); }

// A key as a JSON pointer token (RFC 6901), printable.
std::string escape_pointer(std::string_view key) { return excerpt(json_pointer_token(key), 200); }

// The scanner met a byte that is not JSON (or a number beyond double's range).
struct NotJson {};

// Accepts every SAX event: for nlohmann's second parse, which only words the error, and for
// a root that is not an object (read for its syntax only).
struct IgnoreEvents {
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const json::string_t&) { return true; }
  bool string(json::string_t&) { return true; }
  bool binary(json::binary_t&) { return true; }
  bool start_object(std::size_t) { return true; }
  bool end_object() { return true; }
  bool start_array(std::size_t) { return true; }
  bool end_array() { return true; }
  bool key(json::string_t&) { return true; }
  template <typename Exception>
  bool parse_error(std::size_t, const std::string&, const Exception& ex) {
    throw ex;
  }
};

// The most JSON values one tensor entry read as a document may hold, and how deep (dtype,
// shape, data_offsets and their elements need a handful, two levels): the document stays
// small whatever the entry holds.
constexpr std::size_t max_entry_values = 4096;
constexpr std::size_t max_entry_depth = 8;
// Shapes longer than this are read as a document (real tensors have at most 5 dimensions).
constexpr std::size_t max_fast_dims = 64;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class HeaderScanner {
public:
  HeaderScanner(std::string_view text, const std::string& origin, SafetensorsSet& set, SafetensorsStorage& storage)
      : p_(text.data()), end_(text.data() + text.size()), origin_(origin), set_(set),
        storage_(storage), document_(origin, ErrorCode::invalid_model, true) {}

  // The whole text; false when the root is not an object. Throws NotJson or LoadFailure (a
  // duplicate key, at once, as the parser's events came); the first problem of a member is
  // kept in problem().
  bool scan() {
    if (end_ - p_ >= 1 && static_cast<unsigned char>(*p_) == 0xEF) { // a UTF-8 BOM, as nlohmann skips it
      if (end_ - p_ < 3 || static_cast<unsigned char>(p_[1]) != 0xBB || static_cast<unsigned char>(p_[2]) != 0xBF) {
        throw NotJson{};
      }
      p_ += 3;
    }
    skip_space();
    bool object = false;
    if (peek() == '{') {
      object = true;
      members();
    } else {
      IgnoreEvents ignore;
      value(ignore);
    }
    // The end of the text, or a NUL byte: nlohmann's lexer takes NUL for the end of input
    // (for C strings) and reads nothing after it, so neither does this reader.
    skip_space();
    if (peek() != '\0') throw NotJson{};
    return object;
  }

  [[nodiscard]] const std::optional<LoadFailure>& problem() const { return problem_; }

private:
  // ---- the root object: one member at a time ---------------------------------------------
  void members() {
    ++p_; // '{'
    skip_space();
    if (peek() == '}') {
      ++p_;
      return;
    }
    for (;;) {
      if (peek() != '"') throw NotJson{};
      std::string_view name = string(name_scratch_);
      const bool metadata = name == "__metadata__";
      if (metadata) {
        if (seen_metadata_) fail(origin_, "/__metadata__: duplicate key");
        seen_metadata_ = true;
      }
      skip_space();
      if (peek() != ':') throw NotJson{};
      ++p_;
      skip_space();
      if (metadata) read_metadata();
      else read_entry(name);
      skip_space();
      const char c = peek();
      ++p_;
      if (c == '}') return;
      if (c != ',') throw NotJson{};
      skip_space();
    }
  }

  // ---- a tensor entry ----------------------------------------------------------------------
  void read_entry(std::string_view name) {
    const char* start = p_;
    if (fast_entry()) {
      if (!problem_) keep_fast(name);
      return;
    }
    p_ = start; // not the usual form: the entry as a small document
    document_.restart(name, max_entry_values, max_entry_depth);
    value(document_);
    const bool truncated = document_.truncated();
    const json v = document_.take();
    if (problem_) return; // only the first is reported
    try {
      read_document(name, v, truncated);
    } catch (const LoadFailure& f) {
      problem_ = f;
    }
  }

  // The usual form, {"dtype": "...", "shape": [n, ...], "data_offsets": [b, e]}: each key once,
  // in any order, integers written as digits. Anything else (another key, a key twice, a
  // sign, a fraction, an exponent, a value beyond 64 bits, invalid JSON) returns false,
  // having changed nothing but the scanner's position, which the caller puts back.
  bool fast_entry() {
    if (peek() != '{') return false;
    ++p_;
    unsigned seen = 0;
    for (;;) {
      skip_space();
      if (peek() != '"') return false;
      const std::optional<std::string_view> key = try_string(key_scratch_);
      if (!key) return false;
      unsigned field = *key == "dtype" ? 1U : *key == "shape" ? 2U : *key == "data_offsets" ? 4U : 0U;
      if (field == 0 || (seen & field) != 0) return false;
      seen |= field;
      skip_space();
      if (peek() != ':') return false;
      ++p_;
      skip_space();
      if (field == 1) {
        if (peek() != '"') return false;
        const std::optional<std::string_view> dtype = try_string(dtype_scratch_);
        if (!dtype) return false;
        fast_dtype_ = *dtype;
      } else if (field == 2) {
        if (!unsigned_array(fast_dims_, max_fast_dims, fast_rank_)) return false;
      } else {
        std::size_t n = 0;
        if (!unsigned_array(fast_offsets_, 2, n) || n != 2) return false;
      }
      skip_space();
      const char c = peek();
      if (c == '}') {
        ++p_;
        return seen == 7;
      }
      if (c != ',') return false;
      ++p_;
    }
  }

  // [d, ...] of at most `cap` integers written as plain digits that fit in 64 bits.
  bool unsigned_array(std::uint64_t* out, std::size_t cap, std::size_t& n) {
    if (peek() != '[') return false;
    ++p_;
    skip_space();
    n = 0;
    if (peek() == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      if (n == cap || p_ == end_ || !is_digit(*p_)) return false;
      std::uint64_t v = 0;
      if (*p_ == '0') {
        ++p_;
      } else {
        while (p_ != end_ && is_digit(*p_)) {
          const auto d = static_cast<std::uint64_t>(*p_ - '0');
          if (v > (UINT64_MAX - d) / 10) return false; // beyond 64 bits: a float to nlohmann
          v = v * 10 + d;
          ++p_;
        }
      }
      if (p_ != end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E' || is_digit(*p_))) return false;
      out[n++] = v;
      skip_space();
      const char c = peek();
      ++p_;
      if (c == ']') return true;
      if (c != ',') return false;
      skip_space();
    }
  }

  void keep_fast(std::string_view name) {
    try {
      const auto path = [&] { return "/" + escape_pointer(name); };
      const std::string_view dtype = safetensors_dtype_name(fast_dtype_);
      if (dtype.empty()) fail(origin_, path() + "/dtype: unknown dtype '" + printable(fast_dtype_) + "'");
      keep(name, dtype, std::span<const std::uint64_t>(fast_dims_, fast_rank_), fast_offsets_[0], fast_offsets_[1]);
    } catch (const LoadFailure& f) {
      problem_ = f;
    }
  }

  static std::uint64_t non_negative(const json& v, const std::string& origin, const std::string& path, const char* what) {
    if (v.is_number_unsigned()) return v.get<std::uint64_t>();
    if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
    fail(origin, path + ": " + what + " must be non-negative integers, got " + json_excerpt(v));
  }

  // An entry read as a document: the types of its fields checked, then the sizes (keep).
  void read_document(std::string_view name, const json& info, bool truncated) {
    // Messages only: built when one is needed.
    const auto path = [&] { return "/" + escape_pointer(name); };
    if (!info.is_object()) fail(origin_, path() + ": expected an object with dtype, shape and data_offsets");
    for (const char* k : {"dtype", "shape", "data_offsets"}) {
      if (!info.contains(k)) fail(origin_, path() + ": missing key '" + k + "'");
    }
    const json& dtype_value = info.at("dtype");
    if (!dtype_value.is_string()) fail(origin_, path() + "/dtype: expected a string, got " + json_excerpt(dtype_value));
    const std::string& dtype_text = dtype_value.get_ref<const std::string&>();
    const std::string_view dtype = safetensors_dtype_name(dtype_text);
    if (dtype.empty()) fail(origin_, path() + "/dtype: unknown dtype '" + printable(dtype_text) + "'");

    const json& shape = info.at("shape");
    if (!shape.is_array()) fail(origin_, path() + "/shape: expected an array, got " + json_excerpt(shape));
    std::vector<std::uint64_t> dims;
    dims.reserve(shape.size());
    for (const json& d : shape) dims.push_back(non_negative(d, origin_, path() + "/shape", "dimensions"));

    const json& offsets = info.at("data_offsets");
    if (!offsets.is_array() || offsets.size() != 2) {
      fail(origin_, path() + "/data_offsets: expected [begin, end], got " + json_excerpt(offsets));
    }
    const std::uint64_t begin = non_negative(offsets[0], origin_, path() + "/data_offsets", "offsets");
    const std::uint64_t end = non_negative(offsets[1], origin_, path() + "/data_offsets", "offsets");
    keep(name, dtype, dims, begin, end, truncated);
  }

  // The size checks of tensor.rs in their order, then the tensor into the set, its name and
  // shape into the arena. `truncated`: the entry held more than a document keeps (refused
  // once the rest has been checked, as before).
  void keep(std::string_view name, std::string_view dtype, std::span<const std::uint64_t> shape, std::uint64_t begin,
            std::uint64_t end, bool truncated = false) {
    const auto path = [&] { return "/" + escape_pointer(name); };
    const std::uint32_t bits = safetensors_dtype_bits(dtype);
    if (end < begin) {
      fail(origin_, path() + "/data_offsets: end " + std::to_string(end) + " is before begin " + std::to_string(begin));
    }
    const auto dims = [&] {
      std::string out;
      for (std::uint64_t d : shape) out += (out.empty() ? "" : ", ") + std::to_string(d);
      return out;
    };
    std::uint64_t elements = 1;
    std::uint64_t bits_total = 0;
    try {
      for (std::uint64_t d : shape) elements = checked_mul(elements, d, "a tensor's element count");
      bits_total = checked_mul(elements, bits);
    } catch (const OverflowError&) {
      fail(origin_, path() + "/shape: [" + dims() + "] x " + std::to_string(bits) + " bits does not fit in 64 bits");
    }
    if (bits_total % 8 != 0) {
      fail(origin_, path() + ": " + std::to_string(elements) + " elements of " + std::string(dtype) + " take " +
                        std::to_string(bits_total) + " bits, not a whole number of bytes");
    }
    if (end - begin != bits_total / 8) {
      fail(origin_, path() + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] hold " +
                        std::to_string(end - begin) + " bytes, but shape [" + dims() + "] of " + std::string(dtype) +
                        " takes " + std::to_string(bits_total / 8));
    }
    if (truncated) {
      fail(origin_, path() + ": the entry holds more than " + with_commas(max_entry_values) +
                        " JSON values or nests deeper than " + std::to_string(max_entry_depth) +
                        " levels; a tensor entry is its dtype, shape and data_offsets");
    }
    SafetensorsTensor t;
    char* n = storage_.allocate(name.size(), 1);
    if (!name.empty()) std::memcpy(n, name.data(), name.size());
    t.name = std::string_view(n, name.size());
    t.dtype = dtype;
    auto* s = reinterpret_cast<std::uint64_t*>(storage_.allocate(shape.size() * sizeof(std::uint64_t), alignof(std::uint64_t)));
    if (!shape.empty()) std::memcpy(s, shape.data(), shape.size() * sizeof(std::uint64_t));
    t.shape = std::span<const std::uint64_t>(s, shape.size());
    t.begin = begin;
    t.end = end;
    set_.tensors.push_back(t);
  }

  // ---- __metadata__ ------------------------------------------------------------------------
  void read_metadata() {
    const char* start = p_;
    std::map<std::string, std::string> kept;
    if (fast_metadata(kept)) {
      if (!problem_) set_.metadata = std::move(kept);
      return;
    }
    p_ = start;
    document_.restart("__metadata__", static_cast<std::size_t>(-1), max_entry_depth);
    value(document_);
    const json v = document_.take();
    if (problem_) return;
    try {
      if (!v.is_object()) fail(origin_, "/__metadata__: expected an object of strings");
      for (const auto& [mk, mv] : v.items()) { // in key order, as the document keeps them
        if (!mv.is_string()) {
          fail(origin_, "/__metadata__/" + escape_pointer(mk) + ": expected a string, got " + json_excerpt(mv));
        }
        set_.metadata.emplace(mk, mv.get<std::string>());
      }
    } catch (const LoadFailure& f) {
      problem_ = f;
    }
  }

  // An object of strings, each key once; false for anything else.
  bool fast_metadata(std::map<std::string, std::string>& out) {
    if (peek() != '{') return false;
    ++p_;
    skip_space();
    if (peek() == '}') {
      ++p_;
      return true;
    }
    for (;;) {
      if (peek() != '"') return false;
      const std::optional<std::string_view> key = try_string(key_scratch_);
      if (!key) return false;
      skip_space();
      if (peek() != ':') return false;
      ++p_;
      skip_space();
      if (peek() != '"') return false;
      const std::optional<std::string_view> text = try_string(dtype_scratch_);
      if (!text || !out.emplace(*key, *text).second) return false;
      skip_space();
      const char c = peek();
      ++p_;
      if (c == '}') return true;
      if (c != ',') return false;
      skip_space();
    }
  }

  // ---- any JSON value, as nlohmann's SAX events -------------------------------------------
  // Iterative: nesting costs one bit of `open_` per level, never native stack.
  template <typename Sink>
  void value(Sink& sink) {
    open_.clear();
    for (;;) {
      skip_space();
      switch (peek()) {
      case '{':
        ++p_;
        sink.start_object(static_cast<std::size_t>(-1));
        skip_space();
        if (peek() == '}') {
          ++p_;
          sink.end_object();
          break;
        }
        open_.push_back(true);
        key(sink);
        continue;
      case '[':
        ++p_;
        sink.start_array(static_cast<std::size_t>(-1));
        skip_space();
        if (peek() == ']') {
          ++p_;
          sink.end_array();
          break;
        }
        open_.push_back(false);
        continue;
      case '"': {
        const std::string_view s = string(value_scratch_);
        if (s.data() != value_scratch_.data()) value_scratch_.assign(s);
        sink.string(value_scratch_);
        break;
      }
      case 't':
        literal("true");
        sink.boolean(true);
        break;
      case 'f':
        literal("false");
        sink.boolean(false);
        break;
      case 'n':
        literal("null");
        sink.null();
        break;
      default: number(sink); break;
      }
      // A value is complete: close what ends here, or go on to the next element or member.
      for (;;) {
        if (open_.empty()) return;
        skip_space();
        const char c = peek();
        const bool object = open_.back();
        ++p_;
        if (c == ',') {
          if (object) {
            skip_space();
            key(sink);
          }
          break;
        }
        if (c != (object ? '}' : ']')) throw NotJson{};
        open_.pop_back();
        if (object) sink.end_object();
        else sink.end_array();
      }
    }
  }

  // A member's key, then its ':' (the key event comes first, as nlohmann sends it).
  template <typename Sink>
  void key(Sink& sink) {
    if (peek() != '"') throw NotJson{};
    const std::string_view k = string(value_scratch_);
    if (k.data() != value_scratch_.data()) value_scratch_.assign(k);
    sink.key(value_scratch_);
    skip_space();
    if (peek() != ':') throw NotJson{};
    ++p_;
  }

  void literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) throw NotJson{};
    p_ += word.size();
  }

  // A number with nlohmann's types: an integer without sign that fits in 64 bits is unsigned,
  // a negative one that fits in int64 is an integer, anything else a double (strtod, as
  // nlohmann's lexer); a double beyond its range is an error (nlohmann's out_of_range 406).
  template <typename Sink>
  void number(Sink& sink) {
    const char* start = p_;
    const bool negative = peek() == '-';
    if (negative) ++p_;
    if (p_ == end_ || !is_digit(*p_)) throw NotJson{};
    bool integer = true;
    bool fits = true;
    std::uint64_t magnitude = 0;
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ != end_ && is_digit(*p_)) {
        const auto d = static_cast<std::uint64_t>(*p_ - '0');
        if (magnitude > (UINT64_MAX - d) / 10) fits = false;
        else magnitude = magnitude * 10 + d;
        ++p_;
      }
    }
    if (p_ != end_ && *p_ == '.') {
      integer = false;
      ++p_;
      if (p_ == end_ || !is_digit(*p_)) throw NotJson{};
      while (p_ != end_ && is_digit(*p_)) ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      integer = false;
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !is_digit(*p_)) throw NotJson{};
      while (p_ != end_ && is_digit(*p_)) ++p_;
    }
    if (integer && fits) {
      if (!negative) {
        sink.number_unsigned(magnitude);
        return;
      }
      constexpr std::uint64_t int64_min_magnitude = std::uint64_t{1} << 63;
      if (magnitude <= int64_min_magnitude) {
        sink.number_integer(magnitude == int64_min_magnitude ? INT64_MIN : -static_cast<std::int64_t>(magnitude));
        return;
      }
    }
    value_scratch_.assign(start, p_);
    const double d = std::strtod(value_scratch_.c_str(), nullptr);
    if (!std::isfinite(d)) throw NotJson{};
    sink.number_float(d, value_scratch_);
  }

  // ---- strings -------------------------------------------------------------------------------
  // At '"': the string's text, decoded: a view into the header when it holds no escape, else
  // into `scratch`. nullopt (the position then undefined) when it is not valid JSON.
  std::optional<std::string_view> try_string(std::string& scratch) {
    ++p_; // '"'
    const char* start = p_;
    for (;;) {
      if (p_ == end_) return std::nullopt;
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        return std::string_view(start, static_cast<std::size_t>(p_ - 1 - start));
      }
      if (c == '\\') break;
      if (c < 0x20) return std::nullopt;
      if (c < 0x80) ++p_;
      else if (!utf8()) return std::nullopt;
    }
    scratch.assign(start, p_);
    for (;;) {
      if (p_ == end_) return std::nullopt;
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        return std::string_view(scratch);
      }
      if (c < 0x20) return std::nullopt;
      if (c == '\\') {
        if (!escape(scratch)) return std::nullopt;
        continue;
      }
      const char* from = p_;
      if (c < 0x80) ++p_;
      else if (!utf8()) return std::nullopt;
      scratch.append(from, p_);
    }
  }

  std::string_view string(std::string& scratch) {
    const std::optional<std::string_view> s = try_string(scratch);
    if (!s) throw NotJson{};
    return *s;
  }

  // At '\\': one escape, decoded onto `out`.
  bool escape(std::string& out) {
    ++p_;
    if (p_ == end_) return false;
    const char c = *p_++;
    switch (c) {
    case '"': out += '"'; return true;
    case '\\': out += '\\'; return true;
    case '/': out += '/'; return true;
    case 'b': out += '\b'; return true;
    case 'f': out += '\f'; return true;
    case 'n': out += '\n'; return true;
    case 'r': out += '\r'; return true;
    case 't': out += '\t'; return true;
    case 'u': break;
    default: return false;
    }
    int cp = hex4();
    if (cp < 0) return false;
    if (cp >= 0xD800 && cp <= 0xDBFF) { // a high surrogate: its low half must follow
      if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
      p_ += 2;
      const int low = hex4();
      if (low < 0xDC00 || low > 0xDFFF) return false;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      return false;
    }
    append_utf8(out, static_cast<std::uint32_t>(cp));
    return true;
  }

  int hex4() {
    if (end_ - p_ < 4) return -1;
    int v = 0;
    for (int i = 0; i < 4; ++i) {
      const int h = hex_value(p_[i]);
      if (h < 0) return -1;
      v = v * 16 + h;
    }
    p_ += 4;
    return v;
  }

  // At a byte >= 0x80: one well-formed UTF-8 sequence (Unicode table 3-7, as nlohmann checks).
  bool utf8() {
    const auto b0 = static_cast<unsigned char>(*p_);
    unsigned char lo = 0x80, hi = 0xBF;
    int more = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) more = 1;
    else if (b0 == 0xE0) more = 2, lo = 0xA0;
    else if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) more = 2;
    else if (b0 == 0xED) more = 2, hi = 0x9F;
    else if (b0 == 0xF0) more = 3, lo = 0x90;
    else if (b0 >= 0xF1 && b0 <= 0xF3) more = 3;
    else if (b0 == 0xF4) more = 3, hi = 0x8F;
    else return false;
    if (end_ - p_ <= more) return false;
    for (int i = 1; i <= more; ++i) {
      const auto b = static_cast<unsigned char>(p_[i]);
      if (b < lo || b > hi) return false;
      lo = 0x80;
      hi = 0xBF;
    }
    p_ += more + 1;
    return true;
  }

  // ---- bytes -------------------------------------------------------------------------------
  void skip_space() {
    while (p_ != end_ && is_space(*p_)) ++p_;
  }
  // The next byte, or NUL at the end (a NUL byte is as invalid where the scanner looks).
  [[nodiscard]] char peek() const { return p_ != end_ ? *p_ : '\0'; }

  const char* p_;
  const char* end_;
  const std::string& origin_;
  SafetensorsSet& set_;
  SafetensorsStorage& storage_;
  DomBuilder document_;
  std::optional<LoadFailure> problem_;
  bool seen_metadata_ = false;
  std::vector<bool> open_;
  std::string name_scratch_, key_scratch_, dtype_scratch_, value_scratch_;
  std::string_view fast_dtype_;
  std::uint64_t fast_dims_[max_fast_dims] = {};
  std::size_t fast_rank_ = 0;
  std::uint64_t fast_offsets_[2] = {};
};

} // namespace

void read_safetensors_header(std::string_view text, const std::string& origin, SafetensorsSet& set,
                             const std::function<void()>& text_done) {
  // Every entry names "data_offsets" and takes at least 50 bytes: a reservation from that
  // count is address space for at most text / 50 tensors, touched only as they are read.
  std::size_t entries = 0;
  for (std::size_t at = text.find("data_offsets"); at != std::string_view::npos; at = text.find("data_offsets", at + 12)) {
    ++entries;
  }
  const std::size_t first = set.tensors.size();
  set.tensors.reserve(first + std::min(entries, text.size() / 50));
  auto storage = std::make_shared<SafetensorsStorage>();
  HeaderScanner scanner(text, origin, set, *storage);
  bool object = false;
  try {
    object = scanner.scan();
  } catch (const NotJson&) {
    // The message is nlohmann's, from its own parse of the text, as before.
    IgnoreEvents ignore;
    try {
      json::sax_parse(text.begin(), text.end(), &ignore, nlohmann::detail::input_format_t::json, true, false);
    } catch (const json::parse_error&) {
      json_failure(text, origin, ErrorCode::invalid_model);
    } catch (const json::out_of_range&) {
      json_failure(text, origin, ErrorCode::invalid_model);
    }
    fail(origin, "invalid JSON"); // the two disagree: never seen (the differential tests and fuzzing check it)
  }
  set.storage.push_back(std::move(storage));
  if (text_done) text_done();
  // Tensor names: the first name, in the order written, that an earlier entry already used
  // (a set of positions: one hash and probe per name, no copy of the names).
  PositionSet names(&set, [](const void* owner, std::uint32_t i) {
    return static_cast<const SafetensorsSet*>(owner)->tensors[i].name;
  });
  names.reserve(set.tensors.size() - first);
  for (std::size_t i = first; i < set.tensors.size(); ++i) {
    if (names.contains(set.tensors[i].name)) fail(origin, "/" + escape_pointer(set.tensors[i].name) + ": duplicate key");
    names.insert(static_cast<std::uint32_t>(i));
  }
  if (!object) fail(origin, "the header is not a JSON object");
  if (scanner.problem()) throw *scanner.problem();
}

} // namespace detail
} // namespace vramcalc::io
