// The engines' own flags (vLLM, llama.cpp) applied to the settings.
#include "common.hpp"


#include "vramcalc/dtype.hpp"
#include "vramcalc/estimate.hpp"
#include "vramcalc/format.hpp"
#include "vramcalc/io/catalog.hpp"
#include "vramcalc/io/model_files.hpp"
#include "vramcalc/io/output_file.hpp"
#include "deployments.hpp"

#include <fmt/format.h>
#include "vramcalc/io/hf_config.hpp"
#include "vramcalc/io/model_json.hpp"
#include "vramcalc/names.hpp"
#include "vramcalc/placement.hpp"
#include "vramcalc/plan.hpp"
#include "vramcalc/io/price_json.hpp"
#include "vramcalc/render.hpp"
#include "vramcalc/tensors.hpp"
#include "vramcalc/text.hpp"
#include "vramcalc/units.hpp"

#include <set>
#include <array>
#include <algorithm>
#include <map>
#include <cstdlib>
#include <tuple>
#include <filesystem>
#include <fstream>


namespace vramcalc::app {

namespace {

std::uint32_t llamacpp_version_flag(const std::string& text) {
  const std::string t = to_lower(text);
  if (t == "latest" || t == "newest") return 0;
  const auto bad = [&] {
    fail(ErrorCode::invalid_argument, "--llamacpp-version: '" + text +
                                          "' is not a build date like 2025-07-22 or 2025-07 (llama-server --version "
                                          "prints the build; its release page the date), or latest");
  };
  const auto digits = [&](std::size_t at, std::size_t n) {
    std::uint32_t v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (i >= t.size() || t[i] < '0' || t[i] > '9') bad();
      v = v * 10 + static_cast<std::uint32_t>(t[i] - '0');
    }
    return v;
  };
  if (t.size() != 7 && t.size() != 10) bad();
  if (t[4] != '-' || (t.size() == 10 && t[7] != '-')) bad();
  const std::uint32_t year = digits(0, 4), month = digits(5, 2), day = t.size() == 10 ? digits(8, 2) : 1;
  if (year < 2023 || month < 1 || month > 12 || day < 1 || day > 31) bad();
  return year * 10000 + month * 100 + day;
}

// An engine's own flags are refused without --engine naming it; an engine that sizes from
// the GPU must be told which.
void check_engine_flags(EngineKind engine, bool flags_given, const Settings& s) {
  const EngineTraits& t = engine_traits(engine);
  if (flags_given && s.engine != engine) {
    fail(ErrorCode::invalid_argument,
         std::string(t.display) + " flags (" + std::string(t.flags) + ") need --engine " + std::string(t.id));
  }
  if (s.engine == engine && s.gpus.empty() && !t.needs_gpu.empty()) {
    fail(ErrorCode::invalid_argument,
         "--engine " + std::string(t.id) + ": say which GPU with --gpu (" + std::string(t.needs_gpu) + ")");
  }
}

void apply_llamacpp_flags(const Options& o, Settings& s) {
  const bool flags = o.cache_type_k || o.cache_type_v || o.flash_attn || o.batch_size || o.ubatch_size ||
                     o.n_gpu_layers || o.n_cpu_moe || o.tensor_split || o.kv_unified || o.swa_full ||
                     o.llamacpp_version || o.llamacpp_app || o.draft_max;
  check_engine_flags(EngineKind::llamacpp, flags, s);
  LlamaCppOptions& l = s.llamacpp;
  if (o.cache_type_k) l.type_k = llamacpp_kv_flag("--cache-type-k", *o.cache_type_k);
  if (o.cache_type_v) l.type_v = llamacpp_kv_flag("--cache-type-v", *o.cache_type_v);
  if (o.flash_attn) {
    const std::string f = to_lower(*o.flash_attn);
    if (f == "on" || f == "1" || f == "true") l.flash_attn = FlashAttn::on;
    else if (f == "off" || f == "0" || f == "false") l.flash_attn = FlashAttn::off;
    else if (f == "auto") l.flash_attn = FlashAttn::automatic;
    else fail(ErrorCode::invalid_argument, "--flash-attn: '" + *o.flash_attn + "' is not on, off or auto");
  }
  l.kv_unified = o.kv_unified;
  l.swa_full = o.swa_full;
  if (o.llamacpp_version) l.release = llamacpp_version_flag(*o.llamacpp_version);
  if (o.llamacpp_app) {
    const std::string a = to_lower(*o.llamacpp_app);
    if (a == "server" || a == "llama-server") l.server = true;
    else if (a == "library" || a == "cli" || a == "llama-cli") l.server = false;
    else fail(ErrorCode::invalid_argument, "--llamacpp-app: '" + *o.llamacpp_app + "' is not server or library");
  }
  if (o.draft_max && *o.draft_max != "0") {
    l.n_draft = static_cast<std::uint32_t>(flag_value("--draft-max", parse_count(*o.draft_max, 1u << 16)));
  }
  if (o.batch_size) l.n_batch = static_cast<std::uint32_t>(flag_value("--batch-size", parse_count(*o.batch_size, 1u << 24)));
  if (o.ubatch_size) {
    l.n_ubatch = static_cast<std::uint32_t>(flag_value("--ubatch-size", parse_count(*o.ubatch_size, 1u << 24)));
  }
  if (o.n_gpu_layers) {
    const std::string n = to_lower(*o.n_gpu_layers);
    if (n != "all" && n != "auto" && n != "-1") {
      // llama.cpp takes 0 (every layer on the CPU) and -1 (all); other negatives are mistakes.
      if (n.starts_with("-")) {
        fail(ErrorCode::invalid_argument, "--n-gpu-layers: '" + excerpt(n) +
                                              "' is negative; give a layer count (0 keeps every layer on the CPU), or -1, all or auto for every layer");
      }
      const auto v = parse_count(n, 1u << 20);
      if (!v && n == "0") l.n_gpu_layers = 0;
      else l.n_gpu_layers = static_cast<std::uint32_t>(flag_value("--n-gpu-layers", v));
    }
  }
  if (o.n_cpu_moe) {
    // 0: none (llama-server's default); "all": every layer (--cpu-moe).
    const std::string n = to_lower(*o.n_cpu_moe);
    l.n_cpu_moe = n == "0" ? 0u : n == "all" ? (1u << 20) : static_cast<std::uint32_t>(flag_value("--n-cpu-moe", parse_count(n, 1u << 20)));
  }
  if (o.tensor_split) {
    for (const std::string& part : split_list("--tensor-split", *o.tensor_split)) {
      l.tensor_split.push_back(static_cast<std::uint32_t>(flag_value("--tensor-split", parse_count(part, 1u << 20))));
    }
    std::uint32_t count = 0;
    for (const GpuRequest& g : s.gpus) count += std::max<std::uint32_t>(1, g.count);
    if (l.tensor_split.size() > count) {
      fail(ErrorCode::invalid_argument, "--tensor-split: " + std::to_string(l.tensor_split.size()) + " shares for " +
                                            std::to_string(count) + " GPU" + (count == 1 ? "" : "s"));
    }
  }
}

void apply_sglang_flags(const Options& o, Settings& s) {
  const bool flags = o.mem_fraction_static || o.chunked_prefill_size || o.cuda_graph_max_bs || o.max_running_requests ||
                     o.page_size;
  check_engine_flags(EngineKind::sglang, flags, s);
  SglangOptions& g = s.sglang;
  if (o.mem_fraction_static) g.mem_fraction_static_ppm = utilization_flag(*o.mem_fraction_static, "--mem-fraction-static");
  if (o.chunked_prefill_size) {
    // SGLang disables chunked prefill with -1 (or 0).
    const std::string c = *o.chunked_prefill_size;
    g.chunked_prefill_size = c == "-1" || c == "0" ? 0 : flag_value("--chunked-prefill-size", parse_tokens(c));
  }
  if (o.cuda_graph_max_bs) g.cuda_graph_max_bs = flag_value("--cuda-graph-max-bs", parse_count(*o.cuda_graph_max_bs, 1u << 16));
  if (o.max_running_requests) {
    g.max_running_requests = flag_value("--max-running-requests", parse_count(*o.max_running_requests, 1ull << 24));
  }
  if (o.page_size) g.page_size = flag_value("--page-size", parse_count(*o.page_size, 1u << 16));
}

} // namespace

void apply_engine_flags(const Options& o, const ModelSpec& model, Settings& s) {
  s.engine = engine_kind(o.engine);
  if (o.tp || o.pp || o.ep) {
    Parallel p;
    if (o.tp) p.tp = static_cast<std::uint32_t>(flag_value("--tp", parse_count(*o.tp, 1024)));
    if (o.pp) p.pp = static_cast<std::uint32_t>(flag_value("--pp", parse_count(*o.pp, 1024)));
    p.expert_parallel = o.ep;
    if (const std::string why = parallel_problem(model, p); !why.empty()) {
      fail(ErrorCode::invalid_argument, "--tp/--pp: " + why);
    }
    for (const GpuRequest& g : s.gpus) {
      if (g.count != 0 && g.count != p.gpus()) {
        fail(ErrorCode::invalid_argument, "--gpu: " + std::to_string(g.count) + "x" + g.gpu.id + " but --tp " +
                                              std::to_string(p.tp) + " --pp " + std::to_string(p.pp) + " use " +
                                              std::to_string(p.gpus()) + " GPUs");
      }
    }
    s.parallel = p;
  }
  const bool vllm_flags = o.gpu_memory_utilization || o.block_size || o.max_num_seqs || o.max_num_batched_tokens ||
                          o.kv_cache_memory || o.vllm_version || o.enforce_eager;
  check_engine_flags(EngineKind::vllm, vllm_flags, s);
  VllmOptions& v = s.vllm;
  if (o.gpu_memory_utilization) v.utilization_ppm = utilization_flag(*o.gpu_memory_utilization);
  if (o.block_size) {
    const auto b = flag_value("--block-size", parse_count(*o.block_size, 4096));
    if ((b & (b - 1)) != 0) fail(ErrorCode::invalid_argument, "--block-size: '" + *o.block_size + "' is not a power of two");
    v.block_size = static_cast<std::uint32_t>(b);
  }
  if (o.max_num_seqs) v.max_num_seqs = flag_value("--max-num-seqs", parse_count(*o.max_num_seqs, 1ull << 24));
  if (o.max_num_batched_tokens) {
    v.max_num_batched_tokens = flag_value("--max-num-batched-tokens", parse_tokens(*o.max_num_batched_tokens));
  }
  if (o.kv_cache_memory) v.kv_cache_memory_bytes = flag_value("--kv-cache-memory", parse_size(*o.kv_cache_memory));
  if (o.vllm_version) {
    std::string_view t = *o.vllm_version;
    if (t.starts_with("v")) t.remove_prefix(1);
    const auto dot = t.find('.');
    auto major = parse_count(std::string(t.substr(0, dot)) == "0" ? "1" : std::string(t.substr(0, dot)), 99);
    std::string minor_text = dot == std::string_view::npos ? "0" : std::string(t.substr(dot + 1));
    if (const auto dot2 = minor_text.find('.'); dot2 != std::string::npos) minor_text = minor_text.substr(0, dot2);
    const bool zero_major = t.substr(0, dot) == "0";
    auto minor = minor_text == "0" ? std::expected<std::uint64_t, Error>(0) : parse_count(minor_text, 999);
    if (!major || !minor || dot == std::string_view::npos) {
      fail(ErrorCode::invalid_argument, "--vllm-version: '" + *o.vllm_version + "' is not a version like 0.11 or 0.21.1");
    }
    v.version_major = zero_major ? 0 : static_cast<std::uint32_t>(*major);
    v.version_minor = static_cast<std::uint32_t>(*minor);
  }
  v.enforce_eager = o.enforce_eager;
  apply_llamacpp_flags(o, s);
  apply_sglang_flags(o, s);
}


} // namespace vramcalc::app
