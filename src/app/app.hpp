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
#include <utility>
#include <vector>

namespace vramcalc::app {

// An error to report: printed as "vramcalc: error: <message>" (or the error document of the
// output's format), exit code 2 (74 for output errors).
struct Failure {
  Failure(Error e, std::vector<Error> further = {}) : error(std::move(e)), more(std::move(further)) {}
  Error error;
  std::vector<Error> more; // further errors of the same input (a file checked whole)
};

// A command's request: the flags as typed (text; the application reads and checks them).
struct Options {
  // estimate
  std::string model;
  std::optional<std::string> quant;
  std::optional<std::string> kv;
  std::optional<std::string> ctx;
  std::uint64_t context_divisor = 1; // without --ctx: the model's maximum / this per sequence (llama-server slots)
  std::optional<std::string> batch;
  std::vector<std::string> gpus;
  std::optional<std::string> gpu_mem;
  std::optional<std::string> overhead;
  std::vector<std::string> models_dirs;
  std::string engine = "generic";
  std::optional<std::string> tp, pp;
  bool ep = false;
  // Each engine's own flags as given, by canonical name ("--max-num-seqs" -> "64"; a switch
  // "true"): the engines' option specs (engine.hpp) read them.
  std::map<std::string, std::string> engine_flags;
  std::optional<std::string> kv_policy;
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
  std::optional<std::string> vllm_command, llama_server_command, headroom;
  std::optional<std::string> sglang_command, trtllm_command, ollama_command; // check --sglang / --trtllm / --ollama
  std::string format = "table";
  std::vector<std::string> compare_models;
  // How to render text (units, colour, bars, width): the command line fills it from the
  // flags and the terminal.
  RenderOptions render;
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
