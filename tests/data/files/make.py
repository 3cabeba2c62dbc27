#!/usr/bin/env python3
"""Writes the small model files the CLI tests read (tests/cli/cases/*file*, inspect-*).

Run from this directory: python3 make.py. The outputs are committed; this script says how
they were made. Weights are zeros: only headers matter to vramcalc.
"""
import json
import struct

# ---- GGUF (v3) -----------------------------------------------------------------------
T_U32, T_STR = 4, 8
Q8_0, F32, F16 = 8, 0, 1
BLOCK = {Q8_0: (32, 34), F32: (1, 4), F16: (1, 2)}


def gguf(path, kvs, tensors, magic=b"GGUF", truncate=None):
    out = bytearray(magic + struct.pack("<IQQ", 3, len(tensors), len(kvs)))
    for k, (t, v) in kvs.items():
        out += struct.pack("<Q", len(k)) + k.encode() + struct.pack("<I", t)
        out += struct.pack("<I", v) if t == T_U32 else struct.pack("<Q", len(v)) + v.encode()
    offset, sizes = 0, []
    for name, typ, ne in tensors:
        out += struct.pack("<Q", len(name)) + name.encode() + struct.pack("<I", len(ne))
        out += b"".join(struct.pack("<Q", n) for n in ne) + struct.pack("<IQ", typ, offset)
        be, bb = BLOCK[typ]
        size = ne[0] // be * bb
        for n in ne[1:]:
            size *= n
        sizes.append(size)
        offset += (size + 31) // 32 * 32
    out += b"\0" * (-len(out) % 32)
    out += b"\0" * offset
    if truncate is not None:
        out = out[:truncate]
    open(path, "wb").write(out)


def llama_tensors(layers, embd, heads, kv, ff, vocab, typ):
    hd = embd // heads
    t = [("token_embd.weight", typ, [embd, vocab])]
    for i in range(layers):
        p = f"blk.{i}."
        t += [(p + "attn_norm.weight", F32, [embd]), (p + "attn_q.weight", typ, [embd, heads * hd]),
              (p + "attn_k.weight", typ, [embd, kv * hd]), (p + "attn_v.weight", typ, [embd, kv * hd]),
              (p + "attn_output.weight", typ, [heads * hd, embd]), (p + "ffn_norm.weight", F32, [embd]),
              (p + "ffn_gate.weight", typ, [embd, ff]), (p + "ffn_up.weight", typ, [embd, ff]),
              (p + "ffn_down.weight", typ, [ff, embd])]
    return t + [("output_norm.weight", F32, [embd]), ("output.weight", typ, [embd, vocab])]


meta = {"general.architecture": (T_STR, "llama"), "general.name": (T_STR, "Tiny Q8_0"),
        "general.file_type": (T_U32, 7), "llama.block_count": (T_U32, 2), "llama.context_length": (T_U32, 4096),
        "llama.embedding_length": (T_U32, 64), "llama.feed_forward_length": (T_U32, 128),
        "llama.attention.head_count": (T_U32, 4), "llama.attention.head_count_kv": (T_U32, 2)}
gguf("tiny-q8_0.gguf", meta, llama_tensors(2, 64, 4, 2, 128, 64, Q8_0))
gguf("bad-magic.gguf", meta, llama_tensors(2, 64, 4, 2, 128, 64, Q8_0), magic=b"GGUX", truncate=64)
gguf("truncated.gguf", meta, llama_tensors(2, 64, 4, 2, 128, 64, Q8_0), truncate=300)
# A multimodal projector as convert_hf_to_gguf.py --mmproj writes one (llama-server --mmproj):
# general.architecture "clip"; tensor bytes 75,264 + 8,192 + 256 + 16,384 = 100,096.
gguf("tiny-mmproj.gguf", {"general.architecture": (T_STR, "clip"), "general.type": (T_STR, "mmproj"),
                          "clip.has_vision_encoder": (T_U32, 1), "clip.vision.image_size": (T_U32, 224),
                          "clip.vision.patch_size": (T_U32, 14), "clip.vision.embedding_length": (T_U32, 64)},
     [("v.patch_embd.weight", F16, [14, 14, 3, 64]), ("v.blk.0.attn_q.weight", F16, [64, 64]),
      ("v.blk.0.ln1.weight", F32, [64]), ("mm.input_projection.weight", F16, [64, 128])])

# ---- safetensors ---------------------------------------------------------------------
BITS = {"BF16": 16, "F16": 16, "F32": 32, "I32": 32}


def safetensors(path, tensors, header_len=None):
    header, offset = {}, 0
    for name, dtype, shape in tensors:
        n = 1
        for d in shape:
            n *= d
        size = n * BITS[dtype] // 8
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    open(path, "wb").write(struct.pack("<Q", header_len or len(h)) + h + b"\0" * offset)


def gptq(name, k, n):
    return [(name + ".qweight", "I32", [k // 8, n]), (name + ".scales", "F16", [k // 32, n]),
            (name + ".qzeros", "I32", [k // 32, n // 8])]


t = [("model.embed_tokens.weight", "BF16", [64, 64])]
for i in range(2):
    p = f"model.layers.{i}."
    t += [(p + "input_layernorm.weight", "BF16", [64]), (p + "post_attention_layernorm.weight", "BF16", [64])]
    t += gptq(p + "self_attn.q_proj", 64, 64) + gptq(p + "self_attn.k_proj", 64, 32)
    t += gptq(p + "self_attn.v_proj", 64, 32) + gptq(p + "self_attn.o_proj", 64, 64)
    t += gptq(p + "mlp.gate_proj", 64, 128) + gptq(p + "mlp.up_proj", 64, 128) + gptq(p + "mlp.down_proj", 128, 64)
t += [("model.norm.weight", "BF16", [64]), ("lm_head.weight", "BF16", [64, 64])]
safetensors("tiny-gptq/model.safetensors", t)
json.dump({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 64, "num_hidden_layers": 2,
           "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 64,
           "max_position_embeddings": 4096, "torch_dtype": "float16", "tie_word_embeddings": False,
           "rms_norm_eps": 1e-5,
           "quantization_config": {"quant_method": "gptq", "bits": 4, "group_size": 32, "desc_act": False}},
          open("tiny-gptq/config.json", "w"), indent=1)
safetensors("bad-header.safetensors", [("a", "F16", [4])], header_len=1 << 40)
safetensors("bare.safetensors", [("w1", "BF16", [16, 8]), ("w2", "F32", [8]), ("s", "F16", [4, 2])])

# tiny-glm4moe-mtp.gguf (not written here): tests/oracle/mtp/gen_glm4moe.py OUT f16 64 2 1 32 32 2 1 64,
# a glm4moe of 2 blocks and one MTP block whose allocations were measured on the oracle
# (tests/unit/test_llamacpp_mtp.cpp).
