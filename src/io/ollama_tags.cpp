#include "vramcalc/io/ollama_tags.hpp"

#include "json_util.hpp"
#include "vramcalc/engine_ollama.hpp"

#include <algorithm>
#include <cctype>

namespace vramcalc::io {

namespace detail {
std::string_view builtin_ollama_tags_text(); // generated from models/ollama-tags.json
}

using detail::LoadFailure;
using detail::ObjectReader;

namespace {

bool is_date(std::string_view d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u}) {
    if (d[i] < '0' || d[i] > '9') return false;
  }
  return true;
}

// The model part of a canonical name ("qwen3" of "qwen3:8b").
std::string_view model_part(std::string_view name) { return name.substr(0, name.find(':')); }

OllamaTagTable parse(std::string_view text, const std::string& origin) {
  const auto j = detail::parse_strict(text, origin, ErrorCode::invalid_catalog);
  ObjectReader r(j, origin, "", ErrorCode::invalid_catalog);
  const std::string schema = r.str("schema");
  if (schema != "vramcalc-ollama-tags/1") {
    r.fail("schema", "unsupported schema '" + schema + "' (this vramcalc reads vramcalc-ollama-tags/1)");
  }
  OllamaTagTable t;
  t.origin = origin;
  t.revision = r.str("revision");
  (void)r.opt_str("note");
  const auto& arr = r.array("tags");
  for (std::size_t i = 0; i < arr.size(); ++i) {
    ObjectReader e = r.element(arr, "tags", i);
    OllamaTag g;
    const std::string tag = e.str("tag");
    if (tag.find(':') == std::string::npos || tag.front() == ':' || tag.back() == ':') {
      e.fail("tag", "expected model:tag, such as qwen3:8b, got '" + tag + "'");
    }
    g.tag = ollama_canonical_name(tag);
    for (const OllamaTag& other : t.tags) {
      if (other.tag == g.tag) e.fail("tag", "'" + tag + "' is listed twice");
    }
    g.model = e.str("model");
    if (g.model.empty()) e.fail("model", "must not be empty");
    g.weights = e.str("weights");
    if (g.weights.empty()) e.fail("weights", "must not be empty");
    g.context_tokens = e.opt_u64("context", 1, 1ull << 40);
    g.as_of = e.str("as_of");
    if (!is_date(g.as_of)) e.fail("as_of", "expected YYYY-MM-DD, got '" + g.as_of + "'");
    g.source = e.str("source");
    if (!g.source.starts_with("https://")) e.fail("source", "expected the URL the tag's contents were read from");
    if (auto n = e.opt_str("note")) g.note = *n;
    if (auto q = e.opt_str("quantizer")) {
      const std::string_view written(*q);
      const auto v = parse_ollama_release(written.substr(written.starts_with("ollama-") ? 7 : written.size()));
      if (!written.starts_with("ollama-") || !v) {
        e.fail("quantizer", "expected ollama-X.Y.Z (the release that quantized the file), got '" + *q + "'");
      }
      g.quantizer = *q;
      // Ollama's vendored llama.cpp, llama-quant.cpp: `quantize &= name.find("v.") == npos` from
      // commit 6bd0a983c (v0.6.5) until the Go quantizer of v0.7.0 (424810450) added "_v.".
      g.v_names_f16 = *v >= OllamaRelease{0, 6, 5} && *v < OllamaRelease{0, 7, 0};
    }
    e.finish();
    t.tags.push_back(std::move(g));
  }
  r.finish();
  return t;
}

} // namespace

std::expected<OllamaTagTable, Error> parse_ollama_tags(std::string_view text, std::string_view origin) {
  try {
    return parse(text, std::string(origin));
  } catch (const LoadFailure& f) {
    return std::unexpected(f.error);
  }
}

std::expected<OllamaTagTable, Error> load_builtin_ollama_tags() {
  return parse_ollama_tags(detail::builtin_ollama_tags_text(), "models/ollama-tags.json");
}

std::string ollama_canonical_name(std::string_view name) {
  std::string n(name);
  for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view prefix : {"https://", "http://", "registry.ollama.ai/", "library/"}) {
    if (n.starts_with(prefix)) n.erase(0, prefix.size());
  }
  if (n.find(':') == std::string::npos) n += ":latest";
  return n;
}

std::expected<const OllamaTag*, Error> find_ollama_tag(const OllamaTagTable& table, std::string_view name) {
  const std::string canonical = ollama_canonical_name(name);
  for (const OllamaTag& t : table.tags) {
    if (t.tag == canonical) return &t;
  }
  std::string same;
  for (const OllamaTag& t : table.tags) {
    if (model_part(t.tag) == model_part(canonical)) same += (same.empty() ? "" : ", ") + t.tag;
  }
  std::string shown(name.substr(0, 80));
  return std::unexpected(Error{ErrorCode::unknown_model,
                               "Ollama tag '" + shown + "' (" + canonical + ") is not in " + table.origin +
                                   (same.empty() ? std::string(" (no tag of that model is)") : " (known: " + same + ")")});
}

} // namespace vramcalc::io
