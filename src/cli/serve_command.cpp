// `vramcalc serve` on the command line's side: its flags, and each request turned into the
// arguments of the command it mirrors, parsed by the same flag table and run by the same
// path as a typed command with --json (docs/serve.md). The HTTP side is src/serve.
#include "cli.hpp"
#include "flags.hpp"
#include "serve.hpp"

#include "vramcalc/io/catalog.hpp"
#include "vramcalc/render.hpp"
#include "vramcalc/text.hpp"
#include "vramcalc/units.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>

namespace vramcalc::cli {

namespace {

// A refusal of a request's parameter, as the error document --json prints.
serve::Answer refused(const std::string& message) {
  return {2, render_error_json(Error{ErrorCode::invalid_argument, message}), ErrorCode::invalid_argument};
}

bool plain_name(std::string_view k) {
  return !k.empty() && k.size() <= 48 && std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

// The parameter `key=value` as arguments ("--ctx=128k"; a switch "--ep"), or why it is refused.
std::optional<std::string> flag_arguments(const std::string& key, const std::string& value, std::vector<std::string>& args) {
  const std::string shown = excerpt(key, 48);
  if (!plain_name(key)) return "parameter '" + shown + "': not a flag's name (write ctx for --ctx)";
  if (key == "help" || key == "version") return "parameter '" + key + "': not a request's (docs/serve.md lists the endpoints)";
  if (key == "json") return std::nullopt; // always on
  const auto kind = flag_kind("--" + key);
  if (!kind) {
    args.push_back("--" + key + "=" + value); // refused by the flag table, with its "did you mean"
    return std::nullopt;
  }
  if (kind->names_file) {
    return "parameter '" + key + "': " + kind->canonical + " names a file, and vramcalc serve reads and writes no files a request names";
  }
  if (kind->canonical == "--lora" && value.find_first_of("./\\") != std::string::npos) {
    return "parameter 'lora': adapter files are not read by vramcalc serve; give RANK or RANKxN (16, 64x4)";
  }
  if (kind->is_switch) {
    if (value == "false") return std::nullopt;
    if (value != "" && value != "true") return "parameter '" + key + "': a switch; give " + key + "=true or leave it out";
    args.push_back("--" + key);
    return std::nullopt;
  }
  args.push_back("--" + key + "=" + value);
  return std::nullopt;
}

// A request run as the command line it mirrors: the command's words, --json, each flag, then
// the positional model(s) after "--" (never read as a command or a flag).
serve::Answer answer(const serve::Query& q) {
  std::vector<std::string> args;
  for (std::size_t at = 0; at < q.command.size();) {
    const auto space = q.command.find(' ', at);
    args.push_back(q.command.substr(at, space - at));
    if (space == std::string::npos) break;
    at = space + 1;
  }
  args.emplace_back("--json");
  std::vector<std::string> models;
  for (const auto& [key, value] : q.params) {
    if (key == "model" || key == "models") {
      models.push_back(value);
      continue;
    }
    if (auto why = flag_arguments(key, value, args)) return refused(*why);
  }
  if (q.check_text) models.emplace_back("-");
  // An uploaded file is named as `vramcalc config.json` names it: "model".
  if (q.model_upload && models.empty()) models.emplace_back("model");
  if (models.size() > 1 && q.command != "compare") return refused("parameter 'model': give one model (compare takes several)");
  // A model is never read as a flag or a command.
  static constexpr std::string_view commands[] = {"list", "plan", "compare", "check", "inspect", "explain", "serve", "help"};
  for (const std::string& m : models) {
    if ((m.starts_with("-") && m != "-") || std::find(std::begin(commands), std::end(commands), m) != std::end(commands)) {
      return refused("parameter 'model': '" + excerpt(m, 48) + "' is not a model's name");
    }
  }
  args.insert(args.end(), models.begin(), models.end());
  const CommandResult r = run_command_line(args, [&q](Options& o) {
    o.read_files = false;
    o.keep_catalogs = true;
    o.model_upload = q.model_upload;
    o.model_upload_file_bytes = q.model_upload_file_bytes;
    o.stdin_text = q.check_text;
  });
  if (r.exit_code == 70) return {70, render_error_json(Error{ErrorCode::invalid_argument, "internal error"}), std::nullopt};
  return {r.exit_code, r.out, r.error};
}

} // namespace

CLI::App* add_serve_command(CLI::App& app, ServeSettings& s) {
  CLI::App* serve = app.add_subcommand(
      "serve", "a local HTTP JSON API mirroring the commands, and a page at / (docs/serve.md)");
  serve->add_option("--listen", s.listen, "address and port to listen on (default 127.0.0.1:8080; port 0: any free one)");
  serve->add_option("--cors", s.cors, "allow this origin's pages to call the API (default: none)")->type_name("ORIGIN");
  serve->add_option("--threads", s.threads, "requests served at once (default 8)")->check(CLI::Range(1u, 256u));
  serve->add_option("--max-body", s.max_body, "the largest request body (default 4MiB)")->type_name("SIZE");
  serve->add_option("--timeout", s.timeout_seconds, "seconds a request may take to arrive (default 10)")
      ->check(CLI::Range(1u, 3600u));
  return serve;
}

int serve_command(const ServeSettings& given) {
  serve::Settings s;
  if (auto e = serve::parse_listen(given.listen, s)) throw CliError{*e};
  const auto body = parse_size(given.max_body);
  if (!body || *body == 0 || *body > (1ull << 30)) {
    throw CliError{Error{ErrorCode::invalid_argument, "--max-body: '" + excerpt(given.max_body, 40) + "' is not a size from 1 byte to 1GiB (e.g. 4MiB)"}};
  }
  s.max_body_bytes = static_cast<std::size_t>(*body);
  s.cors_origin = given.cors;
  s.threads = given.threads;
  s.timeout = std::chrono::seconds(given.timeout_seconds);
  s.worker_start = prepare_request_parser;
  // The catalog (VRAMCALC_CATALOG_DIR's, when set) is read now; then no file is.
  const auto files = app::catalog_files();
  if (!files) throw CliError{files.error()};
  io::refuse_file_reads();
  return serve::run(s, answer);
}

} // namespace vramcalc::cli
