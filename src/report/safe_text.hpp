// Text from files and flags in the renderers: one escaping policy per output format
// (docs/reliability.md, "Text from files"). Private to src/report.
//   terminal (table, markdown, GitHub annotations, every text view): terminal_safe, applied
//     to every string of the document by terminal_view before it is laid out;
//   CSV: csv_field (terminal_safe, formula-safe, quoted); JUnit and SVG: xml_escape (XML 1.0
//     characters only); JSON: nlohmann's escaping (control characters as \u00XX).
#pragma once

#include "vramcalc/explain.hpp"
#include "vramcalc/plan.hpp"
#include "vramcalc/report.hpp"

#include <span>
#include <string>
#include <vector>

namespace vramcalc::detail {

// Copies of the documents with every string made terminal_safe.
[[nodiscard]] Report terminal_view(const Report& r);
[[nodiscard]] std::vector<Report> terminal_view(std::span<const Report> reports);
[[nodiscard]] InspectReport terminal_view(const InspectReport& r);
[[nodiscard]] CheckReport terminal_view(const CheckReport& r);
[[nodiscard]] Explanation terminal_view(const Explanation& e);
[[nodiscard]] std::vector<PlanOption> terminal_view(std::span<const PlanOption> options);

} // namespace vramcalc::detail
