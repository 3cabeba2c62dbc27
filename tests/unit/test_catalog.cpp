// Data tests: every shipped model and GPU loads and is consistent.
#include "../support/safetensors_writer.hpp" // TempDir
#include "helpers.hpp"
#include "vramcalc/io/gpu_json.hpp"
#include "vramcalc/io/price_json.hpp"
#include "vramcalc/tensors.hpp"

#include <cctype>
#include <cmath>
#include <filesystem>

using namespace vramcalc;
using vramcalc::test::catalog;

TEST_CASE("every catalog model is consistent and sourced") {
  REQUIRE(catalog().models.size() >= 2);
  for (const ModelSpec& m : catalog().models) {
    INFO(m.origin);
    CHECK(m.source.starts_with("https://"));
    CHECK(m.origin.starts_with("models/"));
    CHECK(m.origin.ends_with("/" + m.id + ".json"));
    if (!m.attention.mla) CHECK(m.attention.num_heads % m.attention.num_kv_heads == 0);
    CHECK(m.layers.size() == m.num_layers);
    CHECK(m.max_context > 0);
    const ParamCounts p = count_params(m);
    CHECK(p.active <= p.total);
    if (!m.moe) CHECK(p.active == p.total);
  }
}

namespace {

// An official figure is matched when the computed count is within 1% of it, or, for a
// figure stated with few digits ("37B", precision 1e9), when the computed count rounds or
// truncates to it: official - precision/2 <= computed < official + precision.
bool matches(std::uint64_t computed, std::uint64_t official, std::uint64_t precision) {
  const double c = static_cast<double>(computed), o = static_cast<double>(official);
  if (std::abs(c / o - 1.0) <= 0.01) return true;
  const double p = static_cast<double>(precision);
  return precision != 0 && c >= o - p / 2 && c < o + p;
}

} // namespace

TEST_CASE("computed parameters match the official counts (table: official_params in models/)") {
  int checked = 0, exact = 0;
  for (const ModelSpec& m : catalog().models) {
    INFO(m.id);
    REQUIRE(m.official); // every catalog model states its published count
    CHECK_FALSE(m.official->source.empty());
    const OfficialParams& off = *m.official;
    const ParamCounts p = count_params(m);
    std::uint64_t total = p.total + (off.includes_vision ? p.vision : 0) + (off.includes_mtp ? p.mtp : 0);
    if (off.total_excludes_embeddings) total -= p.embedding;
    INFO(m.id << ": computed " << total << ", official " << off.total << " (" << off.source << ")");
    CHECK(matches(total, off.total, off.precision));
    exact += total == off.total ? 1 : 0;
    if (off.active != 0) {
      // p.embedding holds the token embedding and, when untied, the output head.
      const std::uint64_t input_embedding = m.hidden_size * m.vocab_size;
      const std::uint64_t active = p.active - (off.active_excludes_embedding ? input_embedding : 0);
      INFO(m.id << ": computed active " << active << ", official " << off.active);
      CHECK(matches(active, off.active, off.precision));
    }
    ++checked;
  }
  CHECK(checked == static_cast<int>(catalog().models.size()));
  CHECK(exact >= 10); // figures read to the parameter, not only rounded ones
}

TEST_CASE("every GPU has a driver-reported or documented memory size and sources") {
  REQUIRE(catalog().gpus.size() >= 30);
  for (const GpuSpec& g : catalog().gpus) {
    INFO(g.id);
    CHECK_FALSE(g.sources.empty());
    CHECK(g.memory_bytes >= (8ull << 30));
    CHECK(g.usable_percent <= 100);
    if (g.vendor != "apple") CHECK(g.usable_percent == 100);
  }
}

TEST_CASE("GPU names people type resolve, case-insensitively") {
  const auto id = [](const char* n) { return (*catalog().find_gpu(n))->id; };
  CHECK(id("h100") == "h100-sxm");
  CHECK(id("H100") == "h100-sxm");
  CHECK(id("4090") == "rtx-4090");
  CHECK(id("rtx4090") == "rtx-4090");
  CHECK(id("a100-80gb") == "a100-80gb-sxm");
  CHECK(id("a100-40gb") == "a100-40gb");
  CHECK(id("L40S") == "l40s");
  CHECK(id("mi300x") == "mi300x");
  CHECK(id("m3-ultra-512gb") == "m3-ultra-512gb");
  // An H100 reports 81559 MiB, not 80 GB.
  CHECK((*catalog().find_gpu("h100"))->memory_bytes == 81559ull * 1024 * 1024);
}

TEST_CASE("unknown names get suggestions") {
  auto r = catalog().find_model("llama3-7b");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message == "unknown model 'llama3-7b'; did you mean: llama3-8b, llama3-70b?");
  CHECK(catalog().find_model("Meta-Llama/meta-llama-3-70b").value()->id == "llama3-70b");
}

TEST_CASE("a catalog of only the models asked for finds what the whole catalog finds") {
  const io::Catalog& whole = vramcalc::test::catalog();
  for (const ModelSpec& m : whole.models) {
    std::string upper = m.id;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::vector<std::string> names{m.id, upper};
    for (const std::string& a : m.aliases) names.push_back(a);
    for (const std::string& n : names) {
      INFO(n);
      const std::vector<std::string> asked{n};
      const io::Catalog part = io::load_builtin_catalog_for(asked).value();
      CHECK(part.partial);
      CHECK(part.gpus.size() == whole.gpus.size());
      CHECK(part.models.size() < whole.models.size());
      auto found = part.find_model(n);
      REQUIRE(found.has_value());
      CHECK((*found)->id == (*whole.find_model(n))->id);
    }
  }
  // Other spellings, as find_model accepts them.
  for (const char* n : {"meta-llama/Llama-3.1-70B-Instruct", "Llama-3-70B", "Qwen/Qwen2.5-72B-Instruct-AWQ"}) {
    INFO(n);
    const std::vector<std::string> asked{n};
    const io::Catalog part = io::load_builtin_catalog_for(asked).value();
    REQUIRE(whole.find_model(n).has_value());
    REQUIRE(part.find_model(n).has_value());
    CHECK((*part.find_model(n))->id == (*whole.find_model(n))->id);
  }
  // A name nothing answers to: no models (the caller asks the whole catalog for suggestions).
  const std::vector<std::string> unknown{"no-such-model"};
  CHECK(io::load_builtin_catalog_for(unknown).value().models.empty());
}

TEST_CASE("every embedded file is strict JSON") {
  // The binary loads its own catalog without the duplicate-key pass (Keys::trusted); this
  // is the check it skips.
  for (const io::EmbeddedFile& f : io::embedded_catalog_files()) {
    INFO(f.path);
    if (f.path == "models/gpus.json") {
      CHECK(io::parse_gpu_catalog(f.text, f.path).has_value());
    } else if (f.path == "models/gpu-labels.json") {
      CHECK(io::parse_gpu_labels(f.text, f.path, catalog().gpus).has_value());
    } else if (f.path == "models/prices.json") {
      CHECK(io::parse_price_table(f.text, f.path, catalog().gpus).has_value());
    } else {
      CHECK(io::parse_model_spec(f.text, f.path).has_value());
      CHECK(f.names.starts_with(io::parse_model_spec(f.text, f.path)->id));
    }
  }
}

TEST_CASE("longest_known_context_tokens is the longest maximum context of the catalog's models") {
  std::uint64_t longest = 0;
  for (const ModelSpec& m : vramcalc::test::catalog().models) longest = std::max(longest, m.max_context);
  CHECK(longest == longest_known_context_tokens);
}

TEST_CASE("a catalog directory stands in for the built-in catalog: the tests' fixed catalog") {
  const std::string dir = std::string(VRAMCALC_TEST_DATA) + "/catalog";
  auto d = io::read_catalog_dir(dir);
  REQUIRE(d.has_value());
  const io::Catalog c = io::load_catalog(d->files()).value();
  CHECK(c.gpus.size() == 22);
  CHECK(c.models.size() == 9);
  CHECK(c.models.front().origin == dir + "/deepseek/deepseek-r1.json");
  // Each GPU and model is a verbatim copy of the built-in one (tests/data/catalog/README.md).
  for (const GpuSpec& g : c.gpus) {
    INFO(g.id);
    const auto built_in = catalog().find_gpu(g.id);
    REQUIRE(built_in.has_value());
    CHECK((*built_in)->memory_bytes == g.memory_bytes);
    CHECK((*built_in)->name == g.name);
  }
  // Only the models asked for, as from the built-in files.
  const std::vector<std::string> asked{"meta-llama/Llama-3.1-70B-Instruct"};
  const io::Catalog part = io::load_catalog_for(d->files(), asked).value();
  CHECK(part.partial);
  REQUIRE(part.models.size() == 1);
  CHECK(part.models[0].id == "llama3.1-70b");
  const auto prices = io::load_prices(d->files(), c.gpus).value();
  CHECK(prices.origin == dir + "/prices.json");
  CHECK(prices.rows.size() == 16);
}

TEST_CASE("a catalog directory's files are checked as a user's are, with their paths") {
  vramcalc::test::TempDir tmp;
  const std::string root = std::filesystem::path(tmp.file("x")).parent_path().string();
  tmp.write("gpus.json", R"({"schema": "vramcalc-gpus/1", "revision": "x", "gpus": [], "gpus": []})");
  const auto d = io::read_catalog_dir(root);
  REQUIRE(d.has_value());
  const auto c = io::load_catalog(d->files());
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().message.starts_with(root + "/gpus.json: "));
  CHECK(c.error().message.find("gpus") != std::string::npos);

  vramcalc::test::TempDir empty;
  const std::string none = std::filesystem::path(empty.file("x")).parent_path().string();
  const auto e = io::read_catalog_dir(none);
  REQUIRE(e.has_value());
  CHECK(io::load_catalog(e->files()).error().message == "the catalog has no " + none + "/gpus.json");
  CHECK(io::load_prices(e->files(), {}).error().message == "the catalog has no " + none + "/prices.json");
  CHECK(io::read_catalog_dir(none + "/none").error().message ==
        "catalog directory '" + none + "/none' is not a directory");
}
