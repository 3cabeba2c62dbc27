// The serving engines vramcalc models, listed once: EngineKind, engine_table (one row per
// engine: its names, KV dtypes, weight formats, layouts, and the functions of its files),
// the options every engine keeps in Settings and the alternatives of a report's engine
// section. Each engine lives in its own files (docs/ARCHITECTURE.md, "Adding things"):
// its header (options, result, section, plan), src/core/engine_<id>.cpp (memory math and
// options) and src/report/engine_<id>.cpp (renderers). docs/engines.md has every formula.
#pragma once

#include "vramcalc/dtype.hpp"
#include "vramcalc/engine_option.hpp"
#include "vramcalc/format.hpp"
#include "vramcalc/model.hpp"
#include "vramcalc/placement.hpp"

// The engines, one header each.
#include "vramcalc/engine_llamacpp.hpp"
#include "vramcalc/engine_ollama.hpp"
#include "vramcalc/engine_sglang.hpp"
#include "vramcalc/engine_trtllm.hpp"
#include "vramcalc/engine_vllm.hpp"

#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vramcalc {

enum class EngineKind : std::uint8_t { generic, vllm, llamacpp, sglang, ollama, trtllm };

// What the rest of the program asks of an engine: one row per engine, in EngineKind order,
// with the functions of its own files: its options, its section of an estimate.
struct EngineTraits {
  EngineKind kind;
  std::string_view id;       // --engine value, JSON "name", FitRow::decided_by
  std::string_view display;  // in prose: "vLLM"
  std::string_view alias;    // another spelling --engine takes ("" for none)
  // Contexts it allocates in steps of: vLLM's 16-token KV blocks, llama.cpp's context
  // padded to 256 (docs/engines.md); searches for the longest context step by it.
  std::uint64_t context_step_tokens;
  // The KV-cache dtypes it takes (empty: any KV dtype), from its header.
  std::span<const Dtype> kv_dtypes;
  // Its bit in weight_format_table's loaded_by column (the weight formats it loads).
  std::uint8_t loaded_by;
  // Whether it runs tensor / pipeline parallel layouts (vLLM); llama.cpp splits layers its own way.
  bool parallel_layouts;
  std::string_view needs_gpu; // why it must be told the GPU ("" when it need not)
  // Its options (engine_<id>.cpp), each with its flag, deployment key, help and parser.
  std::span<const EngineOptionSpec> (*options)() = nullptr;
  // Its start-up on the first requested GPU type, `layout` the fit row's parallelism.
  EngineSection (*section)(const ModelSpec& model, const Settings& settings, const Parallel& layout) = nullptr;
  // The most GPUs of one type it can use for a model (nullptr: 64), the fewest-count search's bound.
  std::uint32_t (*most_gpus)(const ModelSpec& model) = nullptr;
};


inline constexpr EngineTraits engine_table[] = {
    {EngineKind::generic, "generic", "vramcalc", "", 1, {}, loaded_by_no_engine, true, ""},
    {EngineKind::vllm, "vllm", "vLLM", "", 16, vllm_kv_dtypes, loaded_by_vllm, true,
     "vLLM sizes its KV cache from the GPU's memory", vllm_option_specs, detail::vllm_section},
    {EngineKind::llamacpp, "llamacpp", "llama.cpp", "llama.cpp", 256, llamacpp_kv_dtypes, loaded_by_llamacpp, false,
     "llama.cpp places layers by each GPU's memory", llamacpp_option_specs, detail::llamacpp_section,
     detail::llamacpp_most_gpus},
    // SGLang loads what vLLM loads (its quantization methods; not GGUF here); its KV pool is
    // per token (page size 1 by default).
    {EngineKind::sglang, "sglang", "SGLang", "", 1, sglang_kv_dtypes, loaded_by_vllm, true,
     "SGLang sizes its static memory from the GPU's memory", sglang_option_specs, detail::sglang_section},
    // Ollama runs llama.cpp's GGUF files; its context defaults by release and GPUs (--ollama-env).
    {EngineKind::ollama, "ollama", "Ollama", "", 256, ollama_kv_dtypes, loaded_by_llamacpp, false,
     "Ollama's default context and layer placement follow the GPU's memory",
     ollama_option_specs, detail::ollama_section, detail::llamacpp_most_gpus},
    // TensorRT-LLM's PyTorch backend loads Hugging Face / ModelOpt checkpoints (vLLM's set
    // stands for them; not GGUF); its pool is in blocks, a request holding whole ones.
    {EngineKind::trtllm, "trtllm", "TensorRT-LLM", "tensorrt-llm", 1, trtllm_kv_dtypes, loaded_by_vllm, true,
     "TensorRT-LLM sizes its KV cache from the GPU's memory", trtllm_option_specs, detail::trtllm_section},
};

constexpr bool engine_table_in_order() {
  for (std::size_t i = 0; i < std::size(engine_table); ++i) {
    if (static_cast<std::size_t>(engine_table[i].kind) != i || engine_table[i].id.empty()) return false;
  }
  return true;
}
static_assert(engine_table_in_order(), "engine_table: one row per EngineKind, in its order");

[[nodiscard]] constexpr const EngineTraits& engine_traits(EngineKind kind) {
  return engine_table[static_cast<std::size_t>(kind)];
}

// The options of an engine (none for generic).
[[nodiscard]] inline std::span<const EngineOptionSpec> engine_option_specs(EngineKind kind) {
  const auto options = engine_traits(kind).options;
  return options == nullptr ? std::span<const EngineOptionSpec>() : options();
}

// The flags a message names for the engine: its options' flags of named_rank 1, 2 and 3, in
// that order, and "..." when it has more ("--ollama-env, --ollama-version").
[[nodiscard]] std::string engine_flag_names(EngineKind kind);

// The engine an --engine value (or a deployment's `engine`) names, by id or alias, in any case.
[[nodiscard]] std::optional<EngineKind> find_engine(std::string_view name);

// "generic, vllm or llamacpp": the ids, for messages.
[[nodiscard]] std::string engine_ids();

// Whether the engine takes `kv` as its KV-cache dtype.
[[nodiscard]] bool engine_takes_kv(EngineKind engine, Dtype kv);

// Whether `engine` loads weights stored as `format`: vLLM its quantization methods (not
// GGUF, not ExLlamaV2), llama.cpp GGUF files (a plain f32 / f16 / bf16 format meaning the
// GGUF of that type). Searches and suggestions under an engine consider only these.
[[nodiscard]] bool engine_loads(EngineKind engine, const WeightFormat& format);

// Every engine's options, as the settings hold them (one member per engine, generic aside).
struct EngineOptions {
  VllmOptions vllm;
  LlamaCppOptions llamacpp; // type_k / type_v unset: the settings' kv_dtype
  SglangOptions sglang;
  OllamaOptions ollama;
  TrtllmOptions trtllm;
};

// Every engine's own account in a report (EngineSection::detail, report.hpp): one alternative
// per engine, in EngineKind order, generic aside. The renderers visit it and find each
// engine's functions by the alternative's type.
using EngineDetail = std::variant<VllmSection, LlamaCppSection, SglangSection, OllamaSection, TrtllmSection>;

template <std::size_t... I>
constexpr bool engine_detail_in_order(std::index_sequence<I...>) {
  return ((std::variant_alternative_t<I, EngineDetail>::engine == engine_table[I + 1].id) && ...);
}
static_assert(std::variant_size_v<EngineDetail> + 1 == std::size(engine_table) &&
                  engine_detail_in_order(std::make_index_sequence<std::variant_size_v<EngineDetail>>()),
              "EngineDetail: one alternative per engine, in EngineKind order");

} // namespace vramcalc
