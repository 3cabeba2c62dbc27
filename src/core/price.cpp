#include "vramcalc/price.hpp"

#include "vramcalc/units.hpp"

#include <algorithm>

namespace vramcalc {

namespace {

std::optional<Offer> offer_of(const PriceRow& r, std::string_view gpu_id, std::uint32_t tp, std::uint32_t pp) {
  if (r.gpu != gpu_id || tp == 0 || pp == 0) return std::nullopt;
  const std::uint32_t groups = r.gpus / tp;
  if (groups == 0) return std::nullopt;
  const std::uint32_t instances = (pp + groups - 1) / groups;
  return Offer{r, instances, checked_mul(instances, r.usd_micros_per_hour, "an hourly price")};
}

} // namespace

std::optional<Offer> cheapest_offer(std::span<const PriceRow> prices, std::string_view gpu_id, std::uint32_t tp,
                                    std::uint32_t pp) {
  std::optional<Offer> best;
  for (const PriceRow& r : prices) {
    const auto o = offer_of(r, gpu_id, tp, pp);
    if (o && (!best || o->usd_micros_per_hour < best->usd_micros_per_hour)) best = o;
  }
  return best;
}

std::vector<Offer> offers_by_provider(std::span<const PriceRow> prices, std::string_view gpu_id, std::uint32_t tp,
                                      std::uint32_t pp) {
  std::vector<Offer> out;
  for (const PriceRow& r : prices) {
    const auto found = offer_of(r, gpu_id, tp, pp);
    if (!found) continue;
    const Offer& o = *found;
    auto same = std::find_if(out.begin(), out.end(), [&](const Offer& x) { return x.row.provider == r.provider; });
    if (same == out.end()) out.push_back(o);
    else if (o.usd_micros_per_hour < same->usd_micros_per_hour) *same = o;
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Offer& a, const Offer& b) { return a.usd_micros_per_hour < b.usd_micros_per_hour; });
  return out;
}

std::optional<double> usd_per_million_tokens(std::uint64_t usd_micros_per_hour, double tokens_per_s) {
  if (!(tokens_per_s > 0)) return std::nullopt;
  // usd/h / (tok/s x 3600 s/h) x 1e6 tok = micro-usd/h / (3600 x tok/s).
  return static_cast<double>(usd_micros_per_hour) / (3600.0 * tokens_per_s);
}

std::optional<std::uint64_t> parse_usd_micros(std::string_view text) {
  std::uint64_t whole = 0, frac = 0;
  std::size_t i = 0, int_digits = 0, frac_digits = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (++int_digits > 10) return std::nullopt;
    whole = whole * 10 + static_cast<std::uint64_t>(text[i++] - '0');
  }
  if (int_digits == 0) return std::nullopt;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (++frac_digits > 6) return std::nullopt;
      frac = frac * 10 + static_cast<std::uint64_t>(text[i++] - '0');
    }
    if (frac_digits == 0) return std::nullopt;
  }
  if (i != text.size() || whole > 1'000'000'000) return std::nullopt;
  for (std::size_t k = frac_digits; k < 6; ++k) frac *= 10;
  return whole * 1'000'000 + frac;
}

std::string format_usd(std::uint64_t usd_micros) {
  std::string frac = std::to_string(usd_micros % 1'000'000);
  frac.insert(0, 6 - frac.size(), '0');
  while (frac.size() > 2 && frac.back() == '0') frac.pop_back();
  return std::to_string(usd_micros / 1'000'000) + "." + frac;
}

} // namespace vramcalc
