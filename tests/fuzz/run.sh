#!/bin/sh
# Builds the libFuzzer targets with clang and runs each for SECONDS (default 60), one after
# another: CI's short pass. Exits non-zero if a target finds a crash, a leak, a timeout or a
# broken property; the input is left in the build dir's artifacts/ folder.
#
#   tests/fuzz/run.sh [SECONDS]
#
# Environment: FUZZ_BUILD_DIR (default: build-fuzz in the repository), FUZZ_TARGETS (default:
# every target), FUZZ_RUNS (also stop after this many executions; default: time only),
# FUZZ_JOBS (build parallelism, default 2), FUZZ_TIMEOUT (seconds one input may take,
# default 5), FUZZ_RSS_MB (memory one run may hold, default 1024).
# Each target gets its dictionary (dict/*.dict) and a max_len large enough for the hostile
# inputs of docs/reliability.md: JSON nested 65,600 deep, headers of 15,000 tensors.
# New inputs the fuzzer finds go to the build dir (corpus-work/), never into the repository:
# add one to tests/fuzz/corpus/<target>/ by hand when it is worth keeping (docs/reliability.md).
set -eu
seconds=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
targets=${FUZZ_TARGETS:-"model_spec hf_config gguf safetensors safetensors_index units weight_format estimate deploy command_line"}
runs=${FUZZ_RUNS:--1}

cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVRAMCALC_FUZZ=ON -DVRAMCALC_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "${FUZZ_JOBS:-2}" --target $(for t in $targets; do printf 'fuzz_%s ' "$t"; done) >/dev/null

passed=0
failed=0
for t in $targets; do
  seeds="$root/tests/fuzz/corpus/$t"
  # The pipeline target starts from the model specs too.
  [ "$t" = estimate ] && seeds="$seeds $root/tests/fuzz/corpus/model_spec"
  work="$build/corpus-work/$t"
  mkdir -p "$work" "$build/artifacts"
  log="$build/fuzz-$t.log"
  case $t in
    model_spec|hf_config|safetensors_index|estimate) dict=json; max_len=1048576 ;;
    safetensors) dict=safetensors; max_len=1048576 ;;
    gguf) dict=gguf; max_len=1048576 ;;
    deploy) dict=yaml; max_len=262144 ;;
    command_line) dict=command_line; max_len=65536 ;;
    *) dict=units; max_len=4096 ;;
  esac
  # -timeout: one input taking FUZZ_TIMEOUT seconds is a finding (a hang or a quadratic
  # parse); -rss_limit_mb: so is a run holding FUZZ_RSS_MB (a memory amplification). A run
  # ends at SECONDS or RUNS, whichever comes first.
  # shellcheck disable=SC2086 # $seeds is a list of directories
  if "$build/tests/fuzz/fuzz_$t" "$work" $seeds -max_total_time="$seconds" -runs="$runs" \
       -max_len="$max_len" -dict="$root/tests/fuzz/dict/$dict.dict" \
       -timeout="${FUZZ_TIMEOUT:-5}" -rss_limit_mb="${FUZZ_RSS_MB:-1024}" -print_final_stats=1 \
       -artifact_prefix="$build/artifacts/$t-" >"$log" 2>&1; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    echo "fuzz $t: ${execs:-?} executions in at most ${seconds}s (max_len $max_len), no finding"
    passed=$((passed + 1))
  else
    echo "fuzz $t: FINDING (log: $log)"
    grep -E "ERROR:|SUMMARY:|fuzz property|Test unit written" "$log" | head -n 10 || true
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
