// TensorRT-LLM's renderers: its section of the text report, its JSON object, its words in the
// fit table and the verdict lines, its check verdict. Found by TrtllmSection (engine_trtllm.hpp).
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

std::string fraction_text(std::uint32_t ppm) { return fmt::format("{:.6g}", static_cast<double>(ppm) / 1e6); }

// Why it does not hold the requests asked, in its terms ("" when it does).
std::string shortfall(const EngineSection& e, const TrtllmSection& s, UnitSystem u) {
  const TrtllmResult& g = s.plan;
  if (!g.error.empty()) return "TensorRT-LLM: not modelled";
  if (g.peak_bytes > g.device_total_bytes) {
    return fmt::format("TensorRT-LLM would not start: its profiled peak {} is over the device's {}",
                       format_bytes(g.peak_bytes, u), format_bytes(g.device_total_bytes, u));
  }
  if (!g.starts) return "TensorRT-LLM would not start: not one KV block";
  if (e.context_tokens > g.max_seq_len_final) {
    return fmt::format("runs with max_seq_len {}, under the {} tokens asked", with_commas(g.max_seq_len_final),
                       with_commas(e.context_tokens));
  }
  return fmt::format("holds {} requests of {} tokens{}, {} asked", with_commas(s.holds_requests), with_commas(e.context_tokens),
                     s.holds_requests == g.max_batch_size ? " (max_batch_size)" : "", e.batch);
}

ojson section_json(const EngineSection& e, const TrtllmSection& s) {
  const TrtllmResult& g = s.plan;
  ojson j = parallel_engine_json(e);
  j.update(ojson{{"error", g.error.empty() ? ojson(nullptr) : ojson(g.error)},
                 {"device_total_bytes", g.device_total_bytes},
                 {"device_total_source", g.device_total_source},
                 {"free_gpu_memory_fraction", static_cast<double>(g.fraction_ppm) / 1e6},
                 {"max_batch_size", g.max_batch_size},
                 {"max_num_tokens", g.max_num_tokens},
                 {"max_seq_len", g.max_seq_len},
                 {"tokens_per_block", g.tokens_per_block},
                 {"longest_prompt_tokens", g.longest_prompt_tokens},
                 {"cuda_graph_batch_sizes", g.cuda_graph_batch_sizes},
                 {"estimation_requests", g.estimation_requests},
                 {"estimation_tokens", g.estimation_tokens},
                 {"estimation_kv_bytes", g.estimation_kv_bytes},
                 {"weights_bytes", g.weights_bytes},
                 {"activation_bytes", g.activation_bytes},
                 {"activation_given", g.activation_given},
                 {"non_torch_bytes", g.non_torch_bytes},
                 {"non_torch_given", g.non_torch_given},
                 {"cuda_graph_bytes", g.cuda_graph_bytes},
                 {"peak_bytes", g.peak_bytes},
                 {"kv_budget_bytes", g.kv_budget_bytes},
                 {"estimate_bytes_per_token", g.estimate_bytes_per_token},
                 {"bytes_per_token", g.bytes_per_token},
                 {"max_tokens", g.max_tokens},
                 {"max_tokens_given", g.max_tokens_given},
                 {"free_cap_tokens", g.free_cap_tokens},
                 {"blocks", g.blocks},
                 {"kv_tokens", g.kv_tokens},
                 {"kv_cache_bytes", g.kv_cache_bytes},
                 {"max_seq_len_final", g.max_seq_len_final},
                 {"max_seq_len_reduced", g.max_seq_len_reduced},
                 {"holds_requests", s.holds_requests},
                 {"spec_mode", g.spec_mode.empty() ? ojson(nullptr) : ojson(g.spec_mode)},
                 {"spec_max_draft_len", g.spec_max_draft_len},
                 {"spec_layers", g.spec_layers},
                 {"spec_extra_kv_tokens", g.spec_extra_kv_tokens},
                 {"spec_weights_bytes", g.spec_weights_bytes},
                 {"spec_layer_bytes_per_token", g.spec_layer_bytes_per_token},
                 {"spec_draft_model", g.spec_draft_model.empty() ? ojson(nullptr) : ojson(g.spec_draft_model)},
                 {"spec_separate_pool", g.spec_separate_pool},
                 {"draft_kv_tokens", g.draft_kv_tokens},
                 {"draft_kv_cache_bytes", g.draft_kv_cache_bytes},
                 {"spec_buffer_bytes", g.spec_buffer_bytes},
                 {"request_kv_tokens", trtllm_request_tokens(g, e.context_tokens)},
                 {"starts", g.starts},
                 {"fits", e.fits},
                 {"notes", e.notes}});
  return j;
}

} // namespace

std::string engine_status(const EngineSection&, const TrtllmSection& s, const std::string& needs) {
  if (!s.plan.error.empty()) return "TensorRT-LLM: not modelled";
  if (!s.plan.starts) return "TensorRT-LLM would not start" + needs;
  return "";
}

std::string engine_shortfall(const EngineSection& e, const TrtllmSection& s, const FitRow&, UnitSystem u) {
  return shortfall(e, s, u);
}

std::string engine_room(const EngineSection& e, const TrtllmSection& s, const FitRow&, UnitSystem) {
  return fmt::format("room for {} requests of {} tokens, {} asked", with_commas(s.holds_requests), with_commas(e.context_tokens), e.batch);
}

bool engine_refuses(const TrtllmSection& s) { return !s.plan.error.empty(); }

std::string engine_text(const EngineSection& e, const TrtllmSection& s, const RenderOptions& o, const Style& st) {
  const UnitSystem u = o.units;
  const TrtllmResult& g = s.plan;
  std::string out = st.bold(fmt::format("TensorRT-LLM {}", e.version)) +
                    st.dim(fmt::format("  PyTorch backend on {}\u00d7 {} (tp {}, pp {}), per GPU", e.tp * e.pp, e.gpu_name,
                                       e.tp, e.pp)) +
                    "\n";
  if (!g.error.empty()) {
    out += detail::wrap(fmt::format("{}: {}.", st.red("Not modelled"), g.error), o.width, "", "  ");
    for (const std::string& n : e.notes) out += st.dim(detail::wrap("Note: " + n, o.width, "", "  "));
    return out;
  }
  const auto estimated = [](bool given) { return given ? std::string(" (given)") : std::string(" (estimated)"); };
  detail::Table t({{""}, {"", detail::Align::right}, {"", detail::Align::left, true}});
  t.row({"device total", format_bytes(g.device_total_bytes, u), "CUDA's total (cudaMemGetInfo)"});
  t.row({"weights", format_bytes(g.weights_bytes, u),
         g.spec_mode.empty() ? std::string("this GPU's shards")
         : !g.spec_draft_model.empty()
             ? fmt::format("this GPU's shards, {} of them the {} ({})", format_bytes(g.spec_weights_bytes, u),
                           g.spec_mode == "Eagle3" ? "EAGLE-3 head" : "draft model", g.spec_draft_model)
             : fmt::format("this GPU's shards, {} of them the {} MTP layer{}", format_bytes(g.spec_weights_bytes, u),
                           g.spec_layers == 1 && g.spec_mode == "MTP Eagle" ? std::string("one") : std::to_string(g.spec_layers),
                           g.spec_layers == 1 ? "" : "s")});
  if (g.spec_buffer_bytes != 0) {
    t.row({"draft buffers", format_bytes(g.spec_buffer_bytes, u), "the target's hidden states the EAGLE-3 head reads"});
  }
  t.row({"profiling KV cache", format_bytes(g.estimation_kv_bytes, u),
         fmt::format("{} tokens for {} dummy request{} of max_num_tokens {}", with_commas(g.estimation_tokens),
                     g.estimation_requests, g.estimation_requests == 1 ? "" : "s", with_commas(g.max_num_tokens))});
  t.row({"activations", format_bytes(g.activation_bytes, u), "the profiling run, inside torch" + estimated(g.activation_given)});
  t.row({"outside torch", format_bytes(g.non_torch_bytes, u),
         g.non_torch_given ? std::string("given with --overhead")
                           : fmt::format("CUDA context, workspaces{}; CUDA graphs {} ({} batch sizes{}){}",
                                         e.tp * e.pp > 1 ? ", NCCL" : "", format_bytes(g.cuda_graph_bytes, u),
                                         g.cuda_graph_batch_sizes.size(),
                                         g.cuda_graph_batch_sizes.empty()
                                             ? std::string()
                                             : " up to " + with_commas(g.cuda_graph_batch_sizes.back()),
                                         estimated(false))});
  t.row({"= profiled peak", format_bytes(g.peak_bytes, u), "torch's peak + outside torch"});
  t.row({"KV budget", format_bytes(g.kv_budget_bytes, u),
         fmt::format("{} \u00d7 (device total \u2212 peak + profiling KV cache)", fraction_text(g.fraction_ppm))});
  t.row({"kv size", format_bytes_auto(g.estimate_bytes_per_token, u),
         g.spec_mode.empty() ? std::string("per token, as the budget counts it")
                             : fmt::format("per token, as the budget counts it; {} of it the {} spec layer{}",
                                           format_bytes_auto(g.spec_layer_bytes_per_token, u), g.spec_layers,
                                           g.spec_layers == 1 ? "" : "s")});
  t.row({"max_tokens", with_commas(g.max_tokens),
         g.max_tokens_given ? std::string("budget // kv size, at most the max_tokens given") : std::string("budget // kv size")});
  t.row({"blocks", with_commas(g.blocks),
         fmt::format("{}{}{}: {} tokens", g.release == TrtllmRelease::v1_1 ? "ceil(tokens / " : "tokens // ", g.tokens_per_block,
                     g.release == TrtllmRelease::v1_1 ? ")" : "", with_commas(g.kv_tokens))});
  t.row({"KV cache", format_bytes(g.kv_cache_bytes, u),
         g.spec_separate_pool && !g.spec_mode.empty()
             ? fmt::format("{} tokens \u00d7 {} bytes, the draft's own pool {} tokens \u00d7 {} bytes", with_commas(g.kv_tokens),
                           with_commas(g.bytes_per_token - g.spec_layer_bytes_per_token), with_commas(g.draft_kv_tokens),
                           with_commas(g.spec_layer_bytes_per_token))
             : fmt::format("{} tokens \u00d7 {} bytes on this GPU", with_commas(g.kv_tokens), with_commas(g.bytes_per_token))});
  t.row({"max_seq_len", with_commas(g.max_seq_len_final),
         g.max_seq_len_reduced ? fmt::format("adjusted from {}: the pool holds less", with_commas(g.max_seq_len))
                               : std::string()});
  t.row({"max_batch_size", with_commas(g.max_batch_size), ""});
  if (!g.spec_mode.empty()) {
    t.row({"speculative", g.spec_mode,
           fmt::format("max_draft_len {}, + {} extra KV tokens: a request holds {} tokens", g.spec_max_draft_len,
                       g.spec_extra_kv_tokens, with_commas(trtllm_request_tokens(g, e.context_tokens)))});
  }
  const std::string rows = t.render("  ", o.width, [&](std::size_t, std::size_t col, const std::string& c) { return col == 2 ? st.dim(c) : c; });
  out += rows.substr(rows.find('\n') + 1); // no header row
  std::string verdict;
  if (g.peak_bytes > g.device_total_bytes) {
    verdict = fmt::format("{}: the profiling run's peak {} is over the device's {} (out of memory before the KV "
                          "cache is sized).",
                          st.red("TensorRT-LLM would not start"), format_bytes(g.peak_bytes, u),
                          format_bytes(g.device_total_bytes, u));
  } else if (!g.starts) {
    verdict = fmt::format("{}: the KV budget holds not one block of {} tokens (\"Impossible to fit in any sequence in "
                          "kvCache\").",
                          st.red("TensorRT-LLM would not start"), g.tokens_per_block);
  } else if (fits_on_gpus(e)) {
    verdict = fmt::format("{}: room for {} requests of {} tokens; {} asked.", st.green("TensorRT-LLM starts"),
                          with_commas(s.holds_requests), with_commas(e.context_tokens), e.batch);
  } else {
    verdict = fmt::format("{}, but {}.", st.red("TensorRT-LLM starts"), shortfall(e, s, u));
  }
  out += detail::wrap(verdict, o.width, "", "  ");
  for (const std::string& n : e.notes) out += st.dim(detail::wrap("Note: " + n, o.width, "", "  "));
  return out;
}

void engine_json(JsonObject& out, const EngineSection& e, const TrtllmSection& s) { out.value = section_json(e, s); }

std::vector<std::string*> engine_file_texts(TrtllmSection& s) { return {&s.plan.device_total_source, &s.plan.error}; }

// TensorRT-LLM holds its weights, what stays outside torch and its pool; what it leaves over
// is the pool beyond `batch` full-length requests, in whole blocks.
EngineVerdict engine_verdict(const Report& r, const TrtllmSection& s, std::uint64_t) {
  const TrtllmResult& g = s.plan;
  const auto u = UnitSystem::binary;
  const std::uint64_t per_request = trtllm_request_tokens(g, r.settings.context_tokens);
  const std::uint64_t need = checked_mul(checked_mul(r.settings.batch, per_request), g.bytes_per_token);
  EngineVerdict out;
  out.required_bytes_per_gpu = checked_add(checked_add(checked_add(g.weights_bytes, g.spec_buffer_bytes), g.activation_bytes),
                                           checked_add(g.non_torch_bytes, need));
  out.headroom_bytes = headroom_bytes(g.kv_cache_bytes, need);
  out.fits = r.engine->fits;
  out.headroom_name = "spare KV pool";
  const EngineSection& e = *r.engine;
  const auto named = [](const std::string& why) {
    return why.starts_with("TensorRT-LLM") ? why : "TensorRT-LLM" + std::string(why.starts_with("holds") || why.starts_with("runs") ? " " : ": ") + why;
  };
  out.why = !g.error.empty() ? named(g.error)
            : !e.fits        ? named(shortfall(e, s, u))
                             : fmt::format("TensorRT-LLM starts; {} requests of {} tokens fit, {} asked", with_commas(s.holds_requests),
                                           with_commas(r.settings.context_tokens), r.settings.batch);
  return out;
}

} // namespace vramcalc::detail
