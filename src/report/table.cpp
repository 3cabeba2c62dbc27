#include "vramcalc/model.hpp"
#include "vramcalc/render.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <vector>

namespace vramcalc {

namespace {

struct Style {
  bool on;
  std::string wrap(std::string_view code, const std::string& s) const {
    return on ? fmt::format("\x1b[{}m{}\x1b[0m", code, s) : s;
  }
  std::string bold(const std::string& s) const { return wrap("1", s); }
  std::string dim(const std::string& s) const { return wrap("2", s); }
  std::string green(const std::string& s) const { return wrap("32", s); }
  std::string red(const std::string& s) const { return wrap("31", s); }
};

enum class Align { left, right };

// A plain text table: columns padded to their widest cell. `style_cell` may colour a
// cell after padding, so colour codes never count toward widths.
class TextTable {
public:
  explicit TextTable(std::vector<Align> align) : align_(std::move(align)) {}
  void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }

  template <typename Colour>
  std::string render(std::string_view indent, Colour&& colour) const {
    std::vector<std::size_t> width(align_.size(), 0);
    for (const auto& r : rows_) {
      for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], utf8_width(r[i]));
    }
    std::string out;
    for (std::size_t ri = 0; ri < rows_.size(); ++ri) {
      std::string line(indent);
      for (std::size_t i = 0; i < rows_[ri].size(); ++i) {
        const std::string& c = rows_[ri][i];
        const std::string pad(width[i] - utf8_width(c), ' ');
        std::string cell = align_[i] == Align::left ? c + pad : pad + c;
        cell = colour(ri, i, cell);
        line += cell;
        if (i + 1 < rows_[ri].size()) line += "  ";
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    }
    return out;
  }

private:
  static std::size_t utf8_width(const std::string& s) {
    std::size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
    return n;
  }
  std::vector<Align> align_;
  std::vector<std::vector<std::string>> rows_;
};

std::string signed_bytes(std::int64_t v, UnitSystem u) {
  if (v >= 0) return "+" + format_bytes(static_cast<std::uint64_t>(v), u);
  return "-" + format_bytes(static_cast<std::uint64_t>(-(v + 1)) + 1, u);
}

std::string count_str(std::uint32_t n) { return fmt::format("{}\u00d7", n); }

std::string join(const std::vector<std::string>& v, std::string_view sep, std::string_view last_sep) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += i + 1 == v.size() ? last_sep : sep;
    out += v[i];
  }
  return out;
}

std::string verdict(const Report& r, const RenderOptions& o, const Style& st) {
  const UnitSystem u = o.units;
  bool requested = false;
  for (const FitRow& f : r.fit) requested = requested || f.requested;
  std::string out;
  if (requested) {
    for (const FitRow& f : r.fit) {
      const std::string config = fmt::format("{} {}{}", count_str(f.count), f.gpu_name,
                                             f.count > 1 ? fmt::format(" (tp {}, pp {})", f.tp, f.pp) : "");
      if (!f.problem.empty()) {
        out += fmt::format("{} {}: {}.\n", st.red("CANNOT RUN on"), config, f.problem);
        continue;
      }
      if (f.fits) {
        out += fmt::format("{} {}: {} per GPU, {} headroom on each.\n", st.green("FITS on"), config,
                           format_bytes(f.required_bytes_per_gpu, u),
                           format_bytes(static_cast<std::uint64_t>(f.headroom_bytes), u));
      } else {
        std::string need = f.min_count != 0 ? fmt::format("; the smallest count that fits is {}", f.min_count)
                                            : "; no count up to 1024 fits";
        out += fmt::format("{} {}: needs {} per GPU, has {} usable (short by {}){}.\n", st.red("DOES NOT FIT on"),
                           config, format_bytes(f.required_bytes_per_gpu, u), format_bytes(f.usable_bytes, u),
                           format_bytes(f.required_bytes_per_gpu - f.usable_bytes, u), need);
      }
    }
    return out;
  }
  // No GPU named: the smallest GPU for common server sizes (1, 2, 4, 8 GPUs).
  std::vector<std::string> options;
  std::vector<std::string> seen;
  for (std::uint32_t n : {1u, 2u, 4u, 8u}) {
    const FitRow* best = nullptr;
    for (const FitRow& f : r.fit) {
      if (f.min_count == 0 || f.min_count > n) continue;
      if (best == nullptr || f.gpu_memory_bytes < best->gpu_memory_bytes) best = &f;
    }
    if (best == nullptr || std::find(seen.begin(), seen.end(), best->gpu) != seen.end()) continue;
    seen.push_back(best->gpu);
    options.push_back(fmt::format("{} {}", count_str(n), best->gpu_name));
  }
  const std::string total = format_bytes(r.memory.total_bytes, u);
  if (options.empty()) {
    return fmt::format("{}: needs {}; no catalog GPU holds it with 8 or fewer devices.\n", st.red("Verdict"), total);
  }
  return fmt::format("{}: needs {} on one GPU; fits on {}.\n", st.bold("Verdict"), total, join(options, ", ", " or "));
}

} // namespace

std::string render_table(const Report& r, const RenderOptions& o) {
  const Style st{o.color};
  const UnitSystem u = o.units;
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
  out += fmt::format("  {} \u00b7 {} layers \u00b7 {} \u00b7 {} \u00b7 {}\n", params, m.num_layers, heads, hd, layout);
  const SettingsSummary& s = r.settings;
  out += fmt::format("  weights {} \u00b7 KV cache {} \u00b7 context {} tokens \u00b7 batch {}\n", s.quant, s.kv_display,
                     with_commas(s.context_tokens), s.batch);
  out += "\n";

  const MemorySummary& mem = r.memory;
  TextTable t({Align::left, Align::right, Align::left});
  t.row({"Weights", format_bytes(mem.weights_bytes, u),
         fmt::format("{}, {} params; file {}", s.quant_description, with_commas(m.params_total),
                     format_bytes(mem.file_bytes, UnitSystem::si))});
  t.row({"KV cache", format_bytes(mem.kv_cache_bytes, u),
         fmt::format("{}/token \u00d7 {} tokens \u00d7 {} sequence{}", format_bytes_auto(mem.kv_bytes_per_token, u),
                     with_commas(s.context_tokens), s.batch, s.batch == 1 ? "" : "s")});
  if (mem.state_bytes > 0) {
    t.row({"Recurrent state", format_bytes(mem.state_bytes, u),
           fmt::format("fixed per sequence \u00d7 {} sequence{}, independent of context", s.batch,
                       s.batch == 1 ? "" : "s")});
  }
  t.row({"Runtime overhead", format_bytes(mem.overhead_bytes, u), "per GPU: CUDA context, allocator, activations"});
  t.row({"Total", format_bytes(mem.total_bytes, u), "on one GPU"});
  const std::size_t total_row = mem.state_bytes > 0 ? 4 : 3;
  out += st.bold("Memory") + "\n";
  out += t.render("  ", [&](std::size_t row, std::size_t col, const std::string& c) {
    return row == total_row && col < 2 ? st.bold(c) : col == 2 ? st.dim(c) : c;
  });
  out += "\n";

  out += st.bold("Fit") + st.dim("  (busiest GPU: tensor parallel up to 8, pipeline stages beyond; overhead on each)") +
         "\n";
  TextTable f({Align::left, Align::right, Align::right, Align::left, Align::right, Align::right, Align::left});
  f.row({"GPU", "usable", "GPUs", "layout", "per GPU", "headroom", ""});
  for (const FitRow& row : r.fit) {
    std::string status = row.fits ? "fits" : "does not fit";
    if (!row.fits && row.requested && row.min_count != 0) status += fmt::format(" (needs {})", row.min_count);
    if (!row.fits && row.min_count == 0) status = "too small";
    if (!row.problem.empty()) status = "invalid: " + row.problem;
    const std::string split = row.pp > 1 ? fmt::format("tp{} pp{}", row.tp, row.pp) : fmt::format("tp{}", row.tp);
    f.row({row.gpu_name, format_bytes(row.usable_bytes, u), count_str(row.count), split,
           format_bytes(row.required_bytes_per_gpu, u), signed_bytes(row.headroom_bytes, u), status});
  }
  out += f.render("  ", [&](std::size_t row, std::size_t col, const std::string& c) {
    if (row == 0) return st.dim(c);
    if (col == 6) return r.fit[row - 1].fits ? st.green(c) : st.red(c);
    return c;
  });
  out += "\n";
  out += verdict(r, o, st);
  for (const std::string& n : r.notes) out += st.dim("Note: " + n) + "\n";
  return out;
}

} // namespace vramcalc
