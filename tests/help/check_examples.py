#!/usr/bin/env python3
"""Every example `vramcalc --help` shows is a golden-tested CLI case: the help's "Examples:"
lines are generated from the cases marked as examples (tests/cli/cases/<name>/example, by
cmake/help_examples.cmake), and this checks the built binary's help against them: each example
is one marked case's args (with the user's file it names mapped to the fixture standing in for
it), every marked case is shown, and each case's golden is a useful answer (exit 0; check: 0 or
1, its verdict; output on stdout, nothing on stderr). The cases themselves run as "cli: <name>".

usage: check_examples.py VRAMCALC_BINARY SOURCE_DIR
"""
import os
import re
import shlex
import subprocess
import sys


def marked_cases(cases_dir):
    """{case name: (args, {shown: stand-in})} of the cases marked as examples."""
    out = {}
    for name in sorted(os.listdir(cases_dir)):
        mark = os.path.join(cases_dir, name, "example")
        if not os.path.isfile(mark):
            continue
        with open(mark, encoding="utf-8") as f:
            lines = f.read().splitlines()
        stand_ins = {}
        for line in lines[1:]:
            m = re.match(r"stand-in: (\S+) (\S+)$", line)
            if m:
                stand_ins[m.group(2)] = m.group(1)
        with open(os.path.join(cases_dir, name, "args"), encoding="utf-8") as f:
            args = f.read().splitlines()
        out[name] = (args, stand_ins)
    return out


def main():
    binary, source = sys.argv[1], sys.argv[2]
    cases_dir = os.path.join(source, "tests", "cli", "cases")
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
    cases = marked_cases(cases_dir)
    unshown = set(cases)
    failed = False
    for example in examples:
        shown = shlex.split(example)
        found = [n for n, (args, stand_ins) in cases.items() if [stand_ins.get(a, a) for a in shown] == args]
        if not found:
            print(f"FAILED: vramcalc {example}: no case under tests/cli/cases is marked as this example")
            failed = True
            continue
        name = found[0]
        unshown.discard(name)
        case = os.path.join(cases_dir, name)
        read = lambda f: open(os.path.join(case, f), encoding="utf-8").read() if os.path.exists(os.path.join(case, f)) else ""
        code = int(read("exit_code").strip() or "0")
        ok_codes = (0, 1) if cases[name][0][0] == "check" else (0,)
        if code not in ok_codes or not read("stdout") or read("stderr"):
            print(f"FAILED: vramcalc {example} (case {name}): its golden exits {code}, or has no stdout or a stderr")
            failed = True
    for name in sorted(unshown):
        print(f"FAILED: case {name} is marked as an example but --help does not show it (rebuild?)")
        failed = True
    if failed:
        sys.exit(1)
    print(f"help examples: {len(examples)}, each a golden-tested CLI case")


if __name__ == "__main__":
    main()
