// `--plot`: memory against context length as a self-contained SVG (no scripts, no external
// fonts or styles), so it can be committed, attached or opened anywhere.
#include "vramcalc/render.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace vramcalc {

namespace {

std::string tokens_label(std::uint64_t t) {
  if (t >= (1ull << 20) && t % (1ull << 20) == 0) return fmt::format("{}M", t >> 20);
  if (t >= 1024 && t % 1024 == 0) return fmt::format("{}k", t >> 10);
  return std::to_string(t);
}

// Twelve colours that stay apart on white and for colour-blind readers: Okabe-Ito without its
// yellow, then Paul Tol's muted scheme. Beyond 12 series the colours repeat with a dash
// pattern, so up to 36 lines look different.
constexpr const char* palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
                                   "#000000", "#882255", "#117733", "#999933", "#AA4499", "#44AA99"};
constexpr const char* dashes[] = {"", "8 4", "2 3"};

// Width of a label in pixels at font-size 12: DejaVu Sans averages about 0.6 em per character;
// 7.5 px leaves room for wide ones.
double text_width(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return 7.5 * static_cast<double>(n);
}


// `text` in lines no wider than `max_width` (text_width), words whole.
std::vector<std::string> wrap_words(const std::string& text, double max_width) {
  std::vector<std::string> lines{""};
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find(' ', at);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(at, end - at);
    if (!lines.back().empty() && text_width(lines.back() + " " + word) > max_width) lines.emplace_back();
    lines.back() += (lines.back().empty() ? "" : " ") + word;
    at = end + 1;
  }
  return lines;
}

// The y axis runs from 0 to a round number (1, 2, 2.5 or 5 times a power of ten) at least `v`.
double round_up_nicely(double v) {
  const double mag = std::pow(10.0, std::floor(std::log10(std::max(v, 1e-9))));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (v <= m * mag) return m * mag;
  }
  return 10 * mag;
}

// Grid, ticks, frame and axis titles of the plot area (left, top, pw x ph).
template <typename XScale>
std::string axes_svg(double left, double top, double pw, double ph, double y_top_units, std::uint64_t x_max, double lx0,
                     const XScale& X, const char* unit_name) {
  std::string svg;
  for (int i = 0; i <= 5; ++i) {
    const double v = y_top_units * i / 5;
    const double y = top + ph - ph * i / 5;
    svg += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#e5e5e5\"/>\n", left, y, left + pw, y);
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\" fill=\"#333333\">{:g}</text>\n", left - 8, y + 4, v);
  }
  for (std::uint64_t x = std::uint64_t{1} << static_cast<int>(std::ceil(lx0)); x <= x_max; x *= 2) {
    const double px = X(x);
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"#f0f0f0\"/>\n", px, top, px, top + ph);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\" fill=\"#333333\">{}</text>\n", px,
                       top + ph + 18, tokens_label(x));
  }
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999999\"/>\n", left, top, pw, ph);
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">context length, tokens (log scale)</text>\n",
                     left + pw / 2, top + ph + 38);
  svg += fmt::format("<text transform=\"translate(22 {:.1f}) rotate(-90)\" text-anchor=\"middle\">memory, {}</text>\n",
                     top + ph / 2, unit_name);
  return svg;
}

} // namespace

std::string render_plot_svg(const PlotData& p, UnitSystem units) {
  constexpr double width = 860, left = 80, right = 200, ph = 400;
  const std::vector<std::string> subtitle = wrap_words(p.subtitle, width - left - 20);
  const double top = 48 + 16 * static_cast<double>(subtitle.size());
  const double pw = width - left - right;
  const double unit = units == UnitSystem::si ? 1e9 : 1073741824.0;
  const char* unit_name = units == UnitSystem::si ? "GB" : "GiB";
  // The legend goes below the plot, never over it: as many columns as fit, rows as needed,
  // top to bottom in the order the lines end (highest first).
  const std::size_t n = p.series.size();
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  const auto end_value = [&](std::size_t i) { return p.series[i].points.empty() ? 0 : p.series[i].points.back().second; };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return end_value(a) > end_value(b); });
  double label_w = 0;
  for (const PlotSeries& s : p.series) label_w = std::max(label_w, text_width(s.label));
  const double column_w = 36 + label_w + 16;
  const std::size_t columns = std::max<std::size_t>(1, static_cast<std::size_t>((width - left) / column_w));
  const std::size_t rows = (n + columns - 1) / columns;
  const double legend_top = top + ph + 52, row_h = 18;
  const double height = legend_top + row_h * static_cast<double>(rows) + 12;

  std::uint64_t x_min = UINT64_MAX, x_max = 0, y_max = 0;
  for (const PlotSeries& s : p.series) {
    for (const auto& [x, y] : s.points) {
      x_min = std::min(x_min, x);
      x_max = std::max(x_max, x);
      y_max = std::max(y_max, y);
    }
  }
  for (const auto& [label, bytes] : p.capacities) y_max = std::max(y_max, bytes);
  if (x_max == 0) x_min = x_max = 1;
  if (x_min == x_max) x_max = x_min * 2;
  const double y_top_units = round_up_nicely(static_cast<double>(y_max) / unit * 1.08);
  const double lx0 = std::log2(static_cast<double>(x_min)), lx1 = std::log2(static_cast<double>(x_max));
  const auto X = [&](std::uint64_t x) { return left + (std::log2(static_cast<double>(x)) - lx0) / (lx1 - lx0) * pw; };
  const auto Y = [&](std::uint64_t y) { return top + ph - static_cast<double>(y) / unit / y_top_units * ph; };

  std::string svg = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
      "<rect width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n"
      "<text x=\"{2}\" y=\"26\" font-size=\"16\" font-weight=\"bold\">{3}</text>\n",
      width, height, left, xml_escape(p.title));
  for (std::size_t i = 0; i < subtitle.size(); ++i) {
    svg += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"#555555\">{}</text>\n", left, 44 + 16 * i, xml_escape(subtitle[i]));
  }
  svg += axes_svg(left, top, pw, ph, y_top_units, x_max, lx0, X, unit_name);
  // Labels at the right of the plot, each where its line ends, unless another is within a
  // line's height there: first the GPU capacities, then the series from the top.
  std::vector<double> taken;
  const auto place = [&](double y) {
    for (double t : taken) {
      if (std::abs(t - y) < 13) return false;
    }
    taken.push_back(y);
    return true;
  };
  // GPU capacities: dashed grey lines.
  for (const auto& [label, bytes] : p.capacities) {
    const double y = Y(bytes);
    double ly = y + 4;
    while (!place(ly)) ly += 13; // capacities are always labelled: below a clash
    svg += fmt::format("<g class=\"capacity\"><line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#888888\" "
                       "stroke-dasharray=\"6 4\"/><text x=\"{}\" y=\"{:.1f}\" fill=\"#555555\">{}</text></g>\n",
                       left, y, left + pw, y, left + pw + 8, ly, xml_escape(label));
  }
  const auto colour = [](std::size_t i) { return palette[i % std::size(palette)]; };
  const auto dash = [](std::size_t i) {
    const char* d = dashes[i / std::size(palette) % std::size(dashes)];
    return *d == '\0' ? std::string() : fmt::format(" stroke-dasharray=\"{}\"", d);
  };
  // Series, in the order given (the legend and the direct labels follow the end values).
  for (std::size_t i = 0; i < n; ++i) {
    const PlotSeries& s = p.series[i];
    std::string points;
    for (const auto& [x, y] : s.points) points += fmt::format("{}{:.1f},{:.1f}", points.empty() ? "" : " ", X(x), Y(y));
    svg += fmt::format("<g class=\"series\"><title>{}</title><polyline points=\"{}\" fill=\"none\" stroke=\"{}\" "
                       "stroke-width=\"2.5\"{}/>\n",
                       xml_escape(s.label), points, colour(i), dash(i));
    for (const auto& [x, y] : s.points) {
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"{}\"/>\n", X(x), Y(y), colour(i));
    }
    svg += "</g>\n";
  }
  for (const std::size_t i : order) {
    if (p.series[i].points.empty()) continue;
    const double ly = Y(p.series[i].points.back().second) + 4;
    if (!place(ly)) continue;
    svg += fmt::format("<text class=\"direct-label\" x=\"{}\" y=\"{:.1f}\" fill=\"{}\">{}</text>\n", left + pw + 8, ly,
                       colour(i), xml_escape(p.series[i].label));
  }
  svg += "<g class=\"legend\">\n";
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = order[k], row = k / columns, col = k % columns;
    const double x = left + column_w * static_cast<double>(col), y = legend_top + row_h * static_cast<double>(row);
    svg += fmt::format("<g class=\"legend-entry\" data-row=\"{}\" data-col=\"{}\"><line x1=\"{:.1f}\" y1=\"{:.1f}\" "
                       "x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"2.5\"{}/><text x=\"{:.1f}\" "
                       "y=\"{:.1f}\">{}</text></g>\n",
                       row, col, x, y, x + 28, y, colour(i), dash(i), x + 34, y + 4, xml_escape(p.series[i].label));
  }
  svg += "</g>\n";
  return svg + "</svg>\n";
}

} // namespace vramcalc
