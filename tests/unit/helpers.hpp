// Shared test helpers: catalog models by id, and specs from inline JSON (no disk).
#pragma once

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

} // namespace vramcalc::test
