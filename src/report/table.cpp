#include "vramcalc/model.hpp"
#include "vramcalc/render.hpp"
#include "engine_render.hpp"
#include "layout.hpp"
#include "safe_text.hpp"
#include "text_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <vector>

namespace vramcalc {

std::string detail::signed_bytes(std::int64_t v, UnitSystem u) {
  if (v >= 0) return "+" + format_bytes(static_cast<std::uint64_t>(v), u);
  return "-" + format_bytes(static_cast<std::uint64_t>(-(v + 1)) + 1, u);
}

namespace {

using detail::signed_bytes;
using detail::Style;

std::string count_str(std::uint32_t n) { return fmt::format("{}\u00d7", n); }

std::string seconds(double s) {
  if (s < 1) return fmt::format("{:.0f} ms", s * 1000);
  if (s < 120) return fmt::format("{:.1f} s", s);
  return fmt::format("{:.1f} min", s / 60);
}

std::string join(const std::vector<std::string>& v, std::string_view sep, std::string_view last_sep) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += i + 1 == v.size() ? last_sep : sep;
    out += v[i];
  }
  return out;
}

} // namespace

// The fit table's last column: the row's verdict, in the engine's words when an engine decided it.
std::string fit_status(const FitRow& row, const EngineSection* engine) {
  if (!row.problem.empty()) return "invalid: " + row.problem;
  const std::string needs = row.min_count != 0 ? fmt::format(" (needs {})", row.min_count) : " (no count fits)";
  if (row.decided_by != "generic" && engine != nullptr) {
    const std::string who(engine_traits(engine->kind()).display);
    if (row.fits) return who + ": fits";
    if (!engine->host_fits && detail::fits_on_gpus(*engine)) return who + ": host memory short";
    const std::string said =
        std::visit([&](const auto& a) { return detail::engine_status(*engine, a, needs); }, engine->detail);
    if (!said.empty()) return said;
    return who + ": does not fit" + needs;
  }
  if (row.fits) return "fits";
  if (row.min_count == 0) return "too small";
  return row.requested ? "does not fit" + needs : "does not fit";
}

namespace {

// "full", "sliding (1,024)", "chunked (8,192)", "latent (MLA)".
std::string kv_kind_name(const KvGroup& g) {
  if (g.kind == "window") return fmt::format("sliding ({})", with_commas(g.window_tokens));
  if (g.kind == "chunked") return fmt::format("chunked ({})", with_commas(g.window_tokens));
  if (g.kind == "latent") return "latent (MLA)";
  return "full";
}

// Macs are not paired: no engine splits one model over several Macs' unified memory.
bool deployable(const FitRow& f) { return f.gpu_segment != "mac" || f.count <= 1; }

std::string engine_label(const EngineSection& e) { return std::string(engine_traits(e.kind()).display) + " " + e.version; }

// The rows the default table shows (no GPU named, no --all-gpus): for each kind of machine
// (data-centre first, then workstation, consumer, Mac), the GPU with the least memory that
// fits on 1, 2, 4 and 8 of them (beyond 8: the fewest any needs), at its smallest count; no
// pairs of Macs. Indexes into r.fit, in the order shown.
std::vector<std::size_t> chosen_rows(const Report& r) {
  std::vector<std::size_t> out;
  constexpr std::array<std::pair<std::string_view, std::size_t>, 4> segments{
      {{"datacenter", 4}, {"workstation", 2}, {"consumer", 3}, {"mac", 1}}};
  for (const auto& [segment, most] : segments) {
    std::vector<std::size_t> picked;
    std::uint32_t fewest = 0;
    for (const FitRow& f : r.fit) {
      if (f.gpu_segment == segment && f.min_count != 0 && f.problem.empty() && deployable(f) &&
          (fewest == 0 || f.min_count < fewest)) {
        fewest = f.min_count;
      }
    }
    if (fewest == 0) continue;
    for (std::uint32_t n : {1u, 2u, 4u, 8u, std::max(fewest, 9u)}) {
      if (n > 8 && !picked.empty()) break;
      std::size_t best = r.fit.size();
      for (std::size_t i = 0; i < r.fit.size(); ++i) {
        const FitRow& f = r.fit[i];
        if (f.gpu_segment != segment || f.min_count == 0 || f.min_count > n || !f.problem.empty() || !deployable(f)) continue;
        if (best == r.fit.size() || f.gpu_memory_bytes < r.fit[best].gpu_memory_bytes) best = i;
      }
      if (best != r.fit.size() && std::find(picked.begin(), picked.end(), best) == picked.end()) picked.push_back(best);
    }
    std::sort(picked.begin(), picked.end()); // the fit table's order: fewest GPUs first
    if (picked.size() > most) picked.resize(most);
    out.insert(out.end(), picked.begin(), picked.end());
  }
  return out;
}

// The verdict, first thing under the header: for each requested GPU the fit row's answer (the
// engine's when one decided it), or without GPUs the least memory that fits on 1, 2, 4, 8.
std::string verdict(const Report& r, const RenderOptions& o, const Style& st) {
  const UnitSystem u = o.units;
  bool requested = false;
  for (const FitRow& f : r.fit) requested = requested || f.requested;
  std::string out;
  if (requested) {
    for (const FitRow& f : r.fit) {
      const std::string config = fmt::format("{} {}{}", count_str(f.count), f.gpu_name,
                                             f.count > 1 ? fmt::format(" (tp {}, pp {})", f.tp, f.pp) : "");
      std::string line;
      const std::string needs = f.min_count != 0 ? fmt::format("; needs {}", count_str(f.min_count))
                                                 : "; no count up to 1,024 fits";
      if (!f.problem.empty()) {
        line = fmt::format("{} {}: {}.", st.red("CANNOT RUN on"), config, f.problem);
      } else if (f.decided_by != "generic" && r.engine) {
        const EngineSection& e = *r.engine;
        if (!e.host_fits) {
          line = fmt::format("{} {} with {}: it needs {} of host memory, more than the {} given.", st.red("DOES NOT FIT on"),
                             config, engine_label(e), format_bytes(e.host_bytes, u), format_bytes(*e.host_mem_bytes, u));
        } else if (f.fits) {
          const std::string room = std::visit([&](const auto& a) { return detail::engine_room(e, a, f, u); }, e.detail);
          line = fmt::format("{} {} with {}: {}.", st.green("FITS on"), config, engine_label(e), room);
        } else {
          const std::string why = std::visit([&](const auto& a) { return detail::engine_shortfall(e, a, f, u); }, e.detail);
          const bool refuses = std::visit([](const auto& a) { return detail::engine_refuses(a); }, e.detail);
          line = fmt::format("{} {} with {}: {}{}.", st.red("DOES NOT FIT on"), config, engine_label(e), why,
                             refuses ? "" : needs);
        }
      } else if (f.fits) {
        line = fmt::format("{} {}: {} per GPU, {} headroom on each.", st.green("FITS on"), config,
                           format_bytes(f.required_bytes_per_gpu, u),
                           format_bytes(static_cast<std::uint64_t>(f.headroom_bytes), u));
      } else {
        line = fmt::format("{} {}: needs {} per GPU, has {} usable (short by {}){}.", st.red("DOES NOT FIT on"), config,
                           format_bytes(f.required_bytes_per_gpu, u), format_bytes(f.usable_bytes, u),
                           format_bytes(f.required_bytes_per_gpu - f.usable_bytes, u), needs);
      }
      out += detail::wrap(line, o.width, "", "  ");
    }
    return out;
  }
  // No GPU named: the smallest GPU for common server sizes (1, 2, 4, 8 GPUs).
  std::vector<std::string> options;
  std::vector<std::string> seen;
  // From the rows the fit table shows (chosen_rows), so the two name the same deployments.
  for (std::uint32_t n : {1u, 2u, 4u, 8u}) {
    const FitRow* best = nullptr;
    for (const std::size_t i : chosen_rows(r)) {
      const FitRow& f = r.fit[i];
      if (f.min_count == 0 || f.min_count > n) continue;
      if (best == nullptr || f.gpu_memory_bytes < best->gpu_memory_bytes) best = &f;
    }
    if (best == nullptr || std::find(seen.begin(), seen.end(), best->gpu) != seen.end()) continue;
    seen.push_back(best->gpu);
    options.push_back(fmt::format("{} {}", count_str(n), best->gpu_name));
  }
  const std::string total = format_bytes(r.memory.total_bytes, u);
  if (options.empty()) {
    return detail::wrap(fmt::format("{}: needs {}; no catalog GPU holds it with 8 or fewer devices.", st.red("Verdict"), total),
                        o.width, "", "  ");
  }
  return detail::wrap(fmt::format("{}: needs {} on one GPU; fits on {}.", st.bold("Verdict"), total, join(options, ", ", " or ")),
                      o.width, "", "  ");
}

// "H100 SXM 80GB" for "NVIDIA H100 SXM 80GB": no maker, no bracketed detail.
std::string short_gpu_name(const std::string& name) {
  std::string s = name;
  for (std::string_view maker : {"NVIDIA ", "AMD ", "Apple ", "Intel "}) {
    if (s.starts_with(maker)) s.erase(0, maker.size());
  }
  if (const auto open = s.find(" ("); open != std::string::npos && s.ends_with(")")) s.erase(open);
  return s;
}

// A stacked bar of one GPU: weights, KV cache (and state), overhead, free, against its
// usable memory; past capacity the bar is full and marked.
std::string memory_bar(const FitRow& f, const RenderOptions& o, const Style& st) {
  constexpr std::size_t width = 48;
  const UnitSystem u = o.units;
  const std::uint64_t kv = f.busiest_kv_bytes + f.busiest_state_bytes;
  const std::uint64_t total = f.busiest_weights_bytes + kv + f.overhead_bytes;
  const std::uint64_t scale = std::max(total, f.usable_bytes);
  const auto cells = [&](std::uint64_t b) {
    return scale == 0 ? std::size_t{0}
                      : static_cast<std::size_t>((static_cast<double>(b) * width + static_cast<double>(scale) / 2) /
                                                 static_cast<double>(scale));
  };
  std::size_t w = cells(f.busiest_weights_bytes), k = cells(kv), h = cells(f.overhead_bytes);
  w = std::min(w, width);
  k = std::min(k, width - w);
  h = std::min(h, width - w - k);
  const std::size_t cap = std::min(width, cells(f.usable_bytes));
  // One glyph per cell, each with its colour; past capacity a red mark at the capacity.
  std::vector<std::pair<const char*, const char*>> glyphs;
  for (std::size_t i = 0; i < w; ++i) glyphs.emplace_back("34", "\u2588");
  for (std::size_t i = 0; i < k; ++i) glyphs.emplace_back("32", "\u2593");
  for (std::size_t i = 0; i < h; ++i) glyphs.emplace_back("90", "\u2591");
  while (glyphs.size() < cap) glyphs.emplace_back("", "\u00b7");
  if (total > f.usable_bytes && cap < glyphs.size()) glyphs[cap] = {"31", "\u2503"};
  std::string bar;
  std::string_view current;
  for (const auto& [color, glyph] : glyphs) {
    if (o.color && current != color) {
      bar += *color == '\0' ? std::string("\x1b[0m") : "\x1b[" + std::string(color) + "m";
      current = color;
    }
    bar += glyph;
  }
  if (o.color && !current.empty()) bar += "\x1b[0m";
  const std::string label = fmt::format("{}\u00d7 {}", f.count, f.gpu_name);
  std::string out = fmt::format("  {}\n  \u2502{}\u2502 {} of {}{}\n", label, bar, format_bytes(total, u),
                                format_bytes(f.usable_bytes, u), total > f.usable_bytes ? " " + st.red("(over capacity)") : "");
  out += st.dim(fmt::format("   \u2588 weights {}  \u2593 KV cache{} {}  \u2591 overhead {}  \u00b7 free {}",
                            format_bytes(f.busiest_weights_bytes, u), f.busiest_state_bytes > 0 ? " + state" : "",
                            format_bytes(kv, u), format_bytes(f.overhead_bytes, u),
                            format_bytes(total < f.usable_bytes ? f.usable_bytes - total : 0, u))) +
         "\n";
  return out;
}

} // namespace

namespace {

// The fit table's $/hour key: what the figure is, and each price date of the rows shown once,
// with the providers observed on it.
std::string price_key(const Report& r, const std::vector<std::size_t>& rows) {
  std::vector<std::pair<std::string, std::vector<std::string>>> dates; // date -> providers, in row order
  for (const std::size_t i : rows) {
    if (!r.fit[i].fits || !r.fit[i].cost) continue;
    const PriceRow& p = r.fit[i].cost->row;
    auto d = std::ranges::find(dates, p.date, &std::pair<std::string, std::vector<std::string>>::first);
    if (d == dates.end()) d = dates.insert(dates.end(), {p.date, {}});
    if (std::ranges::find(d->second, p.provider) == d->second.end()) d->second.push_back(p.provider);
  }
  std::vector<std::string> parts;
  for (const auto& [date, providers] : dates) parts.push_back(fmt::format("{} ({})", date, join(providers, ", ", ", ")));
  return fmt::format("$/hour: cheapest listed on-demand offer (docs/prices.md); prices of {}", join(parts, ", ", ", "));
}


// "Images: 2 per request × 2,691 tokens (1920x1080 resized to 1932x1092) = 5,382 of the
// 32,768-token context".
std::string images_line(const ImagesWorkload& i) {
  const ImageTokens& m = i.image;
  std::string size;
  if (i.size_given) {
    size = m.resized_width == m.width && m.resized_height == m.height
               ? fmt::format(" ({}x{})", m.width, m.height)
               : fmt::format(" ({}x{} resized to {}x{})", m.width, m.height, m.resized_width, m.resized_height);
  } else {
    size = m.resized_width != 0 ? fmt::format(" (the largest image, {}x{})", m.resized_width, m.resized_height)
                                : std::string(" (the largest image)");
  }
  return fmt::format("Images: {} per request \u00d7 {} tokens{} = {} of the {}-token context", with_commas(i.per_request),
                     with_commas(m.tokens), size, with_commas(i.tokens_per_request), with_commas(i.context_tokens));
}

// The model and the settings, in lines that fit the terminal.
std::string model_lines(const Report& r, std::size_t width, const Style& st) {
  std::string out;
  const ModelSummary& m = r.model;
  out += fmt::format("{}  ({})\n", st.bold(m.name), m.id);
  std::string params = m.moe ? fmt::format("{} parameters, {} active (MoE)", format_params(m.params_total),
                                           format_params(m.params_active))
                             : fmt::format("{} parameters", format_params(m.params_total));
  std::string heads = fmt::format("{} heads / {} KV heads", m.num_heads, m.num_kv_heads);
  std::string hd = m.v_head_dim != m.head_dim ? fmt::format("head_dim {} (V {})", m.head_dim, m.v_head_dim)
                                              : fmt::format("head_dim {}", m.head_dim);
  const std::string layout = m.attention == "full" ? "full attention" : "layers: " + m.attention;
  out += detail::wrap_items({params, fmt::format("{} layers", m.num_layers), heads, hd, layout}, " \u00b7 ", width, "  ", "  ");
  const SettingsSummary& s = r.settings;
  out += detail::wrap_items({"weights " + (s.quant == "file" ? std::string("from the files") : s.quant), "KV cache " + s.kv_display,
                             fmt::format("context {} tokens", with_commas(s.context_tokens)),
                             fmt::format("batch {}", with_commas(s.batch))},
                            " \u00b7 ", width, "  ", "  ");
  if (r.images) out += detail::wrap(images_line(*r.images), width, "  ", "    ");
  out += "\n";
  return out;
}

// The memory table: weights, KV cache (per kind of layer), state, overhead, total.
std::string memory_section(const Report& r, const RenderOptions& o, const Style& st) {
  const UnitSystem u = o.units;
  const std::size_t width = o.width;
  const ModelSummary& m = r.model;
  const SettingsSummary& s = r.settings;
  std::string out;
  const MemorySummary& mem = r.memory;
  detail::Table t({{""}, {"", detail::Align::right}, {"", detail::Align::left, true}});
  t.row({"Weights", format_bytes(mem.weights_bytes, u),
         fmt::format("{}, {} params; file {}", s.quant_description, with_commas(m.params_total),
                     format_bytes(mem.file_bytes, UnitSystem::si))});
  // The KV line multiplies out: per kind of layer, its bytes per token x the tokens it holds.
  const std::string sequences = fmt::format("{} sequence{}", with_commas(s.batch), s.batch == 1 ? "" : "s");
  const std::string kept = mem.kv_policy.empty() ? "" : "; kept: " + mem.kv_policy;
  const auto kv_product = [&](const KvGroup& g) {
    return fmt::format("{}/token \u00d7 {} tokens{} \u00d7 {}", format_bytes_auto(g.bytes_per_token, u),
                       with_commas(g.tokens_held),
                       g.window_tokens != 0 && g.tokens_held == g.window_tokens ? (g.kind == "chunked" ? " (chunk)" : " (window)") : "",
                       sequences);
  };
  std::size_t memory_rows = 1;
  if (mem.kv_groups.size() == 1 && mem.kv_groups.front().kind == "full" && mem.kv_groups.front().layers == m.num_layers) {
    t.row({"KV cache", format_bytes(mem.kv_cache_bytes, u), kv_product(mem.kv_groups.front()) + kept});
    ++memory_rows;
  } else if (mem.kv_groups.empty()) {
    t.row({"KV cache", format_bytes(mem.kv_cache_bytes, u), "no attention layers" + kept});
    ++memory_rows;
  } else if (mem.kv_groups.size() == 1) {
    const KvGroup& g = mem.kv_groups.front();
    t.row({"KV cache", format_bytes(mem.kv_cache_bytes, u),
           fmt::format("{} {} layers: {}{}", g.layers, kv_kind_name(g), kv_product(g), kept)});
    ++memory_rows;
  } else {
    t.row({"KV cache", format_bytes(mem.kv_cache_bytes, u), "the sum of the kinds of layer below" + kept});
    ++memory_rows;
    for (const KvGroup& g : mem.kv_groups) {
      t.row({fmt::format("  {} {} layer{}", g.layers, kv_kind_name(g), g.layers == 1 ? "" : "s"), format_bytes_auto(g.bytes, u),
             kv_product(g)});
      ++memory_rows;
    }
  }
  if (mem.state_bytes > 0) {
    t.row({"Recurrent state", format_bytes(mem.state_bytes, u),
           fmt::format("{}/sequence \u00d7 {}, independent of context",
                       format_bytes_auto(mem.state_bytes / std::max<std::uint64_t>(s.batch, 1), u), sequences)});
    ++memory_rows;
  }
  if (mem.draft) {
    const DraftSummary& d = *mem.draft;
    t.row({"Draft model", format_bytes(d.weights_bytes + d.kv_cache_bytes, u),
           fmt::format("speculative decoding: {} in {}, weights {} + KV cache {}", d.model, d.quant,
                       format_bytes(d.weights_bytes, u), format_bytes(d.kv_cache_bytes, u))});
    ++memory_rows;
  }
  t.row({"Runtime overhead", format_bytes(mem.overhead_bytes, u), "per GPU: CUDA context, allocator, activations"});
  t.row({"Total", format_bytes(mem.total_bytes, u), "on one GPU"});
  const std::size_t total_row = memory_rows + 2; // row 0 is the (empty) header
  out += st.bold("Memory") + "\n";
  std::string memory = t.render("  ", width, [&](std::size_t row, std::size_t col, const std::string& c) {
    return row == total_row && col < 2 ? st.bold(c) : col == 2 ? st.dim(c) : c;
  });
  out += memory.substr(memory.find('\n') + 1); // no header row
  out += "\n";

  return out;
}

// The fit table: the requested GPUs, or a choice that answers the question, and its key.
// The engine's host memory beside its GPUs' (with --host-mem, the second fit constraint).
std::string host_line(const EngineSection& e, const RenderOptions& o, const Style& st) {
  if (e.host_bytes == 0 && !e.host_mem_bytes) return "";
  std::string line = fmt::format("{} {}{}", st.bold("Host memory:"), format_bytes(e.host_bytes, o.units),
                                 e.host_what.empty() ? "" : " (" + e.host_what + ")");
  if (!e.host_mem_bytes) line += "; not checked without --host-mem.";
  else if (e.host_fits) line += fmt::format("; {} in the {} given.", st.green("fits"), format_bytes(*e.host_mem_bytes, o.units));
  else line += fmt::format("; {} than the {} given.", st.red("more"), format_bytes(*e.host_mem_bytes, o.units));
  return detail::wrap(line, o.width, "", "  ");
}

std::string fit_section(const Report& r, const RenderOptions& o, const Style& st) {
  const UnitSystem u = o.units;
  const std::size_t width = o.width;
  std::string out;
  // The rows: the requested GPUs, or a choice that answers the question (--all-gpus: all).
  bool requested = false;
  for (const FitRow& f : r.fit) requested = requested || f.requested;
  std::vector<std::size_t> rows;
  if (requested || o.all_gpus) {
    for (std::size_t i = 0; i < r.fit.size(); ++i) rows.push_back(i);
  } else {
    rows = chosen_rows(r);
  }
  const bool chosen = rows.size() < r.fit.size();
  {
    const std::string what = chosen ? fmt::format("({} of {} GPUs: the least memory that fits on 1, 2, 4, 8 of each kind; "
                                                  "--all-gpus: all)",
                                                  rows.size(), r.fit.size())
                                    : std::string("(busiest GPU: tensor parallel up to 8, pipeline stages beyond; "
                                                  "overhead on each)");
    const std::string lines = detail::wrap(what, width, "Fit  ", "  ");
    out += st.bold("Fit") + st.dim(lines.substr(3, lines.size() - 4)) + "\n";
  }
  // $/hour: the cheapest listed offer for the row's layout, as plan shows it (docs/prices.md), for
  // the rows that fit; a column only when some row shown has one.
  const auto price_shown = [&](const FitRow& row) { return row.fits && row.cost.has_value(); };
  const bool priced = std::ranges::any_of(rows, [&](std::size_t i) { return price_shown(r.fit[i]); });
  const std::size_t status_col = priced ? 9 : 8;
  std::vector<detail::Column> columns{{"GPU"}, {"usable", detail::Align::right}, {"GPUs", detail::Align::right}, {"layout"},
                                      {"per GPU", detail::Align::right}, {"headroom", detail::Align::right},
                                      {"decode \u2264", detail::Align::right}, {"prefill \u2265", detail::Align::right}};
  if (priced) columns.push_back({"$/hour", detail::Align::right});
  columns.push_back({"", detail::Align::left, true});
  detail::Table f(std::move(columns));
  for (const std::size_t i : rows) {
    const FitRow& row = r.fit[i];
    const std::string status = fit_status(row, r.engine ? &*r.engine : nullptr);
    const std::string split = row.pp > 1 ? fmt::format("tp{} pp{}", row.tp, row.pp) : fmt::format("tp{}", row.tp);
    const std::string decode =
        row.decode_tokens_per_s ? with_commas(static_cast<std::uint64_t>(*row.decode_tokens_per_s + 0.5)) + " tok/s"
                                : std::string("-");
    const std::string prefill = row.prefill_seconds ? seconds(*row.prefill_seconds) : std::string("-");
    std::vector<std::string> cells{row.gpu_name, format_bytes(row.usable_bytes, u), count_str(row.count), split,
                                   format_bytes(row.required_bytes_per_gpu, u), signed_bytes(row.headroom_bytes, u),
                                   decode, prefill};
    if (priced) cells.push_back(price_shown(row) ? format_usd(row.cost->usd_micros_per_hour) : std::string("-"));
    cells.push_back(status);
    std::vector<std::string> shorter = cells;
    shorter[0] = short_gpu_name(row.gpu_name);
    f.row(std::move(cells), std::move(shorter));
  }
  using detail::Shrink;
  // $/hour gives way after the layout (the GPU count stays), before the decode bound.
  std::vector<Shrink> steps{{Shrink::Kind::shorten, 0}, {Shrink::Kind::drop, 7}, {Shrink::Kind::drop, 1},
                            {Shrink::Kind::drop, 3}};
  if (priced) steps.push_back({Shrink::Kind::drop, 8});
  steps.insert(steps.end(), {{Shrink::Kind::drop, 6}, {Shrink::Kind::drop, 5}});
  f.shrink(std::move(steps));
  out += f.render("  ", width, [&](std::size_t row, std::size_t col, const std::string& c) {
    if (row == 0) return st.dim(c);
    if (col == status_col) return r.fit[rows[row - 1]].fits ? st.green(c) : st.red(c);
    if (col == 6 || col == 7) return st.dim(c);
    return c;
  });
  std::vector<std::string> keys;
  if (f.shown(6)) keys.push_back("decode \u2264: per sequence, bandwidth bound");
  if (f.shown(7)) keys.push_back("prefill \u2265: whole context, compute bound");
  if (!keys.empty()) {
    out += st.dim(detail::wrap(join(keys, "; ", "; ") + " (docs/speed.md)", width, "  ", "  "));
  }
  if (priced && f.shown(8)) out += st.dim(detail::wrap(price_key(r, rows), width, "  ", "  "));
  out += "\n";
  return out;
}

} // namespace

std::string render_table(const Report& report, const RenderOptions& o) {
  const Report r = detail::terminal_view(report);
  const Style st{o.color};
  const std::size_t width = o.width;
  std::string out = model_lines(r, width, st);
  // The answer first: it decides whether the rest is worth reading.
  out += verdict(r, o, st);
  // A context beyond the model's own maximum is a what-if: said before the figures.
  const auto beyond = [](const std::string& n) { return n.starts_with("The context (") && n.find("longer than the model's maximum") != std::string::npos; };
  for (const std::string& n : r.notes) {
    if (beyond(n)) out += st.red(detail::wrap("Note: " + n, width, "", "  "));
  }
  out += "\n";

  out += memory_section(r, o, st);
  out += fit_section(r, o, st);
  if (o.bars) {
    std::string bars;
    for (const FitRow& row : r.fit) {
      if (row.requested && row.problem.empty()) bars += memory_bar(row, o, st);
    }
    if (!bars.empty()) out += st.bold("Per GPU (the busiest)") + "\n" + bars + "\n";
  }
  // With an engine, its account (does vLLM start, how many requests fit; llama.cpp's devices).
  if (r.engine) out += std::visit([&](const auto& a) { return detail::engine_text(*r.engine, a, o, st); }, r.engine->detail);
  if (r.engine) out += host_line(*r.engine, o, st);
  if (!r.suggestions.empty()) {
    out += detail::wrap(fmt::format("{} {}.", st.bold("Would fit with:"), join(r.suggestions, ", ", " or ")), width, "", "  ");
  }
  if (r.limits) {
    const Limits& l = *r.limits;
    std::vector<std::string> parts;
    if (l.asked_context) {
      parts.push_back(l.max_context_tokens ? "largest context " + with_commas(*l.max_context_tokens) + " tokens"
                                           : "not even the smallest context fits");
    }
    if (l.asked_batch) {
      parts.push_back(l.max_batch ? "most sequences " + with_commas(*l.max_batch) : "not one sequence fits");
    }
    if (l.asked_quant) parts.push_back(l.best_quant ? "best format " + *l.best_quant : "no format fits");
    out += detail::wrap(fmt::format("{} {}.", st.bold("Limits:"), join(parts, "; ", "; ")), width, "", "  ");
  }
  for (const std::string& n : r.notes) {
    if (!beyond(n)) out += st.dim(detail::wrap("Note: " + n, width, "", "  "));
  }
  return out;
}

} // namespace vramcalc

namespace vramcalc {

std::string render_inspect(const InspectReport& report, const RenderOptions& o) {
  const InspectReport r = detail::terminal_view(report);
  const Style st{o.color};
  const UnitSystem u = o.units;
  std::string out;
  const ModelSummary& m = r.model;
  out += fmt::format("{}  ({}, {} file{})\n", st.bold(m.name.empty() ? std::string("(no architecture)") : m.name), r.kind == "gguf" ? "GGUF" : "safetensors", r.files.size(),
                     r.files.size() == 1 ? "" : "s");
  for (const std::string& f : r.files) out += "  " + f + "\n";
  std::string facts;
  for (const auto& [k, v] : r.facts) facts += (facts.empty() ? "" : " \u00b7 ") + k + " " + v;
  if (!facts.empty()) out += st.dim("  " + facts) + "\n";
  if (r.arch.empty()) {
    out += "\n" + st.bold("Tensors") + "\n";
  } else {
  out += "\n" + st.bold("Architecture") + "\n";
  out += fmt::format("  {} \u00b7 {} \u00b7 {} layers \u00b7 hidden {} \u00b7 {} heads / {} KV heads \u00b7 head_dim {}{}\n",
                     r.arch, m.moe ? fmt::format("{} params, {} active (MoE)", format_params(m.params_total),
                                                 format_params(m.params_active))
                                   : fmt::format("{} params", format_params(m.params_total)),
                     m.num_layers, m.hidden_size, m.num_heads, m.num_kv_heads, m.head_dim,
                     m.v_head_dim != m.head_dim ? fmt::format(" (V {})", m.v_head_dim) : "");
  out += fmt::format("  vocabulary {} \u00b7 context {} \u00b7 {}\n", with_commas(r.vocab_size), with_commas(m.max_context),
                     m.attention == "full" ? "full attention" : "layers: " + m.attention);
  out += fmt::format("  KV cache {}/token at {}", format_bytes_auto(r.kv_bytes_per_token, u), r.kv_dtype);
  if (r.state_bytes_per_sequence > 0) {
    out += fmt::format(" \u00b7 recurrent state {}/sequence", format_bytes_auto(r.state_bytes_per_sequence, u));
  }
  out += "\n\n" + st.bold("Tensors") + "\n";
  }
  std::vector<std::vector<std::string>> rows{{"group", "tensors", "types", "params", "bytes"}};
  for (const InspectGroup& g : r.groups) {
    rows.push_back({g.group, with_commas(g.tensors), g.types, with_commas(g.params), format_bytes_auto(g.bytes, u)});
  }
  rows.push_back({"total", with_commas(r.tensor_count), "", "", format_bytes_auto(r.tensor_bytes, u)});
  out += detail::grid(rows, {false, true, false, true, true}, "  ",
                      [&](std::size_t row, std::size_t, const std::string& c) { return row == 0 ? st.dim(c) : c; });
  out += fmt::format("  {} bytes of tensors; {} on disk\n", with_commas(r.tensor_bytes),
                     format_bytes(r.file_bytes, UnitSystem::si));
  if (!r.unmatched.empty()) {
    std::string names;
    const std::size_t shown = std::min<std::size_t>(r.unmatched.size(), 8);
    for (std::size_t i = 0; i < shown; ++i) names += (i == 0 ? "" : ", ") + r.unmatched[i];
    if (shown < r.unmatched.size()) names += fmt::format(", \u2026 ({} more)", r.unmatched.size() - shown);
    out += st.dim("  not recognised: " + names) + "\n";
  }
  for (const std::string& w : r.warnings) out += st.dim("Note: " + w) + "\n";
  return out;
}

} // namespace vramcalc
