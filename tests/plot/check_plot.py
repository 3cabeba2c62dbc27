#!/usr/bin/env python3
"""Checks `vramcalc --plot`: the SVG is well-formed, self-contained, and holds the expected
series and capacity lines with points inside the plot; a failed write leaves nothing behind.
With many series: the legend is ordered by the lines' end values, no two of the first 12
series share a colour and no two share a colour and dash, and, rasterised with rsvg-convert
(Debian: librsvg2-bin; skipped without it), the legend, the direct labels and the plot do not
overlap one another, nor do neighbouring legend entries.

usage: check_plot.py VRAMCALC_BINARY
"""
import pathlib
import shutil
import struct
import subprocess
import zlib
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


def png_ink(path):
    """The set of (x, y) pixels with any opacity in an 8-bit RGBA PNG (what rsvg-convert writes)."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path}: not a PNG")
    at, idat, width, height = 8, b"", 0, 0
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour != 6 or interlace != 0:
                fail(f"{path}: expected 8-bit RGBA, not interlaced")
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    raw = zlib.decompress(idat)
    stride = width * 4
    prev = bytearray(stride)
    ink = set()
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - 4] if i >= 4 else 0
            b = prev[i]
            c = prev[i - 4] if i >= 4 else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        for x in range(width):
            if line[x * 4 + 3] > 24:  # faint anti-aliasing is not ink
                ink.add((x, y))
        prev = line
    return ink


def check_many(binary, tmp, args):
    """A plot of many series: legend order, colours, and no overlaps once rasterised."""
    out = tmp / "many.svg"
    r = run(binary, *args, "--plot", str(out))
    if r.returncode != 0:
        fail(f"{args}: exit {r.returncode}: {r.stderr}")
    ET.register_namespace("", SVG[1:-1])
    root = ET.parse(out).getroot()
    series = [g for g in root.iter(SVG + "g") if g.get("class") == "series"]
    ends = {}
    style = []
    for g in series:
        line = g.find(SVG + "polyline")
        last = line.get("points").split()[-1]
        ends[g.find(SVG + "title").text] = float(last.split(",")[1])
        style.append((line.get("stroke"), line.get("stroke-dasharray")))
    if len(series) < 25:
        fail(f"{args}: only {len(series)} series")
    colours = [c for c, _ in style[:12]]
    if len(set(colours)) != len(colours):
        fail(f"{args}: a colour repeats among the first 12 series: {colours}")
    if len(set(style)) != len(style):
        fail(f"{args}: two series share a colour and a dash pattern")
    entries = [g for g in root.iter(SVG + "g") if g.get("class") == "legend-entry"]
    legend = [g.find(SVG + "text").text for g in entries]
    heights = [ends[k] for k in legend]
    if sorted(legend) != sorted(ends) or heights != sorted(heights):  # top of the picture (smallest y) first
        fail(f"{args}: the legend is not in the order the lines end: {legend}")
    if not shutil.which("rsvg-convert"):
        print("plot: rsvg-convert is not installed (Debian: librsvg2-bin): raster checks skipped")
        return
    def inside(cls):
        members = set()
        for g in root.iter():
            if g.get("class") == cls:
                members.update(id(x) for x in g.iter())
        return members

    legend_ids, label_ids = inside("legend"), {id(e) for e in root.iter() if e.get("class") == "direct-label"}
    background = [e for e in root if e.tag == SVG + "rect" and e.get("fill") == "#ffffff"]
    bg_ids = {id(e) for e in background}
    # Copies of the picture holding only some elements (matched on the original tree by a
    # parallel walk), rasterised without the background.
    import copy

    def only(pred, name):
        doc = copy.deepcopy(root)
        pairs = list(zip(root.iter(), doc.iter()))
        keep_ids = {id(c) for o, c in pairs if pred(o)}
        parents = {c: p for p in doc.iter() for c in p}
        for o, c in reversed(pairs):
            if c is doc:
                continue
            if id(c) not in keep_ids and not any(id(x) in keep_ids for x in c.iter()):
                parents[c].remove(c)
        svg, png = tmp / f"{name}.svg", tmp / f"{name}.png"
        ET.ElementTree(doc).write(svg, encoding="utf-8", xml_declaration=True)
        res = subprocess.run(["rsvg-convert", "-o", str(png), str(svg)], capture_output=True, encoding="utf-8")
        if res.returncode != 0:
            fail(f"rsvg-convert {svg}: {res.stderr}")
        return png_ink(png)

    legend_ink = only(lambda e: id(e) in legend_ids, "legend")
    labels_ink = only(lambda e: id(e) in label_ids, "labels")
    rest_ink = only(lambda e: id(e) not in legend_ids and id(e) not in label_ids and id(e) not in bg_ids
                    and e is not root, "rest")
    if not legend_ink or not rest_ink:
        fail(f"{args}: nothing drawn")
    if legend_ink & rest_ink:
        fail(f"{args}: the legend overlaps the plot ({len(legend_ink & rest_ink)} pixels)")
    if labels_ink & (rest_ink | legend_ink):
        fail(f"{args}: a direct label overlaps the plot or the legend")
    # Neighbouring legend entries (a checkerboard of rows and columns) do not touch.
    even = {id(x) for g in entries if (int(g.get("data-row")) + int(g.get("data-col"))) % 2 == 0 for x in g.iter()}
    odd = {id(x) for g in entries if (int(g.get("data-row")) + int(g.get("data-col"))) % 2 == 1 for x in g.iter()}
    if only(lambda e: id(e) in even, "even") & only(lambda e: id(e) in odd, "odd"):
        fail(f"{args}: legend entries overlap")
    # Direct labels do not overlap one another.
    labels = [e for e in root.iter() if e.get("class") == "direct-label"]
    seen = set()
    for k, e in enumerate(labels):
        ink = only(lambda x, e=e: x is e, f"label{k}")
        if ink & seen:
            fail(f"{args}: direct label {e.text!r} overlaps another")
        seen |= ink


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
        # Many series (every format, 31 of them) against two GPUs.
        check_many(binary, tmp, ["llama3.1-70b", "-q", "all", "--gpu", "2xh100"])
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
