// llama.cpp's KV cache, recurrent state, context geometry and refusals against the real
// library: tests/data/llamacpp/kv.csv holds 5,568 runs of llama.cpp (node-llama-cpp 3.21.1's
// build, CPU backend, llama_get_memory_breakdown) over tiny models whose shapes are given
// inline below; tests/data/llamacpp/README.md says how they were measured. The compute
// buffer is an estimate, checked against compute.csv within the tolerance docs/engines.md
// states.
#include "helpers.hpp"
#include "vramcalc/engine.hpp"
#include "vramcalc/format.hpp"

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

using namespace vramcalc;
using vramcalc::test::spec_from;

namespace {

std::string base_json(const std::string& id, const std::string& arch, const std::string& body) {
  return R"({"schema": "vramcalc-model/1", "id": ")" + id + R"(", "name": ")" + id +
         R"(", "family": "test", "arch": ")" + arch + R"(", "source": "https://example.org", "dtype": "fp16", )" + body +
         "}";
}

// The oracle's fixtures (../shared/tools/llamacpp-oracle and tests/data/llamacpp/README.md).
const std::map<std::string, ModelSpec>& fixtures() {
  static const std::map<std::string, ModelSpec> m = [] {
    std::map<std::string, ModelSpec> f;
    f["tiny-llama-f16"] = spec_from(base_json("tiny-llama-f16", "llama", R"(
      "max_context": 2048, "hidden_size": 256, "num_layers": 2, "intermediate_size": 512, "vocab_size": 512,
      "tie_word_embeddings": false, "attention": {"num_heads": 4, "num_kv_heads": 2, "head_dim": 64})"));
    f["llama-2-tiny-random"] = spec_from(base_json("llama-2-tiny-random", "llama", R"(
      "max_context": 4096, "hidden_size": 8, "num_layers": 1, "intermediate_size": 32, "vocab_size": 32000,
      "tie_word_embeddings": false, "attention": {"num_heads": 2, "num_kv_heads": 2, "head_dim": 4})"));
    f["tiny-gemma3-swa-f16"] = spec_from(base_json("tiny-gemma3-swa-f16", "gemma3", R"(
      "max_context": 8192, "hidden_size": 256, "num_layers": 6, "intermediate_size": 512, "vocab_size": 512,
      "tie_word_embeddings": true, "norms_per_layer": 4,
      "layer_pattern": ["sliding", "sliding", "sliding", "sliding", "sliding", "full"],
      "attention": {"num_heads": 4, "num_kv_heads": 1, "head_dim": 128, "sliding_window": 128})"));
    f["g3b"] = spec_from(base_json("g3b", "gemma3", R"(
      "max_context": 8192, "hidden_size": 256, "num_layers": 8, "intermediate_size": 512, "vocab_size": 512,
      "tie_word_embeddings": false, "norms_per_layer": 4, "layer_pattern": ["sliding", "sliding", "sliding", "full"],
      "attention": {"num_heads": 4, "num_kv_heads": 2, "head_dim": 256, "sliding_window": 512})"));
    // Gemma 4's shapes: sliding layers of 4 KV heads x 64, global layers of 1 KV head x 128
    // without attn_v (attention_k_eq_v), window 128, two sliding layers per global one.
    f["tiny-gemma4-f16"] = spec_from(base_json("tiny-gemma4-f16", "gemma4", R"(
      "max_context": 8192, "hidden_size": 256, "num_layers": 6, "intermediate_size": 512, "vocab_size": 512,
      "tie_word_embeddings": true, "norms_per_layer": 4, "layer_scalar": true,
      "layer_pattern": ["sliding", "sliding", "full"],
      "attention": {"num_heads": 4, "num_kv_heads": 4, "head_dim": 64, "qk_norm": true, "sliding_window": 128,
                    "global_head_dim": 128, "global_kv_heads": 1, "global_k_eq_v": true})"));
    ModelSpec deci = spec_from(base_json("deci", "deci", R"(
      "max_context": 8192, "hidden_size": 256, "num_layers": 4, "intermediate_size": 512, "vocab_size": 512,
      "tie_word_embeddings": false, "attention": {"num_heads": 4, "num_kv_heads": 4, "head_dim": 64})"));
    // DeciLM: KV heads per layer (2, 1, 0, 4); a layer with none still has a (zero-width) K.
    const std::uint64_t kv_heads[] = {2, 1, 0, 4};
    for (std::size_t i = 0; i < 4; ++i) deci.layers[i].num_kv_heads = kv_heads[i];
    f["deci"] = deci;
    f["ds2"] = spec_from(base_json("ds2", "deepseek2", R"(
      "max_context": 8192, "hidden_size": 256, "num_layers": 2, "intermediate_size": 512, "vocab_size": 512,
      "tie_word_embeddings": false, "attention": {"num_heads": 4, "num_kv_heads": 4, "head_dim": 96, "v_head_dim": 64,
      "mla": {"q_lora_rank": 32, "kv_lora_rank": 64, "qk_nope_head_dim": 64, "qk_rope_head_dim": 32, "v_head_dim": 64}})"));
    const auto mamba = [](const std::string& id, const std::string& arch, int layers, int width, const std::string& rec) {
      return spec_from(base_json(id, arch,
                                 R"("max_context": 8192, "hidden_size": )" + std::to_string(width) +
                                     R"(, "num_layers": )" + std::to_string(layers) +
                                     R"(, "intermediate_size": 0, "vocab_size": 512, "tie_word_embeddings": false,
        "separate_mlp": true, "layer_pattern": ["none"], "attention": {"num_heads": 1, "num_kv_heads": 1, "head_dim": 64},
        "recurrent": )" + rec));
    };
    f["mamba"] = mamba("mamba", "mamba", 2, 64, R"({"kind": "mamba", "d_inner": 128, "d_state": 16, "d_conv": 4, "dt_rank": 4})");
    f["mamba_b"] =
        mamba("mamba_b", "mamba", 3, 256, R"({"kind": "mamba", "d_inner": 512, "d_state": 16, "d_conv": 4, "dt_rank": 16})");
    f["mamba2"] = mamba("mamba2", "mamba2", 2, 64,
                        R"({"kind": "mamba2", "d_inner": 128, "d_state": 16, "d_conv": 4, "num_heads": 4, "n_groups": 1})");
    f["mamba2_b"] = mamba("mamba2_b", "mamba2", 3, 256,
                          R"({"kind": "mamba2", "d_inner": 512, "d_state": 64, "d_conv": 4, "num_heads": 8, "n_groups": 2})");
    return f;
  }();
  return m;
}

WeightFormat f16_gguf() { return parse_weight_format("gguf-f16", Dtype::f16).value(); }

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) out.push_back(cell);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

std::vector<std::map<std::string, std::string>> read_csv(const std::string& name) {
  std::ifstream in(std::string(VRAMCALC_TEST_DATA) + "/llamacpp/" + name);
  REQUIRE(in.good());
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> header = split(line);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    const std::vector<std::string> cells = split(line);
    REQUIRE(cells.size() == header.size());
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < cells.size(); ++i) row[header[i]] = cells[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

std::uint64_t u64(const std::string& s) { return std::stoull(s); }

// The oracle's runs: the library (its outputs for the whole batch) on the CPU backend.
LlamaCppOptions cpu_options() {
  LlamaCppOptions o;
  o.cuda = false;
  o.server = false;
  return o;
}

} // namespace

TEST_CASE("llama.cpp KV cache: every measured run, to the byte") {
  const auto rows = read_csv("kv.csv");
  REQUIRE(rows.size() == 5664);
  std::size_t ok = 0, refused = 0, aborts = 0;
  for (const auto& row : rows) {
    INFO(row.at("model") << " -c " << row.at("n_ctx") << " -np " << row.at("n_seq") << " -ctk " << row.at("type_k")
                         << " -ctv " << row.at("type_v") << " fa " << row.at("fa") << " unified " << row.at("unified")
                         << " swa_full " << row.at("swa_full") << " -b " << row.at("n_batch") << " -ub "
                         << row.at("n_ubatch"));
    const ModelSpec& spec = fixtures().at(row.at("model"));
    LlamaCppOptions o = cpu_options();
    o.type_k = parse_dtype(row.at("type_k"));
    o.type_v = parse_dtype(row.at("type_v"));
    REQUIRE(o.type_k);
    REQUIRE(o.type_v);
    o.flash_attn = row.at("fa") == "1" ? FlashAttn::on : FlashAttn::off;
    o.kv_unified = row.at("unified") == "1";
    o.swa_full = row.at("swa_full") == "1";
    o.n_batch = static_cast<std::uint32_t>(u64(row.at("n_batch")));
    o.n_ubatch = static_cast<std::uint32_t>(u64(row.at("n_ubatch")));
    const LlamaCppResult r = llamacpp_plan(spec, f16_gguf(), u64(row.at("n_ctx")), u64(row.at("n_seq")), {}, 0, o);
    const std::string& status = row.at("status");
    if (status == "ok") {
      ++ok;
      CHECK(r.error == "");
      CHECK(r.kv_bytes + r.state_bytes == u64(row.at("kv_bytes")));
      if (!row.at("cells").empty()) {
        CHECK(r.n_ctx == u64(row.at("n_ctx_out")));
        CHECK(r.cells == u64(row.at("cells")));
      }
    } else {
      CHECK(r.error != "");
      CHECK(r.aborts == (status == "abort"));
      (status == "abort" ? aborts : refused)++;
    }
  }
  CHECK(ok == 3504);
  CHECK(refused == 1752);
  CHECK(aborts == 408);
}

TEST_CASE("llama.cpp KV cache: the arithmetic, written out") {
  const ModelSpec& gemma = fixtures().at("tiny-gemma3-swa-f16");
  LlamaCppOptions o = cpu_options();
  o.n_batch = o.n_ubatch = 32;
  SECTION("sliding layers hold pad256(window + ubatch) cells") {
    // -c 4096: 1 full layer x 4096 cells + 5 sliding layers x pad256(128 + 32) = 256 cells;
    // a cell of a layer: K and V, 1 KV head x 128 x 2 bytes each = 512 bytes.
    const LlamaCppResult r = llamacpp_plan(gemma, f16_gguf(), 4096, 1, {}, 0, o);
    CHECK(r.swa_cells == 256);
    CHECK(r.kv_bytes == 1 * 4096 * 512 + 5 * 256 * 512); // 2,752,512 measured
    o.swa_full = true;
    CHECK(llamacpp_plan(gemma, f16_gguf(), 4096, 1, {}, 0, o).kv_bytes == 6 * 4096 * 512);
  }
  SECTION("per-sequence streams: each pad256(pad256(c) / np) cells") {
    // -c 5000 -np 4: pad256(5000) = 5120; 5120 / 4 = 1280 cells x 4 streams.
    const ModelSpec& llama = fixtures().at("tiny-llama-f16");
    const LlamaCppResult r = llamacpp_plan(llama, f16_gguf(), 5000, 4, {}, 0, o);
    CHECK(r.cells == 1280);
    CHECK(r.n_stream == 4);
    // 2 layers x (K + V) x 2 KV heads x 64 x 2 bytes x 1280 cells x 4 streams
    CHECK(r.kv_bytes == 2ull * 2 * 2 * 64 * 2 * 1280 * 4);
    o.kv_unified = true;
    const LlamaCppResult u = llamacpp_plan(llama, f16_gguf(), 5000, 4, {}, 0, o);
    CHECK(u.cells == 5120);
    CHECK(u.n_stream == 1);
  }
  SECTION("without flash attention V is transposed at the widest layer's width") {
    // DeciLM, KV heads (2, 1, 0, 4) x 64, 1024 cells, f16: K 448 x 2 x 1024 + V 4 x 256 x 2 x 1024.
    const ModelSpec& deci = fixtures().at("deci");
    o.flash_attn = FlashAttn::off;
    CHECK(llamacpp_plan(deci, f16_gguf(), 1024, 1, {}, 0, o).kv_bytes == (128 + 64 + 0 + 256) * 2 * 1024 + 4 * 256 * 2 * 1024);
    o.flash_attn = FlashAttn::on;
    CHECK(llamacpp_plan(deci, f16_gguf(), 1024, 1, {}, 0, o).kv_bytes == 2 * (128 + 64 + 0 + 256) * 2 * 1024);
  }
  SECTION("MLA caches the latent and the RoPE key once, no V") {
    // 2 layers x 1024 cells x (64 + 32) x 2 bytes = 393,216; q8_0: 96 / 32 x 34 = 102 bytes a row.
    const ModelSpec& ds2 = fixtures().at("ds2");
    CHECK(llamacpp_plan(ds2, f16_gguf(), 1024, 1, {}, 0, o).kv_bytes == 393'216);
    o.type_k = o.type_v = Dtype::q8_0;
    CHECK(llamacpp_plan(ds2, f16_gguf(), 1024, 1, {}, 0, o).kv_bytes == 2 * 1024 * 102);
    o.type_v = Dtype::f16;
    CHECK(llamacpp_plan(ds2, f16_gguf(), 1024, 1, {}, 0, o).error == "MLA models need the same K and V cache types");
  }
  SECTION("recurrent state: f32 per sequence whatever the cache type") {
    // Mamba-2, d_inner 512, state 64, 2 groups, conv 4, 3 layers:
    // 3 x 4 bytes x ((4 - 1) x (512 + 2 x 2 x 64) + 64 x 512) = 420,864 per sequence.
    const ModelSpec& m2 = fixtures().at("mamba2_b");
    const LlamaCppResult r = llamacpp_plan(m2, f16_gguf(), 4096, 2, {}, 0, o);
    CHECK(r.kv_bytes == 0);
    CHECK(r.state_bytes == 2 * 420'864);
  }
  SECTION("Kimi Delta Attention: conv and recurrent state in f32 (n_embd_r, n_embd_s)") {
    // llama_hparams::n_embd_r() = 3 x (4 - 1) x 32 x 128 = 36,864, n_embd_s() = 128 x 128 x 32
    // = 524,288, f32: 4 x 561,152 = 2,244,608 bytes per KDA layer and sequence; 20 layers x 2
    // sequences = 89,784,320. The 7 MLA layers cache 576 f16 per token: 4,096 cells x 7 x 1,152.
    const LlamaCppResult r = llamacpp_plan(vramcalc::test::model("kimi-linear-48b-a3b"), f16_gguf(), 4096, 2, {}, 0, o);
    CHECK(r.state_bytes == 2 * 20 * 2'244'608ull);
    CHECK(r.kv_bytes == 4096ull * 7 * 1'152);
  }
}

TEST_CASE("llama.cpp on CUDA: padded quantized rows and 128-byte alignment") {
  // DeepSeek V3's MLA row is 576 wide: a q8_0 row is 576 / 32 x 34 = 612 bytes; CUDA adds
  // one row of the 512 - 576 % 512 = 448 elements missing to a multiple of 512 (476 bytes)
  // to each tensor, then aligns to 128.
  const ModelSpec& v3 = vramcalc::test::model("deepseek-v3");
  LlamaCppOptions o;
  o.type_k = o.type_v = Dtype::q8_0;
  GpuSpec big;
  big.id = "big";
  big.memory_bytes = 1ull << 50;
  const WeightFormat q4 = parse_weight_format("gguf-q4_k_m", Dtype::bf16).value();
  const LlamaCppResult r = llamacpp_plan(v3, q4, 4096, 1, {big}, 0, o);
  const std::uint64_t per_layer = (612ull * 4096 + 476 + 127) / 128 * 128;
  CHECK(r.kv_bytes == 61 * per_layer);
  CHECK(r.gpus.at(0).kv_bytes == 61 * per_layer);
  CHECK(r.host.kv_bytes == 0);
}

TEST_CASE("llama.cpp layer placement: -ngl, --tensor-split, --n-cpu-moe") {
  const ModelSpec& m = vramcalc::test::model("llama3.1-8b");
  const WeightFormat q4 = parse_weight_format("gguf-q4_k_m", Dtype::bf16).value();
  GpuSpec g;
  g.id = "g";
  g.memory_bytes = 1ull << 40;
  LlamaCppOptions o;
  SECTION("all layers and the output on the GPU; token_embd stays on the host") {
    const LlamaCppResult r = llamacpp_plan(m, q4, 8192, 1, {g}, 0, o);
    CHECK(r.gpu_layers == 33);
    CHECK(r.gpus[0].layers == 32);
    CHECK(r.gpus[0].output);
    CHECK(r.host.kv_bytes == 0);
    // 32 layers x 8192 cells x 2 x 8 KV heads x 128 x 2 bytes = 1 GiB, as llama.cpp logs it.
    CHECK(r.gpus[0].kv_bytes == 1ull << 30);
    CHECK(r.host.model_bytes > 0);
  }
  SECTION("-ngl 10: the last 10 of 33 (layers 23..31 and the output)") {
    o.n_gpu_layers = 10;
    const LlamaCppResult r = llamacpp_plan(m, q4, 8192, 1, {g}, 0, o);
    CHECK(r.gpus[0].layers == 9);
    CHECK(r.gpus[0].output);
    CHECK(r.gpus[0].kv_bytes == 9 * (32ull << 20));
    CHECK(r.host.kv_bytes == 23 * (32ull << 20));
  }
  SECTION("two GPUs split by --tensor-split 1,3") {
    o.tensor_split = {1, 3};
    GpuSpec h = g;
    h.id = "h";
    const LlamaCppResult r = llamacpp_plan(m, q4, 8192, 1, {g, h}, 0, o);
    // Layer il goes to the first GPU while il / 33 < 0.25: layers 0..8.
    CHECK(r.gpus[0].layers == 9);
    CHECK(r.gpus[1].layers == 23);
    CHECK(r.gpus[1].output);
  }
  SECTION("--n-cpu-moe keeps the first layers' experts on the host") {
    const ModelSpec& moe = vramcalc::test::model("qwen3-30b-a3b");
    const LlamaCppResult all = llamacpp_plan(moe, q4, 4096, 1, {g}, 0, o);
    o.n_cpu_moe = 48;
    const LlamaCppResult cpu = llamacpp_plan(moe, q4, 4096, 1, {g}, 0, o);
    CHECK(cpu.gpus[0].model_bytes < all.gpus[0].model_bytes / 4);
    CHECK(cpu.host.model_bytes > all.host.model_bytes);
    CHECK(cpu.gpus[0].kv_bytes == all.gpus[0].kv_bytes);
  }
}

TEST_CASE("llama.cpp compute buffer: within 1.5% of the measured real-shape runs") {
  // Real-model shapes (Qwen2.5 0.5B, Llama 3.2 1B, Phi-3, SmolLM widths; 2 layers, which do
  // not change the buffer) and four scaled llama shapes, n_ctx 256..16384, ubatch 32..2048.
  const auto rows = read_csv("compute.csv");
  REQUIRE(rows.size() == 304);
  double worst = 0;
  for (const auto& row : rows) {
    INFO(row.at("model") << " -c " << row.at("n_ctx_req") << " -ub " << row.at("n_ubatch") << " -np "
                         << row.at("n_seq") << " fa " << row.at("fa"));
    ModelSpec s = spec_from(base_json("c", "llama", R"("max_context": 32768, "hidden_size": )" + row.at("n_embd") +
                                                         R"(, "num_layers": )" + row.at("n_layer") +
                                                         R"(, "intermediate_size": )" + row.at("n_ff") +
                                                         R"(, "vocab_size": )" + row.at("n_vocab") +
                                                         R"(, "tie_word_embeddings": false, "attention": {"num_heads": )" +
                                                         row.at("n_head") + R"(, "num_kv_heads": )" + row.at("n_head_kv") +
                                                         R"(, "head_dim": )" + row.at("head_dim") + "}"));
    LlamaCppOptions o = cpu_options();
    o.flash_attn = row.at("fa") == "1" ? FlashAttn::on : FlashAttn::off;
    o.kv_unified = row.at("kv_unified") == "1";
    o.n_batch = static_cast<std::uint32_t>(u64(row.at("n_batch")));
    o.n_ubatch = static_cast<std::uint32_t>(u64(row.at("n_ubatch")));
    const LlamaCppResult r = llamacpp_plan(s, f16_gguf(), u64(row.at("n_ctx_req")), u64(row.at("n_seq")), {}, 0, o);
    const double measured = static_cast<double>(u64(row.at("compute_bytes")));
    const double err = static_cast<double>(r.host.compute_bytes) / measured - 1.0;
    CHECK(std::abs(err) <= 0.015);
    worst = std::max(worst, std::abs(err));
  }
  WARN("compute buffer, worst relative error over the real-shape runs: " << worst);
}

TEST_CASE("llama.cpp: Llama 3.1 8B Q4_K_M on one GPU against its server log") {
  // tests/data/measurements.md, "llama.cpp logs": -c 8192 -np 4, flash attention off,
  // 33/33 layers on CUDA0, a build of 2024 (llm_load_print_meta). The log prints MiB with two
  // decimals.
  const ModelSpec& m = vramcalc::test::model("llama3.1-8b");
  const WeightFormat q4 = parse_weight_format("gguf-q4_k_m", Dtype::bf16).value();
  GpuSpec g;
  g.id = "g";
  g.memory_bytes = 80ull << 30;
  LlamaCppOptions o;
  o.flash_attn = FlashAttn::off;
  o.release = 20241201;
  o.server = false;
  // Its four sequences share one cache of 8,192 cells: builds before PR #14959 had no
  // per-sequence streams.
  const LlamaCppResult r = llamacpp_plan(m, q4, 8192, 4, {g}, 0, o);
  CHECK(r.n_stream == 1);
  const auto mib_x100 = [](std::uint64_t b) { return std::llround(static_cast<double>(b) / 1048576.0 * 100); };
  // "KV self size = 1024.00 MiB": 32 layers x 8192 cells x 2 x 8 x 128 x 2 bytes.
  CHECK(r.kv_bytes == 32ull * 8192 * 2 * 8 * 128 * 2);
  CHECK(r.kv_bytes == 1024ull << 20);
  // "CPU model buffer size = 281.81 MiB": token_embd, 128,256 rows of 4,096 in Q4_K
  // (4096 / 256 x 144 = 2,304 bytes a row) = 295,501,824 bytes.
  CHECK(r.host.model_bytes == 128'256ull * 2304);
  CHECK(mib_x100(r.host.model_bytes) == 28181);
  // "CUDA0 model buffer size = 4403.49 MiB": every other tensor, 128-byte aligned.
  CHECK(mib_x100(r.gpus.at(0).model_bytes) == 440349);
  // "CUDA0 compute buffer size = 560.00 MiB": the attention scores without flash attention,
  // f32 [8192 cells, 512 tokens, 32 heads + the mask] = 528 MiB, and 8E + 8Q = 16 x 4096
  // bytes a token beside them (builds before PR #14959) = 32 MiB.
  CHECK(r.gpus.at(0).compute_bytes == 512ull * (4 * 8192 * 33 + 16 * 4096));
  CHECK(r.gpus.at(0).compute_bytes == 560ull << 20);
}

namespace {

// LM Studio's runs of 2025-07-22 (tests/data/llamacpp/logs.csv): llama.cpp as a library on
// one 8 GiB GPU, flash attention off, batches of 512, -ngl `layers`.
GpuSpec lm_studio_gpu() {
  GpuSpec g;
  g.id = "g";
  g.memory_bytes = 8ull << 30;
  return g;
}

LlamaCppOptions lm_studio_options(std::uint32_t layers) {
  LlamaCppOptions o;
  o.release = 20250722;
  o.server = false;
  o.flash_attn = FlashAttn::off;
  o.n_batch = o.n_ubatch = 512;
  o.n_gpu_layers = layers;
  return o;
}

} // namespace

TEST_CASE("llama.cpp before PR #18148: -ngl N is N repeating layers, the output only with N > L") {
  // LM Studio's log of 2025-07-22 (tests/data/llamacpp/logs.csv): DeepSeek-R1-0528-Qwen3-8B
  // Q8_0, 36 layers, -c 131072, -ngl 19, flash attention off, one RTX 3060 Ti.
  const ModelSpec& m = vramcalc::test::model("qwen3-8b");
  const WeightFormat q8 = parse_weight_format("q8_0", Dtype::bf16).value();
  const GpuSpec g = lm_studio_gpu();
  LlamaCppOptions o = lm_studio_options(19);
  const LlamaCppResult r = llamacpp_plan(m, q8, 131072, 1, {g}, 0, o);
  // "offloading 19 repeating layers to GPU, offloaded 19/37 layers": i_gpu_start = 36 - 19 = 17.
  CHECK(r.gpus[0].layers == 19);
  CHECK_FALSE(r.gpus[0].output);
  CHECK(r.gpu_layers == 19);
  // A layer in Q8_0 (34 bytes per 32): q 4096x4096, k and v 1024x4096, o 4096x4096, gate, up,
  // down 12288x4096 = 192,937,984 weights -> 204,996,608 bytes; norms 2 x 16,384 + 2 x 512.
  const std::uint64_t layer = 192'937'984ull / 32 * 34 + 2 * 16'384 + 2 * 512;
  CHECK(r.gpus[0].model_bytes == 19 * layer); // "CUDA0 model buffer size = 3715.11 MiB"
  // token_embd and output (151,936 x 4,096 Q8_0, 661,225,472 bytes each), output_norm, 17 layers.
  CHECK(r.host.model_bytes == 2 * 661'225'472ull + 16'384 + 17 * layer); // "CPU_Mapped ... 4585.25 MiB"
  // "CUDA0 KV buffer size = 9728.00 MiB", "CPU KV buffer size = 8704.00 MiB": 512 MiB a layer.
  CHECK(r.gpus[0].kv_bytes == 19 * (512ull << 20));
  CHECK(r.host.kv_bytes == 17 * (512ull << 20));
  // "CUDA_Host compute buffer size = 264.01 MiB": only the graph inputs stay on the host
  // (prompt batches of 32+ run on the GPU): 512 tokens x (4 x 4096 embedding + 4 x 131072
  // mask + 20) bytes.
  CHECK(r.host.compute_bytes == 512ull * (4 * 4096 + 4 * 131072 + 20));
  // Today's rule (PR #18148) counts the output layer first: 18 repeating layers and the output.
  o.release = 0;
  const LlamaCppResult now = llamacpp_plan(m, q8, 131072, 1, {g}, 0, o);
  CHECK(now.gpus[0].layers == 18);
  CHECK(now.gpus[0].output);
}

TEST_CASE("llama.cpp -ngl 0 with a GPU: the GPU still computes prompt batches") {
  // The same log, -ngl 0, -c 4096: "CUDA0 compute buffer size = 935.34 MiB" is the output
  // layer run on the GPU from a copy of its weight (661,225,472 bytes), the logits of 512
  // tokens (512 x 151,936 x 4) and the final norm's output (512 x 4 x 4096).
  const ModelSpec& m = vramcalc::test::model("qwen3-8b");
  const WeightFormat q8 = parse_weight_format("q8_0", Dtype::bf16).value();
  const GpuSpec g = lm_studio_gpu();
  LlamaCppOptions o = lm_studio_options(0);
  const LlamaCppResult r = llamacpp_plan(m, q8, 4096, 1, {g}, 0, o);
  CHECK(r.gpus[0].model_bytes == 0);
  CHECK(r.gpus[0].kv_bytes == 0);
  CHECK(r.gpus[0].compute_bytes == 661'225'472ull + 512ull * 151'936 * 4 + 512ull * 4 * 4096);
  CHECK(std::llround(static_cast<double>(r.gpus[0].compute_bytes) / 1048576.0 * 100) == 93534);
  // Below 32 tokens a batch stays on the CPU (CUDA's op offload minimum): no GPU compute.
  o.n_batch = o.n_ubatch = 16;
  CHECK(llamacpp_plan(m, q8, 4096, 1, {g}, 0, o).gpus[0].compute_bytes == 0);
}

TEST_CASE("llama-server reserves logits for its slots since PR #23861, the library for the batch") {
  // Qwen3-0.6B shape, -c 4096 -np 4 --kv-unified, flash attention on, -ub 512, on the CPU:
  // measured 327,956,480 bytes with the library's outputs (all 512 tokens) and 27,275,296
  // with n_outputs_max = 4 (llama-server's n_parallel x (1 + n_draft)). With 4 outputs the
  // MLP phase is the peak, its last layer on the output rows only: 512 x (2 x 4096 mask +
  // 12 x 3072 + 8 x 1024 + 20) = 27,273,216 (-0.008%).
  const ModelSpec m = spec_from(base_json("q06", "qwen3", R"("max_context": 40960, "hidden_size": 1024,
      "num_layers": 2, "intermediate_size": 3072, "vocab_size": 151936, "tie_word_embeddings": false,
      "attention": {"num_heads": 16, "num_kv_heads": 8, "head_dim": 128, "qk_norm": true})"));
  LlamaCppOptions o = cpu_options();
  o.kv_unified = true;
  o.flash_attn = FlashAttn::on;
  o.server = true;
  const LlamaCppResult s = llamacpp_plan(m, f16_gguf(), 4096, 4, {}, 0, o);
  CHECK(s.n_outputs == 4);
  CHECK(s.host.compute_bytes == 512ull * (2 * 4096 + 12 * 3072 + 8 * 1024 + 20));
  o.release = 20260501; // before PR #23861: the server reserved the whole batch too
  CHECK(llamacpp_plan(m, f16_gguf(), 4096, 4, {}, 0, o).n_outputs == 512);
  o.release = 0;
  o.n_draft = 3; // speculative decoding: 4 slots x (1 + 3) outputs
  CHECK(llamacpp_plan(m, f16_gguf(), 4096, 4, {}, 0, o).n_outputs == 16);
}

namespace {

std::uint32_t date_of(const std::string& s) {
  // "2025-07-22" -> 20250722; empty: 0 (the newest rules)
  if (s.empty()) return 0;
  return static_cast<std::uint32_t>(std::stoul(s.substr(0, 4)) * 10000 + std::stoul(s.substr(5, 2)) * 100 +
                                    std::stoul(s.substr(8, 2)));
}

struct LogPrediction {
  double value = 0;
  bool known = true;
};

// What vramcalc predicts for one row of logs.csv, in the row's unit.
LogPrediction predict(const std::map<std::string, std::string>& row) {
  const ModelSpec& spec = vramcalc::test::model(row.at("model"));
  WeightFormat fmt = parse_weight_format(row.at("weights"), spec.dtype).value();
  fmt.llamacpp_release = date_of(row.at("quantizer"));
  const std::string& q = row.at("quantity");
  constexpr double mib = 1048576.0, gib = 1073741824.0;
  if (q == "weights") return {static_cast<double>(weight_bytes(spec, fmt).total) / gib};
  if (q == "params") return {static_cast<double>(count_params(spec).total) / 1e9};
  LlamaCppOptions o;
  o.release = date_of(row.at("release"));
  o.server = row.at("app") == "server";
  o.flash_attn = row.at("fa") == "1" ? FlashAttn::on : FlashAttn::off;
  o.kv_unified = row.at("unified") == "1";
  o.type_k = o.type_v = parse_dtype(row.at("cache")).value();
  o.n_batch = static_cast<std::uint32_t>(u64(row.at("n_batch")));
  o.n_ubatch = static_cast<std::uint32_t>(u64(row.at("n_ubatch")));
  if (!row.at("ngl").empty()) o.n_gpu_layers = static_cast<std::uint32_t>(u64(row.at("ngl")));
  GpuSpec g;
  g.id = "g";
  g.memory_bytes = 80ull << 30;
  const LlamaCppResult r = llamacpp_plan(spec, fmt, u64(row.at("n_ctx")), u64(row.at("n_seq")), {g}, 0, o);
  const LlamaCppDevice& d0 = r.gpus.at(0);
  const auto in_mib = [&](std::uint64_t b) { return LogPrediction{static_cast<double>(b) / mib}; };
  if (q == "kv_total") return in_mib(r.kv_bytes + r.state_bytes);
  if (q == "kv_total_gib") return {static_cast<double>(r.kv_bytes) / gib};
  if (q == "kv_per_token") return {static_cast<double>(r.kv_bytes) / static_cast<double>(r.cells * r.n_stream)};
  if (q == "kv_gpu0") return in_mib(d0.kv_bytes);
  if (q == "kv_host") return in_mib(r.host.kv_bytes);
  if (q == "model_gpu0") return in_mib(d0.model_bytes);
  if (q == "model_host") return in_mib(r.host.model_bytes);
  if (q == "compute_gpu0") return in_mib(d0.compute_bytes);
  if (q == "compute_host") return in_mib(r.host.compute_bytes);
  if (q == "output_host") return in_mib(r.host.output_bytes);
  return {0, false};
}

} // namespace

TEST_CASE("llama.cpp and Ollama logs: every row, each run with the release it came from") {
  // tests/data/llamacpp/logs.csv (sources in its README): per-device model, KV and compute
  // buffers, weights and parameter counts as llama.cpp's logs print them.
  const auto rows = read_csv("logs.csv");
  REQUIRE(rows.size() == 71);
  std::map<std::string, std::pair<int, int>> per_quantity; // within 2% (or the printed rounding), rows
  std::string table;
  for (const auto& row : rows) {
    const LogPrediction p = predict(row);
    INFO(row.at("run") << " " << row.at("quantity"));
    REQUIRE(p.known);
    const double logged = std::stod(row.at("value"));
    const double rounding = 0.5 * std::pow(10.0, -std::stod(row.at("digits")));
    const double err = p.value / logged - 1.0;
    const bool ok = std::abs(err) <= 0.02 || std::abs(p.value - logged) <= rounding;
    auto& [good, all] = per_quantity[row.at("quantity")];
    good += ok ? 1 : 0;
    ++all;
    table += row.at("run") + " " + row.at("quantity") + ": logged " + row.at("value") + " " + row.at("unit") +
             ", predicted " + std::to_string(p.value) + " (" + std::to_string(err * 100) + "%)" + (ok ? "" : " !") + "\n";
  }
  WARN(table);
  for (const auto& [quantity, counts] : per_quantity) {
    INFO(quantity << ": " << counts.first << " of " << counts.second << " within 2%");
    CHECK(counts.first * 100 >= counts.second * 95);
  }
}

TEST_CASE("llama.cpp: Gemma 4 31B's cache, each layer at its own n_embd_k_gqa(il) / n_embd_v_gqa(il)") {
  // llama_kv_cache sizes each layer by hparams.n_embd_k_gqa(il) and n_embd_v_gqa(il): the
  // global layers' 4 KV heads x 512, the sliding layers' 16 x 256. gemma4-iswa.cpp stores
  // Kcur and Vcur (one projection, two norms) for every layer with KV.
  const ModelSpec& m = vramcalc::test::model("gemma-4-31b");
  LlamaCppOptions o = cpu_options();
  o.n_batch = o.n_ubatch = 512;
  o.flash_attn = FlashAttn::on;
  // -c 32768: 10 global layers x 32,768 cells, 50 sliding layers x pad256(1,024 + 512) = 1,536 cells
  const LlamaCppResult r = llamacpp_plan(m, f16_gguf(), 32768, 1, {}, 0, o);
  CHECK(r.cells == 32768);
  CHECK(r.swa_cells == 1536);
  // global: 10 x 32,768 x (2,048 + 2,048) x 2 bytes = 2,684,354,560
  // sliding: 50 x 1,536 x (4,096 + 4,096) x 2 bytes = 1,258,291,200
  CHECK(r.kv_bytes == 2'684'354'560ull + 1'258'291'200ull);
  // Without flash attention V is transposed at the widest layer's width (4,096, a sliding
  // layer's): the global layers' V grows to 32,768 x 4,096 x 2 each
  o.flash_attn = FlashAttn::off;
  CHECK(llamacpp_plan(m, f16_gguf(), 32768, 1, {}, 0, o).kv_bytes ==
        10ull * 32768 * (2048 + 4096) * 2 + 1'258'291'200ull);
}

TEST_CASE("llama.cpp -nkvo: every layer's cache in system RAM, the attention phase in the CPU's buffer") {
  // The run of "Llama 3.1 8B Q4_K_M on one GPU against its server log" above with
  // --no-kv-offload: llama_kv_cache gives every layer the CPU buffer type, so the 1,024 MiB
  // (32 layers x 8192 cells x 2 x 8 x 128 x 2 bytes) leave the GPU for the host, and the
  // attention nodes run on the CPU, whose compute buffer grows to the attention phase: the
  // f32 scores [8192 cells, 512 tokens, 32 heads + the mask] and 16 x 4096 bytes a token,
  // 512 x (4 x 8192 x 33 + 16 x 4096) = 560 MiB, as the GPU's.
  const ModelSpec& m = vramcalc::test::model("llama3.1-8b");
  const WeightFormat q4 = parse_weight_format("gguf-q4_k_m", Dtype::bf16).value();
  GpuSpec g;
  g.id = "g";
  g.memory_bytes = 80ull << 30;
  LlamaCppOptions o;
  o.flash_attn = FlashAttn::off;
  o.release = 20241201;
  o.server = false;
  const LlamaCppResult on_gpu = llamacpp_plan(m, q4, 8192, 4, {g}, 0, o);
  o.no_kv_offload = true;
  const LlamaCppResult r = llamacpp_plan(m, q4, 8192, 4, {g}, 0, o);
  CHECK(r.kv_bytes == 32ull * 8192 * 2 * 8 * 128 * 2);
  CHECK(r.gpus.at(0).kv_bytes == 0);
  CHECK(r.host.kv_bytes == 1024ull << 20);
  CHECK(on_gpu.gpus.at(0).kv_bytes == 1024ull << 20);
  CHECK(r.host.compute_bytes == 512ull * (4 * 8192 * 33 + 16 * 4096));
  // Before: only the graph inputs, 512 x (4 x 4096 + 4 x 8192 + 20) rounded to 32.
  CHECK(on_gpu.host.compute_bytes == 512ull * (4 * 4096 + 4 * 8192 + 20));
  // The GPU keeps its weights and (an upper bound) its compute buffer.
  CHECK(r.gpus.at(0).model_bytes == on_gpu.gpus.at(0).model_bytes);
  CHECK(r.gpus.at(0).compute_bytes == on_gpu.gpus.at(0).compute_bytes);
  // The host need: the CPU device's weights (token_embd, 295,501,824), KV, compute and logits.
  CHECK(r.host.total() == 128'256ull * 2304 + (1024ull << 20) + r.host.compute_bytes + r.host.output_bytes);
}
