// Shared test helpers: catalog models by id, and specs from inline JSON (no disk).
#pragma once

#include "vramcalc/estimate.hpp"
#include "vramcalc/io/catalog.hpp"
#include "vramcalc/io/model_json.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace vramcalc::test {

inline const io::Catalog& catalog() {
  static const io::Catalog c = [] {
    auto r = io::load_builtin_catalog();
    if (!r) FAIL("catalog: " << r.error().message);
    return *r;
  }();
  return c;
}

inline const ModelSpec& model(const std::string& id) {
  auto m = catalog().find_model(id);
  if (!m) FAIL(m.error().message);
  return **m;
}

inline ModelSpec spec_from(const std::string& json) {
  auto m = io::parse_model_spec(json, "test.json");
  if (!m) FAIL(m.error().message);
  return *m;
}

// Settings for an estimate: a weight format (for a model whose native dtype is `native`),
// a KV dtype, a context and a batch; no GPUs asked (the whole catalog).
inline Settings settings_for(const std::string& quant, Dtype kv, std::uint64_t ctx, std::uint64_t batch = 1,
                             Dtype native = Dtype::bf16) {
  Settings s;
  auto f = parse_weight_format(quant, native);
  if (!f) FAIL(f.error().message);
  s.weights = *f;
  s.kv_dtype = kv;
  s.context_tokens = ctx;
  s.batch = batch;
  return s;
}

} // namespace vramcalc::test
