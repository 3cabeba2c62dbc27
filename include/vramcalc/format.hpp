// Weight formats: how each tensor of a checkpoint is stored, byte for byte.
//
// A format is a rule from a tensor (role, layer, shape) to its storage type and bytes.
// Plain floats store every tensor in one dtype. GPU quantization methods (FP8, INT8,
// GPTQ/AWQ, bitsandbytes NF4) quantize the linear layers of attention, MLP and experts
// and leave embeddings, output head, router and norms at the native dtype, as their
// quantizers do. GGUF mixes follow llama.cpp's quantizer per tensor. docs/formats.md
// gives each layout with its source.
#pragma once

#include "vramcalc/dtype.hpp"
#include "vramcalc/model.hpp"
#include "vramcalc/tensors.hpp"

#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc {

enum class FormatKind : std::uint8_t {
  plain,      // every tensor in `dtype`
  fp8,        // e4m3 weights + one f32 scale per tensor (per expert)
  int8,       // W8A16: int8 weights + one scale per output channel in the native dtype
  int4_group, // GPTQ / AWQ: packed int4 + per-group scale (native dtype) and packed int4 zero
  bnb_nf4,    // bitsandbytes NF4 (4-bit, 64-element blocks, double-quantized absmax)
  mxfp4,      // OCP MXFP4: e2m1 pairs + one e8m0 scale per 32 (routed experts when the model has them)
  nvfp4,      // NVFP4: e2m1 pairs + one e4m3 scale per 16 + an f32 global scale per tensor
  gguf,       // a llama.cpp quantization mix (llama_ftype)
};

// llama.cpp's file types (llama_ftype), the mixes `llama-quantize` produces.
enum class GgufFtype : std::uint8_t {
  all_f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0,
  q2_k, q2_k_s, q3_k_s, q3_k_m, q3_k_l, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k,
  iq2_xxs, iq2_xs, iq2_s, iq2_m, iq3_xxs, iq3_xs, iq3_s, iq3_m, iq1_s, iq1_m, iq4_nl, iq4_xs,
  tq1_0, tq2_0, mxfp4_moe,
};

struct GgufFtypeTraits {
  GgufFtype id;
  std::string_view name;  // "q4_k_m"
  std::uint32_t llama_ftype; // value of enum llama_ftype
  Dtype default_type;     // llama_ftype_get_default_type()
};

struct WeightFormat {
  std::string id;  // canonical spelling, e.g. "bf16", "fp8", "gptq-int4-g128", "q4_k_m"
  FormatKind kind = FormatKind::plain;
  Dtype dtype = Dtype::bf16;        // plain: the storage type; gguf: the mix's default type
  GgufFtype ftype = GgufFtype::f16; // gguf only
  std::uint32_t group_size = 0;     // int4_group: weights per scale (0: one group per row)
  bool imatrix = false;             // gguf: quantized with an importance matrix
  std::string description;          // one line for tables
};

// Parses a format name ("bf16", "fp8", "int8", "awq", "gptq", "gptq-int4-g128", "nf4",
// "q4_k_m", ...) case-insensitively. `native` is the model's dtype (used by "native").
[[nodiscard]] std::expected<WeightFormat, std::string> parse_weight_format(std::string_view name,
                                                                           Dtype native);

// Names accepted by parse_weight_format, for help text and suggestions.
[[nodiscard]] std::vector<std::string_view> weight_format_names();

struct TensorStorage {
  Dtype dtype;         // element type of the main data
  std::uint64_t bytes; // all bytes the tensor takes, scales and zeros included
};

// Storage of every tensor (same order as `tensors`) under `format`. Needs the whole list:
// llama.cpp's mixes depend on a tensor's position among its kind.
[[nodiscard]] std::vector<TensorStorage> tensor_storage(const ModelSpec& spec,
                                                        std::span<const Tensor> tensors,
                                                        const WeightFormat& format);

struct GroupBytes {
  TensorGroup group;
  std::uint64_t params = 0;
  std::uint64_t bytes = 0;
  std::string dtypes; // storage types used, e.g. "q4_k+q6_k"
};

struct WeightBytes {
  std::uint64_t total = 0;
  std::vector<GroupBytes> groups; // groups present, in TensorGroup order
};

[[nodiscard]] WeightBytes weight_bytes(const ModelSpec& spec, const WeightFormat& format);

} // namespace vramcalc
