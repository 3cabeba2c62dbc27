#include "vramcalc/dtype.hpp"

#include "vramcalc/names.hpp"
#include "vramcalc/units.hpp"

namespace vramcalc {

std::uint64_t row_bytes(Dtype d, std::uint64_t n) {
  const auto& t = traits(d);
  return checked_mul(ceil_div(n, t.block_elems), t.block_bytes, "a row size");
}

namespace {
struct Alias {
  std::string_view name;
  Dtype dtype;
};
// Engine spellings: vLLM --kv-cache-dtype (auto resolved elsewhere, fp8, fp8_e4m3, fp8_e5m2,
// bfloat16), llama.cpp -ctk/-ctv (f32, f16, bf16, q8_0, q4_0, q4_1, iq4_nl, q5_0, q5_1),
// PyTorch dtype names (float16, bfloat16, float32).
constexpr Alias dtype_aliases[] = {
    {"f32", Dtype::f32},         {"float32", Dtype::f32},    {"float", Dtype::f32},
    {"f16", Dtype::f16},         {"float16", Dtype::f16},    {"half", Dtype::f16},
    {"bfloat16", Dtype::bf16},   {"fp8", Dtype::f8_e4m3},    {"e4m3", Dtype::f8_e4m3},
    {"float8_e4m3fn", Dtype::f8_e4m3}, {"fp8_e4m3fn", Dtype::f8_e4m3}, {"e5m2", Dtype::f8_e5m2},
    {"float8_e5m2", Dtype::f8_e5m2},   {"i8", Dtype::i8},    {"i4", Dtype::i4},
    {"f64", Dtype::f64},         {"float64", Dtype::f64},
};
} // namespace

std::optional<Dtype> parse_dtype(std::string_view name) {
  for (const auto& t : dtype_table) {
    if (iequals(name, t.name)) return t.id;
  }
  for (const auto& a : dtype_aliases) {
    if (iequals(name, a.name)) return a.dtype;
  }
  return std::nullopt;
}

std::string_view dtype_display(Dtype d) {
  switch (d) {
  case Dtype::f8_e4m3: return "fp8 (e4m3)";
  case Dtype::f8_e5m2: return "fp8 (e5m2)";
  default: return traits(d).name;
  }
}

} // namespace vramcalc
