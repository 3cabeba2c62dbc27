#include "vramcalc/render.hpp"
#include "vramcalc/text.hpp"
#include "text_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace vramcalc {

namespace {

// Column widths from the widest cell (text_table.hpp); the header dim when colour is on. Cells
// are terminal_safe (model names come from spec files).
std::string render_rows(std::vector<std::vector<std::string>> rows, const std::vector<bool>& right, bool color) {
  for (auto& row : rows) {
    for (std::string& cell : row) {
      if (needs_escaping(cell)) cell = terminal_safe(cell);
    }
  }
  return detail::grid(rows, right, "", detail::Style{color});
}

} // namespace

std::string render_model_list(std::span<const ModelListEntry> models, const RenderOptions& o) {
  std::vector<std::vector<std::string>> rows{{"ID", "NAME", "FAMILY", "PARAMS", "ACTIVE", "CONTEXT", "ATTENTION"}};
  for (const ModelListEntry& e : models) {
    const ModelSpec& m = *e.model;
    rows.push_back({m.id, m.name, m.family, format_params(e.params_total),
                    m.moe ? format_params(e.params_active) : "dense", with_commas(m.max_context),
                    attention_summary(m)});
  }
  return render_rows(rows, {false, false, false, true, true, true, false}, o.color);
}

std::string render_gpu_list(std::span<const GpuSpec> gpus, const RenderOptions& o) {
  std::vector<std::vector<std::string>> rows{{"ID", "NAME", "MEMORY", "USABLE", "BANDWIDTH", "BF16 TFLOPS"}};
  for (const GpuSpec& g : gpus) {
    rows.push_back({g.id, g.name, format_bytes(g.memory_bytes, o.units), format_bytes(usable_bytes(g), o.units),
                    fmt::format("{:g} GB/s", g.bandwidth_gb_per_s),
                    g.bf16_tflops ? fmt::format("{:g}", *g.bf16_tflops) : "-"});
  }
  return render_rows(rows, {false, false, true, true, true, true}, o.color);
}

} // namespace vramcalc
