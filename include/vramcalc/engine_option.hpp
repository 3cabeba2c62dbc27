// One option of a serving engine, declared once in the engine's own file (engine_<id>.cpp):
// its flag spellings, its key under a deployment's `engine_options`, its help line, and the
// parser that reads its text into the engine's typed options. The command line's flag table,
// `--help`, the man page, the completions, the deployment files' known keys and the flags a
// message names for the engine are all read from these rows.
#pragma once

#include "vramcalc/error.hpp"

#include <cstdint>
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
  // refusal is an Error saying what is wrong with the text ("'1.5' is more than 1"), which
  // the caller places where the text came from: the flag ("--max-num-seqs: ...") or the
  // deployment key at its file, line and column.
  std::optional<Error> (*apply)(std::string_view text, Settings& settings) = nullptr;
  // Its place (1, 2, 3) among the flags a message names for its engine ("vLLM flags
  // (--gpu-memory-utilization, --block-size, --max-num-seqs, ...) need --engine vllm",
  // engine_flag_names); 0: not named there.
  std::uint8_t named_rank = 0;

  // The canonical name: "--cache-type-k".
  [[nodiscard]] constexpr std::string_view flag() const { return names.substr(0, names.find(',')); }
};

// A parser's complaint: what is wrong with the text, without where it came from.
[[nodiscard]] inline Error value_error(std::string_view message) {
  return Error{ErrorCode::invalid_argument, std::string(message)};
}

// `value` when the parser read it, else its complaint: for parsers that read into a field,
// `if (auto e = read_into(field, parse_count(text, n))) return e;`.
template <typename Field, typename T>
[[nodiscard]] std::optional<Error> read_into(Field& field, std::expected<T, Error> value) {
  if (!value) return value.error();
  field = static_cast<Field>(*value);
  return std::nullopt;
}

} // namespace vramcalc
