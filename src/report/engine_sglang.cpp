// SGLang's renderers: its section of the text report, its JSON object, its words in the fit
// table and the verdict lines, its check verdict. Found by SglangSection (engine_sglang.hpp).
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

// How many full-length requests SGLang's pools hold, bounded by max_running_requests.
std::uint64_t sglang_holds(std::uint64_t context, const SglangResult& g) {
  if (context == 0) return 0;
  const SglangRequest q = sglang_request(g, context);
  std::uint64_t n = std::min(g.max_total_num_tokens / q.full_tokens, g.max_running_requests);
  if (q.swa_tokens > 0) n = std::min(n, g.swa_max_total_num_tokens / q.swa_tokens);
  return checked_mul(n, std::max<std::uint32_t>(1, g.dp_size)); // each attention-DP rank its own
}
std::uint64_t sglang_holds(const EngineSection& e, const SglangResult& g) { return sglang_holds(e.context_tokens, g); }

ojson section_json(const EngineSection& e, const SglangSection& sglang) {
  const SglangResult& g = sglang.plan;
  ojson j = parallel_engine_json(e);
  j.update(ojson{{"error", g.error.empty() ? ojson(nullptr) : ojson(g.error)},
                 {"gpu_mem_mib", g.gpu_mem_mib},
                 {"chunked_prefill_size", g.chunked_prefill_size},
                 {"cuda_graph_max_bs", g.cuda_graph_max_bs},
                 {"reserved_bytes", g.reserved_bytes},
                 {"mem_fraction_static", static_cast<double>(g.mem_fraction_static_ppm) / 1e6},
                 {"mem_fraction_static_given", g.fraction_given},
                 {"gpu_memory_bytes", g.cuda_memory_bytes},
                 {"gpu_memory_source", g.cuda_memory_source},
                 {"init_bytes", g.init_bytes},
                 {"total_gpu_memory_bytes", g.total_gpu_memory_bytes},
                 {"static_bytes", g.static_bytes},
                 {"weights_bytes", g.weights_bytes},
                 {"rest_bytes", g.rest_bytes},
                 {"cell_bytes", g.cell_bytes},
                 {"page_size", g.page_size},
                 {"max_total_num_tokens", g.max_total_num_tokens},
                 {"kv_pool_bytes", g.kv_pool_bytes},
                 {"context_len", g.context_len},
                 {"max_running_requests", g.max_running_requests},
                 {"starts", g.starts},
                 {"dp_attention", g.dp_attention},
                 {"dp_size", g.dp_size},
                 {"attention_tp", g.attention_tp},
                 {"dp_attention_extra_weights_bytes", g.dp_attention_extra_weights_bytes},
                 {"hybrid_swa", g.hybrid_swa},
                 {"full_layers", g.full_layers},
                 {"swa_layers", g.swa_layers},
                 {"swa_full_tokens_ratio", static_cast<double>(g.swa_full_tokens_ratio_ppm) / 1e6},
                 {"layer_cell_bytes", g.layer_cell_bytes},
                 {"full_max_total_num_tokens", g.full_max_total_num_tokens},
                 {"swa_max_total_num_tokens", g.swa_max_total_num_tokens},
                 {"hybrid_linear", g.hybrid_linear},
                 {"mamba_cache_per_req_bytes", g.mamba_cache_per_req_bytes},
                 {"max_mamba_cache_size", g.max_mamba_cache_size},
                 {"mamba_pool_bytes", g.mamba_pool_bytes},
                 {"mamba_spec_bytes", g.mamba_spec_bytes},
                 {"speculative_algorithm", g.speculative == SglangSpeculative::none
                                               ? ojson(nullptr)
                                               : ojson(std::string(sglang_speculative_name(g.speculative)))},
                 {"draft_model", g.draft_model.empty() ? ojson(nullptr) : ojson(g.draft_model)},
                 {"speculative_num_steps", g.speculative_num_steps},
                 {"speculative_eagle_topk", g.speculative_eagle_topk},
                 {"speculative_num_draft_tokens", g.speculative_num_draft_tokens},
                 {"profiled_tokens", g.profiled_tokens},
                 {"spec_headroom_tokens", g.spec_headroom_tokens},
                 {"draft_layers", g.draft_layers},
                 {"draft_cell_bytes", g.draft_cell_bytes},
                 {"draft_weights_bytes", g.draft_weights_bytes},
                 {"draft_kv_pool_bytes", g.draft_kv_pool_bytes},
                 {"beyond_static_bytes", g.beyond_static_bytes},
                 {"outside_static_bytes", g.outside_static_bytes},
                 {"fits", e.fits},
                 {"notes", e.notes}});
  // Only for a refusal, so other documents stay as they were: whether SGLang itself refuses.
  if (!g.error.empty()) j["sglang_refuses"] = g.refused;
  if (sglang.options.cpu_offload_bytes != 0) {
    // Only with --cpu-offload-gb, so documents without it stay as they were.
    j["cpu_offload_bytes"] = g.cpu_offload.bytes;
    j["cpu_offload"] = cpu_offload_json(g.cpu_offload);
  }
  if (g.lora.rank != 0) {
    // Only with LoRA on, so documents without it stay as they were.
    j["lora_bytes"] = g.lora.bytes;
    j["lora"] = ojson{{"max_loras_per_batch", sglang.options.max_loras_per_batch},
                      {"max_lora_rank", g.lora.rank},
                      {"rank_assumed", g.lora.rank_assumed},
                      {"elem_bytes", g.lora.elem_bytes},
                      {"unmodelled_moe_layers", g.lora.moe_layers},
                      {"unmodelled_mla_layers", g.lora.mla_layers}};
  }
  return j;
}

} // namespace

std::string engine_status(const EngineSection&, const SglangSection& s, const std::string& needs) {
  if (!s.plan.error.empty()) return s.plan.refused ? "SGLang would not start" : "SGLang: not modelled";
  if (!s.plan.starts) return "SGLang would not start" + needs;
  return "";
}

std::string engine_shortfall(const EngineSection& e, const SglangSection& s, const FitRow&, UnitSystem) {
  const SglangResult& g = s.plan;
  return !g.error.empty() ? (g.refused ? "SGLang would not start: " + g.error : "SGLang: not modelled")
         : !g.starts      ? "SGLang would not start"
                          : fmt::format("holds {} requests of {} tokens, {} asked", sglang_holds(e, g),
                                        with_commas(e.context_tokens), e.batch);
}

std::string engine_room(const EngineSection& e, const SglangSection& s, const FitRow&, UnitSystem) {
  return fmt::format("room for {} requests of {} tokens, {} asked", sglang_holds(e, s.plan), with_commas(e.context_tokens),
                     e.batch);
}

bool engine_refuses(const SglangSection& s) { return !s.plan.error.empty(); }

std::string engine_text(const EngineSection& e, const SglangSection& s, const RenderOptions& o, const Style& st) {
  const UnitSystem u = o.units;
  const SglangResult& g = s.plan;
  std::string out = st.bold(fmt::format("SGLang {}", e.version)) +
                    st.dim(fmt::format("  on {}\u00d7 {} (tp {}, pp {}), per GPU", e.tp * e.pp, e.gpu_name, e.tp, e.pp)) + "\n";
  if (!g.error.empty()) {
    out += detail::wrap(fmt::format("{}: {}.", st.red(g.refused ? "SGLang would not start" : "Not modelled"), g.error),
                        o.width, "", "  ");
    for (const std::string& n : e.notes) out += st.dim(detail::wrap("Note: " + n, o.width, "", "  "));
    return out;
  }
  detail::Table t({{""}, {"", detail::Align::right}, {"", detail::Align::left, true}});
  const std::string fraction = fmt::format("{:.6g}", static_cast<double>(g.mem_fraction_static_ppm) / 1e6);
  t.row({"mem_fraction_static", fraction,
         g.fraction_given ? std::string("given with --mem-fraction-static")
                          : fmt::format("({} MiB \u2212 reserved {}{} MiB) / {} MiB; chunked prefill {}, CUDA graph bs {}",
                                        with_commas(g.gpu_mem_mib), with_commas(g.reserved_bytes >> 20),
                                        (g.reserved_bytes >> 19) % 2 != 0 ? ".5" : "", with_commas(g.gpu_mem_mib),
                                        g.chunked_prefill_size == 0 ? std::string("off") : std::to_string(g.chunked_prefill_size),
                                        g.cuda_graph_max_bs)});
  t.row({"free before the weights", format_bytes(g.total_gpu_memory_bytes, u),
         fmt::format("{} CUDA total \u2212 {} context", format_bytes(g.cuda_memory_bytes, u), format_bytes(g.init_bytes, u))});
  t.row({"\u00d7 fraction = static", format_bytes(g.static_bytes, u), "weights + KV pool"});
  t.row({"\u2212 weights", format_bytes(g.weights_bytes, u),
         g.dp_attention ? fmt::format("this GPU's shards; attention at tp {} (DP attention {}), {} more", g.attention_tp,
                                      g.dp_size, format_bytes(g.dp_attention_extra_weights_bytes, u))
                        : std::string("this GPU's shards")});
  if (s.options.cpu_offload_bytes != 0) {
    t.row({"  (in host memory)", format_bytes(g.cpu_offload.bytes, u),
           fmt::format("--cpu-offload-gb {}: {} parameters of {} layers, pinned; the largest layer's {}",
                       format_bytes(g.cpu_offload.budget_bytes, UnitSystem::binary), g.cpu_offload.params,
                       g.cpu_offload.layers, format_bytes(g.cpu_offload.largest_layer_bytes, u))});
  }
  if (g.lora.rank != 0) {
    t.row({"\u2212 LoRA pool", format_bytes(g.lora.bytes, u),
           fmt::format("{} slots \u00d7 rank {}{}, {} bytes per element", s.options.max_loras_per_batch, g.lora.rank,
                       g.lora.rank_assumed ? " (assumed)" : "", g.lora.elem_bytes)});
  }
  t.row({"= KV pool memory", g.rest_bytes < 0 ? signed_bytes(g.rest_bytes, u) : format_bytes(static_cast<std::uint64_t>(g.rest_bytes), u),
         ""});
  if (g.hybrid_linear) {
    t.row({"\u2212 Mamba state", format_bytes(g.mamba_pool_bytes, u),
           fmt::format("{} slots \u00d7 {} ({})", with_commas(g.max_mamba_cache_size), format_bytes_auto(g.mamba_cache_per_req_bytes, u),
                       g.mamba_size_given ? "given" : "mamba_full_memory_ratio")});
    if (g.mamba_spec_bytes > 0) t.row({"\u2212 draft states", format_bytes(g.mamba_spec_bytes, u), "speculative intermediate states"});
  }
  t.row({"cell size", format_bytes_auto(g.cell_bytes, u),
         g.hybrid_linear ? std::string("KV bytes per token on this GPU, attention layers only")
                         : std::string("KV bytes per token on this GPU")});
  if (g.spec_headroom_tokens > 0) {
    t.row({"profiled tokens", with_commas(g.profiled_tokens),
           fmt::format("+ {} speculative headroom (draft and verify tokens of {} requests, + 100)",
                       with_commas(g.spec_headroom_tokens), g.max_running_requests)});
  }
  t.row({"max_total_num_tokens", with_commas(g.max_total_num_tokens),
         g.hybrid_swa ? fmt::format("full-attention layers ({}); whole pages of {}", g.full_layers, g.page_size)
         : g.page_size > 1 ? fmt::format("whole pages of {} tokens", g.page_size)
                           : std::string()});
  if (g.hybrid_swa) {
    t.row({"swa_max_total_num_tokens", with_commas(g.swa_max_total_num_tokens),
           fmt::format("sliding layers ({}), {:g} \u00d7 full", g.swa_layers, static_cast<double>(g.swa_full_tokens_ratio_ppm) / 1e6)});
  }
  t.row({"max_running_requests", with_commas(g.max_running_requests),
         g.hybrid_linear ? std::string("at most a third of the state slots") : std::string()});
  if (g.speculative != SglangSpeculative::none) {
    t.row({"speculative", std::string(sglang_speculative_name(g.speculative)),
           fmt::format("steps {}, topk {}, draft tokens {}{}", g.speculative_num_steps, g.speculative_eagle_topk,
                       g.speculative_num_draft_tokens,
                       g.draft_layers == 0 ? std::string()
                       : g.draft_model.empty() ? fmt::format("; draft: the model's {} MTP layer(s)", g.draft_layers)
                                               : "; draft: " + g.draft_model)});
    if (g.draft_layers > 0) {
      t.row({"draft weights", format_bytes(g.draft_weights_bytes, u), "past the static share"});
      t.row({"draft KV pool", format_bytes(g.draft_kv_pool_bytes, u),
             fmt::format("{} tokens \u00d7 {}", with_commas(g.max_total_num_tokens), format_bytes_auto(g.draft_cell_bytes, u))});
    }
  }
  if (g.beyond_static_bytes > 0) {
    t.row({"past the static share", format_bytes(g.beyond_static_bytes, u),
           fmt::format("of {} the static share leaves", format_bytes(g.outside_static_bytes, u))});
  }
  const std::string rows = t.render("  ", o.width, [&](std::size_t, std::size_t col, const std::string& c) { return col == 2 ? st.dim(c) : c; });
  out += rows.substr(rows.find('\n') + 1); // no header row
  std::string verdict;
  if (!g.starts && g.max_total_num_tokens > 0) {
    verdict = fmt::format("{}: what it allocates past its static share ({}) is more than the {} left beside it",
                          st.red("SGLang would not start"), format_bytes(g.beyond_static_bytes, u),
                          format_bytes(g.outside_static_bytes, u));
  } else if (!g.starts) {
    verdict = fmt::format("{}: the weights take {} of the {} static share, no token of KV cache is left (\"Not enough "
                          "memory. Please try to increase --mem-fraction-static.\")",
                          st.red("SGLang would not start"), format_bytes(g.weights_bytes, u), format_bytes(g.static_bytes, u));
  } else if (fits_on_gpus(e)) {
    verdict = fmt::format("{}: room for {} requests of {} tokens; {} asked.", st.green("SGLang starts"), sglang_holds(e, g),
                          with_commas(e.context_tokens), e.batch);
  } else {
    verdict = fmt::format("{}, but holds {} requests of {} tokens at once, fewer than the {} asked; the rest queue.",
                          st.red("SGLang starts"), sglang_holds(e, g), with_commas(e.context_tokens), e.batch);
  }
  out += detail::wrap(verdict, o.width, "", "  ");
  for (const std::string& n : e.notes) out += st.dim(detail::wrap("Note: " + n, o.width, "", "  "));
  return out;
}

void engine_json(JsonObject& out, const EngineSection& e, const SglangSection& s) { out.value = section_json(e, s); }

std::vector<std::string*> engine_file_texts(SglangSection& s) { return {&s.plan.cuda_memory_source, &s.plan.error}; }

// SGLang holds its static share (weights + KV pool); what it leaves over is the pool beyond
// `batch` full-length requests.
EngineVerdict engine_verdict(const Report& r, const SglangSection& s, std::uint64_t) {
  const SglangResult& g = s.plan;
  const auto u = UnitSystem::binary;
  const std::uint64_t need =
      checked_mul(sglang_rank_batch(g, r.settings.batch), sglang_request(g, r.settings.context_tokens).bytes);
  const std::uint64_t holds = sglang_holds(r.settings.context_tokens, g);
  EngineVerdict out;
  out.required_bytes_per_gpu = checked_add(g.static_bytes, g.beyond_static_bytes);
  out.headroom_bytes = headroom_bytes(g.kv_pool_bytes, need);
  out.fits = r.engine->fits;
  out.headroom_name = "spare KV pool";
  out.why = !g.error.empty() ? (g.refused ? "SGLang would not start: " : "SGLang: ") + g.error
            : !g.starts && g.max_total_num_tokens > 0
                ? fmt::format("SGLang would not start: {} past its static share, {} left beside it",
                              format_bytes(g.beyond_static_bytes, u), format_bytes(g.outside_static_bytes, u))
            : !g.starts ? fmt::format("SGLang would not start: weights {} per GPU leave nothing of its static share {} "
                                      "(mem_fraction_static {:g}) for the KV pool",
                                      format_bytes(g.weights_bytes, u), format_bytes(g.static_bytes, u),
                                      static_cast<double>(g.mem_fraction_static_ppm) / 1e6)
            : !r.engine->fits ? fmt::format("SGLang holds {} requests of {} tokens, {} asked", holds,
                                          with_commas(r.settings.context_tokens), r.settings.batch)
                              : fmt::format("SGLang starts; {} requests of {} tokens fit, {} asked", holds,
                                            with_commas(r.settings.context_tokens), r.settings.batch);
  return out;
}

} // namespace vramcalc::detail
