// Text laid out for a terminal: prose wrapped at words, tables that give up columns by
// priority; and the estimate's default table within 100 columns (and within narrower ones).
#include "helpers.hpp"
#include "report/layout.hpp"
#include "report/text_table.hpp"
#include "vramcalc/render.hpp"

#include <string>
#include <vector>

using namespace vramcalc;
using vramcalc::test::catalog;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t nl = text.find('\n', at);
    out.push_back(text.substr(at, nl - at));
    at = nl == std::string::npos ? text.size() : nl + 1;
  }
  return out;
}

} // namespace

TEST_CASE("layout: display width counts code points, not bytes or colour codes", "[layout]") {
  CHECK(detail::display_width("abc") == 3);
  CHECK(detail::display_width("1\u00d7 \u2264") == 4);             // × and ≤ are 2 and 3 bytes
  CHECK(detail::display_width("\x1b[31mred\x1b[0m") == 3);
}

TEST_CASE("layout: wrap breaks at spaces and indents the rest", "[layout]") {
  CHECK(detail::wrap("one two three four", 9, "", "  ") == "one two\n  three\n  four\n");
  CHECK(detail::wrap("short", 80, "> ", "  ") == "> short\n");
  // A word longer than the line stays whole rather than being cut.
  CHECK(detail::wrap("a verylongword b", 6, "", "") == "a\nverylongword\nb\n");
}

TEST_CASE("layout: a table drops and shortens columns in the order given until it fits", "[layout]") {
  detail::Table t({{"name"}, {"n", detail::Align::right}, {"note"}});
  t.row({"long name here", "1", "a note"}, {"short", "1", "a note"});
  t.shrink({{detail::Shrink::Kind::shorten, 0}, {detail::Shrink::Kind::drop, 2}});
  CHECK(t.render("", 80) == "name            n  note\nlong name here  1  a note\n");
  CHECK(t.render("", 20) == "name   n  note\nshort  1  a note\n");
  CHECK(t.render("", 10) == "name   n\nshort  1\n");
  CHECK_FALSE(t.shown(2));
}

TEST_CASE("the default estimate table stays within the terminal for every catalog model", "[layout]") {
  for (const std::size_t width : {100u, 80u}) {
    for (const ModelSpec& m : catalog().models) {
      Settings s;
      const auto format = parse_weight_format(m.weights_format.value_or("bf16"), m.dtype);
      REQUIRE(format.has_value());
      s.weights = *format;
      s.kv_dtype = m.dtype;
      s.context_tokens = m.max_context;
      const auto r = estimate(m, s, catalog().gpus);
      REQUIRE(r.has_value());
      RenderOptions o;
      o.width = width;
      std::size_t fit_rows = 0;
      bool in_fit = false;
      for (const std::string& line : lines_of(render_table(*r, o))) {
        INFO(m.id << " at " << width << " columns: " << line);
        CHECK(detail::display_width(line) <= width);
        if (line.starts_with("Fit")) in_fit = true;
        else if (in_fit && line.starts_with("  GPU")) fit_rows = 0;
        else if (in_fit && line.starts_with("  ") && line.find("fits") != std::string::npos) ++fit_rows;
        else if (line.empty()) in_fit = false;
      }
      CHECK(fit_rows <= 10);
    }
  }
}

TEST_CASE("text_table: columns padded to their widest cell, the header line dim with colour") {
  const std::vector<std::vector<std::string>> rows{{"GPU", "GiB", "note"}, {"H100 \u00d7 2", "80", ""}, {"L4", "24", "x"}};
  // "H100 × 2" is 8 columns wide (× is one column, two bytes); trailing spaces are dropped.
  CHECK(detail::grid(rows, {false, true, false}, "  ", detail::Style{false}) ==
        "  GPU       GiB  note\n"
        "  H100 \u00d7 2   80\n"
        "  L4         24  x\n");
  CHECK(detail::grid(rows, {false, true, false}, "", detail::Style{true}).starts_with("\x1b[2mGPU       GiB  note\x1b[0m\n"));
  CHECK(detail::Style{true}.red("FAIL") == "\x1b[31mFAIL\x1b[0m");
  CHECK(detail::Style{false}.red("FAIL") == "FAIL");
}
