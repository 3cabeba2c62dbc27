// safetensors header reader: the rules of huggingface/safetensors safetensors/src/tensor.rs
// (read_metadata, Metadata::validate) and the sharded index of huggingface_hub;
// docs/file-formats.md lists them.
#include "vramcalc/io/safetensors.hpp"

#include "json_util.hpp"
#include "safetensors_header.hpp"
#include "vramcalc/text.hpp"
#include "vramcalc/units.hpp"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>

#include <sys/mman.h>

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

// The JSON text of a header, in memory mapped for it alone: release() gives it back to the
// system at once, before the duplicate-name check takes its table (malloc would keep the
// pages, and AddressSanitizer's allocator keeps freed memory in quarantine, so the text and
// the table would add up in the peak resident set).
class HeaderText {
public:
  explicit HeaderText(std::size_t n) : size_(n) {
    if (n == 0) return;
    void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<char*>(p);
  }
  HeaderText(const HeaderText&) = delete;
  HeaderText& operator=(const HeaderText&) = delete;
  ~HeaderText() { release(); }
  [[nodiscard]] char* data() { return data_ != nullptr ? data_ : empty_; }
  void release() {
    if (data_ != nullptr) ::munmap(data_, size_);
    data_ = nullptr;
  }

private:
  char* data_ = nullptr;
  std::size_t size_;
  char empty_[1] = {};
};

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
  SafetensorsSet set;
  set.files.push_back(origin);
  set.file_bytes = size;
  {
    // The text only while it is scanned: the tensors keep their names in their own arena.
    // n is at most 100,000,000 and inside the file.
    HeaderText text(static_cast<std::size_t>(n));
    read_at(source, origin, 8, n, text.data());
    detail::read_safetensors_header(std::string_view(text.data(), static_cast<std::size_t>(n)), origin, set,
                                    [&text] { text.release(); });
  }

  // tensor.rs: sorted by offsets, the tensors tile the data buffer from 0 without gaps or
  // overlaps, and the buffer ends at the end of the file.
  // Writers store the tensors in offset order: checked in one pass, sorted only when not.
  const auto by_offsets = [](const SafetensorsTensor& x, const SafetensorsTensor& y) {
    return std::tie(x.begin, x.end, x.name) < std::tie(y.begin, y.end, y.name);
  };
  if (!std::ranges::is_sorted(set.tensors, by_offsets)) std::ranges::sort(set.tensors, by_offsets);
  std::uint64_t expected = 0;
  const SafetensorsTensor* prev = nullptr;
  for (const SafetensorsTensor& t : set.tensors) {
    // Messages only: 200,000 tensors are checked without building a string each.
    const auto range = [&] { return "[" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "]"; };
    if (t.begin < expected) {
      fail(origin, "tensor '" + printable(t.name) + "' at data_offsets " + range() + " overlaps tensor '" +
                       printable(prev->name) + "' at [" +
                       std::to_string(prev->begin) + ", " + std::to_string(prev->end) + "]");
    }
    if (t.begin > expected) {
      fail(origin, "tensor '" + printable(t.name) + "' at data_offsets " + range() +
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
  // tensor -> shard holding it: views of the names in the shards' arenas, which the set keeps
  std::unordered_map<std::string_view, std::string_view> seen;
  for (const std::string& shard : index.shards) { // sorted: model-00001-of-... first
    const std::string p = shard_path(index_path, shard, index_path);
    auto part = read_safetensors_file(p);
    if (!part) throw LoadFailure{part.error()};
    if (set.files.empty()) set.metadata = part->metadata;
    set.files.push_back(p);
    set.storage.insert(set.storage.end(), part->storage.begin(), part->storage.end());
    const auto file_index = static_cast<std::uint32_t>(set.files.size() - 1);
    set.file_bytes = checked_add(set.file_bytes, part->file_bytes, "the checkpoint size");
    for (SafetensorsTensor& t : part->tensors) {
      if (auto [it, fresh] = seen.emplace(t.name, shard); !fresh) {
        fail(index_path, "tensor '" + printable(t.name) + "' is in two shards: " + printable(it->second) +
                             " and " + printable(shard));
      }
      const auto m = mapping.find(std::string(t.name));
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

std::string_view detail::safetensors_dtype_name(std::string_view dtype) {
  for (const DtypeBits& d : dtype_bits) {
    if (d.name == dtype) return d.name;
  }
  return {};
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
