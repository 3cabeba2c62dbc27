// Element storage types: one closed traits table with exact (block_elems, block_bytes).
//
// Plain types have a block of one element. ggml's block-quantized types store
// block_elems weights in block_bytes (Q8_0: 32 int8 + one fp16 scale = 34 bytes).
// Sources: ggml src/ggml.c type_traits and ggml-common.h block structs (docs/quantization.md).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vramcalc {

enum class Dtype : std::uint8_t {
  f64, f32, f16, bf16, f8_e4m3, f8_e5m2, i64, i32, i16, i8, i4,
  // ggml block types
  q4_0, q4_1, q5_0, q5_1, q8_0, q8_1,
  q2_k, q3_k, q4_k, q5_k, q6_k, q8_k,
  iq2_xxs, iq2_xs, iq3_xxs, iq1_s, iq4_nl, iq3_s, iq2_s, iq4_xs, iq1_m,
  tq1_0, tq2_0, mxfp4, nvfp4,
};

struct DtypeTraits {
  Dtype id;
  std::string_view name;     // canonical lowercase spelling
  std::uint32_t block_elems; // elements per block
  std::uint32_t block_bytes; // bytes per block
  std::int32_t ggml_id;      // enum ggml_type value, -1 if ggml has no such type
  bool kv_allowed;           // accepted as a KV-cache dtype
};

inline constexpr std::array dtype_table{
    DtypeTraits{Dtype::f64, "f64", 1, 8, 28, false},
    DtypeTraits{Dtype::f32, "fp32", 1, 4, 0, true},
    DtypeTraits{Dtype::f16, "fp16", 1, 2, 1, true},
    DtypeTraits{Dtype::bf16, "bf16", 1, 2, 30, true},
    DtypeTraits{Dtype::f8_e4m3, "fp8_e4m3", 1, 1, -1, true},
    DtypeTraits{Dtype::f8_e5m2, "fp8_e5m2", 1, 1, -1, true},
    DtypeTraits{Dtype::i64, "i64", 1, 8, 27, false},
    DtypeTraits{Dtype::i32, "i32", 1, 4, 26, false},
    DtypeTraits{Dtype::i16, "i16", 1, 2, 25, false},
    DtypeTraits{Dtype::i8, "int8", 1, 1, 24, true},
    DtypeTraits{Dtype::i4, "int4", 2, 1, -1, true},
    DtypeTraits{Dtype::q4_0, "q4_0", 32, 18, 2, true},
    DtypeTraits{Dtype::q4_1, "q4_1", 32, 20, 3, true},
    DtypeTraits{Dtype::q5_0, "q5_0", 32, 22, 6, true},
    DtypeTraits{Dtype::q5_1, "q5_1", 32, 24, 7, true},
    DtypeTraits{Dtype::q8_0, "q8_0", 32, 34, 8, true},
    DtypeTraits{Dtype::q8_1, "q8_1", 32, 36, 9, false},
    DtypeTraits{Dtype::q2_k, "q2_k", 256, 84, 10, false},
    DtypeTraits{Dtype::q3_k, "q3_k", 256, 110, 11, false},
    DtypeTraits{Dtype::q4_k, "q4_k", 256, 144, 12, false},
    DtypeTraits{Dtype::q5_k, "q5_k", 256, 176, 13, false},
    DtypeTraits{Dtype::q6_k, "q6_k", 256, 210, 14, false},
    DtypeTraits{Dtype::q8_k, "q8_k", 256, 292, 15, false},
    DtypeTraits{Dtype::iq2_xxs, "iq2_xxs", 256, 66, 16, false},
    DtypeTraits{Dtype::iq2_xs, "iq2_xs", 256, 74, 17, false},
    DtypeTraits{Dtype::iq3_xxs, "iq3_xxs", 256, 98, 18, false},
    DtypeTraits{Dtype::iq1_s, "iq1_s", 256, 50, 19, false},
    DtypeTraits{Dtype::iq4_nl, "iq4_nl", 32, 18, 20, true},
    DtypeTraits{Dtype::iq3_s, "iq3_s", 256, 110, 21, false},
    DtypeTraits{Dtype::iq2_s, "iq2_s", 256, 82, 22, false},
    DtypeTraits{Dtype::iq4_xs, "iq4_xs", 256, 136, 23, false},
    DtypeTraits{Dtype::iq1_m, "iq1_m", 256, 56, 29, false},
    DtypeTraits{Dtype::tq1_0, "tq1_0", 256, 54, 34, false},
    DtypeTraits{Dtype::tq2_0, "tq2_0", 256, 66, 35, false},
    DtypeTraits{Dtype::mxfp4, "mxfp4", 32, 17, 39, false},
    DtypeTraits{Dtype::nvfp4, "nvfp4", 64, 36, 40, false},
};

// The table is indexed by the enum: entry i describes Dtype(i).
consteval bool dtype_table_is_ordered() {
  for (std::size_t i = 0; i < dtype_table.size(); ++i) {
    if (static_cast<std::size_t>(dtype_table[i].id) != i) return false;
  }
  return true;
}
static_assert(dtype_table_is_ordered(), "dtype_table must follow the order of enum Dtype");
static_assert(dtype_table.size() == static_cast<std::size_t>(Dtype::nvfp4) + 1);

[[nodiscard]] constexpr const DtypeTraits& traits(Dtype d) {
  return dtype_table[static_cast<std::size_t>(d)];
}

// Block layouts from ggml-common.h, checked here so a typo cannot slip into the table.
static_assert(traits(Dtype::q8_0).block_bytes == 2 + 32);         // d:f16, qs[32]
static_assert(traits(Dtype::q4_0).block_bytes == 2 + 16);         // d:f16, qs[16]
static_assert(traits(Dtype::q4_1).block_bytes == 2 * 2 + 16);     // d,m:f16, qs[16]
static_assert(traits(Dtype::q5_0).block_bytes == 2 + 4 + 16);     // d, qh[4], qs[16]
static_assert(traits(Dtype::q5_1).block_bytes == 2 * 2 + 4 + 16); // d,m, qh[4], qs[16]
static_assert(traits(Dtype::q8_1).block_bytes == 2 * 2 + 32);
static_assert(traits(Dtype::q2_k).block_bytes == 16 + 64 + 2 * 2);        // scales, qs, d,dmin
static_assert(traits(Dtype::q3_k).block_bytes == 32 + 64 + 12 + 2);       // hmask, qs, scales, d
static_assert(traits(Dtype::q4_k).block_bytes == 2 * 2 + 12 + 128);       // d,dmin, scales, qs
static_assert(traits(Dtype::q5_k).block_bytes == 2 * 2 + 12 + 32 + 128);  // + qh
static_assert(traits(Dtype::q6_k).block_bytes == 128 + 64 + 16 + 2);      // ql, qh, scales, d
static_assert(traits(Dtype::q8_k).block_bytes == 4 + 256 + 16 * 2);       // d:f32, qs, bsums
static_assert(traits(Dtype::iq2_xxs).block_bytes == 2 + 32 * 2);
static_assert(traits(Dtype::iq2_xs).block_bytes == 2 + 32 * 2 + 8);
static_assert(traits(Dtype::iq3_xxs).block_bytes == 2 + 96);
static_assert(traits(Dtype::iq1_s).block_bytes == 2 + 32 + 8 * 2);
static_assert(traits(Dtype::iq4_nl).block_bytes == 2 + 16);
static_assert(traits(Dtype::iq3_s).block_bytes == 2 + 64 + 8 + 32 + 4);
static_assert(traits(Dtype::iq2_s).block_bytes == 2 + 64 + 8 + 8);
static_assert(traits(Dtype::iq4_xs).block_bytes == 2 + 2 + 4 + 128);
static_assert(traits(Dtype::iq1_m).block_bytes == 32 + 16 + 8);
static_assert(traits(Dtype::tq1_0).block_bytes == 48 + 4 + 2);
static_assert(traits(Dtype::tq2_0).block_bytes == 64 + 2);
static_assert(traits(Dtype::mxfp4).block_bytes == 1 + 16);  // e8m0 scale, 16 bytes of e2m1 pairs
static_assert(traits(Dtype::nvfp4).block_bytes == 4 + 32);  // 4 ue4m3 scales (one per 16), qs[32]

// Bytes of a row of n elements: ceil(n / block_elems) * block_bytes. (ggml requires
// n % block_elems == 0 for its quantized types; callers that need that check it.)
[[nodiscard]] std::uint64_t row_bytes(Dtype d, std::uint64_t n);

// Looks up a dtype by name, case-insensitively, accepting the engines' spellings:
// f16/float16/half, f32/float32/float, bfloat16, fp8/fp8_e4m3/e4m3, fp8_e5m2, q8_0 ...
[[nodiscard]] std::optional<Dtype> parse_dtype(std::string_view name);

// Human description used in tables: "fp8 (e4m3)", "q8_0 (8.5 bits)".
[[nodiscard]] std::string_view dtype_display(Dtype d);

} // namespace vramcalc
