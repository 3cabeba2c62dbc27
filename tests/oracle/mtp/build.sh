#!/usr/bin/env bash
# Builds the MTP probe (probe.cpp) against the real llama.cpp of the oracle (tests/oracle's
# setup: node-llama-cpp 3.21.1's prebuilt CPU libraries, the headers of the same version's
# source bundle) and measures tests/data/llamacpp/mtp.csv again on the tiny glm4moe GGUFs that
# gen_glm4moe.py writes (no numpy needed).
#
#   usage: build.sh ORACLE_DIR OUT_DIR      (ORACLE_DIR holds llama.cpp/ and bin/)
set -euo pipefail
oracle=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
g++ -std=c++17 -O1 -o "$out/probe" "$here/probe.cpp" -I"$oracle/llama.cpp/include" -I"$oracle/llama.cpp/ggml/include" \
  -L"$oracle/bin" -l:libllama.v0.4.0.so -l:libggml.v0.4.0.so -l:libggml-base.so -Wl,-rpath,"$oracle/bin"
export LLAMA_BIN_DIR=$oracle/bin
echo "shape,weights,load_mtp,n_ctx,n_seq,fa,n_ubatch,context,model_bytes,kv_bytes,compute_bytes"
for shape in "256 4 2 64 128 4 2 512" "512 8 2 64 128 4 2 512" "256 8 4 64 512 8 2 2048" "512 4 1 128 256 8 4 1024"; do
  for w in f32 f16; do
    python3 "$here/gen_glm4moe.py" "$out/tiny.gguf" "$w" $shape >/dev/null
    for mtp in 0 1; do for c in 4096 8192; do for s in 1 2; do for fa in 1 0; do for ub in 32 256; do
      "$out/probe" "$out/tiny.gguf" "$mtp" "$c" "$s" "$fa" "$ub" "$s" 0 2>/dev/null | grep -E '^(target|mtp) ' |
        sed -E "s/^(target|mtp) n_ctx=[0-9]+ n_seq=[0-9]+ model=([0-9]+) context=([0-9]+) compute=([0-9]+)/${shape// /x},$w,$mtp,$c,$s,$fa,$ub,\1,\2,\3,\4/"
    done; done; done; done; done
  done
done
