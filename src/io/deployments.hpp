// Deployment files for `vramcalc check` (YAML or JSON, read with yaml-cpp), and the engine
// command lines it also accepts (`vllm serve ...`, `llama-server ...`). Private to the CLI:
// the values stay text, checked by the same code as the flags they stand for; every value
// keeps where it came from ("deploy.yaml:7:12", "deployments[0].quant") for messages.
// docs/ci.md documents the keys.
#pragma once

#include "vramcalc/error.hpp"

#include <cstddef>
#include <cstdint>
#include <expected>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc::io {

struct DeployValue {
  std::string text;  // the scalar as written ("32k", "fp8", "true")
  std::string path;  // "deployments[0].quant", "deployments[0].engine_options.max_num_seqs"
  std::string where; // "deploy.yaml:7:12" (empty for command lines)
  std::uint64_t line = 0, column = 0; // of `where` (0: not in a file)
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
  std::uint64_t context_divisor = 1; // no context given: each sequence gets the model's maximum / this
                                     // (llama-server's slots share the training context)
};

// The keys a deployment may have, and the engine options (both also accepted in `defaults:`).
[[nodiscard]] const std::vector<std::string_view>& deployment_keys();
[[nodiscard]] const std::vector<std::string_view>& engine_option_keys();

// A deployment file read whole: the deployments without errors, and every error found.
struct DeploymentFile {
  std::vector<Deployment> deployments;
  std::vector<Error> errors; // in file order, each with its file, line and column
};

// `text` is YAML or JSON: {deployments: [{name: ..., model: ..., ...}, ...]}, with optional
// `defaults:` merged into each; several YAML documents (`---`) are each read. Strict: unknown
// and duplicate keys, lists where one value is expected, names used twice and more than
// 10,000 deployments are errors naming the file, line, column and path. Every error of the
// file is collected; a deployment with one is left out.
[[nodiscard]] DeploymentFile read_deployments(std::string_view text, std::string_view origin);

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

} // namespace vramcalc::io
