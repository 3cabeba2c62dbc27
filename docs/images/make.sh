#!/bin/sh
# Regenerates the images under docs/images from the built binary (run from the repository
# root after building into build/). Needs python3 and rsvg-convert (Debian: librsvg2-bin).
set -eu
bin=${1:-build/vramcalc}
out=docs/images
"$bin" llama3.1-70b --kv bf16,fp8,q4_0 --ctx 128k --gpu 2xh100 --plot "$out/llama3.1-70b-context.svg" >/dev/null
rsvg-convert -o "$out/llama3.1-70b-context.png" "$out/llama3.1-70b-context.svg"
# The terminal output with its bars, as a picture of a terminal.
"$bin" llama3-70b --ctx 128k --kv fp8 --gpu 2xh100,4x4090 --bars always --color always |
  python3 "$out/ansi2svg.py" "vramcalc llama3-70b --ctx 128k --kv fp8 --gpu 2xh100,4x4090" > "$out/terminal-bars.svg"
rsvg-convert -o "$out/terminal-bars.png" "$out/terminal-bars.svg"
