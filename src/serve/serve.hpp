// vramcalc serve: the command line's commands behind a local HTTP JSON API and a page
// (docs/serve.md). The server knows HTTP (routes, limits, errors, the page's files); what a
// request means is the command line's: each request is handed, as a Query, to an Api the
// executable provides (src/cli/serve_command.cpp), which runs it through the CLI's own flag
// table and app::run with --json. Target `vramcalc_serve`, linked by the executable only.
#pragma once

#include "vramcalc/error.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vramcalc::serve {

// One request, as the command line would be given it.
struct Query {
  // The command's words: "" (estimate), "plan", "compare", "check", "list models",
  // "list gpus", "list formats".
  std::string command;
  // Flags by their long names without dashes ("ctx", "128k"), in the order given; "model"
  // is the positional model (repeatable for compare). A switch's value is "" or "true".
  std::vector<std::pair<std::string, std::string>> params;
  // An uploaded config.json or GGUF file, at least its header (POST /v1/estimate); the GGUF
  // file's whole size (the gguf-file-size parameter; 0: the body is all of it).
  std::optional<std::string> model_upload;
  std::uint64_t model_upload_file_bytes = 0;
  std::optional<std::string> check_text; // a deployment file or manifest (POST /v1/check)
};

// What the command printed under --json and its exit code; the first error's code.
struct Answer {
  int exit_code = 0;
  std::string body;
  std::optional<ErrorCode> error;
};

using Api = std::function<Answer(const Query&)>;

struct Settings {
  std::string host = "127.0.0.1";
  int port = 8080; // 0: any free port (printed)
  std::optional<std::string> cors_origin;
  std::size_t threads = 8;
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  std::chrono::seconds timeout{10}; // a whole request must arrive within it
  // Run by each worker thread once, when the server starts (the executable builds the
  // thread's parser there, so its memory is the server's from the start, not a request's).
  std::function<void()> worker_start;
};

// "127.0.0.1:8080", "[::1]:8080", ":8080" or "8080" into host and port; an error names --listen.
[[nodiscard]] std::optional<Error> parse_listen(const std::string& text, Settings& s);

// The HTTP status of an answer: 200 (check: whatever its verdict), 400 invalid input, 404 an
// unknown model, 500 an internal or output error.
[[nodiscard]] int http_status(const Answer& a);

// Serves until the process is stopped (SIGINT, SIGTERM); returns the exit code (2: cannot
// bind). Prints "vramcalc serve: listening on http://HOST:PORT/" on stderr once bound, and an
// access-log line per request.
int run(const Settings& settings, const Api& api);

} // namespace vramcalc::serve
