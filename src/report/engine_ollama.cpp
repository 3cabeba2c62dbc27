// Ollama's renderers: what it asks llama.cpp for and why, its per-GPU reservation, then
// llama.cpp's per-device table (engine_llamacpp.cpp's); its JSON object, its words in the fit
// table and the verdict lines, its check verdict. Found by OllamaSection (engine_ollama.hpp).
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

std::string_view flash_word(FlashAttn f) {
  return f == FlashAttn::on ? "on" : f == FlashAttn::off ? "off" : "auto";
}

std::string runner_name(const OllamaSettings& s) {
  return s.runner == OllamaRunner::llama_server ? "llama-server" : "library";
}

// The GPU with the least room in Ollama's terms (its index), or the count when there is none.
std::size_t busiest_gpu(const OllamaResult& r) {
  std::size_t best = r.llamacpp.gpus.size();
  std::int64_t least = INT64_MAX;
  for (std::size_t i = 0; i < r.llamacpp.gpus.size() && i < r.gpu_totals_bytes.size(); ++i) {
    const std::uint64_t have = r.llamacpp.gpus[i].usable_bytes, need = r.gpu_totals_bytes[i];
    const std::int64_t h = headroom_bytes(have, need);
    if (best == r.llamacpp.gpus.size() || h < least) {
      best = i;
      least = h;
    }
  }
  return best;
}

bool partial(const OllamaResult& r) { return r.llamacpp.error.empty() && !r.fully_offloaded; }

ojson section_json(const EngineSection& e, const OllamaSection& os) {
  const OllamaResult& r = os.plan;
  const OllamaSettings& s = r.settings;
  const LlamaCppResult& p = r.llamacpp;
  ojson out = llamacpp_json_head(e, p);
  out.update(ojson{{"runner", runner_name(s)},
                   {"llamacpp_build", s.llamacpp_build},
                   {"llamacpp_release", s.llamacpp_release},
                   {"weights", os.weights},
                   {"num_ctx", s.num_ctx},
                   {"num_ctx_source", os.num_ctx_source},
                   {"requested_num_ctx", os.requested_num_ctx},
                   {"default_num_ctx", s.default_num_ctx},
                   {"parallel", s.parallel},
                   {"parallel_source", os.parallel_source},
                   {"kv_cache_type", ggml_type_name(s.kv_type)},
                   {"kv_cache_type_source", os.kv_source},
                   {"flash_attention", flash_word(s.flash_attn)},
                   {"flash_attention_source", os.flash_source},
                   {"num_batch", s.num_batch},
                   {"num_gpu", s.num_gpu ? ojson(*s.num_gpu) : ojson(nullptr)},
                   {"minimum_memory_bytes", s.minimum_memory_bytes},
                   {"gpu_overhead_bytes", s.gpu_overhead_bytes},
                   {"layer_buffer_bytes", r.request.layer_buffer_bytes},
                   {"reservation_bytes", r.request.overhead_bytes},
                   {"n_ctx", p.n_ctx},
                   {"n_seq", r.request.n_seq},
                   {"kv_bytes", p.kv_bytes},
                   {"gpu_layers", r.gpu_layers},
                   {"total_layers", os.total_layers},
                   {"fully_offloaded", r.fully_offloaded},
                   {"gpu_totals_bytes", r.gpu_totals_bytes}});
  llamacpp_json_tail(out, e, p);
  return out;
}

} // namespace

std::string engine_status(const EngineSection&, const OllamaSection& os, const std::string&) {
  const OllamaResult& r = os.plan;
  if (!r.llamacpp.error.empty()) return llamacpp_refusal(r.llamacpp);
  if (os.clamped()) return fmt::format("Ollama: context clamped to {}", with_commas(r.settings.num_ctx));
  if (partial(r)) return fmt::format("Ollama: {}/{} layers on GPU", r.gpu_layers, r.model_layers);
  return "";
}

std::string engine_shortfall(const EngineSection&, const OllamaSection& os, const FitRow& f, UnitSystem u) {
  const OllamaResult& r = os.plan;
  if (!r.llamacpp.error.empty()) return llamacpp_refusal(r.llamacpp);
  if (os.clamped()) {
    return fmt::format("Ollama clamps num_ctx {} to the model's trained context, {}", with_commas(os.requested_num_ctx),
                       with_commas(r.settings.num_ctx));
  }
  if (partial(r)) {
    return fmt::format("Ollama offloads {} of {} layers and runs the rest on the CPU", r.gpu_layers, r.model_layers);
  }
  return fmt::format("the busiest GPU needs {}, has {}", format_bytes(f.required_bytes_per_gpu, u),
                     format_bytes(f.usable_bytes, u));
}

std::string engine_room(const EngineSection&, const OllamaSection&, const FitRow& f, UnitSystem u) {
  return fmt::format("{} on the busiest GPU, {} headroom", format_bytes(f.required_bytes_per_gpu, u),
                     format_bytes(static_cast<std::uint64_t>(f.headroom_bytes), u));
}

bool engine_refuses(const OllamaSection& os) { return !os.plan.llamacpp.error.empty() || os.clamped(); }

std::string engine_text(const EngineSection& e, const OllamaSection& os, const RenderOptions& o, const Style& st) {
  const UnitSystem u = o.units;
  const OllamaResult& r = os.plan;
  const OllamaSettings& s = r.settings;
  const LlamaCppResult& p = r.llamacpp;
  const std::size_t n = p.gpus.size();
  const std::string head = detail::wrap(fmt::format("Ollama {} (llama.cpp {} as {})  on {}\u00d7 {}", e.version,
                                                   s.llamacpp_build, runner_name(s), n, e.gpu_name),
                                       o.width, "", "  ");
  std::string out = st.bold("Ollama") + st.dim(head.substr(6, head.size() - 7)) + "\n";
  out += detail::wrap_items({fmt::format("num_ctx {} ({})", with_commas(s.num_ctx), os.num_ctx_source),
                             fmt::format("parallel {} ({})", s.parallel, os.parallel_source),
                             fmt::format("cache {} ({})", ggml_type_name(s.kv_type), os.kv_source),
                             fmt::format("flash attention {} ({})", flash_word(s.flash_attn), os.flash_source),
                             fmt::format("num_batch {}", s.num_batch)},
                            " \u00b7 ", o.width, "  ", "  ");
  const std::string reservation =
      s.runner == OllamaRunner::llama_server
          ? fmt::format("{} per GPU kept free (llama-server's --fit margin)", format_bytes(r.request.overhead_bytes, u))
          : fmt::format("{} per GPU kept free (minimum {} + OLLAMA_GPU_OVERHEAD {} + one layer {})",
                        format_bytes(r.request.overhead_bytes, u), format_bytes(s.minimum_memory_bytes, u),
                        format_bytes(s.gpu_overhead_bytes, u), format_bytes(r.request.layer_buffer_bytes, u));
  out += detail::wrap_items({fmt::format("llama.cpp: -c {} -np {}", with_commas(p.n_ctx), r.request.n_seq), os.weights,
                             fmt::format("{}/{} layers on GPU", r.gpu_layers, os.total_layers), reservation},
                            " \u00b7 ", o.width, "  ", "  ");
  out += detail::wrap(fmt::format("KV cache {} ({} cells)", format_bytes(p.kv_bytes, u), with_commas(p.cells * p.n_stream)),
                      o.width, "  ", "    ");
  out += llamacpp_draft_lines(p, o);
  out += llamacpp_device_table(p, o, st);
  std::string verdict_line;
  if (!p.error.empty()) {
    verdict_line = llamacpp_refusal_line(p, st);
  } else if (os.clamped()) {
    verdict_line = fmt::format("{}: Ollama clamps num_ctx {} to the model's trained context, {}.", st.red("Not the context asked"),
                               with_commas(os.requested_num_ctx), with_commas(s.num_ctx));
  } else if (fits_on_gpus(e)) {
    verdict_line = fmt::format("{} {}\u00d7 {}: {} sequence{} of {} tokens, all {} layers on the GPU.", st.green("Fits on"),
                               n, e.gpu_name, e.batch, e.batch == 1 ? "" : "s", with_commas(e.context_tokens),
                               os.total_layers);
  } else if (partial(r)) {
    verdict_line = fmt::format("{} {}\u00d7 {}: {} of {} layers on the GPU, the rest on the CPU ({} sequence{} of {} tokens).",
                               st.red("DOES NOT FIT whole on"), n, e.gpu_name, r.gpu_layers, os.total_layers, e.batch,
                               e.batch == 1 ? "" : "s", with_commas(e.context_tokens));
  } else {
    const std::size_t i = busiest_gpu(r);
    if (i < n) {
      verdict_line = fmt::format("{} {}\u00d7 {}: {} needs {}, has {} usable.", st.red("DOES NOT FIT on"), n, e.gpu_name,
                                 n == 1 ? std::string("the GPU") : fmt::format("GPU {}", i),
                                 format_bytes(r.gpu_totals_bytes[i], u), format_bytes(p.gpus[i].usable_bytes, u));
    }
  }
  if (!verdict_line.empty()) out += detail::wrap(verdict_line, o.width, "", "  ");
  return out + llamacpp_notes_text("what Ollama keeps free per GPU beyond llama.cpp's buffers (docs/engines.md, \"Ollama\")",
                                   e.notes, o, st);
}

void engine_json(JsonObject& out, const EngineSection& e, const OllamaSection& os) { out.value = section_json(e, os); }

std::vector<std::string*> engine_file_texts(OllamaSection& os) {
  std::vector<std::string*> out{&os.weights};
  llamacpp_file_texts(os.plan.llamacpp, out);
  for (std::string& note : os.plan.settings.notes) out.push_back(&note);
  return out;
}

// Ollama: the GPU with the least room in its terms decides; a partial offload does not fit.
EngineVerdict engine_verdict(const Report& r, const OllamaSection& os, std::uint64_t usable_bytes) {
  const auto u = UnitSystem::binary;
  const OllamaResult& p = os.plan;
  EngineVerdict out;
  out.count = static_cast<std::uint32_t>(p.llamacpp.gpus.size());
  const std::size_t i = busiest_gpu(p);
  if (i < p.llamacpp.gpus.size()) {
    const std::uint64_t have = p.llamacpp.gpus[i].usable_bytes, need = p.gpu_totals_bytes[i];
    out.required_bytes_per_gpu = need;
    out.headroom_bytes = headroom_bytes(have, need);
  }
  out.fits = r.engine->fits;
  out.why = !p.llamacpp.error.empty()
                ? llamacpp_refusal_why(p.llamacpp)
            : os.clamped() ? fmt::format("Ollama clamps num_ctx {} to the model's trained context, {}",
                                         with_commas(os.requested_num_ctx), with_commas(p.settings.num_ctx))
            : partial(p) ? fmt::format("Ollama offloads {} of {} layers, the rest run on the CPU", p.gpu_layers, p.model_layers)
                         : fmt::format("Ollama: {} on the busiest GPU of {} usable", format_bytes(out.required_bytes_per_gpu, u),
                                       format_bytes(usable_bytes, u));
  return out;
}

} // namespace vramcalc::detail
