// Reads the header of a GGUF file (v2 and v3): metadata, tensor infos, alignment. Never the
// tensor data: a 400 GB file is inspected by reading its first megabytes.
//
// Format: ggml docs/gguf.md and src/gguf.cpp; summary in docs/file-formats.md.
#pragma once

#include "vramcalc/error.hpp"
#include "vramcalc/model.hpp"

#include <array>
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace vramcalc::io {

// Reads `n` bytes at `offset` into `out`; false if the source has fewer. The parser asks
// only for header bytes, in order, and checks every length against `size` first.
struct ByteSource {
  std::uint64_t size = 0;
  std::function<bool(std::uint64_t offset, std::uint64_t n, char* out)> read;
};

// A ByteSource over a buffer in memory (tests, fuzzing); the buffer must outlive it.
[[nodiscard]] ByteSource memory_source(std::string_view bytes);

enum class GgufType : std::uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7, string = 8, array = 9,
  u64 = 10, i64 = 11, f64 = 12,
};

// A metadata value. Arrays hold scalars or strings (GGUF allows no nested arrays here); a
// long array of strings (a tokenizer vocabulary) keeps its count and byte size, and its
// elements only when `keep_arrays` was asked for.
struct GgufValue {
  GgufType type = GgufType::u32;
  GgufType elem_type = GgufType::u32; // arrays
  std::variant<std::uint64_t, std::int64_t, double, bool, std::string> scalar;
  std::vector<std::variant<std::uint64_t, std::int64_t, double, bool, std::string>> elems;
  std::uint64_t count = 0;       // arrays: number of elements
  std::uint64_t encoded_bytes = 0; // bytes the value takes in the file
};

struct GgufKv {
  std::string key;
  GgufValue value;
};

struct GgufTensorInfo {
  std::string name;
  std::uint32_t n_dims = 0;
  std::array<std::uint64_t, 4> ne{1, 1, 1, 1};
  std::uint32_t ggml_type = 0; // enum ggml_type
  std::uint64_t offset = 0;    // relative to the data section
  std::uint64_t bytes = 0;     // ggml_nbytes from the type table
};

struct GgufFile {
  std::string origin;
  std::uint32_t version = 0;
  std::uint64_t alignment = 32;
  std::uint64_t header_bytes = 0; // magic .. end of tensor infos (before padding)
  std::uint64_t data_offset = 0;  // start of the tensor data, aligned
  std::uint64_t file_size = 0;
  std::vector<GgufKv> metadata;
  std::vector<GgufTensorInfo> tensors;

  [[nodiscard]] const GgufValue* find(std::string_view key) const;
  [[nodiscard]] std::optional<std::uint64_t> get_uint(std::string_view key) const; // any integer type >= 0
  [[nodiscard]] std::optional<std::string> get_string(std::string_view key) const;
  [[nodiscard]] std::optional<double> get_float(std::string_view key) const;
  // An integer key that may be a per-layer array (head_count_kv[]): element i, or the scalar.
  [[nodiscard]] std::optional<std::uint64_t> get_uint_at(std::string_view key, std::uint64_t i) const;
  [[nodiscard]] std::uint64_t tensor_bytes() const; // sum of tensor bytes (no padding)
};

struct GgufReadOptions {
  bool keep_arrays = false;        // keep string-array elements (the tokenizer); off: count only
  std::uint64_t max_header_bytes = 1ull << 30; // refuse headers claiming more than this
};

// Parses a GGUF header. Errors (exit 2) name the origin and what is wrong: wrong magic,
// unsupported version, truncation, counts or lengths that cannot fit in the file, unknown
// value or tensor types, nested arrays, duplicate keys or tensor names, dims whose product
// overflows, offsets that are misaligned, overlap, leave gaps or run past the end.
[[nodiscard]] std::expected<GgufFile, Error> parse_gguf(const ByteSource& source, std::string_view origin,
                                                        const GgufReadOptions& options = {});
[[nodiscard]] std::expected<GgufFile, Error> read_gguf_file(const std::string& path,
                                                            const GgufReadOptions& options = {});

struct GgufModel {
  ModelSpec spec;
  std::vector<std::string> warnings; // what could not be determined
};

// The architecture from the `{arch}.*` metadata keys (llama, qwen2, qwen3, qwen2moe,
// qwen3moe, gemma2, gemma3, deepseek2, gpt-oss, phi3, falcon, mamba, jamba, command-r, ...).
[[nodiscard]] std::expected<GgufModel, Error> gguf_to_spec(const GgufFile& file);

} // namespace vramcalc::io
