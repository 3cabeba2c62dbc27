// Deployment files and engine command lines for `vramcalc check` (src/io/deployments.hpp):
// every engine flag vramcalc models maps to its key; the rest are listed as ignored.
#include "deployments.hpp"
#include "../support/deployment_keys.hpp"

#include <catch2/catch.hpp>

using namespace vramcalc;
using namespace vramcalc::io;
using vramcalc::test::key;
using vramcalc::test::opt;

TEST_CASE("vllm serve: each modelled flag, and the ignored ones") {
  auto d = deployment_from_vllm(
      "vllm serve meta-llama/Llama-3.1-70B-Instruct --max-model-len 32768 --kv-cache-dtype fp8 -tp 4 -pp 2 "
      "--gpu-memory-utilization 0.9 --max_num_seqs 64 --max-num-batched-tokens=8192 --kv-cache-memory 20GiB "
      "--block-size 32 --enforce-eager --enable-expert-parallel --quantization awq --served-model-name chat "
      "--trust-remote-code --port 8000 --swap-space 4 --cpu-offload-gb 2.5 --kv-offloading-size 8 "
      "--kv-offloading-backend native --seed 0");
  REQUIRE(d);
  CHECK(key(*d, "model") == "meta-llama/Llama-3.1-70B-Instruct");
  CHECK(key(*d, "context") == "32768");
  CHECK(key(*d, "kv_dtype") == "fp8");
  CHECK(key(*d, "tp") == "4");
  CHECK(key(*d, "pp") == "2");
  CHECK(key(*d, "quant") == "awq");
  CHECK(key(*d, "ep") == "true");
  CHECK(key(*d, "engine") == "vllm");
  CHECK(opt(*d, "gpu_memory_utilization") == "0.9");
  CHECK(opt(*d, "max_num_seqs") == "64");
  CHECK(opt(*d, "max_num_batched_tokens") == "8192");
  CHECK(opt(*d, "kv_cache_memory") == "20GiB");
  CHECK(opt(*d, "block_size") == "32");
  CHECK(opt(*d, "enforce_eager") == "true");
  // The host tiers (docs/engines.md, "CPU offload"): engine options since they are modelled.
  CHECK(opt(*d, "swap_space") == "4");
  CHECK(opt(*d, "cpu_offload_gb") == "2.5");
  CHECK(opt(*d, "kv_offloading_size") == "8");
  CHECK(opt(*d, "kv_offloading_backend") == "native");
  // --max_num_seqs is --max-num-seqs to vLLM's parser; the name, the remote code and the port do
  // not change memory and are read silently; the seed is not modelled.
  CHECK(d->ignored == std::vector<std::string>{"--seed 0"});
}

TEST_CASE("vllm serve: the LoRA flags are engine options, not ignored") {
  auto d = deployment_from_vllm(
      "vllm serve meta-llama/Llama-3.1-8B-Instruct --enable-lora --max-loras 4 --max_lora_rank=64 "
      "--max-cpu-loras 8 --fully-sharded-loras --lora-target-modules o_proj,qkv_proj "
      "--lora-modules dolly=/adapters/dolly");
  REQUIRE(d);
  CHECK(opt(*d, "enable_lora") == "true");
  CHECK(opt(*d, "max_loras") == "4");
  CHECK(opt(*d, "max_lora_rank") == "64");
  CHECK(opt(*d, "max_cpu_loras") == "8");
  CHECK(opt(*d, "fully_sharded_loras") == "true");
  CHECK(opt(*d, "lora_target_modules") == "o_proj,qkv_proj");
  // The adapters named at start-up go into those slots (or host memory): read silently.
  CHECK(d->ignored.empty());
}

TEST_CASE("vllm: --dtype is the format when nothing is quantized; --model; python -m") {
  auto d = deployment_from_vllm("python3 -m vllm.entrypoints.openai.api_server --model Qwen/Qwen2.5-7B --dtype float16 "
                                "--kv-cache-dtype auto --tensor-parallel-size 2 --quantization bitsandbytes");
  REQUIRE(d);
  CHECK(key(*d, "model") == "Qwen/Qwen2.5-7B");
  CHECK(key(*d, "quant") == "nf4"); // --quantization wins over --dtype
  CHECK(key(*d, "kv_dtype") == "-"); // auto: the model's dtype
  CHECK(key(*d, "tp") == "2");
  auto e = deployment_from_vllm("vllm serve Qwen/Qwen2.5-7B --dtype bfloat16");
  REQUIRE(e);
  CHECK(key(*e, "quant") == "bf16");
}

TEST_CASE("llama-server: each modelled flag, -c split over -np, -hf REPO:QUANT") {
  auto d = deployment_from_llama_server(
      "./llama-server -m models/x.gguf -c 32768 -np 4 -ngl 99 -ctk q8_0 -ctv q4_0 -fa on -b 4096 -ub 1024 "
      "-ts 3,1 --n-cpu-moe 8 -kvu --swa-full -nkvo --port 8080 --jinja -t 8");
  REQUIRE(d);
  CHECK(key(*d, "model") == "models/x.gguf");
  CHECK(key(*d, "context") == "8192"); // 32,768 over 4 slots
  CHECK(key(*d, "batch") == "4");
  CHECK(key(*d, "engine") == "llamacpp");
  CHECK(opt(*d, "n_gpu_layers") == "99");
  CHECK(opt(*d, "cache_type_k") == "q8_0");
  CHECK(opt(*d, "cache_type_v") == "q4_0");
  CHECK(opt(*d, "flash_attn") == "on");
  CHECK(opt(*d, "batch_size") == "4096");
  CHECK(opt(*d, "ubatch_size") == "1024");
  CHECK(opt(*d, "tensor_split") == "3,1");
  CHECK(opt(*d, "n_cpu_moe") == "8");
  CHECK(opt(*d, "kv_unified") == "true");
  CHECK(opt(*d, "swa_full") == "true");
  CHECK(opt(*d, "no_kv_offload") == "true");
  CHECK(d->ignored == std::vector<std::string>{"-t 8"}); // --port and --jinja do not change memory

  auto h = deployment_from_llama_server("llama-server -hf bartowski/Qwen2.5-14B-Instruct-GGUF:Q6_K --cpu-moe -fa");
  REQUIRE(h);
  CHECK(key(*h, "model") == "bartowski/Qwen2.5-14B-Instruct-GGUF");
  CHECK(key(*h, "quant") == "q6_k");
  CHECK(key(*h, "context") == "-"); // no -c: the model's trained context
  CHECK(opt(*h, "n_cpu_moe") == "all");
  CHECK(opt(*h, "flash_attn") == "on"); // the old bare -fa
  // No -np: llama-server's automatic 4 slots share one unified cache of the training context.
  CHECK(key(*h, "batch") == "4");
  CHECK(opt(*h, "kv_unified") == "true");
  CHECK(h->context_divisor == 4);

  // -np without -c: the slots divide the training context; -c 0 is the same.
  for (const char* line : {"llama-server -m m.gguf -np 2", "llama-server -m m.gguf -np 2 -c 0"}) {
    auto n = deployment_from_llama_server(line);
    REQUIRE(n);
    CHECK(key(*n, "batch") == "2");
    CHECK(opt(*n, "kv_unified") == "-");
    CHECK(n->context_divisor == 2);
  }
  // -c given: each slot gets -c / -np, and no division is left to do.
  auto c = deployment_from_llama_server("llama-server -m m.gguf -c 32768");
  REQUIRE(c);
  CHECK(key(*c, "context") == "8192");
  CHECK(c->context_divisor == 1);
}

TEST_CASE("command lines: quoting and errors") {
  auto a = split_command_line(R"(vllm serve "my model" --x 'a b' c\ d)", "t");
  REQUIRE(a);
  CHECK(*a == std::vector<std::string>{"vllm", "serve", "my model", "--x", "a b", "c d"});
  CHECK_FALSE(split_command_line("vllm 'x", "t"));
  CHECK_FALSE(deployment_from_vllm("vllm serve --max-model-len"));
  CHECK_FALSE(deployment_from_llama_server("llama-server -c 4096"));
}

TEST_CASE("deployment files: defaults, locations, errors") {
  auto d = parse_deployments("defaults:\n  gpu: h100\n  headroom: 5%\ndeployments:\n  - name: a\n    model: x\n"
                             "  - name: b\n    model: y\n    gpu: l4\n",
                             "d.yaml");
  REQUIRE(d);
  REQUIRE(d->size() == 2);
  CHECK(key((*d)[0], "gpu") == "h100");
  CHECK(key((*d)[1], "gpu") == "l4"); // its own value wins
  CHECK(key((*d)[1], "headroom") == "5%");
  CHECK((*d)[1].keys.at("gpu").where == "d.yaml:9:10");
  CHECK((*d)[1].keys.at("gpu").path == "deployments[1].gpu");
  CHECK((*d)[1].where == "d.yaml:7:5");

  const auto err = [](const char* text, const char* origin = "d.yaml") {
    auto r = parse_deployments(text, origin);
    return r ? std::string("(parsed)") : r.error().message;
  };
  CHECK(err("deployments:\n  - name: a\n    model: x\n    gpu: [h100\n") ==
        "d.yaml:5:1: invalid YAML/JSON: while parsing a flow sequence: did not find expected ',' or ']'");
  CHECK(err("{\"deployments\": [{\"name\": \"a\",, }]}", "d.json").starts_with("d.json:1:"));
  CHECK(err("deployment:\n  - name: a\n") == "d.yaml:1:1: deployment: unknown key; did you mean 'deployments'?");
  CHECK(err("deployments:\n  - name: a\n    model: x\n    gpu: h100\n    context: [1, 2]\n") ==
        "d.yaml:5:14: deployments[0].context: expected a single value");
  CHECK(err("- a\n- b\n") == "d.yaml:1:1: expected a mapping with a 'deployments' list");
  CHECK(err("defaults:\n  name: x\ndeployments:\n  - name: a\n    model: x\n    gpu: h100\n") ==
        "d.yaml:2:3: defaults.name: a default cannot have a name");
}

// Found by fuzz_deploy (tests/fuzz/corpus/deploy/crash-*): YAML allows a list or a mapping
// as a key, and reading it as text threw YAML::TypedBadConversion out of parse_deployments.
TEST_CASE("deployment files: a list or a mapping as a key is an error, not an exception") {
  const auto err = [](const char* text, const char* origin = "d.yaml") {
    auto r = parse_deployments(text, origin);
    return r ? std::string("(parsed)") : r.error().message;
  };
  CHECK(err("{[a]: b}") == "d.yaml:1:2: a key must be a name, not a list or a mapping");
  // the fuzzer's input; as a .json file JSON's own rules refuse it first
  CHECK(err("{[{\"name\": \"x\"}]}") == "d.yaml:1:2: a key must be a name, not a list or a mapping");
  CHECK(err("{[{\"name\": \"x\"}]}", "d.json") ==
        "d.json:1:2: invalid JSON: syntax error while parsing object key - unexpected '['; expected string literal");
  CHECK(err("deployments:\n  - name: a\n    [model]: x\n") ==
        "d.yaml:3:5: deployments[0]: a key must be a name, not a list or a mapping");
  CHECK(err("deployments:\n  - name: a\n    model: x\n    gpu: h100\n    engine_options:\n"
            "      ? {n_gpu_layers: 1}\n      : 2\n") ==
        "d.yaml:6:9: deployments[0].engine_options: a key must be a name, not a list or a mapping");
  CHECK(err("defaults:\n  ? [gpu]\n  : h100\ndeployments: []\n") ==
        "d.yaml:2:5: defaults: a key must be a name, not a list or a mapping");
  // a null key is the key "null", unknown
  CHECK(err("~: 1\n").starts_with("d.yaml:1:1: null: unknown key"));
}

TEST_CASE("more than 10,000 list items or documents are refused as they are read") {
  // 10,000 deployments are read; the 10,001st item is refused at its own line (3 lines each
  // after the first: line 2 + 3 x 10,000 = 30,002), before any more of the file is built.
  std::string text = "deployments:\n";
  for (int i = 0; i < 10001; ++i) text += "  - name: d" + std::to_string(i) + "\n    model: llama3-8b\n    gpu: h100\n";
  const DeploymentFile f = read_deployments(text, "many.yaml");
  REQUIRE(f.errors.size() == 1);
  CHECK(f.errors[0].line == 30002);
  CHECK(f.errors[0].message.find("more than 10,000 list items or documents") != std::string::npos);
  const std::size_t last = text.rfind("  - name: d10000");
  CHECK(read_deployments(text.substr(0, last), "many.yaml").deployments.size() == 10000);

  std::string docs;
  for (int i = 0; i < 10001; ++i) docs += "---\ndeployments: [{name: d" + std::to_string(i) + ", model: llama3-8b, gpu: h100}]\n";
  const DeploymentFile g = read_deployments(docs, "docs.yaml");
  REQUIRE(g.errors.size() == 1);
  CHECK(g.errors[0].message.find("more than 10,000 list items or documents") != std::string::npos);
}
