#!/usr/bin/python3
"""check_kafka.py EVENTS.jsonl KCAT_EVENTS.jsonl KCAT_FLOWS.jsonl SUMMARY.json [KCAT_STATS.jsonl]

Asserts that what kcat read back from the Kafka topics (kcat -J envelopes) is, one for one,
what ticktap wrote as JSON lines: flow records on the flows topic, the other events on the
events topic; the key is the flow id; headers carry schema_version, type and host; per key the
messages keep the JSON-lines order; and the summary's delivery counts add up. With the stats
topic: every record matches schemas/stats.schema.json, is keyed by host, and the last one
carries the run's final packet, byte, flow and event counts."""
import json
import os
import sys
from collections import defaultdict

from jsonschema import Draft202012Validator

lines = [l.rstrip("\n") for l in open(sys.argv[1]) if l.strip()]
envelopes = []
for path, topic in ((sys.argv[2], "ticktap.events"), (sys.argv[3], "ticktap.flows")):
    for l in open(path):
        if l.strip():
            env = json.loads(l)
            assert env["topic"] == topic, env["topic"]
            envelopes.append(env)
summary = json.load(open(sys.argv[4]))
bad = []

def headers(env):
    h = env.get("headers") or []
    if isinstance(h, dict):
        return h
    return dict(zip(h[0::2], h[1::2]))

got = sorted(e["payload"] for e in envelopes)
if got != sorted(lines):
    bad.append(f"payloads differ: {len(got)} read back, {len(lines)} written")
for env in envelopes:
    ev = json.loads(env["payload"])
    if env["key"] != ev["flow"]["id"]:
        bad.append(f"key {env['key']} is not the flow id {ev['flow']['id']}")
    h = headers(env)
    if h.get("type") != ev["type"] or h.get("schema_version") != ev["schema_version"] or not h.get("host"):
        bad.append(f"headers {h} do not match {ev['type']}")
    if (env["topic"] == "ticktap.flows") != (ev["type"] == "flow"):
        bad.append(f"{ev['type']} on {env['topic']}")
# per key, the order within the partition is the JSON-lines order
written = defaultdict(list)
for l in lines:
    written[json.loads(l)["flow"]["id"]].append(l)
read = defaultdict(list)
for env in sorted(envelopes, key=lambda e: (e["topic"], e["partition"], e["offset"])):
    read[(env["key"], env["topic"])].append(env["payload"])
for (key, topic), payloads in read.items():
    want = [l for l in written[key] if (json.loads(l)["type"] == "flow") == (topic == "ticktap.flows")]
    if payloads != want:
        bad.append(f"order differs for key {key} on {topic}")
stats = []
if len(sys.argv) > 5:
    schema = json.load(open(os.path.join(os.path.dirname(__file__), "../../schemas/stats.schema.json")))
    validator = Draft202012Validator(schema)
    for l in open(sys.argv[5]):
        if not l.strip():
            continue
        env = json.loads(l)
        rec = json.loads(env["payload"])
        for err in validator.iter_errors(rec):
            bad.append(f"stats record: {err.json_path}: {err.message}")
        h = headers(env)
        if env["key"] != rec["host"] or h.get("type") != "stats" or h.get("host") != rec["host"]:
            bad.append(f"stats record key {env['key']} / headers {h}")
        stats.append(rec)
    if not stats:
        bad.append("no stats record on ticktap.stats")
    else:
        last = max(stats, key=lambda r: r["ts_ns"])
        want = {"packets": summary["packets"], "bytes": summary["bytes"], "events": summary["events"],
                "flows_created": summary["flows"]}
        got = {"packets": last["packets"], "bytes": last["bytes"], "events": last["events"],
               "flows_created": last["flows"]["created"]}
        if got != want:
            bad.append(f"last stats record {got} is not the summary's {want}")
        if sum(i["packets"] for i in last["interfaces"]) != last["packets"]:
            bad.append("stats: interfaces do not add up to packets")
k = summary["kafka"]
if not (k["offered"] == k["delivered"] == len(lines) + len(stats) and k["failed"] == k["dropped_queue_full"] == k["undelivered"] == 0):
    bad.append(f"summary kafka counts {k} for {len(lines)} lines and {len(stats)} stats records")
if bad:
    print("\n".join(bad[:10]))
    sys.exit(1)
print(f"{len(envelopes)} messages match the JSON lines one for one; {len(stats)} stats record(s)")
