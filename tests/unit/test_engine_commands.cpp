// SGLang, TensorRT-LLM and Ollama command lines for `vramcalc check` (src/io/engine_commands.cpp):
// each flag vramcalc models maps to its key, every engine option to a key of that engine's
// option specs, the rest is listed as ignored; errors name the flag or the file and line.
#include "../support/safetensors_writer.hpp" // TempDir
#include "deployments.hpp"
#include "../support/deployment_keys.hpp"

#include "vramcalc/engine.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace vramcalc;
using namespace vramcalc::io;
using vramcalc::test::key;
using vramcalc::test::opt;

namespace {

// Every engine option a command line gives is one its engine's specs read (engine_<id>.cpp).
void options_are_specs(const Deployment& d, EngineKind engine) {
  const auto specs = engine_option_specs(engine);
  for (const auto& [k, v] : d.engine_options) {
    INFO(k);
    CHECK(std::any_of(specs.begin(), specs.end(), [&](const EngineOptionSpec& s) { return s.key == k; }));
  }
}

} // namespace

TEST_CASE("sglang: each modelled flag, its aliases, and the ignored ones") {
  auto d = deployment_from_sglang(
      "python -m sglang.launch_server --model-path meta-llama/Llama-3.1-70B-Instruct --tp 4 --context-length 32768 "
      "--mem-fraction-static 0.85 --kv-cache-dtype fp8_e5m2 --chunked-prefill-size=4096 --cuda-graph-max-bs 160 "
      "--max-running-requests 48 --page-size 16 --quantization fp8 --port 30000 --host 0.0.0.0 --trust-remote-code "
      "--disable-cuda-graph --max-total-tokens 200000 --enable-dp-attention");
  REQUIRE(d);
  CHECK(key(*d, "model") == "meta-llama/Llama-3.1-70B-Instruct");
  CHECK(key(*d, "tp") == "4");
  CHECK(key(*d, "context") == "32768");
  CHECK(key(*d, "kv_dtype") == "fp8_e5m2");
  CHECK(key(*d, "quant") == "fp8");
  CHECK(key(*d, "engine") == "sglang");
  CHECK(opt(*d, "mem_fraction_static") == "0.85");
  CHECK(opt(*d, "chunked_prefill_size") == "4096");
  CHECK(opt(*d, "cuda_graph_max_bs") == "160");
  CHECK(opt(*d, "max_running_requests") == "48");
  CHECK(opt(*d, "page_size") == "16");
  CHECK(d->data_parallel == 1);
  // The address and --trust-remote-code are read silently; the rest is listed, never dropped.
  CHECK(d->ignored == std::vector<std::string>{"--disable-cuda-graph", "--max-total-tokens 200000"});
  CHECK(opt(*d, "enable_dp_attention") == "true");
  options_are_specs(*d, EngineKind::sglang);

  // The long spellings, `sglang serve`, --dtype as the format, --dp-size, --ep-size.
  auto e = deployment_from_sglang("sglang serve --model Qwen/Qwen2.5-7B-Instruct --tensor-parallel-size 2 "
                                  "--pipeline-parallel-size 2 --dp-size 3 --ep-size 2 --dtype bfloat16 --kv-cache-dtype auto "
                                  "--cuda-graph-max-bs-decode 64");
  REQUIRE(e);
  CHECK(key(*e, "model") == "Qwen/Qwen2.5-7B-Instruct");
  CHECK(key(*e, "tp") == "2");
  CHECK(key(*e, "pp") == "2");
  CHECK(key(*e, "quant") == "bf16");
  CHECK(key(*e, "kv_dtype") == "-"); // auto: the model's dtype
  CHECK(key(*e, "ep") == "true");
  CHECK(key(*e, "dp") == "-");
  CHECK(e->data_parallel == 3);
  CHECK(opt(*e, "cuda_graph_max_bs") == "64");
  CHECK(e->ignored.empty());
  // With --enable-dp-attention, --dp-size is the attention's data parallelism inside the tp
  // GPUs, not replicas; the hybrid-pool and speculative flags are SGLang's engine options.
  auto dpa = deployment_from_sglang(
      "python -m sglang.launch_server --model-path deepseek-ai/DeepSeek-V3 --tp 8 --dp 8 --enable-dp-attention "
      "--speculative-algorithm NEXTN --speculative-num-steps 3 --speculative-eagle-topk 1 --speculative-num-draft-tokens 4 "
      "--speculative-draft-model-path x --swa-full-tokens-ratio 0.5 --disable-hybrid-swa-memory --max-mamba-cache-size 64 "
      "--mamba-ssm-dtype bfloat16 --mamba-full-memory-ratio 0.5 --disable-radix-cache");
  REQUIRE(dpa);
  CHECK(dpa->data_parallel == 1);
  CHECK(opt(*dpa, "dp_size") == "8");
  CHECK(opt(*dpa, "enable_dp_attention") == "true");
  CHECK(opt(*dpa, "speculative_algorithm") == "NEXTN");
  CHECK(opt(*dpa, "speculative_num_steps") == "3");
  CHECK(opt(*dpa, "speculative_eagle_topk") == "1");
  CHECK(opt(*dpa, "speculative_num_draft_tokens") == "4");
  CHECK(opt(*dpa, "speculative_draft_model_path") == "x");
  CHECK(opt(*dpa, "swa_full_tokens_ratio") == "0.5");
  CHECK(opt(*dpa, "disable_hybrid_swa_memory") == "true");
  CHECK(opt(*dpa, "max_mamba_cache_size") == "64");
  CHECK(opt(*dpa, "mamba_ssm_dtype") == "bfloat16");
  CHECK(opt(*dpa, "mamba_full_memory_ratio") == "0.5");
  CHECK(opt(*dpa, "disable_radix_cache") == "true");
  CHECK(dpa->ignored.empty());
  options_are_specs(*dpa, EngineKind::sglang);
  auto f = deployment_from_sglang("/usr/bin/python3 -m sglang.launch_server --model-path x --tp-size 8 --dp 1 --ep-size 1");
  REQUIRE(f);
  CHECK(key(*f, "tp") == "8");
  CHECK(key(*f, "ep") == "-"); // one expert group: not split
  CHECK(f->data_parallel == 1);
  CHECK(f->ignored.empty());
}

TEST_CASE("sglang: errors name the flag") {
  auto none = deployment_from_sglang("python -m sglang.launch_server --tp 2");
  REQUIRE_FALSE(none);
  CHECK(none.error().message == "--sglang: no model (--model-path MODEL)");
  auto value = deployment_from_sglang("python -m sglang.launch_server --model-path x --context-length");
  REQUIRE_FALSE(value);
  CHECK(value.error().message == "--sglang: --context-length needs a value");
  auto dp = deployment_from_sglang("python -m sglang.launch_server --model-path x --dp-size two");
  REQUIRE_FALSE(dp);
  CHECK(dp.error().message == "--sglang: --dp-size: 'two' is not a replica count");
  // A value is checked later by the option's own parser, which names the flag; the value
  // keeps the flag it came from for that message's place.
  auto bad = deployment_from_sglang("python -m sglang.launch_server --model-path x --mem-fraction-static 1.5");
  REQUIRE(bad);
  CHECK(bad->engine_options.at("mem_fraction_static").path == "--sglang --mem-fraction-static");
}

TEST_CASE("trtllm-serve: each modelled flag, and the extra options file over them") {
  vramcalc::test::TempDir tmp;
  const std::string extra = tmp.write("extra.yaml", R"y(# LLM API options
kv_cache_config:
  free_gpu_memory_fraction: 0.85
  dtype: fp8
  max_tokens: 400000
  tokens_per_block: 64
  enable_block_reuse: false
  host_cache_size: 1000000000
cuda_graph_config:
  max_batch_size: 32
  enable_padding: true
  batch_sizes: [1, 2, 4]
max_batch_size: 96
enable_attention_dp: true
print_iter_log: true
guided_decoding_backend: xgrammar
)y");
  auto d = deployment_from_trtllm("trtllm-serve meta-llama/Llama-3.1-8B-Instruct --tp_size 2 --pp_size 1 "
                                  "--max_batch_size 64 --max_num_tokens 8192 --max_seq_len 32768 "
                                  "--kv_cache_free_gpu_memory_fraction 0.9 --enable_chunked_prefill --host 0.0.0.0 "
                                  "--port 8000 --max_beam_width 2 --extra_llm_api_options " + extra);
  REQUIRE(d);
  CHECK(key(*d, "model") == "meta-llama/Llama-3.1-8B-Instruct");
  CHECK(key(*d, "tp") == "2");
  CHECK(key(*d, "pp") == "1");
  CHECK(key(*d, "context") == "32768");
  CHECK(key(*d, "engine") == "trtllm");
  CHECK(key(*d, "kv_dtype") == "fp8");               // the file's kv_cache_config.dtype
  CHECK(opt(*d, "max_batch_size") == "96");          // the file overwrites --max_batch_size 64
  CHECK(opt(*d, "free_gpu_memory_fraction") == "0.85");
  CHECK(opt(*d, "max_num_tokens") == "8192");
  CHECK(opt(*d, "enable_chunked_prefill") == "true");
  CHECK(opt(*d, "max_tokens") == "400000");
  CHECK(opt(*d, "tokens_per_block") == "64");
  CHECK(opt(*d, "cuda_graph_max_batch_size") == "32");
  CHECK(opt(*d, "cuda_graph_enable_padding") == "true");
  CHECK(opt(*d, "enable_attention_dp") == "true");
  // A value from the file keeps its line and column.
  CHECK(d->engine_options.at("free_gpu_memory_fraction").where == extra + ":3:29");
  CHECK(d->engine_options.at("free_gpu_memory_fraction").path == "kv_cache_config.free_gpu_memory_fraction");
  CHECK(d->ignored == std::vector<std::string>{"--max_beam_width 2", extra + " kv_cache_config.host_cache_size: 1000000000",
                                               extra + " cuda_graph_config.batch_sizes: [...]",
                                               extra + " guided_decoding_backend: xgrammar"});
  options_are_specs(*d, EngineKind::trtllm);

  // speculative_config Eagle3 (and DraftTarget) becomes the deployment's draft (speculative_model
  // or speculative_model_dir) and spec_tokens (max_draft_len), each at its line and column, and
  // the speculative_decoding_type option (docs/engines.md, TensorRT-LLM "Speculative decoding");
  // without the draft, or another decoding type, it is refused by name at its line and column.
  const std::string spec = tmp.write("spec.yaml", "max_batch_size: 8\nspeculative_config:\n  decoding_type: Eagle3\n  max_draft_len: 3\n");
  auto s = deployment_from_trtllm("trtllm-serve meta-llama/Llama-3.1-8B-Instruct --extra_llm_api_options " + spec);
  REQUIRE_FALSE(s);
  CHECK(s.error().message.starts_with(spec + ":3:3: speculative_config: decoding_type Eagle3 needs speculative_model"));
  const std::string eagle = tmp.write("eagle.yaml", "speculative_config:\n  decoding_type: Eagle\n  max_draft_len: 4\n"
                                                    "  speculative_model_dir: /models/eagle3-head\n");
  auto e3 = deployment_from_trtllm("trtllm-serve meta-llama/Llama-3.1-8B-Instruct --extra_llm_api_options " + eagle);
  REQUIRE(e3);
  CHECK(key(*e3, "draft") == "/models/eagle3-head");
  CHECK(e3->keys.at("draft").where == eagle + ":4:26");
  CHECK(key(*e3, "spec_tokens") == "4");
  CHECK(opt(*e3, "speculative_decoding_type") == "Eagle3");
  options_are_specs(*e3, EngineKind::trtllm);
  const std::string dt = tmp.write("dt.yaml", "speculative_config:\n  decoding_type: Draft_Target\n  speculative_model: x\n");
  auto nolen = deployment_from_trtllm("trtllm-serve meta-llama/Llama-3.1-8B-Instruct --extra_llm_api_options " + dt);
  REQUIRE_FALSE(nolen);
  CHECK(nolen.error().message.starts_with(dt + ":2:3: speculative_config: max_draft_len must be > 0 for Draft_Target"));
  const std::string ngram = tmp.write("ngram.yaml", "speculative_config:\n  decoding_type: NGram\n  max_draft_len: 4\n");
  auto ng = deployment_from_trtllm("trtllm-serve meta-llama/Llama-3.1-8B-Instruct --extra_llm_api_options " + ngram);
  REQUIRE_FALSE(ng);
  CHECK(ng.error().message.starts_with(ngram + ":2:3: speculative_config: decoding_type NGram: not modelled; vramcalc "
                                               "models MTP, Eagle3"));
  const std::string two = tmp.write("two.yaml", "speculative_config:\n  decoding_type: Eagle3\n  eagle3_one_model: false\n");
  auto tm = deployment_from_trtllm("trtllm-serve meta-llama/Llama-3.1-8B-Instruct --extra_llm_api_options " + two);
  REQUIRE_FALSE(tm);
  CHECK(tm.error().message.starts_with(two + ":3:21: speculative_config.eagle3_one_model: not modelled"));
  // decoding_type MTP is the speculative_mtp option, max_draft_len (or the deprecated
  // num_nextn_predict_layers) its value, placed at that value; neither given: auto.
  const std::string mtp = tmp.write("mtp.yaml", "speculative_config:\n  decoding_type: MTP\n  num_nextn_predict_layers: 3\n"
                                                "  use_relaxed_acceptance_for_thinking: true\n");
  auto m = deployment_from_trtllm("trtllm-serve deepseek-ai/DeepSeek-R1 --extra_llm_api_options " + mtp);
  REQUIRE(m);
  CHECK(m->engine_options.at("speculative_mtp").text == "3");
  CHECK(m->engine_options.at("speculative_mtp").where == mtp + ":3:29");
  CHECK(m->ignored == std::vector<std::string>{mtp + " speculative_config.use_relaxed_acceptance_for_thinking: true"});
  const std::string bare = tmp.write("bare.yaml", "speculative_config:\n  decoding_type: MTP\n");
  auto b = deployment_from_trtllm("trtllm-serve deepseek-ai/DeepSeek-R1 --extra_llm_api_options " + bare);
  REQUIRE(b);
  CHECK(b->engine_options.at("speculative_mtp").text == "auto");
  const std::string vanilla = tmp.write("vanilla.yaml", "speculative_config:\n  decoding_type: MTP\n  use_mtp_vanilla: true\n");
  auto v = deployment_from_trtllm("trtllm-serve deepseek-ai/DeepSeek-R1 --extra_llm_api_options " + vanilla);
  REQUIRE_FALSE(v);
  CHECK(v.error().message.starts_with(vanilla + ":3:20: speculative_config.use_mtp_vanilla: not modelled"));

  // --tensor_parallel_size, --ep_size, --config, cuda_graph_config: null, another backend.
  const std::string off = tmp.write("off.yaml", "cuda_graph_config: null\nmoe_expert_parallel_size: 8\nmax_seq_len: 8192\n");
  auto e = deployment_from_trtllm("trtllm-serve serve deepseek-ai/DeepSeek-R1 --tensor_parallel_size 8 --backend tensorrt "
                                  "--config=" + off);
  REQUIRE(e);
  CHECK(key(*e, "tp") == "8");
  CHECK(key(*e, "ep") == "true");
  CHECK(key(*e, "context") == "8192");
  CHECK(opt(*e, "no_cuda_graphs") == "true");
  CHECK(e->ignored == std::vector<std::string>{"--backend tensorrt (the PyTorch backend is modelled)"});
  // An empty file: no options.
  const std::string empty = tmp.write("empty.yaml", "");
  CHECK(deployment_from_trtllm("trtllm-serve m --extra_llm_api_options " + empty));
}

TEST_CASE("trtllm-serve: a missing or malformed extra options file is an error naming it") {
  vramcalc::test::TempDir tmp;
  const std::string missing = tmp.file("nope.yaml");
  auto m = deployment_from_trtllm("trtllm-serve m --extra_llm_api_options " + missing);
  REQUIRE_FALSE(m);
  CHECK(m.error().message.starts_with("--trtllm --extra_llm_api_options: "));
  CHECK(m.error().message.find(missing) != std::string::npos);

  const std::string bad = tmp.write("bad.yaml", "kv_cache_config:\n  dtype: [fp8\n");
  auto b = deployment_from_trtllm("trtllm-serve m --extra_llm_api_options " + bad);
  REQUIRE_FALSE(b);
  CHECK(b.error().message.starts_with(bad + ":"));
  CHECK(b.error().message.find("invalid YAML") != std::string::npos);
  CHECK(b.error().line >= 2);

  const std::string list = tmp.write("list.yaml", "max_batch_size: 8\nkv_cache_config:\n  max_tokens: [1, 2]\n");
  auto l = deployment_from_trtllm("trtllm-serve m --extra_llm_api_options " + list);
  REQUIRE_FALSE(l);
  CHECK(l.error().message == list + ":3:15: kv_cache_config.max_tokens: expected a single value");
  CHECK(l.error().line == 3);

  const std::string top = tmp.write("top.yaml", "- a\n");
  auto t = deployment_from_trtllm("trtllm-serve m --extra_llm_api_options " + top);
  REQUIRE_FALSE(t);
  CHECK(t.error().message == top + ":1:1: expected a mapping of LLM API options");

  auto none = deployment_from_trtllm("trtllm-serve --tp_size 2");
  REQUIRE_FALSE(none);
  CHECK(none.error().message == "--trtllm: no model (trtllm-serve MODEL)");
  // A manifest's file is inside its container: listed, not read.
  auto inside = deployment_from_trtllm_args({"trtllm-serve", "m", "--extra_llm_api_options", "/etc/x.yaml"}, "k.yaml:3:5: pod", false);
  REQUIRE(inside);
  CHECK(inside->ignored == std::vector<std::string>{"--extra_llm_api_options /etc/x.yaml (a file inside the container: not read)"});
}

TEST_CASE("ollama: the model of ollama run, the environment before it as --ollama-env's text") {
  auto d = deployment_from_ollama("OLLAMA_CONTEXT_LENGTH=8192 OLLAMA_NUM_PARALLEL=2 OLLAMA_HOST=0.0.0.0 "
                                  "ollama run qwen3:8b --verbose --keepalive 5m 'why is the sky blue?'");
  REQUIRE(d);
  CHECK(key(*d, "model") == "qwen3:8b");
  CHECK(key(*d, "engine") == "ollama");
  // Every variable goes to Ollama's parser, which reads the ones that change memory and notes
  // the others (OLLAMA_HOST) as not modelled.
  CHECK(opt(*d, "env") == "OLLAMA_CONTEXT_LENGTH=8192 OLLAMA_NUM_PARALLEL=2 OLLAMA_HOST=0.0.0.0");
  CHECK(d->ignored.empty()); // the client's flags and the prompt shape no server memory
  options_are_specs(*d, EngineKind::ollama);

  // `env`, a value with a space, a flag ollama run does not have, `ollama serve` then a pull.
  auto e = deployment_from_ollama("env OLLAMA_KV_CACHE_TYPE=q8_0 'OLLAMA_ORIGINS=a b' ollama serve & sleep 5; "
                                  "ollama pull llama3:70b --insecure; ollama run llama3.1:8b");
  REQUIRE(e);
  CHECK(key(*e, "model") == "llama3:70b");
  CHECK(opt(*e, "env") == "OLLAMA_KV_CACHE_TYPE=q8_0 OLLAMA_ORIGINS=\"a b\"");
  CHECK(e->ignored == std::vector<std::string>{"ollama run llama3.1:8b (one model is checked)"});

  // Errors: no model, no ollama.
  auto serve = deployment_from_ollama("OLLAMA_NUM_PARALLEL=2 ollama serve");
  REQUIRE_FALSE(serve);
  CHECK(serve.error().message == "--ollama: no model: ollama serve loads the models its requests name; give ollama run MODEL");
  auto other = deployment_from_ollama("llama-server -m x.gguf");
  REQUIRE_FALSE(other);
  CHECK(other.error().message == "--ollama: no ollama command (ollama run MODEL)");
  // A manifest's: its container's environment and the model of its annotation.
  auto m = deployment_from_ollama_args({"ollama", "serve"}, "k.yaml:3:5: pod", {{"OLLAMA_CONTEXT_LENGTH", "16384"}}, "gpt-oss:20b");
  REQUIRE(m);
  CHECK(key(*m, "model") == "gpt-oss:20b");
  CHECK(m->keys.at("model").path == "annotation vramcalc/model");
  CHECK(opt(*m, "env") == "OLLAMA_CONTEXT_LENGTH=16384");
}
