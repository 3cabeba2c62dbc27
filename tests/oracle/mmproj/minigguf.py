"""Minimal pure-python GGUF v3 writer (no numpy): KV of u32/f32/bool/string/f32-array, tensors all zero."""
import struct
T_U32, T_F32, T_BOOL, T_STR, T_ARR = 4, 6, 7, 8, 9
GGML_F32, GGML_F16 = 0, 1
class Writer:
    def __init__(self, path):
        self.path, self.kv, self.tensors = path, [], []
    def s(self, x):
        b = x.encode(); return struct.pack("<Q", len(b)) + b
    def add_u32(self, k, v): self.kv.append(self.s(k) + struct.pack("<II", T_U32, v))
    def add_f32(self, k, v): self.kv.append(self.s(k) + struct.pack("<If", T_F32, v))
    def add_bool(self, k, v): self.kv.append(self.s(k) + struct.pack("<IB", T_BOOL, 1 if v else 0))
    def add_str(self, k, v): self.kv.append(self.s(k) + struct.pack("<I", T_STR) + self.s(v))
    def add_f32_arr(self, k, v): self.kv.append(self.s(k) + struct.pack("<IIQ", T_ARR, T_F32, len(v)) + b"".join(struct.pack("<f", x) for x in v))
    def add_tensor(self, name, ne, typ):
        self.tensors.append((name, ne, typ))
    def write(self):
        align = 32
        with open(self.path, "wb") as f:
            f.write(b"GGUF" + struct.pack("<IQQ", 3, len(self.tensors), len(self.kv)))
            for kv in self.kv: f.write(kv)
            off = 0; offs = []
            for name, ne, typ in self.tensors:
                n = 1
                for d in ne: n *= d
                nbytes = n * (2 if typ == GGML_F16 else 4)
                offs.append(off)
                off += (nbytes + align - 1) // align * align
            for (name, ne, typ), o in zip(self.tensors, offs):
                f.write(self.s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne) + struct.pack("<IQ", typ, o))
            pos = f.tell(); pad = (pos + align - 1) // align * align
            f.write(b"\0" * (pad - pos))
            f.truncate(pad + off)
