// Loads a price table (format vramcalc-prices/1, docs/prices.md): models/prices.json, built
// in, or a user's own file given with --prices.
#pragma once

#include "vramcalc/error.hpp"
#include "vramcalc/gpu.hpp"
#include "vramcalc/io/catalog.hpp"
#include "vramcalc/price.hpp"

#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc::io {

struct PriceTable {
  std::string origin;   // "models/prices.json" or the user's path
  std::string revision;
  std::vector<PriceRow> rows;
};

// `gpus`: the catalog the rows' `gpu` names must resolve in (by id or alias; stored as the id).
[[nodiscard]] std::expected<PriceTable, Error> parse_price_table(std::string_view text, std::string_view origin,
                                                                 std::span<const GpuSpec> gpus);

// The built-in table, models/prices.json.
[[nodiscard]] std::expected<PriceTable, Error> load_builtin_prices(std::span<const GpuSpec> gpus);
// A catalog's prices.json (a CatalogDir's).
[[nodiscard]] std::expected<PriceTable, Error> load_prices(const CatalogFiles& source, std::span<const GpuSpec> gpus);

} // namespace vramcalc::io
