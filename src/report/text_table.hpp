// Colour and plain column tables for the text renderers (table, lists, sweep, check): one
// definition of the ANSI styles and of columns padded to their widest cell. Tables that give
// way to a terminal's width are layout.hpp's. Private to src/report.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc::detail {

// ANSI styles, applied only when `on` (RenderOptions::color).
struct Style {
  bool on = false;
  // `s` in the SGR style `code` ("1" bold, "31" red, ...), reset after.
  [[nodiscard]] std::string paint(std::string_view code, const std::string& s) const;
  [[nodiscard]] std::string bold(const std::string& s) const { return paint("1", s); }
  [[nodiscard]] std::string dim(const std::string& s) const { return paint("2", s); }
  [[nodiscard]] std::string red(const std::string& s) const { return paint("31", s); }
  [[nodiscard]] std::string green(const std::string& s) const { return paint("32", s); }
  [[nodiscard]] std::string yellow(const std::string& s) const { return paint("33", s); }
};

// Rows in columns padded to their widest cell (in display columns), two spaces apart, each
// line starting with `indent` and without trailing spaces; `right[i]` aligns column i right.
// The first row is the header, its whole line dim when colour is on.
[[nodiscard]] std::string grid(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right,
                               std::string_view indent, const Style& style);
// The same, each padded cell styled by `cell(row, column, padded cell)` instead (row 0 the
// header), before the line's trailing spaces are dropped.
using CellStyle = std::function<std::string(std::size_t, std::size_t, const std::string&)>;
[[nodiscard]] std::string grid(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right,
                               std::string_view indent, const CellStyle& cell);

} // namespace vramcalc::detail
