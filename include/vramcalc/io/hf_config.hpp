// Imports a Hugging Face config.json as a ModelSpec.
#pragma once

#include "vramcalc/error.hpp"
#include "vramcalc/model.hpp"

#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc::io {

struct HfImport {
  ModelSpec spec;
  std::vector<std::string> warnings; // e.g. an unknown model_type read with the standard keys
};

// `text` is a config.json; `origin` names it in messages; `id` becomes the spec's id
// (callers pass the directory name). Supported model_type values are listed in
// docs/hf-import.md; others are read from the standard keys with a warning. A config
// missing what it needs fails with "origin: missing keys: a, b". A quantization_config
// sets spec.weights_format.
[[nodiscard]] std::expected<HfImport, Error> parse_hf_config(std::string_view text, std::string_view origin,
                                                            std::string_view id);

// True if the text looks like a Hugging Face config (a JSON object with "model_type" or
// "architectures"), so a path can be told apart from a vramcalc model spec.
[[nodiscard]] bool looks_like_hf_config(std::string_view text);

} // namespace vramcalc::io
