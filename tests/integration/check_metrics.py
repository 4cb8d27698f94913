#!/usr/bin/python3
"""check_metrics.py SCRAPE.txt [--summary SUMMARY.json] [--truth CAPTURE.trading.json]
                   [--require NAME ...]

Checks one /metrics scrape: it parses as Prometheus text format (prometheus_client's parser);
every sample belongs to a family declared by # HELP/# TYPE before it; counters end in _total,
durations are _seconds; each histogram's buckets are cumulative and its +Inf bucket equals its
_count. With --summary (taken from the same, finished run) the counters equal the summary's:
packets, bytes, decode errors by reason, events by type, flows, TCP analysis flags, order
latency counts. With --truth (ttgen's ground truth) the FIX order-latency buckets hold exactly
the generated samples at or below each bound (within the histogram's 1/64). --require names
families that must be present. Exits 1 on any difference."""
import json
import re
import sys
from collections import defaultdict

from prometheus_client.parser import text_string_to_metric_families

args = sys.argv[1:]
text = open(args[0]).read()
opts = defaultdict(list)
key = None
for a in args[1:]:
    if a.startswith("--"):
        key = a[2:]
    else:
        opts[key].append(a)
bad = []

list(text_string_to_metric_families(text))  # raises on malformed exposition

types = {}
samples = []  # (name, labels dict, value)
sample_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
for line in text.splitlines():
    if line.startswith("# TYPE "):
        _, _, name, typ = line.split(" ", 3)
        if name in types:
            bad.append(f"family {name} declared twice")
        types[name] = typ
        continue
    if line.startswith("#") or not line.strip():
        continue
    m = sample_re.match(line)
    if not m:
        bad.append(f"unparsable line: {line}")
        continue
    name, labels, value = m.group(1), dict(label_re.findall(m.group(3) or "")), float(m.group(4))
    fam = name
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in types and types[name[: -len(suffix)]] == "histogram":
            fam = name[: -len(suffix)]
    if fam not in types:
        bad.append(f"{name} has no # TYPE before it")
        continue
    if not name.startswith("ticktap_"):
        bad.append(f"{name}: not in the ticktap_ namespace")
    if types[fam] == "counter" and not name.endswith("_total"):
        bad.append(f"counter {name} does not end in _total")
    if types[fam] == "histogram" and not fam.endswith("_seconds"):
        bad.append(f"histogram {fam} is not in seconds")
    samples.append((name, labels, value))

# histograms: cumulative buckets, +Inf == _count
hists = defaultdict(dict)
counts = {}
for name, labels, v in samples:
    if name.endswith("_bucket"):
        rest = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
        le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
        hists[(name[:-7], rest)][le] = v
    elif name.endswith("_count"):
        counts[(name[:-6], tuple(sorted(labels.items())))] = v
for (fam, rest), buckets in hists.items():
    les = sorted(buckets)
    vals = [buckets[le] for le in les]
    if any(b < a for a, b in zip(vals, vals[1:])):
        bad.append(f"{fam}{dict(rest)}: buckets not cumulative {vals}")
    if counts.get((fam, rest)) != buckets.get(float("inf")):
        bad.append(f"{fam}{dict(rest)}: +Inf bucket {buckets.get(float('inf'))} != _count {counts.get((fam, rest))}")


def total(name, **want):
    return sum(v for n, l, v in samples if n == name and all(l.get(k) == x for k, x in want.items()))


for fam in opts["require"]:
    if fam not in types:
        bad.append(f"family {fam} missing")

if opts["summary"]:
    s = json.load(open(opts["summary"][0]))
    checks = [("packets", total("ticktap_packets_total"), s["packets"]),
              ("bytes", total("ticktap_bytes_total"), s["bytes"]),
              ("flows created", total("ticktap_flows_created_total"), s["flows"])]
    for reason, n in s["decode_errors"].items():
        checks.append((f"decode error {reason}", total("ticktap_decode_errors_total", reason=reason), n))
    for typ, n in s["events"].items():
        checks.append((f"events {typ}", total("ticktap_events_total", type=typ), n))
    for flag, n in s["tcp_analysis"].items():
        checks.append((f"tcp flag {flag}", total("ticktap_tcp_analysis_total", flag=flag), n))
    checks.append(("rtt samples", total("ticktap_tcp_rtt_seconds_count"), s["rtt_us"]["n"]))
    fix = (s.get("trading") or {}).get("fix")
    if fix:
        for pair, d in fix["order_latency_us"].items():
            checks.append((f"fix {pair} latency count",
                           total("ticktap_order_latency_seconds_count", protocol="fix", order=pair), d["n"]))
    for what, got, want in checks:
        if got != want:
            bad.append(f"{what}: /metrics {got:g}, summary {want}")

if opts["truth"]:
    g = json.load(open(opts["truth"][0]))
    for pair, d in g["fix"]["order_latency_us"].items():
        for name, labels, v in samples:
            if name != "ticktap_order_latency_seconds_bucket" or labels.get("order") != pair \
                    or labels.get("protocol") != "fix" or labels["le"] == "+Inf":
                continue
            bound_us = float(labels["le"]) * 1e6
            lo = sum(1 for x in d["samples_us"] if x <= bound_us)
            hi = sum(1 for x in d["samples_us"] if x <= bound_us * (1 + 1 / 64))
            if not lo <= v <= hi:
                bad.append(f"fix {pair} le={labels['le']}: {v:g} outside [{lo}, {hi}] of the generated samples")

if bad:
    print("\n".join(bad[:15]))
    sys.exit(1)
print(f"{len(types)} families, {len(samples)} samples, {len(hists)} histograms: valid"
      + (", equal to the summary" if opts["summary"] else "")
      + (", buckets equal to the ground truth" if opts["truth"] else ""))
