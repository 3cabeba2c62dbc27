// A model given by its files: GGUF (one file or a split set), safetensors (one file or a
// sharded index, with the config.json beside it for the architecture), or a directory of
// either. Only headers are read. The result is a ModelSpec plus a WeightFormat of kind
// `file` whose bytes are the files' own (docs/file-formats.md).
#pragma once

#include "vramcalc/error.hpp"
#include "vramcalc/format.hpp"
#include "vramcalc/io/gguf.hpp"
#include "vramcalc/io/safetensors.hpp"
#include "vramcalc/model.hpp"

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vramcalc::io {

struct FileTensorInfo {
  std::string name;       // as stored
  std::string type;       // ggml type or safetensors dtype
  std::uint64_t elements = 0;
  std::uint64_t bytes = 0;
  std::string mapped;     // the GGUF name of the model tensor it belongs to; empty: unmatched
  TensorGroup group = TensorGroup::other;
};

struct ModelFiles {
  std::string kind;                                       // "gguf" or "safetensors"
  std::vector<std::string> files;                         // read, in order
  std::vector<std::pair<std::string, std::string>> facts; // what `inspect` shows (format version, ...)
  ModelSpec spec;
  std::vector<std::string> warnings;                      // what could not be determined
  std::vector<FileTensorInfo> tensors;
  std::uint64_t tensor_bytes = 0;                         // sum over `tensors`
  std::uint64_t missing_count = 0;                        // model tensors the files lack
  WeightFormat format;                                    // kind file
};

// The GGUF name ("blk.3.attn_q.weight") of the model tensor a safetensors tensor belongs to
// ("model.layers.3.self_attn.q_proj.qweight"), or nothing. Companions (scales, zeros,
// absmax, ...) map to their weight; per-expert tensors to the stacked expert tensor; fused
// projections (qkv_proj, gate_up_proj) to their first part.
[[nodiscard]] std::optional<std::string> hf_tensor_to_gguf(std::string_view name, const ModelSpec& spec);

// From parsed headers (no disk).
[[nodiscard]] std::expected<ModelFiles, Error> model_files_from_gguf(std::span<const GgufFile> parts);
[[nodiscard]] ModelFiles model_files_from_safetensors(const SafetensorsSet& set, ModelSpec spec,
                                                      std::vector<std::string> warnings, std::string origin);

// True if `path` names model files rather than a catalog id or a spec: *.gguf,
// *.safetensors, *.safetensors.index.json, or a directory holding them.
[[nodiscard]] bool is_model_files_path(const std::string& path);

// Reads a path as above. A directory: config.json with safetensors, or GGUF files (one
// model; split parts are one model).
[[nodiscard]] std::expected<ModelFiles, Error> open_model_files(const std::string& path);

} // namespace vramcalc::io
