// The application: what each command does with its flags, between the command line (which
// only declares flags, calls this and prints) and the libraries (loaders, memory math,
// renderers). Workloads from flags or deployments, check verdicts, inspect's aggregation and
// the output format of each command live here, unit-testable without a process.
#pragma once

#include "vramcalc/error.hpp"
#include "vramcalc/io/catalog.hpp"
#include "vramcalc/render.hpp"

#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vramcalc::app {

// An error to report: printed as "vramcalc: error: <message>" (or the error document of the
// output's format), exit code 2 (74 for output errors).
struct Failure {
  Failure(Error e, std::vector<Error> further = {}, bool at_origin = false)
      : error(std::move(e)), more(std::move(further)), placed(at_origin) {}
  Error error;
  std::vector<Error> more; // further errors of the same input (a file checked whole)
  bool placed = false;     // the error names a deployment's value it is about (check places others)
};

// Where a value came from, for the messages about it: a flag of the command ("--quant: ..."),
// or a value of a deployment `vramcalc check` reads: a key of its file
// ("deploy.yaml:5:12: deployments[0].quant: ..."), a flag of the check applied to it
// ("deploy.yaml:2:5: llama-8b: --gpu: ..."), a flag of an engine's command line
// ("--max-model-len: ...").
struct Origin {
  std::string name;   // the flag ("--quant") or the key's path; "" for a command's model argument
  std::string prefix; // what comes before the name ("deploy.yaml:5:12: ")
  std::string file;   // the error's file, line and column ("", 0: none)
  std::uint64_t line = 0, column = 0;
  bool deployment = false; // a deployment's value, not a flag of the command

  [[nodiscard]] static Origin flag(std::string name) {
    Origin at;
    at.name = std::move(name);
    return at;
  }
};

// What is wrong with a value, placed at its origin: "<prefix><name>: <what>" with the origin's
// file, line and column. `flag`, when given, is what a flag's message names instead of its
// name ("--tp/--pp").
[[nodiscard]] Error error_at(const Origin& at, ErrorCode code, const std::string& what, std::string_view flag = {});

// A value as typed, and where it came from.
struct Value {
  std::string text;
  Origin origin;

  // A flag's value: "--kv" "fp8".
  [[nodiscard]] static Value flag(std::string name, std::string text) { return {std::move(text), Origin::flag(std::move(name))}; }
};

// A command's request: the flags as typed (text and where each came from: a flag, or a
// deployment's key for `check`; the application reads and checks them, and names that origin
// in its messages).
struct Options {
  // estimate
  std::string model;
  Origin model_origin; // "" for the command's argument; a deployment's `model` key
  std::optional<Value> quant;
  std::optional<Value> kv;
  std::optional<Value> ctx;
  std::uint64_t context_divisor = 1; // without --ctx: the model's maximum / this per sequence (llama-server slots)
  std::optional<Value> batch;
  std::vector<Value> gpus;
  std::optional<std::string> gpu_mem;
  std::optional<Value> overhead;
  std::optional<Value> host_mem; // --host-mem / host_mem
  std::vector<std::string> models_dirs;
  Value engine = Value::flag("--engine", "generic");
  std::optional<Value> tp, pp;
  bool ep = false;
  // Each engine's own flags as given, by canonical name ("--max-num-seqs" -> "64"; a switch
  // "true"): the engines' option specs (engine.hpp) read them.
  std::map<std::string, Value> engine_flags;
  std::optional<Value> kv_policy;
  // Speculative decoding's draft model, any engine (vLLM: the draft_model method; llama.cpp:
  // -md): resolved like the model argument; its format (default: its own) and draft tokens.
  std::optional<Value> draft, draft_format, spec_tokens;
  std::optional<Value> lora; // --lora RANK[xN]: each engine's own LoRA options
  std::optional<Value> images, image_size; // --images N / images, --image-size WxH / image_size
  bool max_ctx = false, max_batch = false, fit_quant = false;
  bool si = false;
  bool json = false;
  std::string color = "auto";
  std::string bars = "auto";
  bool all_gpus = false;
  std::optional<std::string> plot; // --plot FILE.svg
  std::optional<std::string> prices; // --prices FILE: instead of models/prices.json
  std::string rank = "hour";         // plan: hour, mtok or gpus
  // list
  bool list = false;
  std::string list_what;
  // plan, compare
  bool plan = false;
  bool compare = false;
  bool inspect = false;
  bool explain = false;
  // check
  bool check = false;
  std::vector<std::string> check_files;
  std::optional<std::string> vllm_command, llama_server_command;
  std::optional<std::string> sglang_command, trtllm_command, ollama_command; // check --sglang / --trtllm / --ollama
  std::optional<Value> headroom;
  std::string format = "table";
  std::vector<std::string> compare_models;
  // How to render text (units, colour, bars, width): the command line fills it from the
  // flags and the terminal.
  RenderOptions render;
  // vramcalc serve's requests (docs/serve.md): false refuses every model, draft or file the
  // request names as a path, and looks no name up on the filesystem (catalog names only).
  bool read_files = true;
  // A model's file given as its bytes, an uploaded request body: a config.json (or model
  // spec), or a GGUF file, at least its header (`model_upload_file_bytes`: the whole file's
  // size; 0: the bytes are all of it). The model, named `model` ("model" when empty), instead
  // of a file.
  std::optional<std::string> model_upload;
  std::uint64_t model_upload_file_bytes = 0;
  // vramcalc serve: the catalogs (without --models-dir) and the built-in price table loaded
  // for a request are kept for the next ones, so a request parses no catalog JSON.
  bool keep_catalogs = false;
  // What `check -` reads instead of standard input: a request body.
  std::optional<std::string> stdin_text;
};

// Output of a command: what goes to stdout, and the exit code.
struct Outcome {
  std::string out;
  int exit_code = 0;
};

// The catalog's files: the built-in ones, or those of the directory VRAMCALC_CATALOG_DIR names
// (laid out like models/): the tests' fixed catalog, tests/data/catalog, for the cases that
// enumerate the catalog (tests/cli/README.md).
std::expected<io::CatalogFiles, Error> catalog_files();

// Runs the command `options` asks for. Throws Failure for bad input (exit 2) or output
// errors (exit 74).
Outcome run(const Options& options);

} // namespace vramcalc::app
