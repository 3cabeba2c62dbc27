// The vision tower's parameter count (ModelSpec::vision_params) from a Hugging Face
// config.json's vision_config. Private to src/io (hf_config.cpp calls it).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace vramcalc::io::detail {

struct VisionTower {
  std::uint64_t params = 0;
  std::string source; // what was counted, for ModelSpec::vision_source
};

// `root` is the whole config.json (the wrapper's model_type decides the projector). nullopt
// when the config has no vision_config, or the tower is not counted: `why` then says so (a
// model_type without a formula, a size key missing). A key of the wrong type throws
// LoadFailure naming it; `origin` names the file.
std::optional<VisionTower> hf_vision_tower(const nlohmann::json& root, const std::string& origin, std::string& why);

} // namespace vramcalc::io::detail
