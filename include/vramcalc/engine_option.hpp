// One option of a serving engine, declared once in the engine's own file (engine_<id>.cpp):
// its flag spellings, its key under a deployment's `engine_options`, its help line, and the
// parser that reads its text into the engine's typed options. The command line's flag table,
// `--help`, the man page, the completions, the deployment files' known keys and the check's
// error locations are all read from these rows.
#pragma once

#include "vramcalc/error.hpp"

#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace vramcalc {

struct Settings;

struct EngineOptionSpec {
  // CLI11 names, the canonical long name first: "--cache-type-k,--ctk,--kv-k".
  std::string_view names;
  // Its key under a deployment's engine_options ("" when only the command line has it).
  std::string_view key;
  std::string_view help;
  bool is_switch = false;      // a switch (--enforce-eager: text "true" / "false"); else it takes a value
  bool on_command_line = true; // false: a deployment key only (a `version` an engine refuses by its parser)
  // Reads the text into settings.engine_options (the settings' GPUs are already read); a
  // refusal is an Error whose message names the flag ("--max-num-seqs: ...").
  std::optional<Error> (*apply)(std::string_view text, Settings& settings) = nullptr;

  // The canonical name: "--cache-type-k".
  [[nodiscard]] constexpr std::string_view flag() const { return names.substr(0, names.find(',')); }
};

// A parser's complaint prefixed with the flag it was given to.
[[nodiscard]] inline Error flag_error(std::string_view flag, const Error& e) {
  return Error{e.code, std::string(flag) + ": " + e.message};
}
[[nodiscard]] inline Error flag_error(std::string_view flag, std::string_view message) {
  return Error{ErrorCode::invalid_argument, std::string(flag) + ": " + std::string(message)};
}

// `value` when the parser read it, else its complaint named by the flag: for parsers that
// read into a field, `if (auto e = read_into(field, flag, parse_count(text, n))) return e;`.
template <typename Field, typename T>
[[nodiscard]] std::optional<Error> read_into(Field& field, std::string_view flag, std::expected<T, Error> value) {
  if (!value) return flag_error(flag, value.error());
  field = static_cast<Field>(*value);
  return std::nullopt;
}

} // namespace vramcalc
