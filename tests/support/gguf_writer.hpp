// A small in-memory GGUF writer for the tests: valid files by default, and every field
// overridable so malformed files can be built byte by byte. Layout as in ggml's
// docs/gguf.md (little-endian, counts u64, strings u64 length + bytes, no NUL).
#pragma once

#include <bit>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc::test {

// Little-endian byte building blocks.
class Bytes {
public:
  Bytes& raw(std::string_view s) {
    out_.append(s);
    return *this;
  }
  Bytes& u8(std::uint8_t v) { return le(v, 1); }
  Bytes& u16(std::uint16_t v) { return le(v, 2); }
  Bytes& u32(std::uint32_t v) { return le(v, 4); }
  Bytes& u64(std::uint64_t v) { return le(v, 8); }
  Bytes& i64(std::int64_t v) { return le(std::bit_cast<std::uint64_t>(v), 8); }
  Bytes& f32(float v) { return le(std::bit_cast<std::uint32_t>(v), 4); }
  Bytes& f64(double v) { return le(std::bit_cast<std::uint64_t>(v), 8); }
  Bytes& str(std::string_view s) { return u64(s.size()).raw(s); }
  Bytes& zeros(std::uint64_t n) {
    out_.append(static_cast<std::size_t>(n), '\0');
    return *this;
  }
  [[nodiscard]] const std::string& str() const { return out_; }
  [[nodiscard]] std::size_t size() const { return out_.size(); }

private:
  Bytes& le(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_ += static_cast<char>((v >> (8 * i)) & 0xff);
    return *this;
  }
  std::string out_;
};

// gguf_type ids (ggml gguf.h)
enum GgufTypeId : std::uint32_t {
  t_u8 = 0, t_i8 = 1, t_u16 = 2, t_i16 = 3, t_u32 = 4, t_i32 = 5, t_f32 = 6, t_bool = 7, t_string = 8,
  t_array = 9, t_u64 = 10, t_i64 = 11, t_f64 = 12,
};

// ggml_type ids and their (block elements, block bytes), from ggml's type_traits; kept
// here apart from vramcalc's dtype_table so the tests check the reader against a second copy.
struct GgmlType {
  std::uint32_t id;
  std::uint64_t block_elems;
  std::uint64_t block_bytes;
};
inline constexpr GgmlType g_f32{0, 1, 4}, g_f16{1, 1, 2}, g_q4_0{2, 32, 18}, g_q8_0{8, 32, 34}, g_q4_k{12, 256, 144},
    g_q6_k{14, 256, 210}, g_bf16{30, 1, 2}, g_f64{28, 1, 8}, g_mxfp4{39, 32, 17};

class GgufWriter {
public:
  struct Tensor {
    std::string name;
    std::vector<std::uint64_t> ne;
    GgmlType type;
    std::optional<std::uint64_t> offset; // default: the running padded sum
    std::uint64_t bytes() const {
      std::uint64_t b = ne.empty() ? type.block_bytes : ne[0] / type.block_elems * type.block_bytes;
      for (std::size_t i = 1; i < ne.size(); ++i) b *= ne[i];
      return b;
    }
  };

  std::string magic = "GGUF";
  std::uint32_t version = 3;
  std::uint64_t alignment = 32; // padding used when writing (set general.alignment too)
  std::optional<std::uint64_t> n_tensors_override, n_kv_override;
  std::optional<std::uint64_t> truncate_to; // cut the finished file to this many bytes
  bool pad_last_tensor = true;

  // One metadata pair with an already encoded value (type id written by the caller).
  GgufWriter& kv_raw(std::string_view key, std::uint32_t type, const Bytes& value) {
    Bytes b;
    b.str(key).u32(type).raw(value.str());
    kvs_.push_back(b.str());
    return *this;
  }
  // A metadata pair written verbatim (for malformed keys).
  GgufWriter& kv_verbatim(const Bytes& b) {
    kvs_.push_back(b.str());
    return *this;
  }
  GgufWriter& u8(std::string_view k, std::uint8_t v) { return kv_raw(k, t_u8, Bytes().u8(v)); }
  GgufWriter& i8(std::string_view k, std::int8_t v) { return kv_raw(k, t_i8, Bytes().u8(static_cast<std::uint8_t>(v))); }
  GgufWriter& u16(std::string_view k, std::uint16_t v) { return kv_raw(k, t_u16, Bytes().u16(v)); }
  GgufWriter& i16(std::string_view k, std::int16_t v) {
    return kv_raw(k, t_i16, Bytes().u16(static_cast<std::uint16_t>(v)));
  }
  GgufWriter& u32(std::string_view k, std::uint32_t v) { return kv_raw(k, t_u32, Bytes().u32(v)); }
  GgufWriter& i32(std::string_view k, std::int32_t v) { return kv_raw(k, t_i32, Bytes().u32(static_cast<std::uint32_t>(v))); }
  GgufWriter& f32(std::string_view k, float v) { return kv_raw(k, t_f32, Bytes().f32(v)); }
  GgufWriter& boolean(std::string_view k, bool v) { return kv_raw(k, t_bool, Bytes().u8(v ? 1 : 0)); }
  GgufWriter& str(std::string_view k, std::string_view v) { return kv_raw(k, t_string, Bytes().str(v)); }
  GgufWriter& u64(std::string_view k, std::uint64_t v) { return kv_raw(k, t_u64, Bytes().u64(v)); }
  GgufWriter& i64(std::string_view k, std::int64_t v) { return kv_raw(k, t_i64, Bytes().i64(v)); }
  GgufWriter& f64(std::string_view k, double v) { return kv_raw(k, t_f64, Bytes().f64(v)); }
  GgufWriter& arr_u32(std::string_view k, std::initializer_list<std::uint32_t> v) {
    Bytes b;
    b.u32(t_u32).u64(v.size());
    for (std::uint32_t x : v) b.u32(x);
    return kv_raw(k, t_array, b);
  }
  GgufWriter& arr_i32(std::string_view k, std::initializer_list<std::int32_t> v) {
    Bytes b;
    b.u32(t_i32).u64(v.size());
    for (std::int32_t x : v) b.u32(static_cast<std::uint32_t>(x));
    return kv_raw(k, t_array, b);
  }
  GgufWriter& arr_f32(std::string_view k, std::initializer_list<float> v) {
    Bytes b;
    b.u32(t_f32).u64(v.size());
    for (float x : v) b.f32(x);
    return kv_raw(k, t_array, b);
  }
  GgufWriter& arr_bool(std::string_view k, std::initializer_list<bool> v) {
    Bytes b;
    b.u32(t_bool).u64(v.size());
    for (bool x : v) b.u8(x ? 1 : 0);
    return kv_raw(k, t_array, b);
  }
  GgufWriter& arr_str(std::string_view k, const std::vector<std::string>& v) {
    Bytes b;
    b.u32(t_string).u64(v.size());
    for (const std::string& x : v) b.str(x);
    return kv_raw(k, t_array, b);
  }

  GgufWriter& tensor(std::string name, GgmlType type, std::vector<std::uint64_t> ne,
                     std::optional<std::uint64_t> offset = std::nullopt) {
    tensors_.push_back(Tensor{std::move(name), std::move(ne), type, offset});
    return *this;
  }
  // A tensor info written verbatim (for malformed infos); it gets no data.
  GgufWriter& tensor_info_raw(const Bytes& info) {
    raw_infos_.push_back(info.str());
    return *this;
  }

  [[nodiscard]] std::uint64_t pad(std::uint64_t x) const { return (x + alignment - 1) / alignment * alignment; }

  // Magic .. the end of the tensor infos.
  [[nodiscard]] std::string header() const {
    Bytes b;
    b.raw(magic).u32(version);
    b.u64(n_tensors_override.value_or(tensors_.size() + raw_infos_.size()));
    b.u64(n_kv_override.value_or(kvs_.size()));
    for (const std::string& kv : kvs_) b.raw(kv);
    std::uint64_t offset = 0;
    for (const Tensor& t : tensors_) {
      b.str(t.name).u32(static_cast<std::uint32_t>(t.ne.size()));
      for (std::uint64_t d : t.ne) b.u64(d);
      b.u32(t.type.id).u64(t.offset.value_or(offset));
      offset += pad(t.bytes());
    }
    for (const std::string& info : raw_infos_) b.raw(info);
    return b.str();
  }

  // The whole file: header, zero padding to the alignment, zero tensor data (each padded).
  [[nodiscard]] std::string bytes() const {
    std::string out = header();
    if (!tensors_.empty()) out.append(static_cast<std::size_t>(pad(out.size()) - out.size()), '\0');
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
      const std::uint64_t b = tensors_[i].bytes();
      const bool last = i + 1 == tensors_.size();
      out.append(static_cast<std::size_t>(last && !pad_last_tensor ? b : pad(b)), '\0');
    }
    if (truncate_to && *truncate_to < out.size()) out.resize(static_cast<std::size_t>(*truncate_to));
    return out;
  }

private:
  std::vector<std::string> kvs_;
  std::vector<Tensor> tensors_;
  std::vector<std::string> raw_infos_;
};

// The tensors of a llama-architecture block stack, as llama.cpp's converter names them
// (ne0 = input features): token_embd, per layer attn/ffn, output_norm, output (unless tied).
inline GgufWriter& add_llama_tensors(GgufWriter& w, std::uint64_t n_layer, std::uint64_t n_embd, std::uint64_t n_head,
                                     std::uint64_t n_head_kv, std::uint64_t n_ff, std::uint64_t n_vocab, GgmlType type,
                                     bool tied = false) {
  const std::uint64_t head = n_embd / n_head;
  w.tensor("token_embd.weight", type, {n_embd, n_vocab});
  for (std::uint64_t i = 0; i < n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    w.tensor(p + "attn_norm.weight", g_f32, {n_embd});
    w.tensor(p + "attn_q.weight", type, {n_embd, n_head * head});
    w.tensor(p + "attn_k.weight", type, {n_embd, n_head_kv * head});
    w.tensor(p + "attn_v.weight", type, {n_embd, n_head_kv * head});
    w.tensor(p + "attn_output.weight", type, {n_head * head, n_embd});
    w.tensor(p + "ffn_norm.weight", g_f32, {n_embd});
    w.tensor(p + "ffn_gate.weight", type, {n_embd, n_ff});
    w.tensor(p + "ffn_up.weight", type, {n_embd, n_ff});
    w.tensor(p + "ffn_down.weight", type, {n_ff, n_embd});
  }
  w.tensor("output_norm.weight", g_f32, {n_embd});
  if (!tied) w.tensor("output.weight", type, {n_embd, n_vocab});
  return w;
}

} // namespace vramcalc::test
