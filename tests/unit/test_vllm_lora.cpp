// vLLM's LoRA slots (--enable-lora): the stacked lora_a / lora_b tensors it preallocates at
// load time, per GPU, per release (docs/engines.md, "LoRA"), and what they take from the KV
// cache budget.
#include "helpers.hpp"
#include "vramcalc/engine.hpp"

#include <algorithm>
#include <cmath>

using namespace vramcalc;
using vramcalc::test::catalog;
using vramcalc::test::model;

namespace {

WeightFormat fmt_of(const std::string& n) { return parse_weight_format(n, Dtype::bf16).value(); }

VllmOptions lora(std::uint32_t minor, std::uint32_t max_loras = 1, std::uint32_t rank = 16) {
  VllmOptions o;
  o.version_minor = minor;
  o.enable_lora = true;
  o.max_loras = max_loras;
  o.max_lora_rank = rank;
  return o;
}

} // namespace

TEST_CASE("LoRA slots, Llama-3.1-8B, tp 1, bf16, rank 16, one slot: v0.21 (no extra vocabulary)") {
  // h 4096, q 32 x 128 = 4096, k = v = 8 x 128 = 1024, I 14336, 32 layers, V 128256.
  // Per layer, elements of one slot over r: qkv lora_a 3h + lora_b (q + 2k); o_proj lora_a q
  // + lora_b h; gate_up lora_a 2h + lora_b 2I; down lora_a I + lora_b h:
  // 7h + 2q + 2k + 3I = 28672 + 8192 + 2048 + 43008 = 81920.
  // embed_tokens lora_a V + lora_b h; lm_head lora_a h + lora_b V: 2 x (128256 + 4096).
  const VllmLora l = vllm_lora(model("llama3.1-8b"), fmt_of("bf16"), Parallel{}, 0, lora(21));
  CHECK(7 * 4096 + 2 * 4096 + 2 * 1024 + 3 * 14336 == 81920);
  CHECK(l.lora_dtype_bytes == 2);
  CHECK_FALSE(l.extra_vocab);
  CHECK(l.slot_bytes == 2ull * 16 * (32 * 81920ull + 2 * (128256 + 4096)));
  CHECK(l.slot_bytes == 92'356'608ull); // 88.08 MiB; the layers alone 83,886,080 = 80 MiB
  CHECK(l.extra_vocab_bytes == 0);
  CHECK(l.total() == l.slot_bytes);
  CHECK(l.moe_layers + l.mla_layers + l.recurrent_layers == 0);
  // Quantized weights do not shrink them: lora_dtype is the model's dtype.
  CHECK(vllm_lora(model("llama3.1-8b"), fmt_of("awq"), Parallel{}, 0, lora(21)).slot_bytes == l.slot_bytes);
  // Linear in max_loras x max_lora_rank: 4 slots of rank 64 are 16 times as much (1.38 GiB).
  const VllmLora big = vllm_lora(model("llama3.1-8b"), fmt_of("bf16"), Parallel{}, 0, lora(21, 4, 64));
  CHECK(big.slot_bytes == 16 * l.slot_bytes);
  CHECK(big.slot_bytes == 1'477'705'728ull);
  // --max-loras / --max-lora-rank without --enable-lora: nothing.
  VllmOptions off = lora(21, 4, 64);
  off.enable_lora = false;
  CHECK(vllm_lora(model("llama3.1-8b"), fmt_of("bf16"), Parallel{}, 0, off).total() == 0);
}

TEST_CASE("LoRA slots before v0.12: the extra vocabulary of 256 tokens") {
  // v0.11: embed_tokens lora_a [1, V + 256, r]; lm_head lora_b [1, 1, ceil((V + 256) / 256) x
  // 256, r] = 128512 rows (V = 128256 = 501 x 256). Then the extra vocabulary itself:
  // embeddings_tensors [1, 256, h] in both layers (model dtype), the embedding's 256 x
  // max_loras more rows and the head's 256 more (padded to 256 rather than 64: 128256 either
  // way), h x 2 bytes each.
  const VllmLora l = vllm_lora(model("llama3.1-8b"), fmt_of("bf16"), Parallel{}, 0, lora(11));
  CHECK(l.extra_vocab);
  CHECK(l.slot_bytes == 2ull * 16 * (32 * 81920ull + (128256 + 256 + 4096) + (4096 + 128512)));
  CHECK(l.slot_bytes == 92'372'992ull);
  CHECK(l.extra_vocab_bytes == 2 * (256ull * 4096 * 2) + 256ull * 4096 * 2 + 256ull * 4096 * 2);
  CHECK(l.extra_vocab_bytes == 8'388'608ull);
  CHECK(l.total() == 100'761'600ull); // 96.09 MiB
  // Four slots: the embedding grows by 4 x 256 rows, the head by 256; the tensors by 4 each.
  const VllmLora four = vllm_lora(model("llama3.1-8b"), fmt_of("bf16"), Parallel{}, 0, lora(11, 4));
  CHECK(four.extra_vocab_bytes == 2 * (4 * 256ull * 4096 * 2) + 4 * 256ull * 4096 * 2 + 256ull * 4096 * 2);
  // 0.10 has it too; 0.12 does not (PR #28382 / #28545).
  CHECK(vllm_lora(model("llama3.1-8b"), fmt_of("bf16"), Parallel{}, 0, lora(10)).extra_vocab);
  CHECK_FALSE(vllm_lora(model("llama3.1-8b"), fmt_of("bf16"), Parallel{}, 0, lora(12)).extra_vocab);
  // A tied head is the embedding: no head rows of its own. Llama-3.2-1B: h 2048, V 128256.
  const VllmLora tied = vllm_lora(model("llama3.2-1b"), fmt_of("bf16"), Parallel{}, 0, lora(11));
  CHECK(tied.extra_vocab_bytes == 2 * (256ull * 2048 * 2) + 256ull * 2048 * 2);
}

TEST_CASE("LoRA slots at tensor parallel 2: column lora_b and row lora_a are split, the rest is not") {
  // Per rank: q/t 2048, k 4 x 128 = 512, I/t 7168; lora_a of column layers (3h, 2h) and
  // lora_b of row layers (h, h) stay whole: 7h + 2 x 2048 + 2 x 512 + 3 x 7168 = 55296.
  // Embedding and head LoRA are whole on every rank.
  const Parallel tp2{2, 1, false};
  const VllmLora l = vllm_lora(model("llama3.1-8b"), fmt_of("bf16"), tp2, 0, lora(21));
  CHECK(7 * 4096 + 2 * 2048 + 2 * 512 + 3 * 7168 == 55296);
  CHECK(l.slot_bytes == 2ull * 16 * (32 * 55296ull + 2 * (128256 + 4096)));
  CHECK(l.slot_bytes == 65'093'632ull);
  // --fully-sharded-loras: column lora_a takes r / t = 8 rows, row lora_b h / t = 2048 rows.
  // Per layer: 8 x (3h + 2h) + 16 x (2048 + 2 x 512 + 2048 + 2048 + 2 x 7168 + 7168 + 2048).
  VllmOptions fs = lora(21);
  fs.fully_sharded_loras = true;
  const VllmLora f = vllm_lora(model("llama3.1-8b"), fmt_of("bf16"), tp2, 0, fs);
  const std::uint64_t per_layer = 8ull * 5 * 4096 + 16ull * (2048 + 2 * 512 + 2048 + 2048 + 2 * 7168 + 7168 + 2048);
  CHECK(per_layer == 655'360ull);
  CHECK(f.slot_bytes == 2 * (32 * per_layer + 16ull * 2 * (128256 + 4096)));
  // Before v0.12 the base weights' extra rows are sharded too: (256 + 256) / 2 rows each.
  const VllmLora old = vllm_lora(model("llama3.1-8b"), fmt_of("bf16"), tp2, 0, lora(11));
  CHECK(old.extra_vocab_bytes == 2 * (256ull * 4096 * 2) + 128ull * 4096 * 2 + 128ull * 4096 * 2);
}

TEST_CASE("LoRA slots: KV heads replicated below one per rank; pipeline stages hold their own layers") {
  // Qwen2.5-7B (h 3584, 28 heads x 128, 4 KV heads, I 18944, V 152064) at tp 8: q/t 448, one
  // KV head per rank (replicated) = 128, I/t 2368.
  const Parallel tp8{8, 1, false};
  const VllmLora l = vllm_lora(model("qwen2.5-7b"), fmt_of("bf16"), tp8, 0, lora(21));
  const std::uint64_t per_layer = 7ull * 3584 + 2 * 448 + 2 * 128 + 3 * 2368;
  CHECK(l.slot_bytes == 2ull * 16 * (28 * per_layer + 2 * (152064 + 3584)));
  // pp 2: stage 0 has layers 0-15 and the embedding, stage 1 layers 16-31 and the head.
  const Parallel pp2{1, 2, false};
  const VllmLora s0 = vllm_lora(model("llama3.1-8b"), fmt_of("bf16"), pp2, 0, lora(21));
  const VllmLora s1 = vllm_lora(model("llama3.1-8b"), fmt_of("bf16"), pp2, 1, lora(21));
  CHECK(s0.slot_bytes == 2ull * 16 * (16 * 81920ull + 128256 + 4096));
  CHECK(s1.slot_bytes == s0.slot_bytes);
}

TEST_CASE("LoRA slots: --lora-target-modules from v0.19 only") {
  VllmOptions o = lora(21);
  o.lora_target_modules = vllm_lora_o_proj | vllm_lora_down_proj;
  // o_proj: lora_a q + lora_b h; down_proj: lora_a I + lora_b h; nothing else.
  const VllmLora l = vllm_lora(model("llama3.1-8b"), fmt_of("bf16"), Parallel{}, 0, o);
  CHECK(l.target_modules_applied);
  CHECK(l.slot_bytes == 2ull * 16 * 32 * (4096 + 4096 + 14336 + 4096));
  o.version_minor = 18; // not yet there: every module
  const VllmLora before = vllm_lora(model("llama3.1-8b"), fmt_of("bf16"), Parallel{}, 0, o);
  CHECK_FALSE(before.target_modules_applied);
  CHECK(before.slot_bytes == 92'356'608ull);
}

TEST_CASE("LoRA slots, Qwen3-30B-A3B, rank 16, one slot: the routed experts from v0.12 (FusedMoEWithLoRA)") {
  // h 2048, 32 heads x 128 = 4096, 4 KV heads x 128 = 512, 48 layers, every MLP a MoE block of
  // 128 experts of I 768, router ReplicatedLinear(h, 128), V 151936 (untied), bf16.
  const ModelSpec& m = model("qwen3-30b-a3b");
  const VllmLora l = vllm_lora(m, fmt_of("bf16"), Parallel{}, 0, lora(21));
  // Per layer, one slot, elements: qkv 16 x (3 x 2048 + 4096 + 2 x 512) = 180,224; o_proj
  // 16 x (4096 + 2048) = 98,304; router 16 x (2048 + 128) = 34,816: 313,344. Embedding and
  // head 2 x 16 x (151936 + 2048) = 4,927,488.
  CHECK(16 * (3 * 2048 + 4096 + 2 * 512) + 16 * (4096 + 2048) + 16 * (2048 + 128) == 313344);
  CHECK(l.slot_bytes == 2ull * (48 * 313344ull + 2 * 16 * (151936 + 2048)));
  CHECK(l.slot_bytes == 39'936'000ull);
  // Routed experts, per expert: w13_lora_a 2 x [16, 2048], w13_lora_b 2 x [768, 16], w2_lora_a
  // [16, 768], w2_lora_b [2048, 16]: 65,536 + 24,576 + 12,288 + 32,768 = 135,168 elements;
  // x 128 experts x 2 bytes = 34,603,008, + adapter_enabled int32 [2] = 34,603,016 a layer.
  CHECK(2 * 16 * 2048 + 2 * 768 * 16 + 16 * 768 + 2048 * 16 == 135168);
  CHECK(l.expert_bytes == 48 * (128 * 135168ull * 2 + 4 * 2));
  CHECK(l.expert_bytes == 1'660'944'768ull); // the ~1.6 GB the earlier note estimated
  CHECK(l.expert_layers == 48);
  CHECK_FALSE(l.experts_3d);
  CHECK(l.total() == 1'700'880'768ull);
  CHECK(l.moe_layers + l.mla_layers + l.recurrent_layers == 0);
  // tp 2: I / 2 = 384 per rank: 65,536 + 2 x 384 x 16 + 16 x 384 + 32,768 = 116,736 per expert.
  const VllmLora t2 = vllm_lora(m, fmt_of("bf16"), Parallel{2, 1}, 0, lora(21));
  CHECK(t2.expert_bytes == 48 * (128 * 116736ull * 2 + 8));
  // Linear in slots x rank, but for the int32 flags: 4 slots of rank 64.
  const VllmLora big = vllm_lora(m, fmt_of("bf16"), Parallel{}, 0, lora(21, 4, 64));
  CHECK(big.expert_bytes == 48 * (16 * 128 * 135168ull * 2 + 4 * 5));
  // --lora-target-modules without experts (v0.19+) leaves them out.
  VllmOptions o = lora(21);
  o.lora_target_modules = vllm_lora_qkv_proj | vllm_lora_o_proj;
  const VllmLora attn = vllm_lora(m, fmt_of("bf16"), Parallel{}, 0, o);
  CHECK(attn.expert_bytes == 0);
  CHECK(attn.slot_bytes == 2ull * 48 * (180224 + 98304));
  // v0.11: the experts are not counted (0.11.0 has no FusedMoEWithLoRA; its later patch
  // releases have), and the note says so; v0.10 applies no LoRA to experts at all.
  const VllmLora v11 = vllm_lora(m, fmt_of("bf16"), Parallel{}, 0, lora(11));
  CHECK(v11.expert_bytes == 0);
  CHECK(v11.moe_layers == 48);
  const VllmLora v10 = vllm_lora(m, fmt_of("bf16"), Parallel{}, 0, lora(10));
  CHECK(v10.expert_bytes == 0);
  CHECK(v10.moe_layers == 0);
  CHECK(v10.experts_unwrapped);
  Settings s;
  s.weights = fmt_of("bf16");
  s.context_tokens = 4096;
  s.engine = EngineKind::vllm;
  s.engine_options.vllm = lora(11);
  s.gpus.push_back(GpuRequest{**catalog().find_gpu("h100"), 1});
  const auto r = estimate(m, s, catalog().gpus);
  REQUIRE(r);
  const auto& notes = r->engine->notes;
  CHECK(std::any_of(notes.begin(), notes.end(), [](const std::string& n) { return n.find("routed experts of 48") != std::string::npos; }));
}

TEST_CASE("LoRA slots, gpt-oss-20b: 3D experts (is_3d_moe_weight), no wrapped router") {
  // h 2880, 32 experts of I 2880, 24 layers. FusedMoE3DWithLoRA: w13_lora_a one [16, 2880],
  // w13_lora_b [2 x 2880, 16], w2_lora_a [16, 2880], w2_lora_b [2880, 16]:
  // 46,080 + 92,160 + 46,080 + 46,080 = 230,400 elements per expert.
  const VllmLora l = vllm_lora(model("gpt-oss-20b"), fmt_of("bf16"), Parallel{}, 0, lora(21));
  CHECK(l.experts_3d);
  CHECK(16 * 2880 + 2 * 2880 * 16 + 16 * 2880 + 2880 * 16 == 230400);
  CHECK(l.expert_bytes == 24 * (32 * 230400ull * 2 + 8));
  CHECK(l.expert_bytes == 353'894'592ull);
  CHECK((l.modules & vllm_lora_gate) == 0); // the router is a torch.nn.Linear
}

TEST_CASE("LoRA slots, MLA: DeepSeek-V2-Lite (no q_lora_rank) and DeepSeek-V3") {
  // V2-Lite: h 2048, 16 heads, nope 128, rope 64, v 128, kv_lora_rank 512. Per layer, one slot:
  // q_proj 16 x (2048 + 16 x 192) = 81,920; kv_a_proj_with_mqa 16 x (2048 + 576) = 41,984;
  // kv_b_proj 16 x (512 + 16 x 256) = 73,728; o_proj 16 x (16 x 128 + 2048) = 65,536.
  const ModelSpec& lite = model("deepseek-v2-lite");
  VllmOptions o = lora(21);
  o.lora_target_modules = vllm_lora_q_proj | vllm_lora_fused_qkv_a_proj | vllm_lora_kv_b_proj | vllm_lora_o_proj;
  const VllmLora d = vllm_lora(lite, fmt_of("bf16"), Parallel{}, 0, o);
  CHECK(d.mla_layers == 0);
  CHECK(81920 + 41984 + 73728 + 65536 == 263168);
  CHECK(d.slot_bytes == 2ull * lite.num_layers * 263168);
  CHECK(d.expert_bytes == 0);
  // V3: h 7168, 128 heads, q_lora_rank 1536. fused_qkv_a_proj 16 x (2 x 7168 + 1536 + 576) =
  // 263,168; q_b_proj 16 x (1536 + 128 x 192) = 417,792; kv_b_proj 16 x (512 + 128 x 256) =
  // 532,480; o_proj 16 x (128 x 128 + 7168) = 376,832: 1,590,272 per layer.
  const ModelSpec& v3 = model("deepseek-v3");
  o.lora_target_modules = vllm_lora_fused_qkv_a_proj | vllm_lora_q_b_proj | vllm_lora_kv_b_proj | vllm_lora_o_proj;
  const VllmLora d3 = vllm_lora(v3, fmt_of("bf16"), Parallel{}, 0, o);
  CHECK(263168 + 417792 + 532480 + 376832 == 1590272);
  CHECK(d3.slot_bytes == 2ull * v3.num_layers * 1590272);
  // Every module at rank 16: 256 experts of 2048 in 58 MoE layers, 226,492,424 bytes each
  // (256 x 2 x 16 x (2 x 7168 + 2 x 2048 + 2048 + 7168) + 8); the router is a GateLinear.
  const VllmLora all = vllm_lora(v3, fmt_of("bf16"), Parallel{}, 0, lora(21));
  CHECK(all.expert_layers == 58);
  CHECK(all.expert_bytes == 58 * (256ull * 2 * 16 * (2 * 7168 + 2 * 2048 + 2048 + 7168) + 8));
  CHECK(all.expert_bytes == 13'136'560'592ull);
  CHECK((all.modules & vllm_lora_gate) == 0);
}

TEST_CASE("LoRA takes its slots from the KV cache budget, exactly") {
  const GpuSpec& h100 = **catalog().find_gpu("h100");
  for (const std::uint32_t minor : {6u, 10u, 11u, 21u}) {
    INFO("0." << minor);
    VllmOptions base;
    base.version_minor = minor;
    const VllmResult without = vllm_plan(model("llama3.1-8b"), fmt_of("bf16"), Dtype::bf16, 8192, h100, Parallel{}, base);
    const VllmResult with = vllm_plan(model("llama3.1-8b"), fmt_of("bf16"), Dtype::bf16, 8192, h100, Parallel{},
                                      lora(minor, 4, 64));
    CHECK(with.weights_bytes == without.weights_bytes);
    CHECK(with.activation_bytes == without.activation_bytes);
    CHECK(with.lora.total() > 0);
    CHECK(with.kv_budget_bytes == without.kv_budget_bytes - static_cast<std::int64_t>(with.lora.total()));
    CHECK(with.num_gpu_blocks < without.num_gpu_blocks);
  }
}

TEST_CASE("V0 does not turn chunked prefill on with LoRA") {
  // Above 32K V0 chunks prefill (2,048 tokens a step), except with LoRA
  // (EngineArgs.create_engine_config, 0.6-0.9): then a step holds a whole prompt.
  const GpuSpec& h100 = **catalog().find_gpu("h100");
  VllmOptions v0;
  v0.version_minor = 7;
  CHECK(vllm_plan(model("llama3.1-8b"), fmt_of("bf16"), Dtype::bf16, 65536, h100, Parallel{}, v0).max_num_batched_tokens ==
        2048);
  CHECK(vllm_plan(model("llama3.1-8b"), fmt_of("bf16"), Dtype::bf16, 65536, h100, Parallel{}, lora(7))
            .max_num_batched_tokens == 65536);
}

TEST_CASE("LoRA over the catalog: never less memory, and without --enable-lora today's numbers exactly") {
  const GpuSpec& h100 = **catalog().find_gpu("h100");
  for (const ModelSpec& m : catalog().models) {
    for (const std::uint32_t minor : {11u, 21u}) {
      INFO(m.id << " 0." << minor);
      VllmOptions base;
      base.version_minor = minor;
      const VllmResult without = vllm_plan(m, fmt_of("bf16"), Dtype::bf16, 8192, h100, Parallel{}, base);
      // The LoRA options without --enable-lora change nothing.
      VllmOptions off = lora(minor, 8, 128);
      off.enable_lora = false;
      off.lora_options_given = true;
      off.fully_sharded_loras = true;
      const VllmResult same = vllm_plan(m, fmt_of("bf16"), Dtype::bf16, 8192, h100, Parallel{}, off);
      CHECK(same.lora.total() == 0);
      CHECK(same.weights_bytes == without.weights_bytes);
      CHECK(same.activation_bytes == without.activation_bytes);
      CHECK(same.kv_budget_bytes == without.kv_budget_bytes);
      CHECK(same.num_gpu_blocks == without.num_gpu_blocks);
      CHECK(same.kv_cache_tokens == without.kv_cache_tokens);
      const VllmResult with = vllm_plan(m, fmt_of("bf16"), Dtype::bf16, 8192, h100, Parallel{}, lora(minor));
      CHECK(with.lora.total() > 0); // at least the embedding's and the head's slots
      CHECK(with.kv_budget_bytes <= without.kv_budget_bytes);
      CHECK(with.num_gpu_blocks <= without.num_gpu_blocks);
      CHECK(with.kv_budget_bytes == without.kv_budget_bytes - static_cast<std::int64_t>(with.lora.total()));
    }
  }
}

TEST_CASE("Qwen2.5-7B with LoRA on vLLM 0.10.2 (H100): \"Model loading took 14.5499 GiB\"") {
  // The log (tests/data/measurements.md) does not give --max-lora-rank / --max-loras. Qwen2's
  // model file has no extra vocabulary of its own (only the Llama family's does), so before
  // v0.12 the LoRA layers alone carry it: embed lora_a V + 256 rows, the head's lora_b V
  // padded to 256 (152,064 = 594 x 256), embeddings_tensors 2 x [1, 256, h].
  // h 3584, q 3584, k 4 x 128 = 512, I 18944, 28 layers: 7h + 2q + 2k + 3I = 90112.
  const ModelSpec& m = model("qwen2.5-7b");
  const VllmLora r16 = vllm_lora(m, fmt_of("bf16"), Parallel{}, 0, lora(10));
  CHECK_FALSE(r16.model_extra_vocab);
  CHECK(r16.slot_bytes == 2ull * 16 * (28 * 90112ull + (152064 + 256 + 3584) + (3584 + 152064)));
  CHECK(r16.slot_bytes == 90'710'016ull);
  CHECK(r16.extra_vocab_bytes == 2 * 256ull * 3584 * 2);
  const VllmLora r64 = vllm_lora(m, fmt_of("bf16"), Parallel{}, 0, lora(10, 1, 64));
  CHECK(r64.total() == 4 * r16.slot_bytes + r16.extra_vocab_bytes);
  CHECK(r64.total() == 366'510'080ull);
  // Weights (14.2164 GiB predicted without LoRA, the log's base 14.5499 with it) + LoRA: the
  // default rank 16 leaves 1.7% unexplained; rank 64 comes within 0.1%.
  const VllmResult p = vllm_plan(m, fmt_of("bf16"), Dtype::bf16, 32768, **catalog().find_gpu("h100"), Parallel{}, lora(10, 1, 64));
  const double logged = 14.5499 * (1ull << 30);
  const double at64 = static_cast<double>(p.weights_bytes + p.lora.total());
  const double at16 = static_cast<double>(p.weights_bytes + r16.total());
  CHECK(std::abs(at64 / logged - 1) < 0.001);
  CHECK(at16 / logged - 1 < -0.015);
  CHECK(at16 / logged - 1 > -0.02);
  // Its "Available KV cache memory: 50.55 GiB" at utilization 0.85: within 1% at rank 64.
  VllmOptions o = lora(10, 1, 64);
  o.utilization_ppm = 850'000;
  const VllmResult kv = vllm_plan(m, fmt_of("bf16"), Dtype::bf16, 32768, **catalog().find_gpu("h100"), Parallel{}, o);
  CHECK(std::abs(static_cast<double>(kv.kv_cache_memory_bytes) / (50.55 * (1ull << 30)) - 1) < 0.01);
}

TEST_CASE("vLLM refuses LoRA for a vocabulary above 257,024 (258,048 from v0.12)") {
  ModelSpec m = model("llama3.1-8b");
  m.vocab_size = 257536; // between the two limits
  CHECK(vllm_lora(m, fmt_of("bf16"), Parallel{}, 0, lora(11)).refused_vocab_above == 257024);
  CHECK(vllm_lora(m, fmt_of("bf16"), Parallel{}, 0, lora(21)).refused_vocab_above == 0);
  m.vocab_size = 262144; // Gemma 3's
  CHECK(vllm_lora(m, fmt_of("bf16"), Parallel{}, 0, lora(21)).refused_vocab_above == 258048);
  VllmOptions off = lora(21);
  off.enable_lora = false;
  CHECK(vllm_lora(m, fmt_of("bf16"), Parallel{}, 0, off).refused_vocab_above == 0);
}
