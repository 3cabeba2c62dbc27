// `--plot`: memory against context length as a self-contained SVG (no scripts, no external
// fonts or styles), so it can be committed, attached or opened anywhere.
#include "vramcalc/render.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace vramcalc {

namespace {

std::string tokens_label(std::uint64_t t) {
  if (t >= (1ull << 20) && t % (1ull << 20) == 0) return fmt::format("{}M", t >> 20);
  if (t >= 1024 && t % 1024 == 0) return fmt::format("{}k", t >> 10);
  return std::to_string(t);
}

// Colour-blind-safe palette (Okabe-Ito).
constexpr const char* palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"};

} // namespace

std::string render_plot_svg(const PlotData& p, UnitSystem units) {
  constexpr double width = 860, height = 520, left = 80, right = 210, top = 64, bottom = 56;
  const double pw = width - left - right, ph = height - top - bottom;
  const double unit = units == UnitSystem::si ? 1e9 : 1073741824.0;
  const char* unit_name = units == UnitSystem::si ? "GB" : "GiB";

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
  // y: 0 to a round number of units above the largest value.
  const double y_top_units = [&] {
    const double v = static_cast<double>(y_max) / unit * 1.08;
    const double mag = std::pow(10.0, std::floor(std::log10(std::max(v, 1e-9))));
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
      if (v <= m * mag) return m * mag;
    }
    return 10 * mag;
  }();
  const double lx0 = std::log2(static_cast<double>(x_min)), lx1 = std::log2(static_cast<double>(x_max));
  const auto X = [&](std::uint64_t x) { return left + (std::log2(static_cast<double>(x)) - lx0) / (lx1 - lx0) * pw; };
  const auto Y = [&](std::uint64_t y) { return top + ph - static_cast<double>(y) / unit / y_top_units * ph; };

  std::string svg = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
      "<rect width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n"
      "<text x=\"{2}\" y=\"26\" font-size=\"16\" font-weight=\"bold\">{3}</text>\n"
      "<text x=\"{2}\" y=\"44\" fill=\"#555555\">{4}</text>\n",
      width, height, left, xml_escape(p.title), xml_escape(p.subtitle));
  // Grid and axes.
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
                     left + pw / 2, height - 14);
  svg += fmt::format("<text transform=\"translate(22 {:.1f}) rotate(-90)\" text-anchor=\"middle\">memory, {}</text>\n",
                     top + ph / 2, unit_name);
  // GPU capacities: dashed, labelled at the right.
  for (const auto& [label, bytes] : p.capacities) {
    const double y = Y(bytes);
    svg += fmt::format("<g class=\"capacity\"><line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#888888\" "
                       "stroke-dasharray=\"6 4\"/><text x=\"{}\" y=\"{:.1f}\" fill=\"#555555\">{}</text></g>\n",
                       left, y, left + pw, y, left + pw + 8, y + 4, xml_escape(label));
  }
  // Series.
  for (std::size_t i = 0; i < p.series.size(); ++i) {
    const PlotSeries& s = p.series[i];
    const char* color = palette[i % std::size(palette)];
    std::string points;
    for (const auto& [x, y] : s.points) points += fmt::format("{}{:.1f},{:.1f}", points.empty() ? "" : " ", X(x), Y(y));
    svg += fmt::format("<g class=\"series\"><title>{}</title><polyline points=\"{}\" fill=\"none\" stroke=\"{}\" "
                       "stroke-width=\"2.5\"/>\n",
                       xml_escape(s.label), points, color);
    for (const auto& [x, y] : s.points) {
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n", X(x), Y(y), color);
    }
    const double ly = top + 14 + 18.0 * static_cast<double>(i);
    svg += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"{}\" stroke-width=\"2.5\"/>"
                       "<text x=\"{}\" y=\"{:.1f}\">{}</text></g>\n",
                       left + 12, ly, left + 36, ly, color, left + 42, ly + 4, xml_escape(s.label));
  }
  return svg + "</svg>\n";
}

} // namespace vramcalc
