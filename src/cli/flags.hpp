// Every flag of the command line, spelled once: its names, its help, the commands it
// applies to and the Options member it sets. main.cpp registers them on the top level (all,
// for `vramcalc --help` and flags written before a command) and on each command (its own,
// for `vramcalc COMMAND --help`); a flag given to a command it does not apply to is refused.
#pragma once

#include "cli.hpp"

#include <CLI/CLI.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc::cli {

enum class Command : unsigned {
  estimate = 1u << 0,
  plan = 1u << 1,
  compare = 1u << 2,
  check = 1u << 3,
  explain = 1u << 4,
  list = 1u << 5,
  inspect = 1u << 6,
  serve = 1u << 7, // takes none of the table's flags (its own: serve_command.cpp)
};

[[nodiscard]] std::string_view command_name(Command c);

// Registers the flags that apply to `command` (all of them for the top level) on `app`;
// returns each registered option with its canonical name (its first long name).
std::map<const CLI::Option*, std::string> register_flags(CLI::App& app, Options& o, bool top_level, Command command);

// Whether the flag named `canonical` applies to `command`.
[[nodiscard]] bool flag_applies(std::string_view canonical, Command command);

// What vramcalc serve needs to know of a flag named by a request: the flag a long name
// ("--ctx", "--max-model-len") belongs to, whether it is a switch, and whether its value names
// a file to read or write (--plot FILE.svg, --prices FILE, --models-dir DIR).
struct FlagKind {
  std::string canonical;
  bool is_switch = false;
  bool names_file = false;
};
[[nodiscard]] std::optional<FlagKind> flag_kind(std::string_view long_name);

// Every long and short name of every flag ("--gpu", "-q" ...), for "did you mean".
[[nodiscard]] std::vector<std::string> flag_names();

} // namespace vramcalc::cli
