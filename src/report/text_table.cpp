#include "text_table.hpp"

#include "layout.hpp"

#include <algorithm>

namespace vramcalc::detail {

std::string Style::paint(std::string_view code, const std::string& s) const {
  return on ? "\x1b[" + std::string(code) + "m" + s + "\x1b[0m" : s;
}

namespace {

// Padded cells styled by `cell`, joined two spaces apart, trailing spaces dropped, each line
// then styled by `line`.
template <typename Cell, typename Line>
std::string render_grid(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right,
                        std::string_view indent, const Cell& cell, const Line& line_style) {
  std::vector<std::size_t> w(right.size(), 0);
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], display_width(r[i]));
  }
  std::string out;
  for (std::size_t ri = 0; ri < rows.size(); ++ri) {
    std::string line(indent);
    for (std::size_t i = 0; i < rows[ri].size(); ++i) {
      const std::string pad(w[i] - display_width(rows[ri][i]), ' ');
      line += cell(ri, i, right[i] ? pad + rows[ri][i] : rows[ri][i] + pad);
      if (i + 1 < rows[ri].size()) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line_style(ri, line) + "\n";
  }
  return out;
}

} // namespace

std::string grid(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right,
                 std::string_view indent, const Style& style) {
  return render_grid(
      rows, right, indent, [](std::size_t, std::size_t, std::string padded) { return padded; },
      [&](std::size_t row, const std::string& line) { return row == 0 ? style.dim(line) : line; });
}

std::string grid(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right,
                 std::string_view indent, const CellStyle& cell) {
  return render_grid(rows, right, indent, cell, [](std::size_t, const std::string& line) { return line; });
}

} // namespace vramcalc::detail
