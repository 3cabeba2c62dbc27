// Text laid out for a terminal of a given width (RenderOptions::width): prose wrapped at
// words, tables that give up columns (or use shorter cells) by priority until they fit.
// Private to src/report.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc::detail {

// Columns on a terminal: UTF-8 code points, ANSI colour sequences not counted.
[[nodiscard]] std::size_t display_width(std::string_view s);

// `text` in lines of at most `width` columns, split at spaces: the first line starts with
// `first`, the others with `rest` (both counted). A word longer than a line stays whole.
// Every line ends with "\n".
[[nodiscard]] std::string wrap(std::string_view text, std::size_t width, std::string_view first,
                               std::string_view rest);

// Items joined by `sep`, a new line (starting with `rest`) before an item that would pass
// `width`; the first line starts with `first`. Ends with "\n".
[[nodiscard]] std::string wrap_items(const std::vector<std::string>& items, std::string_view sep, std::size_t width,
                                     std::string_view first, std::string_view rest);

enum class Align { left, right };

struct Column {
  std::string header;
  Align align = Align::left;
  bool wraps = false; // the last column only: prose that wraps under itself (at least 24 columns
                      // wide) when dropping and shortening columns was not enough
};

// How a table gives way when it is too wide: drop a column, or use its short cells.
struct Shrink {
  enum class Kind { drop, shorten } kind;
  std::size_t column;
};

// Columns padded to their widest cell, two spaces apart; the header row first. Colour is
// applied after padding (`colour(row, column, padded cell)`, row 0 the header), so it never
// counts toward widths.
class Table {
public:
  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}
  // `shorter`: the cells to use when the table shortens a column (empty: the same).
  void row(std::vector<std::string> cells, std::vector<std::string> shorter = {});
  // The steps, in order, taken while the table is wider than the width.
  void shrink(std::vector<Shrink> steps) { steps_ = std::move(steps); }
  [[nodiscard]] bool shown(std::size_t column) const; // after render(): not dropped
  using Colour = std::function<std::string(std::size_t, std::size_t, const std::string&)>;
  std::string render(std::string_view indent, std::size_t width, const Colour& colour = {});

private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_, short_;
  std::vector<Shrink> steps_;
  std::vector<bool> dropped_, shortened_;
};

} // namespace vramcalc::detail
