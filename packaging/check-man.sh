#!/bin/sh
# Checks the generated man page: groff renders it as man(1) would, with every warning
# enabled and none given, and it has the sections a man page needs.
#   check-man.sh vramcalc.1
# Exit status 77 (a skipped test) when groff is not installed.
set -eu
page=$1
if ! command -v groff >/dev/null 2>&1; then
  echo "groff is not installed (Debian: groff-base): skipped"
  exit 77
fi
warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1) || { echo "$warnings"; exit 1; }
if [ -n "$warnings" ]; then
  echo "groff warns about $page:"
  echo "$warnings"
  exit 1
fi
for section in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS EXAMPLES "EXIT STATUS" "SEE ALSO"; do
  if ! grep -qx ".SH $section" "$page"; then
    echo "$page: no $section section"
    exit 1
  fi
done
# EXIT STATUS lists every code --help states (0, 1, 2, 70, 74), and no code is left in another
# section (a statement split over lines once put "2 invalid input, 70 ..." in DESCRIPTION).
status=$(sed -n '/^\.SH EXIT STATUS$/,/^\.SH /p' "$page")
for code in 0 1 2 70 74; do
  if ! printf '%s\n' "$status" | grep -qx ".B $code"; then
    echo "$page: EXIT STATUS does not list $code"
    exit 1
  fi
done
if sed '/^\.SH EXIT STATUS$/,/^\.SH /d' "$page" | grep -q "70 internal error"; then
  echo "$page: an exit code outside EXIT STATUS"
  exit 1
fi
echo "$page: renders without warnings"
