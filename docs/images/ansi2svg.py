#!/usr/bin/env python3
"""Terminal text with ANSI colours (stdin) to an SVG picture of a terminal (stdout)."""
import re
import sys
from xml.sax.saxutils import escape

COLORS = {"31": "#ff6b6b", "32": "#69db7c", "34": "#4dabf7", "90": "#868e96"}
command = sys.argv[1] if len(sys.argv) > 1 else ""
lines = ["$ " + command] + sys.stdin.read().rstrip("\n").split("\n")
cw, lh, pad = 8.4, 18, 16
width = int(max(len(re.sub(r"\x1b\[[0-9;]*m", "", l)) for l in lines) * cw + 2 * pad)
height = len(lines) * lh + 2 * pad
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
       f'font-family="DejaVu Sans Mono, monospace" font-size="14">',
       f'<rect width="{width}" height="{height}" rx="8" fill="#1e1e1e"/>']
for i, line in enumerate(lines):
    y = pad + (i + 1) * lh - 5
    spans, fill, weight = [], "#e9ecef", "normal"
    for part in re.split(r"(\x1b\[[0-9;]*m)", line):
        m = re.fullmatch(r"\x1b\[([0-9;]*)m", part)
        if m:
            code = m.group(1)
            fill = COLORS.get(code, "#adb5bd" if code == "2" else "#e9ecef")
            weight = "bold" if code == "1" else "normal"
        elif part:
            spans.append(f'<tspan fill="{fill}" font-weight="{weight}">{escape(part)}</tspan>')
    out.append(f'<text x="{pad}" y="{y}" xml:space="preserve">{"".join(spans)}</text>')
out.append("</svg>")
print("\n".join(out))
