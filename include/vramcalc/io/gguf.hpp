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
#include <memory>
#include <optional>
#include <span>
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

// A regular file opened for reading, read with pread: nothing is mapped or read ahead of
// what the parser asks for (plus one bounded read buffer in the parser). Movable; closes
// the descriptor when destroyed. Errors (ErrorCode::io) name the path and the reason. Every
// reader opens files through it: the open never waits (O_NONBLOCK), and a FIFO, device,
// directory or socket is refused by fstat before anything is read ("PATH: is a FIFO (named
// pipe), not a regular file").
class FileSource {
public:
  [[nodiscard]] static std::expected<FileSource, Error> open(const std::string& path);
  // The file's device and inode: two paths (links) to one file have the same id.
  struct Id {
    std::uint64_t device = 0, inode = 0;
    bool operator==(const Id&) const = default;
  };
  [[nodiscard]] Id id() const { return id_; }
  FileSource(FileSource&& other) noexcept;
  FileSource& operator=(FileSource&& other) noexcept;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  ~FileSource();
  [[nodiscard]] const ByteSource& source() const { return source_; }

private:
  FileSource() = default;
  int fd_ = -1;
  ByteSource source_;
  Id id_;
};

enum class GgufType : std::uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7, string = 8, array = 9,
  u64 = 10, i64 = 11, f64 = 12,
};

using GgufScalar = std::variant<std::uint64_t, std::int64_t, double, bool, std::string>;
// A scalar as a metadata value holds it: a string as a view of the file's text (GgufStore),
// 24 bytes where GgufScalar takes 40.
using GgufScalarView = std::variant<std::uint64_t, std::int64_t, double, bool, std::string_view>;

// The kept elements of an array value, stored compactly: numbers as the file stores them
// (little-endian, the element type's width: one byte of memory per byte of the file),
// strings as their bytes end to end with `ends` marking where each ends (the 8-byte end
// replaces the file's 8-byte length). docs/file-formats.md, "Memory".
struct GgufArray {
  std::string bytes;
  std::vector<std::uint64_t> ends; // strings only
};

// What the metadata of a GgufFile points into: its keys and string values end to end in
// blocks, and its kept arrays. Shared by the file and its copies, never changed once read.
class GgufStore;

// A metadata value. Arrays hold scalars or strings (GGUF allows no nested arrays here); an
// array keeps its count and byte size always, and its elements when they were kept (see
// GgufReadOptions): element(i) reads one back.
struct GgufValue {
  GgufType type = GgufType::u32;
  GgufType elem_type = GgufType::u32; // arrays
  GgufScalarView scalar;               // strings: a view into the file's GgufStore
  std::uint64_t count = 0;       // arrays: number of elements
  std::uint64_t encoded_bytes = 0; // bytes the value takes in the file (after the key and its
                                   // type tag; arrays: element type + count + elements)
  const GgufArray* elements = nullptr; // arrays whose elements were kept (in the file's GgufStore); else null

  [[nodiscard]] bool elements_kept() const { return count == 0 || elements != nullptr; }
  // Element i of a kept array as a scalar (integers widened as read_scalar does: unsigned
  // types to uint64, signed to int64, floats to double); nullopt past the end or when the
  // elements were not kept.
  [[nodiscard]] std::optional<GgufScalar> element(std::uint64_t i) const;
};

// 72 bytes per pair (112 with the key and a string value as std::string, the array as a
// shared_ptr): the reader's memory per key, docs/file-formats.md "Memory".
struct GgufKv {
  std::string_view key; // into the file's GgufStore
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
  std::vector<GgufKv> metadata;     // keys and values viewing `store`
  std::vector<GgufTensorInfo> tensors;
  std::shared_ptr<const GgufStore> store;
  // Positions in `metadata` sorted by key, so find() is a binary search (a file of 500,000
  // keys read per layer took minutes with a scan). parse_gguf fills it; a GgufFile built by
  // hand may leave it empty, and find() then scans.
  std::vector<std::uint32_t> key_index;

  [[nodiscard]] const GgufValue* find(std::string_view key) const;
  [[nodiscard]] std::optional<std::uint64_t> get_uint(std::string_view key) const; // any integer type >= 0
  [[nodiscard]] std::optional<std::string> get_string(std::string_view key) const;
  [[nodiscard]] std::optional<double> get_float(std::string_view key) const;
  // An integer key that may be a per-layer array (head_count_kv[]): element i, or the scalar.
  [[nodiscard]] std::optional<std::uint64_t> get_uint_at(std::string_view key, std::uint64_t i) const;
  [[nodiscard]] std::uint64_t tensor_bytes() const; // sum of tensor bytes (no padding)
};

// Without keep_arrays, arrays of numbers keep their elements up to this many (per-layer
// values such as head_count_kv[]); longer ones (token scores, token types) and every array
// of strings keep only their count and encoded size.
inline constexpr std::uint64_t gguf_kept_array_limit = 65536;

struct GgufReadOptions {
  bool keep_arrays = false;        // keep every array's elements (the tokenizer too); off: see below
  std::uint64_t max_header_bytes = 1ull << 30; // refuse headers claiming more than this
  // Without keep_arrays: the most bytes of array elements kept in all (numbers of arrays of
  // at most gguf_kept_array_limit elements, in file order); arrays past it keep their count
  // only. 16 MiB holds 65,536 layers x 8 bytes x 32 per-layer arrays. The parts of a split
  // model after the first are read with 0 (their metadata is not used).
  std::uint64_t max_kept_array_bytes = 16ull << 20;
};

// The most metadata key-value pairs a GGUF header may declare. Real files carry 20-60 (the
// tokenizer is one array per key; llama.cpp logs "loaded meta data with 53 key-value pairs"
// for unsloth's DeepSeek-R1, 56 for gemma-4-E2B, 57 for the largest seen): a limit three
// orders of magnitude above them bounds the work of a header that declares 500,000 keys to
// slow the reader down. docs/reliability.md, "Bounded work".
inline constexpr std::uint64_t gguf_max_metadata_pairs = 65536;

// GGML_MAX_NAME (ggml.h): a tensor name must be shorter than this.
inline constexpr std::uint64_t gguf_max_name_bytes = 64;

// Parses a GGUF header. Errors (exit 2) name the origin and what is wrong: wrong magic,
// unsupported version, truncation, counts or lengths that cannot fit in the file, unknown
// value or tensor types, nested arrays, duplicate keys or tensor names, dims whose product
// overflows, offsets that are misaligned, overlap, leave gaps or run past the end.
[[nodiscard]] std::expected<GgufFile, Error> parse_gguf(const ByteSource& source, std::string_view origin,
                                                        const GgufReadOptions& options = {});
[[nodiscard]] std::expected<GgufFile, Error> read_gguf_file(const std::string& path,
                                                            const GgufReadOptions& options = {});

// A model split by gguf-split / llama-quantize --split: `<prefix>-00001-of-00003.gguf` ...
// (llama.cpp's llama_split_path: "%s-%05d-of-%05d.gguf", parts numbered from 1).
struct GgufSplitName {
  std::string prefix;       // path without "-NNNNN-of-MMMMM.gguf"
  std::uint32_t index = 0;  // 1-based
  std::uint32_t count = 0;
};
[[nodiscard]] std::optional<GgufSplitName> parse_gguf_split_name(std::string_view path);
[[nodiscard]] std::string gguf_split_path(std::string_view prefix, std::uint32_t index, std::uint32_t count);

// Reads every part of a split model given the path of any part, in order (part 1 first);
// a path that is not a split name reads that one file. Errors: a missing part, a part whose
// split.no / split.count disagree with its name, a tensor name in two parts, a total that
// disagrees with split.tensors.count of part 1. The caller sums tensors over the parts.
[[nodiscard]] std::expected<std::vector<GgufFile>, Error> read_gguf_split(const std::string& path,
                                                                          const GgufReadOptions& options = {});

// Sum of tensor_bytes() over the parts of a split model.
[[nodiscard]] std::uint64_t gguf_tensor_bytes(std::span<const GgufFile> parts);

// The name of a ggml type id ("q4_k", "bf16"), or empty if vramcalc does not know it.
[[nodiscard]] std::string_view ggml_type_name(std::uint32_t ggml_type);

struct GgufModel {
  ModelSpec spec;
  std::vector<std::string> warnings; // what could not be determined
};

// The architecture from the `{arch}.*` metadata keys (llama, qwen2, qwen3, qwen2moe,
// qwen3moe, gemma2, gemma3, deepseek2, gpt-oss, phi3, falcon, mamba, jamba, command-r, ...).
[[nodiscard]] std::expected<GgufModel, Error> gguf_to_spec(const GgufFile& file);
// A split model: metadata from part 1, tensors from every part.
[[nodiscard]] std::expected<GgufModel, Error> gguf_to_spec(std::span<const GgufFile> parts);

} // namespace vramcalc::io
