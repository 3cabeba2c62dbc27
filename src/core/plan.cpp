#include "vramcalc/plan.hpp"

#include "vramcalc/units.hpp"

#include <algorithm>
#include <tuple>

namespace vramcalc {

namespace {

// `checker`: over `catalog`, reused by a search's steps.
bool fits_prepared(const Settings& s, std::span<const GpuSpec> catalog, const PreparedWeights& prepared,
                   FitChecker& checker) {
  if (s.gpus.empty()) return false;
  Settings one = s;
  one.gpus.resize(1);
  if (s.engine == EngineKind::generic) {
    // Only the fit is asked: no report.
    const auto f = checker.check(one, prepared);
    return f && !f->empty() && f->front().fits;
  }
  const auto r = estimate(one, catalog, prepared);
  if (!r || r->fit.empty()) return false;
  if (r->engine) return r->engine->fits;
  return r->fit.front().fits;
}

} // namespace

bool fits(const ModelSpec& model, const Settings& s, std::span<const GpuSpec> catalog) {
  const auto prepared = PreparedWeights::make(model, s.weights);
  FitChecker checker(catalog);
  return prepared && fits_prepared(s, catalog, *prepared, checker);
}

std::optional<std::uint64_t> max_context(const ModelSpec& model, Settings s, std::span<const GpuSpec> catalog,
                                         std::uint64_t align) {
  // The searches change only the context or the batch: the weights are prepared once.
  const auto prepared = PreparedWeights::make(model, s.weights);
  if (!prepared) return std::nullopt;
  FitChecker checker(catalog);
  // Memory grows with the context, so "fits" is monotone: binary search on multiples of align.
  auto ok = [&](std::uint64_t steps) {
    s.context_tokens = steps * align;
    return fits_prepared(s, catalog, *prepared, checker);
  };
  if (!ok(1)) return std::nullopt;
  std::uint64_t lo = 1, hi = 2;
  const std::uint64_t cap = max_context_tokens / align;
  while (hi < cap && ok(hi)) {
    lo = hi;
    hi = std::min(cap, hi * 2);
  }
  if (hi == cap && ok(hi)) return hi * align;
  while (lo + 1 < hi) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    if (ok(mid)) lo = mid;
    else hi = mid;
  }
  return lo * align;
}

std::optional<std::uint64_t> max_batch(const ModelSpec& model, Settings s, std::span<const GpuSpec> catalog) {
  const auto prepared = PreparedWeights::make(model, s.weights);
  if (!prepared) return std::nullopt;
  FitChecker checker(catalog);
  auto ok = [&](std::uint64_t b) {
    s.batch = b;
    return fits_prepared(s, catalog, *prepared, checker);
  };
  if (!ok(1)) return std::nullopt;
  std::uint64_t lo = 1, hi = 2;
  const std::uint64_t cap = 1ull << 32;
  while (hi < cap && ok(hi)) {
    lo = hi;
    hi *= 2;
  }
  if (hi >= cap && ok(cap)) return cap;
  while (lo + 1 < hi) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    if (ok(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

std::optional<WeightFormat> best_format(const ModelSpec& model, Settings s, std::span<const GpuSpec> catalog,
                                        std::span<const WeightFormat> candidates) {
  const auto shared = PreparedModel::make(model);
  if (!shared) return std::nullopt;
  FitChecker checker(catalog);
  for (const WeightFormat& f : candidates) {
    s.weights = f;
    const auto prepared = PreparedWeights::make(*shared, f);
    if (prepared && fits_prepared(s, catalog, *prepared, checker)) return f;
  }
  return std::nullopt;
}

std::vector<std::string> what_would_fit(const ModelSpec& model, const Settings& s, std::span<const GpuSpec> catalog,
                                        std::span<const WeightFormat> formats) {
  std::vector<std::string> out;
  if (s.gpus.empty() || fits(model, s, catalog)) return out;
  const std::uint64_t align = engine_traits(s.engine).context_step_tokens;
  if (auto c = max_context(model, s, catalog, align); c && *c < s.context_tokens) {
    out.push_back("a context of at most " + with_commas(*c) + " tokens (--ctx " + std::to_string(*c) + ")");
  }
  if (s.batch > 1) {
    if (auto b = max_batch(model, s, catalog)) {
      out.push_back("at most " + std::to_string(*b) + " concurrent sequences (--batch " + std::to_string(*b) + ")");
    }
  }
  if (auto f = best_format(model, s, catalog, formats); f && f->id != s.weights.id) {
    out.push_back("weights in " + f->id + " (-q " + f->id + ")");
  }
  for (Dtype kv : {Dtype::f8_e4m3, Dtype::q8_0, Dtype::q4_0}) {
    if (traits(kv).block_bytes * traits(s.kv_dtype).block_elems >= traits(s.kv_dtype).block_bytes * traits(kv).block_elems) {
      continue; // not smaller than the KV dtype asked
    }
    if (!engine_takes_kv(s.engine, kv)) continue;
    Settings t = s;
    t.kv_dtype = kv;
    if (fits(model, t, catalog)) {
      const std::string flag = kv == Dtype::f8_e4m3 ? "fp8" : std::string(traits(kv).name);
      out.push_back("the KV cache in " + std::string(dtype_display(kv)) + " (--kv " + flag + ")");
      break;
    }
  }
  // More of the same GPU: the count the fit row says (one search, engine or not).
  Settings one = s;
  one.gpus.resize(1);
  if (const auto r = estimate(model, one, catalog); r && !r->fit.empty()) {
    const FitRow& row = r->fit.front();
    if (row.min_count > s.gpus.front().count) out.push_back(std::to_string(row.min_count) + "\u00d7 " + s.gpus.front().gpu.name);
  }
  return out;
}

std::vector<PlanOption> plan(const ModelSpec& model, const Settings& s, std::span<const GpuSpec> catalog,
                             std::span<const WeightFormat> formats, PlanRank rank) {
  std::vector<PlanOption> out;
  const auto shared = PreparedModel::make(model);
  if (!shared) return out;
  for (const WeightFormat& f : formats) {
    Settings t = s;
    t.weights = f;
    t.gpus.clear();
    const auto prepared = PreparedWeights::make(*shared, f);
    if (!prepared) continue;
    const auto r = estimate(t, catalog, *prepared);
    if (!r) continue;
    for (const FitRow& row : r->fit) {
      if (row.min_count == 0 || !row.fits) continue;
      PlanOption o;
      o.gpu = row.gpu;
      o.gpu_name = row.gpu_name;
      o.quant = f.id;
      o.count = row.count;
      o.tp = row.tp;
      o.pp = row.pp;
      o.gpu_usable_bytes = row.usable_bytes;
      o.required_bytes_per_gpu = row.required_bytes_per_gpu;
      o.headroom_bytes = row.headroom_bytes;
      o.decode_tokens_per_s = row.decode_tokens_per_s;
      o.aggregate_decode_tokens_per_s = row.aggregate_decode_tokens_per_s;
      o.cost = row.cost;
      o.usd_per_million_output_tokens = row.usd_per_million_output_tokens;
      o.offers = offers_by_provider(s.prices, row.gpu, row.tp, row.pp);
      if (o.cost) {
        o.price_usd_per_hour = static_cast<double>(o.cost->usd_micros_per_hour) / 1e6;
      } else {
        for (const GpuSpec& g : catalog) {
          if (g.id == row.gpu && g.price_usd_per_hour) o.price_usd_per_hour = *g.price_usd_per_hour * row.count;
        }
      }
      out.push_back(std::move(o));
    }
  }
  std::stable_sort(out.begin(), out.end(), [rank](const PlanOption& a, const PlanOption& b) {
    // Usable bytes < 2^56 and counts <= 1024: the product fits in 64 bits.
    const auto total = [](const PlanOption& o) { return o.gpu_usable_bytes * o.count; };
    // Exact micro-dollars where an offer has them, so equal prices tie exactly.
    const auto micros = [](const PlanOption& o) {
      if (o.cost) return static_cast<double>(o.cost->usd_micros_per_hour);
      return o.price_usd_per_hour ? *o.price_usd_per_hour * 1e6 : 1e300;
    };
    const auto per_token = [](const PlanOption& o) { return o.usd_per_million_output_tokens.value_or(1e300); };
    const auto gpus = [&](const PlanOption& o) { return std::make_tuple(o.count, total(o), micros(o)); };
    if (rank == PlanRank::per_hour) {
      return std::make_tuple(micros(a), gpus(a)) < std::make_tuple(micros(b), gpus(b));
    }
    if (rank == PlanRank::per_token) {
      return std::make_tuple(per_token(a), gpus(a)) < std::make_tuple(per_token(b), gpus(b));
    }
    return gpus(a) < gpus(b);
  });
  return out;
}

} // namespace vramcalc
