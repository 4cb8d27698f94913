#!/usr/bin/python3
"""check_expect.py SUMMARY.json EXPECT.json - asserts a ticktap summary holds what the capture
generator put into the capture (tests/gen/ttgen.c writes EXPECT.json). Exit 0 on a match;
otherwise prints every mismatch and exits 1."""
import json
import sys

summary = json.load(open(sys.argv[1]))
expect = json.load(open(sys.argv[2]))
if not expect.get("asserted", True):
    sys.exit(0)
bad = []
for key in ("packets", "flows"):
    if summary[key] != expect[key]:
        bad.append(f"{key}: got {summary[key]}, expected {expect[key]}")
for flag, want in expect["tcp_analysis"].items():
    got = summary["tcp_analysis"][flag]
    if got != want:
        bad.append(f"tcp_analysis.{flag}: got {got}, expected {want}")
for ev, want in expect["events"].items():
    got = summary["events"].get(ev, 0)
    if got != want:
        bad.append(f"events.{ev}: got {got}, expected {want}")
if bad:
    print("\n".join(bad))
    sys.exit(1)
