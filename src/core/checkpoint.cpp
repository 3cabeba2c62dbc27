// Repository-name conventions of quantized uploads (docs/checkpoints.md).
#include "vramcalc/checkpoint.hpp"

#include "vramcalc/format.hpp"
#include "vramcalc/names.hpp"

#include <array>
#include <cctype>

namespace vramcalc {

namespace {

struct Convention {
  std::string_view suffix; // lowercase, with its separator
  std::string_view format; // parse_weight_format id
};

// Longest first where one ends another ("-fp8-dynamic" before "-fp8"). Sources: the
// uploaders' own naming — hugging-quants (-AWQ-INT4, -GPTQ-INT4), Qwen (-AWQ, -GPTQ-Int4,
// -GPTQ-Int8, -FP8: 128x128 blocks), RedHatAI / neuralmagic (-FP8-dynamic: per-channel,
// -FP8: per-tensor, -quantized.w4a16 / .w8a8 / .w8a16, -NVFP4), nvidia (-FP4: NVFP4),
// unsloth (-bnb-4bit, -unsloth-bnb-4bit), TheBloke (-AWQ, -GPTQ).
constexpr std::array<Convention, 24> conventions{{
    {"-unsloth-bnb-4bit", "nf4"},
    {"-bnb-4bit", "nf4"},
    {"-bnb-8bit", "bnb-int8"},
    {"-awq-int4", "awq-int4-g128"},
    {"-awq-4bit", "awq-int4-g128"},
    {"-awq", "awq-int4-g128"},
    {"-gptq-int4", "gptq-int4-g128"},
    {"-gptq-4bit", "gptq-int4-g128"},
    {"-gptq-int8", "gptq-int8-g128"},
    {"-gptq-8bit", "gptq-int8-g128"},
    {"-gptq", "gptq-int4-g128"},
    {"-fp8-dynamic", "fp8-channel"},
    {"-fp8-static", "fp8"},
    {"-fp8-block", "fp8-block"},
    {"-fp8", "fp8"},
    {"-quantized.w4a16", "w4a16-g128"},
    {"-quantized.w8a8", "w8a8"},
    {"-quantized.w8a16", "int8"},
    {"-w4a16", "w4a16-g128"},
    {"-w8a8", "w8a8"},
    {"-w8a16", "int8"},
    {"-nvfp4", "nvfp4"},
    {"-fp4", "nvfp4"},
    {"-mxfp4", "mxfp4"},
}};

// Suffixes that say "quantized" without saying how.
constexpr std::array<std::string_view, 6> vague{"-int4", "-int8", "-4bit", "-8bit", "-mlx", "-exl2"};

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

} // namespace

std::string_view repo_basename(std::string_view name) {
  const auto slash = name.rfind('/');
  return slash == std::string_view::npos ? name : name.substr(slash + 1);
}

RepoName parse_repo_name(std::string_view name) {
  RepoName r;
  r.base = std::string(name);
  const std::size_t last = name.size() - repo_basename(name).size();
  std::string_view tail = name.substr(last);
  // "<repo>-GGUF:Q4_K_M": llama.cpp's -hf (and Ollama's hf.co/...) syntax for one file.
  std::string tag;
  if (const auto colon = tail.find(':'); colon != std::string_view::npos) {
    tag = to_lower(tail.substr(colon + 1));
    tail = tail.substr(0, colon);
  }
  if (ends_with_ci(tail, "-gguf")) {
    r.gguf = true;
    r.gguf_tag = !tag.empty();
    std::string type = tag.empty() ? std::string("q4_k_m") : tag;
    // One-file repositories name their type: "Llama-3.2-3B-Instruct-Q4_K_M-GGUF".
    const std::string_view stem = tail.substr(0, tail.size() - 5);
    if (const auto dash = stem.rfind('-'); tag.empty() && dash != std::string_view::npos) {
      const std::string named = to_lower(stem.substr(dash + 1));
      const auto f = parse_weight_format(named, Dtype::bf16);
      if (f && f->kind == FormatKind::gguf) {
        r.gguf_tag = true;
        r.format = named;
        r.suffix = std::string(tail.substr(dash));
        r.base = std::string(name.substr(0, last + dash));
        return r;
      }
    }
    // The tag must be a llama.cpp mix; anything else is for the caller to refuse.
    if (parse_weight_format(type, Dtype::bf16).has_value()) r.format = type;
    else r.unknown = "-GGUF:" + std::string(name.substr(name.size() - tag.size()));
    r.suffix = std::string(name.substr(last + tail.size() - 5));
    r.base = std::string(name.substr(0, last + tail.size() - 5));
    return r;
  }
  if (!tag.empty()) return r; // a tag on a non-GGUF name: not a convention this reads
  // "-4.0bpw-exl2", "-exl2-4.0bpw", "_exl2_4.0bpw": ExLlamaV2 at that many bits per weight.
  {
    const std::string lower = to_lower(tail);
    const auto exl2 = lower.rfind("exl2");
    const auto bpw = lower.rfind("bpw");
    if (exl2 != std::string::npos && bpw != std::string::npos && exl2 > 0) {
      std::size_t start = bpw;
      while (start > 0 && (std::isdigit(static_cast<unsigned char>(lower[start - 1])) != 0 || lower[start - 1] == '.')) {
        --start;
      }
      const std::string bits = lower.substr(start, bpw - start);
      const std::size_t cut = std::min(exl2, start) - 1;
      if (!bits.empty() && cut > 0 && parse_weight_format("exl2-" + bits, Dtype::bf16).has_value()) {
        r.format = "exl2-" + bits;
        r.suffix = std::string(tail.substr(cut));
        r.base = std::string(name.substr(0, last + cut));
        return r;
      }
    }
  }
  for (const Convention& c : conventions) {
    for (char sep : {'-', '_', '.'}) {
      std::string suffix(c.suffix);
      suffix[0] = sep;
      if (!ends_with_ci(tail, suffix)) continue;
      r.format = std::string(c.format);
      r.suffix = std::string(tail.substr(tail.size() - suffix.size()));
      r.base = std::string(name.substr(0, name.size() - suffix.size()));
      return r;
    }
  }
  for (std::string_view v : vague) {
    if (ends_with_ci(tail, v)) {
      r.unknown = std::string(tail.substr(tail.size() - v.size()));
      return r;
    }
  }
  return r;
}

} // namespace vramcalc
