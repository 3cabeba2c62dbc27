#!/usr/bin/python3
"""Shaped projector GGUF (zero-filled tensors) with the tensor names and keys clip.cpp's loader reads
(clip_model_loader::load_hparams / load_tensors), written with minigguf.py (pure python).
usage: python3 gen_mmproj.py KIND OUT.gguf N_BLOCK [IMAGE_SIZE] [MMTYPE]
KIND (defaults: a real tower; override with env E H FF PROJ PATCH, DS for qwen3vl, SCALE for gemma4v, QKNORM=1 for internvl's 6B q / k norms, MAXPATCH for kimik25):
  gemma3    SigLIP-So400m 896/14, 1152 wide, 16 heads, ffn 4304, proj 2560
  qwen25vl  Qwen2.5-VL-7B: 1280 wide, 16 heads, gated ffn 3420, patch 14, proj 3584, n_wa_pattern 8
  qwen3vl   Qwen3-VL-8B: 1152 wide, 16 heads, ffn 4304, patch 16, 2304 positions, proj 4096,
            DS="8,16,24" the DeepStack layers (DS="" none: Qwen3.5)
  pixtral   Mistral Small 3.1: 1024 wide, 16 heads, gated ffn 4096, patch 14, spatial merge 2, proj 5120
  gemma4v   Gemma 4: 1152 wide, 16 heads, gated ffn 4304, patch 16, q/k norms, 2 x 10240 positions, proj 2816
  llama4    Llama 4 Scout / Maverick: 336/14, 1408 wide, 16 heads, ffn 5632, class token, pixel shuffle 2,
            adapter 5632 -> 4096 -> 4096, projection to 5120 (mm.model.fc)
  kimik25   Kimi K2.5's MoonViT: 14 px, 1152 wide, 16 heads, ffn 4304, 64 x 64 positions, merge 2,
            image_max_pixels 16384 x 14^2 (warmup 1792 px: 16,384 patches), proj 7168
  internvl  InternViT-300M (InternVL3 1B-14B): 448/14, 1024 wide, 16 heads, ffn 4096, class token, layer
            scales, pixel shuffle 2 (clip.vision.projector.scale_factor), proj 3584
Matrices are F16 (as the converter writes mmproj-*-f16.gguf), 1-D tensors F32.
MMTYPE (gemma3): f16, f32 (the projection f32) or allf32.
"""
import os
import sys
from minigguf import Writer, GGML_F16, GGML_F32

kind, out, n_block = sys.argv[1], sys.argv[2], int(sys.argv[3])
img = int(sys.argv[4]) if len(sys.argv) > 4 else None
mmtype = sys.argv[5] if len(sys.argv) > 5 else "f16"
ALL_F32 = mmtype == "allf32"
env = lambda k, d: int(os.environ.get(k, d))
w = Writer(out)
w.add_str("general.architecture", "clip")
w.add_bool("clip.has_vision_encoder", True)
w.add_u32("general.file_type", 1)

def t(name, shape_ne, f16=True):
    # shape_ne in ggml order (ne0 first)
    w.add_tensor(name, shape_ne, GGML_F16 if (f16 and not ALL_F32 and len(shape_ne) > 1) else GGML_F32)

DEFAULTS = {  # E, H, FF, P, IMG, PROJ, projector type, ffn op
    "gemma3": (1152, 16, 4304, 14, 896, 2560, "gemma3", "gelu"),
    "qwen25vl": (1280, 16, 3420, 14, 560, 3584, "qwen2.5vl_merger", "silu"),
    "qwen3vl": (1152, 16, 4304, 16, 768, 4096, "qwen3vl_merger", "gelu"),
    "pixtral": (1024, 16, 4096, 14, 1540, 5120, "pixtral", "silu"),
    "gemma4v": (1152, 16, 4304, 16, 224, 2816, "gemma4v", "gelu"),
    "internvl": (1024, 16, 4096, 14, 448, 3584, "internvl", "gelu"),
    "llama4": (1408, 16, 5632, 14, 336, 5120, "llama4", "gelu"),
    "kimik25": (1152, 16, 4304, 14, 896, 7168, "kimik25", "gelu"),
}
if kind not in DEFAULTS:
    raise SystemExit("kind? one of " + ", ".join(DEFAULTS))
E0, H0, FF0, P, IMG0, PROJ0, ptype, act = DEFAULTS[kind]
E, H, FF, PROJ, P = env("E", E0), env("H", H0), env("FF", FF0), env("PROJ", PROJ0), env("PATCH", P)
IMG = img or IMG0
w.add_str("clip.projector_type", ptype)
w.add_bool("clip.use_gelu" if act == "gelu" else "clip.use_silu", True)
if kind == "qwen25vl":
    w.add_u32("clip.vision.n_wa_pattern", 8)
    w.add_u32("clip.vision.window_size", 112)
if kind in ("qwen3vl", "pixtral"):
    w.add_u32("clip.vision.spatial_merge_size", 2)
if kind in ("internvl", "llama4", "kimik25"):
    w.add_u32("clip.vision.projector.scale_factor", 2)
if kind == "kimik25":
    w.add_u32("clip.vision.image_min_pixels", 8 * P * P)
    w.add_u32("clip.vision.image_max_pixels", env("MAXPATCH", 16384) * P * P)
if "SCALE" in os.environ:  # gemma4v's pooling kernel (clip.vision.projector.scale_factor, default 3)
    w.add_u32("clip.vision.projector.scale_factor", env("SCALE", 3))
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

# what each tower has: biases on attention / MLP, LayerNorm biases, a gate, fused qkv, q/k norms
has = {
    "gemma3": dict(attn_b=1, ffn_b=1, norm_b=1, gate=0, qkv=0),
    "qwen25vl": dict(attn_b=1, ffn_b=1, norm_b=0, gate=1, qkv=0),
    "qwen3vl": dict(attn_b=1, ffn_b=1, norm_b=1, gate=0, qkv=1),
    "pixtral": dict(attn_b=0, ffn_b=0, norm_b=0, gate=1, qkv=0),
    "gemma4v": dict(attn_b=0, ffn_b=0, norm_b=0, gate=1, qkv=0),
    "internvl": dict(attn_b=1, ffn_b=1, norm_b=1, gate=0, qkv=0),
    "llama4": dict(attn_b=1, ffn_b=1, norm_b=1, gate=0, qkv=0),
    "kimik25": dict(attn_b=1, ffn_b=1, norm_b=1, gate=0, qkv=0),
}[kind]
deepstack = set()
if kind == "qwen3vl":
    deepstack = {int(x) for x in os.environ.get("DS", "8,16,24").split(",") if x != ""}

if kind == "llama4":  # the patch conv as a matrix (im2col + mul_mat)
    t("v.patch_embd.weight", [P * P * 3, E])
else:
    t("v.patch_embd.weight", [P, P, 3, E])
if kind == "gemma3":
    t("v.patch_embd.bias", [E])
    t("v.position_embd.weight", [E, (IMG // P) ** 2])
elif kind == "qwen25vl":
    t("v.patch_embd.weight.1", [P, P, 3, E])
elif kind == "qwen3vl":
    t("v.patch_embd.weight.1", [P, P, 3, E])
    t("v.patch_embd.bias", [E])
    w.add_tensor("v.position_embd.weight", [E, 2304], GGML_F32)  # resized by ggml_interpolate: f32
elif kind == "pixtral":
    t("v.pre_ln.weight", [E])
elif kind == "gemma4v":
    w.add_tensor("v.position_embd.weight", [E, 10240, 2], GGML_F32)
elif kind == "llama4":
    t("v.class_embd", [E])
    w.add_tensor("v.position_embd.weight", [E, (IMG // P) ** 2 + 1], GGML_F32)
    t("v.pre_ln.weight", [E]); t("v.pre_ln.bias", [E])
elif kind == "kimik25":
    t("v.patch_embd.bias", [E])
    w.add_tensor("v.position_embd.weight", [E, 64, 64], GGML_F32)
elif kind == "internvl":
    t("v.patch_embd.bias", [E])
    t("v.class_embd", [E])
    w.add_tensor("v.position_embd.weight", [E, (IMG // P) ** 2 + 1], GGML_F32)
for i in range(n_block):
    names = ("attn_qkv",) if has["qkv"] else ("attn_q", "attn_k", "attn_v")
    for n in names + ("attn_out",):
        width = 3 * E if n == "attn_qkv" else E
        t(f"v.blk.{i}.{n}.weight", [E, width])
        if has["attn_b"]: t(f"v.blk.{i}.{n}.bias", [width])
    norms = ("ln1", "ln2") + (("attn_post_norm", "ffn_post_norm") if kind == "gemma4v" else ())
    for n in norms:
        t(f"v.blk.{i}.{n}.weight", [E])
        if has["norm_b"]: t(f"v.blk.{i}.{n}.bias", [E])
    if kind == "gemma4v":
        t(f"v.blk.{i}.attn_q_norm.weight", [E // H]); t(f"v.blk.{i}.attn_k_norm.weight", [E // H])
    if kind == "internvl":
        t(f"v.blk.{i}.ls1.weight", [E]); t(f"v.blk.{i}.ls2.weight", [E])
        if os.environ.get("QKNORM"):  # InternViT-6B: q / k RMSNorms over the width
            t(f"v.blk.{i}.attn_q_norm.weight", [E]); t(f"v.blk.{i}.attn_k_norm.weight", [E])
    mlp = (("ffn_up", [E, FF]), ("ffn_down", [FF, E])) + ((("ffn_gate", [E, FF]),) if has["gate"] else ())
    for n, shape in mlp:
        t(f"v.blk.{i}.{n}.weight", shape)
        if has["ffn_b"]: t(f"v.blk.{i}.{n}.bias", [shape[1]])
    if i in deepstack:
        t(f"v.deepstack.{i}.norm.weight", [4 * E]); t(f"v.deepstack.{i}.norm.bias", [4 * E])
        t(f"v.deepstack.{i}.fc1.weight", [4 * E, 4 * E]); t(f"v.deepstack.{i}.fc1.bias", [4 * E])
        t(f"v.deepstack.{i}.fc2.weight", [4 * E, PROJ]); t(f"v.deepstack.{i}.fc2.bias", [PROJ])
if kind in ("gemma3", "qwen25vl", "qwen3vl", "llama4", "kimik25"):
    t("v.post_ln.weight", [E])
    if has["norm_b"]: t("v.post_ln.bias", [E])
if kind == "gemma3":
    # the converter stores HF's (E x PROJ) parameter as ne [PROJ, E]
    w.add_tensor("mm.input_projection.weight", [PROJ, E], GGML_F16 if mmtype == "f16" else GGML_F32)
    t("mm.soft_emb_norm.weight", [E])
elif kind in ("qwen25vl", "qwen3vl"):
    t("mm.0.weight", [4 * E, 4 * E]); t("mm.0.bias", [4 * E])
    t("mm.2.weight", [4 * E, PROJ]); t("mm.2.bias", [PROJ])
elif kind == "pixtral":
    t("mm.input_norm.weight", [E])
    t("mm.patch_merger.weight", [4 * E, E])
    t("mm.1.weight", [E, PROJ]); t("mm.2.weight", [PROJ, PROJ])
    t("v.token_embd.img_break", [PROJ])
elif kind == "gemma4v":
    t("mm.input_projection.weight", [E, PROJ])
elif kind == "kimik25":
    t("mm.input_norm.weight", [E]); t("mm.input_norm.bias", [E])
    t("mm.1.weight", [4 * E, 4 * E]); t("mm.1.bias", [4 * E])
    t("mm.2.weight", [4 * E, PROJ]); t("mm.2.bias", [PROJ])
elif kind == "llama4":
    t("mm.model.mlp.1.weight", [4 * E, 4096]); t("mm.model.mlp.2.weight", [4096, 4096])
    t("mm.model.fc.weight", [4096, PROJ])
elif kind == "internvl":
    t("mm.model.mlp.0.weight", [4 * E]); t("mm.model.mlp.0.bias", [4 * E])
    t("mm.model.mlp.1.weight", [4 * E, PROJ]); t("mm.model.mlp.1.bias", [PROJ])
    t("mm.model.mlp.3.weight", [PROJ, PROJ]); t("mm.model.mlp.3.bias", [PROJ])
w.write()
