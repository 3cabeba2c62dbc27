// Ollama library tags (qwen3:8b, llama3.1:70b-instruct-q8_0) to the catalog model of the same
// shapes and the GGUF mix the tag ships: models/ollama-tags.json (format vramcalc-ollama-tags/1,
// docs/engines.md, "Ollama"), each entry with its source.
#pragma once

#include "vramcalc/error.hpp"

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vramcalc::io {

struct OllamaTag {
  std::string tag;      // "llama3.2:latest", as Ollama names it (lower case here)
  std::string model;    // the catalog model id
  std::string weights;  // the GGUF mix, as -q spells it ("q4_k_m")
  std::optional<std::uint64_t> context_tokens; // the tag's GGUF context_length, where it differs from the model's
  std::string as_of;    // YYYY-MM-DD of the source (the registry can move a tag)
  std::string source;   // URL
  std::string note;
  // The Ollama release whose `ollama create --quantize` made the file ("" when not stated or made
  // by llama.cpp's own quantizer); 0.6.5-0.6.8 left attn_v in f16 (docs/quantization.md).
  std::string quantizer;
  bool v_names_f16 = false; // the quantizer is one of 0.6.5-0.6.8
};

struct OllamaTagTable {
  std::string origin;
  std::string revision;
  std::vector<OllamaTag> tags;
};

[[nodiscard]] std::expected<OllamaTagTable, Error> parse_ollama_tags(std::string_view text, std::string_view origin);
// The built-in table, models/ollama-tags.json.
[[nodiscard]] std::expected<OllamaTagTable, Error> load_builtin_ollama_tags();

// A model name as Ollama resolves it (types/model/name.go): "registry.ollama.ai/library/" and
// "library/" dropped, the tag "latest" when none is given, lower case. "qwen3" → "qwen3:latest".
[[nodiscard]] std::string ollama_canonical_name(std::string_view name);

// The entry of `name` (canonicalised); an error naming the tag and the table when it is not
// known (the tags of the same model are listed).
[[nodiscard]] std::expected<const OllamaTag*, Error> find_ollama_tag(const OllamaTagTable& table, std::string_view name);

} // namespace vramcalc::io
