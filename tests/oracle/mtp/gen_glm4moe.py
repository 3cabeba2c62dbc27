#!/usr/bin/env python3
"""Write a tiny glm4moe GGUF with one NextN/MTP block (block_count = N_LAYER + 1,
nextn_predict_layers 1) for the MTP probe (probe.cpp): zero weights, no tokenizer
(tokenizer.ggml.model "none" and glm4moe.vocab_size), with ../mmproj/minigguf.py (no numpy).

usage: python3 gen_glm4moe.py OUT.gguf [f16|f32] [N_EMBD N_HEAD N_HEAD_KV HEAD_DIM N_FF_EXP N_EXPERT N_USED N_VOCAB]

With MTP_ONLY=1 in the environment it writes an MTP drafter GGUF as convert_hf_to_gguf.py --mtp
does (conversion/glm.py filter_tensors with mtp_only): the same header, token_embd, output_norm,
output and the MTP block only, no repeating block's tensor.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "mmproj"))
from minigguf import Writer, GGML_F16, GGML_F32  # noqa: E402

out = sys.argv[1]
wt = GGML_F16 if (sys.argv[2] if len(sys.argv) > 2 else "f16") == "f16" else GGML_F32
N_VOCAB, N_EMBD, N_HEAD, N_HEAD_KV, HEAD_DIM = 512, 256, 4, 2, 64
N_FF, N_FF_EXP, N_EXPERT, N_USED, N_LAYER, N_NEXTN = 512, 128, 4, 2, 2, 1
if len(sys.argv) > 3:
    N_EMBD, N_HEAD, N_HEAD_KV, HEAD_DIM, N_FF_EXP, N_EXPERT, N_USED, N_VOCAB = map(int, sys.argv[3:11])
    N_FF = 2 * N_EMBD
N_ALL = N_LAYER + N_NEXTN
A = "glm4moe."

w = Writer(out)
w.add_str("general.architecture", "glm4moe")
w.add_str("general.name", "tiny-glm4moe-mtp")
for k, v in [("block_count", N_ALL), ("context_length", 4096), ("embedding_length", N_EMBD),
             ("feed_forward_length", N_FF), ("attention.head_count", N_HEAD),
             ("attention.head_count_kv", N_HEAD_KV), ("attention.key_length", HEAD_DIM),
             ("attention.value_length", HEAD_DIM), ("rope.dimension_count", HEAD_DIM // 2),
             ("vocab_size", N_VOCAB), ("expert_count", N_EXPERT), ("expert_used_count", N_USED),
             ("expert_shared_count", 1), ("expert_feed_forward_length", N_FF_EXP),
             ("leading_dense_block_count", 1), ("expert_gating_func", 2), ("nextn_predict_layers", N_NEXTN)]:
    w.add_u32(A + k, v)
w.add_f32(A + "rope.freq_base", 10000.0)
w.add_f32(A + "attention.layer_norm_rms_epsilon", 1e-5)
w.add_f32(A + "expert_weights_scale", 1.0)
w.add_bool(A + "expert_weights_norm", True)
w.add_str("tokenizer.ggml.model", "none")


def t(name, ne, norm=False):  # ne in GGUF order: [ne0, ne1, ...]
    w.add_tensor(name, ne, GGML_F32 if norm or len(ne) == 1 else wt)


t("token_embd.weight", [N_EMBD, N_VOCAB])
MTP_ONLY = os.environ.get("MTP_ONLY") == "1"
for i in range(N_LAYER if MTP_ONLY else 0, N_ALL):
    p = f"blk.{i}."
    t(p + "attn_norm.weight", [N_EMBD], True)
    t(p + "attn_q.weight", [N_EMBD, N_HEAD * HEAD_DIM])
    t(p + "attn_k.weight", [N_EMBD, N_HEAD_KV * HEAD_DIM])
    t(p + "attn_v.weight", [N_EMBD, N_HEAD_KV * HEAD_DIM])
    t(p + "attn_q.bias", [N_HEAD * HEAD_DIM], True)
    t(p + "attn_k.bias", [N_HEAD_KV * HEAD_DIM], True)
    t(p + "attn_v.bias", [N_HEAD_KV * HEAD_DIM], True)
    t(p + "attn_output.weight", [N_HEAD * HEAD_DIM, N_EMBD])
    t(p + "post_attention_norm.weight", [N_EMBD], True)
    if i == 0:
        t(p + "ffn_gate.weight", [N_EMBD, N_FF])
        t(p + "ffn_up.weight", [N_EMBD, N_FF])
        t(p + "ffn_down.weight", [N_FF, N_EMBD])
    else:
        t(p + "ffn_gate_inp.weight", [N_EMBD, N_EXPERT], True)
        t(p + "exp_probs_b.bias", [N_EXPERT], True)
        t(p + "ffn_gate_exps.weight", [N_EMBD, N_FF_EXP, N_EXPERT])
        t(p + "ffn_up_exps.weight", [N_EMBD, N_FF_EXP, N_EXPERT])
        t(p + "ffn_down_exps.weight", [N_FF_EXP, N_EMBD, N_EXPERT])
        t(p + "ffn_gate_shexp.weight", [N_EMBD, N_FF_EXP])
        t(p + "ffn_up_shexp.weight", [N_EMBD, N_FF_EXP])
        t(p + "ffn_down_shexp.weight", [N_FF_EXP, N_EMBD])
    if i >= N_LAYER:
        t(p + "nextn.eh_proj.weight", [2 * N_EMBD, N_EMBD])
        t(p + "nextn.enorm.weight", [N_EMBD], True)
        t(p + "nextn.hnorm.weight", [N_EMBD], True)
        t(p + "nextn.shared_head_norm.weight", [N_EMBD], True)
t("output_norm.weight", [N_EMBD], True)
t("output.weight", [N_EMBD, N_VOCAB])
w.write()
print("wrote", out)
