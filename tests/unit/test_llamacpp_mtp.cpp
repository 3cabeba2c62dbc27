// llama-server --spec-type draft-mtp: the GGUF's own MTP blocks loaded with the model, one MTP
// context, and the recurrent state's rollback snapshots (docs/engines.md, "MTP drafting").
#include "helpers.hpp"
#include "../support/csv_rows.hpp"
#include "../support/engine_cases.hpp"
#include "vramcalc/engine.hpp"
#include "vramcalc/engine_ollama.hpp"
#include "vramcalc/estimate.hpp"
#include "vramcalc/io/model_files.hpp"

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <sstream>

using namespace vramcalc;
using vramcalc::test::catalog_gpu;
using vramcalc::test::format_of;
using vramcalc::test::model;
using vramcalc::test::spec_from;

namespace {

// The tiny glm4moe of tests/oracle/mtp/gen_glm4moe.py (its defaults): 2 blocks (one dense,
// one MoE) and one MTP block, hidden 256, 4 heads / 2 KV heads of 64, 4 experts of 128 (2 used,
// one shared), vocabulary 512, f32.
ModelSpec tiny_glm4moe() {
  return spec_from(R"({"schema": "vramcalc-model/1", "id": "tiny-glm4moe-mtp", "name": "tiny glm4moe", "family": "test",
    "arch": "glm4moe", "source": "tests/oracle/mtp/gen_glm4moe.py", "dtype": "f32", "max_context": 4096,
    "hidden_size": 256, "num_layers": 2, "intermediate_size": 512, "vocab_size": 512, "tie_word_embeddings": false,
    "attention": {"num_heads": 4, "num_kv_heads": 2, "head_dim": 64, "qkv_bias": true},
    "moe": {"num_experts": 4, "experts_per_token": 2, "expert_intermediate_size": 128, "shared_experts": 1,
            "first_dense_layers": 1, "router_bias": true},
    "mtp_layers": 1, "mtp_own_embeddings": false})");
}

LlamaCppOptions cpu_options(bool mtp) {
  // The probe's context: -b / -ub 32, flash attention on, f16 caches, one sequence.
  LlamaCppOptions o;
  o.type_k = o.type_v = Dtype::f16;
  o.flash_attn = FlashAttn::on;
  o.n_batch = o.n_ubatch = 32;
  o.server = true;
  o.spec_mtp = mtp;
  o.n_draft = 0; // n_outputs_max 1, as the probe's target context
  return o;
}

} // namespace

TEST_CASE("draft-mtp on a tiny glm4moe: measured on the real llama.cpp (CPU)") {
  // tests/data/llamacpp/mtp.csv (tests/oracle/mtp/probe.cpp on the oracle's build, 2026-09-12),
  // -c 4096 -np 1, f32 weights read into a buffer (no mmap), f16 caches.
  const ModelSpec spec = tiny_glm4moe();
  const WeightFormat f32 = format_of("gguf-f32");
  const LlamaCppResult off = llamacpp_plan(spec, f32, 4096, 1, {}, 0, cpu_options(false));
  const LlamaCppResult on = llamacpp_plan(spec, f32, 4096, 1, {}, 0, cpu_options(true));
  REQUIRE(off.error.empty());
  REQUIRE(on.error.empty());
  REQUIRE_FALSE(off.mtp.has_value());
  REQUIRE(on.mtp.has_value());
  const LlamaCppMtp& m = *on.mtp;
  // Both caches hold all 3 blocks of the file (glm4moe: no layer filter), measured 6,291,456
  // bytes each: 4,096 cells x 3 layers x (K + V) 2 x 2 KV heads x 64 x 2 bytes.
  CHECK(on.kv_bytes == 4096ull * 3 * 2 * (2 * 64) * 2);
  CHECK(on.kv_bytes == 6'291'456ull);
  CHECK(m.kv_layers == 3);
  CHECK(m.target_caches_mtp);
  CHECK(m.kv_bytes == 6'291'456ull);
  CHECK(m.n_ctx == 4096);
  // The MTP block's tensors, measured 9,461,824 - 6,173,728 = 3,288,096 bytes (loaded with
  // load_mtp, TENSOR_SKIP without), f32: q 256x256, k and v 256x128, o 256x256, the 3 expert
  // stacks 4 x 256 x 128, the shared expert's 3 x 256 x 128, eh_proj 512 x 256, the router
  // 256 x 4; five norms of 256 (attn_norm, post_attention_norm, enorm, hnorm,
  // shared_head_norm), the q, k, v biases (256, 128, 128) and exp_probs_b (4, 16 bytes padded
  // to 32 on the CPU).
  const std::uint64_t matrices = 4ull * (256 * 256 + 2 * 256 * 128 + 256 * 256 + 3 * 4 * 256 * 128 + 3 * 256 * 128 +
                                         512 * 256 + 256 * 4);
  const std::uint64_t vectors = 5 * 1024 + 1024 + 512 + 512 + 32;
  CHECK(matrices == 3'280'896ull);
  CHECK(m.weights_bytes == matrices + vectors);
  CHECK(m.weights_bytes == 3'288'096ull);
  // The rest of the file as measured without the MTP block.
  CHECK(off.host.model_bytes == 6'173'728ull);
  // Only the MTP block is more: every tensor of the file's blocks 0 and 1 is placed as before.
  CHECK(on.host.model_bytes == off.host.model_bytes + m.weights_bytes);
  // The MTP context's compute buffer is the target's estimate for its outputs (n_parallel = 1
  // here, as the target's): 32 tokens x (mask 2 x 4,096 + 12 x FF 512 + 8 x 256 + 20) = 524,928,
  // the MLP phase with one output. Measured: the target's 525,088 (-0.03%), the MTP context's
  // 394,016 (the estimate is 33% over at this size; docs/engines.md).
  CHECK(m.compute_bytes == on.host.compute_bytes - off.host.compute_bytes);
  CHECK(m.compute_bytes == 32ull * (2 * 4096 + 12 * 512 + 8 * 256 + 20));
  CHECK(m.compute_bytes == 524'928ull);
  CHECK(off.host.compute_bytes == 524'928ull);
  // Its logits buffer: 512 x 4 bytes for one sequence.
  CHECK(m.output_bytes == 512 * 4);
  CHECK(on.host.output_bytes == off.host.output_bytes + 512 * 4);
}

TEST_CASE("draft-mtp: GLM-4.5-Air Q4_K_M on two H100s, the MTP context caches all 47 blocks") {
  const GpuSpec& h100 = catalog_gpu("h100-sxm");
  const ModelSpec& air = model("glm-4.5-air");
  LlamaCppOptions o;
  o.type_k = o.type_v = Dtype::f16;
  o.spec_mtp = true;
  o.n_draft = 3;
  const WeightFormat q = format_of("q4_k_m");
  const LlamaCppResult r = llamacpp_plan(air, q, 65'536, 2, {h100, h100}, 1ull << 30, o);
  o.spec_mtp = false;
  const LlamaCppResult plain = llamacpp_plan(air, q, 65'536, 2, {h100, h100}, 1ull << 30, o);
  REQUIRE(r.error.empty());
  REQUIRE(r.mtp.has_value());
  const LlamaCppMtp& m = *r.mtp;
  // 2 streams x 32,768 cells; a block caches 8 KV heads x 128 x 2 (K, V) x 2 bytes = 4,096 bytes
  // a cell: 46 blocks without draft-mtp, 47 with it in the target and in the MTP context.
  CHECK(plain.kv_bytes == 46ull * 65'536 * 4'096);
  CHECK(r.kv_bytes == 47ull * 65'536 * 4'096);
  CHECK(m.kv_bytes == 47ull * 65'536 * 4'096);
  CHECK(m.kv_bytes == 12'616'466'432ull);
  // 47 blocks + the output layer on two GPUs; the MTP block is blk.46.
  CHECK(r.gpu_layers == 48);
  CHECK(plain.gpu_layers == 47);
  CHECK(m.layers == 1);
  CHECK(m.n_draft == 3);
  // The target reserves logits for -np x (1 + 3) = 8 outputs; the MTP context's for -np = 2.
  CHECK(r.n_outputs == 8);
  const std::uint64_t all_r = r.gpus[0].total() + r.gpus[1].total();
  const std::uint64_t all_p = plain.gpus[0].total() + plain.gpus[1].total();
  // What the GPUs hold more: the MTP block, its cache and compute buffer, and one more block of
  // the target's cache, 65,536 x 8,192 bytes, and the target's compute for 8 outputs instead of 2.
  const std::uint64_t target_compute_more =
      r.gpus[0].compute_bytes + r.gpus[1].compute_bytes - m.compute_bytes -
      (plain.gpus[0].compute_bytes + plain.gpus[1].compute_bytes);
  CHECK(all_r - all_p == m.weights_bytes + m.kv_bytes + m.compute_bytes + 65'536ull * 4'096 + target_compute_more);
}

TEST_CASE("draft-mtp: Qwen3.5-35B-A3B, an MTP context of the MTP block and 3 state snapshots") {
  const GpuSpec& h100 = catalog_gpu("h100-sxm");
  const ModelSpec& q35 = model("qwen3.5-35b-a3b");
  LlamaCppOptions o;
  o.type_k = o.type_v = Dtype::f16;
  o.spec_mtp = true;
  o.n_draft = 3;
  const LlamaCppResult r = llamacpp_plan(q35, format_of("q4_k_m"), 32'768, 2, {h100}, 1ull << 30, o);
  o.spec_mtp = false;
  const LlamaCppResult plain = llamacpp_plan(q35, format_of("q4_k_m"), 32'768, 2, {h100}, 1ull << 30, o);
  REQUIRE(r.mtp.has_value());
  const LlamaCppMtp& m = *r.mtp;
  // The MTP context holds blk.40 only (filter il >= n_layer()): 2 KV heads x 256 x 2 x 2 bytes
  // = 2,048 bytes a cell, x 32,768 cells (2 streams x 16,384).
  CHECK(m.kv_layers == 1);
  CHECK_FALSE(m.target_caches_mtp);
  CHECK(m.kv_bytes == 2'048ull * 32'768);
  CHECK(r.kv_bytes == plain.kv_bytes);
  // The 30 Gated DeltaNet layers' state: (1 + 3) rows per sequence (n_rs_seq = 3).
  CHECK(r.state_bytes == 4 * plain.state_bytes);
  CHECK(m.state_snapshot_bytes == 3 * plain.state_bytes);
}

TEST_CASE("draft-mtp refusals: before PR #22673, a model without MTP layers, an architecture not modelled") {
  LlamaCppOptions o;
  o.spec_mtp = true;
  o.n_draft = 3;
  o.release = 20260501;
  const GpuSpec& h100 = catalog_gpu("h100-sxm");
  CHECK_THAT(llamacpp_plan(model("glm-4.5-air"), format_of("q4_k_m"), 8192, 1, {h100}, 0, o).error,
             Catch::Contains("PR #22673"));
  o.release = 0;
  const LlamaCppResult none = llamacpp_plan(model("llama3.1-8b"), format_of("q4_k_m"), 8192, 1, {h100}, 0, o);
  CHECK_THAT(none.error, Catch::Contains("no MTP (nextn) layers"));
  CHECK_FALSE(none.mtp.has_value());
  CHECK(llamacpp_mtp_refusal(model("glm-4.5-air"), 0).empty());
  CHECK(llamacpp_mtp_refusal(model("deepseek-v3"), 0).empty());
}

namespace {

// tests/data/llamacpp/mtp.csv, its rows as header -> cell.
std::vector<std::map<std::string, std::string>> mtp_rows() {
  return vramcalc::test::csv_rows(std::string(VRAMCALC_TEST_DATA) + "/llamacpp/mtp.csv");
}

// A shape of gen_glm4moe.py: "E x heads x KV heads x head_dim x expert FF x experts x used x vocab".
ModelSpec glm4moe_shape(const std::string& shape) {
  std::vector<std::uint64_t> v;
  std::stringstream ss(shape);
  for (std::string c; std::getline(ss, c, 'x');) v.push_back(std::stoull(c));
  REQUIRE(v.size() == 8);
  return spec_from(fmt::format(
      R"({{"schema": "vramcalc-model/1", "id": "t", "name": "t", "family": "test", "arch": "glm4moe", "source": "x",
      "dtype": "f32", "max_context": 4096, "hidden_size": {0}, "num_layers": 2, "intermediate_size": {1},
      "vocab_size": {7}, "tie_word_embeddings": false,
      "attention": {{"num_heads": {2}, "num_kv_heads": {3}, "head_dim": {4}, "qkv_bias": true}},
      "moe": {{"num_experts": {5}, "experts_per_token": {6}, "expert_intermediate_size": {8}, "shared_experts": 1,
               "first_dense_layers": 1, "router_bias": true}}, "mtp_layers": 1, "mtp_own_embeddings": false}})",
      v[0], 2 * v[0], v[1], v[2], v[3], v[5], v[6], v[7], v[4]));
}

} // namespace

TEST_CASE("draft-mtp: every run of tests/data/llamacpp/mtp.csv (384, four tiny glm4moe shapes)") {
  double lo = 10, hi = 0;
  for (const auto& row : mtp_rows()) {
    INFO(row.at("shape") << " " << row.at("weights") << " load_mtp " << row.at("load_mtp") << " -c " << row.at("n_ctx")
                         << " -np " << row.at("n_seq") << " fa " << row.at("fa") << " -ub " << row.at("n_ubatch") << " "
                         << row.at("context"));
    const bool mtp = row.at("load_mtp") == "1";
    const ModelSpec spec = glm4moe_shape(row.at("shape"));
    LlamaCppOptions o = cpu_options(mtp);
    o.cuda = false;
    o.flash_attn = row.at("fa") == "1" ? FlashAttn::on : FlashAttn::off;
    o.n_batch = o.n_ubatch = static_cast<std::uint32_t>(std::stoul(row.at("n_ubatch")));
    const LlamaCppResult r = llamacpp_plan(spec, format_of("gguf-" + row.at("weights")), std::stoull(row.at("n_ctx")),
                                           std::stoull(row.at("n_seq")), {}, 0, o);
    REQUIRE(r.error.empty());
    // The weights, with and without the MTP block, to the byte.
    CHECK(r.host.model_bytes == std::stoull(row.at("model_bytes")));
    if (!mtp) continue;
    REQUIRE(r.mtp.has_value());
    if (row.at("context") == "target") {
      CHECK(r.kv_bytes == std::stoull(row.at("kv_bytes")));
      continue;
    }
    // The MTP context: its KV cache to the byte, its compute buffer estimated.
    CHECK(r.mtp->kv_bytes == std::stoull(row.at("kv_bytes")));
    const double ratio = static_cast<double>(std::stoull(row.at("compute_bytes"))) / static_cast<double>(r.mtp->compute_bytes);
    lo = std::min(lo, ratio);
    hi = std::max(hi, ratio);
  }
  // Measured over estimated: the MTP graph's buffer is 0.60 to 1.00 times the target's estimate
  // (an upper bound: the MTP graph is one block and the head).
  CHECK(lo > 0.60);
  CHECK(hi < 1.0);
}

TEST_CASE("Ollama 0.30.0 drafts with a model's own MTP layers only with draft_num_predict set") {
  // llm/llama_server.go (v0.30.0): hasMTPDraft (nextn_predict_layers > 0) -> EnableMTP ->
  // appendMTPDraftArgs: --spec-type draft-mtp --spec-draft-n-max DraftNumPredict, only while it is
  // > 0; server/routes.go modelOptions zeroes api.DefaultOptions' 4 when the model has no DRAFT and
  // neither the model nor the request sets draft_num_predict (the same through 0.33.0-rc2).
  const GpuSpec& h100 = catalog_gpu("h100-sxm");
  OllamaEnv env;
  const OllamaResult plain = ollama_plan(model("glm-4.5-air"), format_of("q4_k_m"), OllamaRelease{0, 30, 0}, env, {h100, h100});
  CHECK_FALSE(plain.llamacpp.mtp.has_value());
  CHECK_FALSE(plain.request.options.spec_mtp);
  CHECK(plain.model_layers == 47); // 46 blocks + the output layer
  env.draft_num_predict = 4;        // --ollama-env draft_num_predict=4 (a Modelfile PARAMETER)
  const OllamaResult r = ollama_plan(model("glm-4.5-air"), format_of("q4_k_m"), OllamaRelease{0, 30, 0}, env, {h100, h100});
  REQUIRE(r.llamacpp.mtp.has_value());
  CHECK(r.request.options.spec_mtp);
  CHECK(r.llamacpp.mtp->n_draft == 4);
  // 46 blocks + the MTP block + the output layer, all offloaded.
  CHECK(r.model_layers == 48);
  CHECK(r.gpu_layers == 48);
  // One sequence: the target reserves logits for 1 x (1 + 4) outputs.
  CHECK(r.llamacpp.n_outputs == 5);
  // draft_num_predict 0: no draft arguments at all.
  env.draft_num_predict = 0;
  CHECK_FALSE(ollama_plan(model("glm-4.5-air"), format_of("q4_k_m"), OllamaRelease{0, 30, 0}, env, {h100, h100}).llamacpp.mtp);
  // Before 0.30.0 the library runner has no drafting, whatever is set.
  env.draft_num_predict = 4;
  const OllamaResult old = ollama_plan(model("glm-4.5-air"), format_of("q4_k_m"), OllamaRelease{0, 29, 0}, env, {h100, h100});
  CHECK_FALSE(old.llamacpp.mtp.has_value());
  CHECK(old.model_layers == 47);
}

TEST_CASE("a glm4moe GGUF file that keeps its MTP block: -ngl and the cache count it, its weights load only with draft-mtp") {
  // tests/data/files/tiny-glm4moe-mtp.gguf (tests/oracle/mtp/gen_glm4moe.py f16, shape 64 x 2 x 1
  // x 32 x 32 x 2 x 1 x 64), measured with tests/oracle/mtp/probe.cpp at -c 4096 -np 1 -ub 32,
  // flash attention on: model 154,400 bytes without the MTP block's tensors, 234,560 with them;
  // the target's cache, with or without draft-mtp, and the MTP context's, 1,572,864 bytes each:
  // 4,096 cells x 3 blocks x (K + V) 2 x 32 x 2 bytes.
  const auto mf = io::open_model_files(std::string(VRAMCALC_TEST_DATA) + "/files/tiny-glm4moe-mtp.gguf");
  REQUIRE(mf.has_value());
  CHECK(mf->spec.num_layers == 2);
  CHECK(mf->spec.mtp_layers == 1);
  LlamaCppOptions o = cpu_options(false);
  o.cuda = false;
  const LlamaCppResult off = llamacpp_plan(mf->spec, mf->format, 4096, 1, {}, 0, o);
  o.spec_mtp = true;
  const LlamaCppResult on = llamacpp_plan(mf->spec, mf->format, 4096, 1, {}, 0, o);
  REQUIRE(on.mtp.has_value());
  CHECK(off.layers == 3);
  CHECK(off.kv_bytes == 4096ull * 3 * 2 * 32 * 2);
  CHECK(off.kv_bytes == 1'572'864ull);
  CHECK(on.kv_bytes == 1'572'864ull);
  CHECK(on.mtp->kv_bytes == 1'572'864ull);
  // Read from the file, vramcalc's generic glm4moe reading (no rules of its own) leaves each
  // block's post_attention_norm (64 x 4 = 256 bytes, f32) and each MoE block's exp_probs_b
  // (2 x 4 bytes, 32 aligned) unmatched: 2 x 256 + 32 bytes short without the MTP block (blocks 0
  // and 1), 3 x 256 + 2 x 32 with it.
  CHECK(154'400ull - off.host.model_bytes == 2 * 256 + 32);
  CHECK(234'560ull - on.host.model_bytes == 3 * 256 + 2 * 32);
  CHECK_FALSE(off.mtp.has_value());
}

TEST_CASE("draft-mtp with --spec-draft-model: an MTP drafter GGUF with its own MTP context, measured (CPU)") {
  // tests/data/files/mtp-tiny-glm4moe.gguf: MTP_ONLY=1 tests/oracle/mtp/gen_glm4moe.py f16 with
  // the shape of tiny-glm4moe-mtp.gguf (64 x 2 x 1 x 32 x 32 x 2 x 1 x 64), as
  // convert_hf_to_gguf.py --mtp writes one: the same header (block_count 3, nextn_predict_layers
  // 1), token_embd, output_norm, output and blk.2 only. Measured with tests/oracle/mtp/probe.cpp
  // (its DRAFTER argument: the drafter loaded with load_mtp, its MTP context against the
  // target's) at -c 4096 -np 1 -ub 32, flash attention on, f16 caches, the build of 2026-09-12
  // (tests/data/llamacpp/mtp_drafter.csv, rows 1 and 2):
  // target model 234,560, cache 1,572,864, compute 328,480; drafter model 96,800, MTP context
  // cache 1,572,864, compute 295,712.
  const std::string data = std::string(VRAMCALC_TEST_DATA) + "/files/";
  const auto target = io::open_model_files(data + "tiny-glm4moe-mtp.gguf");
  const auto drafter = io::open_model_files(data + "mtp-tiny-glm4moe.gguf");
  REQUIRE(target.has_value());
  REQUIRE(drafter.has_value());
  CHECK(drafter->spec.num_layers == 2);
  CHECK(drafter->spec.mtp_layers == 1);
  LlamaCppOptions o = cpu_options(true);
  o.cuda = false;
  o.mtp_on_draft = true;
  LlamaCppResult r = llamacpp_plan(target->spec, target->format, 4096, 1, {}, 0, o);
  REQUIRE(r.error.empty());
  // The target makes no MTP context of its own; it still loads its MTP block (load_mtp).
  CHECK_FALSE(r.mtp.has_value());
  CHECK(r.kv_bytes == 1'572'864ull);
  CHECK(234'560ull - r.host.model_bytes == 3 * 256 + 2 * 32);
  const std::uint64_t target_compute = r.host.compute_bytes;
  llamacpp_add_draft(r, DraftModel{drafter->spec, drafter->format, "mtp-tiny-glm4moe.gguf"}, 1, {}, o);
  REQUIRE(r.error.empty());
  REQUIRE(r.draft.has_value());
  const LlamaCppDraft& d = *r.draft;
  CHECK(d.mtp_layers == 1);
  // glm4moe's MTP context caches every block of the file (no layer filter), measured:
  // 4,096 cells x 3 layers x (K + V) 2 x (1 KV head x 32) x 2 bytes.
  CHECK(d.kv_layers == 3);
  CHECK(d.kv_bytes == 4096ull * 3 * 2 * 32 * 2);
  CHECK(d.kv_bytes == 1'572'864ull);
  CHECK(d.n_ctx == 4096);
  CHECK(d.contexts == 1);
  CHECK(d.total_layers == 4);
  // The drafter's tensors, 96,800 bytes measured: token_embd and output 64 x 64 f16 (8,192
  // each), output_norm 256; blk.2: q and o 8,192 each, k and v 4,096 each, the 3 expert stacks
  // 2 x 64 x 32 f16 (8,192 each), the shared expert's 3 x 4,096, eh_proj 128 x 64 f16 16,384,
  // the router 64 x 2 f32 512, five norms of 256, the biases 256 + 128 + 128, exp_probs_b 32
  // (padded). vramcalc counts 800 bytes (0.8%) fewer: 288 of them are post_attention_norm (256)
  // and exp_probs_b (32), which its generic glm4moe reading leaves unmatched in the target too;
  // the other 512 (the size of the router, or of two norms) are not traced yet.
  const std::uint64_t file = 2 * 8192 + 256 + 2 * 8192 + 2 * 4096 + 3 * 8192 + 3 * 4096 + 16384 + 512 + 5 * 256 +
                             256 + 128 + 128 + 32;
  CHECK(file == 96'800ull);
  CHECK(d.weights_bytes == file - 800);
  // Its MTP context's compute buffer: the estimate of the target's own MTP context (the same
  // graph on the same shapes), 32 tokens x (mask 2 x 4,096 + 12 x FF 128 + 8 x 64 + 20) =
  // 328,320; measured 295,712 (+11%), the target's 328,480.
  CHECK(d.compute_bytes == 32ull * (2 * 4096 + 12 * 128 + 8 * 64 + 20));
  CHECK(r.host.compute_bytes == target_compute + d.compute_bytes);
  // The two contexts' caches on the host.
  CHECK(r.host.kv_bytes == 2 * 1'572'864ull);
}

TEST_CASE("draft-mtp with --spec-draft-model: a drafter without MTP layers is refused, the target need not have them") {
  const std::string data = std::string(VRAMCALC_TEST_DATA) + "/files/";
  const auto target = io::open_model_files(data + "tiny-glm4moe-mtp.gguf");
  REQUIRE(target.has_value());
  ModelSpec plain = tiny_glm4moe();
  plain.mtp_layers = 0;
  LlamaCppOptions o = cpu_options(true);
  o.cuda = false;
  o.mtp_on_draft = true;
  // A target without MTP layers drafts with a drafter: no refusal for it.
  LlamaCppResult r = llamacpp_plan(plain, format_of("gguf-f32"), 4096, 1, {}, 0, o);
  CHECK(r.error.empty());
  // common_speculative_init_result: llama_init_from_model of an MTP context on a model with
  // n_layer_nextn 0 fails ("failed to create MTP context").
  llamacpp_add_draft(r, DraftModel{plain, format_of("gguf-f32"), "plain"}, 1, {}, o);
  CHECK(r.error.find("the draft model: --spec-type draft-mtp: the model has no MTP") == 0);
  // Before PR #22673 there is no draft-mtp at all.
  o.release = 20260501;
  CHECK_FALSE(llamacpp_plan(plain, format_of("gguf-f32"), 4096, 1, {}, 0, o).error.empty());
}

TEST_CASE("Ollama 0.30.0 --draft: the Modelfile DRAFT as llama-server's MTP drafter, 4 draft tokens") {
  // llm/llama_server.go (v0.30.0): with a DraftModelPath EnableMTP stays off and
  // appendMTPDraftArgs passes --spec-type draft-mtp --spec-draft-n-max 4 --spec-draft-model PATH.
  const std::string data = std::string(VRAMCALC_TEST_DATA) + "/files/";
  const auto target = io::open_model_files(data + "tiny-glm4moe-mtp.gguf");
  const auto drafter = io::open_model_files(data + "mtp-tiny-glm4moe.gguf");
  REQUIRE(target.has_value());
  REQUIRE(drafter.has_value());
  const DraftModel draft{drafter->spec, drafter->format, "mtp-tiny-glm4moe.gguf"};
  OllamaEnv env;
  env.num_ctx = 4096;
  const GpuSpec& gpu = catalog_gpu("rtx4090");
  const OllamaResult r = ollama_plan(target->spec, target->format, OllamaRelease{0, 30, 0}, env, {gpu}, {}, &draft);
  REQUIRE(r.llamacpp.error.empty());
  CHECK(r.request.options.spec_mtp);
  CHECK(r.request.options.mtp_on_draft);
  CHECK_FALSE(r.llamacpp.mtp.has_value());
  REQUIRE(r.llamacpp.draft.has_value());
  CHECK(r.llamacpp.draft->mtp_layers == 1);
  // The drafter's MTP context: the target's cells (num_ctx x parallel), its 3 blocks cached.
  CHECK(r.llamacpp.draft->n_ctx == r.llamacpp.n_ctx);
  CHECK(r.llamacpp.draft->kv_bytes == r.llamacpp.n_ctx * 3 * 2 * 32 * 2);
  // One sequence: the target reserves logits for 1 x (1 + 4) outputs.
  CHECK(r.llamacpp.n_outputs == 5);
  // The target's 2 blocks, its MTP block and the output layer.
  CHECK(r.model_layers == 4);
  // Before 0.30.0 there is no drafting: the draft is not planned.
  const OllamaResult old = ollama_plan(target->spec, target->format, OllamaRelease{0, 29, 0}, env, {gpu}, {}, &draft);
  CHECK_FALSE(old.llamacpp.draft.has_value());
}
