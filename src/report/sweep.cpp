// Tables that compare several estimates: sweeps over settings, and the format list.
#include "vramcalc/render.hpp"
#include "layout.hpp"
#include "safe_text.hpp"
#include "text_table.hpp"
#include "vramcalc/price.hpp"
#include "vramcalc/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace vramcalc {

namespace {

std::string percent(double v) { return fmt::format("{:.1f}%", v * 100); }

// Where the configuration fits: on requested GPU `which` (0: the first), or the smallest
// single catalog GPU.
std::string fit_cell(const Report& r, std::size_t which = 0) {
  const FitRow* best = nullptr;
  for (const FitRow& f : r.fit) {
    if (f.requested && which > 0) {
      --which;
      continue;
    }
    if (f.requested) {
      return f.fits ? fmt::format("fits {}\u00d7 {}", f.count, f.gpu)
                    : (f.min_count != 0 ? fmt::format("no (needs {}\u00d7)", f.min_count) : std::string("no"));
    }
    if (f.min_count == 1 && (best == nullptr || f.usable_bytes < best->usable_bytes)) best = &f;
  }
  if (best != nullptr) return "1\u00d7 " + best->gpu;
  for (const FitRow& f : r.fit) {
    if (f.min_count != 0) return fmt::format("{}\u00d7 {}", f.min_count, f.gpu);
  }
  return "-";
}

} // namespace

std::string render_sweep_table(std::span<const Report> given, const SweepAxes& axes, const RenderOptions& o) {
  const std::vector<Report> safe = detail::terminal_view(given);
  const std::span<const Report> reports = safe;
  const Report& first = reports.front();
  const UnitSystem u = o.units;
  std::string out = fmt::format("{}  ({})\n", detail::Style{o.color}.bold(first.model.name),
                                first.model.id);
  std::vector<std::string> fixed;
  if (!axes.quant) fixed.push_back("weights " + first.settings.quant);
  if (!axes.kv) fixed.push_back("KV cache " + first.settings.kv_display);
  if (!axes.context) fixed.push_back("context " + with_commas(first.settings.context_tokens) + " tokens");
  if (!axes.batch) fixed.push_back("batch " + std::to_string(first.settings.batch));
  std::string line;
  for (const auto& f : fixed) line += (line.empty() ? "" : " \u00b7 ") + f;
  if (!line.empty()) out += "  " + line + "\n";
  out += "\n";

  std::size_t requested_gpus = 0;
  for (const FitRow& f : first.fit) requested_gpus += f.requested ? 1 : 0;
  const bool requested = requested_gpus > 0;
  std::vector<std::string> header;
  std::vector<bool> right;
  auto col = [&](std::string name, bool r) {
    header.push_back(std::move(name));
    right.push_back(r);
  };
  if (axes.context) col("context", true);
  if (axes.quant) {
    col("weights", false);
    col("bits/w", true);
  }
  if (axes.kv) col("KV dtype", false);
  if (axes.batch) col("batch", true);
  col("weight mem", true);
  if (axes.quant) col("vs FP32", true);
  col("KV cache", true);
  if (first.memory.state_bytes > 0) col("state", true);
  col("total", true);
  // A column per GPU asked for (--gpu h100,4090: both), each headed by its GPU when more than one.
  if (requested_gpus > 1) {
    for (const FitRow& f : first.fit) {
      if (f.requested) col("fit " + f.gpu, false);
    }
  } else {
    col(requested ? "fit" : "smallest fit", false);
  }

  std::vector<std::vector<std::string>> rows{header};
  for (const Report& r : reports) {
    std::vector<std::string> row;
    // The parameters actually stored (a GGUF leaves the vision tower out).
    std::uint64_t stored = 0;
    for (const WeightGroup& g : r.memory.weights_by_group) stored += g.params;
    const double params = static_cast<double>(stored);
    const double fp32 = 4.0 * params;
    if (axes.context) row.push_back(with_commas(r.settings.context_tokens));
    if (axes.quant) {
      row.push_back(r.settings.quant);
      row.push_back(fmt::format("{:.2f}", static_cast<double>(r.memory.weights_bytes) * 8 / params));
    }
    if (axes.kv) row.push_back(r.settings.kv_display);
    if (axes.batch) row.push_back(std::to_string(r.settings.batch));
    row.push_back(format_bytes(r.memory.weights_bytes, u));
    if (axes.quant) row.push_back(percent(static_cast<double>(r.memory.weights_bytes) / fp32));
    row.push_back(format_bytes(r.memory.kv_cache_bytes, u));
    if (first.memory.state_bytes > 0) row.push_back(format_bytes(r.memory.state_bytes, u));
    row.push_back(format_bytes(r.memory.total_bytes, u));
    for (std::size_t i = 0; i < std::max<std::size_t>(requested_gpus, 1); ++i) row.push_back(fit_cell(r, i));
    rows.push_back(std::move(row));
  }
  out += detail::grid(rows, right, "  ", detail::Style{o.color});
  out += "\n";
  if (axes.quant) {
    out += "bits/w: weight bytes x 8 / parameters. vs FP32: weight memory relative to fp32.\n";
  }
  out += requested ? "fit: on the GPUs given with --gpu (the busiest GPU's share, runtime overhead on each).\n"
                   : "smallest fit: the smallest catalog GPU that holds it alone, else the fewest GPUs.\n";
  // Which GPU a short --gpu name picked (the same for every row).
  for (const std::string& n : first.notes) {
    if (n.starts_with("--gpu ")) out += detail::wrap("Note: " + n, o.width, "", "  ");
  }
  return out;
}

std::string render_format_list(std::span<const FormatListEntry> formats, const std::string& model_name,
                               const RenderOptions& o) {
  std::string out = fmt::format("Weight formats, best quality first; sizes for {}\n\n", terminal_safe(model_name));
  std::vector<std::vector<std::string>> rows{{"FORMAT", "BITS/W", "WEIGHTS", "FILE", "DESCRIPTION"}};
  for (const FormatListEntry& f : formats) {
    rows.push_back({f.id,
                    fmt::format("{:.2f}", static_cast<double>(f.weights_bytes) * 8 / static_cast<double>(f.params)),
                    format_bytes(f.weights_bytes, o.units), format_bytes(f.file_bytes, UnitSystem::si), f.description});
  }
  out += detail::grid(rows, {false, true, true, true, false}, "  ", detail::Style{o.color});
  out += "\nAlso: gptq/awq with -g32, -g64, -g-1 and -actorder; w4a16-gN; fp8-channel; nf4-nodq, bnb-fp4;\n"
         "exl2-<bpw>[-h<head bits>]; every llama.cpp mix (q2_k ... q8_0, iq1_s ... iq4_xs, tq1_0, tq2_0).\n";
  return out;
}

} // namespace vramcalc

namespace vramcalc {

std::string render_plan(std::span<const PlanOption> given, const Settings& s, const ModelSpec& model,
                        const RenderOptions& o, const PlanPrices& prices) {
  const std::vector<PlanOption> safe = detail::terminal_view(given);
  const std::span<const PlanOption> options = safe;
  std::string out = fmt::format("{}  ({})\n  context {} tokens \u00b7 batch {} \u00b7 KV cache {}\n\n", terminal_safe(model.name), terminal_safe(model.id),
                                with_commas(s.context_tokens), s.batch, dtype_display(s.kv_dtype));
  if (options.empty()) return out + "No catalog GPU holds it with up to 1,024 devices.\n";
  std::vector<std::vector<std::string>> rows{{"#", "GPUs", "layout", "weights", "per GPU", "headroom", "decode \u2264",
                                              "$/hour", "$/Mtok \u2265", "cheapest listed (price date)"}};
  std::size_t n = 0;
  for (const PlanOption& p : options) {
    if (++n > 15) break;
    const std::string head =
        p.headroom_bytes >= 0 ? format_bytes(static_cast<std::uint64_t>(p.headroom_bytes), o.units) : "-";
    std::string hour = p.price_usd_per_hour ? fmt::format("{:.2f}", *p.price_usd_per_hour) : "-";
    std::string offer = "-";
    if (p.cost) {
      hour = format_usd(p.cost->usd_micros_per_hour);
      offer = fmt::format("{} {}\u00d7 {} ({})", terminal_safe(p.cost->row.provider), p.cost->instances,
                          terminal_safe(p.cost->row.instance), terminal_safe(p.cost->row.date));
    }
    rows.push_back({std::to_string(n), fmt::format("{}\u00d7 {}", p.count, p.gpu_name),
                    p.pp > 1 ? fmt::format("tp{} pp{}", p.tp, p.pp) : fmt::format("tp{}", p.tp), p.quant,
                    format_bytes(p.required_bytes_per_gpu, o.units), head,
                    p.decode_tokens_per_s ? with_commas(static_cast<std::uint64_t>(*p.decode_tokens_per_s + 0.5)) + " tok/s" : "-", hour,
                    p.usd_per_million_output_tokens ? fmt::format("{:.2f}", *p.usd_per_million_output_tokens) : "-",
                    offer});
  }
  out += detail::grid(rows, {true, false, false, false, true, true, true, true, true, false}, "  ", detail::Style{o.color});
  const char* order = prices.rank == PlanRank::per_hour    ? "$/hour, then GPU count, then total GPU memory"
                      : prices.rank == PlanRank::per_token ? "$/Mtok, then GPU count, then total GPU memory"
                                                           : "GPU count, then total GPU memory, then $/hour";
  out += fmt::format("\nOrdered by {} (--rank); {} of {} options shown.\n"
                     "decode: an upper bound per sequence from memory bandwidth (docs/speed.md).\n",
                     order, std::min<std::size_t>(15, options.size()), options.size());
  if (!prices.origin.empty()) {
    out += fmt::format("$/hour: on-demand, whole instances of the cheapest listed offer ({}, revision {}); "
                       "$/Mtok: that price over\n"
                       "the aggregate decode bound of {} sequences, so a floor on the real cost (docs/prices.md).\n",
                       terminal_safe(prices.origin), terminal_safe(prices.revision), s.batch);
  }
  return out;
}

std::string render_compare(std::span<const Report> given, const RenderOptions& o) {
  const std::vector<Report> safe = detail::terminal_view(given);
  const std::span<const Report> reports = safe;
  const UnitSystem u = o.units;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header{""};
  for (const Report& r : reports) header.push_back(r.model.id);
  rows.push_back(header);
  auto row = [&](std::string name, auto&& cell) {
    std::vector<std::string> line{std::move(name)};
    for (const Report& r : reports) line.push_back(cell(r));
    rows.push_back(std::move(line));
  };
  row("parameters", [](const Report& r) { return format_params(r.model.params_total); });
  row("active", [](const Report& r) { return r.model.moe ? format_params(r.model.params_active) : "dense"; });
  row("layers", [](const Report& r) { return std::to_string(r.model.num_layers); });
  row("heads / KV heads",
      [](const Report& r) { return fmt::format("{} / {}", r.model.num_heads, r.model.num_kv_heads); });
  row("attention", [](const Report& r) { return r.model.attention; });
  row("max context", [](const Report& r) { return with_commas(r.model.max_context); });
  row("format", [](const Report& r) { return r.settings.quant; });
  row("weights", [&](const Report& r) { return format_bytes(r.memory.weights_bytes, u); });
  // The KV cache per kind of layer, bytes per token x the tokens each holds: the rows multiply
  // out (a sliding-window layer holds its window, not the context).
  std::vector<std::pair<std::string, std::uint64_t>> kinds; // (kind, window) in the reports' order
  for (const Report& r : reports) {
    for (const KvGroup& g : r.memory.kv_groups) {
      if (std::find(kinds.begin(), kinds.end(), std::make_pair(g.kind, g.window_tokens)) == kinds.end()) {
        kinds.emplace_back(g.kind, g.window_tokens);
      }
    }
  }
  for (const auto& [kind, window] : kinds) {
    const std::string name = kind == "full"     ? "KV full layers"
                             : kind == "latent" ? "KV latent layers"
                             : kind == "chunked" ? "KV chunked layers"
                                                 : "KV window layers";
    row(kinds.size() > 1 && window != 0 ? fmt::format("{} ({})", name, with_commas(window)) : name, [&](const Report& r) {
      for (const KvGroup& g : r.memory.kv_groups) {
        if (g.kind == kind && g.window_tokens == window) {
          return fmt::format("{}/tok \u00d7 {}{}", format_bytes_auto(g.bytes_per_token, u), with_commas(g.tokens_held),
                             r.settings.batch > 1 ? fmt::format(" \u00d7 {}", with_commas(r.settings.batch)) : "");
        }
      }
      return std::string("-");
    });
  }
  row("KV cache", [&](const Report& r) { return format_bytes(r.memory.kv_cache_bytes, u); });
  row("total", [&](const Report& r) { return format_bytes(r.memory.total_bytes, u); });
  row("smallest fit", [](const Report& r) {
    const FitRow* best = nullptr;
    for (const FitRow& f : r.fit) {
      if (f.requested) return f.fits ? fmt::format("fits {}\u00d7 {}", f.count, f.gpu) : std::string("does not fit");
      if (f.min_count != 0 && (best == nullptr || std::make_pair(f.min_count, f.usable_bytes) <
                                                      std::make_pair(best->min_count, best->usable_bytes))) {
        best = &f;
      }
    }
    return best != nullptr ? fmt::format("{}\u00d7 {}", best->min_count, best->gpu) : std::string("-");
  });
  std::vector<bool> right(header.size(), true);
  right[0] = false;
  const Report& f = reports.front();
  std::string out = fmt::format("context {} tokens \u00b7 batch {}\n\n", with_commas(f.settings.context_tokens),
                                f.settings.batch);
  return out + detail::grid(rows, right, "  ", detail::Style{o.color});
}

} // namespace vramcalc
