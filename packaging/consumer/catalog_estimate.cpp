// Uses vramcalc::io and vramcalc::report: Llama 3 70B from the built-in catalog with a
// 128k context and an fp8 KV cache on two H100s, printed as the vramcalc tool prints it
// (vramcalc llama3-70b --ctx 128k --kv fp8 --gpu 2xh100).
#include <vramcalc/estimate.hpp>
#include <vramcalc/io/catalog.hpp>
#include <vramcalc/render.hpp>

#include <cstdio>
#include <string>

int main() {
  const auto catalog = vramcalc::io::load_builtin_catalog();
  if (!catalog) {
    std::printf("catalog: %s\n", catalog.error().message.c_str());
    return 1;
  }
  const auto model = catalog->find_model("llama3-70b");
  const auto gpu = catalog->find_gpu("h100");
  if (!model || !gpu) {
    std::printf("llama3-70b or h100 is not in the catalog\n");
    return 1;
  }
  const auto format = vramcalc::parse_weight_format("bf16", (*model)->dtype);
  const auto kv = vramcalc::parse_dtype("fp8");
  if (!format || !kv) return 1;

  vramcalc::Settings settings;
  settings.weights = *format;
  settings.kv_dtype = *kv;
  settings.context_tokens = 128 * 1024;
  settings.gpus.push_back({**gpu, 2});
  const auto report = vramcalc::estimate(**model, settings, catalog->gpus);
  if (!report) {
    std::printf("estimate: %s\n", report.error().message.c_str());
    return 1;
  }
  const std::string table = vramcalc::render_table(*report, {});
  std::fwrite(table.data(), 1, table.size(), stdout);
  // The README's figures for this case.
  return report->model.params_total == 70'553'706'496ull && report->memory.kv_bytes_per_token == 160 * 1024 ? 0 : 1;
}
