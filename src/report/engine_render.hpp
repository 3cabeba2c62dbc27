// What the engines' renderers (src/report/engine_<id>.cpp) share with the report's
// renderers: the JSON object an engine fills, and the byte formats of its tables. Private to
// src/report; the renderers' declarations are in each engine's header (engine_<id>.hpp).
#pragma once

#include "vramcalc/engine_llamacpp.hpp"
#include "vramcalc/headroom.hpp"
#include "vramcalc/render.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc::detail {

// Whether the engine fits on its GPUs, whatever the host's memory says: its own verdict line
// speaks of the GPUs; the host's memory has its own line (table.cpp, host_line).
[[nodiscard]] inline bool fits_on_gpus(const EngineSection& e) { return e.host_fits ? e.fits : e.gpu_fits; }

// An engine's JSON object, opaque to the public headers that declare its renderers.
struct JsonObject {
  nlohmann::ordered_json value;
};

// The first fields of the JSON object of an engine that runs tensor / pipeline parallel layouts
// (vLLM, SGLang, TensorRT-LLM): name, version, gpu, tp, pp, context_tokens, batch; each engine
// appends its own (engine_<id>.cpp).
[[nodiscard]] nlohmann::ordered_json parallel_engine_json(const EngineSection& e);

// --cpu-offload-gb's walk as the JSON object of vLLM and SGLang: budget_bytes, params, layers,
// largest_layer_bytes, ignored (engine_vllm.cpp).
[[nodiscard]] nlohmann::ordered_json cpu_offload_json(const CpuOffload& c);

// "+1.5 GiB" / "-2.0 GiB": a signed quantity of bytes (table.cpp).
[[nodiscard]] std::string signed_bytes(std::int64_t v, UnitSystem u);

// llama.cpp's plan (src/report/engine_llamacpp.cpp) as llama.cpp's renderers show it, for the
// engines that run it (Ollama): the per-device table of the text report; the last fields of
// the JSON object's first fields (name, version, gpu, gpus, context_tokens, batch) and its last
// (devices, host, error, aborts, fits, notes); the words for a plan llama.cpp
// refuses (the fit table's, "llama.cpp refuses"; the verdict line's, "llama.cpp would refuse
// this: <why>."; the check's, "llama.cpp would refuse: <why>"); the texts from files it holds.
struct Style;
[[nodiscard]] std::string llamacpp_device_table(const LlamaCppResult& plan, const RenderOptions& o, const Style& st);
// The lines of the draft model (-md; an MTP drafter under draft-mtp, Ollama 0.30+ DRAFT) and of
// --spec-type draft-mtp's own MTP blocks and context ("" without either).
[[nodiscard]] std::string llamacpp_draft_lines(const LlamaCppResult& plan, const RenderOptions& o);
[[nodiscard]] nlohmann::ordered_json llamacpp_json_head(const EngineSection& e, const LlamaCppResult& plan);
void llamacpp_json_tail(nlohmann::ordered_json& out, const EngineSection& e, const LlamaCppResult& plan);
[[nodiscard]] std::string llamacpp_refusal(const LlamaCppResult& plan);
[[nodiscard]] std::string llamacpp_refusal_line(const LlamaCppResult& plan, const Style& st);
[[nodiscard]] std::string llamacpp_refusal_why(const LlamaCppResult& plan);
// The notes under the device table: the compute buffer is an estimate, the margin is `margin`;
// then the section's own notes.
[[nodiscard]] std::string llamacpp_notes_text(std::string_view margin, const std::vector<std::string>& notes,
                                              const RenderOptions& o, const Style& st);
void llamacpp_file_texts(LlamaCppResult& plan, std::vector<std::string*>& out);

} // namespace vramcalc::detail
