// The safetensors header reader as it was before the hand-written scanner
// (src/io/safetensors_header.cpp): nlohmann's SAX parser feeding detail::DomBuilder, an entry
// in its usual form read from the events, any other built as a small document. Kept for the
// tests and the fuzz target only, as the reference the scanner must agree with: the same
// tensors and metadata, or the same message, on every input (docs/reliability.md).
#pragma once

#include "io/json_util.hpp"
#include "io/position_set.hpp"
#include "vramcalc/io/safetensors.hpp"
#include "vramcalc/text.hpp"
#include "vramcalc/units.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc::test::reference {

using nlohmann::json;
using io::detail::LoadFailure;
using io::safetensors_dtype_bits;

struct Tensor {
  std::string name;
  std::string dtype;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0, end = 0;
  [[nodiscard]] std::uint64_t elements() const {
    std::uint64_t n = 1;
    for (std::uint64_t d : shape) n = checked_mul(n, d, "a tensor's element count");
    return n;
  }
};

struct Header {
  std::map<std::string, std::string> metadata;
  std::vector<Tensor> tensors;
};

[[noreturn]] inline void fail(const std::string& origin, const std::string& what) {
  throw LoadFailure{{ErrorCode::invalid_model, origin + ": " + what}};
}
inline std::string printable(std::string_view name) { return excerpt(name, 200); }
inline std::string escape_pointer(std::string_view key) { return excerpt(io::detail::json_pointer_token(key), 200); }

inline std::uint64_t non_negative(const json& v, const std::string& origin, const std::string& path, const char* what) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
  fail(origin, path + ": " + what + " must be non-negative integers, got " + io::detail::json_excerpt(v));
}

// The checks on an entry whose fields have the right JSON types, in read_tensor's order
// after them: a known dtype, then sizes. `path` builds the entry's JSON pointer for messages.
template <typename Path>
inline void check_tensor(const std::string& origin, const Path& path, const Tensor& t) {
  const std::uint32_t bits = safetensors_dtype_bits(t.dtype);
  if (t.end < t.begin) {
    fail(origin, path() + "/data_offsets: end " + std::to_string(t.end) + " is before begin " + std::to_string(t.begin));
  }
  const auto dims = [&] {
    std::string out;
    for (std::uint64_t d : t.shape) out += (out.empty() ? "" : ", ") + std::to_string(d);
    return out;
  };
  std::uint64_t bits_total = 0;
  try {
    bits_total = checked_mul(t.elements(), bits);
  } catch (const OverflowError&) {
    fail(origin, path() + "/shape: [" + dims() + "] x " + std::to_string(bits) + " bits does not fit in 64 bits");
  }
  const std::uint64_t elements = t.elements();
  if (bits_total % 8 != 0) {
    fail(origin, path() + ": " + std::to_string(elements) + " elements of " + t.dtype + " take " + // a known dtype
                     std::to_string(bits_total) + " bits, not a whole number of bytes");
  }
  if (t.end - t.begin != bits_total / 8) {
    fail(origin, path() + ": data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "] hold " +
                     std::to_string(t.end - t.begin) + " bytes, but shape [" + dims() + "] of " + t.dtype + " takes " +
                     std::to_string(bits_total / 8));
  }
}

// A tensor entry built as a JSON document: the types of its fields checked, then check_tensor.
inline Tensor read_tensor(const std::string& origin, std::string&& name, const json& info) {
  // Messages only: built when one is needed, not for each of 200,000 tensors.
  const auto path = [&] { return "/" + escape_pointer(name); };
  if (!info.is_object()) fail(origin, path() + ": expected an object with dtype, shape and data_offsets");
  Tensor t;
  for (const char* k : {"dtype", "shape", "data_offsets"}) {
    if (!info.contains(k)) fail(origin, path() + ": missing key '" + k + "'");
  }
  const json& dtype = info.at("dtype");
  if (!dtype.is_string()) fail(origin, path() + "/dtype: expected a string, got " + io::detail::json_excerpt(dtype));
  t.dtype = dtype.get<std::string>();
  if (safetensors_dtype_bits(t.dtype) == 0) fail(origin, path() + "/dtype: unknown dtype '" + printable(t.dtype) + "'");

  const json& shape = info.at("shape");
  if (!shape.is_array()) fail(origin, path() + "/shape: expected an array, got " + io::detail::json_excerpt(shape));
  t.shape.reserve(shape.size());
  for (const json& d : shape) {
    if (d.is_number_unsigned()) t.shape.push_back(d.get<std::uint64_t>());
    else t.shape.push_back(non_negative(d, origin, path() + "/shape", "dimensions")); // fails unless >= 0
  }

  const json& offsets = info.at("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2) fail(origin, path() + "/data_offsets: expected [begin, end], got " + io::detail::json_excerpt(offsets));
  const auto offset = [&](const json& v) {
    return v.is_number_unsigned() ? v.get<std::uint64_t>() : non_negative(v, origin, path() + "/data_offsets", "offsets");
  };
  t.begin = offset(offsets[0]);
  t.end = offset(offsets[1]);
  check_tensor(origin, path, t);
  t.name = std::move(name);
  return t;
}

// A tensor entry in its usual form, {"dtype": "...", "shape": [n, ...], "data_offsets": [b, e]}
// (each key once, in any order, integers >= 0), read from the parser's events into buffers
// kept from one entry to the next: no JSON document and no allocation per entry. Any other
// event (another key, a key twice, a negative or fractional number, a nested value, a long
// shape) ends the fast reading: the events taken so far are replayed into a DomBuilder and
// the entry is read as a document by read_tensor, which words the messages.
class FastEntry {
public:
  void restart() {
    phase_ = Phase::start;
    fields_ = 0;
    dtype_.clear();
    shape_.clear();
    offsets_.clear();
  }
  // Each returns false for an event outside the usual form, and then changes nothing.
  bool start_object() { return step(phase_ == Phase::start, Phase::keys); }
  bool key(const std::string& k) {
    const Field f = k == "dtype" ? Field::dtype : k == "shape" ? Field::shape : k == "data_offsets" ? Field::offsets : Field::none;
    if (phase_ != Phase::keys || f == Field::none || seen(f)) return false;
    order_[fields_++] = f;
    phase_ = Phase::value;
    return true;
  }
  bool string(const std::string& v) {
    if (phase_ != Phase::value || current() != Field::dtype) return false;
    dtype_.assign(v);
    phase_ = Phase::keys;
    return true;
  }
  bool start_array() { return step(phase_ == Phase::value && current() != Field::dtype, Phase::array); }
  bool number(std::uint64_t v) {
    std::vector<std::uint64_t>& a = current() == Field::shape ? shape_ : offsets_;
    if (phase_ != Phase::array || a.size() >= max_fast_elements) return false;
    a.push_back(v);
    return true;
  }
  bool end_array() { return step(phase_ == Phase::array, Phase::keys); }
  bool end_object() { return step(phase_ == Phase::keys && fields_ == 3 && offsets_.size() == 2, Phase::done); }
  [[nodiscard]] bool done() const { return phase_ == Phase::done; }

  [[nodiscard]] const std::string& dtype() const { return dtype_; }
  [[nodiscard]] const std::vector<std::uint64_t>& shape() const { return shape_; }
  [[nodiscard]] const std::vector<std::uint64_t>& offsets() const { return offsets_; }

  // The events taken so far, in their order, into `b`.
  void replay(io::detail::DomBuilder& b) const {
    if (phase_ == Phase::start) return;
    b.start_object(static_cast<std::size_t>(-1));
    for (std::size_t i = 0; i < fields_; ++i) {
      const bool last = i + 1 == fields_;
      std::string k(order_[i] == Field::dtype ? "dtype" : order_[i] == Field::shape ? "shape" : "data_offsets");
      b.key(k);
      if (last && phase_ == Phase::value) return; // the value has not begun
      if (order_[i] == Field::dtype) {
        std::string v = dtype_;
        b.string(v);
        continue;
      }
      b.start_array(static_cast<std::size_t>(-1));
      for (std::uint64_t v : order_[i] == Field::shape ? shape_ : offsets_) b.number_unsigned(v);
      if (last && phase_ == Phase::array) return; // the array is open
      b.end_array();
    }
  }

private:
  enum class Phase : std::uint8_t { start, keys, value, array, done };
  enum class Field : std::uint8_t { none, dtype, shape, offsets };
  // A shape longer than this is read as a document (real tensors have at most 5 dimensions).
  static constexpr std::size_t max_fast_elements = 16;

  bool step(bool allowed, Phase next) {
    if (allowed) phase_ = next;
    return allowed;
  }
  [[nodiscard]] Field current() const { return fields_ == 0 ? Field::none : order_[fields_ - 1]; }
  [[nodiscard]] bool seen(Field f) const { return std::find(order_, order_ + fields_, f) != order_ + fields_; }

  Phase phase_ = Phase::start;
  Field order_[3] = {};
  std::size_t fields_ = 0;
  std::string dtype_;
  std::vector<std::uint64_t> shape_, offsets_;
};

// The most JSON values one tensor entry may hold, and how deep (dtype, shape, data_offsets
// and their elements need a handful, two levels): an entry read as a document is built as a
// small one, and a hostile entry cannot make it large.
inline constexpr std::size_t max_entry_values = 4096;
inline constexpr std::size_t max_entry_depth = 8;

// The JSON header read member by member in one pass, in time linear in the header and with
// memory for the tensors read so far: a tensor entry in its usual form through FastEntry, any
// other member (and __metadata__) built as a small document (io::detail::DomBuilder), checked
// and dropped. The first problem found in a member is kept and reported once the whole text
// has parsed, so invalid JSON anywhere is reported first, as a whole-document parse would.
class HeaderReader {
public:
  HeaderReader(const std::string& origin, Header& set)
      : origin_(origin), set_(set), member_(origin, ErrorCode::invalid_model, true) {}

  bool null() { return value([](io::detail::DomBuilder& b) { return b.null(); }); }
  bool boolean(bool v) { return value([&](io::detail::DomBuilder& b) { return b.boolean(v); }); }
  bool number_integer(json::number_integer_t v) { return value([&](io::detail::DomBuilder& b) { return b.number_integer(v); }); }
  bool number_unsigned(json::number_unsigned_t v) {
    return value([&](io::detail::DomBuilder& b) { return b.number_unsigned(v); }, [&](FastEntry& e) { return e.number(v); });
  }
  bool number_float(json::number_float_t v, const json::string_t& t) {
    return value([&](io::detail::DomBuilder& b) { return b.number_float(v, t); });
  }
  bool string(json::string_t& v) {
    return value([&](io::detail::DomBuilder& b) { return b.string(v); }, [&](FastEntry& e) { return e.string(v); });
  }
  bool binary(json::binary_t& v) { return value([&](io::detail::DomBuilder& b) { return b.binary(v); }); }
  bool start_object(std::size_t n) {
    if (state_ == State::start) {
      state_ = State::root;
      return true;
    }
    return value([&](io::detail::DomBuilder& b) { return b.start_object(n); }, [](FastEntry& e) { return e.start_object(); });
  }
  bool start_array(std::size_t n) {
    return value([&](io::detail::DomBuilder& b) { return b.start_array(n); }, [](FastEntry& e) { return e.start_array(); });
  }
  bool end_object() {
    if (state_ == State::root && !in_member_) {
      state_ = State::done;
      return true;
    }
    return value([](io::detail::DomBuilder& b) { return b.end_object(); }, [](FastEntry& e) { return e.end_object(); });
  }
  bool end_array() {
    return value([](io::detail::DomBuilder& b) { return b.end_array(); }, [](FastEntry& e) { return e.end_array(); });
  }
  bool key(json::string_t& k) {
    if (state_ == State::root && !in_member_) {
      in_member_ = true;
      if (k == "__metadata__") {
        if (seen_metadata_) fail(origin_, "/__metadata__: duplicate key");
        seen_metadata_ = true;
        fast_ = false;
        name_ = std::move(k);
        member_.restart(name_, static_cast<std::size_t>(-1), max_entry_depth);
        return true;
      }
      // A copy of its exact size: moving the parser's buffer would leave the parser to
      // grow a new one, a few allocations per long name.
      name_.assign(k);
      fast_ = true;
      entry_.restart();
      return true;
    }
    if (!in_member_) return true;
    if (fast_) {
      if (entry_.key(k)) return true;
      to_document();
    }
    return member_.key(k);
  }
  template <typename Exception>
  bool parse_error(std::size_t, const std::string&, const Exception& ex) {
    throw ex;
  }

  // After a successful parse: the first problem, if any.
  void finish() const {
    if (state_ != State::done) fail(origin_, "the header is not a JSON object");
    if (problem_) throw *problem_;
  }

private:
  enum class State { start, not_object, root, done };

  template <typename Event, typename Fast = bool (*)(FastEntry&)>
  bool value(Event event, Fast fast = [](FastEntry&) { return false; }) {
    if (state_ == State::start) state_ = State::not_object; // read on for syntax errors only
    if (state_ != State::root || !in_member_) return true;
    if (fast_) {
      if (fast(entry_)) {
        if (entry_.done()) end_fast_member();
        return true;
      }
      to_document();
    }
    event(member_);
    if (member_.complete()) end_member();
    return true;
  }

  // The entry is not in the usual form: read it as a document from here on.
  void to_document() {
    fast_ = false;
    member_.restart(name_, max_entry_values, max_entry_depth);
    entry_.replay(member_);
  }

  void end_fast_member() {
    in_member_ = false;
    if (problem_) return; // only the first is reported
    try {
      const auto path = [&] { return "/" + escape_pointer(name_); };
      if (safetensors_dtype_bits(entry_.dtype()) == 0) {
        fail(origin_, path() + "/dtype: unknown dtype '" + printable(entry_.dtype()) + "'");
      }
      Tensor t;
      t.dtype = entry_.dtype();
      t.shape.assign(entry_.shape().begin(), entry_.shape().end());
      t.begin = entry_.offsets()[0];
      t.end = entry_.offsets()[1];
      check_tensor(origin_, path, t);
      t.name = std::move(name_);
      set_.tensors.push_back(std::move(t));
    } catch (const LoadFailure& f) {
      problem_ = f;
    }
  }

  void end_member() {
    in_member_ = false;
    const bool truncated = member_.truncated();
    const json v = member_.take();
    if (problem_) return; // only the first is reported
    try {
      if (name_ == "__metadata__") {
        if (!v.is_object()) fail(origin_, "/__metadata__: expected an object of strings");
        for (const auto& [mk, mv] : v.items()) {
          if (!mv.is_string()) {
            fail(origin_, "/__metadata__/" + escape_pointer(mk) + ": expected a string, got " + io::detail::json_excerpt(mv));
          }
          set_.metadata.emplace(mk, mv.get<std::string>());
        }
        return;
      }
      const std::string name = name_;
      Tensor t = read_tensor(origin_, std::move(name_), v);
      if (truncated) {
        fail(origin_, "/" + escape_pointer(name) + ": the entry holds more than " + with_commas(max_entry_values) +
                          " JSON values or nests deeper than " + std::to_string(max_entry_depth) +
                          " levels; a tensor entry is its dtype, shape and data_offsets");
      }
      set_.tensors.push_back(std::move(t));
    } catch (const LoadFailure& f) {
      problem_ = f;
    }
  }

  const std::string& origin_;
  Header& set_;
  State state_ = State::start;
  bool in_member_ = false;
  bool fast_ = false;
  bool seen_metadata_ = false;
  std::string name_;
  FastEntry entry_;
  io::detail::DomBuilder member_;
  std::optional<LoadFailure> problem_;
};

// Parses the JSON header into `set`: its metadata and tensors, in the order written. A
// tensor name written twice is an error, as a duplicate key anywhere in the text.
inline void read_header_json(std::string_view text, const std::string& origin, Header& set) {
  // Every entry names "data_offsets" and takes at least 50 bytes: a reservation from that
  // count is address space for at most text / 50 tensors, touched only as they are read.
  std::size_t entries = 0;
  for (std::size_t at = text.find("data_offsets"); at != std::string_view::npos; at = text.find("data_offsets", at + 12)) {
    ++entries;
  }
  set.tensors.reserve(std::min(entries, text.size() / 50));
  HeaderReader reader(origin, set);
  try {
    json::sax_parse(text.begin(), text.end(), &reader, nlohmann::detail::input_format_t::json, true, false);
  } catch (const json::parse_error&) {
    io::detail::json_failure(text, origin, ErrorCode::invalid_model);
  } catch (const json::out_of_range&) {
    io::detail::json_failure(text, origin, ErrorCode::invalid_model);
  }
  // Tensor names: the first name, in the order written, that an earlier entry already used
  // (a set of positions: one hash and probe per name, no copy of the names).
  io::detail::PositionSet names(&set, [](const void* owner, std::uint32_t i) {
    return std::string_view(static_cast<const Header*>(owner)->tensors[i].name);
  });
  names.reserve(set.tensors.size());
  for (std::uint32_t i = 0; i < set.tensors.size(); ++i) {
    if (names.contains(set.tensors[i].name)) fail(origin, "/" + escape_pointer(set.tensors[i].name) + ": duplicate key");
    names.insert(i);
  }
  reader.finish();
}


// The header text read as the previous reader did: the header, or the message it gave.
inline std::expected<Header, std::string> read_header(std::string_view text, const std::string& origin) {
  Header h;
  try {
    read_header_json(text, origin, h);
  } catch (const LoadFailure& f) {
    return std::unexpected(f.error.message);
  }
  return h;
}

} // namespace vramcalc::test::reference
