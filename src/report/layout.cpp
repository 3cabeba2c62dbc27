#include "layout.hpp"

#include <algorithm>

namespace vramcalc::detail {

std::size_t display_width(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b' && i + 1 < s.size() && s[i + 1] == '[') {
      i += 2;
      while (i < s.size() && (s[i] < '@' || s[i] > '~')) ++i; // to the final byte
      continue;
    }
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string wrap(std::string_view text, std::size_t width, std::string_view first, std::string_view rest) {
  std::string out(first);
  std::size_t col = display_width(first);
  bool line_empty = true;
  std::size_t at = 0;
  while (at < text.size()) {
    while (at < text.size() && text[at] == ' ') ++at;
    if (at >= text.size()) break;
    std::size_t end = text.find(' ', at);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view word = text.substr(at, end - at);
    const std::size_t w = display_width(word);
    if (!line_empty && col + 1 + w > width) {
      out += "\n";
      out += rest;
      col = display_width(rest);
      line_empty = true;
    }
    if (!line_empty) {
      out += ' ';
      ++col;
    }
    out += word;
    col += w;
    line_empty = false;
    at = end;
  }
  return out + "\n";
}

std::string wrap_items(const std::vector<std::string>& items, std::string_view sep, std::size_t width,
                       std::string_view first, std::string_view rest) {
  std::string out(first);
  std::size_t col = display_width(first);
  const std::size_t sep_w = display_width(sep);
  bool line_empty = true;
  for (const std::string& item : items) {
    const std::size_t w = display_width(item);
    if (!line_empty && col + sep_w + w > width) {
      out += "\n";
      out += rest;
      col = display_width(rest);
      line_empty = true;
    }
    if (!line_empty) {
      out += sep;
      col += sep_w;
    }
    out += item;
    col += w;
    line_empty = false;
  }
  return out + "\n";
}

void Table::row(std::vector<std::string> cells, std::vector<std::string> shorter) {
  cells.resize(columns_.size());
  if (shorter.empty()) shorter = cells;
  shorter.resize(columns_.size());
  rows_.push_back(std::move(cells));
  short_.push_back(std::move(shorter));
}

bool Table::shown(std::size_t column) const { return column < dropped_.size() ? !dropped_[column] : true; }

std::string Table::render(std::string_view indent, std::size_t width, const Colour& colour) {
  const std::size_t n = columns_.size();
  dropped_.assign(n, false);
  shortened_.assign(n, false);
  const auto cell = [&](std::size_t r, std::size_t c) -> const std::string& {
    if (r == 0) return columns_[c].header;
    return shortened_[c] ? short_[r - 1][c] : rows_[r - 1][c];
  };
  const std::size_t nrows = rows_.size() + 1;
  std::vector<std::size_t> w(n, 0);
  std::size_t last = n; // the last column shown
  const auto measure = [&] {
    std::size_t total = display_width(indent), shown_n = 0;
    last = n;
    for (std::size_t c = 0; c < n; ++c) {
      w[c] = 0;
      if (dropped_[c]) continue;
      last = c;
      for (std::size_t r = 0; r < nrows; ++r) w[c] = std::max(w[c], display_width(cell(r, c)));
      total += w[c] + (shown_n++ > 0 ? 2 : 0);
    }
    return total;
  };
  // A wrapping last column takes what the others leave, at least 24 columns.
  const auto wraps = [&] { return last < n && columns_[last].wraps; };
  std::size_t total = measure();
  // Columns give way first; a wrapping last column wraps only when none is left to give.
  for (const Shrink& s : steps_) {
    if (total <= width) break;
    if (s.kind == Shrink::Kind::drop) dropped_[s.column] = true;
    else shortened_[s.column] = true;
    total = measure();
  }
  std::size_t lead = display_width(indent); // where the last column starts
  for (std::size_t c = 0; c < last && last < n; ++c) {
    if (!dropped_[c]) lead += w[c] + 2;
  }
  const auto paint = [&](std::size_t r, std::size_t c, const std::string& text) {
    return colour && !text.empty() ? colour(r, c, text) : text;
  };
  std::string out;
  for (std::size_t r = 0; r < nrows; ++r) {
    // The last column's cell, in lines of the width left when it wraps.
    std::vector<std::string> tail;
    if (last < n && wraps() && total > width) {
      const std::string wrapped = wrap(cell(r, last), width, std::string(lead, ' '), std::string(lead, ' '));
      for (std::size_t at = 0; at < wrapped.size();) {
        const std::size_t nl = wrapped.find('\n', at);
        tail.push_back(wrapped.substr(at + lead, nl - at - lead));
        at = nl + 1;
      }
    } else if (last < n) {
      tail.push_back(cell(r, last));
    }
    std::string line(indent);
    bool first = true;
    for (std::size_t c = 0; c < n; ++c) {
      if (dropped_[c]) continue;
      if (!first) line += "  ";
      first = false;
      const std::string& text = c == last ? tail.front() : cell(r, c);
      const std::size_t tw = display_width(text);
      const std::string pad(w[c] > tw ? w[c] - tw : 0, ' ');
      // Padding outside the colour, and none after the last cell.
      if (columns_[c].align == Align::right) line += pad + paint(r, c, text);
      else line += paint(r, c, text) + (c == last ? std::string() : pad);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
    for (std::size_t i = 1; i < tail.size(); ++i) out += std::string(lead, ' ') + paint(r, last, tail[i]) + "\n";
  }
  return out;
}

} // namespace vramcalc::detail
