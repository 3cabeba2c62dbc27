#!/usr/bin/env python3
"""Checks `vramcalc --plot`: the SVG is well-formed, self-contained, and holds the expected
series and capacity lines with points inside the plot; a failed write leaves nothing behind.

usage: check_plot.py VRAMCALC_BINARY
"""
import pathlib
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


def fail(msg):
    print("FAILED:", msg)
    sys.exit(1)


def run(binary, *args):
    return subprocess.run([binary, *args], capture_output=True, encoding="utf-8")


def check(binary, tmp, args, labels, capacities, points):
    out = tmp / "plot.svg"
    r = run(binary, *args, "--plot", str(out))
    if r.returncode != 0:
        fail(f"{args}: exit {r.returncode}: {r.stderr}")
    if args[0] not in r.stdout:
        fail(f"{args}: the usual output is missing from stdout")
    root = ET.parse(out).getroot()  # raises on malformed XML
    if root.tag != SVG + "svg":
        fail(f"{args}: root is {root.tag}")
    text = out.read_text(encoding="utf-8")
    for external in ("<script", "href=", "@import", "url("):
        if external in text:
            fail(f"{args}: not self-contained ({external})")
    width, height = (float(v) for v in root.get("viewBox").split()[2:])
    series = [g for g in root.iter(SVG + "g") if g.get("class") == "series"]
    got = [g.find(SVG + "title").text for g in series]
    if got != labels:
        fail(f"{args}: series {got}, expected {labels}")
    for g in series:
        coords = [tuple(map(float, p.split(","))) for p in g.find(SVG + "polyline").get("points").split()]
        if len(coords) != points:
            fail(f"{args}: {len(coords)} points, expected {points}")
        if any(not (0 <= x <= width and 0 <= y <= height) for x, y in coords):
            fail(f"{args}: a point outside the picture")
        if any(b[1] > a[1] + 1e-6 for a, b in zip(coords, coords[1:])):
            fail(f"{args}: memory must not fall as the context grows")
    caps = [g for g in root.iter(SVG + "g") if g.get("class") == "capacity"]
    if len(caps) != capacities:
        fail(f"{args}: {len(caps)} capacity lines, expected {capacities}")


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as d:
        tmp = pathlib.Path(d)
        # 1k .. 128k: 8 points; one series per KV dtype; one capacity line per --gpu.
        check(binary, tmp, ["llama3.1-70b", "--kv", "bf16,fp8,q4_0", "--ctx", "128k", "--gpu", "2xh100"],
              ["KV bf16", "KV fp8 (e4m3)", "KV q4_0"], 1, 8)
        # One series per format; up to the model's maximum context (128k: 8 points); the default GPUs.
        check(binary, tmp, ["qwen2.5-7b", "-q", "bf16,q8_0,q4_k_m", "--ctx", "8k"], ["bf16", "q8_0", "q4_k_m"], 4, 8)
        # A single configuration: one series named by its format; 1k .. 8k (the maximum): 4 points.
        check(binary, tmp, ["mistral-7b", "--ctx", "4k", "--gpu", "l4,4090"], ["bf16"], 2, 4)
        # Nothing half-written: an unwritable path fails with exit 2 and leaves no file.
        bad = tmp / "no-such-dir" / "plot.svg"
        r = run(binary, "llama3-8b", "--plot", str(bad))
        if r.returncode != 2 or "--plot" not in r.stderr or bad.parent.exists():
            fail(f"unwritable --plot: exit {r.returncode}, stderr {r.stderr!r}")
        leftovers = [p.name for p in tmp.iterdir() if p.name.endswith(".vramcalc-tmp")]
        if leftovers:
            fail(f"temporary files left: {leftovers}")
    print("plot: all checks passed")


if __name__ == "__main__":
    main()
