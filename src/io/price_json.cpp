#include "vramcalc/io/price_json.hpp"

#include "json_util.hpp"
#include "vramcalc/io/catalog.hpp"
#include "vramcalc/names.hpp"

namespace vramcalc::io {

using detail::LoadFailure;
using detail::ObjectReader;

namespace {

bool is_date(std::string_view d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u}) {
    if (d[i] < '0' || d[i] > '9') return false;
  }
  const int month = (d[5] - '0') * 10 + (d[6] - '0'), day = (d[8] - '0') * 10 + (d[9] - '0');
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

PriceTable parse(std::string_view text, const std::string& origin, std::span<const GpuSpec> gpus) {
  const auto j = detail::parse_strict(text, origin, ErrorCode::invalid_catalog);
  ObjectReader r(j, origin, "", ErrorCode::invalid_catalog);
  const std::string schema = r.str("schema");
  if (schema != "vramcalc-prices/1") {
    r.fail("schema", "unsupported schema '" + schema + "' (this vramcalc reads vramcalc-prices/1)");
  }
  PriceTable t;
  t.origin = origin;
  t.revision = r.str("revision");
  const auto& arr = r.array("prices");
  for (std::size_t i = 0; i < arr.size(); ++i) {
    ObjectReader e = r.element(arr, "prices", i);
    PriceRow p;
    p.provider = e.str("provider");
    if (p.provider.empty()) e.fail("provider", "must not be empty");
    p.instance = e.str("instance");
    if (p.instance.empty()) e.fail("instance", "must not be empty");
    const std::string gpu = e.str("gpu");
    const GpuSpec* found = nullptr;
    for (const GpuSpec& g : gpus) {
      if (iequals(g.id, gpu)) found = &g;
      for (const std::string& a : g.aliases) {
        if (!found && iequals(a, gpu)) found = &g;
      }
    }
    if (!found) e.fail("gpu", "'" + gpu + "' is not a GPU of the catalog (vramcalc list gpus)");
    p.gpu = found->id;
    p.gpus = static_cast<std::uint32_t>(e.u64("gpus", 1, 1024));
    const std::string usd = e.str("usd_per_hour");
    const auto micros = parse_usd_micros(usd);
    if (!micros || *micros == 0) {
      e.fail("usd_per_hour", "expected a positive decimal string of dollars with at most 6 decimals, such as \"2.69\", got \"" + usd + "\"");
    }
    p.usd_micros_per_hour = *micros;
    p.date = e.str("date");
    if (!is_date(p.date)) e.fail("date", "expected YYYY-MM-DD, got '" + p.date + "'");
    p.source = e.str("source");
    if (!p.source.starts_with("https://") && !p.source.starts_with("http://")) {
      e.fail("source", "expected the URL the price was read from");
    }
    if (auto n = e.opt_str("note")) p.note = *n;
    e.finish();
    t.rows.push_back(std::move(p));
  }
  r.finish();
  return t;
}

} // namespace

std::expected<PriceTable, Error> parse_price_table(std::string_view text, std::string_view origin,
                                                   std::span<const GpuSpec> gpus) {
  try {
    return parse(text, std::string(origin), gpus);
  } catch (const LoadFailure& f) {
    return std::unexpected(f.error);
  }
}

std::expected<PriceTable, Error> load_prices(const CatalogFiles& source, std::span<const GpuSpec> gpus) {
  const std::string path = std::string(source.root) + "prices.json";
  for (const EmbeddedFile& f : source.files) {
    if (f.path == path) return parse_price_table(f.text, f.path, gpus);
  }
  return std::unexpected(Error{ErrorCode::invalid_catalog, source.trusted ? std::string("the built-in price table is missing")
                                                                          : "the catalog has no " + path});
}

std::expected<PriceTable, Error> load_builtin_prices(std::span<const GpuSpec> gpus) {
  return load_prices(builtin_catalog_files(), gpus);
}

} // namespace vramcalc::io
