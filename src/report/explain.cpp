// `vramcalc explain`: the arithmetic, step by step, with the numbers substituted.
#include "vramcalc/explain.hpp"
#include "vramcalc/render.hpp"
#include "safe_text.hpp"

#include <fmt/format.h>

namespace vramcalc {

namespace {

std::string shape(const ExplainTensor& t) {
  std::string s = with_commas(t.ne0);
  if (t.ne1 > 1) s += " \u00d7 " + with_commas(t.ne1);
  if (t.ne2 > 1) s += " \u00d7 " + with_commas(t.ne2);
  return s;
}

// One row of `n` elements of `dtype`, as arithmetic: "1,024 × 2 B = 2,048 B", or for a block
// type "1,024 / 32 blocks × 34 B = 1,088 B".
std::string row_arithmetic(std::uint64_t n, Dtype dtype) {
  const auto& tr = traits(dtype);
  if (tr.block_elems == 1) return fmt::format("{} \u00d7 {} B = {} B", with_commas(n), tr.block_bytes, with_commas(row_bytes(dtype, n)));
  return fmt::format("\u2308{} / {}\u2309 blocks \u00d7 {} B = {} B", with_commas(n), tr.block_elems, tr.block_bytes,
                     with_commas(row_bytes(dtype, n)));
}

std::string kind_name(const ExplainKvGroup& g) {
  switch (g.kind) {
  case AttentionKind::full: return g.mla_rank != 0 ? "MLA" : "full-attention";
  case AttentionKind::sliding: return fmt::format("sliding-window ({} tokens)", with_commas(g.window));
  case AttentionKind::chunked: return fmt::format("chunked ({} tokens)", with_commas(g.window));
  case AttentionKind::none: return "recurrent";
  }
  return "?";
}

} // namespace

std::string render_explain(const Explanation& given, const RenderOptions& o) {
  const Explanation e = detail::terminal_view(given);
  const UnitSystem u = o.units;
  const Report& r = e.report;
  const SettingsSummary& s = r.settings;
  const MemorySummary& m = r.memory;
  std::string out = fmt::format("{}  ({})\n  weights {} \u00b7 KV cache {} \u00b7 context {} tokens \u00b7 batch {}\n\n",
                                r.model.name, r.model.id, s.quant, s.kv_display, with_commas(s.context_tokens), s.batch);

  out += "1. Weights: every tensor, elements \u00d7 bytes per element of its type\n"
         "   (block types: rows \u00d7 \u2308row / block elements\u2309 \u00d7 block bytes; quantized formats add their scales)\n";
  std::uint64_t sum = 0;
  for (const ExplainTensor& t : e.tensors) {
    const auto& tr = traits(t.dtype);
    const std::uint64_t rows = t.ne1 * t.ne2;
    const std::uint64_t plain = row_bytes(t.dtype, t.ne0) * rows;
    std::string how = tr.block_elems == 1
                          ? fmt::format("{} \u00d7 {} B", with_commas(t.ne0 * rows), tr.block_bytes)
                          : fmt::format("{} rows \u00d7 {} blocks \u00d7 {} B", with_commas(rows),
                                        with_commas((t.ne0 + tr.block_elems - 1) / tr.block_elems), tr.block_bytes);
    if (t.bytes_each != plain) {
      how += fmt::format(" + {} B of scales", with_commas(t.bytes_each > plain ? t.bytes_each - plain : 0));
    }
    out += fmt::format("   {:<28} {:>26} {:<9} {} = {}{}\n", t.name, shape(t), tr.name, how, with_commas(t.bytes_each),
                       t.count > 1 ? fmt::format("  \u00d7 {} = {}", t.count, with_commas(t.bytes_each * t.count)) : "");
    sum += t.bytes_each * t.count;
  }
  out += fmt::format("   = {} bytes ({}){}\n\n", with_commas(sum), format_bytes(sum, u),
                     sum != m.weights_bytes ? fmt::format(", plus {} bytes of the files' other tensors",
                                                          with_commas(m.weights_bytes - sum))
                                            : "");

  out += "2. KV cache: per token and layer, K and V of each KV head (MLA: one latent), then \u00d7 tokens held \u00d7 sequences\n";
  for (const ExplainKvGroup& g : e.kv) {
    const Dtype d = e.kv_dtype;
    std::string per_token;
    if (g.mla_rank != 0) {
      per_token = fmt::format("one latent of {} + {} (RoPE key) elements at {}: {}", g.mla_rank, g.mla_rope, s.kv_display,
                              row_arithmetic(g.mla_rank + g.mla_rope, d));
    } else if (g.head_dim_k == g.head_dim_v) {
      per_token = fmt::format("K and V, each {} KV heads \u00d7 {} = {} elements at {}: {}; \u00d7 2 = {} B", g.kv_heads,
                              g.head_dim_k, with_commas(g.kv_heads * g.head_dim_k), s.kv_display,
                              row_arithmetic(g.kv_heads * g.head_dim_k, d), with_commas(g.bytes_per_token));
    } else {
      per_token = fmt::format("K {} KV heads \u00d7 {} at {}: {}; V {} \u00d7 {}: {}; together {} B", g.kv_heads,
                              g.head_dim_k, s.kv_display, row_arithmetic(g.kv_heads * g.head_dim_k, d), g.kv_heads,
                              g.head_dim_v, row_arithmetic(g.kv_heads * g.head_dim_v, d), with_commas(g.bytes_per_token));
    }
    std::string held = g.tokens_held == s.context_tokens
                           ? with_commas(g.tokens_held)
                           : fmt::format("{} (of {})", with_commas(g.tokens_held), with_commas(s.context_tokens));
    out += fmt::format("   {} {} layer{}: {}\n      \u00d7 {} tokens \u00d7 {} sequence{} \u00d7 {} layer{} = {} bytes ({})\n",
                       g.layers, kind_name(g), g.layers == 1 ? "" : "s", per_token, held, s.batch, s.batch == 1 ? "" : "s",
                       g.layers, g.layers == 1 ? "" : "s", with_commas(g.bytes), format_bytes(g.bytes, u));
  }
  if (e.kv.empty()) out += "   no attention layers: no KV cache\n";
  out += fmt::format("   = {} bytes ({}); {}/token over all layers\n", with_commas(m.kv_cache_bytes),
                     format_bytes(m.kv_cache_bytes, u), format_bytes_auto(m.kv_bytes_per_token, u));
  if (m.kv_naive_bytes && *m.kv_naive_bytes != m.kv_cache_bytes && m.kv_cache_bytes > 0) {
    out += fmt::format("   (2 \u00d7 layers \u00d7 attention heads \u00d7 head_dim \u00d7 tokens would say {}: {:.1f}\u00d7 too much)\n",
                       format_bytes(*m.kv_naive_bytes, u),
                       static_cast<double>(*m.kv_naive_bytes) / static_cast<double>(m.kv_cache_bytes));
  }
  out += "\n";

  int step = 3;
  if (e.state_layers > 0) {
    out += fmt::format("{}. Recurrent state: fixed per sequence, whatever the context (docs/memory-model.md)\n"
                       "   per layer: convolution {} + recurrent state {} = {} B\n"
                       "   {} layers \u00d7 {} B \u00d7 {} sequence{} = {} bytes ({})\n\n",
                       step++, row_arithmetic(e.state.conv, e.state.dtype), row_arithmetic(e.state.ssm, e.state.ssm_dtype),
                       with_commas(e.state_bytes_per_layer), e.state_layers, with_commas(e.state_bytes_per_layer), s.batch, s.batch == 1 ? "" : "s",
                       with_commas(m.state_bytes), format_bytes(m.state_bytes, u));
  }
  std::string draft_term;
  if (m.draft) {
    const DraftSummary& d = *m.draft;
    out += fmt::format("{}. Draft model (speculative decoding): {} in {}, its own weights and KV cache for the same "
                       "context and sequences\n   weights {} + KV cache {} = {} bytes ({})\n\n",
                       step++, d.model, d.quant, with_commas(d.weights_bytes), with_commas(d.kv_cache_bytes),
                       with_commas(d.weights_bytes + d.kv_cache_bytes), format_bytes(d.weights_bytes + d.kv_cache_bytes, u));
    draft_term = " + " + with_commas(d.weights_bytes + d.kv_cache_bytes);
  }
  out += fmt::format("{}. Runtime overhead: {} per GPU (CUDA context, allocator, activations; docs/memory-model.md)\n\n",
                     step++, format_bytes(m.overhead_bytes, u));
  out += fmt::format("{}. Total on one GPU = {} + {} + {}{} + {} = {} bytes ({})\n", step++, with_commas(m.weights_bytes),
                     with_commas(m.kv_cache_bytes), with_commas(m.state_bytes), draft_term, with_commas(m.overhead_bytes),
                     with_commas(m.total_bytes), format_bytes(m.total_bytes, u));
  for (const FitRow& f : r.fit) {
    if (!f.requested || !f.problem.empty()) continue;
    out += fmt::format("   on {}\u00d7 {} (tp {}, pp {}), the busiest GPU holds weights {} + KV and state {} + overhead {}\n"
                       "      = {} of {} usable: {}\n",
                       f.count,
                       f.gpu_name, f.tp, f.pp, format_bytes(f.busiest_weights_bytes, u),
                       format_bytes(f.busiest_kv_bytes + f.busiest_state_bytes, u), format_bytes(f.overhead_bytes, u),
                       format_bytes(f.required_bytes_per_gpu, u), format_bytes(f.usable_bytes, u),
                       f.fits ? "fits" : "does not fit");
  }
  for (const std::string& n : r.notes) out += "Note: " + n + "\n";
  return out;
}

} // namespace vramcalc
