// safetensors header reader: the rules of huggingface/safetensors safetensors/src/tensor.rs
// (read_metadata, Metadata::validate) and the sharded index of huggingface_hub;
// docs/file-formats.md lists them.
#include "vramcalc/io/safetensors.hpp"

#include "json_util.hpp"
#include "position_set.hpp"
#include "vramcalc/text.hpp"
#include "vramcalc/units.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>

namespace vramcalc::io {

using nlohmann::json;
using detail::LoadFailure;

namespace {

struct DtypeBits {
  std::string_view name;
  std::uint32_t bits;
};

// enum Dtype and Dtype::bitsize() of tensor.rs.
constexpr DtypeBits dtype_bits[] = {
    {"BOOL", 8},  {"F4", 4},           {"F6_E2M3", 6},     {"F6_E3M2", 6},     {"U8", 8},   {"I8", 8},
    {"F8_E5M2", 8}, {"F8_E4M3", 8},    {"F8_E8M0", 8},     {"F8_E4M3FNUZ", 8}, {"F8_E5M2FNUZ", 8},
    {"I16", 16},  {"U16", 16},         {"F16", 16},        {"BF16", 16},       {"I32", 32}, {"U32", 32},
    {"F32", 32},  {"C64", 64},         {"F64", 64},        {"I64", 64},        {"U64", 64},
};

[[noreturn]] void fail(const std::string& origin, const std::string& what) {
  throw LoadFailure{{ErrorCode::invalid_model, origin + ": " + what}};
}

// Names come from the file: messages quote a bounded excerpt, control bytes shown as \xNN.
std::string printable(std::string_view name) { return excerpt(name, 200); }

// A key as a JSON pointer token (RFC 6901), printable.
std::string escape_pointer(std::string_view key) { return excerpt(detail::json_pointer_token(key), 200); }

std::uint64_t read_u64_le(const char* b) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[i]);
  return v;
}

void read_at(const ByteSource& source, const std::string& origin, std::uint64_t offset, std::uint64_t n, char* out) {
  if (!source.read || !source.read(offset, n, out)) {
    throw LoadFailure{{ErrorCode::io, origin + ": cannot read " + std::to_string(n) + " bytes at offset " +
                                          std::to_string(offset)}};
  }
}

std::uint64_t non_negative(const json& v, const std::string& origin, const std::string& path, const char* what) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
  fail(origin, path + ": " + what + " must be non-negative integers, got " + detail::json_excerpt(v));
}

// The checks on an entry whose fields have the right JSON types, in read_tensor's order
// after them: a known dtype, then sizes. `path` builds the entry's JSON pointer for messages.
template <typename Path>
void check_tensor(const std::string& origin, const Path& path, const SafetensorsTensor& t) {
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
SafetensorsTensor read_tensor(const std::string& origin, std::string&& name, const json& info) {
  // Messages only: built when one is needed, not for each of 200,000 tensors.
  const auto path = [&] { return "/" + escape_pointer(name); };
  if (!info.is_object()) fail(origin, path() + ": expected an object with dtype, shape and data_offsets");
  SafetensorsTensor t;
  for (const char* k : {"dtype", "shape", "data_offsets"}) {
    if (!info.contains(k)) fail(origin, path() + ": missing key '" + k + "'");
  }
  const json& dtype = info.at("dtype");
  if (!dtype.is_string()) fail(origin, path() + "/dtype: expected a string, got " + detail::json_excerpt(dtype));
  t.dtype = dtype.get<std::string>();
  if (safetensors_dtype_bits(t.dtype) == 0) fail(origin, path() + "/dtype: unknown dtype '" + printable(t.dtype) + "'");

  const json& shape = info.at("shape");
  if (!shape.is_array()) fail(origin, path() + "/shape: expected an array, got " + detail::json_excerpt(shape));
  t.shape.reserve(shape.size());
  for (const json& d : shape) {
    if (d.is_number_unsigned()) t.shape.push_back(d.get<std::uint64_t>());
    else t.shape.push_back(non_negative(d, origin, path() + "/shape", "dimensions")); // fails unless >= 0
  }

  const json& offsets = info.at("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2) fail(origin, path() + "/data_offsets: expected [begin, end], got " + detail::json_excerpt(offsets));
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
  void replay(detail::DomBuilder& b) const {
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
constexpr std::size_t max_entry_values = 4096;
constexpr std::size_t max_entry_depth = 8;

// The JSON header read member by member in one pass, in time linear in the header and with
// memory for the tensors read so far: a tensor entry in its usual form through FastEntry, any
// other member (and __metadata__) built as a small document (detail::DomBuilder), checked
// and dropped. The first problem found in a member is kept and reported once the whole text
// has parsed, so invalid JSON anywhere is reported first, as a whole-document parse would.
class HeaderReader {
public:
  HeaderReader(const std::string& origin, SafetensorsSet& set)
      : origin_(origin), set_(set), member_(origin, ErrorCode::invalid_model, true) {}

  bool null() { return value([](detail::DomBuilder& b) { return b.null(); }); }
  bool boolean(bool v) { return value([&](detail::DomBuilder& b) { return b.boolean(v); }); }
  bool number_integer(json::number_integer_t v) { return value([&](detail::DomBuilder& b) { return b.number_integer(v); }); }
  bool number_unsigned(json::number_unsigned_t v) {
    return value([&](detail::DomBuilder& b) { return b.number_unsigned(v); }, [&](FastEntry& e) { return e.number(v); });
  }
  bool number_float(json::number_float_t v, const json::string_t& t) {
    return value([&](detail::DomBuilder& b) { return b.number_float(v, t); });
  }
  bool string(json::string_t& v) {
    return value([&](detail::DomBuilder& b) { return b.string(v); }, [&](FastEntry& e) { return e.string(v); });
  }
  bool binary(json::binary_t& v) { return value([&](detail::DomBuilder& b) { return b.binary(v); }); }
  bool start_object(std::size_t n) {
    if (state_ == State::start) {
      state_ = State::root;
      return true;
    }
    return value([&](detail::DomBuilder& b) { return b.start_object(n); }, [](FastEntry& e) { return e.start_object(); });
  }
  bool start_array(std::size_t n) {
    return value([&](detail::DomBuilder& b) { return b.start_array(n); }, [](FastEntry& e) { return e.start_array(); });
  }
  bool end_object() {
    if (state_ == State::root && !in_member_) {
      state_ = State::done;
      return true;
    }
    return value([](detail::DomBuilder& b) { return b.end_object(); }, [](FastEntry& e) { return e.end_object(); });
  }
  bool end_array() {
    return value([](detail::DomBuilder& b) { return b.end_array(); }, [](FastEntry& e) { return e.end_array(); });
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
      SafetensorsTensor t;
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
            fail(origin_, "/__metadata__/" + escape_pointer(mk) + ": expected a string, got " + detail::json_excerpt(mv));
          }
          set_.metadata.emplace(mk, mv.get<std::string>());
        }
        return;
      }
      const std::string name = name_;
      SafetensorsTensor t = read_tensor(origin_, std::move(name_), v);
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
  SafetensorsSet& set_;
  State state_ = State::start;
  bool in_member_ = false;
  bool fast_ = false;
  bool seen_metadata_ = false;
  std::string name_;
  FastEntry entry_;
  detail::DomBuilder member_;
  std::optional<LoadFailure> problem_;
};

// Parses the JSON header into `set`: its metadata and tensors, in the order written. A
// tensor name written twice is an error, as a duplicate key anywhere in the text.
void read_header_json(std::string_view text, const std::string& origin, SafetensorsSet& set) {
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
    detail::json_failure(text, origin, ErrorCode::invalid_model);
  } catch (const json::out_of_range&) {
    detail::json_failure(text, origin, ErrorCode::invalid_model);
  }
  // Tensor names: the first name, in the order written, that an earlier entry already used
  // (a set of positions: one hash and probe per name, no copy of the names).
  detail::PositionSet names(&set, [](const void* owner, std::uint32_t i) {
    return std::string_view(static_cast<const SafetensorsSet*>(owner)->tensors[i].name);
  });
  names.reserve(set.tensors.size());
  for (std::uint32_t i = 0; i < set.tensors.size(); ++i) {
    if (names.contains(set.tensors[i].name)) fail(origin, "/" + escape_pointer(set.tensors[i].name) + ": duplicate key");
    names.insert(i);
  }
  reader.finish();
}

SafetensorsSet parse(const ByteSource& source, const std::string& origin) {
  const std::uint64_t size = source.size;
  if (size < 8) {
    fail(origin, "truncated: the header length needs 8 bytes at offset 0, the file has " + std::to_string(size));
  }
  char len_bytes[8];
  read_at(source, origin, 0, 8, len_bytes);
  const std::uint64_t n = read_u64_le(len_bytes);
  if (n > safetensors_max_header_bytes) {
    fail(origin, "header length " + std::to_string(n) + " exceeds the 100,000,000-byte limit");
  }
  if (n > size - 8) {
    fail(origin, "truncated: the JSON header needs " + std::to_string(n) + " bytes at offset 8, the file has " +
                     std::to_string(size));
  }
  std::string text(static_cast<std::size_t>(n), '\0'); // n is at most 100,000,000 and inside the file
  read_at(source, origin, 8, n, text.data());

  SafetensorsSet set;
  set.files.push_back(origin);
  set.file_bytes = size;
  read_header_json(text, origin, set);

  // tensor.rs: sorted by offsets, the tensors tile the data buffer from 0 without gaps or
  // overlaps, and the buffer ends at the end of the file.
  std::ranges::sort(set.tensors, [](const SafetensorsTensor& x, const SafetensorsTensor& y) {
    return std::tie(x.begin, x.end, x.name) < std::tie(y.begin, y.end, y.name);
  });
  std::uint64_t expected = 0;
  const SafetensorsTensor* prev = nullptr;
  for (const SafetensorsTensor& t : set.tensors) {
    const std::string range = "[" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "]";
    if (t.begin < expected) {
      fail(origin, "tensor '" + printable(t.name) + "' at data_offsets " + range + " overlaps tensor '" +
                       printable(prev->name) + "' at [" +
                       std::to_string(prev->begin) + ", " + std::to_string(prev->end) + "]");
    }
    if (t.begin > expected) {
      fail(origin, "tensor '" + printable(t.name) + "' at data_offsets " + range +
                       " leaves a gap: the data before it ends at " +
                       std::to_string(expected));
    }
    expected = t.end;
    prev = &t;
  }
  const std::uint64_t data = size - 8 - n;
  if (expected != data) {
    fail(origin, "the tensors cover " + std::to_string(expected) + " bytes of data, but the file has " +
                     std::to_string(data) + " after the " + std::to_string(n) + "-byte header");
  }
  return set;
}

// A shard name from weight_map: a file next to the index, never a path outside it.
std::string shard_path(const std::string& index_path, const std::string& shard, const std::string& origin) {
  const std::filesystem::path p(shard);
  if (shard.empty() || p.is_absolute() || std::ranges::find(p, "..") != p.end()) {
    fail(origin, "/weight_map: shard '" + printable(shard) + "' is not a file name inside the checkpoint's directory");
  }
  return (std::filesystem::path(index_path).parent_path() / p).string();
}

// The text of the index (parse_safetensors_index).
SafetensorsIndex parse_index(std::string_view text, const std::string& origin) {
  const json root = detail::parse_strict(text, origin, ErrorCode::invalid_model);
  if (!root.is_object()) fail(origin, "expected a JSON object");
  if (!root.contains("weight_map") || !root.at("weight_map").is_object()) {
    fail(origin, "/weight_map: missing; expected an object of tensor name -> shard file");
  }
  SafetensorsIndex index;
  if (root.contains("metadata") && !root.at("metadata").is_null()) {
    const json& meta = root.at("metadata");
    if (!meta.is_object()) fail(origin, "/metadata: expected an object");
    if (meta.contains("total_size") && !meta.at("total_size").is_null()) {
      const json& ts = meta.at("total_size");
      // Some writers store it as a float (e.g. 1.5e10); accept whole numbers.
      if (ts.is_number_float() && ts.get<double>() >= 0 && ts.get<double>() < 1.8e19 &&
          static_cast<double>(static_cast<std::uint64_t>(ts.get<double>())) == ts.get<double>()) {
        index.total_size = static_cast<std::uint64_t>(ts.get<double>());
      } else {
        index.total_size = non_negative(ts, origin, "/metadata/total_size", "sizes");
      }
    }
  }

  std::set<std::string> shards;
  for (const auto& [tensor, shard] : root.at("weight_map").items()) {
    if (!shard.is_string()) {
      fail(origin, "/weight_map/" + escape_pointer(tensor) + ": expected a shard file name, got " + detail::json_excerpt(shard));
    }
    index.weight_map.emplace(tensor, shard.get<std::string>());
    shards.insert(shard.get<std::string>());
  }
  if (shards.empty()) fail(origin, "/weight_map: maps no tensors");
  index.shards.assign(shards.begin(), shards.end());
  return index;
}

SafetensorsSet read_index(const std::string& index_path) {
  auto file = FileSource::open(index_path);
  if (!file) throw LoadFailure{file.error()};
  const ByteSource& src = file->source();
  // An index lists every tensor once: the same cap as a safetensors header is ample.
  if (src.size > safetensors_max_header_bytes) {
    fail(index_path, "the index is " + std::to_string(src.size) + " bytes, above the 100,000,000-byte limit");
  }
  std::string text(static_cast<std::size_t>(src.size), '\0');
  read_at(src, index_path, 0, src.size, text.data());
  const SafetensorsIndex index = parse_index(text, index_path);
  const std::map<std::string, std::string>& mapping = index.weight_map; // tensor -> shard
  const std::optional<std::uint64_t>& total_size = index.total_size;

  SafetensorsSet set;
  std::unordered_map<std::string, std::string> seen; // tensor -> shard holding it
  for (const std::string& shard : index.shards) { // sorted: model-00001-of-... first
    const std::string p = shard_path(index_path, shard, index_path);
    auto part = read_safetensors_file(p);
    if (!part) throw LoadFailure{part.error()};
    if (set.files.empty()) set.metadata = part->metadata;
    set.files.push_back(p);
    const auto file_index = static_cast<std::uint32_t>(set.files.size() - 1);
    set.file_bytes = checked_add(set.file_bytes, part->file_bytes, "the checkpoint size");
    for (SafetensorsTensor& t : part->tensors) {
      if (auto [it, fresh] = seen.emplace(t.name, shard); !fresh) {
        fail(index_path, "tensor '" + printable(t.name) + "' is in two shards: " + printable(it->second) +
                             " and " + printable(shard));
      }
      const auto m = mapping.find(t.name);
      if (m == mapping.end()) {
        set.warnings.push_back(printable(shard) + " holds tensor '" + printable(t.name) +
                               "', which the index does not map");
      } else if (m->second != shard) {
        fail(index_path, "/weight_map/" + escape_pointer(t.name) + ": the index names shard " +
                             printable(m->second) + ", but " + printable(shard) + " holds the tensor");
      }
      t.file_index = file_index;
      set.tensors.push_back(std::move(t));
    }
  }
  for (const auto& [tensor, shard] : mapping) {
    if (!seen.contains(tensor)) {
      fail(index_path, "/weight_map/" + escape_pointer(tensor) + ": shard " + printable(shard) +
                           " does not hold the tensor");
    }
  }
  if (total_size && *total_size != set.tensor_bytes()) {
    set.warnings.push_back("metadata.total_size is " + std::to_string(*total_size) + ", but the shards' tensors take " +
                           std::to_string(set.tensor_bytes()) + " bytes");
  }
  return set;
}

} // namespace

std::uint32_t safetensors_dtype_bits(std::string_view dtype) {
  for (const DtypeBits& d : dtype_bits) {
    if (d.name == dtype) return d.bits;
  }
  return 0;
}

std::uint64_t SafetensorsTensor::elements() const {
  std::uint64_t n = 1;
  for (std::uint64_t d : shape) n = checked_mul(n, d, "a tensor's element count");
  return n;
}

std::uint64_t SafetensorsSet::tensor_bytes() const {
  std::uint64_t sum = 0;
  for (const SafetensorsTensor& t : tensors) sum = checked_add(sum, t.bytes(), "the tensor bytes");
  return sum;
}

std::expected<SafetensorsSet, Error> parse_safetensors(const ByteSource& source, std::string_view origin) {
  try {
    return parse(source, std::string(origin));
  } catch (const LoadFailure& f) {
    return std::unexpected(f.error);
  } catch (const json::exception& e) {
    return std::unexpected(Error{ErrorCode::invalid_model, std::string(origin) + ": " + e.what()});
  } catch (const std::bad_alloc&) {
    return std::unexpected(Error{ErrorCode::io, std::string(origin) + ": out of memory while reading the header"});
  }
}

std::expected<SafetensorsSet, Error> read_safetensors_file(const std::string& path) {
  auto file = FileSource::open(path);
  if (!file) return std::unexpected(file.error());
  return parse_safetensors(file->source(), path);
}

std::expected<SafetensorsIndex, Error> parse_safetensors_index(std::string_view text, std::string_view origin) {
  try {
    return parse_index(text, std::string(origin));
  } catch (const LoadFailure& f) {
    return std::unexpected(f.error);
  } catch (const json::exception& e) {
    return std::unexpected(Error{ErrorCode::invalid_model, std::string(origin) + ": " + e.what()});
  }
}

std::expected<SafetensorsSet, Error> read_safetensors_index(const std::string& index_path) {
  try {
    return read_index(index_path);
  } catch (const LoadFailure& f) {
    return std::unexpected(f.error);
  } catch (const json::exception& e) {
    return std::unexpected(Error{ErrorCode::invalid_model, index_path + ": " + e.what()});
  } catch (const OverflowError& e) {
    return std::unexpected(Error{ErrorCode::invalid_model, index_path + ": " + e.what()});
  }
}

} // namespace vramcalc::io
