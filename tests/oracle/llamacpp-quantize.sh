#!/usr/bin/env bash
# Live cross-check of the GGUF mixes against llama.cpp's own quantizer: installs the shared
# oracle (node-llama-cpp from npm), then runs the unit test tagged [oracle], which quantizes
# the shared fixtures to every mix with the real llama_model_quantize and compares each
# tensor's type and bytes with vramcalc's prediction. Exit 0: equal; 1: a difference; 77: skipped.
#
#   usage: llamacpp-quantize.sh VRAMCALC_TESTS_BINARY
#   env:   VRAMCALC_SHARED_DIR (default ../shared beside the repository), LLAMACPP_ORACLE_DIR
set -uo pipefail
tests=${1:?usage: llamacpp-quantize.sh VRAMCALC_TESTS_BINARY}
repo=$(cd "$(dirname "$0")/../.." && pwd)
shared=${VRAMCALC_SHARED_DIR:-$repo/../shared}
for tool in npm g++ git; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool is not installed"; exit 77; }
done
[ -f "$shared/tools/llamacpp-oracle/setup.sh" ] || { echo "skipped: no oracle under $shared/tools"; exit 77; }
oracle=$(bash "$shared/tools/llamacpp-oracle/setup.sh") || { echo "oracle setup failed"; exit 1; }
VRAMCALC_SHARED_DIR=$shared VRAMCALC_ORACLE_RUN=$oracle/run.sh exec "$tests" "[oracle]"
