#!/usr/bin/python3
"""Shaped projector GGUF (random-free: zeros) with few blocks, written with minigguf.py (pure python).
usage: python3 gen_mmproj.py KIND OUT.gguf N_BLOCK [IMAGE_SIZE] [MMTYPE]
KIND: gemma3 (SigLIP-So400m 896/14, 1152 wide, 16 heads, ffn 4304, proj 2560)
      qwen25vl (Qwen2.5-VL-7B tower: 1280 wide, 16 heads, ffn 3420, patch 14, proj 3584, n_wa_pattern 8)
Matrices are F16 (as the converter writes mmproj-*-f16.gguf), 1-D tensors F32.
"""
import sys
from minigguf import Writer, GGML_F16, GGML_F32

kind, out, n_block = sys.argv[1], sys.argv[2], int(sys.argv[3])
img = int(sys.argv[4]) if len(sys.argv) > 4 else None
mmtype = sys.argv[5] if len(sys.argv) > 5 else "f16"
ALL_F32 = mmtype == "allf32"
w = Writer(out)
w.add_str("general.architecture", "clip")
w.add_bool("clip.has_vision_encoder", True)
w.add_u32("general.file_type", 1)

def t(name, shape_ne, f16=True):
    # shape_ne in ggml order (ne0 first); numpy wants reversed
    w.add_tensor(name, shape_ne, GGML_F16 if (f16 and not ALL_F32 and len(shape_ne) > 1) else GGML_F32)

if kind == "gemma3":
    E, H, FF, P, IMG, PROJ = 1152, 16, 4304, 14, img or 896, 2560
    w.add_str("clip.projector_type", "gemma3")
    w.add_bool("clip.use_gelu", True)
    norm_bias = True
elif kind == "qwen25vl":
    import os
    E, H, FF, P, IMG, PROJ = int(os.environ.get("QE", 1280)), int(os.environ.get("QH", 16)), int(os.environ.get("QFF", 3420)), 14, img or 560, int(os.environ.get("QPROJ", 3584))
    w.add_str("clip.projector_type", "qwen2.5vl_merger")
    w.add_bool("clip.use_silu", True)
    w.add_u32("clip.vision.n_wa_pattern", 8)
    w.add_u32("clip.vision.window_size", 112)
    norm_bias = False
else:
    raise SystemExit("kind?")
pre = "clip.vision."
w.add_u32(pre + "image_size", IMG)
w.add_u32(pre + "patch_size", P)
w.add_u32(pre + "embedding_length", E)
w.add_u32(pre + "feed_forward_length", FF)
w.add_u32(pre + "block_count", n_block)
w.add_u32(pre + "attention.head_count", H)
w.add_f32(pre + "attention.layer_norm_epsilon", 1e-6)
w.add_u32(pre + "projection_dim", PROJ)
w.add_f32_arr(pre + "image_mean", [0.5, 0.5, 0.5])
w.add_f32_arr(pre + "image_std", [0.5, 0.5, 0.5])

t("v.patch_embd.weight", [P, P, 3, E])
if kind == "gemma3":
    t("v.patch_embd.bias", [E])
    t("v.position_embd.weight", [E, (IMG // P) ** 2])
else:
    t("v.patch_embd.weight.1", [P, P, 3, E])
for i in range(n_block):
    for n in ("attn_q", "attn_k", "attn_v", "attn_out"):
        t(f"v.blk.{i}.{n}.weight", [E, E]); t(f"v.blk.{i}.{n}.bias", [E])
    for n in ("ln1", "ln2"):
        t(f"v.blk.{i}.{n}.weight", [E])
        if norm_bias: t(f"v.blk.{i}.{n}.bias", [E])
    t(f"v.blk.{i}.ffn_up.weight", [E, FF]); t(f"v.blk.{i}.ffn_up.bias", [FF])
    t(f"v.blk.{i}.ffn_down.weight", [FF, E]); t(f"v.blk.{i}.ffn_down.bias", [E])
    if kind == "qwen25vl":
        t(f"v.blk.{i}.ffn_gate.weight", [E, FF]); t(f"v.blk.{i}.ffn_gate.bias", [FF])
t("v.post_ln.weight", [E])
if norm_bias: t("v.post_ln.bias", [E])
if kind == "gemma3":
    # mm.input_projection.weight: ggml ne [E, PROJ]? converter stores HF (E x PROJ) param -> ne [PROJ, E]
    w.add_tensor("mm.input_projection.weight", [PROJ, E], GGML_F16 if mmtype == "f16" else GGML_F32)
    t("mm.soft_emb_norm.weight", [E])
else:
    t("mm.0.weight", [4 * E, 4 * E]); t("mm.0.bias", [4 * E])
    t("mm.2.weight", [4 * E, PROJ]); t("mm.2.bias", [PROJ])
w.write()
