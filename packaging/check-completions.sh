#!/bin/sh
# Checks the generated (or installed) completions:
#   check-completions.sh BASH_FILE [ZSH_FILE [FISH_FILE]]
# bash: each case below is completed by calling _vramcalc as bash would and must offer
# the expected word. zsh: the file parses. fish: it parses and completes a model id.
# zsh and fish are checked when installed. Exit status 77 (skip) when nothing could be.
set -eu
bash_file=$1
zsh_file=${2-}
fish_file=${3-}
failed=0

# offers WORD COMMAND-LINE-WORDS...: the last word is the one being completed.
offers() {
  want=$1
  shift
  got=$(bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _vramcalc; printf "%s\n" "${COMPREPLY[@]}"' \
        _ "$bash_file" "$@")
  if printf '%s\n' "$got" | grep -qxF -e "$want"; then
    echo "bash: '$*' offers $want"
  else
    echo "bash: '$*' does not offer $want; it offers: $(printf '%s\n' "$got" | tr '\n' ' ')"
    failed=1
  fi
}

if command -v bash >/dev/null 2>&1; then
  offers llama3-70b vramcalc llama3-7
  offers list vramcalc li
  offers explain vramcalc expl
  offers deepseek-v3 vramcalc explain deepseek-v
  offers formats vramcalc list f
  offers qwen2.5-72b vramcalc compare llama3-70b qwen2.5-7
  offers 2xh100 vramcalc llama3-70b --gpu 2xh10
  offers h100,4xb200 vramcalc llama3-70b --gpu h100,4xb20
  offers fp8,q4_k_m vramcalc llama3-70b -q fp8,q4_k
  offers all vramcalc llama3-70b --quant al
  offers fp8_e5m2 vramcalc llama3-70b --kv fp8
  offers iq4_nl vramcalc llama3-70b --kv-cache-dtype iq
  offers llamacpp vramcalc llama3-70b --engine ll
  offers --max-ctx vramcalc llama3-70b --max-c
  checked=1
else
  echo "bash is not installed: skipped"
  checked=0
fi

if [ -n "$zsh_file" ]; then
  if command -v zsh >/dev/null 2>&1; then
    if zsh -n "$zsh_file"; then echo "zsh: $zsh_file parses"; else failed=1; fi
    checked=1
  else
    echo "zsh is not installed: skipped"
  fi
fi

if [ -n "$fish_file" ]; then
  if command -v fish >/dev/null 2>&1; then
    if fish -n "$fish_file"; then echo "fish: $fish_file parses"; else failed=1; fi
    # shellcheck disable=SC2016 # $argv is fish's
    got=$(fish -c 'source $argv[1]; complete -C "vramcalc llama3-7"' "$fish_file")
    if printf '%s\n' "$got" | grep -q '^llama3-70b	'; then
      echo "fish: 'vramcalc llama3-7' offers llama3-70b"
    else
      echo "fish: 'vramcalc llama3-7' does not offer llama3-70b; it offers: $got"
      failed=1
    fi
    checked=1
  else
    echo "fish is not installed: skipped"
  fi
fi

[ "$checked" -eq 1 ] || exit 77
exit "$failed"
