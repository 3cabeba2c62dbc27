#include "vramcalc/format.hpp"

#include "vramcalc/engine.hpp"
#include "vramcalc/names.hpp"
#include "vramcalc/units.hpp"

#include "weights_detail.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace vramcalc {

namespace {

// The GGUF view of weight_format_table: its gguf rows in enum GgufFtype order.
constexpr auto gguf_ftype_table = [] {
  std::array<GgufFtypeTraits, static_cast<std::size_t>(GgufFtype::mxfp4_moe) + 1> out{};
  for (const WeightFormatTraits& row : weight_format_table) {
    if (row.kind != FormatKind::gguf) continue;
    out[static_cast<std::size_t>(row.rule.ftype)] = {row.rule.ftype, row.id, row.rule.llama_ftype, row.dtype};
  }
  return out;
}();

bool is_float_plain(Dtype d) { return d == Dtype::f32 || d == Dtype::f16 || d == Dtype::bf16; }

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Reads a positive decimal integer at the front of `s`, advancing it.
std::optional<std::uint64_t> take_uint(std::string_view& s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p == s.data()) return std::nullopt;
  s.remove_prefix(static_cast<std::size_t>(p - s.data()));
  return v;
}

bool take(std::string_view& s, std::string_view prefix) {
  if (!s.starts_with(prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

// "gptq", "gptq-int4", "gptq-int8-g64", "awq-g64", "gptq-int4-g-1" (one group per row),
// "gptq-int4-g128-actorder", "w4a16", "w4a16-g32", "w8a16-g128" (compressed-tensors: no zeros).
std::optional<WeightFormat> parse_int_group(std::string_view n) {
  std::string method;
  if (take(n, "gptq")) method = "gptq";
  else if (take(n, "awq")) method = "awq";
  else if (take(n, "w4a16")) method = "w4a16";
  else if (take(n, "int4")) method = "gptq";
  else return std::nullopt;
  WeightFormat f;
  f.kind = FormatKind::int_group;
  f.bits = 4;
  f.group_size = 128;
  f.zeros = method != "w4a16";
  if (method != "w4a16") {
    if (take(n, "-int8")) f.bits = 8;
    else take(n, "-int4");
  }
  if (take(n, "-g")) {
    if (take(n, "-1")) {
      f.group_size = 0;
    } else {
      auto g = take_uint(n);
      if (!g || *g == 0 || (*g & (*g - 1)) != 0 || *g > 4096) return std::nullopt;
      f.group_size = static_cast<std::uint32_t>(*g);
    }
  }
  if (take(n, "-actorder") || take(n, "-desc_act")) f.act_order = method == "gptq";
  if (!n.empty() || (method == "awq" && f.bits != 4)) return std::nullopt;
  f.dtype = f.bits == 4 ? Dtype::i4 : Dtype::i8;
  const std::string g = f.group_size == 0 ? std::string("-1") : std::to_string(f.group_size);
  f.id = method == "w4a16" ? "w4a16-g" + g : method + "-int" + std::to_string(f.bits) + "-g" + g;
  if (f.act_order) f.id += "-actorder";
  f.description = (method == "w4a16" ? std::string("compressed-tensors W4A16") : upper(method)) + " " +
                  std::to_string(f.bits) + "-bit, " +
                  (f.group_size == 0 ? std::string("one scale per output channel")
                                     : "group size " + std::to_string(f.group_size)) +
                  (f.zeros ? " (fp16 scales, packed zeros)" : " (symmetric, no zeros)");
  return f;
}

// "exl2-4.65", "exl2-4.65bpw", "exl2-5.0-h8": target bits per weight and head bits.
std::optional<WeightFormat> parse_exl2(std::string_view n) {
  if (!take(n, "exl2-") && !take(n, "exl2_")) return std::nullopt;
  auto whole = take_uint(n);
  if (!whole) return std::nullopt;
  std::uint64_t num = *whole, den = 1;
  std::string text = std::to_string(*whole);
  if (take(n, ".")) {
    const std::string_view before = n;
    auto frac = take_uint(n);
    if (!frac) return std::nullopt;
    const std::size_t digits = before.size() - n.size();
    if (digits > 4) return std::nullopt;
    for (std::size_t i = 0; i < digits; ++i) den *= 10;
    num = num * den + *frac;
    text += "." + std::string(before.substr(0, digits));
  }
  take(n, "bpw");
  std::uint32_t head = 6;
  if (take(n, "-h")) {
    auto h = take_uint(n);
    if (!h || exl2_head_bits(static_cast<std::uint32_t>(*h), 128, 128) == 0) return std::nullopt;
    head = static_cast<std::uint32_t>(*h);
  }
  if (!n.empty() || num == 0 || num > 8 * den || num * 2 < den * 4) return std::nullopt; // 2 .. 8 bpw
  WeightFormat f;
  f.kind = FormatKind::exl2;
  f.dtype = Dtype::i4;
  f.bpw_num = num;
  f.bpw_den = den;
  f.head_bits = head;
  f.id = "exl2-" + text + (head != 6 ? "-h" + std::to_string(head) : "");
  f.description = "ExLlamaV2 " + text + " bits per weight, head " + std::to_string(head) + "-bit";
  return f;
}

bool has_word(std::string_view list, std::string_view word) {
  bool found = false;
  format_table_checks::each_word(list, [&](std::string_view w) { found = found || w == word; });
  return found;
}

// The row `n` (lowercase) names by its id or an alias.
const WeightFormatTraits* row_named(std::string_view n) {
  for (const WeightFormatTraits& row : weight_format_table) {
    if (row.id == n || has_word(row.aliases, n)) return &row;
  }
  return nullptr;
}

// GGUF mixes: "q4_k_m", "Q4_K_M", "q4-k-m", "q4km", "gguf-q4_k_m" all name Q4_K_M.
std::string squeeze_gguf(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c != '_' && c != '-') out += c;
  }
  if (out.starts_with("gguf")) out = out.substr(4);
  return out;
}

const WeightFormatTraits* gguf_row_named(std::string_view n) {
  const std::string squeezed = squeeze_gguf(n);
  for (const WeightFormatTraits& row : weight_format_table) {
    if (row.kind == FormatKind::gguf && squeezed == squeeze_gguf(row.id)) return &row;
  }
  return nullptr;
}

WeightFormat gguf_format(const WeightFormatTraits& row) {
  WeightFormat f;
  f.kind = FormatKind::gguf;
  f.ftype = row.rule.ftype;
  f.dtype = row.dtype;
  f.id = std::string(row.id);
  // Importance matrices are how IQ mixes are made (llama-quantize refuses the smallest ones
  // without one); K-quants and legacy types are modelled without.
  f.imatrix = row.id.starts_with("iq");
  f.description = "GGUF " + upper(row.id.starts_with("gguf-") ? row.id.substr(5) : row.id) + " (llama.cpp mix)";
  return f;
}

// The format a row names, with the parameters of its storage rule.
WeightFormat format_of(const WeightFormatTraits& row, Dtype native) {
  switch (row.kind) {
  case FormatKind::int_group: return *parse_int_group(row.id);
  case FormatKind::exl2: return *parse_exl2(row.id);
  case FormatKind::gguf: return gguf_format(row);
  default: break;
  }
  WeightFormat f;
  f.id = std::string(row.id);
  f.kind = row.kind;
  f.dtype = row.dtype;
  f.description = std::string(row.description);
  f.fp8_scale = row.rule.fp8_scale;
  f.fp8_ffn_only = row.rule.fp8_ffn_only;
  f.scale_bytes = row.rule.scale_bytes != 0 ? row.rule.scale_bytes : traits(native).block_bytes;
  if (row.kind == FormatKind::bnb4) f.bits = 4; // 4-bit codes, whatever the dtype says
  f.double_quant = row.rule.double_quant;
  return f;
}

} // namespace

std::expected<void, Error> set_unquantized(WeightFormat& f, std::span<const std::string> names) {
  f.unquantized_groups.clear();
  f.unquantized_roles.clear();
  std::string listed;
  for (const std::string& name : names) {
    bool known = false;
    for (unsigned g = 0; g <= static_cast<unsigned>(TensorGroup::other) && !known; ++g) {
      if (tensor_group_name(static_cast<TensorGroup>(g)) == name) {
        f.unquantized_groups.push_back(static_cast<TensorGroup>(g));
        known = true;
      }
    }
    for (unsigned r = 0; r < 256 && !known; ++r) {
      if (tensor_role_name(static_cast<TensorRole>(r)) == name) {
        f.unquantized_roles.push_back(static_cast<TensorRole>(r));
        known = true;
      }
    }
    if (!known || name == "?") {
      return std::unexpected(Error{ErrorCode::invalid_argument,
                                   "'" + name + "' is neither a tensor group (attention, mlp, shared_experts, "
                                   "output_head, ...) nor a tensor role (attn_q_a, attn_kv_b, ...)"});
    }
    listed += (listed.empty() ? "" : ", ") + name;
  }
  if (!listed.empty()) f.description += "; " + listed + " unquantized (the checkpoint's exclusions)";
  return {};
}

bool same_storage_rule(const WeightFormat& a, const WeightFormat& b) {
  return a.id == b.id && a.unquantized_groups == b.unquantized_groups && a.unquantized_roles == b.unquantized_roles;
}

std::vector<std::string_view> weight_format_names() {
  std::vector<std::string_view> names;
  for (const WeightFormatTraits& row : weight_format_table) names.push_back(row.id);
  return names;
}

std::vector<std::string_view> listed_weight_formats() {
  std::vector<std::string_view> names;
  for (std::size_t rank = 1;; ++rank) {
    const auto* row = std::ranges::find(weight_format_table, rank, &WeightFormatTraits::quality_rank);
    if (row == weight_format_table.end()) return names;
    names.push_back(row->id);
  }
}

std::vector<std::string_view> help_weight_formats() {
  std::vector<std::string_view> names;
  for (const WeightFormatTraits& row : weight_format_table) {
    if (!row.help.empty()) names.push_back(row.help);
  }
  return names;
}

std::expected<WeightFormat, Error> parse_weight_format(std::string_view name, Dtype native) {
  std::string n = to_lower(name);
  if (n == "native" || n == "auto") n = std::string(traits(native).name);
  // Every spelling of a float dtype (f16, half, float16 ...) names its plain row.
  if (auto d = parse_dtype(n); d && is_float_plain(*d)) n = std::string(traits(*d).name);
  if (const WeightFormatTraits* row = row_named(n)) return format_of(*row, native);
  if (auto g = parse_int_group(n)) return *g;
  if (auto e = parse_exl2(n)) return *e;
  if (const WeightFormatTraits* row = gguf_row_named(n)) return format_of(*row, native);
  return std::unexpected(Error{ErrorCode::invalid_argument, "unknown weight format '" + std::string(name) + "'"});
}

std::uint64_t exl2_head_bits(std::uint32_t head_bits, std::uint64_t rows, std::uint64_t columns) {
  // qparams_headoptions of exllamav2 conversion/qparams.py: group size, bits with their
  // proportions (in hundredths), scale bits 4.
  struct Part {
    std::uint64_t bits, percent;
  };
  struct Head {
    std::uint32_t head_bits;
    std::uint64_t group;
    Part parts[2];
    int n;
  };
  static constexpr Head heads[] = {
      {2, 32, {{4, 30}, {2, 70}}, 2},  {3, 32, {{4, 15}, {3, 85}}, 2},  {4, 32, {{6, 15}, {4, 85}}, 2},
      {5, 128, {{6, 15}, {5, 85}}, 2}, {6, 128, {{8, 15}, {6, 85}}, 2}, {8, 128, {{8, 100}, {0, 0}}, 1},
  };
  const Head* h = nullptr;
  for (const Head& c : heads) {
    if (c.head_bits == head_bits) h = &c;
  }
  if (h == nullptr) return 0;
  // QParams.total_bits(): groups per bit width = ceil(min(rows * p, remaining) / group);
  // the rows each width covers are capped by what is left.
  std::uint64_t groups = 0, total = 0, remaining = rows, rows_left = rows;
  std::uint64_t per_width[2] = {0, 0};
  for (int i = 0; i < h->n; ++i) {
    // min(rows * p, remaining) / group, rounded up, with p = percent / 100 kept exact.
    const std::uint64_t want_x100 = std::min(rows * h->parts[i].percent, remaining * 100);
    const std::uint64_t g = ceil_div(want_x100, 100 * h->group);
    per_width[i] = g;
    groups += g;
    remaining = remaining > g * h->group ? remaining - g * h->group : 0;
  }
  for (int i = 0; i < h->n; ++i) {
    const std::uint64_t r = std::min(h->group * per_width[i], rows_left);
    rows_left -= r;
    total = checked_add(total, checked_mul(checked_mul(r, columns), h->parts[i].bits));
  }
  total = checked_add(total, groups * 16);                                  // q_scale_max
  total = checked_add(total, groups * 32);                                  // q_groups
  total = checked_add(total, checked_mul(checked_mul(groups, columns), 4)); // q_scale
  total = checked_add(total, rows * 32);                                    // q_invperm
  return total;
}

namespace {

// ----- GPU quantization methods -------------------------------------------------------

bool gpu_method_quantizes(const Tensor& t) {
  if (!t.is_matrix()) return false;
  switch (t.group()) {
  case TensorGroup::attention:
  case TensorGroup::mlp:
  case TensorGroup::experts:
  case TensorGroup::shared_experts:
  case TensorGroup::mtp:
    // DeepSeek-V3's FP8 checkpoint keeps the MTP block's own embedding, head and eh_proj in
    // bf16 (its Hugging Face element count matches only so).
    return t.role != TensorRole::ffn_gate_inp && t.role != TensorRole::nextn_embed_tokens &&
           t.role != TensorRole::nextn_shared_head_head && t.role != TensorRole::nextn_eh_proj;
  case TensorGroup::recurrent:
    // the linear projections; the conv kernel and A are not linear layers
    return t.role == TensorRole::ssm_in || t.role == TensorRole::ssm_ba || t.role == TensorRole::ssm_x ||
           t.role == TensorRole::ssm_dt || t.role == TensorRole::ssm_out || t.role == TensorRole::ssm_f_a ||
           t.role == TensorRole::ssm_f_b || t.role == TensorRole::ssm_beta || t.role == TensorRole::ssm_g_a ||
           t.role == TensorRole::ssm_g_b;
  default: return false; // embeddings, output head, router, norms stay at native precision
  }
}

TensorStorage plain_storage(const Tensor& t, Dtype d) {
  return {d, checked_mul(row_bytes(d, t.ne0), checked_mul(t.ne1, t.ne2), "a tensor's size")};
}

// ExLlamaV2: the decoder's linear layers and norms share the target bits per weight (the
// optimizer fills numel x bpw); the head has its own bits; embeddings and the router are fp16.
TensorStorage exl2_storage(const Tensor& t, const WeightFormat& f) {
  if (t.role == TensorRole::output) {
    return {Dtype::i8, ceil_div(checked_mul(exl2_head_bits(f.head_bits, t.ne0, t.ne1), t.ne2), 8)};
  }
  const bool decoder = t.layer >= 0 && !t.mtp && t.role != TensorRole::ffn_gate_inp &&
                       (gpu_method_quantizes(t) || t.group() == TensorGroup::norms);
  if (!decoder) return plain_storage(t, Dtype::f16);
  return {f.dtype, ceil_div(checked_mul(t.elements(), f.bpw_num, "a tensor's size"), 8 * f.bpw_den)};
}

// A module the checkpoint leaves out of its quantization (WeightFormat::unquantized_*).
bool left_unquantized(const Tensor& t, const WeightFormat& f) {
  if (f.unquantized_groups.empty() && f.unquantized_roles.empty()) return false;
  return std::find(f.unquantized_groups.begin(), f.unquantized_groups.end(), t.group()) != f.unquantized_groups.end() ||
         std::find(f.unquantized_roles.begin(), f.unquantized_roles.end(), t.role) != f.unquantized_roles.end();
}

TensorStorage gpu_storage(const ModelSpec& spec, const Tensor& t, const WeightFormat& f) {
  if (f.kind == FormatKind::exl2) return exl2_storage(t, f);
  if (!gpu_method_quantizes(t) || left_unquantized(t, f)) return plain_storage(t, spec.dtype);
  if (f.fp8_ffn_only) {
    const bool ffn = t.group() == TensorGroup::mlp || t.group() == TensorGroup::experts ||
                     t.group() == TensorGroup::shared_experts;
    const bool edge = t.layer <= 0 || static_cast<std::uint64_t>(t.layer) + 1 >= spec.num_layers;
    if (!ffn || edge || t.mtp) return plain_storage(t, spec.dtype);
  }
  // MXFP4 as gpt-oss ships it: only the routed experts (attention, router, embeddings and
  // head are in modules_to_not_convert); models without experts get every linear layer.
  if (f.kind == FormatKind::mxfp4 && spec.moe && !t.is_routed_expert()) return plain_storage(t, spec.dtype);
  const std::uint64_t k = t.ne0, n = t.ne1, experts = t.ne2;
  const std::uint64_t per_matrix = checked_mul(k, n, "a tensor's size");
  std::uint64_t one = 0; // bytes of one (expert's) matrix
  switch (f.kind) {
  case FormatKind::fp8:
    // weight float8_e4m3fn (N, K) + f32 weight_scale: one per tensor, (N, 1) per channel, or
    // (ceil(N/bn), ceil(K/bk)) per block (vLLM fp8_utils create_fp8_scale_parameter).
    switch (f.fp8_scale) {
    case Fp8Scale::tensor: one = per_matrix + 4; break;
    case Fp8Scale::channel: one = checked_add(per_matrix, checked_mul(n, 4)); break;
    case Fp8Scale::block:
      one = checked_add(per_matrix, checked_mul(ceil_div(n, f.block_n), ceil_div(k, f.block_k)) * 4);
      break;
    }
    break;
  case FormatKind::int_channel:
    // weight int8 (N, K) + weight_scale (N, 1) (compressed-tensors W8A16: model dtype; W8A8: f32).
    one = checked_add(per_matrix, checked_mul(n, f.scale_bytes));
    break;
  case FormatKind::int_group: {
    // qweight: K x bits / 32 int32 words per column; scales fp16 (groups, N); qzeros int32
    // (groups, N x bits / 32); g_idx int32 (K) with act-order (vLLM gptq.py, awq.py;
    // compressed-tensors stores no zeros but a weight_shape int64[2]).
    const std::uint64_t groups = f.group_size == 0 ? 1 : ceil_div(k, f.group_size);
    one = checked_mul(checked_mul(ceil_div(checked_mul(k, f.bits), 32), 4), n);
    one = checked_add(one, checked_mul(groups, checked_mul(n, 2)));
    if (f.zeros) one = checked_add(one, checked_mul(groups, checked_mul(ceil_div(checked_mul(n, f.bits), 32), 4)));
    else one = checked_add(one, 16);
    if (f.act_order) one = checked_add(one, checked_mul(k, 4));
    break;
  }
  case FormatKind::bnb4: {
    // packed 4-bit codes + absmax per 64-block: f32, or (double quantization) uint8 with an
    // f32 per 256 blocks plus an f32 offset and the 256-entry f32 code of the nested
    // quantization; and the 16-entry f32 code (bitsandbytes functional.quantize_4bit).
    const std::uint64_t blocks = ceil_div(per_matrix, 64);
    one = ceil_div(per_matrix, 2) + 16 * 4;
    one = checked_add(one, f.double_quant ? blocks + ceil_div(blocks, 256) * 4 + 4 + 256 * 4 : blocks * 4);
    break;
  }
  case FormatKind::bnb8:
    // Int8Params: CB int8 (N, K) + SCB f32 (N) (bitsandbytes nn.Linear8bitLt).
    one = checked_add(per_matrix, checked_mul(n, 4));
    break;
  case FormatKind::mxfp4:
    // w uint8 (N, K/2) + scale uint8 e8m0 (N, K/32) (vLLM mxfp4.py; OCP MX block of 32).
    one = checked_add(ceil_div(per_matrix, 2), checked_mul(n, ceil_div(k, 32)));
    break;
  case FormatKind::nvfp4:
    // weight uint8 (N, K/2) + weight_scale e4m3 (N, K/16) + weight_scale_2 f32 + input_scale f32
    // (vLLM modelopt.py ModelOptNvFp4LinearMethod).
    one = checked_add(ceil_div(per_matrix, 2), checked_add(checked_mul(n, ceil_div(k, 16)), 8));
    break;
  default: break;
  }
  return {f.dtype, checked_mul(one, experts, "a tensor's size")};
}

// ----- llama.cpp quantization mixes -----------------------------------------------------
// Rules of llama_tensor_get_type() in llama.cpp src/llama-quant.cpp; docs/quantization.md.

bool use_more_bits(std::uint64_t i, std::uint64_t n) {
  return i < n / 8 || i >= 7 * n / 8 || (i >= n / 8 && (i - n / 8) % 3 == 2);
}

bool is_attn_v_like(TensorRole r) { return r == TensorRole::attn_v || r == TensorRole::attn_kv_b; }

bool is_ffn_down(TensorRole r) {
  return r == TensorRole::ffn_down || r == TensorRole::ffn_down_exps || r == TensorRole::ffn_down_shexp;
}
bool is_ffn_gate_or_up(TensorRole r) {
  return r == TensorRole::ffn_gate || r == TensorRole::ffn_gate_exps || r == TensorRole::ffn_gate_shexp ||
         r == TensorRole::ffn_up || r == TensorRole::ffn_up_exps || r == TensorRole::ffn_up_shexp;
}

// Quantizer rules that changed, by the merge date (YYYYMMDD) of the pull request.
constexpr std::uint32_t kquants_v2 = 20230822;   // #2707: Q2_K mostly Q3_K (only attn_q / attn_k Q2_K)
constexpr std::uint32_t q2k_two_bit = 20240112;  // #4897: Q2_K an actual 2-bit mix (today's rules)

struct MixContext {
  GgufFtype ftype;
  Dtype def;
  std::uint32_t release; // the quantizer's build date (YYYYMMDD)
  bool imatrix;
  bool falcon;
  bool type_70b;
  std::uint64_t n_gqa;
  std::uint64_t n_expert;
  std::uint64_t n_layer;
  std::uint64_t n_attention_wv;
  std::uint64_t i_attention_wv = 0;
};

bool in(GgufFtype f, std::initializer_list<GgufFtype> set) {
  return std::find(set.begin(), set.end(), f) != set.end();
}

// The parts of llama_tensor_get_type(), one per kind of tensor; `c.def` is the mix's default
// type, `i` the tensor's layer and `n` the layer count.
using F = GgufFtype;

// The output head (and a tied token embedding, which is the head too).
Dtype output_type(const MixContext& c, const Tensor& t) {
  const F ft = c.ftype;
  if (ft == F::mxfp4_moe) return Dtype::q8_0;
  if (c.falcon || t.ne0 % traits(c.def).block_elems != 0) return Dtype::q8_0;
  if (in(ft, {F::iq2_xxs, F::iq2_xs, F::iq3_xxs, F::iq1_s, F::iq2_s, F::iq2_m, F::iq1_m})) return Dtype::q5_k;
  return c.def != Dtype::q8_0 ? Dtype::q6_k : c.def;
}

Dtype token_embd_type(const MixContext& c) {
  const F ft = c.ftype;
  if (in(ft, {F::iq2_xxs, F::iq2_xs, F::iq1_s, F::iq1_m})) return Dtype::q2_k;
  if (in(ft, {F::iq2_s, F::iq2_m, F::iq3_xxs})) return Dtype::iq3_s;
  if (in(ft, {F::tq1_0, F::tq2_0})) return Dtype::q4_k;
  return c.def;
}

// Q2_K before PR #4897: k-quants (PR #1684) gave attn_v, attn_output and ffn_down Q4_K;
// PR #2707 made every matrix but attn_q and attn_k Q3_K.
Dtype legacy_q2_k_type(const MixContext& c, const Tensor& t, bool v_like) {
  if (v_like && c.type_70b) return Dtype::q5_k;
  if (c.release < kquants_v2) {
    return v_like || t.role == TensorRole::attn_output || is_ffn_down(t.role) ? Dtype::q4_k : c.def;
  }
  return t.role == TensorRole::attn_q || t.role == TensorRole::attn_k ? c.def : Dtype::q3_k;
}

// A fused attn_qkv before PR #19770 (a rule of its own).
Dtype fused_qkv_type(const MixContext& c) {
  const F ft = c.ftype;
  if (in(ft, {F::q3_k_m, F::q3_k_l, F::iq3_m})) return Dtype::q4_k;
  if (ft == F::q4_k_m) return Dtype::q5_k;
  if (ft == F::q5_k_m) return Dtype::q6_k;
  return c.def;
}

bool is_iq2_or_iq1(GgufFtype ft) { return in(ft, {F::iq2_xxs, F::iq2_xs, F::iq1_s, F::iq2_s, F::iq2_m, F::iq1_m}); }

// The 1- and 2-bit IQ mixes.
Dtype iq2_or_iq1_type(MixContext& c, const Tensor& t, bool v_like, std::uint64_t i, std::uint64_t n) {
  const F ft = c.ftype;
  const bool s_or_m = ft == F::iq2_s || ft == F::iq2_m;
  if (v_like) {
    ++c.i_attention_wv;
    return c.n_gqa >= 4 || c.n_expert >= 4 ? Dtype::q4_k : s_or_m ? Dtype::iq3_s : Dtype::q2_k;
  }
  if (t.role == TensorRole::attn_k && c.n_expert == 8) return Dtype::q4_k;
  if (is_ffn_down(t.role)) return i < n / 8 ? (s_or_m ? Dtype::iq3_s : Dtype::q2_k) : c.def;
  if (t.role == TensorRole::attn_output) {
    if (c.n_expert == 8) return Dtype::q5_k;
    if (ft == F::iq1_s || ft == F::iq1_m) return Dtype::iq2_xxs;
    if (s_or_m) return Dtype::iq3_s;
  }
  return c.def;
}

// attn_v and the tensors counted with it (attn_kv_b; attn_qkv since PR #19770).
Dtype attn_v_type(MixContext& c) {
  const F ft = c.ftype;
  Dtype nt = c.def;
  const std::uint64_t iw = c.i_attention_wv++;
  if (ft == F::q2_k) nt = c.n_gqa >= 4 ? Dtype::q4_k : Dtype::q3_k;
  else if (ft == F::q2_k_s && c.n_gqa >= 4) nt = Dtype::q4_k;
  else if (ft == F::iq3_xxs) nt = c.n_gqa >= 4 ? Dtype::q4_k : (c.imatrix ? Dtype::iq3_xxs : Dtype::iq3_s);
  else if ((ft == F::iq3_xs || ft == F::iq3_s) && c.n_gqa >= 4) nt = Dtype::q4_k;
  else if (ft == F::iq3_m) nt = Dtype::q4_k;
  else if (ft == F::q3_k_m) nt = iw < 2 ? Dtype::q5_k : Dtype::q4_k;
  else if (ft == F::q3_k_l) nt = Dtype::q5_k;
  else if ((ft == F::iq4_nl || ft == F::iq4_xs) && c.n_gqa >= 4) nt = Dtype::q5_k;
  else if ((ft == F::q4_k_m || ft == F::q5_k_m) && use_more_bits(iw, c.n_attention_wv)) nt = Dtype::q6_k;
  else if (ft == F::q4_k_s && iw < 4) nt = Dtype::q5_k;
  if (c.type_70b && (nt == Dtype::q3_k || nt == Dtype::q4_k)) nt = Dtype::q5_k;
  if (c.n_expert == 8) nt = Dtype::q8_0;
  return nt;
}

Dtype ffn_down_type(const MixContext& c, std::uint64_t i, std::uint64_t n) {
  const F ft = c.ftype;
  const Dtype nt = c.def;
  if (ft == F::q2_k) return Dtype::q3_k;
  if (ft == F::q2_k_s) return i < n / 8 ? Dtype::q4_k : nt;
  if (ft == F::iq3_xxs && !c.imatrix) return i < n / 8 ? Dtype::q4_k : Dtype::q3_k;
  if (ft == F::q3_k_m) {
    return i < n / 16 ? Dtype::q5_k : (!c.falcon || use_more_bits(i, n)) ? Dtype::q4_k : Dtype::q3_k;
  }
  if (ft == F::iq3_m && (i < n / 8 || (c.n_expert == 8 && use_more_bits(i, n)))) return Dtype::q4_k;
  if (ft == F::iq3_m) return nt;
  if (ft == F::q3_k_l) return c.falcon ? Dtype::q4_k : Dtype::q5_k;
  if (ft == F::q4_k_m) {
    if (c.falcon) return i < n / 16 ? Dtype::q6_k : use_more_bits(i, n) ? Dtype::q5_k : Dtype::q4_k;
    return use_more_bits(i, n) ? Dtype::q6_k : nt;
  }
  if (i < n / 8 && (ft == F::iq4_nl || ft == F::iq4_xs) && !c.imatrix) return Dtype::q5_k;
  if (ft == F::q5_k_m && use_more_bits(i, n)) return Dtype::q6_k;
  if (ft == F::q4_k_s && !c.falcon && i < n / 8) return Dtype::q5_k;
  if ((ft == F::q4_0 || ft == F::q5_0) && c.imatrix && i < n / 8) {
    return ft == F::q4_0 ? Dtype::q4_1 : Dtype::q5_1;
  }
  return nt;
}

Dtype attn_output_type(const MixContext& c) {
  const F ft = c.ftype;
  if (c.falcon) return ft == F::q3_k_l ? Dtype::q4_k : c.def;
  if (c.n_expert == 8) {
    return in(ft, {F::q2_k, F::iq3_xs, F::iq3_xxs, F::q3_k_s, F::q3_k_m, F::iq4_nl, F::q4_k_s, F::q4_k_m, F::iq3_s,
                   F::iq3_m, F::iq4_xs})
               ? Dtype::q5_k
               : c.def;
  }
  if (ft == F::q2_k) return Dtype::q3_k;
  if (ft == F::iq3_xxs) return Dtype::iq3_s;
  if (ft == F::q3_k_m) return Dtype::q4_k;
  if (ft == F::q3_k_l) return Dtype::q5_k;
  if (ft == F::iq3_m) return Dtype::q4_k;
  return c.def;
}

Dtype mix_type_impl(MixContext& c, const Tensor& t, bool output_like) {
  const F ft = c.ftype;
  const std::uint64_t i = t.layer < 0 ? 0 : static_cast<std::uint64_t>(t.layer);
  const std::uint64_t n = c.n_layer;
  if (output_like) return output_type(c, t);
  if (ft == F::mxfp4_moe) return t.ne2 > 1 ? Dtype::mxfp4 : Dtype::q8_0;
  if (t.role == TensorRole::token_embd) return token_embd_type(c);
  // attn_qkv counts among the attn_v-like tensors; since PR #19770 it also gets their types,
  // before it a rule of its own.
  const bool qkv = t.role == TensorRole::attn_qkv;
  const bool qkv_as_v = c.release >= llamacpp_release::qkv_as_attn_v;
  const bool v_like = is_attn_v_like(t.role) || (qkv && qkv_as_v);
  if (ft == F::q2_k && c.release < q2k_two_bit) return legacy_q2_k_type(c, t, v_like);
  if (qkv && !qkv_as_v) return fused_qkv_type(c);
  if (is_iq2_or_iq1(ft)) return iq2_or_iq1_type(c, t, v_like, i, n);
  if (v_like) return attn_v_type(c);
  if (t.role == TensorRole::attn_k) {
    if (c.n_expert == 8) return Dtype::q8_0;
    if (ft == F::iq3_xs) return Dtype::iq3_xxs;
    return ft == F::iq3_xxs ? Dtype::iq2_s : c.def;
  }
  if (t.role == TensorRole::attn_q) {
    if (ft == F::iq3_xs) return Dtype::iq3_xxs;
    return ft == F::iq3_xxs ? Dtype::iq2_s : c.def;
  }
  if (is_ffn_down(t.role)) return ffn_down_type(c, i, n);
  if (t.role == TensorRole::attn_output) return attn_output_type(c);
  if (is_ffn_gate_or_up(t.role) && ft == F::iq3_xs && i >= n / 8 && i < 7 * n / 8) return Dtype::iq3_xxs;
  return c.def;
}

// tensor_type_fallback(): a row length the chosen block does not divide.
Dtype row_fallback(Dtype d, std::uint64_t ne0) {
  if (ne0 % traits(d).block_elems == 0) return d;
  Dtype f = d;
  switch (d) {
  case Dtype::iq1_s: case Dtype::iq1_m: case Dtype::iq2_xxs: case Dtype::iq2_xs: case Dtype::iq2_s:
  case Dtype::iq3_xxs: case Dtype::iq3_s: case Dtype::iq4_xs: f = Dtype::iq4_nl; break;
  case Dtype::q2_k: case Dtype::q3_k: case Dtype::tq1_0: case Dtype::tq2_0: f = Dtype::q4_0; break;
  case Dtype::q4_k: f = Dtype::q5_0; break;
  case Dtype::q5_k: f = Dtype::q5_1; break;
  case Dtype::q6_k: f = Dtype::q8_0; break;
  default: f = Dtype::f16; break;
  }
  return ne0 % traits(f).block_elems == 0 ? f : Dtype::f16;
}

bool is_quantized(Dtype d) { return traits(d).block_elems > 1 || d == Dtype::mxfp4; }

} // namespace

namespace detail {

// Each tensor's type as the mix chooses it, before the row-length fallback.
std::vector<Dtype> gguf_types_chosen(const ModelSpec& spec, std::span<const Tensor> tensors, const WeightFormat& f) {
  MixContext c{};
  c.ftype = f.ftype;
  c.def = f.dtype;
  c.release = f.llamacpp_release == 0 ? llamacpp_release::newest : f.llamacpp_release;
  c.imatrix = f.imatrix;
  c.falcon = spec.arch == "falcon";
  const auto& a = spec.attention;
  c.n_gqa = a.mla ? a.num_heads : (a.num_kv_heads == 0 ? 1 : a.num_heads / a.num_kv_heads);
  c.n_expert = spec.moe ? spec.moe->num_experts : 0;
  c.n_layer = spec.num_layers;
  // llama.cpp names 80-layer GQA llama / qwen2 models LLM_TYPE_70B and gives attn_v more bits.
  c.type_70b = spec.num_layers == 80 && (spec.arch == "llama" || spec.arch == "qwen2") &&
               a.num_heads != a.num_kv_heads;
  for (const Tensor& t : tensors) c.n_attention_wv += is_attn_v_like(t.role) || t.role == TensorRole::attn_qkv ? 1u : 0u;
  // Tensors the converter writes in f16 / bf16 when the mix is a float one.
  const Dtype source = f.ftype == GgufFtype::bf16 ? Dtype::bf16 : Dtype::f16;

  std::vector<Dtype> out;
  out.reserve(tensors.size());
  std::string name;
  const auto holds_v_dot = [&name](const Tensor& t) {
    name.clear();
    t.append_gguf_name(name);
    return name.find("v.") != std::string::npos;
  };
  for (const Tensor& t : tensors) {
    Dtype d;
    if (!t.is_matrix()) {
      // 1-D tensors (norms, biases, sinks) are written in f32 by convert_hf_to_gguf and
      // never quantized. A [hidden, 1] gate is 2-D for the converter but 1-D for ggml.
      d = t.role == TensorRole::ffn_gate_inp_shexp ? source : Dtype::f32;
    } else if (t.role == TensorRole::ffn_gate_inp) {
      d = Dtype::f32; // the MoE router is kept in f32 and excluded from quantization
    } else if (t.role == TensorRole::ssm_conv1d || t.role == TensorRole::ssm_conv1d_q ||
               t.role == TensorRole::ssm_conv1d_k || t.role == TensorRole::ssm_conv1d_v) {
      d = Dtype::f32; // excluded from quantization; the converter writes it in f32
    } else if (!is_quantized(c.def)) {
      d = c.def; // F32 / F16 / BF16 files: every weight in that type
    } else if (f.ollama_v_names_f16 && holds_v_dot(t)) {
      d = Dtype::f16; // skipped by the quantizer: the converter's f16 stays (and counts no attn_v)
    } else {
      const bool output_like = t.role == TensorRole::output ||
                               (t.role == TensorRole::token_embd && spec.tie_word_embeddings);
      d = mix_type_impl(c, t, output_like);
    }
    out.push_back(d);
  }
  return out;
}

// The fallback applies to quantized choices only; a float type has one-element blocks and
// passes through unchanged.
TensorStorage gguf_storage_as(const Tensor& t, Dtype choice) { return plain_storage(t, row_fallback(choice, t.ne0)); }

TensorStorage storage_of(const ModelSpec& spec, const Tensor& t, const WeightFormat& format) {
  if (format.kind == FormatKind::file) {
    if (!format.file) return {spec.dtype, 0};
    // One name buffer for every call: no allocation per tensor.
    thread_local std::string name;
    name.clear();
    t.append_gguf_name(name);
    const auto it = format.file->by_name.find(name);
    if (it == format.file->by_name.end()) return {spec.dtype, 0};
    const FileTensors::Entry& e = it->second;
    // A shard (tensor parallel) takes its share of the stored bytes.
    const std::uint64_t n = t.elements();
    std::uint64_t bytes = e.bytes;
    if (e.elements != 0 && n < e.elements) {
      __extension__ using u128 = unsigned __int128;
      bytes = static_cast<std::uint64_t>((static_cast<u128>(e.bytes) * n + e.elements - 1) / e.elements);
    }
    return {e.dtype, bytes};
  }
  if (t.stored_f32) return plain_storage(t, Dtype::f32);
  return format.kind == FormatKind::plain ? plain_storage(t, format.dtype) : gpu_storage(spec, t, format);
}

bool gguf_choice_holds(const Tensor& unsharded, const Tensor& sharded) {
  // What mix_type_impl and the checks before it read of a tensor's shape: matrix or not,
  // stacked experts or not (MXFP4_MOE), and an output-like tensor's row length.
  return unsharded.is_matrix() == sharded.is_matrix() && (unsharded.ne2 > 1) == (sharded.ne2 > 1) &&
         ((unsharded.role != TensorRole::output && unsharded.role != TensorRole::token_embd) ||
          unsharded.ne0 == sharded.ne0);
}

} // namespace detail

namespace {

std::vector<TensorStorage> gguf_storage(const ModelSpec& spec, std::span<const Tensor> tensors,
                                        const WeightFormat& f) {
  const std::vector<Dtype> choices = detail::gguf_types_chosen(spec, tensors, f);
  std::vector<TensorStorage> out;
  out.reserve(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) out.push_back(detail::gguf_storage_as(tensors[i], choices[i]));
  return out;
}

} // namespace

std::vector<TensorStorage> tensor_storage(const ModelSpec& spec, std::span<const Tensor> tensors,
                                          const WeightFormat& format) {
  if (format.kind == FormatKind::gguf) return gguf_storage(spec, tensors, format);
  std::vector<TensorStorage> out;
  out.reserve(tensors.size());
  for (const Tensor& t : tensors) out.push_back(detail::storage_of(spec, t, format));
  return out;
}

namespace {

// ggml_n_dims(): trailing dimensions of size 1 do not count.
std::uint64_t n_dims(const Tensor& t) { return t.ne2 > 1 ? 3 : t.ne1 > 1 ? 2 : 1; }

// GGUF metadata: general.* and {arch}.* keys, a chat template, and the tokenizer. The
// tokenizer dominates: per token a length-prefixed string (8 + ~7 bytes) and an i32 type;
// SentencePiece vocabularies (32k Llama/Mistral, Gemma) add an f32 score, byte-level BPE
// ones a merge list of about one "a b" string (8 + ~13 bytes) per token. An estimate: the
// real size depends on the token strings (docs/quantization.md says how far off it can be).
std::uint64_t gguf_metadata_estimate(const ModelSpec& spec) {
  const bool spm = spec.tokenizer_spm.value_or(spec.vocab_size <= 32768 || spec.arch.starts_with("gemma"));
  const std::uint64_t merges = spec.tokenizer_merges != 0 ? spec.tokenizer_merges : spec.vocab_size;
  std::uint64_t bytes = 16 * 1024; // keys, values and a chat template
  bytes += spec.vocab_size * (8 + 7 + 4);
  bytes += spm ? spec.vocab_size * 4 : merges * (8 + 13);
  return bytes;
}

} // namespace

namespace detail {

bool weights_drop_vision(const WeightFormat& format) {
  return format.kind == FormatKind::gguf || (format.file && format.file->gguf);
}

std::size_t gguf_name_size(const Tensor& t) {
  // "blk." + layer + "." + role + ".weight" / ".bias", as Tensor::gguf_name() spells it.
  std::size_t n = tensor_role_name(t.role).size() + (t.bias ? 5 : 7);
  if (t.layer >= 0) {
    std::size_t digits = 1;
    for (auto l = static_cast<std::uint32_t>(t.layer); l >= 10; l /= 10) ++digits;
    n += 5 + digits;
  }
  return n;
}

std::uint64_t gguf_tensor_info_bytes(const Tensor& t) {
  // Name (length-prefixed), dimension count, dimensions, type, data offset.
  return 8 + gguf_name_size(t) + 4 + 8 * n_dims(t) + 4 + 8;
}

std::uint64_t gguf_tensor_infos_bytes(std::span<const Tensor> tensors) {
  // Bounded by the tensors' number (names are short): no overflow.
  std::uint64_t bytes = 0;
  for (const Tensor& t : tensors) bytes += gguf_tensor_info_bytes(t);
  return bytes;
}

std::uint64_t gguf_file_bytes(const ModelSpec& spec, std::uint64_t infos_bytes, std::span<const TensorStorage> storage) {
  // header (magic, version, counts) + metadata + tensor infos, padded to the alignment,
  // then each tensor padded to 32 bytes (llama-quantize's GGML_PAD(size, 32)).
  const std::uint64_t header = 4 + 4 + 8 + 8 + gguf_metadata_estimate(spec) + infos_bytes;
  std::uint64_t data = 0;
  for (const TensorStorage& s : storage) data = checked_add(data, round_up(s.bytes, 32), "the file size");
  return checked_add(round_up(header, 32), data, "the file size");
}

std::uint64_t safetensors_file_bytes(const ModelSpec& spec, const WeightFormat& format,
                                     std::span<const Tensor> tensors, std::span<const TensorStorage> storage) {
  // A safetensors checkpoint: the tensors as stored, including the MTP blocks and the vision
  // tower it ships, plus a JSON header of about 100 bytes per stored tensor (a quantized
  // linear layer stores several: weight, scales, zeros, g_idx).
  std::uint64_t bytes = 8, entries = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    bytes = checked_add(bytes, storage[i].bytes, "the file size");
    const bool quantized = format.kind != FormatKind::plain && storage[i].dtype != spec.dtype && !tensors[i].stored_f32;
    entries += quantized ? 3 : 1;
    // GPTQ writers (AutoGPTQ, GPTQModel) store g_idx for every layer even without act-order;
    // vLLM drops it when loading, so it is in the file but not in the weights.
    if (format.kind == FormatKind::int_group && format.zeros && !format.act_order && quantized) {
      bytes = checked_add(bytes, checked_mul(checked_mul(tensors[i].ne0, 4), tensors[i].ne2), "the file size");
    }
  }
  return checked_add(bytes, entries * 100, "the file size");
}

WeightBytes weight_bytes(std::span<const Tensor> tensors, std::span<const TensorStorage> storage,
                         const WeightFormat& format, std::span<const std::uint64_t> times) {
  WeightBytes w;
  constexpr std::size_t n_groups = static_cast<std::size_t>(TensorGroup::other) + 1;
  std::array<GroupBytes, n_groups> groups{};
  // Storage types per group as a bit set over Dtype, listed in Dtype order below.
  std::array<std::uint64_t, n_groups> types{};
  static_assert(dtype_table.size() <= 64, "a Dtype bit set is one uint64");
  std::array<bool, n_groups> present{};
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const std::uint64_t k = i < times.size() ? times[i] : 1;
    if (k == 0) continue; // counted with the layer it repeats
    const TensorGroup group = tensors[i].group();
    const auto g = static_cast<std::size_t>(group);
    const std::uint64_t bytes = checked_mul(storage[i].bytes, k, "the weight size");
    present[g] = true;
    groups[g].group = group;
    groups[g].params = checked_add(groups[g].params, checked_mul(tensors[i].elements(), k, "the parameter count"),
                                   "the parameter count");
    groups[g].bytes = checked_add(groups[g].bytes, bytes, "the weight size");
    types[g] |= std::uint64_t{1} << static_cast<unsigned>(storage[i].dtype);
    w.total = checked_add(w.total, bytes, "the weight size");
    if (tensors[i].is_routed_expert()) w.routed_expert_bytes += bytes;
  }
  if (format.file && format.file->unmatched_count > 0) {
    const auto g = static_cast<std::size_t>(TensorGroup::other);
    present[g] = true;
    groups[g].group = TensorGroup::other;
    groups[g].bytes = format.file->unmatched_bytes;
    w.total = checked_add(w.total, format.file->unmatched_bytes, "the weight size");
  }
  for (std::size_t g = 0; g < n_groups; ++g) {
    if (!present[g]) continue;
    for (unsigned d = 0; d < dtype_table.size(); ++d) {
      if ((types[g] >> d & 1) == 0) continue;
      if (!groups[g].dtypes.empty()) groups[g].dtypes += "+";
      groups[g].dtypes += traits(static_cast<Dtype>(d)).name;
    }
    w.groups.push_back(std::move(groups[g]));
  }
  return w;
}

} // namespace detail

std::uint64_t file_bytes(const ModelSpec& spec, const WeightFormat& format) {
  if (format.kind == FormatKind::file) return format.file ? format.file->file_bytes : 0;
  if (format.kind == FormatKind::gguf) {
    std::vector<Tensor> tensors = model_tensors(spec);
    std::erase_if(tensors, [](const Tensor& t) { return t.group() == TensorGroup::vision; });
    const std::vector<TensorStorage> storage = tensor_storage(spec, tensors, format);
    return detail::gguf_file_bytes(spec, detail::gguf_tensor_infos_bytes(tensors), storage);
  }
  const std::vector<Tensor> tensors = model_tensors(spec, true);
  return detail::safetensors_file_bytes(spec, format, tensors, tensor_storage(spec, tensors, format));
}

WeightBytes weight_bytes(const ModelSpec& spec, const WeightFormat& format) {
  std::vector<Tensor> tensors = model_tensors(spec);
  // A GGUF holds the language model; llama.cpp loads a vision tower from a separate mmproj file.
  if (detail::weights_drop_vision(format)) {
    std::erase_if(tensors, [](const Tensor& t) { return t.group() == TensorGroup::vision; });
  }
  return detail::weight_bytes(tensors, tensor_storage(spec, tensors, format), format);
}

std::span<const GgufFtypeTraits> gguf_ftypes() { return gguf_ftype_table; }

const GgufFtypeTraits* gguf_ftype_by_llama_ftype(std::uint64_t llama_ftype) {
  for (const GgufFtypeTraits& t : gguf_ftype_table) {
    if (t.llama_ftype == llama_ftype) return &t;
  }
  return nullptr;
}

} // namespace vramcalc
