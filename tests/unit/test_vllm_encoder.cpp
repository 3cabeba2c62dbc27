// vLLM's profiling of a multimodal encoder (docs/engines.md, "Multimodal encoders"): the
// encoder budget and item count it logs, and the dummy outputs its profile run holds through
// the LM forward and the sampler, per release; --limit-mm-per-prompt, --language-model-only,
// --skip-mm-profiling.
#include "helpers.hpp"
#include "../support/deployment_keys.hpp"
#include "../support/gguf_writer.hpp"
#include "vramcalc/engine.hpp"
#include "vramcalc/estimate.hpp"
#include "vramcalc/io/gguf_lora.hpp"
#include "vramcalc/io/hf_config.hpp"

#include <algorithm>

using namespace vramcalc;
using vramcalc::test::catalog;
using vramcalc::test::model;

namespace {

WeightFormat bf16() { return parse_weight_format("bf16", Dtype::bf16).value(); }

VllmOptions version(std::uint32_t minor) {
  VllmOptions o;
  o.version_minor = minor;
  return o;
}

VllmOptions limits(std::uint32_t minor, const char* json) {
  VllmOptions o = version(minor);
  REQUIRE_FALSE(parse_vllm_mm_limits(json, o).has_value());
  return o;
}

const GpuSpec& h100() { return **catalog().find_gpu("h100"); }

} // namespace

TEST_CASE("Gemma-3-27B on an H100, max_model_len 4096, two images per prompt: budget 8192, 31 items", "[vllm-encoder]") {
  // t = 260 (256 soft tokens, the start/end tokens and their blank lines), e = 256, d_out 5376.
  // budget = max(8192, 260) = 8192; items = min(8192 // 260 = 31, 1024 seqs x min(2, 4096 // 260 = 15)).
  const ModelSpec& m = model("gemma-3-27b");
  const VllmEncoder e10 = vllm_encoder(m, 4096, 8192, 1024, limits(10, R"({"image": 2})"));
  CHECK(e10.profiled);
  CHECK(e10.budget_tokens == 8192);
  CHECK(e10.items == 31);
  CHECK(8192 / 260 == 31);
  // 0.10: the outputs as returned, 31 x 256 x 5376 x 2 = 85,327,872 (81.4 MiB).
  CHECK(e10.rows_per_item == 256);
  CHECK(e10.held_bytes == 31ull * 256 * 5376 * 2);
  CHECK(e10.held_bytes == 85'327'872ull);
  // 0.11 (PR #25810) pads each to the budget: 31 x 8192 x 5376 x 2 = 2,730,491,904 (2.54 GiB).
  const VllmEncoder e11 = vllm_encoder(m, 4096, 8192, 1024, limits(11, R"({"image": 2})"));
  CHECK(e11.rows_per_item == 8192);
  CHECK(e11.held_bytes == 2'730'491'904ull);
  // 0.12 (PR #29386) pads to t: 31 x 260 x 5376 x 2 = 86,661,120.
  CHECK(vllm_encoder(m, 4096, 8192, 1024, limits(12, R"({"image": 2})")).held_bytes == 86'661'120ull);
  // 0.21 (PR #30475): as returned again.
  CHECK(vllm_encoder(m, 4096, 8192, 1024, limits(21, R"({"image": 2})")).held_bytes == 85'327'872ull);
  // In the plan: on top of the profile run's peak, H100 defaults (mnbt 8192, 1024 seqs).
  const VllmResult with = vllm_plan(m, bf16(), Dtype::bf16, 4096, h100(), Parallel{}, limits(11, R"({"image": 2})"));
  const VllmResult without = vllm_plan(m, bf16(), Dtype::bf16, 4096, h100(), Parallel{}, limits(11, R"({"image": 0})"));
  CHECK(with.encoder.items == 31);
  CHECK(with.activation_bytes == without.activation_bytes + 2'730'491'904ull);
  // 0.11 still loads Gemma 3's tower with every limit 0 (only from 0.15 is it dropped).
  CHECK(with.weights_bytes == without.weights_bytes);
  CHECK_FALSE(without.encoder.tower_dropped);
}

TEST_CASE("Qwen2.5-VL: one 16,384-token image fills the budget", "[vllm-encoder]") {
  // t = e = 16384 (3584 x 3584 px, 14 px patches merged 2 x 2); budget = max(8192, 16384).
  // items = max(1, min(16384 // 16384, 1024 x max(1, min(999, 8192 // 16384 = 0)))) = 1.
  const VllmEncoder e = vllm_encoder(model("qwen2.5-vl-7b"), 8192, 8192, 1024, version(11));
  CHECK(e.budget_tokens == 16384);
  CHECK(e.items == 1);
  // 16384 x 3584 x 2 = 117,440,512 (112 MiB) in every release: nothing padded.
  CHECK(e.held_bytes == 16384ull * 3584 * 2);
  CHECK(vllm_encoder(model("qwen2.5-vl-7b"), 8192, 8192, 1024, version(21)).held_bytes == 117'440'512ull);
  // Qwen3-VL returns out_hidden_size x (1 + 3 DeepStack levels): 16384 x 16384 x 2 = 512 MiB.
  CHECK(vllm_encoder(model("qwen3-vl-8b"), 8192, 8192, 1024, version(21)).held_bytes == 536'870'912ull);
}

TEST_CASE("Every modality 0, --language-model-only, --skip-mm-profiling", "[vllm-encoder]") {
  const ModelSpec& m = model("qwen2.5-vl-7b");
  // Qwen2.5-VL also takes video: an image limit of 0 leaves video profiled (not modelled).
  const VllmEncoder image_only_off = vllm_encoder(m, 8192, 8192, 1024, limits(21, R"({"image": 0})"));
  CHECK_FALSE(image_only_off.disabled);
  CHECK(image_only_off.held_bytes == 0);
  const VllmEncoder off = vllm_encoder(m, 8192, 8192, 1024, limits(21, R"({"image": 0, "video": {"count": 0}})"));
  CHECK(off.disabled);
  CHECK(off.tower_dropped); // 0.10.1+ for Qwen2.5-VL (PR #22299)
  VllmOptions lm = version(21);
  lm.language_model_only = true;
  CHECK(vllm_encoder(m, 8192, 8192, 1024, lm).disabled);
  VllmOptions skip = version(21);
  skip.skip_mm_profiling = true;
  const VllmEncoder s = vllm_encoder(m, 8192, 8192, 1024, skip);
  CHECK(s.skipped);
  CHECK(s.held_bytes == 0);
  CHECK_FALSE(s.tower_dropped);
  // The tower's weights leave "Model loading took": bf16, replicated.
  const VllmResult all = vllm_plan(m, bf16(), Dtype::bf16, 8192, h100(), Parallel{}, version(21));
  const VllmResult none = vllm_plan(m, bf16(), Dtype::bf16, 8192, h100(), Parallel{}, lm);
  CHECK(none.encoder.tower_bytes == 676'550'144ull * 2);
  CHECK(all.weights_bytes == none.weights_bytes + none.encoder.tower_bytes);
  CHECK(all.activation_bytes == none.activation_bytes + 117'440'512ull);
}

TEST_CASE("vLLM --limit-mm-per-prompt: good and bad input", "[vllm-encoder]") {
  VllmOptions o;
  CHECK(parse_vllm_mm_limits(R"({"image": 2, "audio": 0})", o) == std::nullopt);
  CHECK(o.mm_image_limit == 2u);
  CHECK_FALSE(o.mm_other_nonzero);
  CHECK(parse_vllm_mm_limits(R"({"image": {"count": 3, "width": 512, "height": 512}})", o) == std::nullopt);
  CHECK(o.mm_image_limit == 3u);
  CHECK(parse_vllm_mm_limits("image=2", o).has_value());
  CHECK(parse_vllm_mm_limits(R"({"image": -1})", o).has_value());
  CHECK(parse_vllm_mm_limits(R"({"image": {"width": 5}})", o).has_value());
  CHECK(parse_vllm_mm_limits(R"({"image": 2} x)", o).has_value());
}

TEST_CASE("Property over the catalog: the encoder term only adds, and only for vision models", "[vllm-encoder][catalog]") {
  for (const ModelSpec& m : catalog().models) {
    if (m.layers.empty()) continue;
    ModelSpec today = m;
    today.vision_profile.reset();
    for (const std::uint32_t minor : {10u, 11u, 12u, 21u}) {
      const VllmOptions o = version(minor);
      const VllmResult base = vllm_plan(today, bf16(), Dtype::bf16, 8192, h100(), Parallel{}, o);
      const VllmResult mm = vllm_plan(m, bf16(), Dtype::bf16, 8192, h100(), Parallel{}, o);
      INFO(m.id << " 0." << minor);
      CHECK(mm.weights_bytes == base.weights_bytes);
      CHECK(mm.activation_bytes >= base.activation_bytes);
      CHECK(mm.activation_bytes == base.activation_bytes + mm.encoder.held_bytes);
      CHECK(mm.kv_cache_memory_bytes <= base.kv_cache_memory_bytes);
      if (m.vision_params == 0) {
        // A text-only model: nothing changes, with or without the multimodal options.
        CHECK(mm.encoder.held_bytes == 0);
        const VllmResult zero = vllm_plan(m, bf16(), Dtype::bf16, 8192, h100(), Parallel{}, limits(minor, R"({"image": 0})"));
        CHECK(zero.kv_cache_memory_bytes == base.kv_cache_memory_bytes);
        continue;
      }
      // Every modality 0: today's numbers, less the tower's weights where this release drops it.
      const VllmResult zero = vllm_plan(m, bf16(), Dtype::bf16, 8192, h100(), Parallel{},
                                        limits(minor, R"({"image": 0, "video": 0, "audio": 0})"));
      CHECK(zero.activation_bytes == base.activation_bytes);
      CHECK(zero.weights_bytes + zero.encoder.tower_bytes == base.weights_bytes);
      CHECK((zero.encoder.tower_bytes > 0) == zero.encoder.tower_dropped);
    }
  }
}

TEST_CASE("vLLM encoder budget lines of public logs (tests/data/vllm/encoder_logs.md)", "[vllm-encoder]") {
  // Row 1: Gemma-3-27B, 0.11.0rc2 (before PR #25810, so 0.10's unpadded outputs), MI300X,
  // max_model_len 4096, {"image": 2}, mnbt 8192: "budget of 8192 tokens, and profiled with 31
  // image items".
  const GpuSpec& mi300x = **catalog().find_gpu("mi300x");
  const VllmResult g = vllm_plan(model("gemma-3-27b"), bf16(), Dtype::bf16, 4096, mi300x, Parallel{},
                                 limits(11, R"({"image": 2})"));
  CHECK(g.max_num_batched_tokens == 8192);
  CHECK(g.encoder.budget_tokens == 8192);
  CHECK(g.encoder.items == 31);
  // The log's "Available KV cache memory: 109.86 GiB" (205,696 tokens): vramcalc's 0.11 says
  // 109.35 GiB (204,752 tokens, -0.46%) with the 2.54 GiB padding the rc2 did not have yet; the
  // rc2's own peak held about 1.3 GiB more than vramcalc's unpadded figure (the encoder's
  // activation peak, not counted) and its weights 0.66 GiB more (51.79 GiB loaded).
  CHECK(g.kv_cache_tokens == 204'752);
  // Row 3: Qwen2.5-VL-3B, 0.11.0, max_model_len 8192: "budget of 16384 tokens ... 1 image items".
  const VllmEncoder q = vllm_encoder(model("qwen2.5-vl-3b"), 8192, 8192, 1024, version(11));
  CHECK(q.budget_tokens == 16384);
  CHECK(q.items == 1);
  // Row 2 (LLaVA-NeXT, not in the catalog; max_model_len 4096, max_num_seqs 1): one request
  // holding one image of t > 2048 tokens -> 1 item. The same with Mistral Small 3.1 (t 3080):
  // min(8192 // 3080 = 2, 1 x min(999, 4096 // 3080 = 1)) = 1; Gemma 3 (t 260) would fit 15.
  CHECK(vllm_encoder(model("mistral-small-3.1-24b"), 4096, 8192, 1, version(11)).items == 1);
  CHECK(vllm_encoder(model("gemma-3-27b"), 4096, 8192, 1, version(11)).items == 15);
  // Row 6 (Ministral 3, Pixtral's processor as Mistral Small 3.1's, t = 3080): 8192 // 3080 = 2 items.
  CHECK(vllm_encoder(model("mistral-small-3.1-24b"), 8192, 8192, 1024, version(21)).items == 2);
  // Row 10 (Mistral Small 3.1 on 0.8.3: 3 items) is a release vramcalc runs as V0: not modelled.
  CHECK_FALSE(vllm_encoder(model("mistral-small-3.1-24b"), 65536, 8192, 1024, version(8)).profiled);
}

TEST_CASE("llama.cpp --mmproj: the projector's weights on the first GPU or in system RAM", "[vllm-encoder][llamacpp]") {
  const ModelSpec& m = model("gemma-3-27b");
  const WeightFormat q4 = parse_weight_format("q4_k_m", Dtype::bf16).value();
  const std::vector<GpuSpec> two(2, **catalog().find_gpu("rtx4090"));
  LlamaCppOptions o;
  const LlamaCppResult base = llamacpp_plan(m, q4, 8192, 1, two, 0, o);
  // The plan itself does not add it (the section does: detail::add_mmproj); check the sizes
  // the option gives: bf16 -> 423,060,336 x 2 = 846,120,672 bytes (806.9 MiB).
  CHECK(m.vision_params * 2 == 846'120'672ull);
  CHECK(base.mmproj_bytes == 0);
  Settings s;
  const auto spec = std::find_if(llamacpp_option_specs().begin(), llamacpp_option_specs().end(),
                                 [](const EngineOptionSpec& x) { return x.flag() == "--mmproj"; });
  REQUIRE(spec != llamacpp_option_specs().end());
  CHECK_FALSE(spec->apply("bf16", s).has_value());
  CHECK(s.engine_options.llamacpp.mmproj_dtype == Dtype::bf16);
  CHECK_FALSE(spec->apply("888MiB", s).has_value());
  CHECK(s.engine_options.llamacpp.mmproj_size_bytes == 888ull * 1024 * 1024);
  CHECK_FALSE(s.engine_options.llamacpp.mmproj_dtype.has_value());
  CHECK(spec->apply("q4_0", s).has_value());
}

TEST_CASE("llama.cpp --mmproj FILE.gguf: the projector's tensors summed from its header", "[vllm-encoder][llamacpp]") {
  using namespace vramcalc::test;
  // A projector as convert_hf_to_gguf.py --mmproj writes one: general.architecture "clip".
  GgufWriter w;
  w.str("general.architecture", "clip").str("general.type", "mmproj");
  w.tensor("v.patch_embd.weight", g_f16, {14, 14, 3, 1152})    // 14 x 14 x 3 x 1,152 x 2 = 1,354,752
      .tensor("v.blk.0.attn_q.weight", g_f16, {1152, 1152})    // 1,152 x 1,152 x 2 = 2,654,208
      .tensor("v.blk.0.ln1.weight", g_f32, {1152})             // 1,152 x 4 = 4,608
      .tensor("mm.input_projection.weight", g_f16, {1152, 5376}); // 1,152 x 5,376 x 2 = 12,386,304
  auto f = io::parse_gguf(io::memory_source(w.bytes()), "mmproj.gguf");
  REQUIRE(f.has_value());
  const auto m = io::llamacpp_mmproj_from_gguf(*f);
  REQUIRE(m.has_value());
  CHECK(m->tensors == 4);
  CHECK(m->bytes == 1'354'752ull + 2'654'208ull + 4'608ull + 12'386'304ull);
  CHECK(m->bytes == 16'399'872ull);
  // The option takes the file's name; the application reads it into mmproj_size_bytes, which the
  // plan puts on the first GPU like the f16 / SIZE forms.
  Settings s;
  const auto spec = std::find_if(llamacpp_option_specs().begin(), llamacpp_option_specs().end(),
                                 [](const EngineOptionSpec& x) { return x.flag() == "--mmproj"; });
  REQUIRE(spec != llamacpp_option_specs().end());
  CHECK_FALSE(spec->apply("models/mmproj-F16.GGUF", s).has_value());
  CHECK(s.engine_options.llamacpp.mmproj_file == "models/mmproj-F16.GGUF");
  CHECK_FALSE(s.engine_options.llamacpp.mmproj_size_bytes.has_value());
  CHECK_FALSE(spec->apply("f16", s).has_value());
  CHECK(s.engine_options.llamacpp.mmproj_file.empty());

  GgufWriter model_file;
  model_file.str("general.architecture", "llama").tensor("token_embd.weight", g_f16, {64, 64});
  const auto refused = io::llamacpp_mmproj_from_gguf(*io::parse_gguf(io::memory_source(model_file.bytes()), "m.gguf"));
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message == "m.gguf: not a multimodal projector (general.architecture 'llama'; llama.cpp's mmproj files are 'clip')");
}

TEST_CASE("check --llama-server: -mm / --mmproj and --no-mmproj-offload are read, not ignored", "[vllm-encoder][llamacpp]") {
  const auto d = io::deployment_from_llama_server(
      "llama-server -m gemma-3-27b-it-Q4_K_M.gguf -mm mmproj-model-f16.gguf --no-mmproj-offload -c 8192 -np 1");
  REQUIRE(d.has_value());
  CHECK(vramcalc::test::opt(*d, "mmproj") == "mmproj-model-f16.gguf");
  CHECK(vramcalc::test::opt(*d, "no_mmproj_offload") == "true");
  CHECK(d->ignored.empty());
  const auto l = io::deployment_from_llama_server("llama-server -m m.gguf --mmproj 888MiB -c 4096 -np 1");
  REQUIRE(l.has_value());
  CHECK(vramcalc::test::opt(*l, "mmproj") == "888MiB");
}

TEST_CASE("An imported Qwen2.5-VL 7B (config.json and preprocessor_config.json) gets its catalog twin's vLLM plan", "[vllm-encoder][hf]") {
  // The Hugging Face files of tests/data/hf: the tower counted from vision_config (676,550,144),
  // the encoder facts from the preprocessor (t = e = 16,384, d_out 3,584, video).
  const std::string dir = std::string(VRAMCALC_TEST_DATA) + "/hf/Qwen2.5-VL-7B-Instruct";
  const std::string text = io::read_text_file(dir + "/config.json", ErrorCode::invalid_model).value();
  io::HfImport imported = io::parse_hf_config(text, dir + "/config.json", "qwen2.5-vl-7b-instruct").value();
  REQUIRE_FALSE(io::add_hf_vision_profile(imported, dir, text, dir + "/config.json").has_value());
  const ModelSpec& cat = model("qwen2.5-vl-7b");
  CHECK(imported.spec.vision_params == 676'550'144ull);
  CHECK(imported.spec.vision_params == cat.vision_params);
  for (std::uint64_t len : {8192ull, 128000ull}) {
    INFO(len);
    const VllmResult a = vllm_plan(imported.spec, bf16(), Dtype::bf16, len, h100(), Parallel{}, VllmOptions{});
    const VllmResult b = vllm_plan(cat, bf16(), Dtype::bf16, len, h100(), Parallel{}, VllmOptions{});
    // The weights (the tower's 676,550,144 x 2 = 1,353,100,288 bytes in them), the encoder's
    // budget, items and held outputs (1 x 16,384 x 3,584 x 2 = 117,440,512 bytes), the
    // activation peak and the KV cache: the same numbers.
    CHECK(a.weights_bytes == b.weights_bytes);
    CHECK(a.encoder.profiled);
    CHECK(a.encoder.budget_tokens == b.encoder.budget_tokens);
    CHECK(a.encoder.items == b.encoder.items);
    CHECK(a.encoder.held_bytes == b.encoder.held_bytes);
    CHECK(a.encoder.held_bytes == 16'384ull * 3'584 * 2);
    CHECK(a.activation_bytes == b.activation_bytes);
    CHECK(a.kv_cache_memory_bytes == b.kv_cache_memory_bytes);
    CHECK(a.num_gpu_blocks == b.num_gpu_blocks);
  }
}
