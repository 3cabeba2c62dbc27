#!/usr/bin/env bash
# Live cross-check against the real llama.cpp: installs the shared oracle (node-llama-cpp from
# npm, a probe linked against its llama.cpp), then for a matrix of contexts (unpadded ones
# too), sequence counts, unified or per-sequence caches, K/V types, flash attention and
# --swa-full, compares llama.cpp's KV cache bytes (or its refusal) with vramcalc's
# `--engine llamacpp` on the CPU (-ngl 0). Exit 0: all equal; 1: a difference; 77: skipped.
#
#   usage: llamacpp-kv.sh VRAMCALC_BINARY
#   env:   VRAMCALC_SHARED_DIR (default: ../shared beside the repository),
#          LLAMACPP_ORACLE_DIR (where the oracle is installed; default ~/.cache/llamacpp-oracle)
set -uo pipefail
vramcalc=${1:?usage: llamacpp-kv.sh VRAMCALC_BINARY}
repo=$(cd "$(dirname "$0")/../.." && pwd)
shared=${VRAMCALC_SHARED_DIR:-$repo/../shared}
for tool in npm g++ git python3; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool is not installed"; exit 77; }
done
[ -f "$shared/tools/llamacpp-oracle/setup.sh" ] || { echo "skipped: no oracle under $shared/tools"; exit 77; }
oracle=$(bash "$shared/tools/llamacpp-oracle/setup.sh") || { echo "oracle setup failed"; exit 1; }
fixtures=$shared/fixtures/gguf

runs=0 fails=0
check() { # MODEL N_CTX N_SEQ TK TV FA UNIFIED SWA_FULL
  local model=$1 n_ctx=$2 n_seq=$3 tk=$4 tv=$5 fa=$6 unified=$7 swa_full=$8
  local out want got
  out=$("$oracle/run.sh" measure "$fixtures/$model.gguf" "$n_ctx" "$n_seq" "$tk" "$tv" "$fa" "$unified" "$swa_full" 2>&1)
  if grep -q '^RESULT' <<<"$out"; then
    want=$(grep '^RESULT' <<<"$out" | sed 's/.* context_bytes=\([0-9]*\).*/\1/')
  else
    want=refused
  fi
  local flags=(--engine llamacpp --gpu h100 --ngl 0 --ctx $((n_ctx / n_seq)) --batch "$n_seq" --cache-type-k "$tk"
               --cache-type-v "$tv" --fa "$([ "$fa" = 1 ] && echo on || echo off)" --batch-size 32 --ubatch-size 32 --json)
  [ "$unified" = 1 ] && flags+=(--kv-unified)
  [ "$swa_full" = 1 ] && flags+=(--swa-full)
  got=$("$vramcalc" "$fixtures/$model.gguf" "${flags[@]}" | python3 -c '
import json, sys
e = json.load(sys.stdin)["engine"]
print("refused" if e["error"] else e["kv_bytes"] + e["state_bytes"])')
  runs=$((runs + 1))
  if [ "$want" != "$got" ]; then
    fails=$((fails + 1))
    echo "DIFFERS: $model -c $n_ctx -np $n_seq -ctk $tk -ctv $tv -fa $fa unified $unified swa_full $swa_full: llama.cpp $want, vramcalc $got"
  fi
}

for model in tiny-llama-f16 llama-2-tiny-random tiny-gemma3-swa-f16; do
  for n_ctx in 256 1000 4096 5000; do
    for n_seq in 1 2 4; do
      for unified in 0 1; do
        for types in "f16 f16" "q8_0 q8_0" "q4_0 f16" "f16 q8_0"; do
          for fa in 0 1; do
            for swa_full in 0 1; do
              [ "$swa_full" = 1 ] && [ "$model" != tiny-gemma3-swa-f16 ] && continue
              check "$model" "$n_ctx" "$n_seq" $types "$fa" "$unified" "$swa_full"
            done
          done
        done
      done
    done
  done
done
# A draft model's context (llama-server -md: one per slot, one sequence, -cd cells, -ctkd / -ctvd)
# is an ordinary context: its KV bytes as vramcalc plans them beside a target, against the
# same context measured (the probe's batch is 32, so -b / -ub 32 here too).
check_draft() { # MODEL N_CTX TK TV FA
  local model=$1 n_ctx=$2 tk=$3 tv=$4 fa=$5 out want got
  out=$("$oracle/run.sh" measure "$fixtures/$model.gguf" "$n_ctx" 1 "$tk" "$tv" "$fa" 0 0 2>&1)
  want=$(grep '^RESULT' <<<"$out" | sed 's/.* context_bytes=\([0-9]*\).*/\1/')
  [ -n "$want" ] || want=refused
  got=$("$vramcalc" "$fixtures/tiny-llama-f16.gguf" --engine llamacpp --gpu h100 --ctx 4096 --draft "$fixtures/$model.gguf" \
        --gpu-layers-draft 0 --ctx-size-draft "$n_ctx" --cache-type-k-draft "$tk" --cache-type-v-draft "$tv" \
        --fa "$([ "$fa" = 1 ] && echo on || echo off)" --batch-size 32 --ubatch-size 32 --json | python3 -c '
import json, sys
e = json.load(sys.stdin)["engine"]
print("refused" if e["error"] else e["draft"]["kv_bytes_per_context"])')
  runs=$((runs + 1))
  if [ "$want" != "$got" ]; then
    fails=$((fails + 1))
    echo "DIFFERS: draft $model -cd $n_ctx -ctkd $tk -ctvd $tv -fa $fa: llama.cpp $want, vramcalc $got"
  fi
}
for model in tiny-llama-f16 tiny-gemma3-swa-f16; do
  for n_ctx in 1000 4096 5000; do
    for types in "f16 f16" "q8_0 q8_0"; do
      check_draft "$model" "$n_ctx" $types 1
    done
  done
done

echo "llama.cpp oracle: $runs runs, $fails differ"
[ "$fails" = 0 ]
