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

// "N bytes (X GiB)".
std::string bytes_and_size(std::uint64_t n, UnitSystem u) { return fmt::format("{} bytes ({})", with_commas(n), format_bytes(n, u)); }

// int(G x 2^30): a flag given in GiB, as the engine reads it.
std::string gib_flag(std::string_view flag, std::uint64_t bytes) {
  return fmt::format("{} {:.6g} \u2192 int({:.6g} \u00d7 2^30) = {} bytes", flag, static_cast<double>(bytes) / 1073741824.0,
                     static_cast<double>(bytes) / 1073741824.0, with_commas(bytes));
}

// What vLLM's options add (--enable-lora, --cpu-offload-gb, --kv-offloading-size, --swap-space)
// and its encoder profiling, from its plan's figures.
std::string engine_steps(const Explanation&, const EngineSection& e, const VllmSection& vllm, UnitSystem u) {
  const VllmResult& v = vllm.plan;
  const VllmOptions& o = vllm.options;
  std::string out;
  if (o.enable_lora) {
    const VllmLora& l = v.lora;
    out += fmt::format("   LoRA (--enable-lora): vLLM preallocates --max-loras {} slots at --max-lora-rank {} in every module it wraps\n"
                       "      one slot: lora_a and lora_b of those modules on this GPU = {} elements\n"
                       "      {} elements \u00d7 {} slot{} \u00d7 {} B (lora_dtype) = {} bytes\n",
                       o.max_loras, o.max_lora_rank, with_commas(l.slot_elems), with_commas(l.slot_elems), o.max_loras,
                       o.max_loras == 1 ? "" : "s", l.lora_dtype_bytes, with_commas(l.slot_bytes));
    if (l.expert_layers > 0) {
      out += fmt::format("      + routed experts' w13 / w2 stacks of {} MoE block{}: {} bytes\n", l.expert_layers,
                         l.expert_layers == 1 ? "" : "s", with_commas(l.expert_bytes));
    }
    if (l.extra_vocab) out += fmt::format("      + the extra vocabulary (before v0.12): {} bytes\n", with_commas(l.extra_vocab_bytes));
    out += fmt::format("      = {}, loaded beside the weights (\"Model loading took\")\n", bytes_and_size(l.total(), u));
  }
  if (o.cpu_offload_bytes != 0) {
    const VllmCpuOffload& c = v.cpu_offload;
    out += fmt::format("   CPU offload (per GPU): {}\n", gib_flag("--cpu-offload-gb", c.budget_bytes));
    out += c.ignored ? std::string("      not applied by this release (its V2 model runner has no offloader)\n")
                     : fmt::format("      whole parameters of the decoder layers, in vLLM's order, until the budget is reached: "
                                   "{} parameters of {} layer{} = {}, pinned in host memory, off this GPU's weights\n",
                                   c.params, c.layers, c.layers == 1 ? "" : "s", bytes_and_size(c.bytes, u));
  }
  if (o.kv_offloading_bytes != 0) {
    out += fmt::format("   KV offloading: {}, a CPU tier of KV blocks{} (all {} rank{}): {} of host memory\n",
                       gib_flag("--kv-offloading-size", o.kv_offloading_bytes), o.kv_offloading_lmcache ? " (LMCache's local CPU cache)" : "",
                       e.tp * e.pp, e.tp * e.pp == 1 ? "" : "s", bytes_and_size(v.kv_offloading_host_bytes, u));
  }
  if (o.swap_space_bytes) {
    out += v.swap_host_bytes == 0
               ? fmt::format("   Swap space: --swap-space {} per GPU: the V1 engine has no CPU swap blocks, nothing in host memory\n",
                             format_bytes(*o.swap_space_bytes, UnitSystem::binary))
               : fmt::format("   Swap space: --swap-space {} per GPU in whole cache blocks, over {} GPU{}: {} of host memory\n",
                             format_bytes(*o.swap_space_bytes, UnitSystem::binary), e.tp * e.pp, e.tp * e.pp == 1 ? "" : "s",
                             bytes_and_size(v.swap_host_bytes, u));
  }
  const VllmEncoder& enc = v.encoder;
  if (enc.profiled) {
    out += fmt::format("   Vision encoder profiling: t = {} tokens per image; budget max(max_num_batched_tokens {}, t) = {} tokens\n"
                       "      items profiled at once: min(budget / t, max_num_seqs \u00d7 items per prompt) = {}\n"
                       "      held outputs: {} items \u00d7 {} rows \u00d7 {} (output width) \u00d7 {} B = {}, in the activation peak\n",
                       with_commas(enc.tokens_per_item), with_commas(v.max_num_batched_tokens), with_commas(enc.budget_tokens),
                       with_commas(enc.items), with_commas(enc.items), with_commas(enc.rows_per_item), with_commas(enc.output_width),
                       enc.dtype_bytes, bytes_and_size(enc.held_bytes, u));
  } else if (enc.has_tower) {
    out += enc.disabled ? fmt::format("   Vision encoder: every modality limit 0, nothing profiled{}\n",
                                      enc.tower_dropped ? fmt::format("; the tower's {} of weights not loaded", format_bytes(enc.tower_bytes, u)) : "")
           : enc.skipped ? std::string("   Vision encoder: --skip-mm-profiling, nothing reserved for its outputs\n")
                         : std::string("   Vision encoder: its profiling is not modelled for this model (no vision facts), nothing counted\n");
  }
  return out;
}

// SGLang's LoRA pool (--enable-lora), from its plan's figures.
std::string engine_steps(const Explanation&, const EngineSection&, const SglangSection& sg, UnitSystem u) {
  const SglangLora& l = sg.plan.lora;
  if (l.rank == 0) return "";
  return fmt::format("   LoRA pool (--enable-lora): --max-loras-per-batch {} slots at rank {}{}, A and B of every layer's target modules\n"
                     "      one slot: {} elements on this GPU; {} \u00d7 {} slot{} \u00d7 {} B = {}, out of the static share before the KV pool\n",
                     sg.options.max_loras_per_batch, l.rank, l.rank_assumed ? " (--max-lora-rank not given: 16 assumed)" : "",
                     with_commas(l.slot_elems), with_commas(l.slot_elems), sg.options.max_loras_per_batch,
                     sg.options.max_loras_per_batch == 1 ? "" : "s", l.elem_bytes, bytes_and_size(l.bytes, u));
}

// llama-server's drafting (-md, --spec-type draft-mtp), from its plan's figures.
std::string llamacpp_draft_steps(const LlamaCppResult& p, UnitSystem u) {
  std::string out;
  if (p.draft) {
    const LlamaCppDraft& d = *p.draft;
    out += fmt::format("   Draft model (-md {}, {}): its weights once, {} bytes; {} context{} of {} cells (cache {} / {}), "
                       "each KV {} + compute {} bytes: {}\n",
                       d.name, d.weights, with_commas(d.weights_bytes), d.contexts, d.contexts == 1 ? "" : "s",
                       with_commas(d.n_ctx), ggml_type_name(d.type_k), ggml_type_name(d.type_v), with_commas(d.kv_bytes),
                       with_commas(d.compute_bytes), bytes_and_size(d.total(), u));
  }
  if (p.mtp) {
    const LlamaCppMtp& m = *p.mtp;
    std::string more;
    if (m.output_bytes > 0) more += fmt::format(" + logits {}", with_commas(m.output_bytes));
    if (m.state_snapshot_bytes > 0) {
      more += fmt::format(" + {} rollback snapshots of the recurrent state {}", m.n_draft, with_commas(m.state_snapshot_bytes));
    }
    out += fmt::format("   MTP drafting (--spec-type draft-mtp, {} draft tokens): {} MTP block{}, {} bytes, among the layers "
                       "(-ngl); one MTP context of {} cells caching {} layer{} (cache {} / {}): KV {} + compute {}{} bytes"
                       "{}: {}\n",
                       m.n_draft, m.layers, m.layers == 1 ? "" : "s", with_commas(m.weights_bytes), with_commas(m.n_ctx),
                       m.kv_layers, m.kv_layers == 1 ? "" : "s", ggml_type_name(m.type_k), ggml_type_name(m.type_v),
                       with_commas(m.kv_bytes), with_commas(m.compute_bytes), more,
                       m.target_caches_mtp ? "; the target's cache holds the MTP blocks too" : "", bytes_and_size(m.total(), u));
  }
  return out;
}

// llama.cpp's adapters, vision projector and -nkvo, from its plan's figures.
std::string engine_steps(const Explanation& x, const EngineSection&, const LlamaCppSection& l, UnitSystem u) {
  const LlamaCppResult& p = l.plan;
  std::string out = llamacpp_draft_steps(p, u);
  if (p.lora_adapters > 0) {
    out += "   LoRA adapters (--lora): lora_a and lora_b of each adapted tensor, in its base tensor's buffer type\n";
    std::uint64_t sum = 0;
    for (std::size_t i = 0, n = 1; i < x.adapters.size(); i += n) {
      const ExplainAdapter& a = x.adapters[i];
      // The same adapter loaded N times (--lora RANKxN) is one line.
      for (n = 1; i + n < x.adapters.size() && x.adapters[i + n].name == a.name && x.adapters[i + n].bytes == a.bytes; ++n) {}
      out += n == 1 ? fmt::format("      {}: {} pairs, {} bytes\n", a.name, with_commas(a.pairs), with_commas(a.bytes))
                    : fmt::format("      {} \u00d7 {}: {} pairs, {} bytes each = {} bytes\n", n, a.name, with_commas(a.pairs),
                                  with_commas(a.bytes), with_commas(a.bytes * n));
      sum += a.bytes * n;
    }
    std::string where;
    for (const LlamaCppDevice& d : p.gpus) {
      if (d.lora_bytes > 0) where += fmt::format("{} {} + ", d.name, with_commas(d.lora_bytes));
    }
    if (p.host.lora_bytes > 0) where += fmt::format("system RAM {} + ", with_commas(p.host.lora_bytes));
    out += fmt::format("      {} bytes in their base tensors' buffers, each tensor padded as a weight: {}= {}\n", with_commas(sum),
                       where.substr(0, where.size() - 2), bytes_and_size(p.lora_bytes, u));
  }
  if (p.mmproj_bytes > 0) {
    const std::string how = !x.mmproj_file.empty()
                                ? fmt::format("{}: {} tensors, {} bytes", x.mmproj_file, x.mmproj_tensors, with_commas(p.mmproj_bytes))
                            : x.mmproj_dtype ? fmt::format("{}: the vision tower's {} parameters \u00d7 {} B = {} bytes",
                                                           traits(*x.mmproj_dtype).name, with_commas(x.report.model.params_vision),
                                                           traits(*x.mmproj_dtype).block_bytes, with_commas(p.mmproj_bytes))
                                             : fmt::format("given as {} bytes", with_commas(p.mmproj_bytes));
    const std::string compute =
        p.mmproj_compute_bytes > 0
            ? fmt::format("its warmup compute buffer, {} bytes with flash attention {} (docs/engines.md, \"Vision projector\"), "
                          "is in that device's compute buffer",
                          with_commas(p.mmproj_compute_bytes), p.flash_attn ? "on" : "off")
            : std::string("its compute buffer is not counted");
    out += fmt::format("   Vision projector (--mmproj {}), one buffer (clip.cpp load_tensors) {}; {}\n", how,
                       p.mmproj_on_gpu ? "on the first GPU" : "in system RAM, --no-mmproj-offload", compute);
  }
  if (x.no_kv_offload) {
    out += fmt::format("   KV cache in system RAM (-nkvo): every layer's cache on the CPU device, {}, none on the GPUs\n",
                       bytes_and_size(p.host.kv_bytes, u));
  }
  return out;
}

// The engine's part: what its options add beyond weights and KV, and its host memory.
std::string render_engine_steps(const Explanation& x, int step, UnitSystem u) {
  if (!x.report.engine) return "";
  const EngineSection& e = *x.report.engine;
  std::string body = std::visit(
      [&](const auto& section) -> std::string {
        if constexpr (requires { engine_steps(x, e, section, u); }) return engine_steps(x, e, section, u);
        else return "";
      },
      e.detail);
  if (e.host_bytes > 0 || e.host_mem_bytes) {
    body += fmt::format("   Host memory (system RAM): {}{}", bytes_and_size(e.host_bytes, u), e.host_what.empty() ? "" : " (" + e.host_what + ")");
    body += !e.host_mem_bytes ? std::string("; not checked without --host-mem\n")
                              : fmt::format("; --host-mem {}: {}\n", bytes_and_size(*e.host_mem_bytes, u), e.host_fits ? "fits" : "does not fit");
  }
  if (body.empty()) body = "   none of its options here adds memory beyond the weights and the KV cache\n";
  return fmt::format("\n{}. {} {} on {}\u00d7 {} (tp {}, pp {}): what it adds beyond weights and KV, per GPU\n"
                     "   (its whole account is the engine section of 'vramcalc MODEL --engine {}')\n{}",
                     step, engine_traits(e.kind()).display, e.version, e.tp * e.pp, e.gpu_name, e.tp, e.pp, e.name(), body);
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

  if (r.images) {
    // The images are part of each request's context: they add tokens, not memory.
    const ImagesWorkload& i = *r.images;
    out += fmt::format("Images: {} per request \u00d7 {} tokens each = {} tokens, within the {}-token context each request's KV "
                       "cache holds below\n\n",
                       with_commas(i.per_request), with_commas(i.image.tokens), with_commas(i.tokens_per_request),
                       with_commas(i.context_tokens));
  }
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
    if (f.decided_by != "generic") {
      out += fmt::format("   on {}\u00d7 {} (tp {}, pp {}) {} decides: {} (step {})\n", f.count, f.gpu_name, f.tp, f.pp,
                         engine_traits(r.engine->kind()).display, f.fits ? "fits" : "does not fit", step);
      continue;
    }
    out += fmt::format("   on {}\u00d7 {} (tp {}, pp {}), the busiest GPU holds weights {} + KV and state {} + overhead {}\n"
                       "      = {} of {} usable: {}\n",
                       f.count,
                       f.gpu_name, f.tp, f.pp, format_bytes(f.busiest_weights_bytes, u),
                       format_bytes(f.busiest_kv_bytes + f.busiest_state_bytes, u), format_bytes(f.overhead_bytes, u),
                       format_bytes(f.required_bytes_per_gpu, u), format_bytes(f.usable_bytes, u),
                       f.fits ? "fits" : "does not fit");
  }
  out += render_engine_steps(e, step, u);
  for (const std::string& n : r.notes) out += "Note: " + n + "\n";
  return out;
}

} // namespace vramcalc
