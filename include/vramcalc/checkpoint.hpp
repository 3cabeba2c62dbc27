// What a hub repository's name says about the checkpoint it holds. Quantized uploads are
// named by convention ("<base>-AWQ", "<base>-GPTQ-Int4", "<base>-FP8-dynamic",
// "<base>-quantized.w4a16", "<base>-bnb-4bit", "<base>-GGUF:Q4_K_M" ...); engines read the
// format from the checkpoint's own config, so a planner must not size such a name as the
// base model's bf16. docs/checkpoints.md lists the conventions and their sources.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vramcalc {

struct RepoName {
  std::string base;                  // the name without the quantization suffix (organisation kept)
  std::optional<std::string> format; // the weight format the suffix means (parse_weight_format id)
  std::string suffix;                // the suffix as written ("-AWQ-INT4", "-GGUF:Q4_K_M"); empty if none
  bool gguf = false;                 // a GGUF repository
  bool gguf_tag = false;             // gguf: the file was chosen by a ":QUANT" tag (else Q4_K_M, llama.cpp's -hf default)
  std::string unknown;               // a quantized-looking suffix whose format the name does not say ("-int4", "-mlx")
};

// Reads the quantization suffix of the name's last path component (case-insensitive).
// A name without one comes back with base = name and no format.
[[nodiscard]] RepoName parse_repo_name(std::string_view name);

// The part after the last '/' ("Qwen/Qwen2.5-7B-Instruct" -> "Qwen2.5-7B-Instruct").
[[nodiscard]] std::string_view repo_basename(std::string_view name);

} // namespace vramcalc
