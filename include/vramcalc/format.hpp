// Weight formats: how each tensor of a checkpoint is stored, byte for byte.
//
// A format is a rule from a tensor (role, layer, shape) to its storage type and bytes.
// Plain floats store every tensor in one dtype. GPU quantization methods (FP8, INT8,
// GPTQ/AWQ, bitsandbytes NF4) quantize the linear layers of attention, MLP and experts
// and leave embeddings, output head, router and norms at the native dtype, as their
// quantizers do. GGUF mixes follow llama.cpp's quantizer per tensor. docs/quantization.md
// gives each layout with its source.
#pragma once

#include "vramcalc/dtype.hpp"
#include "vramcalc/error.hpp"
#include "vramcalc/format_table.hpp"
#include "vramcalc/model.hpp"
#include "vramcalc/tensors.hpp"

#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc {

// A llama.cpp mix as GGUF files name it: the gguf rows of weight_format_table, by GgufFtype.
struct GgufFtypeTraits {
  GgufFtype id;
  std::string_view name;  // "q4_k_m"
  std::uint32_t llama_ftype; // value of enum llama_ftype
  Dtype default_type;     // llama_ftype_get_default_type()
};

struct TensorStorage {
  Dtype dtype;         // element type of the main data
  std::uint64_t bytes; // all bytes the tensor takes, scales and zeros included
};

// Weights read from a model's files: the storage of each tensor of the model, by its GGUF
// name (safetensors names are mapped to it, companions such as scales summed in). Tensors
// of the model the files lack take no bytes; tensors of the files the model does not list
// are `unmatched` (their bytes are still weights, reported as "other").
struct FileTensors {
  std::string origin;                 // the file or directory read
  bool gguf = false;                  // GGUF files (llama.cpp can load them as they are)
  struct Entry {
    Dtype dtype;
    std::uint64_t bytes = 0;
    std::uint64_t elements = 0; // of the whole tensor: a shard takes its share of the bytes
  };
  std::map<std::string, Entry, std::less<>> by_name;
  std::uint64_t unmatched_bytes = 0;
  std::uint64_t unmatched_count = 0;
  std::uint64_t file_bytes = 0;       // the files' sizes
};

struct WeightFormat {
  std::string id;  // canonical spelling, e.g. "bf16", "fp8", "gptq-int4-g128", "q4_k_m"
  FormatKind kind = FormatKind::plain;
  Dtype dtype = Dtype::bf16;        // plain: the storage type; gguf: the mix's default type
  GgufFtype ftype = GgufFtype::f16; // gguf only
  std::uint32_t bits = 16;          // int_group: 4 or 8; bnb4: 4
  std::uint32_t group_size = 0;     // int_group: weights per scale (0: one group per row)
  bool zeros = true;                // int_group: packed zero points (GPTQ, AWQ; not compressed-tensors)
  bool act_order = false;           // int_group: g_idx (int32 per input feature) kept
  std::uint32_t scale_bytes = 2;    // int_channel: bytes per channel scale
  Fp8Scale fp8_scale = Fp8Scale::tensor;
  bool fp8_ffn_only = false;        // fp8: only feed-forward layers, not the first and last (fbgemm-fp8)
  std::uint32_t block_n = 128, block_k = 128; // fp8 block scales
  bool double_quant = true;         // bnb4
  std::uint64_t bpw_num = 0, bpw_den = 1; // exl2: target bits per weight as a fraction
  std::uint32_t head_bits = 6;      // exl2: bits of the output head
  bool imatrix = false;             // gguf: quantized with an importance matrix
  std::uint32_t llamacpp_release = 0; // gguf: the quantizer's build date (YYYYMMDD); 0: the newest rules
  // gguf: made by Ollama 0.6.5-0.6.8's quantizer, whose llama.cpp patch ("don't quantize vision
  // stuff") left every tensor whose name holds "v." in the source type: attn_v (and a fused
  // attn_qkv) stay f16 (docs/quantization.md, "Ollama's files").
  bool ollama_v_names_f16 = false;
  // GPU methods: the modules the checkpoint leaves out of its quantization (ModelOpt's
  // hf_quant_config.json exclude_modules, compressed-tensors' ignore), as tensor groups and
  // roles; their tensors stay at the model's dtype. Set from a catalog entry's `unquantized`
  // (set_unquantized), so every engine loading that checkpoint sees it.
  std::vector<TensorGroup> unquantized_groups;
  std::vector<TensorRole> unquantized_roles;
  std::shared_ptr<const FileTensors> file; // file: what the headers say
  std::string description;          // one line for tables
};

// Parses a format name ("bf16", "fp8", "int8", "awq", "gptq", "gptq-int4-g128", "nf4",
// "q4_k_m", ...) case-insensitively: a row of weight_format_table by its id or an alias,
// the int_group and exl2 grammars, a GGUF mix in any of its spellings. `native` is the
// model's dtype (used by "native"). An unknown name is an ErrorCode::invalid_argument.
[[nodiscard]] std::expected<WeightFormat, Error> parse_weight_format(std::string_view name, Dtype native);

// Sets `f`'s unquantized groups and roles from their names (tensor_group_name or
// tensor_role_name: "attention", "shared_experts", "mlp", "output_head", "attn_q_a", ...) and
// says so in its description. An unknown name is an ErrorCode::invalid_argument naming it.
[[nodiscard]] std::expected<void, Error> set_unquantized(WeightFormat& f, std::span<const std::string> names);

// The same storage rule: the same id and the same unquantized modules.
[[nodiscard]] bool same_storage_rule(const WeightFormat& a, const WeightFormat& b);

// llama.cpp's file types, in enum GgufFtype order (the gguf rows of weight_format_table).
[[nodiscard]] std::span<const GgufFtypeTraits> gguf_ftypes();

// The GGUF mix whose enum llama_ftype value (GGUF general.file_type) is `llama_ftype`.
[[nodiscard]] const GgufFtypeTraits* gguf_ftype_by_llama_ftype(std::uint64_t llama_ftype);

// Every id of weight_format_table, for suggestions.
[[nodiscard]] std::vector<std::string_view> weight_format_names();

// The ranked formats of weight_format_table in the order of the quality ranking (best
// first), for `vramcalc list formats`, `--fit-quant` and `-q all`.
[[nodiscard]] std::vector<std::string_view> listed_weight_formats();

// The formats `-q`'s --help names, as it spells them.
[[nodiscard]] std::vector<std::string_view> help_weight_formats();

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
  std::uint64_t routed_expert_bytes = 0; // part of total: the routed experts (read only when chosen)
  std::vector<GroupBytes> groups; // groups present, in TensorGroup order
};

[[nodiscard]] WeightBytes weight_bytes(const ModelSpec& spec, const WeightFormat& format);

// The predicted size of the checkpoint file(s) in this format: the tensors as stored (with
// GGUF's per-tensor alignment, the MTP blocks a checkpoint ships, GPTQ's g_idx) plus the
// header (GGUF metadata and tokenizer, estimated from the vocabulary; safetensors JSON).
[[nodiscard]] std::uint64_t file_bytes(const ModelSpec& spec, const WeightFormat& format);

// ExLlamaV2's QParams.total_bits() for the output head at `head_bits` (2, 3, 4, 5, 6, 8),
// shape (rows = in_features, columns = out_features); 0 for an unknown head_bits.
[[nodiscard]] std::uint64_t exl2_head_bits(std::uint32_t head_bits, std::uint64_t rows, std::uint64_t columns);

} // namespace vramcalc
