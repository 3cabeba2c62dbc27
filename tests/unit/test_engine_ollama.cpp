// Ollama's rules per release (the arithmetic written out) and the public Ollama logs of
// tests/data/ollama/logs.csv (sources in its README) reproduced.
#include "helpers.hpp"
#include "../support/engine_cases.hpp"
#include "vramcalc/engine.hpp"
#include "vramcalc/engine_ollama.hpp"
#include "vramcalc/report.hpp"
#include "vramcalc/format.hpp"
#include "vramcalc/io/ollama_tags.hpp"
#include "vramcalc/tensors.hpp"
#include "core/weights_detail.hpp"

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <utility>

using namespace vramcalc;
using vramcalc::test::catalog_gpu;
using vramcalc::test::format_of;
using vramcalc::test::model;

namespace {

OllamaRelease release(std::string_view s) {
  auto r = parse_ollama_release(s);
  if (!r) FAIL(r.error().message);
  return *r;
}

OllamaEnv env(std::string_view s) {
  auto e = parse_ollama_env(s);
  if (!e) FAIL(e.error().message);
  return *e;
}

GpuSpec gpu_of(std::uint64_t bytes) {
  GpuSpec g;
  g.id = "gpu";
  g.name = "test GPU";
  g.memory_bytes = bytes;
  return g;
}

std::vector<GpuSpec> gpus(std::size_t n, std::uint64_t bytes) { return std::vector<GpuSpec>(n, gpu_of(bytes)); }

OllamaSettings settings(std::string_view rel, std::string_view e, const std::string& id, const std::vector<GpuSpec>& g) {
  return ollama_settings(release(rel), env(e), ollama_model_facts(model(id)), g);
}

} // namespace

TEST_CASE("Ollama releases parse as major.minor.patch; before 0.5.0 and malformed ones are refused", "[ollama]") {
  CHECK(release("0.12.4") == OllamaRelease{0, 12, 4});
  CHECK(release("v0.15.5-rc0") == OllamaRelease{0, 15, 5});
  CHECK(OllamaRelease{0, 9, 6} < OllamaRelease{0, 10, 0});
  CHECK(ollama_release_name({0, 33, 0}) == "0.33.0");
  for (const char* bad : {"0.12", "0.12.x", "", "0.12.4-beta", "1..2", "0.4.7"}) {
    INFO(bad);
    CHECK_FALSE(parse_ollama_release(bad).has_value());
  }
  CHECK(parse_ollama_release("0.4.7").error().message.find("from 0.5.0") != std::string::npos);
}

TEST_CASE("Ollama environment text: the keys Ollama reads, its spellings, and errors naming the key", "[ollama]") {
  const OllamaEnv e = env("OLLAMA_CONTEXT_LENGTH=8192 OLLAMA_NUM_PARALLEL=2 OLLAMA_KV_CACHE_TYPE=Q8_0 "
                          "OLLAMA_FLASH_ATTENTION=true OLLAMA_GPU_OVERHEAD=536870912 num_ctx=\"16384\" num_gpu=20 "
                          "OLLAMA_HOST=0.0.0.0:11434 CUDA_VISIBLE_DEVICES=0,1");
  CHECK(e.context_length == 8192u);
  CHECK(e.num_parallel == 2u);
  CHECK(e.kv_cache_type == Dtype::q8_0);
  CHECK(e.flash_attention == true);
  CHECK(e.gpu_overhead_bytes == 536870912u);
  CHECK(e.num_ctx == 16384u);
  CHECK(e.num_gpu == 20u);
  CHECK(e.ignored == std::vector<std::string>{"OLLAMA_HOST=0.0.0.0:11434", "CUDA_VISIBLE_DEVICES=0,1"});
  CHECK(env("OLLAMA_CONTEXT_LENGTH=0 OLLAMA_NUM_PARALLEL=0 num_gpu=-1").context_length == 0u);
  CHECK_FALSE(env("num_gpu=-1").num_gpu.has_value());
  CHECK(env("").ignored.empty());
  CHECK(env("OLLAMA_FLASH_ATTENTION=0").flash_attention == false);

  const std::map<std::string, std::string> errors{
      {"OLLAMA_CONTEXT_LENGTH=32k", "--ollama-env: OLLAMA_CONTEXT_LENGTH: "},
      {"OLLAMA_NUM_PARALLEL=-1", "--ollama-env: OLLAMA_NUM_PARALLEL: "},
      {"OLLAMA_KV_CACHE_TYPE=q5_1", "--ollama-env: OLLAMA_KV_CACHE_TYPE: 'q5_1' is not a cache type Ollama accepts (f16, q8_0, q4_0)"},
      {"OLLAMA_FLASH_ATTENTION=yes", "--ollama-env: OLLAMA_FLASH_ATTENTION: 'yes' is not 1, true, 0 or false (Ollama would read it as on)"},
      {"OLLAMA_GPU_OVERHEAD=1GiB", "--ollama-env: OLLAMA_GPU_OVERHEAD: expected a byte count (digits only, as Ollama reads it)"},
      {"num_ctx=4096 num_ctx=8192", "--ollama-env: num_ctx: given twice"},
      {"NUM_CTX=4096", "--ollama-env: unknown key 'NUM_CTX'"},
      {"OLLAMA_CONTEXT_LENGTH", "--ollama-env: 'OLLAMA_CONTEXT_LENGTH' is not KEY=VALUE"},
      {"num_ctx='4096", "--ollama-env: num_ctx: unterminated quote"},
  };
  for (const auto& [text, message] : errors) {
    INFO(text);
    const auto r = parse_ollama_env(text);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::invalid_argument);
    CHECK(r.error().message.starts_with(message));
  }
}

TEST_CASE("Ollama's default context per release: 2048, the environment from 0.5.13, 4096 from 0.6.7, the VRAM tier from 0.15.5", "[ollama]") {
  const std::vector<GpuSpec> one4090 = gpus(1, 25757220864); // 23.99 GiB
  // ≤ 0.5.12: api.DefaultOptions NumCtx 2048, the environment not read.
  CHECK(settings("0.5.12", "OLLAMA_CONTEXT_LENGTH=8192", "llama3.1-8b", one4090).num_ctx == 2048);
  CHECK(settings("0.5.13", "OLLAMA_CONTEXT_LENGTH=8192", "llama3.1-8b", one4090).num_ctx == 8192);
  CHECK(settings("0.5.13", "", "llama3.1-8b", one4090).num_ctx == 2048);
  CHECK(settings("0.6.7", "", "llama3.1-8b", one4090).num_ctx == 4096);
  CHECK(settings("0.15.4", "", "llama3.1-8b", one4090).num_ctx == 4096);
  // 0.15.5: Σ (total − overhead) ≥ 47 GiB → 262144, ≥ 23 GiB → 32768, else 4096.
  // One RTX 4090: 25,757,220,864 B = 23.99 GiB ≥ 23 GiB → 32768.
  const OllamaSettings tier = settings("0.15.5", "", "llama3.1-8b", one4090);
  CHECK(tier.vram_bytes == 25757220864u);
  CHECK(tier.num_ctx == 32768);
  CHECK(tier.num_ctx_source == "VRAM tier");
  // With OLLAMA_GPU_OVERHEAD 1 GiB: 25,757,220,864 − 1,073,741,824 = 24,683,479,040 B = 22.99 GiB < 23 GiB → 4096.
  CHECK(settings("0.15.5", "OLLAMA_GPU_OVERHEAD=1073741824", "llama3.1-8b", one4090).num_ctx == 4096);
  // Two: 51,514,441,728 B = 47.98 GiB ≥ 47 → 262144, clamped to Llama 3.1's 131072 (n_ctx_train, v0.9.3+).
  const OllamaSettings two = settings("0.33.0", "", "llama3.1-8b", gpus(2, 25757220864));
  CHECK(two.default_num_ctx == 262144);
  CHECK(two.num_ctx == 131072);
  CHECK(two.notes.front() == "requested context size too large for model: num_ctx 262144, n_ctx_train 131072");
  // No clamp before 0.9.3.
  CHECK(settings("0.9.2", "num_ctx=200000", "llama3.1-8b", one4090).num_ctx == 200000);
  CHECK(settings("0.9.3", "num_ctx=200000", "llama3.1-8b", one4090).num_ctx == 131072);
  // CPU only: no VRAM → 4096. num_ctx beats the environment.
  CHECK(settings("0.33.0", "", "llama3.1-8b", {}).num_ctx == 4096);
  CHECK(settings("0.33.0", "OLLAMA_CONTEXT_LENGTH=8192 num_ctx=2048", "llama3.1-8b", {}).num_ctx == 2048);
}

TEST_CASE("gpt-oss's 8192-token floor: 0.11.1, not in low-VRAM mode from 0.11.4, gone in 0.15.5", "[ollama]") {
  const std::vector<GpuSpec> small = gpus(1, 16 * GiB), big = gpus(1, 24 * GiB);
  CHECK(settings("0.11.0", "", "gpt-oss-20b", small).num_ctx == 4096);
  CHECK(settings("0.11.1", "", "gpt-oss-20b", small).num_ctx == 8192);
  // 0.11.4: 16 GiB < 20 GiB → low VRAM, no floor; 24 GiB → 8192.
  const OllamaSettings low = settings("0.11.4", "", "gpt-oss-20b", small);
  CHECK(low.low_vram);
  CHECK(low.num_ctx == 4096);
  CHECK(settings("0.11.4", "", "gpt-oss-20b", big).num_ctx == 8192);
  CHECK(settings("0.11.4", "num_ctx=2048", "gpt-oss-20b", big).num_ctx == 8192);
  CHECK(settings("0.15.4", "", "gpt-oss-20b", big).num_ctx == 8192);
  // 0.15.5: the tier instead (24 GiB ≥ 23 GiB → 32768).
  CHECK(settings("0.15.5", "", "gpt-oss-20b", big).num_ctx == 32768);
  CHECK(settings("0.11.4", "", "llama3.1-8b", big).num_ctx == 4096);
}

TEST_CASE("Ollama's parallel sequences: automatic 4 then 1, 2 then 1 from 0.6.7, 1 from 0.9.7; forced 1 for some families", "[ollama]") {
  const std::vector<GpuSpec> g = gpus(1, 24 * GiB);
  CHECK(settings("0.5.7", "", "llama3.1-8b", g).parallel_tries == std::vector<std::uint64_t>{4, 1});
  CHECK(settings("0.6.7", "", "llama3.1-8b", g).parallel_tries == std::vector<std::uint64_t>{2, 1});
  const OllamaSettings one = settings("0.9.7", "", "llama3.1-8b", g);
  CHECK(one.parallel == 1);
  CHECK(one.parallel_tries.empty());
  CHECK(settings("0.5.7", "OLLAMA_NUM_PARALLEL=3", "llama3.1-8b", g).parallel == 3);
  CHECK(settings("0.5.7", "OLLAMA_NUM_PARALLEL=3", "llama3.1-8b", g).parallel_tries.empty());
  // qwen3vl by 0.12.10, qwen3next by 0.15.5: one sequence whatever OLLAMA_NUM_PARALLEL says.
  CHECK(settings("0.12.10", "OLLAMA_NUM_PARALLEL=4", "qwen3-vl-8b", g).parallel == (model("qwen3-vl-8b").arch == "qwen3vl" ? 1u : 4u));
  CHECK(settings("0.15.5", "OLLAMA_NUM_PARALLEL=4", "qwen3-next-80b-a3b", g).parallel == 1);
  CHECK(settings("0.15.4", "OLLAMA_NUM_PARALLEL=4", "qwen3-next-80b-a3b", g).parallel == 4);
  // The context asked of llama.cpp is num_ctx × parallel: 4096 × 3 = 12288.
  const OllamaLlamaCpp q = ollama_llamacpp_request(settings("0.33.0", "OLLAMA_NUM_PARALLEL=3", "llama3.1-8b", {}), 0);
  CHECK(q.n_ctx == 12288);
  CHECK(q.n_seq == 3);
  CHECK(q.options.server);
}

TEST_CASE("Ollama's flash attention and KV type per release", "[ollama]") {
  const std::vector<GpuSpec> g = gpus(1, 24 * GiB);
  // Off by default before 0.12.4; a quantized cache needs it (else f16 and a warning).
  const OllamaSettings off = settings("0.12.3", "OLLAMA_KV_CACHE_TYPE=q8_0", "qwen3-8b", g);
  CHECK_FALSE(off.flash_attention);
  CHECK(off.kv_type == Dtype::f16);
  CHECK(off.notes.back() == "quantized kv cache requested but flash attention disabled, type q8_0");
  const OllamaSettings on = settings("0.12.3", "OLLAMA_FLASH_ATTENTION=1 OLLAMA_KV_CACHE_TYPE=q4_0", "qwen3-8b", g);
  CHECK(on.flash_attention);
  CHECK(on.kv_type == Dtype::q4_0);
  // qwen3 on by default from 0.12.4, the environment turns it off; gemma3 from 0.12.6.
  CHECK(settings("0.12.4", "", "qwen3-8b", g).flash_attention);
  CHECK_FALSE(settings("0.12.4", "OLLAMA_FLASH_ATTENTION=0", "qwen3-8b", g).flash_attention);
  CHECK_FALSE(settings("0.12.4", "", "gemma-3-12b", g).flash_attention);
  CHECK(settings("0.12.6", "", "gemma-3-12b", g).flash_attention);
  // gpt-oss: forced on from 0.11.8 (the environment cannot turn it off until 0.12.4).
  CHECK_FALSE(settings("0.11.7", "", "gpt-oss-20b", g).flash_attention);
  CHECK(settings("0.11.8", "OLLAMA_FLASH_ATTENTION=0", "gpt-oss-20b", g).flash_attention);
  CHECK_FALSE(settings("0.12.4", "OLLAMA_FLASH_ATTENTION=0", "gpt-oss-20b", g).flash_attention);
  // gemma2 is refused it (GGML.SupportsFlashAttention).
  CHECK_FALSE(settings("0.12.4", "OLLAMA_FLASH_ATTENTION=1", "gemma-2-9b", g).flash_attention);
  // llama-server (0.30+): auto unless the environment says, the cache type passed as it is.
  const OllamaSettings server = settings("0.30.0", "OLLAMA_KV_CACHE_TYPE=q8_0", "llama3.1-8b", g);
  CHECK(server.runner == OllamaRunner::llama_server);
  CHECK(server.flash_attn == FlashAttn::automatic);
  CHECK(server.kv_type == Dtype::q8_0);
  CHECK(server.llamacpp_build == "b9452");
  CHECK(settings("0.33.0", "", "llama3.1-8b", g).llamacpp_build == "b10488");
  CHECK(settings("0.12.11", "", "llama3.1-8b", g).llamacpp_release == 20251106);
}

TEST_CASE("Ollama's reservation per GPU: 457 MiB, OLLAMA_GPU_OVERHEAD and blk.0 as a buffer (library runner)", "[ollama]") {
  const ModelSpec& m = model("llama3.1-8b");
  const WeightFormat q8 = format_of("q8_0");
  const std::uint64_t weights0 = ollama_layer_buffer_bytes(m, q8, Dtype::f16, 0);
  // Matrices: 2 × 4096 × 4096 + 2 × 1024 × 4096 + 3 × 14336 × 4096 = 218,103,808 elements,
  // q8_0 34 bytes per 32 = 231,735,296 B; the two norms 2 × 4096 × 4 B (f32) = 32,768 B.
  CHECK(weights0 == 231735296u + 32768u);
  CHECK(ollama_layer_buffer_bytes(m, q8, Dtype::f16, 4096) == weights0 + 4096u * 8 * 256 * 2);
  const OllamaSettings s = settings("0.12.0", "OLLAMA_GPU_OVERHEAD=1000", "llama3.1-8b", gpus(1, 24 * GiB));
  CHECK(s.minimum_memory_bytes == 457 * MiB);
  const OllamaLlamaCpp q = ollama_llamacpp_request(s, 5);
  CHECK(q.overhead_bytes == 479199232u + 1000u + 5u); // 457 × 1,048,576 = 479,199,232
  CHECK_FALSE(q.options.server);
  CHECK(q.options.n_batch == 512);
  CHECK(q.options.flash_attn == FlashAttn::off);
  // llama-server chooses its own layers, leaving its --fit margin: 1024 MiB, no layer buffer.
  CHECK(ollama_llamacpp_request(settings("0.30.0", "", "llama3.1-8b", gpus(1, 24 * GiB)), 5).overhead_bytes == 1024 * MiB);
}

TEST_CASE("Ollama's graph estimate: GQA × kvTotal / 6 for architectures GraphSize has no formula for, to 0.11.10", "[ollama]") {
  // qwen3-235b-a22b at 4096 cells, f16: per layer 4096 × (128 + 128) × 4 KV heads × 2 B = 8,388,608 B;
  // × 94 layers = 788,529,152 B (the log's memory.required.kv 752.0 MiB); GQA 64 / 4 = 16;
  // 16 × 788,529,152 / 6 = 2,102,744,405 B (the log's memory.graph.full 2.0 GiB).
  const ModelSpec& m = model("qwen3-235b-a22b");
  CHECK(m.attention.num_heads == 64);
  CHECK(ollama_graph_bytes(m, release("0.7.0"), 4096, Dtype::f16) == 2102744405u);
  // q8_0: 1 byte an element, half of it.
  CHECK(ollama_graph_bytes(m, release("0.7.0"), 4096, Dtype::q8_0) == 16ull * 788529152ull / 2 / 6); // 1,051,372,202
  // From 0.11.11 the layouts come from real allocations; llama has a formula of its own.
  CHECK(ollama_graph_bytes(m, release("0.11.11"), 4096, Dtype::f16) == 0);
  CHECK(ollama_graph_bytes(model("llama3.1-8b"), release("0.7.0"), 4096, Dtype::f16) == 0);
}

TEST_CASE("ollama_plan: a fit at the first automatic parallel value, else one sequence and fewer layers", "[ollama]") {
  const ModelSpec& m = model("llama3.1-8b");
  // 0.5.7 on 24 GiB: 2048 × 4 = 8192 cells fit with every layer.
  const OllamaResult fit = ollama_plan(m, format_of("q4_k_m"), release("0.5.7"), env(""), gpus(1, 24 * GiB));
  CHECK(fit.settings.parallel == 4);
  CHECK(fit.request.n_ctx == 8192);
  CHECK(fit.fully_offloaded);
  CHECK(fit.gpu_layers == 33);
  CHECK(fit.gpu_totals_bytes.front() == fit.llamacpp.gpus.front().total());
  // 6 GiB: the 4.6 GiB of weights and 8192 cells do not fit; one sequence and fewer layers do.
  const OllamaResult partial = ollama_plan(m, format_of("q8_0"), release("0.5.7"), env(""), gpus(1, 6 * GiB));
  CHECK(partial.settings.parallel == 1);
  CHECK(partial.request.n_ctx == 2048);
  CHECK_FALSE(partial.fully_offloaded);
  CHECK(partial.gpu_layers > 0);
  CHECK(partial.gpu_layers < 33);
  CHECK(partial.llamacpp.gpus.front().fits());
  // One layer more would not fit.
  OllamaEnv more = env("");
  more.num_gpu = partial.gpu_layers + 1;
  CHECK_FALSE(ollama_plan(m, format_of("q8_0"), release("0.5.7"), more, gpus(1, 6 * GiB)).llamacpp.gpus.front().fits());
  // CPU only: nothing offloaded.
  CHECK(ollama_plan(m, format_of("q4_k_m"), release("0.33.0"), env(""), {}).gpu_layers == 0);
}

namespace {

struct LogRow {
  std::string run, source, release, model, weights;
  std::size_t gpus = 0;
  double gpu_gib = 0;
  std::string env, quantity;
  double value = 0;
  std::string unit;
  int digits = 0;
};

std::vector<LogRow> read_logs() {
  std::ifstream in(std::string(VRAMCALC_TEST_DATA) + "/ollama/logs.csv");
  REQUIRE(in);
  std::vector<LogRow> rows;
  std::string line;
  std::getline(in, line); // header
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) f.push_back(c);
    REQUIRE(f.size() == 12);
    rows.push_back({f[0], f[1], f[2], f[3], f[4], std::stoul(f[5]), std::stod(f[6]), f[7], f[8], std::stod(f[9]), f[10],
                    std::stoi(f[11])});
  }
  return rows;
}

} // namespace

TEST_CASE("Ollama's public logs reproduced (tests/data/ollama/logs.csv)", "[ollama]") {
  // Each row: what the log printed and vramcalc's prediction from the row's release, model,
  // GPUs (their free memory as the log printed it) and environment. Sizes the log prints with
  // one decimal hold within half its last digit (the rounding); counts exactly, but the
  // offloaded layers, which Ollama's own graph estimate decides (docs/engines.md, "Ollama").
  const auto rows = read_logs();
  CHECK(rows.size() == 18);
  for (const LogRow& row : rows) {
    INFO(row.run << " " << row.quantity << " (" << row.source << ")");
    const auto bytes = static_cast<std::uint64_t>(std::llround(row.gpu_gib * 10)) * GiB / 10;
    const OllamaResult r = ollama_plan(model(row.model), format_of(row.weights), release(row.release), env(row.env),
                                       gpus(row.gpus, bytes));
    const double unit = row.unit == "GiB" ? double(GiB) : row.unit == "MiB" ? double(MiB) : 1.0;
    double predicted = 0;
    if (row.quantity == "n_ctx") predicted = double(r.request.n_ctx);
    else if (row.quantity == "parallel") predicted = double(r.settings.parallel);
    else if (row.quantity == "flash_attention") predicted = r.settings.flash_attention ? 1 : 0;
    else if (row.quantity == "kv_total") predicted = double(r.llamacpp.kv_bytes) / unit;
    else if (row.quantity == "kv_per_layer") predicted = double(r.llamacpp.kv_bytes / model(row.model).num_layers);
    else if (row.quantity == "minimum_memory") predicted = double(r.settings.minimum_memory_bytes);
    else if (row.quantity == "gpu_layers") predicted = double(r.gpu_layers);
    else if (row.quantity == "graph") {
      predicted = double(ollama_graph_bytes(model(row.model), r.settings.release, r.request.n_ctx, r.settings.kv_type)) / unit;
    }
    else FAIL("unknown quantity " << row.quantity);
    INFO("predicted " << predicted << " " << row.unit << ", logged " << row.value);
    if (row.quantity == "gpu_layers") {
      // Ollama 0.7's estimator offloaded 65 of 95 layers (13 per GPU); vramcalc's weights of a
      // q4_k_m mix are not the tag's blob's to the byte: within one layer.
      CHECK(std::abs(predicted - row.value) <= 1);
    } else {
      CHECK(std::abs(predicted - row.value) <= 0.5 * std::pow(10.0, -row.digits));
    }
  }
}

TEST_CASE("Ollama tags: every entry names a catalog model and a GGUF mix, with its source", "[ollama]") {
  const auto t = io::load_builtin_ollama_tags();
  REQUIRE(t.has_value());
  CHECK(t->origin == "models/ollama-tags.json");
  CHECK(t->tags.size() >= 7);
  for (const io::OllamaTag& tag : t->tags) {
    INFO(tag.tag);
    CHECK(vramcalc::test::catalog().find_model(tag.model).has_value());
    const auto f = parse_weight_format(tag.weights, Dtype::bf16);
    REQUIRE(f.has_value());
    CHECK(f->kind == FormatKind::gguf);
    CHECK(tag.source.starts_with("https://"));
    CHECK(io::ollama_canonical_name(tag.tag) == tag.tag);
    if (tag.context_tokens) CHECK(*tag.context_tokens != model(tag.model).max_context);
  }
}

TEST_CASE("Ollama tag lookup: Ollama's name rules, :latest by default, unknown tags named", "[ollama]") {
  CHECK(io::ollama_canonical_name("qwen3") == "qwen3:latest");
  CHECK(io::ollama_canonical_name("registry.ollama.ai/library/Llama3.1:70B-instruct-Q8_0") == "llama3.1:70b-instruct-q8_0");
  const auto t = io::parse_ollama_tags(R"({"schema": "vramcalc-ollama-tags/1", "revision": "r", "tags": [
      {"tag": "llama3.2:latest", "model": "llama3.2-3b", "weights": "q4_k_m", "as_of": "2025-05-04", "source": "https://a"},
      {"tag": "llama3.1:70b-instruct-q8_0", "model": "llama3.1-70b", "weights": "q8_0", "context": 65536,
       "as_of": "2026-08-21", "source": "https://b"}]})", "t.json");
  REQUIRE(t.has_value());
  CHECK((*io::find_ollama_tag(*t, "llama3.2"))->model == "llama3.2-3b");
  CHECK((*io::find_ollama_tag(*t, "library/llama3.2:latest"))->weights == "q4_k_m");
  const io::OllamaTag* q8 = *io::find_ollama_tag(*t, "llama3.1:70b-instruct-q8_0");
  CHECK(q8->context_tokens == 65536u);
  CHECK(io::find_ollama_tag(*t, "llama3.2:1b").error().message ==
        "Ollama tag 'llama3.2:1b' (llama3.2:1b) is not in t.json (known: llama3.2:latest)");
  CHECK(io::find_ollama_tag(*t, "qwen3:8b").error().code == ErrorCode::unknown_model);
  CHECK(io::find_ollama_tag(*t, "qwen3:8b").error().message.find("(no tag of that model is)") != std::string::npos);
  // The builtin table: the examples of the issue that a source covers.
  const auto b = io::load_builtin_ollama_tags();
  REQUIRE(b.has_value());
  CHECK((*io::find_ollama_tag(*b, "gpt-oss:120b"))->model == "gpt-oss-120b");
  CHECK((*io::find_ollama_tag(*b, "llama3.1:70b-instruct-q8_0"))->weights == "q8_0");
}

TEST_CASE("Ollama tag files: errors name the file and the JSON path", "[ollama]") {
  const auto error_of = [](const std::string& tags) {
    const auto t = io::parse_ollama_tags(R"({"schema": "vramcalc-ollama-tags/1", "revision": "r", "tags": [)" + tags + "]}",
                                         "t.json");
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error().code == ErrorCode::invalid_catalog);
    return t.error().message;
  };
  const std::string ok = R"("model": "m", "weights": "q4_0", "as_of": "2025-01-01", "source": "https://x")";
  CHECK(error_of(R"({"tag": "qwen3", )" + ok + "}") == "t.json: /tags/0/tag: expected model:tag, such as qwen3:8b, got 'qwen3'");
  CHECK(error_of(R"({"tag": "a:b", )" + ok + R"(}, {"tag": "A:B", )" + ok + "}") == "t.json: /tags/1/tag: 'A:B' is listed twice");
  CHECK(error_of(R"({"tag": "a:b", "extra": 1, )" + ok + "}") == "t.json: /tags/0/extra: unknown key");
  CHECK(error_of(R"({"tag": "a:b", "context": 0, )" + ok + "}").starts_with("t.json: /tags/0/context: "));
  CHECK(io::parse_ollama_tags("{", "t.json").error().message.starts_with("t.json:1:"));
}

TEST_CASE("ollama_plan over the catalog: runs, asks num_ctx x parallel, fits what it offloads, more memory offloads no fewer layers", "[ollama]") {
  const WeightFormat q4 = format_of("q4_k_m");
  for (const ModelSpec& m : vramcalc::test::catalog().models) {
    for (const char* rel : {"0.5.7", "0.11.6", "0.12.4", "0.33.0"}) {
      INFO(m.id << " " << rel);
      std::uint32_t previous_layers = 0;
      for (const std::vector<GpuSpec>& g : {std::vector<GpuSpec>{}, gpus(1, 24 * GiB), gpus(2, 80 * GiB)}) {
        const OllamaResult r = ollama_plan(m, q4, release(rel), env(""), g);
        CHECK(r.request.n_ctx == r.settings.num_ctx * r.settings.parallel);
        CHECK(r.settings.num_ctx <= m.max_context);
        CHECK(r.gpu_layers >= previous_layers);
        previous_layers = r.gpu_layers;
        if (!g.empty() && r.gpu_layers > 0 && r.llamacpp.error.empty() && r.settings.num_gpu == std::nullopt) {
          // Ollama loads the model on as few of the GPUs as hold it: one total per GPU used.
          REQUIRE(r.gpu_totals_bytes.size() == r.llamacpp.gpus.size());
          CHECK(r.gpu_totals_bytes.size() <= g.size());
          for (std::size_t i = 0; i < r.gpu_totals_bytes.size(); ++i) {
            CHECK(r.gpu_totals_bytes[i] <= r.llamacpp.gpus[i].usable_bytes);
          }
        }
        if (g.empty()) CHECK(r.gpu_layers == 0);
      }
    }
  }
}

// ---- Ollama as an engine (--engine ollama) ----

namespace {


} // namespace

TEST_CASE("Ollama as an engine: its own context without --ctx, --ctx as num_ctx and --batch as OLLAMA_NUM_PARALLEL", "[ollama]") {
  Settings s = vramcalc::test::settings_for("q4_k_m", Dtype::f16, 8192, 1, Dtype::f16);
  s.engine = EngineKind::ollama;
  s.gpus.push_back(GpuRequest{catalog_gpu("rtx-4090"), 1});
  const ModelSpec m = model("llama3.1-8b");
  // The 0.15.5+ tier: 25,757,220,864 B ≥ 23 GiB (24,696,061,952 B) → 32,768 tokens.
  CHECK(detail::ollama_default_context(m, s) == std::pair<std::uint64_t, std::string>{32768, "VRAM tier"});
  // Less OLLAMA_GPU_OVERHEAD 1 GiB: 24,683,479,040 B < 23 GiB → 4,096.
  s.engine_options.ollama.env = env("OLLAMA_GPU_OVERHEAD=1073741824");
  CHECK(detail::ollama_default_context(m, s).first == 4096);
  s.engine_options.ollama.env = {};
  s.engine_options.ollama.release = release("0.6.0");
  CHECK(detail::ollama_default_context(m, s) == std::pair<std::uint64_t, std::string>{2048, "default"});
  s.engine_options.ollama.release = ollama_newest;

  // --ctx 8192 --batch 3: num_ctx 8,192, three sequences, llama.cpp -c 24,576 -np 3.
  s.batch = 3;
  s.engine_options.ollama.batch_given = true;
  const Report r = estimate(m, s, vramcalc::test::catalog().gpus).value();
  REQUIRE(r.engine);
  REQUIRE(r.engine->kind() == EngineKind::ollama);
  const auto& os = std::get<OllamaSection>(r.engine->detail);
  CHECK(os.plan.settings.num_ctx == 8192);
  CHECK(os.plan.settings.parallel == 3);
  CHECK(os.num_ctx_source == "--ctx");
  CHECK(os.parallel_source == "--batch");
  CHECK(os.plan.llamacpp.n_ctx == 3 * 8192);
  // f16 KV: 32 layers × 8 KV heads × 128 × 2 (K and V) × 2 B = 131,072 B a cell, 24,576 cells.
  CHECK(os.plan.llamacpp.kv_bytes == 24576ull * 131072);
  CHECK(r.engine->fits);
  CHECK(r.engine->context_tokens == 8192);
  CHECK(r.engine->batch == 3);
  const FitRow& row = r.fit.front();
  CHECK(row.decided_by == "ollama");
  CHECK(row.required_bytes_per_gpu == os.plan.gpu_totals_bytes.front());
  CHECK(row.headroom_bytes == static_cast<std::int64_t>(row.usable_bytes - row.required_bytes_per_gpu));

  // --ctx beyond the trained 131,072: Ollama clamps num_ctx and runs with less, which is no fit
  // at any GPU count (the --max-ctx search stops at the trained context).
  s.context_tokens = 204800;
  s.batch = 1;
  const Report c = estimate(m, s, vramcalc::test::catalog().gpus).value();
  const auto& cs = std::get<OllamaSection>(c.engine->detail);
  CHECK(cs.plan.settings.num_ctx == 131072);
  CHECK(cs.requested_num_ctx == 204800);
  CHECK(cs.clamped());
  CHECK(cs.plan.fully_offloaded);
  CHECK_FALSE(c.engine->fits);
  CHECK(c.fit.front().min_count == 0);
  s.context_tokens = 8192;
  s.batch = 3;

  // --kv q8_0 is OLLAMA_KV_CACHE_TYPE when the environment does not say; llama-server takes it.
  s.kv_dtype = Dtype::q8_0;
  const Report q = estimate(m, s, vramcalc::test::catalog().gpus).value();
  const auto& qs = std::get<OllamaSection>(q.engine->detail);
  CHECK(qs.kv_source == "--kv");
  CHECK(qs.plan.settings.kv_type == Dtype::q8_0);
  // q8_0: 34 bytes per 32 elements; a cell 32 × 8 × 128 × 2 / 32 × 34 = 69,632 B.
  CHECK(qs.plan.llamacpp.kv_bytes == 24576ull * 69632);
}

TEST_CASE("Ollama as an engine: a model it cannot hold whole runs partly on the CPU and is not a fit", "[ollama]") {
  // llama3:70b (Q4_0, about 40 GB) on one 24 GB GPU at 8,192 tokens.
  Settings s = vramcalc::test::settings_for("q4_0", Dtype::f16, 8192, 1, Dtype::f16);
  s.engine = EngineKind::ollama;
  s.gpus.push_back(GpuRequest{catalog_gpu("rtx-4090"), 1});
  const Report r = estimate(model("llama3-70b"), s, vramcalc::test::catalog().gpus).value();
  const auto& os = std::get<OllamaSection>(r.engine->detail);
  CHECK_FALSE(os.plan.fully_offloaded);
  CHECK(os.plan.gpu_layers > 0);
  CHECK(os.plan.gpu_layers < os.total_layers);
  CHECK_FALSE(r.engine->fits);
  CHECK_FALSE(r.fit.front().fits);
  CHECK(r.fit.front().headroom_bytes >= 0); // what it offloads fits
  CHECK(r.fit.front().min_count == 2);      // two hold it whole
}

TEST_CASE("Ollama as an engine: its options, a misspelt memory variable refused rather than ignored", "[ollama]") {
  Settings s;
  using vramcalc::test::apply_option;
  CHECK(vramcalc::test::option_spec(EngineKind::ollama, "--ollama-env").key == "env");
  for (const char* typo : {"OLLAMA_CONTEXT=8192", "OLLAMA_NUM_PARALEL=2", "OLLAMA_KV_CACHE=q8_0"}) {
    INFO(typo);
    const auto err = apply_option(EngineKind::ollama, s, "--ollama-env", typo);
    REQUIRE(err);
    CHECK(err->message.starts_with("--ollama-env: "));
    CHECK(err->message.find("did you mean") != std::string::npos);
  }
  CHECK_FALSE(apply_option(EngineKind::ollama, s, "--ollama-env", "OLLAMA_HOST=0.0.0.0 OLLAMA_NUM_PARALLEL=2"));
  CHECK(s.engine_options.ollama.env.num_parallel == 2u);
  CHECK(s.engine_options.ollama.env.ignored.size() == 1);
  const auto unknown = apply_option(EngineKind::ollama, s, "--ollama-env", "NUM_CTX=8192");
  REQUIRE(unknown);
  CHECK(unknown->message.find("unknown key 'NUM_CTX'") != std::string::npos);

  CHECK(vramcalc::test::option_spec(EngineKind::ollama, "--ollama-version").key == "version");
  CHECK_FALSE(apply_option(EngineKind::ollama, s, "--ollama-version", "0.6.0"));
  CHECK(s.engine_options.ollama.release == OllamaRelease{0, 6, 0});
  CHECK_FALSE(apply_option(EngineKind::ollama, s, "--ollama-version", "latest"));
  CHECK(s.engine_options.ollama.release == ollama_newest);
  const auto old = apply_option(EngineKind::ollama, s, "--ollama-version", "0.4.7");
  REQUIRE(old);
  CHECK(old->message.starts_with("--ollama-version: "));
}

TEST_CASE("Ollama as an engine: issue 8990's log through an estimate, with Ollama's own context and parallel", "[ollama]") {
  // tests/data/ollama/logs.csv o8990: Ollama 0.5.7, Qwen2.5-7B Q4_0, one 8 GiB GPU, no
  // environment: n_ctx 8192, parallel 4, KV 448.0 MiB. No --ctx, no --batch: the context is
  // Ollama's default (2048 before 0.5.13) and the parallel its automatic 4.
  Settings s = vramcalc::test::settings_for("q4_0", Dtype::f16, 0, 1, Dtype::bf16);
  s.engine = EngineKind::ollama;
  s.gpus.push_back(GpuRequest{gpu_of(8ull << 30), 1});
  s.engine_options.ollama.release = release("0.5.7");
  const ModelSpec m = model("qwen2.5-7b");
  const auto [ctx, why] = detail::ollama_default_context(m, s);
  CHECK(ctx == 2048);
  CHECK(why == "default");
  s.context_tokens = ctx;
  s.engine_options.ollama.default_context_source = why;
  const Report r = estimate(m, s, vramcalc::test::catalog().gpus).value();
  const auto& os = std::get<OllamaSection>(r.engine->detail);
  CHECK(os.plan.llamacpp.n_ctx == 8192);
  CHECK(os.plan.settings.parallel == 4);
  CHECK(os.parallel_source == "automatic: 4, else 1");
  CHECK(os.num_ctx_source == "default");
  // 28 layers × 4 KV heads × 128 × 2 (K and V) × 2 B = 57,344 B a cell × 8,192 = 469,762,048 B = 448.0 MiB.
  CHECK(os.plan.llamacpp.kv_bytes == 469762048ull);
  CHECK(r.engine->batch == 4);
  CHECK(r.engine->fits);
}

TEST_CASE("Ollama 0.6.5-0.6.8's Q4_K_M files keep attn_v in f16, as the qwen3 tags' logs count them", "[ollama][quantization]") {
  // Ollama's vendored llama.cpp, src/llama-quant.cpp, from commit 6bd0a983c (v0.6.5) until the Go
  // quantizer of v0.7.0: `quantize &= name.find("v.") == npos` ("don't quantize vision stuff")
  // also matches "blk.N.attn_v.weight", which keeps the converter's f16.
  const auto counts = [](const ModelSpec& m, const WeightFormat& f) {
    std::map<Dtype, std::uint64_t> n;
    const std::vector<Tensor> all = model_tensors(m);
    for (Dtype d : detail::gguf_types_chosen(m, all, f)) ++n[d];
    return n;
  };
  WeightFormat plain = format_of("q4_k_m");
  WeightFormat ollama = plain;
  ollama.ollama_v_names_f16 = true;

  // qwen3:32b under Ollama 0.9.5 (ollama issue 14774): f32 257, f16 64, q4_K 353, q6_K 33.
  // 64 layers: 4 norms each + output_norm = 257 f32; attn_v × 64 in f16; ffn_down Q6_K on
  // use_more_bits layers (8 + 8 + 16 = 32) + the output head = 33; the rest (64 × 7 + 2 − 64 − 33) q4_K.
  const ModelSpec& q32 = model("qwen3-32b");
  auto n = counts(q32, ollama);
  CHECK(n[Dtype::f32] == 257);
  CHECK(n[Dtype::f16] == 64);
  CHECK(n[Dtype::q4_k] == 353);
  CHECK(n[Dtype::q6_k] == 33);
  // llama.cpp's own rules give attn_v Q6_K on the same 32 layers and no f16.
  auto p = counts(q32, plain);
  CHECK(p[Dtype::f16] == 0);
  CHECK(p[Dtype::q6_k] == 65);
  // attn_v is 5,120 × 1,024 = 5,242,880 weights: f16 10,485,760 bytes against Q6_K 4,300,800
  // (210 bytes per 256) on 32 layers and Q4_K 2,949,120 (144 per 256) on 32.
  const std::uint64_t attn_v_delta = 64 * 10'485'760ull - (32 * 4'300'800ull + 32 * 2'949'120ull);
  CHECK(attn_v_delta == 439'091'200);
  CHECK(file_bytes(q32, ollama) == file_bytes(q32, plain) + attn_v_delta);
  // The log's "file size = 18.81 GiB" is llama.cpp's sum of the tensors' bytes (ml.n_bytes):
  // 19,756,174,336 + 439,091,200 = 20,195,265,536 bytes = 18.808 GiB; llama.cpp's rules 18.40.
  const auto gib_x100 = [](std::uint64_t b) { return std::round(static_cast<double>(b) / (1ull << 30) * 100); };
  CHECK(weight_bytes(q32, ollama).total == 20'195'265'536);
  CHECK(gib_x100(weight_bytes(q32, ollama).total) == 1881);
  CHECK(gib_x100(weight_bytes(q32, plain).total) == 1840);

  // Qwen3 14B (ollama issue 10681, 2025-05-13): f32 161, f16 40, q4_K 221, q6_K 21, 8.63 GiB.
  const ModelSpec& q14 = model("qwen3-14b");
  n = counts(q14, ollama);
  CHECK(n[Dtype::f32] == 161);
  CHECK(n[Dtype::f16] == 40);
  CHECK(n[Dtype::q4_k] == 221);
  CHECK(n[Dtype::q6_k] == 21);
  CHECK(gib_x100(weight_bytes(q14, ollama).total) == 863);

  // qwen3:8b: "5.2GB" on the Ollama library page, 4.87 GB as a Windows folder shows the blob:
  // 36 attn_v of 4,096 × 1,024 in f16 instead of 18 Q6_K + 18 Q4_K adds
  // 36 × 8,388,608 − (18 × 3,440,640 + 18 × 2,359,296) = 197,591,040 bytes.
  const ModelSpec& q8 = model("qwen3-8b");
  CHECK(file_bytes(q8, ollama) - file_bytes(q8, plain) == 197'591'040);
  CHECK(std::round(static_cast<double>(file_bytes(q8, ollama)) / 1e8) == 52);
  CHECK(gib_x100(file_bytes(q8, ollama)) == 487);
  CHECK(file_bytes(q8, ollama) == 5'225'523'968);

  // A tag row names the quantizer; only 0.6.5-0.6.8 had the rule.
  const auto row = [](std::string_view q) {
    return io::parse_ollama_tags(std::string(R"({"schema": "vramcalc-ollama-tags/1", "revision": "r", "tags": [
      {"tag": "a:b", "model": "m", "weights": "q4_k_m", "quantizer": ")") + std::string(q) +
                                     R"(", "as_of": "2025-01-01", "source": "https://x"}]})",
                                 "t.json");
  };
  CHECK(row("ollama-0.6.5")->tags[0].v_names_f16);
  CHECK(row("ollama-0.6.8")->tags[0].v_names_f16);
  CHECK_FALSE(row("ollama-0.6.4")->tags[0].v_names_f16);
  CHECK_FALSE(row("ollama-0.7.0")->tags[0].v_names_f16);
  CHECK(row("0.6.6").error().message == "t.json: /tags/0/quantizer: expected ollama-X.Y.Z (the release that quantized the file), got '0.6.6'");
  CHECK_FALSE(row("ollama-0.6").has_value());
  CHECK_FALSE(row("ollama-0.6.6.1").has_value());
  const auto b = io::load_builtin_ollama_tags();
  REQUIRE(b);
  CHECK((*io::find_ollama_tag(*b, "qwen3"))->v_names_f16);
  CHECK((*io::find_ollama_tag(*b, "qwen3:8b"))->model == "qwen3-8b");
  CHECK_FALSE((*io::find_ollama_tag(*b, "qwen3:4b"))->v_names_f16);
  CHECK((*io::find_ollama_tag(*b, "qwen3:4b"))->context_tokens == 262144u);
}

TEST_CASE("Ollama tags' published sizes against vramcalc's GGUF file bytes", "[ollama][quantization]") {
  // An /api/tags "size" is the sum of the manifest's layers: the GGUF blob plus the template,
  // parameters and license blobs (a few KB); vramcalc's file bytes estimate the GGUF's metadata
  // (docs/quantization.md, "File size"). Each row of models/ollama-tags.json with a published
  // size is predicted from its catalog model and mix; the error is printed in the row's note.
  const auto t = io::load_builtin_ollama_tags();
  REQUIRE(t);
  const auto predicted = [&](std::string_view tag) {
    const io::OllamaTag* row = *io::find_ollama_tag(*t, tag);
    WeightFormat f = format_of(row->weights);
    f.ollama_v_names_f16 = row->v_names_f16;
    return file_bytes(model(row->model), f);
  };
  // (vramcalc − listing) / listing, in parts per million.
  const auto ppm = [](std::uint64_t ours, std::uint64_t listed) {
    return (static_cast<double>(ours) - static_cast<double>(listed)) / static_cast<double>(listed) * 1e6;
  };
  struct Case {
    const char* tag;
    std::uint64_t listed_bytes;  // the source's /api/tags size
    std::uint64_t vramcalc_bytes;
  };
  // Every one within 0.05% (500 ppm), the metadata estimate's own error on a 1 GB file.
  for (const Case& c : {
           Case{"llama3.2:1b", 1'321'098'329, 1'321'596'320},        // Q8_0, +377 ppm
           Case{"llama3.2:3b", 2'019'393'189, 2'019'890'912},        // Q4_K_M, +246 ppm
           Case{"llama3", 4'661'224'578, 4'661'729'152},             // Q4_0 (2024-04-30), +108 ppm
           Case{"mistral:7b", 4'113'301'824, 4'113'318'816},         // Q4_0, v0.3 shapes, +4 ppm
           Case{"codellama", 3'825'910'662, 3'825'926'688},          // Q4_0, +4 ppm
           Case{"codellama:7b", 3'825'910'662, 3'825'926'688},       // the same file
           Case{"gemma2:27b", 15'628'387'569, 15'628'252'960},       // Q4_0, −9 ppm
           Case{"qwen2.5", 4'683'087'332, 4'683'224'064},            // Q4_K_M, +29 ppm
           Case{"qwen2.5:3b", 1'929'912'432, 1'930'053'600},         // Q4_K_M, +73 ppm
           Case{"qwen2.5-coder:7b", 4'683'087'561, 4'683'238'272},   // Q4_K_M, +32 ppm
           Case{"deepseek-r1:14b", 8'988'112'209, 8'988'260'800},    // Q4_K_M, Qwen2.5-14B shapes, +17 ppm
           Case{"qwen3:8b", 5'225'388'164, 5'225'523'968},           // the 0.6.x mix (attn_v f16), 2025-06-20, +26 ppm
       }) {
    INFO(c.tag);
    CHECK(predicted(c.tag) == c.vramcalc_bytes);
    CHECK(std::abs(ppm(c.vramcalc_bytes, c.listed_bytes)) < 500);
  }
  // Sizes published rounded, as the library page prints them: llama3.1 "4.9GB", llama3.3 "43GB".
  CHECK(predicted("llama3.1") == 4'921'251'712);
  CHECK(std::round(static_cast<double>(predicted("llama3.1")) / 1e8) == 49);
  CHECK(predicted("llama3.3") == 42'520'910'944);
  CHECK(std::round(static_cast<double>(predicted("llama3.3")) / 1e9) == 43);
  // qwen2.5:latest's GGUF declares 32,768 tokens, not the catalog's YaRN 131,072.
  CHECK((*io::find_ollama_tag(*t, "qwen2.5"))->context_tokens == 32768u);
  // The qwen3 tags of April 2025 declare Qwen3's 40,960 ("context 40k" in the listing), not 131,072.
  for (const char* q : {"qwen3", "qwen3:8b", "qwen3:14b"}) CHECK((*io::find_ollama_tag(*t, q))->context_tokens == 40960u);
}

TEST_CASE("Ollama's qwen3:0.6b and qwen3:1.7b files carry an untied output head (why the tags are not listed)", "[ollama][quantization]") {
  // An /api/tags listing (attogram/ollama-bash-lib demos/list.md, 2025-07) gives qwen3:0.6b
  // 522,653,767 bytes ("751.63M" parameters) and qwen3:1.7b 1,359,293,444 ("2.0B"). Qwen3 0.6B
  // and 1.7B tie their embeddings; the parameter counts are the models' plus a second copy of the
  // 151,936-row embedding, i.e. the files hold an output.weight besides token_embd. With the
  // 0.6.5-0.6.8 mix (attn_v f16) that head is Q6_K as vramcalc places the tied one, and token_embd
  // becomes a Q4_K matrix of its own (144 bytes per 256): vramcalc does not model such a file.
  WeightFormat ollama = format_of("q4_k_m");
  ollama.ollama_v_names_f16 = true;
  WeightFormat plain = format_of("q4_k_m");

  // 0.6B: token_embd 151,936 × 1,024 = 155,582,464 weights × 144 / 256 = 87,515,136 bytes.
  // attn_v 1,024 × 1,024 on 28 layers (14 use_more_bits Q6_K, 14 Q4_K) in f16 instead:
  // 28 × 2,097,152 − (14 × 860,160 + 14 × 589,824) = 38,420,480 bytes.
  const ModelSpec& q06 = model("qwen3-0.6b");
  CHECK(file_bytes(q06, ollama) - file_bytes(q06, plain) == 38'420'480);
  const std::uint64_t q06_bytes = file_bytes(q06, ollama) + 87'515'136;
  CHECK(q06_bytes == 522'789'472);
  // 522,789,472 against 522,653,767 listed: +0.026%; without the head −16.8%.
  CHECK(std::abs(static_cast<double>(q06_bytes) / 522'653'767.0 - 1) < 0.0005);
  CHECK(static_cast<double>(file_bytes(q06, ollama)) / 522'653'767.0 < 0.84);

  // 1.7B: token_embd 151,936 × 2,048 × 144 / 256 = 175,030,272 bytes; attn_v 2,048 × 1,024:
  // 28 × 4,194,304 − (14 × 1,720,320 + 14 × 1,179,648) = 76,840,960 bytes.
  const ModelSpec& q17 = model("qwen3-1.7b");
  CHECK(file_bytes(q17, ollama) - file_bytes(q17, plain) == 76'840'960);
  const std::uint64_t q17_bytes = file_bytes(q17, ollama) + 175'030'272;
  CHECK(q17_bytes == 1'359'429'216);
  CHECK(std::abs(static_cast<double>(q17_bytes) / 1'359'293'444.0 - 1) < 0.0005); // +0.010%

  // Neither tag is in the table: they are refused rather than planned without the head.
  const auto t = io::load_builtin_ollama_tags();
  REQUIRE(t);
  CHECK_FALSE(io::find_ollama_tag(*t, "qwen3:0.6b").has_value());
  CHECK_FALSE(io::find_ollama_tag(*t, "qwen3:1.7b").has_value());
}

TEST_CASE("Ollama --lora: the Modelfile's ADAPTER is llama.cpp's adapter, through the request", "[ollama][lora]") {
  const ModelSpec& m = model("llama3.1-8b");
  // One rank-16 f32 adapter over the seven projections: 16 x 81,920 x 4 = 5,242,880 bytes a
  // layer, x 32 = 167,772,160 (test_llamacpp_lora.cpp).
  const std::vector<LlamaCppLora> one{llamacpp_rank_lora(m, 16, Dtype::f32)};
  const OllamaSettings st = ollama_settings(release("0.33.0"), env(""), ollama_model_facts(m), gpus(1, 24 * GiB));
  const OllamaLlamaCpp q = ollama_llamacpp_request(st, 0, one);
  REQUIRE(q.options.loras.size() == 1);
  CHECK(ollama_llamacpp_request(st, 0).options.loras.empty());
  // On one 24 GiB GPU every layer is offloaded with or without it: the GPU holds its 167,772,160
  // bytes more, nothing else changes.
  const OllamaResult without = ollama_plan(m, format_of("q4_k_m"), release("0.33.0"), env(""), gpus(1, 24 * GiB));
  const OllamaResult with = ollama_plan(m, format_of("q4_k_m"), release("0.33.0"), env(""), gpus(1, 24 * GiB), one);
  REQUIRE(with.fully_offloaded);
  REQUIRE(without.fully_offloaded);
  CHECK(with.llamacpp.lora_bytes == 167'772'160ull);
  CHECK(with.llamacpp.gpus.front().lora_bytes == 167'772'160ull);
  CHECK(with.llamacpp.gpus.front().total() == without.llamacpp.gpus.front().total() + 167'772'160ull);
  CHECK(with.gpu_totals_bytes.front() == without.gpu_totals_bytes.front() + 167'772'160ull);
  // The library runner (0.12.4) passes it too (LoadRequest.LoraPath).
  CHECK(ollama_plan(m, format_of("q4_k_m"), release("0.12.4"), env(""), gpus(1, 24 * GiB), one).llamacpp.lora_bytes ==
        167'772'160ull);
}

TEST_CASE("Ollama: the releases whose own engine refuses adapters, and draft models by release", "[ollama][lora]") {
  // gemma3 runs on Ollama's engine from 0.6.0 (fs/ggml/ggml.go OllamaEngineRequired) until
  // llama-server replaces the runners in 0.30.0.
  CHECK(ollama_adapter_refusal(model("gemma-3-27b"), release("0.5.7")).empty());
  CHECK(ollama_adapter_refusal(model("gemma-3-27b"), release("0.6.0")) ==
        "Ollama 0.6.0 runs gemma3 on its own engine (fs/ggml/ggml.go OllamaEngineRequired), whose runner refuses "
        "adapters: \"loras are not yet implemented\" (runner/ollamarunner/runner.go allocModel); llama-server runs them "
        "from 0.30.0");
  CHECK_FALSE(ollama_adapter_refusal(model("gemma-3-27b"), release("0.24.0")).empty());
  CHECK(ollama_adapter_refusal(model("gemma-3-27b"), release("0.30.0")).empty());
  // qwen3 from 0.12.0, off the list in 0.12.5 only.
  CHECK_FALSE(ollama_adapter_refusal(model("qwen3-8b"), release("0.12.4")).empty());
  CHECK(ollama_adapter_refusal(model("qwen3-8b"), release("0.12.5")).empty());
  CHECK_FALSE(ollama_adapter_refusal(model("qwen3-8b"), release("0.12.6")).empty());
  CHECK(ollama_adapter_refusal(model("qwen3-8b"), release("0.11.10")).empty());
  // Llama runs on the llama runner in every release.
  CHECK(ollama_adapter_refusal(model("llama3.1-8b"), release("0.20.0")).empty());
  // Draft models: none before 0.30.0; from it a Modelfile DRAFT is an MTP drafter file
  // (--spec-draft-model), sized (test_llamacpp_mtp.cpp); from 0.32.7 a dflash one drafts with
  // draft-dflash, not modelled (before it, passed as draft-mtp).
  CHECK(ollama_draft_refusal(release("0.24.0")).find("has no speculative decoding") != std::string::npos);
  CHECK(ollama_draft_refusal(release("0.30.0")).empty());
  CHECK(ollama_draft_refusal(release("0.32.7"), "glm4moe").empty());
  CHECK(ollama_draft_refusal(release("0.32.6"), "dflash").empty());
  CHECK(ollama_draft_refusal(release("0.32.7"), "dflash").find("draft-dflash") != std::string::npos);
}
