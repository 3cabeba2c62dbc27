// The command line: flags in, library calls, rendered text out. Private to src/cli.
#pragma once

#include "app.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace CLI {
class App;
}

namespace vramcalc::cli {

using app::Options;
using app::Outcome;
using CliError = app::Failure;

// The options' terminal-dependent rendering (colour, bars, width) from the flags and stdout.
RenderOptions render_options(const Options& o);

Outcome run(const Options& options);

// What a command line printed and its exit code: main writes `out` on stdout and `err` on
// stderr; vramcalc serve answers a request with `out`. `error` is the first error's code.
struct CommandResult {
  std::string out;
  std::string err;
  int exit_code = 0;
  std::optional<ErrorCode> error;
};

// Parses `args` (the arguments after the program's name) with the flag table and runs the
// command (main.cpp). `request`, when given, is a vramcalc serve request: it may adjust the
// options once parsed (its uploaded texts, no files), and `serve` is refused.
CommandResult run_command_line(const std::vector<std::string>& args,
                               const std::function<void(Options&)>& request = {});

// Builds this thread's parser for requests (a worker of vramcalc serve, at its start).
void prepare_request_parser();

// `vramcalc serve`'s own flags, as typed (serve_command.cpp).
struct ServeSettings {
  std::string listen = "127.0.0.1:8080";
  std::optional<std::string> cors;
  unsigned threads = 8;
  std::string max_body = "4MiB";
  unsigned timeout_seconds = 10;
};
// Registers the serve command and its flags on `app`.
CLI::App* add_serve_command(CLI::App& app, ServeSettings& s);
// Runs the server until it is stopped; its exit code.
int serve_command(const ServeSettings& s);
// `vramcalc --version`: the version, the built-in catalog (revision, models, GPUs) and the build.
std::string version_text();

} // namespace vramcalc::cli
