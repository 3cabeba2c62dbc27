// The command line: flags in, library calls, rendered text out. Private to src/cli.
#pragma once

#include "app.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vramcalc::cli {

using app::Options;
using app::Outcome;
using CliError = app::Failure;

// The options' terminal-dependent rendering (colour, bars, width) from the flags and stdout.
RenderOptions render_options(const Options& o);

Outcome run(const Options& options);
// `vramcalc --version`: the version, the built-in catalog (revision, models, GPUs) and the build.
std::string version_text();

} // namespace vramcalc::cli
