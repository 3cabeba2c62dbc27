// What renting GPUs costs: a table of on-demand instance prices (models/prices.json, or the
// user's own with --prices) and the cheapest way to rent N GPUs of one kind from it.
// Money is integer micro-dollars, so sums and products are exact; only $/million tokens,
// which divides by a throughput bound, is a float (docs/prices.md).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc {

// One instance type of one provider.
struct PriceRow {
  std::string provider;                 // "Oracle Cloud"
  std::string instance;                 // "BM.GPU.H100.8"
  std::string gpu;                      // catalog GPU id
  std::uint32_t gpus = 1;               // GPUs in one instance
  std::uint64_t usd_micros_per_hour = 0; // the whole instance, on demand
  std::string date;                     // YYYY-MM-DD the price was observed
  std::string source;                   // URL
  std::string note;                     // what is approximate about it, if anything
};

// Renting a layout of tp x pp GPUs as whole instances of one row. The GPUs of one
// tensor-parallel group exchange activations every layer, so a group stays inside one
// instance; pipeline stages may be in different instances. An instance of g GPUs holds
// floor(g / tp) groups, so the layout needs ceil(pp / floor(g / tp)) instances; a row with
// fewer GPUs than tp cannot serve it.
struct Offer {
  PriceRow row; // a copy: reports that hold an offer outlive the table
  std::uint32_t instances = 0;
  std::uint64_t usd_micros_per_hour = 0; // instances x the row's price
};

// The cheapest offer for tp x pp GPUs of `gpu_id` (ties: the earlier row); nullopt when no row
// can serve it. Throws OverflowError like every checked product.
[[nodiscard]] std::optional<Offer> cheapest_offer(std::span<const PriceRow> prices, std::string_view gpu_id,
                                                  std::uint32_t tp, std::uint32_t pp);

// The cheapest offer of each provider that can serve the layout, cheapest first.
[[nodiscard]] std::vector<Offer> offers_by_provider(std::span<const PriceRow> prices, std::string_view gpu_id,
                                                    std::uint32_t tp, std::uint32_t pp);

// Dollars per million output tokens at `tokens_per_s` (all sequences together):
// micro-dollars per hour / (3600 x tokens per second). nullopt when the rate is not positive.
[[nodiscard]] std::optional<double> usd_per_million_tokens(std::uint64_t usd_micros_per_hour, double tokens_per_s);

// "80.00", "2.6900" -> micro-dollars; at most 6 decimals, at most 1e9 dollars. nullopt if not
// such a decimal.
[[nodiscard]] std::optional<std::uint64_t> parse_usd_micros(std::string_view text);

// Micro-dollars as dollars with two decimals at least and every non-zero digit: 80.00, 3.9492.
[[nodiscard]] std::string format_usd(std::uint64_t usd_micros);

} // namespace vramcalc
