#!/usr/bin/python3
"""check_trading.py SUMMARY EXPECT - compares the summary's "trading" object (and event
counts) with the ground truth ttgen wrote (OUT.pcap.trading.json). Counts must be equal;
latency percentiles within 1% (the histogram's resolution). Exits 1 on any difference."""
import json
import sys

summary = json.load(open(sys.argv[1]))
exp = json.load(open(sys.argv[2]))
t = summary["trading"]
errors = []


def same(what, got, want):
    if got != want:
        errors.append(f"{what}: got {got}, want {want}")


def close(what, got, want):
    for k in ("n", "p50", "p90", "p99", "p99.9", "max"):
        g, w = got[k], want[k]
        if k == "n":
            same(f"{what}.n", g, w)
        elif abs(g - w) > 0.01 * w + 0.001:
            errors.append(f"{what}.{k}: got {g}, want {w} (+-1%)")


same("packets", summary["packets"], exp["packets"])
fx = exp["fix"]
sessions = {s["name"]: s for s in t["fix"]["sessions"]}
s = sessions.get(fx["name"])
if not s:
    errors.append(f"FIX session {fx['name']} missing (have {list(sessions)})")
else:
    for k, v in fx.items():
        if k in ("name", "holes", "messages_by_type", "order_latency_us"):
            continue
        same(f"fix session {k}", s[k], v)
same("fix messages_by_type", t["fix"]["messages_by_type"], fx["messages_by_type"])
for pair, want in fx["order_latency_us"].items():
    close(f"order_latency_us.{pair}", t["fix"]["order_latency_us"][pair], want)
sx = exp["soup"]
soup = t["soupbintcp"]
ss = {x["name"]: x for x in soup["sessions"]}.get(sx["name"])
if not ss:
    errors.append(f"SoupBinTCP session {sx['name']} missing")
else:
    for k, v in sx.items():
        if k in ("name", "client_types", "server_types", "order_latency_us"):
            continue
        same(f"soup session {k}", ss[k], v)
same("ouch client types", soup["ouch_client_messages_by_type"], sx["client_types"])
same("ouch server types", soup["ouch_server_messages_by_type"], sx["server_types"])
for pair, want in sx["order_latency_us"].items():
    close(f"ouch order_latency_us.{pair}", soup["order_latency_us"][pair], want)
same("microbursts", t["microbursts"], exp["microbursts"])
same("tap timestamps", t["tap_timestamps"], exp["tap_timestamps"])
same("reassembly holes_skipped", t["reassembly"]["holes_skipped"], fx["holes"])
for ev, n in exp["events"].items():
    same(f"events {ev}", summary["events"].get(ev, 0), n)
same("itch messages by type", t["md"]["moldudp64"]["itch_messages_by_type"], exp["itch_messages_by_type"])
same("mdp3 messages by template", t["md"]["mdp3"]["messages_by_template"], exp["mdp3_messages_by_template"])
mds = {m["name"]: m for m in t["md"]["sessions"]}
for want in exp["md"]:
    got = mds.get(want["name"])
    if not got:
        errors.append(f"md session {want['name']} missing (have {list(mds)})")
        continue
    for k in ("gaps", "lost", "duplicates", "end_of_session"):
        same(f"{want['name']} {k}", got[k], want[k])
    same(f"{want['name']} feeds", len(got["feeds"]), len(want["feeds"]))
    for i, (gf, wf) in enumerate(zip(got["feeds"], want["feeds"])):
        for k, v in wf.items():
            same(f"{want['name']} feed {gf['name']} {k}", gf[k], v)
    close(f"{want['name']} latency_us", got["latency_us"], want["latency_us"])
    close(f"{want['name']} feed_skew_us", got["feed_skew_us"], want["feed_skew_us"])

for e in errors[:20]:
    print(e)
if errors:
    print(f"{len(errors)} difference(s)")
    sys.exit(1)
print("trading ground truth: all equal")
