// One voice: the fit row, the engine's verdict, the "would fit with" suggestions and the
// rendered table come from one computation and never disagree, over the whole catalog.
#include "helpers.hpp"
#include "vramcalc/plan.hpp"
#include "vramcalc/render.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string>

using namespace vramcalc;
using vramcalc::test::catalog;

namespace {

struct Case {
  const char* gpu;
  EngineKind engine;
  const char* quant;
};

std::string label(const ModelSpec& m, const Case& c) {
  return m.id + " on " + c.gpu + " engine " + std::to_string(static_cast<int>(c.engine)) + " -q " + c.quant;
}

std::vector<WeightFormat> formats_for(const ModelSpec& m, EngineKind engine) {
  std::vector<WeightFormat> out;
  for (std::string_view n : listed_weight_formats()) {
    auto f = parse_weight_format(n, m.dtype);
    if (f && engine_loads(engine, *f)) out.push_back(*f);
  }
  return out;
}

// The count a "N× GPU name" suggestion names, 0 if there is none.
std::uint32_t suggested_count(const std::vector<std::string>& suggestions, const std::string& gpu_name) {
  for (const std::string& s : suggestions) {
    const auto at = s.find("\u00d7 " + gpu_name);
    if (at != std::string::npos && s.size() == at + std::string("\u00d7 ").size() + gpu_name.size()) {
      return static_cast<std::uint32_t>(std::stoul(s.substr(0, at)));
    }
  }
  return 0;
}

} // namespace

TEST_CASE("one voice: fit row, engine verdict, suggestions and table agree over the catalog", "[one-voice]") {
  const Case cases[] = {
      {"h100-sxm", EngineKind::generic, "bf16"}, {"rtx-4090", EngineKind::generic, "q4_k_m"},
      {"h100-sxm", EngineKind::vllm, "bf16"},    {"rtx-4090", EngineKind::vllm, "awq"},
      {"h100-sxm", EngineKind::llamacpp, "q8_0"}, {"rtx-4090", EngineKind::llamacpp, "q4_k_m"},
  };
  std::size_t checked = 0, not_fitting = 0;
  for (const ModelSpec& m : catalog().models) {
    for (const Case& c : cases) {
      Settings s;
      auto f = parse_weight_format(c.quant, m.dtype);
      REQUIRE(f.has_value());
      s.weights = *f;
      s.kv_dtype = m.dtype;
      s.context_tokens = std::min<std::uint64_t>(m.max_context, 32768);
      s.engine = c.engine;
      s.gpus.push_back({**catalog().find_gpu(c.gpu), 1});
      INFO(label(m, c));
      const auto r = estimate(m, s, catalog().gpus);
      REQUIRE(r.has_value());
      REQUIRE_FALSE(r->fit.empty());
      const FitRow& row = r->fit.front();
      if (c.engine != EngineKind::generic) {
        REQUIRE(r->engine.has_value());
        CHECK(row.decided_by == r->engine->name());
        CHECK(row.fits == r->engine->fits);
      } else {
        CHECK(row.decided_by == "generic");
      }
      if (row.problem.empty()) {
        // The byte figures say what the verdict says (vLLM's concurrency is counted in blocks,
        // so its headroom may be a partial block either side of zero: not checked there).
        if (c.engine != EngineKind::vllm) CHECK(row.fits == (row.headroom_bytes >= 0));
        const std::int64_t difference =
            static_cast<std::int64_t>(row.usable_bytes) - static_cast<std::int64_t>(row.required_bytes_per_gpu);
        CHECK(row.headroom_bytes == difference);
      }
      CHECK(fits(m, s, catalog().gpus) == row.fits);
      const auto suggestions = what_would_fit(m, s, catalog().gpus, formats_for(m, c.engine));
      RenderOptions o;
      // Lines joined: the table wraps its prose and its last column.
      std::string table;
      for (const char ch : render_table(*r, o)) {
        if (ch == '\n') table += ' ';
        else if (ch != ' ' || table.empty() || table.back() != ' ') table += ch;
      }
      ++checked;
      if (row.fits) {
        CHECK(suggestions.empty());
        CHECK((row.min_count == 0 || row.min_count <= row.count));
        continue;
      }
      ++not_fitting;
      // More of the same GPU: the suggestion, the row and the table name one count, the
      // smallest at which the same decision fits.
      CHECK(suggested_count(suggestions, row.gpu_name) == row.min_count);
      if (row.min_count != 0) {
        CHECK(table.find(fmt::format("(needs {})", row.min_count)) != std::string::npos);
        CHECK(table.find(fmt::format("needs {}\u00d7", row.min_count)) != std::string::npos); // the verdict
        Settings more = s;
        more.gpus.front().count = row.min_count;
        CHECK(fits(m, more, catalog().gpus));
        if (row.min_count > 2) {
          more.gpus.front().count = row.min_count - 1;
          CHECK_FALSE(fits(m, more, catalog().gpus));
        }
      }
      // The table never says "fits" for the requested GPU that does not.
      CHECK(table.find("FITS on") == std::string::npos);
      CHECK(table.find("vLLM starts:") == std::string::npos);
      CHECK(table.find("Fits on") == std::string::npos);
    }
  }
  CHECK(checked == catalog().models.size() * std::size(cases));
  CHECK(not_fitting > 20); // the cases include models too big for the GPUs
}
