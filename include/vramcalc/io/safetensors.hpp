// Reads safetensors headers: a single file or a sharded set through
// model.safetensors.index.json. Header only, never the tensor data.
//
// Format: huggingface/safetensors safetensors/src/tensor.rs; summary in docs/file-formats.md.
#pragma once

#include "vramcalc/error.hpp"
#include "vramcalc/io/gguf.hpp" // ByteSource

#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc::io {

// Where the tensors' names and shapes are kept: one block of memory per header read, shared
// by copies of the set and never changed after the read (defined in src/io).
struct SafetensorsStorage;

struct SafetensorsTensor {
  // The name and shape point into SafetensorsSet::storage (one arena per header, not an
  // allocation per tensor): valid while a set holding that storage lives.
  std::string_view name;
  std::string_view dtype;                // "BF16", "F8_E4M3", "I32", "U8", "F4" ... (static storage)
  std::span<const std::uint64_t> shape;
  std::uint64_t begin = 0, end = 0; // data_offsets, relative to the data section
  std::uint32_t file_index = 0;     // the shard it lives in: SafetensorsSet::files[file_index]
                                    // (an index, not a copy of the path per tensor)
  [[nodiscard]] std::uint64_t elements() const; // checked product of shape
  [[nodiscard]] std::uint64_t bytes() const { return end - begin; }
};

struct SafetensorsSet {
  std::vector<std::string> files;                // shards read, in order
  std::map<std::string, std::string> metadata;   // __metadata__ of the first shard
  std::vector<SafetensorsTensor> tensors;        // every tensor of every shard
  std::uint64_t file_bytes = 0;                  // sum of shard file sizes
  std::vector<std::string> warnings;             // index disagreements that do not stop reading
  std::vector<std::shared_ptr<const SafetensorsStorage>> storage; // the tensors' names and shapes
  [[nodiscard]] std::uint64_t tensor_bytes() const;
};

// MAX_HEADER_SIZE of safetensors/src/tensor.rs: longer JSON headers are refused.
inline constexpr std::uint64_t safetensors_max_header_bytes = 100'000'000;

// One file. Errors: header length beyond the file or above 100,000,000 bytes, bad JSON,
// unknown dtype, shapes whose product overflows, sizes that disagree with dtype x shape,
// offsets that overlap, leave gaps or do not end at the end of the file, duplicate names.
[[nodiscard]] std::expected<SafetensorsSet, Error> parse_safetensors(const ByteSource& source,
                                                                     std::string_view origin);
[[nodiscard]] std::expected<SafetensorsSet, Error> read_safetensors_file(const std::string& path);

// The text of model.safetensors.index.json: which shard holds each tensor, and
// metadata.total_size when it is given. Reads nothing else; read_safetensors_index opens the
// shards. Errors: invalid JSON or duplicate keys, not an object, a missing or empty
// weight_map, a shard that is not a string, a metadata or total_size of the wrong type.
struct SafetensorsIndex {
  std::map<std::string, std::string> weight_map; // tensor -> shard file name, as written
  std::vector<std::string> shards;               // the distinct shard names, sorted
  std::optional<std::uint64_t> total_size;
};
[[nodiscard]] std::expected<SafetensorsIndex, Error> parse_safetensors_index(std::string_view text,
                                                                             std::string_view origin);

// A sharded checkpoint: reads the index, then every shard's header; checks that the index
// and the shards agree (every mapped tensor present, in the shard the index names).
[[nodiscard]] std::expected<SafetensorsSet, Error> read_safetensors_index(const std::string& index_path);

// Bits per element of a safetensors dtype (BOOL 8, F4 4, F6_* 6, U8/I8/F8_* 8, F16/BF16/I16/U16
// 16, F32/I32/U32 32, F64/I64/U64/C64 64); 0 for an unknown dtype.
[[nodiscard]] std::uint32_t safetensors_dtype_bits(std::string_view dtype);

} // namespace vramcalc::io
