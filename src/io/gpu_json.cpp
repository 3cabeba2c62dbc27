#include "vramcalc/io/gpu_json.hpp"

#include "json_util.hpp"
#include "vramcalc/names.hpp"

#include <set>

namespace vramcalc::io {

using detail::LoadFailure;
using detail::ObjectReader;

namespace {

GpuCatalog parse(std::string_view text, const std::string& origin, detail::Keys keys) {
  const auto j = detail::parse_strict(text, origin, ErrorCode::invalid_catalog, keys);
  ObjectReader r(j, origin, "", ErrorCode::invalid_catalog);
  const std::string schema = r.str("schema");
  if (schema != "vramcalc-gpus/1") {
    r.fail("schema", "unsupported schema '" + schema + "' (this vramcalc reads vramcalc-gpus/1)");
  }
  GpuCatalog c;
  c.revision = r.str("revision");
  const auto& arr = r.array("gpus");
  std::set<std::string> names;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    ObjectReader g = r.element(arr, "gpus", i);
    GpuSpec s;
    s.id = g.str("id");
    s.name = g.str("name");
    s.vendor = g.str("vendor");
    if (s.vendor != "nvidia" && s.vendor != "amd" && s.vendor != "intel" && s.vendor != "apple") {
      g.fail("vendor", "expected nvidia, amd, intel or apple, got '" + s.vendor + "'");
    }
    s.segment = s.vendor == "apple" ? "mac" : "datacenter";
    if (auto seg = g.opt_str("segment")) {
      if (*seg != "datacenter" && *seg != "workstation" && *seg != "consumer" && *seg != "mac") {
        g.fail("segment", "expected datacenter, workstation, consumer or mac, got '" + *seg + "'");
      }
      s.segment = *seg;
    }
    s.aliases = g.str_array("aliases");
    s.memory_bytes = g.u64("memory_bytes", 1, 1ull << 56);
    s.memory_basis = g.str("memory_basis");
    if (s.memory_basis != "reported" && s.memory_basis != "marketed") {
      g.fail("memory_basis", "expected reported or marketed, got '" + s.memory_basis + "'");
    }
    s.memory_note = g.str("memory_note");
    s.usable_percent = static_cast<std::uint32_t>(g.u64("usable_percent", 1, 100));
    s.bandwidth_gb_per_s = g.number("bandwidth_gb_per_s", 1, 1e6);
    s.bf16_tflops = g.opt_number("bf16_tflops", 0.001, 1e7);
    s.fp8_tflops = g.opt_number("fp8_tflops", 0.001, 1e7);
    s.fp4 = g.opt_bool_or_null("fp4");
    s.price_usd_per_hour = g.opt_number("price_usd_per_hour", 0, 1e6);
    s.sources = g.str_array("sources");
    if (s.sources.empty()) g.fail("sources", "must list at least one source");
    // Optional: the total CUDA reports, with where it was measured (docs/gpus.md).
    s.cuda_memory_bytes = g.opt_u64("cuda_memory_bytes", 1, s.memory_bytes);
    if (auto src = g.opt_str("cuda_memory_source")) s.cuda_memory_source = *src;
    if (s.cuda_memory_bytes && s.cuda_memory_source.empty()) {
      g.fail("cuda_memory_source", "must say where cuda_memory_bytes was measured");
    }
    g.finish();
    for (const std::string& n : [&] {
           std::vector<std::string> all{s.id};
           all.insert(all.end(), s.aliases.begin(), s.aliases.end());
           return all;
         }()) {
      if (!names.insert(to_lower(n)).second) {
        r.fail("gpus", "entry " + std::to_string(i) + " ('" + s.id + "'): the name '" + n +
                           "' is already used by another GPU");
      }
    }
    c.gpus.push_back(std::move(s));
  }
  if (c.gpus.empty()) r.fail("gpus", "must list at least one GPU");
  r.finish();
  return c;
}

} // namespace

std::expected<GpuCatalog, Error> parse_gpu_catalog(std::string_view text, std::string_view origin) {
  try {
    return parse(text, std::string(origin), detail::Keys::check_duplicates);
  } catch (const LoadFailure& f) {
    return std::unexpected(f.error);
  }
}

std::expected<GpuCatalog, Error> detail::parse_gpu_catalog_embedded(std::string_view text, std::string_view origin) {
  try {
    return parse(text, std::string(origin), Keys::trusted);
  } catch (const LoadFailure& f) {
    return std::unexpected(f.error);
  }
}

} // namespace vramcalc::io
