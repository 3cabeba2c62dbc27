// What the deployment tests share (test_deployments.cpp, test_engine_commands.cpp): a
// deployment's key or engine option as text, "-" when it has none.
#pragma once

#include "deployments.hpp"

#include <string>

namespace vramcalc::test {

inline std::string key(const io::Deployment& d, const std::string& k) {
  const auto it = d.keys.find(k);
  return it == d.keys.end() ? "-" : it->second.text;
}

inline std::string opt(const io::Deployment& d, const std::string& k) {
  const auto it = d.engine_options.find(k);
  return it == d.engine_options.end() ? "-" : it->second.text;
}

} // namespace vramcalc::test
