// The weight formats vramcalc knows, as one closed table: a row per format a user can name
// (its id, other spellings, the storage rule it takes, its description, its place in the
// quality order, its spelling in --help and the engines that load it). parse_weight_format,
// `--help`, `vramcalc list formats` (and the completions made from it), `--fit-quant`,
// `-q all`, engine_loads and the GGUF ftype lookups all read it; the consteval checks below
// keep it consistent. Adding a format is one row here plus its storage rule in format.cpp
// (a new FormatKind only when no rule fits). docs/quantization.md describes each format.
#pragma once

#include "vramcalc/dtype.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vramcalc {

// The storage rules of format.cpp, one per kind.
enum class FormatKind : std::uint8_t {
  plain,       // every tensor in `dtype`
  fp8,         // e4m3 weights + f32 scales: per tensor, per output channel, or per block
  int_channel, // int8 weights + one scale per output channel (W8A16: model dtype; W8A8: f32)
  int_group,   // GPTQ / AWQ / compressed-tensors WNA16: packed ints + per-group scales (+ zeros)
  bnb4,        // bitsandbytes NF4 / FP4 (64-element blocks, optionally double-quantized absmax)
  bnb8,        // bitsandbytes LLM.int8: int8 weights + an f32 scale per output row
  mxfp4,       // OCP MXFP4: e2m1 pairs + one e8m0 scale per 32 (routed experts when the model has them)
  nvfp4,       // NVFP4: e2m1 pairs + one e4m3 scale per 16 + f32 global and input scales per tensor
  exl2,        // ExLlamaV2: decoder layers at a target bits per weight, the head at its own bits
  gguf,        // a llama.cpp quantization mix (llama_ftype)
  file,        // as stored in the model's own files (GGUF or safetensors headers); no row
};

enum class Fp8Scale : std::uint8_t { tensor, channel, block };

// llama.cpp's file types (llama_ftype), the mixes `llama-quantize` produces.
enum class GgufFtype : std::uint8_t {
  all_f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0,
  q2_k, q2_k_s, q3_k_s, q3_k_m, q3_k_l, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k,
  iq2_xxs, iq2_xs, iq2_s, iq2_m, iq3_xxs, iq3_xs, iq3_s, iq3_m, iq1_s, iq1_m, iq4_nl, iq4_xs,
  tq1_0, tq2_0, mxfp4_moe,
};

// The engines that load a format, as bits (EngineKind::generic loads every format).
enum LoadedBy : std::uint8_t { loaded_by_no_engine = 0, loaded_by_vllm = 1, loaded_by_llamacpp = 2 };

// The parameters a row gives its storage rule. int_group and exl2 rows take theirs from the
// id's grammar ("gptq-int8-g128", "exl2-4.65"), which also reads spellings no row lists.
struct FormatRule {
  Fp8Scale fp8_scale = Fp8Scale::tensor; // fp8
  bool fp8_ffn_only = false;             // fp8: feed-forward layers only, not the first and last
  std::uint32_t scale_bytes = 2;         // int_channel: bytes per channel scale; 0: the model dtype's
  bool double_quant = true;              // bnb4: double-quantized absmax
  GgufFtype ftype = GgufFtype::f16;      // gguf: the mix
  std::uint32_t llama_ftype = 0;         // gguf: its enum llama_ftype value (GGUF general.file_type)
};

struct WeightFormatTraits {
  std::string_view id;          // canonical lowercase spelling, what outputs show
  std::string_view aliases;     // other spellings, lowercase, separated by spaces
  FormatKind kind;              // the storage rule
  Dtype dtype;                  // plain: the storage type; gguf: the mix's default type; else the main data's
  FormatRule rule;
  std::string_view description; // one line for tables; "" for int_group, exl2, gguf: made from the parameters
  std::uint8_t quality_rank;    // place in the quality order (1: best) of list formats, --fit-quant, -q all; 0: not in it
  std::string_view help;        // how -q's --help spells it; "": not shown there
  std::uint8_t loaded_by;       // LoadedBy bits
};

namespace format_rows {

constexpr std::uint8_t vllm = loaded_by_vllm, llamacpp = loaded_by_llamacpp, none = loaded_by_no_engine;

// A llama.cpp mix: llama_ftype from llama.h, default type from llama_ftype_get_default_type().
constexpr WeightFormatTraits gguf(std::string_view id, GgufFtype ftype, std::uint32_t llama_ftype, Dtype default_type,
                                  std::uint8_t rank = 0, std::string_view help = {}) {
  return {id, {}, FormatKind::gguf, default_type, {.ftype = ftype, .llama_ftype = llama_ftype}, {}, rank, help, llamacpp};
}

// Parameters from the id (parse_weight_format's grammars).
constexpr WeightFormatTraits by_grammar(std::string_view id, std::string_view aliases, FormatKind kind, Dtype dtype,
                                        std::uint8_t rank, std::string_view help, std::uint8_t loaded_by) {
  return {id, aliases, kind, dtype, {}, {}, rank, help, loaded_by};
}

} // namespace format_rows

// In the order --help shows them: plain floats, GPU methods, ExLlamaV2, then the GGUF mixes
// (ranked ones by rank). Plain rows also take every spelling parse_dtype has for their dtype
// (f16, half, float16 ...); GGUF ids also match without '_' / '-' and after "gguf".
// Sources of each layout: docs/quantization.md. Which engines load what: docs/engines.md
// ("Weight formats each engine loads"): vLLM's quantization methods
// (vllm/model_executor/layers/quantization/__init__.py) but not GGUF (experimental there,
// not modelled) nor ExLlamaV2; llama.cpp GGUF files, a plain float meaning the GGUF of that
// type (convert_hf_to_gguf.py writes f32, f16 and bf16).
inline constexpr auto weight_format_table = [] {
  using namespace format_rows;
  using K = FormatKind;
  using D = Dtype;
  using G = GgufFtype;
  const std::uint8_t both = vllm | llamacpp;
  return std::array{
      WeightFormatTraits{"fp32", {}, K::plain, D::f32, {}, "unquantized fp32", 1, "fp32", both},
      WeightFormatTraits{"fp16", {}, K::plain, D::f16, {}, "unquantized fp16", 0, {}, both},
      WeightFormatTraits{"bf16", {}, K::plain, D::bf16, {}, "unquantized bf16", 2, "bf16", both},
      WeightFormatTraits{"fp8", "fp8_e4m3 fp8-e4m3 w8a8-fp8 f8 fp8-tensor fp8-dynamic", K::fp8, D::f8_e4m3, {},
                         "FP8 e4m3 linear layers, one f32 scale per tensor", 3, "fp8", vllm},
      WeightFormatTraits{"fp8-channel", "fp8-per-channel", K::fp8, D::f8_e4m3, {.fp8_scale = Fp8Scale::channel},
                         "FP8 e4m3 linear layers, one f32 scale per output channel", 0, {}, vllm},
      WeightFormatTraits{"fp8-block", "fp8-block128 fp8-block-128x128", K::fp8, D::f8_e4m3,
                         {.fp8_scale = Fp8Scale::block}, "FP8 e4m3 linear layers, one f32 scale per 128x128 block", 4,
                         {}, vllm},
      // Meta's FP8 release of Llama 3.1 405B: the feed-forward layers in FP8 with row-wise
      // scales, except in the first and last layers; attention stays bf16 (The Llama 3 Herd
      // of Models, section 6.2; vLLM fbgemm_fp8.py: f32 weight_scale of (N, 1)).
      WeightFormatTraits{"fbgemm-fp8", "fbgemm_fp8 fp8-fbgemm", K::fp8, D::f8_e4m3,
                         {.fp8_scale = Fp8Scale::channel, .fp8_ffn_only = true},
                         "FP8 e4m3 feed-forward layers but the first and last, one f32 scale per row; attention native",
                         0, {}, vllm},
      WeightFormatTraits{"int8", "w8a16 int8-w8a16", K::int_channel, D::i8, {.scale_bytes = 0},
                         "INT8 W8A16 linear layers, one scale per output channel", 5, "int8", vllm},
      WeightFormatTraits{"w8a8", "int8-w8a8 w8a8-int8", K::int_channel, D::i8, {.scale_bytes = 4},
                         "INT8 W8A8 linear layers, one f32 scale per output channel", 0, {}, vllm},
      by_grammar("gptq-int4-g128", "gptq gptq-int4 int4", K::int_group, D::i4, 17, "gptq-int4-g128", vllm),
      by_grammar("gptq-int8-g128", "gptq-int8", K::int_group, D::i8, 6, {}, vllm),
      by_grammar("awq-int4-g128", "awq awq-int4", K::int_group, D::i4, 18, "awq", vllm),
      by_grammar("w4a16-g128", "w4a16", K::int_group, D::i4, 19, {}, vllm),
      WeightFormatTraits{"nf4", "bnb-nf4 bnb4 bitsandbytes-nf4", K::bnb4, D::i4, {},
                         "bitsandbytes NF4, blocks of 64, double-quantized scales", 22, "nf4", vllm},
      WeightFormatTraits{"nf4-nodq", "bnb-nf4-nodq", K::bnb4, D::i4, {.double_quant = false},
                         "bitsandbytes NF4, blocks of 64, f32 scales", 0, {}, vllm},
      WeightFormatTraits{"bnb-fp4", {}, K::bnb4, D::i4, {}, "bitsandbytes FP4, blocks of 64, double-quantized scales",
                         0, {}, vllm},
      WeightFormatTraits{"bnb-fp4-nodq", {}, K::bnb4, D::i4, {.double_quant = false},
                         "bitsandbytes FP4, blocks of 64, f32 scales", 0, {}, vllm},
      WeightFormatTraits{"bnb-int8", "llm-int8 bnb8", K::bnb8, D::i8, {}, "bitsandbytes LLM.int8, one f32 scale per row",
                         8, {}, vllm},
      WeightFormatTraits{"mxfp4", "mxfp4-moe", K::mxfp4, D::mxfp4, {},
                         "MXFP4 (4.25 bits) experts, the rest native, as gpt-oss ships", 16, "mxfp4", vllm},
      WeightFormatTraits{"nvfp4", {}, K::nvfp4, D::nvfp4, {}, "NVFP4 linear layers: fp4 + fp8 scale per 16 (4.5 bits)",
                         14, "nvfp4", vllm},
      by_grammar("exl2-4.65", {}, K::exl2, D::i4, 0, "exl2-4.65", none),
      by_grammar("exl2-8.0", {}, K::exl2, D::i4, 9, {}, none),
      by_grammar("exl2-5.0", {}, K::exl2, D::i4, 13, {}, none),
      by_grammar("exl2-4.0", {}, K::exl2, D::i4, 24, {}, none),
      by_grammar("exl2-3.0", {}, K::exl2, D::i4, 29, {}, none),
      gguf("q8_0", G::q8_0, 7, D::q8_0, 7, "q8_0"),
      gguf("q6_k", G::q6_k, 18, D::q6_k, 10, "q6_k"),
      gguf("q5_k_m", G::q5_k_m, 17, D::q5_k, 11, "q5_k_m"),
      gguf("q5_k_s", G::q5_k_s, 16, D::q5_k, 12),
      gguf("q4_k_m", G::q4_k_m, 15, D::q4_k, 15, "q4_k_m"),
      gguf("q4_k_s", G::q4_k_s, 14, D::q4_k, 20),
      gguf("iq4_xs", G::iq4_xs, 30, D::iq4_xs, 21),
      gguf("q4_0", G::q4_0, 2, D::q4_0, 23, "q4_0"),
      gguf("q3_k_l", G::q3_k_l, 13, D::q3_k, 25),
      gguf("q3_k_m", G::q3_k_m, 12, D::q3_k, 26, "q3_k_m"),
      gguf("q3_k_s", G::q3_k_s, 11, D::q3_k, 27),
      gguf("iq3_xxs", G::iq3_xxs, 23, D::iq3_xxs, 28),
      gguf("q2_k", G::q2_k, 10, D::q2_k, 30, "q2_k"),
      gguf("iq2_xs", G::iq2_xs, 20, D::iq2_xs, 31),
      gguf("gguf-f32", G::all_f32, 0, D::f32),
      gguf("gguf-f16", G::f16, 1, D::f16),
      gguf("gguf-bf16", G::bf16, 32, D::bf16),
      gguf("q4_1", G::q4_1, 3, D::q4_1),
      gguf("q5_0", G::q5_0, 8, D::q5_0),
      gguf("q5_1", G::q5_1, 9, D::q5_1),
      gguf("q2_k_s", G::q2_k_s, 21, D::q2_k),
      gguf("iq2_xxs", G::iq2_xxs, 19, D::iq2_xxs),
      gguf("iq2_s", G::iq2_s, 28, D::iq2_xs),
      gguf("iq2_m", G::iq2_m, 29, D::iq2_s),
      gguf("iq3_xs", G::iq3_xs, 22, D::iq3_s),
      gguf("iq3_s", G::iq3_s, 26, D::iq3_s),
      gguf("iq3_m", G::iq3_m, 27, D::iq3_s),
      gguf("iq1_s", G::iq1_s, 24, D::iq1_s),
      gguf("iq1_m", G::iq1_m, 31, D::iq1_m),
      gguf("iq4_nl", G::iq4_nl, 25, D::iq4_nl),
      gguf("tq1_0", G::tq1_0, 36, D::tq1_0),
      gguf("tq2_0", G::tq2_0, 37, D::tq2_0),
      gguf("mxfp4_moe", G::mxfp4_moe, 38, D::mxfp4),
  };
}();

// ----- checks -------------------------------------------------------------------------------

namespace format_table_checks {

// The space-separated words of `list`, one at a time: calls f(word) for each.
template <class F> constexpr void each_word(std::string_view list, F f) {
  while (!list.empty()) {
    const std::size_t space = list.find(' ');
    f(list.substr(0, space));
    if (space == std::string_view::npos) break;
    list.remove_prefix(space + 1);
  }
}

constexpr bool is_lower_name(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Every id and alias is a lowercase name that names one row only.
consteval bool spellings_are_unique() {
  std::size_t count = 0;
  std::array<std::string_view, 4 * weight_format_table.size()> seen{};
  bool ok = true;
  const auto add = [&](std::string_view s) {
    if (!is_lower_name(s) || count == seen.size()) ok = false;
    for (std::size_t i = 0; i < count; ++i) ok = ok && seen[i] != s;
    if (count < seen.size()) seen[count++] = s;
  };
  for (const auto& row : weight_format_table) {
    add(row.id);
    each_word(row.aliases, add);
  }
  return ok;
}

// The quality ranks are 1 .. N, each once.
consteval bool ranks_are_a_sequence() {
  std::size_t ranked = 0;
  for (const auto& row : weight_format_table) ranked += row.quality_rank != 0 ? 1 : 0;
  for (std::size_t rank = 1; rank <= ranked; ++rank) {
    std::size_t n = 0;
    for (const auto& row : weight_format_table) n += row.quality_rank == rank ? 1 : 0;
    if (n != 1) return false;
  }
  return true;
}

// One row per llama_ftype the GgufFtype enum names, each with its own llama_ftype value.
consteval bool gguf_rows_cover_the_ftypes() {
  for (std::size_t f = 0; f <= static_cast<std::size_t>(GgufFtype::mxfp4_moe); ++f) {
    std::size_t n = 0;
    for (const auto& row : weight_format_table) {
      n += row.kind == FormatKind::gguf && static_cast<std::size_t>(row.rule.ftype) == f ? 1 : 0;
    }
    if (n != 1) return false;
  }
  for (const auto& a : weight_format_table) {
    for (const auto& b : weight_format_table) {
      if (&a != &b && a.kind == FormatKind::gguf && b.kind == FormatKind::gguf &&
          a.rule.llama_ftype == b.rule.llama_ftype)
        return false;
    }
  }
  return true;
}

// What a row's kind decides is the same in every row of it: the engines that load it, and
// whether the description is written (fixed rows) or made from the parameters.
consteval bool kinds_agree() {
  for (const auto& a : weight_format_table) {
    const bool made = a.kind == FormatKind::int_group || a.kind == FormatKind::exl2 || a.kind == FormatKind::gguf;
    if (made != a.description.empty() || a.kind == FormatKind::file) return false;
    for (const auto& b : weight_format_table) {
      if (a.kind == b.kind && a.loaded_by != b.loaded_by) return false;
    }
  }
  return true;
}

// Plain rows are the float dtypes under their dtype_table names (parse_dtype's spellings
// find them).
consteval bool plain_rows_are_floats() {
  for (const auto& row : weight_format_table) {
    if (row.kind != FormatKind::plain) continue;
    if (row.dtype != Dtype::f32 && row.dtype != Dtype::f16 && row.dtype != Dtype::bf16) return false;
    if (row.id != traits(row.dtype).name || !row.aliases.empty()) return false;
  }
  return true;
}

} // namespace format_table_checks

static_assert(format_table_checks::spellings_are_unique(), "a weight format spelling names two rows, or is not lowercase");
static_assert(format_table_checks::ranks_are_a_sequence(), "weight format quality ranks must be 1 .. N, each once");
static_assert(format_table_checks::gguf_rows_cover_the_ftypes(), "one GGUF row per GgufFtype, llama_ftype values distinct");
static_assert(format_table_checks::kinds_agree(), "rows of one kind must agree on engines and on how they are described");
static_assert(format_table_checks::plain_rows_are_floats(), "plain rows are fp32, fp16, bf16 under their dtype names");

} // namespace vramcalc
