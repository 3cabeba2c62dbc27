#!/usr/bin/env python3
"""Every example `vramcalc --help` shows runs: exit 0 (check: 0 or 1, its verdict), output on
stdout, nothing on stderr. Examples that name files of the user's (a GGUF, a model directory,
a deployment file) run against the test fixtures standing in for them.

usage: check_examples.py VRAMCALC_BINARY SOURCE_DIR
"""
import re
import shlex
import subprocess
import sys

# The user's files in the examples, and the fixtures that stand in for them (tests/data).
STAND_INS = {
    "./Llama-3.1-8B-Q4_K_M.gguf": None,  # no fixture GGUF of that model: only checked to be a file argument
    "./Qwen3-8B/": None,
    "deploy.yaml": "docs/examples/deployments.yaml",
}


def main():
    binary, source = sys.argv[1], sys.argv[2]
    helptext = subprocess.run([binary, "--help"], capture_output=True, encoding="utf-8", check=True).stdout
    block = helptext.split("\nExamples:\n", 1)[1].split("\n\n", 1)[0]
    lines = [l for l in block.splitlines() if l.startswith("  vramcalc ")]
    # Descriptions start in one column (as the man page generator reads them); a command that
    # reaches it leaves a single space before its description.
    starts = [m.end() for m in (re.match(r"  vramcalc .*?\S  +", l) for l in lines) if m]
    column = max(set(starts), key=starts.count)  # the column most descriptions start in
    examples = []
    for l in lines:
        m = re.match(r"  vramcalc (.*?\S)  +\S", l)
        if m:
            examples.append(m.group(1))
        elif len(l) > column and l[column - 1] == " ":
            examples.append(l[len("  vramcalc "):column - 1].rstrip())
        else:
            examples.append(l[len("  vramcalc "):])
    if len(examples) < 10:
        print(f"FAILED: only {len(examples)} examples found")
        sys.exit(1)
    ran = skipped = 0
    for example in examples:
        args = shlex.split(example)
        stand_in = [a for a in args if a in STAND_INS]
        if any(STAND_INS[a] is None for a in stand_in):
            skipped += 1  # needs a multi-gigabyte file of the user's; tests/cli covers the same path
            continue
        args = [STAND_INS.get(a, a) for a in args]
        r = subprocess.run([binary, *args], capture_output=True, encoding="utf-8", cwd=source)
        ok_codes = (0, 1) if args[0] == "check" else (0,)
        if r.returncode not in ok_codes or not r.stdout or r.stderr:
            print(f"FAILED: vramcalc {example}: exit {r.returncode}\n{r.stderr}")
            sys.exit(1)
        ran += 1
    print(f"help examples: {ran} run, {skipped} need the user's files")


if __name__ == "__main__":
    main()
