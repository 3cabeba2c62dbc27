// Internal to src/io: the reader of a safetensors file's JSON header (safetensors_header.cpp)
// and the arena its tensors' names and shapes live in.
#pragma once

#include "vramcalc/io/safetensors.hpp"

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc::io {

// The names and shapes of one header's tensors, one after another in blocks that never move
// (a tensor's views stay valid as the arena grows): a few allocations per header instead of
// two per tensor.
struct SafetensorsStorage {
  // `n` bytes aligned to `align` (a power of two, at most alignof(std::max_align_t)).
  char* allocate(std::size_t n, std::size_t align);

private:
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* next_ = nullptr;
  std::size_t left_ = 0;
  std::size_t block_bytes_ = 2048; // doubles up to 1 MiB: small headers stay small
};

namespace detail {

// The dtype table's own spelling of `dtype` (static storage), or "" for an unknown dtype.
std::string_view safetensors_dtype_name(std::string_view dtype);

// Reads the JSON header `text` into `set`: its tensors in the order written (names and shapes
// in a new arena added to set.storage) and its __metadata__. Throws LoadFailure with the
// message the rules of docs/file-formats.md give (the JSON path of the first problem; invalid
// JSON with nlohmann's wording and line:column). Time linear in the text, memory the tensors'.
// `text_done`, when given, is called once the text has been scanned and is no longer needed
// (before the duplicate-name check, which needs only the tensors): the caller frees it there,
// so the text and the check's table are never held at once.
void read_safetensors_header(std::string_view text, const std::string& origin, SafetensorsSet& set,
                             const std::function<void()>& text_done = {});

} // namespace detail
} // namespace vramcalc::io
