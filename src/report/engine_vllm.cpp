// vLLM's renderers: its section of the text report, its JSON object, its words in the fit
// table and the verdict lines, its check verdict. Found by VllmSection (engine_vllm.hpp).
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

ojson section_json(const EngineSection& e, const VllmSection& vllm) {
  const VllmResult& v = vllm.plan;
  ojson j = parallel_engine_json(e);
  j.update(ojson{{"gpu_memory_bytes", v.gpu_memory_bytes},
                 {"gpu_memory_source", v.gpu_memory_source},
                 {"gpu_memory_utilization", static_cast<double>(v.utilization_ppm) / 1e6},
                 {"requested_bytes", v.requested_bytes},
                 {"stage", v.stage},
                 {"weights_bytes", v.weights_bytes},
                 {"activation_bytes", v.activation_bytes},
                 {"non_torch_bytes", v.non_torch_bytes},
                 {"cuda_graph_bytes", v.cuda_graph_bytes},
                 {"kv_cache_memory_bytes", v.kv_cache_memory_bytes},
                 {"kv_budget_bytes", v.kv_budget_bytes},
                 {"max_num_seqs", v.max_num_seqs},
                 {"max_num_batched_tokens", v.max_num_batched_tokens},
                 {"block_size", v.block_size},
                 {"page_bytes", v.page_bytes},
                 {"kv_cache_groups", v.num_groups},
                 {"num_gpu_blocks", v.num_gpu_blocks},
                 {"kv_cache_tokens", v.kv_cache_tokens},
                 {"max_concurrency", v.max_concurrency},
                 {"needed_bytes", v.needed_bytes},
                 {"starts", v.starts},
                 {"max_model_len_fit", v.max_model_len_fit},
                 {"fits", e.fits},
                 {"notes", e.notes}});
  if (vllm.options.cpu_offload_bytes != 0) {
    // Only with --cpu-offload-gb, so documents without it stay as they were.
    const VllmCpuOffload& c = v.cpu_offload;
    j["cpu_offload_bytes"] = c.bytes;
    j["cpu_offload"] = cpu_offload_json(c);
  }
  // The host's parts beside the offloaded weights, when there are any.
  if (vllm.options.kv_offloading_bytes != 0) j["kv_offloading_host_bytes"] = v.kv_offloading_host_bytes;
  if (v.swap_host_bytes != 0 || vllm.options.swap_space_bytes) j["swap_host_bytes"] = v.swap_host_bytes;
  if (v.encoder.has_tower) {
    // Only for a model with a vision tower, so text-only documents stay as they were.
    const VllmEncoder& enc = v.encoder;
    j["encoder"] = ojson{{"modelled", enc.modelled},
                         {"profiled", enc.profiled},
                         {"disabled", enc.disabled},
                         {"skipped", enc.skipped},
                         {"tower_dropped", enc.tower_dropped},
                         {"tower_bytes", enc.tower_bytes},
                         {"tokens_per_item", enc.tokens_per_item},
                         {"budget_tokens", enc.budget_tokens},
                         {"items", enc.items},
                         {"rows_per_item", enc.rows_per_item},
                         {"output_width", enc.output_width},
                         {"held_bytes", enc.held_bytes}};
  }
  if (vllm.options.enable_lora) {
    // Only with --enable-lora, so documents without LoRA stay as they were.
    const VllmOptions& o = vllm.options;
    const VllmLora& l = v.lora;
    ojson modules = ojson::array();
    static constexpr std::pair<std::uint32_t, const char*> names[] = {
        {vllm_lora_qkv_proj, "qkv_proj"},   {vllm_lora_o_proj, "o_proj"},         {vllm_lora_gate_up_proj, "gate_up_proj"},
        {vllm_lora_down_proj, "down_proj"}, {vllm_lora_embed_tokens, "embed_tokens"}, {vllm_lora_lm_head, "lm_head"},
        {vllm_lora_experts, "experts"},     {vllm_lora_gate, "gate"},             {vllm_lora_fused_qkv_a_proj, "fused_qkv_a_proj"},
        {vllm_lora_q_b_proj, "q_b_proj"},   {vllm_lora_kv_b_proj, "kv_b_proj"}, {vllm_lora_q_proj, "q_proj"}};
    for (const auto& [bit, name] : names) {
      if ((l.modules & bit) != 0) modules.push_back(name);
    }
    j["lora_bytes"] = l.total();
    j["lora"] = ojson{{"max_loras", o.max_loras},
                      {"max_lora_rank", o.max_lora_rank},
                      {"max_cpu_loras", o.max_cpu_loras != 0 ? o.max_cpu_loras : o.max_loras},
                      {"fully_sharded_loras", o.fully_sharded_loras},
                      {"target_modules", modules},
                      {"lora_dtype_bytes", l.lora_dtype_bytes},
                      {"slot_bytes", l.slot_bytes},
                      {"extra_vocab_bytes", l.extra_vocab_bytes},
                      {"expert_bytes", l.expert_bytes},
                      {"expert_layers", l.expert_layers},
                      {"experts_3d", l.experts_3d},
                      {"unmodelled_moe_layers", l.moe_layers},
                      {"unmodelled_mla_layers", l.mla_layers},
                      {"unmodelled_recurrent_layers", l.recurrent_layers}};
  }
  if (v.speculative.active()) {
    // Only with --speculative-config, so documents without it stay as they were.
    const VllmSpecDecode& sd = v.speculative;
    j["speculative_bytes"] = sd.weights_bytes;
    j["speculative"] = ojson{{"method", sd.method_name},
                             {"model", vllm.options.speculative.model},
                             {"num_speculative_tokens", sd.num_speculative_tokens},
                             {"lookahead_tokens", sd.lookahead_tokens},
                             {"draft_tensor_parallel_size", sd.draft_tp},
                             {"weights_bytes", sd.weights_bytes},
                             {"kv_layers", sd.kv_layers},
                             {"kv_bytes_per_token", sd.kv_bytes_per_token},
                             {"request_bytes_with_lookahead", sd.request_bytes_with_lookahead},
                             {"runtime_concurrency", sd.runtime_concurrency},
                             {"derived_head", sd.derived_head}};
  }
  return j;
}

// Requests of max_model_len the cache holds while running: vLLM's "Maximum concurrency", or
// with speculative decoding the figure with its lookahead slots.
double held(const VllmResult& v) {
  return v.speculative.request_blocks_with_lookahead != 0 ? v.speculative.runtime_concurrency : v.max_concurrency;
}

} // namespace

// vLLM's refusal of LoRA for a large vocabulary, in its words.
static std::string lora_refusal(const VllmResult& v) {
  return fmt::format("vLLM refuses LoRA: the vocabulary is above {}", with_commas(v.lora.refused_vocab_above));
}

std::string engine_status(const EngineSection&, const VllmSection& v, const std::string& needs) {
  if (v.plan.lora.refused_vocab_above != 0) return "vLLM refuses LoRA";
  return v.plan.starts ? "" : "vLLM would not start" + needs;
}

std::string engine_shortfall(const EngineSection& e, const VllmSection& vllm, const FitRow&, UnitSystem) {
  const VllmResult& v = vllm.plan;
  if (v.lora.refused_vocab_above != 0) return lora_refusal(v);
  return !v.starts ? "vLLM would not start"
                   : fmt::format("holds {:.2f} requests of {} tokens, {} asked", held(v),
                                 with_commas(e.context_tokens), e.batch);
}

std::string engine_room(const EngineSection& e, const VllmSection& v, const FitRow&, UnitSystem) {
  return fmt::format("room for {:.2f} requests of {} tokens, {} asked", held(v.plan), with_commas(e.context_tokens),
                     e.batch);
}

bool engine_refuses(const VllmSection& v) { return v.plan.lora.refused_vocab_above != 0; }

std::string engine_text(const EngineSection& e, const VllmSection& vllm, const RenderOptions& o, const Style& st) {
  const UnitSystem u = o.units;
  const VllmResult& v = vllm.plan;
  const std::string head = detail::wrap(fmt::format("on {}\u00d7 {} (tp {}, pp {}), per GPU{}", e.tp * e.pp, e.gpu_name, e.tp, e.pp,
                                                   e.pp > 1 ? fmt::format(" of stage {} (the fewest blocks)", v.stage) : ""),
                                       o.width, std::string(e.version.size() + 7, ' '), "  ");
  std::string out = st.bold(fmt::format("vLLM {}", e.version)) + st.dim(head.substr(e.version.size() + 5, head.size() - e.version.size() - 6)) + "\n";
  detail::Table t({{""}, {"", detail::Align::right}, {"", detail::Align::left, true}});
  if (v.kv_memory_given) {
    t.row({"KV cache memory", format_bytes(v.kv_cache_memory_bytes, u), "given with --kv-cache-memory"});
  } else {
    t.row({"GPU memory \u00d7 utilization", format_bytes(v.requested_bytes, u),
           fmt::format("{} \u00d7 {:.6g}, the total CUDA reports", format_bytes(v.gpu_memory_bytes, u),
                       static_cast<double>(v.utilization_ppm) / 1e6)});
    t.row({"\u2212 weights", format_bytes(v.weights_bytes, u), "this GPU's shards, rotary cache, padded vocabulary"});
    if (vllm.options.cpu_offload_bytes != 0) {
      const VllmCpuOffload& c = v.cpu_offload;
      t.row({"  (in host memory)", format_bytes(c.bytes, u),
             c.ignored ? std::string("--cpu-offload-gb: not applied by this release")
                       : fmt::format("--cpu-offload-gb {}: {} parameters of {} layers, pinned",
                                     format_bytes(c.budget_bytes, UnitSystem::binary), c.params, c.layers)});
    }
    if (vllm.options.enable_lora) {
      const VllmOptions& lo = vllm.options;
      t.row({"\u2212 LoRA slots", format_bytes(v.lora.total(), u),
             fmt::format("{} \u00d7 rank {}, {} bytes per element{}{}{}", lo.max_loras, lo.max_lora_rank,
                         v.lora.lora_dtype_bytes,
                         v.lora.expert_layers > 0 ? fmt::format(", experts {}", format_bytes(v.lora.expert_bytes, u)) : "",
                         v.lora.extra_vocab ? fmt::format(", extra vocabulary {}", format_bytes(v.lora.extra_vocab_bytes, u)) : "",
                         lo.fully_sharded_loras ? ", fully sharded" : "")});
    }
    if (v.speculative.active() && v.speculative.weights_bytes > 0) {
      const VllmSpecDecode& sd = v.speculative;
      t.row({"\u2212 drafter weights", format_bytes(sd.weights_bytes, u),
             fmt::format("{}{}", sd.method_name, sd.draft_tp != e.tp ? fmt::format(", draft tp {}", sd.draft_tp) : "")});
    }
    t.row({"\u2212 activation peak", format_bytes(v.activation_bytes, u),
           fmt::format("profile run: {} tokens, sampler for {} sequences", with_commas(v.max_num_batched_tokens),
                       with_commas(std::min(v.max_num_seqs, v.max_num_batched_tokens)))});
    if (v.encoder.profiled) {
      const VllmEncoder& enc = v.encoder;
      t.row({"  (encoder cache)", format_bytes(enc.held_bytes, u),
             fmt::format("budget {} tokens, profiled with {} image items ({} \u00d7 {} rows \u00d7 {})", with_commas(enc.budget_tokens),
                         with_commas(enc.items), with_commas(enc.items), with_commas(enc.rows_per_item),
                         with_commas(enc.output_width))});
    }
    t.row({"\u2212 non-torch", format_bytes(v.non_torch_bytes, u), "NCCL and library workspaces"});
    if (v.cuda_graph_bytes > 0) {
      t.row({"\u2212 CUDA graphs", format_bytes(v.cuda_graph_bytes, u), "estimate, in the budget since v0.21"});
    }
    // Negative when the rest takes more than vLLM may use: say how far below zero.
    t.row({"= KV cache memory", v.kv_budget_bytes < 0 ? signed_bytes(v.kv_budget_bytes, u) : format_bytes(v.kv_cache_memory_bytes, u),
           "\"Available KV cache memory\""});
  }
  t.row({"GPU blocks", with_commas(v.num_gpu_blocks),
         fmt::format("{} tokens each{}; page {} \u00d7 {} layers{}", v.block_size,
                     v.widest_block_size > v.block_size
                         ? fmt::format(" ({} in the layers of smaller pages)", v.widest_block_size)
                         : "",
                     format_bytes_auto(v.page_bytes, u),
                     v.group_size, v.num_groups > 1 ? fmt::format(", {} groups", v.num_groups) : "")});
  t.row({"GPU KV cache size", with_commas(v.kv_cache_tokens) + " tokens", ""});
  if (v.speculative.active()) {
    const VllmSpecDecode& sd = v.speculative;
    t.row({"Speculative", fmt::format("{} tokens", sd.num_speculative_tokens),
           fmt::format("{}: {} drafter layer{} in the cache ({}/token){}", sd.method_name, sd.kv_layers,
                       sd.kv_layers == 1 ? "" : "s", format_bytes_auto(sd.kv_bytes_per_token, u),
                       sd.lookahead_tokens > 0 ? fmt::format(", {} lookahead slots per request", sd.lookahead_tokens)
                                               : "")});
  }
  t.row({"Maximum concurrency", fmt::format("{:.2f}\u00d7", v.max_concurrency),
         fmt::format("for {} tokens per request", with_commas(e.context_tokens))});
  const std::string rows = t.render("  ", o.width, [&](std::size_t, std::size_t col, const std::string& c) { return col == 2 ? st.dim(c) : c; });
  out += rows.substr(rows.find('\n') + 1); // no header row
  std::string verdict_line;
  if (v.lora.refused_vocab_above != 0) {
    verdict_line = st.red(lora_refusal(v)) + ".\n";
  } else if (!v.starts && !v.kv_memory_given && v.kv_budget_bytes < 0) {
    verdict_line = fmt::format("{}: the weights, activation peak and the rest take {} more than the {} vLLM may use, so the "
                       "KV cache budget is {} and no --max-model-len starts.\n",
                       st.red("vLLM would not start"), format_bytes(static_cast<std::uint64_t>(-(v.kv_budget_bytes + 1)) + 1, u),
                       format_bytes(v.requested_bytes, u), signed_bytes(v.kv_budget_bytes, u));
  } else if (!v.starts) {
    verdict_line = fmt::format("{}: one {}-token request needs {} of KV cache, {} is available; ", st.red("vLLM would not start"),
                       with_commas(e.context_tokens), format_bytes(v.needed_bytes, u),
                       format_bytes(v.kv_cache_memory_bytes, u));
    verdict_line += v.max_model_len_fit == 0
               ? std::string("no --max-model-len starts.\n")
               : fmt::format("vLLM's \"estimated maximum model length\" is {}, the largest --max-model-len that "
                             "starts.\n",
                             with_commas(v.max_model_len_fit));
  } else if (fits_on_gpus(e)) {
    verdict_line = fmt::format("{}: room for {:.2f} requests of {} tokens; {} asked.\n", st.green("vLLM starts"),
                       held(v), with_commas(e.context_tokens), e.batch);
  } else {
    verdict_line = fmt::format("{}, but holds {:.2f} requests of {} tokens at once, fewer than the {} asked; the rest queue.\n",
                       st.red("vLLM starts"), held(v), with_commas(e.context_tokens), e.batch);
  }
  // The engine's own verdict, in lines that fit the terminal.
  out += detail::wrap(verdict_line.substr(0, verdict_line.size() - 1), o.width, "", "  ");
  for (const std::string& n : e.notes) out += st.dim(detail::wrap("Note: " + n, o.width, "", "  "));
  return out;
}

void engine_json(JsonObject& out, const EngineSection& e, const VllmSection& v) { out.value = section_json(e, v); }

ojson cpu_offload_json(const CpuOffload& c) {
  return ojson{{"budget_bytes", c.budget_bytes},
               {"params", c.params},
               {"layers", c.layers},
               {"largest_layer_bytes", c.largest_layer_bytes},
               {"ignored", c.ignored}};
}

std::vector<std::string*> engine_file_texts(VllmSection& v) { return {&v.plan.gpu_memory_source}; }

// vLLM needs its share of the GPU (its memory request); what it leaves over is the KV
// memory beyond `batch` full-length requests.
EngineVerdict engine_verdict(const Report& r, const VllmSection& vllm, std::uint64_t) {
  const VllmResult& v = vllm.plan;
  const auto u = UnitSystem::binary;
  const std::uint64_t need = checked_mul(
      v.speculative.request_blocks_with_lookahead != 0 ? v.speculative.request_bytes_with_lookahead : v.needed_bytes,
      r.settings.batch);
  EngineVerdict out;
  out.required_bytes_per_gpu = v.requested_bytes;
  out.headroom_bytes = headroom_bytes(v.kv_cache_memory_bytes, need);
  out.fits = r.engine->fits;
  out.headroom_name = "spare KV memory";
  out.why = v.lora.refused_vocab_above != 0 ? lora_refusal(v)
            : !v.starts && v.kv_budget_bytes <= 0
                ? fmt::format("vLLM would not start: weights {}, activation peak {} and the rest {} per GPU are more "
                              "than the {} it may use (gpu_memory_utilization {}), no memory is left for the KV cache",
                              format_bytes(v.weights_bytes, u), format_bytes(v.activation_bytes, u),
                              format_bytes(v.non_torch_bytes + v.cuda_graph_bytes + v.lora.total() +
                                               v.speculative.weights_bytes, u),
                              format_bytes(v.requested_bytes, u),
                              fmt::format("{:g}", static_cast<double>(v.utilization_ppm) / 1e6))
            : !v.starts ? fmt::format("vLLM would not start: one {}-token request needs {} of KV cache, {} is available",
                                    with_commas(r.settings.context_tokens), format_bytes(v.needed_bytes, u),
                                    format_bytes(v.kv_cache_memory_bytes, u))
            : !r.engine->fits ? fmt::format("vLLM holds {:.2f} requests of {} tokens, {} asked", held(v),
                                          with_commas(r.settings.context_tokens), r.settings.batch)
                              : fmt::format("vLLM starts; {:.2f} requests of {} tokens fit, {} asked", held(v),
                                            with_commas(r.settings.context_tokens), r.settings.batch);
  if (v.speculative.active() && v.lora.refused_vocab_above == 0) {
    const VllmSpecDecode& sd = v.speculative;
    out.why += fmt::format(" (speculative {}: drafter {}, {} KV layer{})", sd.method_name,
                           format_bytes(sd.weights_bytes, u), sd.kv_layers, sd.kv_layers == 1 ? "" : "s");
  }
  return out;
}

} // namespace vramcalc::detail
