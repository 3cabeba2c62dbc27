// llama.cpp's renderers: its section of the text report (a row per device), its JSON object,
// its words in the fit table and the verdict lines, its check verdict. Found by
// LlamaCppSection (engine_llamacpp.hpp).
#include "vramcalc/render.hpp"
#include "vramcalc/report.hpp"
#include "vramcalc/units.hpp"
#include "engine_render.hpp"
#include "layout.hpp"
#include "text_table.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace vramcalc::detail {

using ojson = nlohmann::ordered_json;

namespace {

// A device's JSON object: usable, margin and fits only for a GPU.
ojson device_json(const LlamaCppDevice& d, bool gpu, bool lora) {
  ojson j{{"name", d.name}};
  if (gpu) j["usable_bytes"] = d.usable_bytes;
  j["layers"] = d.layers;
  j["output_layer"] = d.output;
  j["model_bytes"] = d.model_bytes;
  if (lora) j["lora_bytes"] = d.lora_bytes; // only with --lora: documents without stay as they were
  j["kv_bytes"] = d.kv_bytes;
  j["compute_bytes"] = d.compute_bytes;
  j["output_buffer_bytes"] = d.output_bytes;
  if (gpu) j["margin_bytes"] = d.overhead_bytes;
  j["total_bytes"] = d.total();
  if (gpu) j["fits"] = d.fits();
  return j;
}

ojson section_json(const EngineSection& e, const LlamaCppSection& l) {
  const LlamaCppResult& p = l.plan;
  ojson out = llamacpp_json_head(e, p);
  out.update(ojson{{"weights", l.weights},
                   {"n_ctx", p.n_ctx},
                   {"n_seq", e.batch},
                   {"kv_unified", l.kv_unified},
                   {"swa_full", l.swa_full},
                   {"n_batch", p.n_batch},
                   {"n_ubatch", p.n_ubatch},
                   {"flash_attn", p.flash_attn},
                   {"cache_type_k", ggml_type_name(p.type_k)},
                   {"cache_type_v", ggml_type_name(p.type_v)},
                   {"n_stream", p.n_stream},
                   {"cells_per_stream", p.cells},
                   {"swa_cells", p.swa_cells},
                   {"kv_bytes", p.kv_bytes},
                   {"state_bytes", p.state_bytes},
                   {"gpu_layers", p.gpu_layers},
                   {"total_layers", l.total_layers},
                   {"app", l.server ? "server" : "library"},
                   {"n_outputs", p.n_outputs}});
  if (p.mmproj_bytes > 0) {
    // Only with --mmproj, so documents without one stay as they were.
    out["mmproj_bytes"] = p.mmproj_bytes;
    out["mmproj_on_gpu"] = p.mmproj_on_gpu;
    // 0 where the tower's clip graph is not modelled.
    out["mmproj_compute_bytes"] = p.mmproj_compute_bytes;
  }
  llamacpp_json_tail(out, e, p);
  return out;
}

} // namespace

ojson llamacpp_json_head(const EngineSection& e, const LlamaCppResult& p) {
  return ojson{{"name", e.name()}, {"version", e.version}, {"gpu", e.gpu}, {"gpus", p.gpus.size()},
               {"context_tokens", e.context_tokens}, {"batch", e.batch}};
}

void llamacpp_json_tail(ojson& out, const EngineSection& e, const LlamaCppResult& p) {
  if (p.draft) {
    // Only with a draft model (-md / --draft, Ollama 0.30+ DRAFT), so documents without one stay as they were.
    const LlamaCppDraft& d = *p.draft;
    out["draft"] = ojson{{"model", d.name},
                         {"weights", d.weights},
                         {"n_ctx", d.n_ctx},
                         {"contexts", d.contexts},
                         {"cache_type_k", ggml_type_name(d.type_k)},
                         {"cache_type_v", ggml_type_name(d.type_v)},
                         {"gpu_layers", d.gpu_layers},
                         {"total_layers", d.total_layers},
                         {"weights_bytes", d.weights_bytes},
                         {"kv_bytes_per_context", d.kv_bytes},
                         {"compute_bytes_per_context", d.compute_bytes},
                         {"total_bytes", d.total()}};
    if (d.mtp_layers > 0) {
      // Only for an MTP drafter (--spec-draft-model under draft-mtp).
      out["draft"]["mtp_layers"] = d.mtp_layers;
      out["draft"]["mtp_kv_layers"] = d.kv_layers;
    }
  }
  // Only with --lora (llama.cpp's, or Ollama's ADAPTER), so documents without stay as they were.
  if (p.lora_adapters > 0) {
    out["lora"] = ojson{{"adapters", p.lora_adapters}, {"rank", p.lora_rank}, {"bytes", p.lora_bytes}};
  }
  if (p.mtp) {
    // Only with --spec-type draft-mtp (llama-server, or Ollama 0.30+ on a model with MTP layers).
    const LlamaCppMtp& m = *p.mtp;
    out["mtp"] = ojson{{"layers", m.layers},
                       {"n_draft", m.n_draft},
                       {"n_ctx", m.n_ctx},
                       {"kv_layers", m.kv_layers},
                       {"target_caches_mtp_layers", m.target_caches_mtp},
                       {"cache_type_k", ggml_type_name(m.type_k)},
                       {"cache_type_v", ggml_type_name(m.type_v)},
                       {"weights_bytes", m.weights_bytes},
                       {"kv_bytes", m.kv_bytes},
                       {"compute_bytes", m.compute_bytes},
                       {"output_bytes", m.output_bytes},
                       {"state_snapshot_bytes", m.state_snapshot_bytes},
                       {"total_bytes", m.total()}};
  }
  ojson devices = ojson::array();
  for (const LlamaCppDevice& d : p.gpus) devices.push_back(device_json(d, true, p.lora_adapters > 0));
  out["devices"] = std::move(devices);
  out["host"] = device_json(p.host, false, p.lora_adapters > 0);
  out["error"] = p.error.empty() ? ojson(nullptr) : ojson(p.error);
  out["aborts"] = p.aborts;
  out["fits"] = e.fits;
  out["notes"] = e.notes;
}

std::string llamacpp_draft_lines(const LlamaCppResult& p, const RenderOptions& o) {
  const UnitSystem u = o.units;
  std::string out;
  if (p.draft) {
    const LlamaCppDraft& d = *p.draft;
    const std::string kind =
        d.mtp_layers == 0 ? std::string("Draft model")
                          : fmt::format("MTP drafter (--spec-draft-model under draft-mtp, {} MTP block{}, its MTP context "
                                        "caching {} layers)",
                                        d.mtp_layers, d.mtp_layers == 1 ? "" : "s", d.kv_layers);
    out += detail::wrap(fmt::format("{} {} ({}, {}/{} layers on GPU): weights {}, {} context{} of {} cells "
                                    "(cache {} / {}) each KV {} + compute {}; {} in all, in the rows below",
                                    kind, d.name, d.weights, d.gpu_layers, d.total_layers, format_bytes(d.weights_bytes, u),
                                    d.contexts, d.contexts == 1 ? "" : "s", with_commas(d.n_ctx),
                                    ggml_type_name(d.type_k), ggml_type_name(d.type_v), format_bytes(d.kv_bytes, u),
                                    format_bytes(d.compute_bytes, u), format_bytes(d.total(), u)),
                        o.width, "  ", "    ");
  }
  if (!p.mtp) return out;
  const LlamaCppMtp& m = *p.mtp;
  return out + detail::wrap(
      fmt::format("MTP drafting (--spec-type draft-mtp, {} draft tokens): {} MTP block{} {}, one MTP context of {} "
                  "cells caching {} layer{} (cache {} / {}) KV {} + compute {}{}; {} in all, in the rows below",
                  m.n_draft, m.layers, m.layers == 1 ? "" : "s", format_bytes(m.weights_bytes, u), with_commas(m.n_ctx),
                  m.kv_layers, m.kv_layers == 1 ? "" : "s", ggml_type_name(m.type_k), ggml_type_name(m.type_v),
                  format_bytes(m.kv_bytes, u), format_bytes(m.compute_bytes, u),
                  m.state_snapshot_bytes > 0 ? fmt::format(", state snapshots {}", format_bytes(m.state_snapshot_bytes, u))
                                             : "",
                  format_bytes(m.total(), u)),
      o.width, "  ", "    ");
}

std::string llamacpp_refusal(const LlamaCppResult& p) {
  return p.aborts ? "llama.cpp would abort" : "llama.cpp refuses"; // not for want of memory
}

std::string llamacpp_refusal_line(const LlamaCppResult& p, const Style& st) {
  return fmt::format("{}: {}.", st.red(p.aborts ? "llama.cpp would abort" : "llama.cpp would refuse this"), p.error);
}

std::string llamacpp_refusal_why(const LlamaCppResult& p) {
  return "llama.cpp would " + std::string(p.aborts ? "abort" : "refuse") + ": " + p.error;
}

std::string llamacpp_notes_text(std::string_view margin, const std::vector<std::string>& notes, const RenderOptions& o,
                                const Style& st) {
  std::string out = st.dim(detail::wrap("Note: the compute buffer is an estimate (within ~3% of measured runs); the margin is " +
                                            std::string(margin) + ".",
                                        o.width, "", "  "));
  for (const std::string& note : notes) out += st.dim(detail::wrap("Note: " + note, o.width, "", "  "));
  return out;
}

void llamacpp_file_texts(LlamaCppResult& p, std::vector<std::string*>& out) {
  out.push_back(&p.error);
  out.push_back(&p.host.name);
  for (LlamaCppDevice& d : p.gpus) out.push_back(&d.name);
}

// The per-device table: a row per GPU and one for system RAM (Ollama's section shows it too).
std::string llamacpp_device_table(const LlamaCppResult& p, const RenderOptions& o, const Style& st) {
  const UnitSystem u = o.units;
  std::string out;
  if (p.lora_adapters > 0) {
    out += detail::wrap(fmt::format("LoRA adapters: {}{}: {}, each pair with its layer's weights (weights column)",
                                    p.lora_adapters, p.lora_rank > 0 ? fmt::format(" of rank {} (f32)", p.lora_rank) : "",
                                    format_bytes(p.lora_bytes, u)),
                        o.width, "  ", "    ");
  }
  const std::size_t n = p.gpus.size();
  using detail::Align;
  detail::Table t({{""}, {"layers", Align::right}, {"weights", Align::right}, {"KV cache", Align::right},
                   {"compute", Align::right}, {"margin", Align::right}, {"total", Align::right},
                   {"usable", Align::right}, {"headroom", Align::right}});
  t.shrink({{detail::Shrink::Kind::drop, 5}, {detail::Shrink::Kind::drop, 4}, {detail::Shrink::Kind::drop, 7}});
  const auto row = [&](const std::string& name, const LlamaCppDevice& d, bool gpu) {
    const std::string layers = std::to_string(d.layers) + (d.output ? "+out" : "");
    const std::int64_t headroom = headroom_bytes(d.usable_bytes, d.total());
    t.row({name, layers, format_bytes(d.model_bytes + d.lora_bytes, u), format_bytes(d.kv_bytes, u),
           format_bytes(d.compute_bytes + d.output_bytes, u), gpu ? format_bytes(d.overhead_bytes, u) : "",
           format_bytes(d.total(), u), gpu ? format_bytes(d.usable_bytes, u) : "",
           gpu ? signed_bytes(headroom, u) : ""});
  };
  for (std::size_t i = 0; i < n; ++i) row(n == 1 ? "GPU" : fmt::format("GPU {}", i), p.gpus[i], true);
  row("system RAM", p.host, false);
  return out + t.render("  ", o.width, [&](std::size_t r, std::size_t col, const std::string& c) {
    if (r == 0) return st.dim(c);
    if (col == 8 && r <= n && !p.gpus[r - 1].fits()) return st.red(c);
    return c;
  });
}

std::string engine_status(const EngineSection&, const LlamaCppSection& l, const std::string&) {
  return l.plan.error.empty() ? "" : llamacpp_refusal(l.plan);
}

std::string engine_shortfall(const EngineSection&, const LlamaCppSection& l, const FitRow& f, UnitSystem u) {
  return !l.plan.error.empty() ? llamacpp_refusal(l.plan)
                               : fmt::format("the busiest GPU needs {}, has {}", format_bytes(f.required_bytes_per_gpu, u),
                                             format_bytes(f.usable_bytes, u));
}

std::string engine_room(const EngineSection&, const LlamaCppSection&, const FitRow& f, UnitSystem u) {
  return fmt::format("{} on the busiest GPU, {} headroom", format_bytes(f.required_bytes_per_gpu, u),
                     format_bytes(static_cast<std::uint64_t>(f.headroom_bytes), u));
}

bool engine_refuses(const LlamaCppSection& l) { return !l.plan.error.empty(); }

std::string engine_text(const EngineSection& e, const LlamaCppSection& l, const RenderOptions& o, const Style& st) {
  const UnitSystem u = o.units;
  const LlamaCppResult& p = l.plan;
  const std::size_t n = p.gpus.size();
  const std::string head = detail::wrap(fmt::format("llama.cpp {} ({})  on {}\u00d7 {}{}", e.version,
                                                   l.server ? "llama-server" : "library", n, e.gpu_name,
                                                   n > 1 ? ", layers split in proportion to memory" : ""),
                                       o.width, "", "  ");
  std::string out = st.bold("llama.cpp") + st.dim(head.substr(9, head.size() - 10)) + "\n";
  std::string cache = fmt::format("{} stream{} \u00d7 {} cells", p.n_stream, p.n_stream == 1 ? "" : "s",
                                  with_commas(p.cells));
  if (p.swa_cells != 0) cache += fmt::format(", sliding-window layers {} cells", with_commas(p.swa_cells));
  out += detail::wrap_items({fmt::format("-c {} -np {}{}{}", with_commas(p.n_ctx), e.batch, l.kv_unified ? " --kv-unified" : "",
                                         l.swa_full ? " --swa-full" : ""),
                             l.weights, fmt::format("cache {} / {}", ggml_type_name(p.type_k), ggml_type_name(p.type_v)),
                             fmt::format("flash attention {}", p.flash_attn ? "on" : "off"),
                             fmt::format("-b {} -ub {}", p.n_batch, p.n_ubatch),
                             fmt::format("{}/{} layers on GPU", p.gpu_layers, l.total_layers)},
                            " \u00b7 ", o.width, "  ", "  ");
  out += detail::wrap(fmt::format("KV cache {} ({}){}", format_bytes(p.kv_bytes, u), cache,
                                  p.state_bytes > 0 ? fmt::format(", recurrent state {}", format_bytes(p.state_bytes, u)) : ""),
                      o.width, "  ", "    ");
  out += llamacpp_draft_lines(p, o);
  out += llamacpp_device_table(p, o, st);
  std::string verdict_line;
  if (!p.error.empty()) {
    verdict_line = llamacpp_refusal_line(p, st) + "\n";
  } else if (fits_on_gpus(e)) {
    verdict_line = fmt::format("{} {}\u00d7 {}: {} sequence{} of {} tokens.\n", st.green("Fits on"), n, e.gpu_name, e.batch,
                       e.batch == 1 ? "" : "s", with_commas(e.context_tokens));
  } else {
    std::size_t short_i = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!p.gpus[i].fits()) {
        short_i = i;
        break;
      }
    }
    const LlamaCppDevice& d = p.gpus[short_i];
    verdict_line = fmt::format("{} {}\u00d7 {}: {} needs {}, has {} usable (short by {}).\n", st.red("DOES NOT FIT on"), n,
                       e.gpu_name, n == 1 ? std::string("the GPU") : fmt::format("GPU {}", short_i),
                       format_bytes(d.total(), u), format_bytes(d.usable_bytes, u),
                       format_bytes(d.total() - d.usable_bytes, u));
  }
  out += detail::wrap(verdict_line.substr(0, verdict_line.size() - 1), o.width, "", "  ");
  return out + llamacpp_notes_text("the memory llama-server's --fit keeps free per GPU (CUDA context, pools)", e.notes, o, st);
}

void engine_json(JsonObject& out, const EngineSection& e, const LlamaCppSection& l) { out.value = section_json(e, l); }

std::vector<std::string*> engine_file_texts(LlamaCppSection& l) {
  std::vector<std::string*> out{&l.weights};
  llamacpp_file_texts(l.plan, out);
  return out;
}

// llama.cpp: the device with the least room decides; its layers are split over the GPUs.
EngineVerdict engine_verdict(const Report& r, const LlamaCppSection& l, std::uint64_t usable_bytes) {
  const auto u = UnitSystem::binary;
  EngineVerdict out;
  out.count = static_cast<std::uint32_t>(l.plan.gpus.size());
  std::int64_t least = INT64_MAX;
  for (const LlamaCppDevice& dev : l.plan.gpus) {
    out.required_bytes_per_gpu = std::max(out.required_bytes_per_gpu, dev.total());
    least = std::min(least, headroom_bytes(dev.usable_bytes, dev.total()));
  }
  out.headroom_bytes = least == INT64_MAX ? 0 : least;
  out.fits = r.engine->fits;
  out.why = !l.plan.error.empty()
                ? llamacpp_refusal_why(l.plan)
                : fmt::format("llama.cpp: {} on the busiest GPU of {} usable", format_bytes(out.required_bytes_per_gpu, u),
                              format_bytes(usable_bytes, u));
  if (l.plan.draft && l.plan.error.empty()) {
    const LlamaCppDraft& d = *l.plan.draft;
    out.why += fmt::format(" (draft model {}: {} with {} context{})", d.name, format_bytes(d.total(), u), d.contexts,
                           d.contexts == 1 ? "" : "s");
  }
  return out;
}

} // namespace vramcalc::detail
