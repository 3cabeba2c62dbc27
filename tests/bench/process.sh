#!/bin/sh
# Whole-process cost of the command line, on a Release build: wall time (hyperfine) and peak
# resident memory (/usr/bin/time -v) of a typical estimate and of `list models`, and of
# reading the headers of sparse 1 GB and 100 GB checkpoints (written by vramcalc_bench_files
# into a temporary directory, removed on exit), with the bytes each process reads (strace).
# Targets (docs/performance.md): a typical invocation under 5 ms wall and under 10 MB RSS;
# header reads independent of file size; `check` of a 500-deployment manifest under 1 s.
#
#   tests/bench/process.sh            builds build-bench (Release) if needed, then measures
#   BENCH_BUILD_DIR=DIR tests/bench/process.sh
#
# Installs hyperfine and GNU time from Debian's packages when they are missing.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BENCH_BUILD_DIR:-$root/build-bench}
bin=$build/vramcalc
writer=$build/tests/bench/vramcalc_bench_files

missing=""
command -v hyperfine >/dev/null 2>&1 || missing="$missing hyperfine"
[ -x /usr/bin/time ] || missing="$missing time"
if [ -n "$missing" ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # shellcheck disable=SC2086 # $missing is a list of package names
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -x "$bin" ] || [ ! -x "$writer" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DVRAMCALC_BENCH=ON -DVRAMCALC_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" -j "$(nproc)" --target vramcalc vramcalc_bench_files >/dev/null
fi

echo "== machine: $(nproc) cores; load average before measuring: $(cut -d' ' -f1-3 /proc/loadavg)"

# peak_rss LABEL ARGS...: the smallest and largest "Maximum resident set size" of 5 runs.
peak_rss() {
  label=$1
  shift
  lo="" hi=""
  for _ in 1 2 3 4 5; do
    kb=$(/usr/bin/time -v "$bin" "$@" 2>&1 >/dev/null | sed -n 's/.*Maximum resident set size (kbytes): //p')
    if [ -z "$lo" ] || [ "$kb" -lt "$lo" ]; then lo=$kb; fi
    if [ -z "$hi" ] || [ "$kb" -gt "$hi" ]; then hi=$kb; fi
  done
  echo "$label: max RSS $lo KiB (largest of 5 runs: $hi KiB)"
}

echo "== wall time (hyperfine: 20 warm-up runs, at least 200 runs each)"
# --help parses no model and loads no catalog: the process start-up (loader, libraries, flag
# parser) on its own. --version loads the embedded catalog (it prints its counts), nothing more.
# /bin/true: what starting any process costs on this machine.
hyperfine -N --warmup 20 --min-runs 200 \
  -n "estimate llama3-70b 128k fp8" "$bin llama3-70b --ctx 128k --kv fp8" \
  -n "list models" "$bin list models" \
  -n "version (start-up + catalog load)" "$bin --version" \
  -n "help (start-up only)" "$bin --help" \
  -n "/bin/true (any process)" "/bin/true"

echo "== peak resident memory (/usr/bin/time -v, smallest of 5 runs)"
peak_rss "vramcalc llama3-70b --ctx 128k --kv fp8" llama3-70b --ctx 128k --kv fp8
peak_rss "vramcalc list models" list models
peak_rss "vramcalc --help" --help

files=$(mktemp -d "${TMPDIR:-/tmp}/vramcalc-bench.XXXXXX")
trap 'rm -rf "$files"' EXIT INT TERM
echo "== sparse checkpoints (vramcalc_bench_files, in a temporary directory)"
"$writer" "$files"
echo "apparent size: $(du -sh --apparent-size "$files" | cut -f1); on disk: $(du -sh "$files" | cut -f1)"

echo "== wall time of header reads (hyperfine: 10 warm-up runs, at least 100 runs each)"
hyperfine -N --warmup 10 --min-runs 100 \
  -n "inspect small.gguf (1 GB)" "$bin inspect $files/small.gguf" \
  -n "inspect large.gguf (100 GB)" "$bin inspect $files/large.gguf" \
  -n "inspect small/ (10 shards, 1 GB)" "$bin inspect $files/small" \
  -n "inspect large/ (10 shards, 100 GB)" "$bin inspect $files/large" \
  -n "estimate small.gguf --ctx 8k" "$bin $files/small.gguf --ctx 8k" \
  -n "estimate large.gguf --ctx 8k" "$bin $files/large.gguf --ctx 8k" \
  -n "estimate small/ --ctx 8k" "$bin $files/small --ctx 8k" \
  -n "estimate large/ --ctx 8k" "$bin $files/large --ctx 8k"

echo "== check: a Kubernetes manifest of 500 vLLM Deployments and 500 Services (tests/bench/manifest.sh)"
"$root/tests/bench/manifest.sh" 500 > "$files/manifest.yaml"
hyperfine -N --warmup 3 --min-runs 20 -i -n "check manifest.yaml (500 deployments)" "$bin check $files/manifest.yaml"
peak_rss "vramcalc check manifest.yaml (500 deployments)" check "$files/manifest.yaml"

echo "== peak resident memory of header reads (/usr/bin/time -v, smallest of 5 runs)"
for f in small.gguf large.gguf small large; do
  peak_rss "vramcalc inspect $f" inspect "$files/$f"
done
for f in small.gguf large.gguf small large; do
  peak_rss "vramcalc $f --ctx 8k" "$files/$f" --ctx 8k
done

if command -v strace >/dev/null 2>&1; then
  echo "== bytes read from the checkpoint files (strace: read and pread64 on their descriptors)"
  for f in small.gguf large.gguf small large; do
    log=$files/strace.log
    strace -f -qq -e trace=openat,read,pread64 -o "$log" "$bin" inspect "$files/$f" >/dev/null
    # A descriptor counts while its latest openat named a path under $files (descriptors are
    # reused); sum what read/pread64 returned on those.
    awk -v dir="$files/" '
      /openat\(/ { if (match($0, /= [0-9]+$/)) ours[substr($0, RSTART + 2)] = index($0, dir) > 0; next }
      /(read|pread64)\(/ {
        if (!match($0, /\([0-9]+,/)) next
        fd = substr($0, RSTART + 1, RLENGTH - 2)
        if (ours[fd] && match($0, /= [0-9]+$/)) { bytes += substr($0, RSTART + 2); calls++ }
      }
      END { printf "vramcalc inspect %s: %d bytes in %d reads\n", f, bytes, calls }' f="$f" "$log"
    rm -f "$log"
  done
fi
