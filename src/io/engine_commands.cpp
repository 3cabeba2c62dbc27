// Engine command lines for `vramcalc check` beyond vLLM's and llama-server's (deployments.cpp):
// SGLang (`python -m sglang.launch_server`, `sglang serve`), TensorRT-LLM (`trtllm-serve`,
// with the YAML file of --extra_llm_api_options) and Ollama (`ollama run`, its environment),
// and what every command line shares (command_line.hpp). Each table maps an engine's own
// spelling to a deployment key or to the key of one of its option specs (engine_<id>.cpp),
// so the value is checked by the same parser as the flag; a unit test holds every "opt:" key
// to a spec of its engine.
#include "command_line.hpp"
#include "deployments.hpp"
#include "yaml_dom.hpp"

#include "vramcalc/engine.hpp"
#include "vramcalc/io/catalog.hpp"
#include "vramcalc/text.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

namespace vramcalc::io {

namespace detail {

std::expected<void, Error> map_flags(const std::vector<std::string>& args, std::size_t start,
                                     std::span<const FlagMap> known, const std::set<std::string_view>& booleans,
                                     const std::set<std::string_view>& silent, Deployment& d, std::string_view origin,
                                     std::vector<std::string>& positional) {
  for (std::size_t i = start; i < args.size(); ++i) {
    std::string a = args[i];
    std::optional<std::string> inline_value;
    if (a.starts_with("-")) {
      if (const auto eq = a.find('='); eq != std::string::npos) {
        inline_value = a.substr(eq + 1);
        a = a.substr(0, eq);
      }
    } else {
      positional.push_back(a);
      continue;
    }
    const auto it = std::find_if(known.begin(), known.end(), [&](const FlagMap& f) { return f.flag == a; });
    // A negative number is a value, not a flag (argparse and llama.cpp's parser agree), so
    // "-ngl -5" reaches the value check and says what is wrong with -5.
    const auto negative_number = [](std::string_view w) {
      return w.size() > 1 && w[0] == '-' && (std::isdigit(static_cast<unsigned char>(w[1])) != 0 || w[1] == '.');
    };
    const bool next_is_value = i + 1 < args.size() && (!args[i + 1].starts_with("-") || negative_number(args[i + 1]));
    if (it == known.end()) {
      std::string ignored = args[i];
      if (!inline_value && !booleans.contains(a) && next_is_value) ignored += " " + args[++i];
      if (!silent.contains(a)) d.ignored.push_back(ignored);
      continue;
    }
    std::string value = "true";
    if (it->takes_value) {
      if (inline_value) value = *inline_value;
      else if (next_is_value) value = args[++i];
      else return std::unexpected(Error{ErrorCode::invalid_argument, std::string(origin) + ": " + a + " needs a value"});
    }
    const std::string path = std::string(origin) + " " + a;
    if (it->key.starts_with("opt:")) d.engine_options[std::string(it->key.substr(4))] = {value, path, ""};
    else d.keys[std::string(it->key)] = {value, path, ""};
  }
  return {};
}

std::expected<void, Error> take_model(Deployment& d, const std::vector<std::string>& positional,
                                      const std::string& origin, std::string_view usage) {
  std::size_t first = 0;
  if (!d.keys.contains("model") && !positional.empty()) {
    d.keys["model"] = {positional.front(), origin + " MODEL", ""};
    first = 1;
  }
  for (std::size_t i = first; i < positional.size(); ++i) d.ignored.push_back(positional[i]);
  if (!d.keys.contains("model")) {
    return std::unexpected(Error{ErrorCode::invalid_argument, origin + ": no model (" + std::string(usage) + ")"});
  }
  return {};
}

void quant_from_method_and_dtype(Deployment& d, std::string_view compressed_note) {
  if (auto q = d.keys.find("quant"); q != d.keys.end()) {
    if (q->second.text == "bitsandbytes") q->second.text = "nf4";
    if (q->second.text == "compressed-tensors" || q->second.text == "awq_marlin" || q->second.text == "gptq_marlin") {
      if (q->second.text != "compressed-tensors") q->second.text = q->second.text.substr(0, 4);
      else {
        d.ignored.emplace_back(compressed_note);
        d.keys.erase(q);
      }
    }
  }
  if (auto t = d.keys.find("dtype"); t != d.keys.end()) {
    const std::string v = t->second.text;
    if (!d.keys.contains("quant") && v != "auto") {
      d.keys["quant"] = {v == "bfloat16" ? "bf16" : v == "float16" || v == "half" ? "fp16" : v == "float32" || v == "float" ? "fp32" : v,
                         t->second.path, ""};
    }
    d.keys.erase("dtype");
  }
}

std::optional<std::uint64_t> count_of(const std::string& text) {
  if (text.empty() || text.size() > 9 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoull(text);
}

} // namespace detail

namespace {

using detail::FlagMap;

// An expert-parallel size (SGLang's --ep-size, trtllm-serve's --ep_size, the LLM API's
// moe_expert_parallel_size): above 1, the experts are split over the GPUs (the `ep` key);
// 1 is the default.
void ep_from_size(Deployment& d, const char* size_key) {
  const auto it = d.keys.find(size_key);
  if (it == d.keys.end()) return;
  const auto n = detail::count_of(it->second.text);
  if (!n) {
    d.ignored.push_back(it->second.path + " " + it->second.text + " (not a count)");
  } else if (*n > 1) {
    d.keys["ep"] = {"true", it->second.path, ""};
  }
  d.keys.erase(size_key);
}

void drop_auto_kv(Deployment& d) {
  if (auto k = d.keys.find("kv_dtype"); k != d.keys.end() && k->second.text == "auto") d.keys.erase(k);
}

} // namespace

// ---- SGLang ----
//
// The flags of python/sglang/srt/server_args.py (ServerArgs, its fields as --flag-names with
// their aliases; SGLang 0.5 and main as of 2026): --model-path / --model, --tp-size /
// --tensor-parallel-size, --pp-size / --pipeline-parallel-size, --dp-size /
// --data-parallel-size, --ep-size / --expert-parallel-size / --ep. Python's argparse also takes a
// unique prefix of a long flag, so `--tp 4` and `--dp 2` (as SGLang's docs write them) are
// --tp-size and --dp-size.

std::expected<Deployment, Error> deployment_from_sglang(std::string_view command) {
  auto args = split_command_line(command, "--sglang");
  if (!args) return std::unexpected(args.error());
  return deployment_from_sglang_args(std::move(*args), "--sglang");
}

std::expected<Deployment, Error> deployment_from_sglang_args(std::vector<std::string> a, const std::string& origin) {
  // "python -m sglang.launch_server ...", "sglang serve ...", or the flags alone (a container's args).
  std::size_t start = 0;
  const auto base = [](const std::string& w) { return w.substr(w.rfind('/') == std::string::npos ? 0 : w.rfind('/') + 1); };
  while (start < a.size() && !a[start].starts_with("-") &&
         (base(a[start]).starts_with("python") || base(a[start]) == "sglang" || a[start] == "serve")) {
    ++start;
  }
  if (start + 1 < a.size() && a[start] == "-m") start += 2; // -m sglang.launch_server (or dynamo.sglang)
  static constexpr FlagMap known[] = {
      {"--model-path", "model"},
      {"--model", "model"},
      {"--context-length", "context"},
      {"--kv-cache-dtype", "kv_dtype"},
      {"--tp-size", "tp"},
      {"--tensor-parallel-size", "tp"},
      {"--tp", "tp"},
      {"--pp-size", "pp"},
      {"--pipeline-parallel-size", "pp"},
      {"--dp-size", "dp"},
      {"--data-parallel-size", "dp"},
      {"--dp", "dp"},
      {"--ep-size", "ep_size"},
      {"--expert-parallel-size", "ep_size"},
      {"--ep", "ep_size"},
      {"--enable-ep-moe", "ep", false}, // before 0.5: experts over the tp GPUs
      {"--quantization", "quant"},
      {"--dtype", "dtype"},
      // Its option specs (src/core/engine_sglang.cpp) take SGLang's own spellings.
      {"--mem-fraction-static", "opt:mem_fraction_static"},
      {"--chunked-prefill-size", "opt:chunked_prefill_size"},
      {"--cuda-graph-max-bs", "opt:cuda_graph_max_bs"},
      {"--cuda-graph-max-bs-decode", "opt:cuda_graph_max_bs"}, // its name since the per-phase graphs
      {"--max-running-requests", "opt:max_running_requests"},
      {"--page-size", "opt:page_size"},
      {"--cpu-offload-gb", "opt:cpu_offload_gb"},
      {"--enable-lora", "opt:enable_lora", false},
      {"--max-loras-per-batch", "opt:max_loras_per_batch"},
      {"--max-lora-rank", "opt:max_lora_rank"},
      {"--enable-dp-attention", "opt:enable_dp_attention", false},
      {"--swa-full-tokens-ratio", "opt:swa_full_tokens_ratio"},
      {"--disable-hybrid-swa-memory", "opt:disable_hybrid_swa_memory", false},
      {"--max-mamba-cache-size", "opt:max_mamba_cache_size"},
      {"--mamba-ssm-dtype", "opt:mamba_ssm_dtype"},
      {"--mamba-full-memory-ratio", "opt:mamba_full_memory_ratio"},
      {"--disable-radix-cache", "opt:disable_radix_cache", false},
      {"--speculative-algorithm", "opt:speculative_algorithm"},
      {"--speculative-draft-model-path", "opt:speculative_draft_model_path"},
      {"--speculative-num-steps", "opt:speculative_num_steps"},
      {"--speculative-eagle-topk", "opt:speculative_eagle_topk"},
      {"--speculative-num-draft-tokens", "opt:speculative_num_draft_tokens"},
  };
  static const std::set<std::string_view> booleans{
      "--trust-remote-code", "--disable-cuda-graph",
      "--disable-cuda-graph-padding", "--enable-torch-compile", "--enable-metrics", "--log-requests",
      "--disable-overlap-schedule", "--enable-mixed-chunk", "--skip-server-warmup", "--disable-custom-all-reduce",
      "--enable-multimodal", "--is-embedding", "--enable-cache-report", "--enable-p2p-check",
      "--disable-chunked-prefix-cache", "--enable-dp-lm-head", "--enable-ep-moe", "--enable-deepep-moe",
      "--skip-tokenizer-init", "--enable-nccl-nvls", "--enable-symm-mem", "--enable-two-batch-overlap",
      "--disable-prefill-cuda-graph", "--disable-decode-cuda-graph", "--enable-hierarchical-cache"};
  static const std::set<std::string_view> silent{
      "--host", "--port", "--api-key", "--served-model-name", "--chat-template", "--tool-call-parser",
      "--reasoning-parser", "--log-level", "--log-level-http", "--log-requests", "--log-requests-level",
      "--enable-metrics", "--enable-cache-report", "--trust-remote-code", "--tokenizer-path", "--revision",
      "--download-dir", "--skip-server-warmup", "--random-seed", "--nccl-port", "--dist-init-addr", "--nnodes",
      "--node-rank", "--schedule-policy", "--watchdog-timeout", "--tokenizer-mode",
      "--file-storage-path", "--completion-template"};
  Deployment d;
  d.file = origin;
  std::vector<std::string> positional;
  if (auto r = detail::map_flags(a, start, known, booleans, silent, d, origin, positional); !r) {
    return std::unexpected(r.error());
  }
  if (auto r = detail::take_model(d, positional, origin, "--model-path MODEL"); !r) return std::unexpected(r.error());
  detail::quant_from_method_and_dtype(d, "--quantization compressed-tensors (give the scheme with -q)");
  drop_auto_kv(d);
  ep_from_size(d, "ep_size");
  // --dp-size N: N replicas, each on tp x pp GPUs, each holding the whole model and its own
  // KV pool; each is the deployment checked (a pod holding them all is tp x pp x N GPUs).
  // With --enable-dp-attention it is instead the attention's data parallelism inside the tp
  // GPUs (SGLang's engine option dp_size).
  if (auto dp = d.keys.find("dp"); dp != d.keys.end() && d.engine_options.contains("enable_dp_attention")) {
    d.engine_options["dp_size"] = dp->second;
    d.keys.erase(dp);
  } else if (dp != d.keys.end()) {
    const auto n = detail::count_of(dp->second.text);
    if (!n || *n == 0) {
      const std::string flag = dp->second.path.substr(std::min(dp->second.path.size(), origin.size() + 1));
      return std::unexpected(Error{ErrorCode::invalid_argument, origin + ": " + flag + ": '" +
                                                                    excerpt(dp->second.text, 40) + "' is not a replica count"});
    }
    d.data_parallel = *n;
    if (*n > 1) d.notes.push_back("--dp-size " + std::to_string(*n) + ": each of " + std::to_string(*n) + " replicas checked");
    d.keys.erase(dp);
  }
  d.keys["engine"] = {"sglang", origin, ""};
  d.name = d.keys.at("model").text;
  return d;
}

// ---- TensorRT-LLM ----
//
// trtllm-serve's options (tensorrt_llm/commands/serve.py, `serve`, click; 1.1 and main as of
// 2026): MODEL, --tensor_parallel_size / --tp_size, --pipeline_parallel_size / --pp_size,
// --moe_expert_parallel_size / --ep_size, --max_batch_size, --max_num_tokens, --max_seq_len,
// --free_gpu_memory_fraction / --kv_cache_free_gpu_memory_fraction, --enable_chunked_prefill,
// --config / --extra_llm_api_options FILE (a YAML of LLM API arguments that overwrites the
// flags: update_llm_args_with_extra_dict, tensorrt_llm/llmapi/llm_utils.py).

namespace {

std::string node_text(const yaml::Node& n) {
  if (n.is_scalar()) return excerpt(n.scalar, 60);
  if (n.is_null()) return "null";
  return n.is_map() ? "{...}" : "[...]";
}

} // namespace

// The LLM API's speculative_config (tensorrt_llm/llmapi/llm_args.py: DecodingBaseConfig and its
// decoding_type subclasses MTPDecodingConfig, EagleDecodingConfig, DraftTargetDecodingConfig,
// NGramDecodingConfig, ...).
std::string_view trtllm_speculative_refusal() { return trtllm_speculative_release_refusal; }

namespace {

// speculative_config (llm_args.py DecodingBaseConfig): decoding_type MTP becomes the
// speculative_mtp option, its max_draft_len (or the deprecated num_nextn_predict_layers) the
// value ("auto" when neither is given); Eagle3 / Eagle (EagleDecodingConfig) and Draft_Target /
// DraftTarget (DraftTargetDecodingConfig) the deployment's draft (speculative_model, or its alias
// speculative_model_dir) and spec_tokens (max_draft_len, required: "max_draft_len must be > 0")
// with the speculative_decoding_type option. The other decoding types, the non-default modes
// and the draft trees are refused by name: their draft weights, KV layers and tokens differ.
template <typename At>
std::optional<Error> read_speculative_config(const yaml::Node& v, const std::string& file, Deployment& d, const At& at) {
  const std::string k = "speculative_config";
  if (!v.is_map()) return at(v, k, "expected a mapping");
  std::string type = "?";
  const yaml::Node* draft_len = nullptr;
  const yaml::Node* model = nullptr;
  const auto is = [](const yaml::Node& n, const char* text) { return n.is_scalar() && n.scalar == text; };
  for (const auto& [sk, sv] : v.pairs) {
    const std::string sub = sk->is_scalar() ? std::string(sk->scalar) : std::string("?");
    if (sub == "decoding_type") type = node_text(*sv);
    else if (sub == "max_draft_len" || (sub == "num_nextn_predict_layers" && draft_len == nullptr)) draft_len = sv;
    else if (sub == "speculative_model" || sub == "speculative_model_dir") model = sv;
    else if ((sub == "use_mtp_vanilla" && is(*sv, "true")) || (sub == "mtp_eagle_one_model" && is(*sv, "false"))) {
      return at(*sv, k + "." + sub, "not modelled: vramcalc models MTP's default mode (MTP Eagle one-model on a "
                                    "checkpoint with one MTP layer, vanilla MTP on one with more)");
    } else if (sub == "eagle3_one_model" && is(*sv, "false")) {
      return at(*sv, k + "." + sub, "not modelled: the two-model Eagle3 (deprecated, to be removed in 1.4); vramcalc "
                                    "models the one-model drafter, the default");
    } else if (sub == "eagle_choices" || sub == "dynamic_tree_max_topK" || sub == "eagle3_layers_to_capture" ||
               (sub == "use_dynamic_tree" && is(*sv, "true"))) {
      return at(*sv, k + "." + sub, "not modelled: vramcalc models a linear draft (max_total_draft_tokens = "
                                    "max_draft_len) from the default three captured layers");
    } else if (sub != "num_nextn_predict_layers") {
      d.ignored.push_back(file + " " + k + "." + sub + ": " + node_text(*sv));
    }
  }
  const auto place = [&](const yaml::Node& n, const std::string& path, std::string text) {
    return DeployValue{std::move(text), path,
                       file + ":" + std::to_string(n.mark.line) + ":" + std::to_string(n.mark.column), n.mark.line,
                       n.mark.column, file};
  };
  if (draft_len != nullptr && !draft_len->is_scalar()) return at(*draft_len, k, "expected a single value");
  if (type == "MTP") {
    const yaml::Node& where = draft_len != nullptr ? *draft_len : v;
    d.engine_options["speculative_mtp"] = place(where, k, draft_len != nullptr ? std::string(draft_len->scalar) : "auto");
    return std::nullopt;
  }
  const bool eagle = type == "Eagle3" || type == "Eagle";
  if (!eagle && type != "Draft_Target" && type != "DraftTarget") {
    static const std::set<std::string_view> known{"NGram", "Medusa", "Lookahead", "SA", "PARD", "DFlash", "DSpark",
                                                  "User_Provided", "SaveState", "AUTO", "Explicit_Draft_Tokens",
                                                  "ReDrafter"};
    return at(v, k, "decoding_type " + type +
                        (known.contains(type) ? ": not modelled" : ": not a decoding type of TensorRT-LLM's llm_args.py") +
                        "; vramcalc models MTP, Eagle3 (Eagle) and DraftTarget (Draft_Target) with --trtllm-version newest");
  }
  if (model == nullptr || !model->is_scalar() || model->scalar.empty()) {
    return at(model != nullptr ? *model : v, k, "decoding_type " + type + " needs speculative_model (the draft)");
  }
  if (draft_len == nullptr) return at(v, k, "max_draft_len must be > 0 for " + type + " (llm_args.py)");
  d.keys["draft"] = place(*model, k + ".speculative_model", std::string(model->scalar));
  d.keys["spec_tokens"] = place(*draft_len, k + ".max_draft_len", std::string(draft_len->scalar));
  d.engine_options["speculative_decoding_type"] = place(v, k + ".decoding_type", eagle ? "Eagle3" : "DraftTarget");
  return std::nullopt;
}

// The extra options file read into `d`: the keys vramcalc models, the rest listed as ignored.
std::expected<void, Error> read_extra_options(const std::string& file, const std::string& origin, Deployment& d) {
  auto text = read_text_file(file, ErrorCode::invalid_argument);
  if (!text) {
    return std::unexpected(Error{ErrorCode::invalid_argument,
                                 origin + " --extra_llm_api_options: " + text.error().message, file});
  }
  const auto at = [&](const yaml::Node& n, const std::string& path, const std::string& what) {
    return Error{ErrorCode::invalid_argument,
                 file + ":" + std::to_string(n.mark.line) + ":" + std::to_string(n.mark.column) + ": " +
                     (path.empty() ? "" : path + ": ") + what,
                 file, n.mark.line, n.mark.column};
  };
  auto parsed = yaml::parse(*text);
  if (!parsed) {
    const yaml::Mark m = parsed.error().mark;
    return std::unexpected(Error{ErrorCode::invalid_argument,
                                 file + ":" + std::to_string(m.line) + ":" + std::to_string(m.column) +
                                     ": invalid YAML: " + parsed.error().message,
                                 file, m.line, m.column});
  }
  if (parsed->documents.empty() || parsed->documents.front()->is_null()) return {}; // an empty file: no options
  const yaml::Node& root = *parsed->documents.front();
  if (!root.is_map()) return std::unexpected(at(root, "", "expected a mapping of LLM API options"));
  // key -> deployment key or "opt:<TensorRT-LLM option>" (src/core/engine_trtllm.cpp).
  static constexpr FlagMap top[] = {
      {"max_batch_size", "opt:max_batch_size"},   {"max_num_tokens", "opt:max_num_tokens"},
      {"max_seq_len", "context"},                 {"tensor_parallel_size", "tp"},
      {"pipeline_parallel_size", "pp"},           {"moe_expert_parallel_size", "ep_size"},
      {"enable_attention_dp", "opt:enable_attention_dp"},
      {"enable_chunked_prefill", "opt:enable_chunked_prefill"},
  };
  static constexpr FlagMap kv[] = {
      {"free_gpu_memory_fraction", "opt:free_gpu_memory_fraction"},
      {"dtype", "kv_dtype"},
      {"max_tokens", "opt:max_tokens"},
      {"tokens_per_block", "opt:tokens_per_block"},
  };
  static constexpr FlagMap graphs[] = {
      {"max_batch_size", "opt:cuda_graph_max_batch_size"},
      {"enable_padding", "opt:cuda_graph_enable_padding"},
  };
  // Keys that do not change memory.
  static const std::set<std::string_view> silent{"print_iter_log", "enable_iter_perf_stats", "return_perf_metrics",
                                                 "trust_remote_code", "stream_interval", "enable_block_reuse",
                                                 "disable_overlap_scheduler"};
  const auto put = [&](const FlagMap* f, const yaml::Node& v, const std::string& path) -> std::optional<Error> {
    if (!v.is_scalar()) return at(v, path, v.is_null() ? "is empty" : "expected a single value");
    const DeployValue value{std::string(v.scalar), path, file + ":" + std::to_string(v.mark.line) + ":" + std::to_string(v.mark.column),
                            v.mark.line, v.mark.column, file};
    if (f->key.starts_with("opt:")) d.engine_options[std::string(f->key.substr(4))] = value;
    else d.keys[std::string(f->key)] = value;
    return std::nullopt;
  };
  const auto find = [](std::span<const FlagMap> table, const std::string& k) -> const FlagMap* {
    const auto it = std::find_if(table.begin(), table.end(), [&](const FlagMap& f) { return f.flag == k; });
    return it == table.end() ? nullptr : &*it;
  };
  for (const auto& [kn, vn] : root.pairs) {
    const std::string k = kn->is_scalar() ? std::string(kn->scalar) : std::string("?");
    const std::string& path = k; // placed by the value's file:line:col
    if (const FlagMap* f = find(top, k)) {
      if (auto e = put(f, *vn, path)) return std::unexpected(*e);
    } else if (k == "kv_cache_config" || k == "cuda_graph_config") {
      const bool graph = k == "cuda_graph_config";
      if (graph && vn->is_null()) { // cuda_graph_config: null turns CUDA graphs off
        d.engine_options["no_cuda_graphs"] = {"true", path, file + ":" + std::to_string(vn->mark.line) + ":" +
                                                                std::to_string(vn->mark.column), vn->mark.line, vn->mark.column};
        continue;
      }
      if (!vn->is_map()) return std::unexpected(at(*vn, k, "expected a mapping"));
      for (const auto& [ck, cv] : vn->pairs) {
        const std::string sub = ck->is_scalar() ? std::string(ck->scalar) : std::string("?");
        if (const FlagMap* g = find(graph ? std::span<const FlagMap>(graphs) : std::span<const FlagMap>(kv), sub)) {
          if (auto e = put(g, *cv, path + "." + sub)) return std::unexpected(*e);
        } else if (!silent.contains(sub)) {
          d.ignored.push_back(file + " " + k + "." + sub + ": " + node_text(*cv));
        }
      }
    } else if (k == "speculative_config" && !vn->is_null()) {
      if (auto e = read_speculative_config(*vn, file, d, at)) return std::unexpected(*e);
    } else if (!silent.contains(k)) {
      d.ignored.push_back(file + " " + k + ": " + node_text(*vn));
    }
  }
  return {};
}

} // namespace

std::expected<Deployment, Error> deployment_from_trtllm(std::string_view command) {
  auto args = split_command_line(command, "--trtllm");
  if (!args) return std::unexpected(args.error());
  return deployment_from_trtllm_args(std::move(*args), "--trtllm", true);
}

std::expected<Deployment, Error> deployment_from_trtllm_args(std::vector<std::string> a, const std::string& origin,
                                                             bool read_files) {
  std::size_t start = 0;
  while (start < a.size() && !a[start].starts_with("-") &&
         (a[start] == "trtllm-serve" || a[start].ends_with("/trtllm-serve") || a[start] == "serve")) {
    ++start;
  }
  static constexpr FlagMap known[] = {
      {"--tensor_parallel_size", "tp"},
      {"--tp_size", "tp"},
      {"--pipeline_parallel_size", "pp"},
      {"--pp_size", "pp"},
      {"--moe_expert_parallel_size", "ep_size"},
      {"--ep_size", "ep_size"},
      {"--max_seq_len", "context"},
      {"--max_batch_size", "opt:max_batch_size"},
      {"--max_num_tokens", "opt:max_num_tokens"},
      {"--free_gpu_memory_fraction", "opt:free_gpu_memory_fraction"},
      {"--kv_cache_free_gpu_memory_fraction", "opt:free_gpu_memory_fraction"},
      {"--enable_chunked_prefill", "opt:enable_chunked_prefill", false},
      {"--extra_llm_api_options", "extra_options"},
      {"--config", "extra_options"},
      {"--backend", "backend"},
  };
  static const std::set<std::string_view> booleans{"--trust_remote_code", "--fail_fast_on_attention_window_too_large",
                                                   "--enable_chunked_prefill"};
  static const std::set<std::string_view> silent{
      "--host", "--port", "--log_level", "--tokenizer", "--custom_tokenizer", "--trust_remote_code", "--revision",
      "--reasoning_parser", "--tool_parser", "--chat_template", "--num_postprocess_workers", "--otlp_traces_endpoint",
      "--metadata_server_config_file", "--server_role", "--disagg_cluster_uri", "--media_io_kwargs", "--gpus_per_node",
      "--fail_fast_on_attention_window_too_large"};
  Deployment d;
  d.file = origin;
  std::vector<std::string> positional;
  if (auto r = detail::map_flags(a, start, known, booleans, silent, d, origin, positional); !r) {
    return std::unexpected(r.error());
  }
  if (auto r = detail::take_model(d, positional, origin, "trtllm-serve MODEL"); !r) return std::unexpected(r.error());
  // The PyTorch backend is trtllm-serve's default and the one vramcalc models.
  if (auto b = d.keys.find("backend"); b != d.keys.end()) {
    if (b->second.text != "pytorch") d.ignored.push_back("--backend " + b->second.text + " (the PyTorch backend is modelled)");
    d.keys.erase(b);
  }
  // The extra options overwrite the flags, as trtllm-serve applies them.
  if (auto x = d.keys.find("extra_options"); x != d.keys.end()) {
    const std::string file = x->second.text;
    d.keys.erase(x);
    if (!read_files) {
      d.ignored.push_back("--extra_llm_api_options " + excerpt(file, 120) + " (a file inside the container: not read)");
    } else {
      if (auto r = read_extra_options(file, origin, d); !r) return std::unexpected(r.error());
      d.notes.push_back("options from " + file);
    }
  }
  drop_auto_kv(d);
  ep_from_size(d, "ep_size");
  d.keys["engine"] = {"trtllm", origin, ""};
  d.name = d.keys.at("model").text;
  return d;
}

// ---- Ollama ----
//
// `ollama run MODEL [PROMPT]` (cmd/cmd.go, RunHandler; its flags --verbose, --format,
// --keepalive, --think, --hidethinking, --nowordwrap, --insecure only shape the client's
// session) with the server's environment before it (`OLLAMA_CONTEXT_LENGTH=8192 ollama run
// ...`, or `env K=V ollama ...`); `ollama serve` names no model, so a model comes from an
// `ollama run` or `ollama pull` later in the same line (`ollama serve & ollama run qwen3:8b`)
// or from `model` (a manifest's vramcalc/model annotation). The environment is the text
// --ollama-env takes, read by its parser (src/core/engine_ollama.cpp).

namespace {

std::string env_word(const std::string& key, const std::string& value) {
  if (value.find_first_of(" \t\n\r") == std::string::npos) return key + "=" + value;
  return key + "=" + (value.find('"') == std::string::npos ? "\"" + value + "\"" : "'" + value + "'");
}

bool env_assignment(const std::string& w) {
  const auto eq = w.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  return std::all_of(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(eq),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; });
}

bool is_ollama(const std::string& w) { return w == "ollama" || w.ends_with("/ollama"); }

} // namespace

std::expected<Deployment, Error> deployment_from_ollama(std::string_view command) {
  auto args = split_command_line(command, "--ollama");
  if (!args) return std::unexpected(args.error());
  return deployment_from_ollama_args(std::move(*args), "--ollama", {}, "");
}

std::expected<Deployment, Error> deployment_from_ollama_args(std::vector<std::string> a, const std::string& origin,
                                                             const std::vector<std::pair<std::string, std::string>>& env,
                                                             const std::string& model) {
  // A shell's `;` and `&` end a word too (`ollama pull m; wait`).
  std::vector<std::string> words;
  for (std::string& w : a) {
    if (w.size() > 1 && (w.back() == ';' || (w.back() == '&' && w[w.size() - 2] != '&'))) {
      const char op = w.back();
      w.pop_back();
      words.push_back(std::move(w));
      words.emplace_back(1, op);
    } else {
      words.push_back(std::move(w));
    }
  }
  a = std::move(words);
  Deployment d;
  d.file = origin;
  std::string env_text;
  for (const auto& [k, v] : env) env_text += (env_text.empty() ? "" : " ") + env_word(k, v);
  std::size_t i = 0;
  // The environment: `K=V ... ollama`, `env K=V ... ollama`.
  for (; i < a.size() && !is_ollama(a[i]); ++i) {
    if (env_assignment(a[i])) {
      const auto eq = a[i].find('=');
      env_text += (env_text.empty() ? "" : " ") + env_word(a[i].substr(0, eq), a[i].substr(eq + 1));
    } else if (a[i] != "env" && a[i] != "exec") {
      d.ignored.push_back(a[i]);
    }
  }
  if (i == a.size()) {
    return std::unexpected(Error{ErrorCode::invalid_argument, origin + ": no ollama command (ollama run MODEL)"});
  }
  std::optional<DeployValue> named; // the first `ollama run` / `ollama pull` model
  static const std::set<std::string_view> run_flags{"--verbose", "--nowordwrap", "--insecure", "--hidethinking",
                                                    "--think"};
  static const std::set<std::string_view> run_values{"--format", "--keepalive", "--dimensions"};
  // Each `ollama SUBCOMMAND ...` of the line, up to a shell operator.
  bool serve = false;
  while (i < a.size()) {
    if (!is_ollama(a[i])) {
      ++i;
      continue;
    }
    const std::string sub = i + 1 < a.size() ? a[i + 1] : "";
    i += 2;
    const auto end_of_command = [](const std::string& w) {
      return w == "&" || w == "&&" || w == ";" || w == "||" || w == "|";
    };
    if (sub == "serve" || sub.empty() || end_of_command(sub)) {
      serve = true; // `ollama` alone: the ollama/ollama image's CMD, serve
    } else if (sub == "run" || sub == "pull") {
      bool have = false;
      for (; i < a.size() && !end_of_command(a[i]); ++i) {
        const std::string w = a[i];
        const std::string flag = w.substr(0, w.find('='));
        if (run_flags.contains(flag)) continue;
        if (run_values.contains(flag)) {
          if (w.find('=') == std::string::npos) ++i;
          continue;
        }
        if (w.starts_with("-")) {
          d.ignored.push_back(w);
        } else if (!have) {
          have = true;
          if (!named) named = DeployValue{w, origin + " ollama " + sub, ""};
          else if (w != named->text) d.ignored.push_back("ollama " + sub + " " + w + " (one model is checked)");
        } // else the prompt: a request, not a setting of the server
      }
    } else if (!sub.empty()) {
      d.ignored.push_back("ollama " + sub);
    }
    while (i < a.size() && !is_ollama(a[i])) ++i;
  }
  if (!named && !model.empty()) named = DeployValue{model, "annotation vramcalc/model", ""};
  if (!named) {
    return std::unexpected(Error{ErrorCode::invalid_argument,
                                 origin + ": no model: " +
                                     (serve ? std::string("ollama serve loads the models its requests name; give ollama run MODEL")
                                            : std::string("ollama run MODEL"))});
  }
  d.keys["model"] = *named;
  if (!env_text.empty()) d.engine_options["env"] = {env_text, origin + " environment", ""};
  d.keys["engine"] = {"ollama", origin, ""};
  d.name = named->text;
  return d;
}

} // namespace vramcalc::io
