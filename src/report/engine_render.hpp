// What the engines' renderers (src/report/engine_<id>.cpp) share with the report's
// renderers: the JSON object an engine fills, and the byte formats of its tables. Private to
// src/report; the renderers' declarations are in each engine's header (engine_<id>.hpp).
#pragma once

#include "vramcalc/engine_llamacpp.hpp"
#include "vramcalc/render.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace vramcalc::detail {

// An engine's JSON object, opaque to the public headers that declare its renderers.
struct JsonObject {
  nlohmann::ordered_json value;
};

// The first fields of the JSON object of an engine that runs tensor / pipeline parallel layouts
// (vLLM, SGLang, TensorRT-LLM): name, version, gpu, tp, pp, context_tokens, batch; each engine
// appends its own (engine_<id>.cpp).
[[nodiscard]] nlohmann::ordered_json parallel_engine_json(const EngineSection& e);

// "+1.5 GiB" / "-2.0 GiB": a signed quantity of bytes (table.cpp).
[[nodiscard]] std::string signed_bytes(std::int64_t v, UnitSystem u);

// llama.cpp's devices (src/report/engine_llamacpp.cpp), for the engines that run it (Ollama):
// the per-device table of the text report, and a device's JSON object (usable, margin and
// fits only for a GPU).
struct Style;
[[nodiscard]] std::string llamacpp_device_table(const LlamaCppResult& plan, const RenderOptions& o, const Style& st);
[[nodiscard]] nlohmann::ordered_json llamacpp_device_json(const LlamaCppDevice& device, bool gpu);

} // namespace vramcalc::detail
