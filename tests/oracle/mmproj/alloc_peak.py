#!/usr/bin/python3
"""The allocator's view of one clip.cpp warmup: reads the log of probe-trace (build.sh's traced
probe, run with AT_DEBUG=1: ggml-alloc.c's own AT_PRINTF lines) and prints the buffer's size, the
allocation that reached it and the tensors live then (with the freed blocks between them).
usage: AT_DEBUG=1 LLAMA_BIN_DIR=... OUT_DIR/probe-trace FILE.gguf 1|0 2>LOG; python3 alloc_peak.py LOG [v]
       (v: also every step at which the buffer grew)"""
import re, sys
lines = open(sys.argv[1]).read().splitlines()
A = re.compile(r"allocating (\S+) \((\d+) bytes\) - block (\d+), offset (\d+), chunk (\d+)")
F = re.compile(r"freeing (\S+) at \{chunk=(\d+), offset=(\d+)\} \((\d+) bytes\)")
passes = []; cur = None
for l in lines:
    m = A.search(l)
    if m:
        name, size, blk, off, ch = m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5))
        if off == 0 and (cur is None or len(cur) > 3) and name.startswith("inp"):
            cur = []; passes.append(cur)
        cur.append(("a", name, off, size, blk)); continue
    m = F.search(l)
    if m and cur is not None:
        cur.append(("f", m.group(1), int(m.group(3)), int(m.group(4)), None))
ev = passes[-1]
live = {}; mx = 0; at = None; snap = None
for i, (k, name, off, size, blk) in enumerate(ev):
    if k == "a":
        live[(off)] = (name, size)
        if off + size > mx:
            mx = off + size; at = (i, name, blk); snap = dict(live)
    else:
        live.pop(off, None)
print("passes", len(passes), "max", mx, "at event", at)
tot = 0
for off in sorted(snap):
    name, size = snap[off]
    print(f"  {off:>12} {size:>12} {name}")
    tot += size
print("live sum", tot, "holes", mx - tot)
# every time the max grows: the event and the live layout
live = {}; mx = 0
for i, (k, name, off, size, blk) in enumerate(ev):
    if k == "a":
        live[off] = (name, size)
        if off + size > mx:
            mx = off + size
            if len(sys.argv) > 2:
                print(f"-- max {mx} at {i} {name} ({size})")
                for o in sorted(live): print(f"     {o:>12} {live[o][1]:>12} {live[o][0]}")
    else:
        live.pop(off, None)
