// What every engine command line `vramcalc check` reads shares (deployments.hpp): the walk
// over its words that maps known flags to deployment keys and lists the rest as ignored, the
// model named by its first word, and the quantization method / dtype pair vLLM and SGLang both
// take. Each engine's own table of flags is in deployments.cpp (vLLM, llama-server) or
// engine_commands.cpp (SGLang, TensorRT-LLM, Ollama). Private to src/io.
#pragma once

#include "deployments.hpp"

#include <expected>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc::io::detail {

struct FlagMap {
  std::string_view flag;  // as the engine spells it
  std::string_view key;   // deployment key, or "opt:<engine option>"
  bool takes_value = true;
};

// Walks `args` from `start`: known flags become keys; anything else is listed as ignored
// (with its value, when the next word is not a flag).
// `silent`: flags that do not change memory (the address, names, logging, templates); read
// with their values and not listed as ignored.
[[nodiscard]] std::expected<void, Error> map_flags(const std::vector<std::string>& args, std::size_t start,
                                                   std::span<const FlagMap> known,
                                                   const std::set<std::string_view>& booleans,
                                                   const std::set<std::string_view>& silent, Deployment& d,
                                                   std::string_view origin, std::vector<std::string>& positional);

// The model: a flag's (already in d.keys) or else the first positional word; every other
// positional word is listed as ignored. No model is an error naming `usage`.
[[nodiscard]] std::expected<void, Error> take_model(Deployment& d, const std::vector<std::string>& positional,
                                                    const std::string& origin, std::string_view usage);

// `quant` holding a quantization method (vLLM's and SGLang's --quantization) and `dtype` the
// unquantized type (--dtype) into one weight format: bitsandbytes is nf4, awq_marlin awq,
// gptq_marlin gptq; compressed-tensors names no format (listed as `compressed_note`); --dtype
// (bfloat16, half, float32, ...) is the format when nothing is quantized.
void quant_from_method_and_dtype(Deployment& d, std::string_view compressed_note);

// A count flag (--dp-size 2) read as a number; nullopt when it is not one (its key's check
// says what is wrong).
[[nodiscard]] std::optional<std::uint64_t> count_of(const std::string& text);

} // namespace vramcalc::io::detail
