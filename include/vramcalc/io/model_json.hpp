// Loads a model spec (format vramcalc-model/1, docs/model-format.md) from JSON text.
#pragma once

#include "vramcalc/error.hpp"
#include "vramcalc/model.hpp"

#include <expected>
#include <string_view>

namespace vramcalc::io {

// `origin` names the text in messages (a file name). Unknown keys, wrong types, missing
// fields and inconsistent values fail with "origin: /json/path: what is wrong".
[[nodiscard]] std::expected<ModelSpec, Error> parse_model_spec(std::string_view text, std::string_view origin);

} // namespace vramcalc::io
