// Deployment files for `vramcalc check` (YAML or JSON, read with yaml-cpp), and the engine
// command lines it also accepts (`vllm serve ...`, `llama-server ...`). Private to the CLI:
// the values stay text, checked by the same code as the flags they stand for; every value
// keeps where it came from ("deploy.yaml:7:12", "deployments[0].quant") for messages.
// docs/ci.md documents the keys.
#pragma once

#include "vramcalc/error.hpp"
#include "vramcalc/io/catalog.hpp"

#include <cstddef>
#include <cstdint>
#include <expected>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vramcalc::io {

struct DeployValue {
  std::string text;  // the scalar as written ("32k", "fp8", "true")
  std::string path;  // "deployments[0].quant", "deployments[0].engine_options.max_num_seqs"
  std::string where; // "deploy.yaml:7:12" (empty for command lines)
  std::uint64_t line = 0, column = 0; // of `where` (0: not in a file)
  std::string file{}; // the file of `where` when not the deployment's (a trtllm-serve extra options file)
};

struct Deployment {
  std::string name;
  std::string file;  // origin
  std::size_t index = 0;
  std::string where; // of the deployment's own mapping
  std::string path;  // "deployments[3]" ("document 2: deployments[3]" after the first document)
  std::uint64_t line = 0, column = 0;
  std::map<std::string, DeployValue> keys;           // model, quant, kv_dtype, context, batch, engine, gpu, ...
  std::map<std::string, DeployValue> engine_options; // gpu_memory_utilization, n_gpu_layers, ...
  std::vector<std::string> ignored;                  // command-line flags that were not understood
  // SGLang's --dp-size: replicas of the tp x pp GPUs each (a manifest's pod holds them all);
  // each replica is checked as the one deployment.
  std::uint64_t data_parallel = 1;
  std::uint64_t context_divisor = 1; // no context given: each sequence gets the model's maximum / this
                                     // (llama-server's slots share the training context)
  // From a manifest: the GPUs its resources ask for (× a LeaderWorkerSet's size); 0 when not
  // read from one. A --gpu without a count then gives only the type.
  std::uint32_t gpu_count = 0;
  std::string kind;                  // "Deployment", "compose service", "vLLM config"; "" for a deployment file
  std::vector<std::string> notes;    // what was read from where (the GPU type's label, the command's origin)
};

// A workload of a manifest that is not checked, and why (no GPU, a kind without workloads,
// an engine not modelled, the vramcalc/skip annotation).
struct Skipped {
  std::string name;
  std::string file;
  std::uint64_t line = 0;
  std::string reason;
  std::string kind;     // "Service", "Deployment", "compose service"
  bool workload = true; // false: an object that runs nothing (a Service, a ConfigMap)
};

// The keys a deployment may have, and the engine options (both also accepted in `defaults:`).
[[nodiscard]] const std::vector<std::string_view>& deployment_keys();
[[nodiscard]] const std::vector<std::string_view>& engine_option_keys();

// A deployment file read whole: the deployments without errors, and every error found.
struct DeploymentFile {
  std::vector<Deployment> deployments;
  std::vector<Error> errors; // in file order, each with its file, line and column
  std::vector<Skipped> skipped;
};

// `text` is YAML or JSON: {deployments: [{name: ..., model: ..., ...}, ...]}, with optional
// `defaults:` merged into each; several YAML documents (`---`) are each read. Strict: unknown
// and duplicate keys, lists where one value is expected, names used twice and more than
// 10,000 deployments are errors naming the file, line, column and path. Every error of the
// file is collected; a deployment with one is left out. A document may also be a Kubernetes
// object, a Docker Compose file or a vLLM config (manifests.hpp), recognised by its content;
// `labels` (may be null) name the GPUs of node selectors.
[[nodiscard]] DeploymentFile read_deployments(std::string_view text, std::string_view origin,
                                              const GpuLabels* labels = nullptr);

// read_deployments, failing on its first error.
[[nodiscard]] std::expected<std::vector<Deployment>, Error> parse_deployments(std::string_view text,
                                                                             std::string_view origin);

// Splits a shell command line (single and double quotes, backslash escapes).
[[nodiscard]] std::expected<std::vector<std::string>, Error> split_command_line(std::string_view line,
                                                                              std::string_view origin);

// `vllm serve MODEL --max-model-len 32768 -tp 4 ...` (also `python -m vllm.entrypoints...`)
// and `llama-server -m model.gguf -c 32768 -np 4 ...` as a deployment; flags vramcalc does
// not model are listed in `ignored`.
[[nodiscard]] std::expected<Deployment, Error> deployment_from_vllm(std::string_view command);
[[nodiscard]] std::expected<Deployment, Error> deployment_from_llama_server(std::string_view command);
// The same from words already split (a container's command and args); `origin` names where
// they came from in messages and in each value's path.
[[nodiscard]] std::expected<Deployment, Error> deployment_from_vllm_args(std::vector<std::string> args,
                                                                         const std::string& origin);
[[nodiscard]] std::expected<Deployment, Error> deployment_from_llama_server_args(std::vector<std::string> args,
                                                                                 const std::string& origin);

// SGLang: `python -m sglang.launch_server --model-path M --tp 4 ...` (also `sglang serve`);
// TensorRT-LLM: `trtllm-serve M --tp_size 2 ... --extra_llm_api_options extra.yaml`, the file
// read (relative to the current directory, as trtllm-serve reads it) when `read_files`, else
// listed as ignored (a manifest's path inside its container); Ollama: `[K=V ...] ollama run M`,
// its environment the text --ollama-env takes. Engine options go by the keys of the engine's
// option specs; flags vramcalc does not model are listed in `ignored`.
[[nodiscard]] std::expected<Deployment, Error> deployment_from_sglang(std::string_view command);
[[nodiscard]] std::expected<Deployment, Error> deployment_from_sglang_args(std::vector<std::string> args,
                                                                           const std::string& origin);
[[nodiscard]] std::expected<Deployment, Error> deployment_from_trtllm(std::string_view command);
// Why TensorRT-LLM's speculative decoding (--draft, an extra options file's speculative_config) is refused.
[[nodiscard]] std::string_view trtllm_speculative_refusal();
[[nodiscard]] std::expected<Deployment, Error> deployment_from_trtllm_args(std::vector<std::string> args,
                                                                           const std::string& origin, bool read_files);
[[nodiscard]] std::expected<Deployment, Error> deployment_from_ollama(std::string_view command);
// `env`: the server's environment besides the line's own (a container's OLLAMA_* variables);
// `model`: the model when the line names none (`ollama serve`; "" for none).
[[nodiscard]] std::expected<Deployment, Error> deployment_from_ollama_args(
    std::vector<std::string> args, const std::string& origin,
    const std::vector<std::pair<std::string, std::string>>& env, const std::string& model);

} // namespace vramcalc::io
