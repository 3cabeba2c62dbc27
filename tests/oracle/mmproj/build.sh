#!/usr/bin/env bash
# Builds the mmproj compute-buffer probe (probe.cpp) against the real llama.cpp of the oracle
# (tests/oracle's setup: node-llama-cpp 3.21.1's prebuilt CPU libraries and the same version's
# source bundle): tools/mtmd's clip.cpp, mtmd-image.cpp, mtmd-audio.cpp and models/*.cpp compiled
# with g++ -O1 and linked with the prebuilt libllama / libggml. The rows this measured are
# tests/data/llamacpp/mmproj_compute.csv (its README says how).
#
#   usage: build.sh ORACLE_DIR OUT_DIR     (ORACLE_DIR: the llama.cpp oracle directory,
#                                          holding llama.cpp/ and bin/)
#   then:  python3 gen_mmproj.py gemma3|gemma4v|qwen25vl|qwen3vl|pixtral OUT.gguf N_BLOCK [IMAGE_SIZE] [f16|f32|allf32]
#          LLAMA_BIN_DIR=ORACLE_DIR/bin OUT_DIR/probe OUT.gguf 1|0    (flash attention on / off)
set -euo pipefail
src=$1/llama.cpp
bin=$1/bin
out=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out/obj"
inc=(-I"$src/tools/mtmd" -I"$src/include" -I"$src/ggml/include" -I"$src/vendor" -I"$src/common")
for s in "$src"/tools/mtmd/clip.cpp "$src"/tools/mtmd/mtmd-image.cpp "$src"/tools/mtmd/mtmd-audio.cpp "$src"/tools/mtmd/models/*.cpp; do
  o="$out/obj/$(basename "$(dirname "$s")")_$(basename "$s" .cpp).o"
  [ -f "$o" ] || g++ -std=c++17 -O1 -fPIC -w "${inc[@]}" -c "$s" -o "$o"
done
g++ -std=c++17 -O1 "${inc[@]}" -c "$here/probe.cpp" -o "$out/probe.o"
g++ -o "$out/probe" "$out/probe.o" "$out"/obj/*.o -L"$bin" -l:libllama.v0.4.0.so -l:libggml.v0.4.0.so -l:libggml-base.so \
  -Wl,-rpath,"$bin" -lpthread
# The traced probe: the same probe with ggml-alloc.c of the source bundle compiled in, its AT_PRINTF
# printing under AT_DEBUG=1 (the executable's ggml_gallocr_* take the place of libggml-base's):
# alloc_peak.py reads its log and prints the live tensors at the buffer's peak.
sed 's|^#define AT_PRINTF(...)$|#define AT_PRINTF(...) do { if (getenv("AT_DEBUG")) fprintf(stderr, __VA_ARGS__); } while (0)|' \
  "$src/ggml/src/ggml-alloc.c" > "$out/ggml-alloc-trace.c"
gcc -O1 -fPIC -w -I"$src/ggml/include" -I"$src/ggml/src" -c "$out/ggml-alloc-trace.c" -o "$out/ggml-alloc-trace.o"
g++ -o "$out/probe-trace" "$out/probe.o" "$out"/obj/*.o "$out/ggml-alloc-trace.o" -L"$bin" -l:libllama.v0.4.0.so \
  -l:libggml.v0.4.0.so -l:libggml-base.so -Wl,-rpath,"$bin" -lpthread -rdynamic
echo "$out/probe" "$out/probe-trace"
