#!/bin/sh
# Runs the README's first command on a real terminal 80 columns wide (a detached tmux session:
# the width comes from the terminal, colour is on) and captures the screen: no line may have
# wrapped, so the screen as drawn and the screen with wrapped lines joined are the same.
#   check_tmux.sh VRAMCALC_BINARY
# Exit status 77 (a skipped test) when tmux is not installed.
set -eu
bin=$1
if ! command -v tmux >/dev/null 2>&1; then
  echo "tmux is not installed (Debian: tmux): skipped"
  exit 77
fi
dir=$(mktemp -d)
sock="$dir/tmux"
trap 'tmux -S "$sock" kill-server 2>/dev/null || true; rm -rf "$dir"' EXIT
# The pane's shell signals when the command is done, then waits to be killed.
env -u COLUMNS -u NO_COLOR TERM=xterm-256color tmux -S "$sock" -f /dev/null new-session -d -x 80 -y 120 \
  "$bin llama3-70b --ctx 128k --kv fp8; echo EXIT=\$?; tmux -S '$sock' wait-for -S done; sleep 60"
timeout 20 tmux -S "$sock" wait-for done
tmux -S "$sock" capture-pane -p -t 0 > "$dir/screen"
tmux -S "$sock" capture-pane -p -J -t 0 > "$dir/joined"
if ! grep -qx "EXIT=0" "$dir/screen"; then
  echo "the command failed:"
  cat "$dir/screen"
  exit 1
fi
if ! grep -q "^Memory" "$dir/screen" || ! grep -q "^Fit" "$dir/screen"; then
  echo "the screen does not show the answer:"
  cat "$dir/screen"
  exit 1
fi
if ! cmp -s "$dir/screen" "$dir/joined"; then
  echo "lines wrapped at 80 columns:"
  diff "$dir/screen" "$dir/joined" || true
  exit 1
fi
echo "80-column terminal: $(grep -c . "$dir/screen") lines, none wrapped"
