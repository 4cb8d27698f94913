# desk.sh - the trading desk's questions, sourced by run.sh: frames captured twice (a capture
# merged with itself, deduplicated back to the original's analysis), payloads sent twice,
# latency spikes against a flow's own baseline (fire on known spikes, quiet on steady
# traffic), the flow record's features (checked against tshark's own per-direction figures),
# --events-filter and --from/--to.
section "trading desk: duplicates, spikes, flow features, event filters, time windows"
D="$WORK/desk"; mkdir -p "$D"

# A capture merged with itself: every frame twice, at the same time. The demo has no frame
# twice; the real capture has one RST repeated byte for byte 4 us later (a copy, or the stack
# sending it twice: bytes cannot tell), so its deduplicated analysis is the reference.
for src in "$WORK/trading_demo.pcap" "$CAPS/tcp/443-curl.pcap"; do
    name=$(basename "$src" .pcap)
    [ -f "$src" ] || { skip "$name merged with itself" "$src is missing"; continue; }
    mergecap -F nsecpcap -w "$D/$name.twice.pcap" "$src" "$src"
    ref=""; [ "$name" = trading_demo ] || ref=--dedup
    "$TT" analyze -q $ref -s "$D/$name.once.json" -e "$D/$name.once.ev" "$src"
    "$TT" analyze -q -s "$D/$name.twice.json" "$D/$name.twice.pcap" 2> /dev/null
    "$TT" analyze -q --dedup -s "$D/$name.dedup.json" -e "$D/$name.dedup.ev" "$D/$name.twice.pcap"
    check "$name merged with itself: every second copy is counted as a duplicate" $PY - "$D/$name".{once,twice}.json <<'PY'
import json, sys
once, twice = (json.load(open(p)) for p in sys.argv[1:])
d, own = twice["duplicates"], once["duplicates"]["frames"]
n = once["packets"] + own  # the reference left its own copies out (when it did)
assert d["frames"] == n + own and not d["removed"], (d, n, own)
assert twice["packets"] == 2 * n
PY
    check "$name merged with itself, --dedup: the summary is the original's" $PY - "$D/$name".{once,dedup}.json <<'PY'
import json, sys
once, dedup = (json.load(open(p)) for p in sys.argv[1:])
assert dedup["duplicates"]["removed"]
for s in once, dedup:
    s.pop("duplicates")
assert once == dedup, [k for k in once if once[k] != dedup.get(k)]
PY
    check "$name merged with itself, --dedup: the events are the original's (but for frame numbers)" $PY - "$D/$name".{once,dedup}.ev <<'PY'
import json, sys
def events(p):
    out = []
    for l in open(p):
        e = json.loads(l); e.pop("frame", None)
        e.get("payload_duplicate", {}).pop("first_frame", None)
        out.append(e)
    return out
a, b = events(sys.argv[1]), events(sys.argv[2])
assert len(a) == len(b) > 0 and a == b
PY
done
# A window holding the whole demo: thousands of digests at once (a link at millions of frames
# a second), whose index outgrows L1 and is looked up ahead (worker.c's DIGEST_AHEAD).
"$TT" analyze -q --set dedup.window=1h -s "$D/wide.once.json" "$WORK/trading_demo.pcap"
"$TT" analyze -q --set dedup.window=1h -s "$D/wide.twice.json" "$D/trading_demo.twice.pcap"
check "a window as long as the capture: every second copy, and the original's own repeats" $PY - "$D"/wide.{once,twice}.json <<'PY'
import json, sys
once, twice = (json.load(open(p)) for p in sys.argv[1:])
d, own = twice["duplicates"], once["duplicates"]["frames"]
assert d["frames"] == once["packets"] + own and twice["packets"] == 2 * once["packets"], (d, own)
assert d["bytes"] == once["bytes"] + once["duplicates"]["bytes"] and d["frames"] > 5000, d
PY
check "the demo has no frame twice (its analysis above is the plain one)" $PY -c "
import json; assert json.load(open('$D/trading_demo.once.json'))['duplicates']['frames'] == 0"
"$TT" analyze "$D/trading_demo.twice.pcap" > "$D/twice.txt" 2>&1
check "without --dedup the human summary says frames were captured twice and what to do" \
    grep -q "duplicate frames .*--dedup leaves them out" "$D/twice.txt"
check "the twice-captured demo shows the inflated TCP figures --dedup removes" $PY - "$D"/trading_demo.{once,twice}.json <<'PY'
import json, sys
once, twice = (json.load(open(p)) for p in sys.argv[1:])
assert twice["tcp_analysis"]["retransmission"] > once["tcp_analysis"]["retransmission"]
PY
"$TT" analyze -q --dedup=0 -s "$D/w0.json" "$D/trading_demo.twice.pcap"
check "--dedup=0 (a zero window) finds no duplicate" $PY -c "
import json; d = json.load(open('$D/w0.json'))['duplicates']; assert d['frames'] == 0, d"
expect_exit "--dedup with a bad window -> 1" 1 "dedup.window" -- "$TT" analyze --dedup=soon "$WORK/clean.pcap"

# Latency spikes and payload duplicates with known truth (ttgen desk).
"$GEN" desk "$D/spikes.pcap" spikes
"$GEN" desk "$D/steady.pcap" steady
for m in spikes steady; do
    "$TT" analyze -q -s "$D/$m.json" -e "$D/$m.ev" "$D/$m.pcap"
    check "desk $m: events match the schema" "$ROOT/tests/integration/validate.py" "$ROOT/schemas/event.schema.json" "$D/$m.ev" --lines
done
check "desk spikes: exactly the 3 injected 5 ms ACKs are latency spikes, judged against a ~100 us baseline" $PY - "$D/spikes.ev" "$D/spikes.pcap" <<'PY'
import json, subprocess, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
sp = [e for e in ev if e["type"] == "latency.spike"]
assert len(sp) == 3, len(sp)
for e in sp:
    s = e["spike"]
    assert abs(s["value"] - 5000) < 1 and 80 <= s["baseline"] <= 120 and s["band_high"] < 1000, s
# the spike frames are the ACKs that came 5 ms after their order (tshark's ack_rtt agrees)
out = subprocess.run(["tshark", "-r", sys.argv[2], "-Y", "tcp.analysis.ack_rtt > 0.004",
                      "-T", "fields", "-e", "frame.number"], capture_output=True, text=True).stdout
assert sorted(int(x) for x in out.split()) == sorted(e["frame"] for e in sp), out
PY
check "desk steady: RTT within +-20% of 100 us raises no latency spike" $PY -c "
import json; s = json.load(open('$D/steady.json')); assert 'latency.spike' not in s['events'], s['events']"
check "desk: the order sent twice and the datagram sent twice are one payload.duplicate each" $PY - "$D/steady.ev" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
pd = {e["flow"]["proto"]: e["payload_duplicate"] for e in ev if e["type"] == "payload.duplicate"}
assert set(pd) == {"tcp", "udp"} and all(p["count"] == 1 for p in pd.values()), pd
recs = {e["flow"]["proto"]: e["record"] for e in ev if e["type"] == "flow"}
assert all(r["features"]["payload_duplicates"] == 1 for r in recs.values())
assert not any(e["type"].startswith("tcp.retransmission") for e in ev)
PY

# The flow record's features against tshark's view of the same packets.
check "flow features: per-direction packets, sizes, TCP flags and inter-arrival extremes equal tshark's" $PY - "$D/spikes.ev" "$D/spikes.pcap" <<'PY'
import json, subprocess, sys
rec = next(json.loads(l) for l in open(sys.argv[1]) if '"type":"flow"' in l and '"proto":"tcp"' in l)
f = rec["record"]["features"]
out = subprocess.run(["tshark", "-r", sys.argv[2], "-Y", "tcp", "-T", "fields", "-e", "ip.src",
                      "-e", "frame.len", "-e", "frame.time_epoch", "-e", "tcp.flags"],
                     capture_output=True, text=True).stdout
rows = [l.split("\t") for l in out.splitlines()]
for d, src in (("src_to_dst", rec["flow"]["src"]), ("dst_to_src", rec["flow"]["dst"])):
    mine = [r for r in rows if r[0] == src]
    sizes = [int(r[1]) for r in mine]
    ts = [float(r[2]) for r in mine]
    iat = [(b - a) * 1e6 for a, b in zip(ts, ts[1:])]
    fl = [int(r[3], 16) for r in mine]
    g = f[d]
    assert g["size"]["min"] == min(sizes) and g["size"]["max"] == max(sizes), (d, g["size"])
    assert abs(g["iat_us"]["min"] - min(iat)) < 1 and abs(g["iat_us"]["max"] - max(iat)) < 1, g["iat_us"]
    assert abs(g["iat_us"]["mean"] - sum(iat) / len(iat)) < 1, g["iat_us"]
    p50 = sorted(iat)[len(iat) // 2]
    assert p50 / 1.5 <= g["iat_us"]["p50"] <= p50 * 1.5, (g["iat_us"], p50)  # octave buckets
    for bit, name in ((1, "fin"), (2, "syn"), (8, "psh"), (16, "ack")):
        assert g["tcp_flags"][name] == sum(1 for x in fl if x & bit), (d, name)
assert f["src_to_dst"]["rtt_us"]["p99"] >= 4000  # the 5 ms spikes are the slowest 1.5%
PY

# --events-filter: what is written, and what is still counted.
F="type=tcp.*|md.gap,severity>=warn"
"$TT" analyze -q -s "$D/all.json" -e "$D/all.ev" "$WORK/trading_demo.pcap"
"$TT" analyze -q --events-filter "$F" -s "$D/f.json" -e "$D/f.ev" "$WORK/trading_demo.pcap"
check "--events-filter '$F': exactly the matching events are written, in order" $PY - "$D/all.ev" "$D/f.ev" <<'PY'
import fnmatch, json, sys
sev = {"info": 0, "warn": 1, "critical": 2}
want = [l for l in open(sys.argv[1]) if (lambda e: (fnmatch.fnmatch(e["type"], "tcp.*") or e["type"] == "md.gap") and sev[e["severity"]] >= 1)(json.loads(l))]
got = open(sys.argv[2]).readlines()
assert got == want and len(got) > 0, (len(got), len(want))
PY
check "--events-filter: the summary still counts every event, and how many were left out" $PY - "$D/all.json" "$D/f.json" "$D/f.ev" <<'PY'
import json, sys
a, f = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert a["events"] == f["events"]
assert f["events_filtered_out"] == sum(a["events"].values()) - len(open(sys.argv[3]).readlines())
PY
host=$($PY -c "
import json
print(next(json.loads(l)['flow']['src'] for l in open('$D/all.ev') if '\"type\":\"fix.' in l))")
"$TT" analyze -q --events-filter "host=$host,type!=flow" -e "$D/h.ev" "$WORK/trading_demo.pcap"
check "--events-filter host=$host,type!=flow: only that host's events, no flow records" $PY - "$D/h.ev" "$host" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert ev and all(sys.argv[2] in (e["flow"]["src"], e["flow"]["dst"]) and e["type"] != "flow" for e in ev)
PY
sess=$($PY -c "
import json
print(next(json.loads(l)['fix']['sender_comp_id'] for l in open('$D/all.ev') if '\"type\":\"fix.' in l))")
"$TT" analyze -q --events-filter "session=$sess" -e "$D/s.ev" "$WORK/trading_demo.pcap"
check "--events-filter session=$sess: that FIX session's events only" $PY - "$D/s.ev" "$sess" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert ev and all(sys.argv[2] in (e["fix"]["sender_comp_id"], e["fix"]["target_comp_id"]) for e in ev)
PY
expect_exit "--events-filter with an unknown term -> 1, naming the terms" 1 "terms: type=GLOB" -- \
    "$TT" analyze --events-filter "colour=red" "$WORK/clean.pcap"
expect_exit "--events-filter with a type that matches nothing -> 1" 1 "no event type matches" -- \
    "$TT" analyze --events-filter "type=tcp.nothing" "$WORK/clean.pcap"

# --from/--to: a time window of a longer capture.
"$TT" analyze -q --from +50ms --to +120ms -s "$D/win.json" "$WORK/trading_demo.pcap"
check "--from +50ms --to +120ms: exactly the frames in that window are analysed" $PY - "$D/win.json" "$WORK/trading_demo.pcap" <<'PY'
import json, struct, sys
s = json.load(open(sys.argv[1]))
data = open(sys.argv[2], "rb").read()
ns = data[:4] in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
en = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
off, ts = 24, []
while off + 16 <= len(data):
    sec, frac, incl, _ = struct.unpack(en + "IIII", data[off:off + 16])
    ts.append(sec * 10**9 + frac * (1 if ns else 1000)); off += 16 + incl
lo, hi = ts[0] + 50 * 10**6, ts[0] + 120 * 10**6
want = sum(1 for t in ts if lo <= t < hi)
assert s["packets"] == want > 0, (s["packets"], want)
assert s["time_window"] == {"from_ns": lo, "to_ns": hi}
assert lo <= s["first_ts_ns"] and s["last_ts_ns"] < hi
PY
first=$($PY -c "import json; print(json.load(open('$D/all.json'))['first_ts_ns'])")
[ $((first % 1000000000)) -eq 0 ] || bad "the demo capture should start on a second"
iso=$(date -u -d "@$((first / 1000000000))" +%Y-%m-%dT%H:%M:%S).05Z
"$TT" analyze -q --from "$iso" --to "$((first / 1000000000)).12" -s "$D/win2.json" "$WORK/trading_demo.pcap"
check "--from as RFC 3339 and --to as epoch seconds give the same window" $PY -c "
import json; a, b = (json.load(open(p)) for p in ('$D/win.json', '$D/win2.json'))
assert a['packets'] == b['packets'] and a['time_window'] == b['time_window'], (a['time_window'], b['time_window'])"
expect_exit "--from after --to -> 1" 1 "must come before" -- "$TT" analyze --from +20s --to +10s "$WORK/clean.pcap"
expect_exit "--from that is not a time -> 1" 1 "epoch seconds" -- "$TT" analyze --from yesterday "$WORK/clean.pcap"

# Statistical baselines with known truth (ttgen baseline): quiet on a steady minute, and on
# the same minute with three injected excursions exactly the anomalies they make.
"$GEN" baseline "$D/bl.steady.pcap" steady
"$GEN" baseline "$D/bl.anom.pcap" anomalies
"$TT" analyze -q -s "$D/bl.steady.json" -e "$D/bl.steady.ev" "$D/bl.steady.pcap"
"$TT" analyze -q -s "$D/bl.anom.json" -e "$D/bl.anom.ev" "$D/bl.anom.pcap"
check "baselines: a steady minute (rates +-5%, RTT +-10%) raises no anomaly" $PY -c "
import json; s = json.load(open('$D/bl.steady.json'))
assert s['baselines']['anomalies'] == 0 and not any(k.startswith('anomaly.') for k in s['events']), s['events']"
check "baselines: 5x quotes (s 40), 10 retransmissions (s 45), 2 ms ACKs (s 50) are exactly the anomalies" $PY - "$D/bl.anom.ev" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
an = [e for e in ev if e["type"].startswith("anomaly.")]
start = min(e["anomaly"]["interval_start_ns"] for e in an) // 10**9 - 40  # second 0
got = sorted((e["type"], e["anomaly"]["metric"], e["anomaly"]["interval_start_ns"] // 10**9 - start) for e in an)
want = sorted([("anomaly.rate", "packets_per_s", 40), ("anomaly.rate", "bytes_per_s", 40),
               ("anomaly.errors", "retransmissions", 45), ("anomaly.latency", "rtt_p99_us", 45),
               ("anomaly.latency", "rtt_p99_us", 50)])
assert got == want, got
for e in an:  # explainable: the value is outside the band the baseline drew
    a = e["anomaly"]
    assert a["scope"] == "interface" and a["key"] == "all" and a["samples"] >= 10
    assert a["value"] > a["band_high"] and a["band_low"] < a["baseline"] < a["band_high"], a
q = next(e["anomaly"] for e in an if e["anomaly"]["metric"] == "packets_per_s")
assert 180 < q["baseline"] < 320 and q["value"] > 900, q  # 200 quotes + 100 order packets / s
PY
check "baselines: the anomalies match the schema" "$ROOT/tests/integration/validate.py" "$ROOT/schemas/event.schema.json" "$D/bl.anom.ev" --lines
"$TT" analyze -q -w 3 --set pipeline.dispatch_thread=true -s "$D/bl.d.json" -e "$D/bl.d.ev" "$D/bl.anom.pcap"
check "baselines: a reader thread and 3 workers give the same events in the same order" cmp "$D/bl.anom.ev" "$D/bl.d.ev"
"$TT" analyze -q -w 2 -s "$D/bl.w2.json" -e "$D/bl.w2.ev" "$D/bl.anom.pcap"
check "baselines: 2 workers sharing the reading give the same events in the same order" cmp "$D/bl.anom.ev" "$D/bl.w2.ev"
"$TT" analyze -q --set baseline.interval=0 -s "$D/bl.off.json" "$D/bl.anom.pcap"
check "baselines: baseline.interval=0 turns them off" $PY -c "
import json; s = json.load(open('$D/bl.off.json')); assert s['baselines']['anomalies'] == 0"
"$TT" analyze -q --set baseline.k=50 -s "$D/bl.k.json" "$D/bl.anom.pcap"
check "baselines: a wider band (baseline.k=50) keeps only the 20-30x latency, not 5x rates nor 10 errors" $PY -c "
import json; s = json.load(open('$D/bl.k.json')); e = s['events']
assert e.get('anomaly.latency') == 2 and 'anomaly.rate' not in e and 'anomaly.errors' not in e, e"
check "per-session order-to-response latency over time: every response of every session, per interval" $PY - "$D/all.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
ot = s["baselines"]["order_latency_over_time"]
assert ot["interval_us"] == 1e6 and ot["sessions"]
by = {x["session"]: sum(p[1] for p in x["points"]) for x in ot["sessions"]}
ses = {x["name"]: x for x in s["trading"]["fix"]["sessions"] + s["trading"]["soupbintcp"].get("sessions", [])}
for name, n in by.items():
    lat = ses[name]["order_latency_us"]
    assert lat["n"] == n, (name, lat, n)
    for p in next(x for x in ot["sessions"] if x["session"] == name)["points"]:
        assert p[2] <= p[3] <= p[4] <= lat["max"] + 1e-6
PY
