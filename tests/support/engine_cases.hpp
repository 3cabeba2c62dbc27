// What the engine tests (tests/unit/test_engine_<id>.cpp) share: an engine option read by its
// flag as the command line reads it, and the property every engine that sizes from a GPU's
// memory holds over the catalog: an estimate at each of three contexts and batches, checked
// by the engine's own test, fits wherever a larger one did.
#pragma once

#include "../unit/helpers.hpp"
#include "vramcalc/engine.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace vramcalc::test {

// A weight format by name, for a bf16 model; a catalog GPU by id.
inline WeightFormat format_of(const std::string& name) {
  auto f = parse_weight_format(name, Dtype::bf16);
  if (!f) FAIL(f.error().message);
  return *f;
}
inline const GpuSpec& catalog_gpu(const std::string& id) {
  auto g = catalog().find_gpu(id);
  if (!g) FAIL(g.error().message);
  return **g;
}

// A GPU given by the total CUDA reports, as --gpu-mem gives one (no driver reservation).
inline GpuSpec gpu_of_bytes(std::uint64_t bytes) {
  GpuSpec g;
  g.id = "custom";
  g.name = "custom";
  g.custom = true;
  g.memory_bytes = bytes;
  return g;
}

// The option of `engine` whose canonical flag is `flag`.
inline const EngineOptionSpec& option_spec(EngineKind engine, std::string_view flag) {
  for (const EngineOptionSpec& spec : engine_option_specs(engine)) {
    if (spec.flag() == flag) return spec;
  }
  FAIL("no option " << flag);
  throw std::logic_error("unreachable");
}

// Applies an option by its flag; a refusal worded as the command line words it ("--flag: ...").
inline std::optional<Error> apply_option(EngineKind engine, Settings& s, std::string_view flag, std::string_view text) {
  auto e = option_spec(engine, flag).apply(text, s);
  if (e) e->message = std::string(flag) + ": " + e->message;
  return e;
}

struct CatalogCounts {
  std::size_t modelled = 0; // models estimated at every context and batch
  std::size_t refused = 0;  // models the engine refused
};

// Every catalog model in bf16 under `engine` on `count` x `gpu`, at contexts 1,024, 8,192 and
// 65,536 tokens and batches 1, 8 and 64. `check(report, ctx, batch, first)` checks one
// estimate (`first`: the model's first) and returns false when the engine refused it: the
// model is then counted refused and left. Fitting at a context and batch means fitting at every
// smaller one.
template <typename Check>
CatalogCounts over_catalog_grid(EngineKind engine, const GpuSpec& gpu, std::uint32_t count, Check check) {
  CatalogCounts counts;
  for (const ModelSpec& m : catalog().models) {
    INFO(m.id);
    Settings s = settings_for("bf16", m.dtype, 4096, 1, m.dtype);
    s.engine = engine;
    s.gpus.push_back(GpuRequest{gpu, count});
    bool fits[3][3] = {};
    bool refused = false;
    std::size_t i = 0;
    for (const std::uint64_t ctx : {std::uint64_t{1024}, std::uint64_t{8192}, std::uint64_t{65536}}) {
      std::size_t j = 0;
      for (const std::uint64_t batch : {std::uint64_t{1}, std::uint64_t{8}, std::uint64_t{64}}) {
        s.context_tokens = ctx;
        s.batch = batch;
        auto r = estimate(m, s, catalog().gpus);
        REQUIRE(r.has_value());
        REQUIRE(r->engine);
        if (!check(*r, ctx, batch, i == 0 && j == 0)) {
          CHECK_FALSE(r->engine->fits);
          refused = true;
          break;
        }
        fits[i][j] = r->engine->fits;
        if (fits[i][j]) {
          for (std::size_t a = 0; a <= i; ++a) {
            for (std::size_t b = 0; b <= j; ++b) CHECK(fits[a][b]);
          }
        }
        ++j;
      }
      if (refused) break;
      ++i;
    }
    ++(refused ? counts.refused : counts.modelled);
  }
  return counts;
}

} // namespace vramcalc::test
