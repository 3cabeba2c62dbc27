// The command line's part of running a command: the terminal (colour, bars, width) and the
// version text; the rest is the application's (src/app).
#include "cli.hpp"

#include "vramcalc/io/catalog.hpp"
#include "vramcalc/render.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>
#include <sys/ioctl.h>
#include <unistd.h>

namespace vramcalc::cli {

namespace {

bool use_color(const std::string& mode) {
  if (mode == "always") return true;
  if (mode == "never") return false;
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') return false;
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::string_view(term) == "dumb") return false;
  return ::isatty(STDOUT_FILENO) == 1;
}

// The columns to lay text out in: COLUMNS when set, else the terminal's own width, else 100;
// never more than 100 (longer lines are harder to read) nor fewer than 40.
std::size_t terminal_width() {
  std::size_t columns = 0;
  if (const char* env = std::getenv("COLUMNS"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const unsigned long v = std::strtoul(env, &end, 10);
    if (end != nullptr && *end == '\0') columns = v;
  }
  struct winsize ws {};
  if (columns == 0 && ::isatty(STDOUT_FILENO) == 1 && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) columns = ws.ws_col;
  if (columns == 0) columns = 100;
  return std::clamp<std::size_t>(columns, 40, 100);
}

} // namespace

RenderOptions render_options(const Options& o) {
  const bool bars = o.bars == "always" || (o.bars == "auto" && ::isatty(STDOUT_FILENO) == 1);
  RenderOptions r{o.si ? UnitSystem::si : UnitSystem::binary, use_color(o.color), bars};
  r.width = terminal_width();
  r.all_gpus = o.all_gpus;
  return r;
}

std::string version_text() {
  std::string out = std::string("vramcalc ") + VRAMCALC_VERSION;
  const auto files = app::catalog_files();
  if (auto c = files ? io::load_catalog(*files) : std::unexpected(files.error())) {
    out += "\ncatalog: " + std::to_string(c->models.size()) + " models, " + std::to_string(c->gpus.size()) +
           " GPUs (GPU list revision " + c->gpu_revision + ")";
  }
  out += "\nengines modelled: vLLM 0.21 (0.6-0.11 with --vllm-version; other releases with a warning), llama.cpp "
         "builds of 2024-2026 (--llamacpp-version)";
  out += std::string("\nbuilt with ") +
#if defined(__clang__)
         "clang " __clang_version__
#elif defined(__GNUC__)
         "g++ " __VERSION__
#else
         "an unknown compiler"
#endif
         + ", " + VRAMCALC_BUILD_TYPE;
  return out;
}

Outcome run(const Options& given) {
  Options o = given;
  o.render = render_options(o);
  return app::run(o);
}

} // namespace vramcalc::cli
