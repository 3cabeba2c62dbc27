// vramcalc: parse flags, run one command, print its output. One top-level catch turns
// every failure into "vramcalc: error: ..." and exit code 2 (70 for a bug); output that
// cannot be written is exit code 74 (docs/reliability.md, "Output").
#include "cli.hpp"
#include "flags.hpp"
#include "help_examples.hpp" // generated: cmake/help_examples.cmake
#include "vramcalc/names.hpp"
#include "vramcalc/render.hpp"
#include "vramcalc/text.hpp"

#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

using vramcalc::cli::Command;

// sysexits.h EX_IOERR: the output could not be written (a full disk, a closed descriptor).
constexpr int exit_output_failed = 74;

// The longest message printed: a message quotes input, and input has no bound.
constexpr std::size_t max_message_bytes = 4096;

// Writes all of `s` and flushes; false when the stream failed.
bool write_all(std::FILE* f, std::string_view s) {
  if (!s.empty() && std::fwrite(s.data(), 1, s.size(), f) != s.size()) return false;
  return std::fflush(f) == 0 && std::ferror(f) == 0;
}

// stdout could not be written: say so on stderr (if it can be written) and exit 74.
int output_failed(int error) {
  const std::string m = std::string("vramcalc: error: cannot write the output: ") + std::strerror(error) + "\n";
  (void)write_all(stderr, m);
  return exit_output_failed;
}

// Every message leaves as one line of bounded length, its control characters escaped.
vramcalc::Error printable(const vramcalc::Error& e) {
  return {e.code, vramcalc::excerpt(e.message, max_message_bytes), vramcalc::excerpt(e.file, 1024), e.line, e.column};
}

// How errors are printed, as the output asked for: JSON (--json, --format json or ndjson: the
// error document on stdout), a CI format of `check` (--format github or junit: annotations or
// a failing test case on stdout), else "vramcalc: error: ..." lines on stderr.
enum class ErrorStyle { text, json, github, junit };

ErrorStyle error_style(int argc, char** argv) {
  ErrorStyle style = ErrorStyle::text;
  bool check = false; // the CI formats are `check`'s
  for (int i = 1; i < argc && std::strcmp(argv[i], "--") != 0; ++i) check = check || std::strcmp(argv[i], "check") == 0;
  const auto from_format = [&](std::string_view f) {
    if (f == "json" || f == "ndjson") style = ErrorStyle::json;
    else if (f == "github" && check) style = ErrorStyle::github;
    else if (f == "junit" && check) style = ErrorStyle::junit;
  };
  for (int i = 1; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
    const std::string_view a = argv[i];
    if (a == "--json") return ErrorStyle::json;
    if (a == "--format" && i + 1 < argc) from_format(argv[i + 1]);
    if (a.starts_with("--format=")) from_format(a.substr(9));
  }
  return style;
}

// The failure's output and exit code into `r`: what main prints, or a request's answer.
int fail(const std::vector<vramcalc::Error>& given, ErrorStyle style, vramcalc::cli::CommandResult& r) {
  std::vector<vramcalc::Error> errors;
  for (const vramcalc::Error& e : given) errors.push_back(printable(e));
  const int code = errors.front().code == vramcalc::ErrorCode::output ? exit_output_failed : 2;
  r.error = errors.front().code;
  if (style != ErrorStyle::text) {
    r.out = style == ErrorStyle::json ? vramcalc::render_errors_json(errors)
                                      : vramcalc::render_errors_for_ci(errors, style == ErrorStyle::github ? "github" : "junit");
    if (style == ErrorStyle::json) return code;
  }
  // The CI formats also say it on stderr, for people reading the job's log.
  for (const vramcalc::Error& e : errors) r.err += "vramcalc: error: " + e.message + "\n";
  return code;
}

// A closed stdin, stdout or stderr would be the next file opened (a model file, the --plot
// temporary), and output meant for the terminal would go into it. Each closed one is
// opened on /dev/null for reading, so a write to it fails and is reported.
void guard_standard_descriptors() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    const int opened = ::open("/dev/null", O_RDONLY | O_NOCTTY);
    if (opened >= 0 && opened != fd) {
      ::dup2(opened, fd);
      ::close(opened);
    }
  }
}

// The flag a mistyped one most likely meant: vLLM's and llama-server's spellings first, then
// the nearest name.
std::string flag_hint(std::string_view typed) {
  static const std::pair<std::string_view, std::string_view> engine_spellings[] = {
      {"-tp", "--tp"}, {"-pp", "--pp"}, {"-c", "--ctx"}, {"-m", "MODEL (positional)"}, {"-b", "--batch-size"},
      {"--quantization", "-q"}, {"--model", "MODEL (positional)"}, {"--ctx-size", "--ctx"}, {"--parallel", "--batch"}};
  for (const auto& [spelling, ours] : engine_spellings) {
    if (typed == spelling) {
      return "; vramcalc spells it " + std::string(ours) +
             " (or check a whole engine command line: vramcalc check --vllm \"...\" / --llama-server \"...\")";
    }
  }
  std::vector<vramcalc::NameCandidate> candidates;
  const std::vector<std::string> names = vramcalc::cli::flag_names();
  for (const std::string& n : names) candidates.push_back({n, n});
  const auto s = vramcalc::suggest(typed, candidates, 1);
  return s.empty() ? std::string() : "; did you mean " + s.front() + "?";
}

// CLI11's messages, reworded to name the flag the way the rest of vramcalc does, with the
// arguments in the order typed (`args`, as given) and a hint for each.
std::string parse_error_message(const CLI::ParseError& e, const std::vector<std::string>& args) {
  std::string m = e.what();
  const std::string extras = "The following argument was not expected: ";
  const std::string extras_n = "The following arguments were not expected: ";
  std::string_view list;
  if (m.starts_with(extras)) list = std::string_view(m).substr(extras.size());
  else if (m.starts_with(extras_n)) list = std::string_view(m).substr(extras_n.size());
  else return m + " (see vramcalc --help)";
  std::vector<std::string> unexpected;
  for (std::size_t at = 0; at < list.size();) {
    const auto space = list.find(' ', at);
    unexpected.emplace_back(list.substr(at, space - at));
    if (space == std::string_view::npos) break;
    at = space + 1;
  }
  // CLI11 lists them last first.
  std::sort(unexpected.begin(), unexpected.end(), [&](const std::string& a, const std::string& b) {
    return std::find(args.begin(), args.end(), a) < std::find(args.begin(), args.end(), b);
  });
  std::string out = unexpected.size() == 1 ? "unexpected argument " : "unexpected arguments ";
  std::string hint;
  for (std::size_t i = 0; i < unexpected.size(); ++i) {
    const std::string& u = unexpected[i];
    out += (i == 0 ? "'" : ", '") + u + "'";
    if (!hint.empty()) continue;
    if (u.starts_with("-")) {
      hint = flag_hint(u);
    } else if (const auto at = std::find(args.begin(), args.end(), u); at != args.begin() && at != args.end() &&
                                                                        (at - 1)->ends_with(",")) {
      hint = "; a space after a comma ends the list: write " + *(at - 1) + u + " (no spaces)";
    } else if (u == "help") {
      hint = "; for help: vramcalc --help, or vramcalc COMMAND --help";
    }
  }
  return out + hint + " (see vramcalc --help)";
}

// The arguments in the reverse order CLI11's parse takes them, llama.cpp's single-dash long
// flags spelled as llama-server users type them.
std::vector<std::string> reversed_arguments(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = argc - 1; i >= 1; --i) {
    const std::string a = argv[i];
    if (a == "-ctk") args.emplace_back("--ctk");
    else if (a == "-ctv") args.emplace_back("--ctv");
    else if (a == "-ngl") args.emplace_back("--ngl");
    else if (a == "-fa") args.emplace_back("--fa");
    else if (a == "-ub") args.emplace_back("--ubatch-size");
    else if (a == "-ts") args.emplace_back("--tensor-split");
    else if (a == "-np") args.emplace_back("--batch");
    else args.push_back(a);
  }
  return args;
}

// The command line's parser: every flag of the table registered on the top level and on each
// command, bound to `o`. Built once for a command line, and once per worker thread by vramcalc
// serve (building it is most of a small request's time: about 100 options on each of 8
// commands, each checked against the others), cleared before each parse.
struct Parser {
  vramcalc::cli::Options o;
  vramcalc::cli::ServeSettings serve_settings;
  CLI::App app{"vramcalc: how much GPU memory an LLM needs, and which GPUs hold it", "vramcalc"};
  std::map<const CLI::Option*, std::string> top_flags;
  CLI::App *list = nullptr, *plan = nullptr, *compare = nullptr, *check = nullptr, *inspect = nullptr,
           *explain = nullptr, *serve = nullptr;
  std::vector<std::pair<CLI::App*, Command>> commands;

  Parser() {
    app.set_version_flag("--version", [] { return vramcalc::cli::version_text(); });
    app.add_option("model", o.model,
                   "catalog id or alias (see 'vramcalc list models'), a model spec .json, a config.json, a .gguf or "
                   ".safetensors file, or a model directory");
    // Every flag on the top level (its --help lists them all, and a flag may come before the
    // command); each command also registers its own, for its --help.
    top_flags = vramcalc::cli::register_flags(app, o, true, Command::estimate);
    list = app.add_subcommand("list", "list the catalog: 'vramcalc list models', 'list gpus', 'list formats [MODEL]'");
    list->add_option("what", o.list_what, "models, gpus or formats");
    list->add_option("model", o.model, "for formats: the model to size them for (default llama3-8b)");
    plan = app.add_subcommand("plan", "the cheapest GPU configurations across the catalog for a workload");
    plan->add_option("model", o.model, "catalog id, model spec, config.json or model directory");
    compare = app.add_subcommand("compare", "models side by side: vramcalc compare llama3-70b qwen2.5-72b");
    compare->add_option("models", o.compare_models, "two or more models");
    check = app.add_subcommand(
        "check", "CI gate: do the deployments in these files fit? exit 0 all fit, 1 one does not, 2 invalid input");
    check->add_option("files", o.check_files, "deployment files (YAML or JSON; docs/ci.md)");
    inspect =
        app.add_subcommand("inspect", "what a model's files hold: vramcalc inspect model.gguf (or .safetensors, or a directory)");
    inspect->add_option("path", o.model, "a .gguf, .safetensors or .safetensors.index.json file, or a model directory");
    explain = app.add_subcommand(
        "explain", "the arithmetic step by step, numbers substituted: vramcalc explain llama3-70b --ctx 128k --kv fp8");
    explain->add_option("model", o.model, "catalog id, model spec, config.json, model file or directory");
    serve = vramcalc::cli::add_serve_command(app, serve_settings);
    commands = {{list, Command::list},       {plan, Command::plan},       {compare, Command::compare},
                {check, Command::check},     {inspect, Command::inspect}, {explain, Command::explain},
                {serve, Command::serve}};
    for (const auto& [sub, command] : commands) {
      (void)vramcalc::cli::register_flags(*sub, o, false, command);
      sub->fallthrough();
    }
    // The examples are the CLI cases marked as such (tests/cli/cases/*/example), each run and
    // compared whole by the test suite: generated into help_examples.hpp by
    // cmake/help_examples.cmake.
    app.footer("Examples:\n" + std::string(vramcalc::cli::help_examples) + R"(
Sizes: 128k = 131,072 tokens; 80GB = 80*10^9 bytes, 80GiB = 80*2^30 bytes.
Exit status: 0 done (check: every deployment fits), 1 check: a deployment does not fit, 2 invalid input, 70 internal error, 74 the output could not be written (a full disk, a closed stdout).)");
  }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Ready for the next parse: the options at their defaults, no flag or command seen.
  void reset() {
    o = vramcalc::cli::Options{};
    serve_settings = vramcalc::cli::ServeSettings{};
    app.clear();
  }
};

// This thread's parser for vramcalc serve's requests, built anew every 512 requests: CLI11's
// clear() leaves each parse's list of the options seen (App::parse_order_), which grew by
// about 40 bytes a request (12 MB over 300,000 requests).
Parser& request_parser(bool next_request) {
  thread_local std::optional<Parser> kept;
  thread_local unsigned parses = 0;
  if (!kept || (next_request && ++parses % 512 == 0)) kept.emplace();
  return *kept;
}

} // namespace

namespace vramcalc::cli {

void prepare_request_parser() { (void)request_parser(false); }

CommandResult run_command_line(const std::vector<std::string>& given, const std::function<void(Options&)>& request) {
  std::vector<char*> argv{const_cast<char*>("vramcalc")};
  for (const std::string& a : given) argv.push_back(const_cast<char*>(a.c_str()));
  const int argc = static_cast<int>(argv.size());
  CommandResult result;
  const ErrorStyle json = error_style(argc, argv.data());
  const auto failed = [&](const std::vector<vramcalc::Error>& errors) {
    result.exit_code = fail(errors, json, result);
    return result;
  };
  const auto failed1 = [&](const vramcalc::Error& e) { return failed(std::vector<vramcalc::Error>{e}); };
  try {
    // A request of vramcalc serve reuses its worker thread's parser; a command line builds one.
    std::optional<Parser> own;
    Parser* parser = nullptr;
    if (request) {
      parser = &request_parser(true);
      parser->reset();
    } else {
      parser = &own.emplace();
    }
    vramcalc::cli::Options& o = parser->o;
    CLI::App& app = parser->app;
    const auto& top_flags = parser->top_flags;
    const auto& commands = parser->commands;
    CLI::App *list = parser->list, *plan = parser->plan, *compare = parser->compare, *check = parser->check,
             *inspect = parser->inspect, *explain = parser->explain;
    try {
      std::vector<std::string> args = reversed_arguments(argc, argv.data());
      // `vramcalc help [COMMAND]`: the same as --help.
      if (argc >= 2 && std::string_view(argv[1]) == "help") {
        CLI::App* sub = nullptr;
        if (argc >= 3) {
          try {
            sub = app.get_subcommand(argv[2]);
          } catch (const CLI::OptionNotFound&) {
            return failed1({vramcalc::ErrorCode::invalid_argument,
                            std::string("help: no command '") + vramcalc::excerpt(argv[2], 64) +
                                "'; the commands are list, plan, compare, check, inspect, explain and serve"});
          }
        }
        result.out = sub != nullptr ? sub->help() : app.help();
        return result;
      }
      app.parse(args); // CLI11 takes them last first
    } catch (const CLI::CallForHelp&) {
      result.out = app.help();
      return result;
    } catch (const CLI::CallForVersion& e) {
      result.out = std::string(e.what()) + "\n";
      return result;
    } catch (const CLI::ParseError& e) {
      return failed1({vramcalc::ErrorCode::invalid_argument,
                      parse_error_message(e, std::vector<std::string>(argv.begin() + 1, argv.end()))});
    }
    o.list = list->parsed();
    o.plan = plan->parsed();
    o.compare = compare->parsed();
    o.inspect = inspect->parsed();
    o.explain = explain->parsed();
    o.check = check->parsed();
    // A flag written before the command, or one the command does not take: refused, never
    // ignored.
    Command command = Command::estimate;
    for (const auto& [sub, c] : commands) {
      if (sub->parsed()) command = c;
    }
    for (const auto& [opt, name] : top_flags) {
      if (opt->count() > 0 && !vramcalc::cli::flag_applies(name, command)) {
        return failed1({vramcalc::ErrorCode::invalid_argument,
                        name + " does not apply to '" + std::string(vramcalc::cli::command_name(command)) + "' (see " +
                            (command == Command::estimate ? std::string("vramcalc --help")
                                                          : "vramcalc " + std::string(vramcalc::cli::command_name(command)) +
                                                                " --help") +
                            ")"});
      }
    }
    if (command == Command::serve) {
      // A request runs a command; it never starts a server.
      if (request) return failed1({vramcalc::ErrorCode::invalid_argument, "serve: not a command of a request"});
      result.exit_code = serve_command(parser->serve_settings);
      return result;
    }
    if (request) request(o);
    const vramcalc::cli::Outcome outcome = vramcalc::cli::run(o);
    result.out = outcome.out;
    result.exit_code = outcome.exit_code;
    return result;
  } catch (const vramcalc::cli::CliError& e) {
    std::vector<vramcalc::Error> all{e.error};
    all.insert(all.end(), e.more.begin(), e.more.end());
    return failed(all);
  } catch (const std::exception& e) {
    result.err = "vramcalc: internal error: " + vramcalc::excerpt(e.what(), max_message_bytes) + "\n";
    result.exit_code = 70;
    return result;
  }
}

} // namespace vramcalc::cli

int main(int argc, char** argv) {
  guard_standard_descriptors();
  const vramcalc::cli::CommandResult r =
      vramcalc::cli::run_command_line(std::vector<std::string>(argv + 1, argv + argc));
  errno = 0;
  if (!write_all(stdout, r.out)) return output_failed(errno);
  if (!r.err.empty() && !write_all(stderr, r.err)) return exit_output_failed;
  return r.exit_code;
}
