#!/bin/bash
# run.sh - integration tests: drive the real binaries on generated and real captures.
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
TT="$BUILD/ticktap"
GEN="$BUILD/ttgen"
SHARED=${SHARED:-$ROOT/../shared}
CAPS="$SHARED/captures"
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/ticktap-it.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
. "$ROOT/tests/lib.sh"

# Two summaries equal but for the steering's own counter (dispatch.unsteered), which only
# runs with several workers have.
same_summary() {
    cmp -s "$1" "$2" || $PY -c "
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for s in a, b:
    s.get('drops', {}).pop('dispatch.unsteered', None)
sys.exit(a != b)" "$1" "$2"
}

section "generated scenarios: ground truth, schemas, tshark, 1 vs 2 workers"
scenarios=$("$GEN" list); n_scen=$(echo $scenarios | wc -w); i=0
for s in $scenarios; do
    i=$((i + 1)); progress "generated scenario $s" $i $n_scen
    p="$WORK/$s.pcap"
    "$GEN" "$s" "$p" || { bad "$s: generate"; continue; }
    [ -f "$p.expect.json" ] || continue # trading scenarios: their own section below
    "$TT" analyze -q -s "$WORK/$s.s1.json" -e "$WORK/$s.e1.json" "$p"
    check "$s: exit status 0" test $? -eq 0
    check "$s: counts equal the ground truth" "$ROOT/tests/integration/check_expect.py" "$WORK/$s.s1.json" "$p.expect.json"
    check "$s: summary matches its schema" "$ROOT/tests/integration/validate.py" "$ROOT/schemas/summary.schema.json" "$WORK/$s.s1.json"
    check "$s: every event matches its schema" "$ROOT/tests/integration/validate.py" "$ROOT/schemas/event.schema.json" "$WORK/$s.e1.json" --lines
    "$TT" analyze -q -w 2 -s "$WORK/$s.s2.json" -e "$WORK/$s.e2.json" "$p"
    check "$s: 2 workers give the same summary" same_summary "$WORK/$s.s1.json" "$WORK/$s.s2.json"
    check "$s: 2 workers give the same events, in the same order" cmp "$WORK/$s.e1.json" "$WORK/$s.e2.json"
    if grep -q '"tshark_agrees": true' "$p.expect.json"; then
        check "$s: tshark agrees on every tcp_analysis count" env TICKTAP="$TT" "$ROOT/tests/oracle/compare.sh" "$p"
    fi
done

# The resumed connections are told apart from new ones only by the state kept for them.
"$TT" analyze "$WORK/resume.pcap" > "$WORK/resume.txt" 2>&1
check "resume: the summary says both connections resumed" grep -q "flows 4 (evicted 0, resumed 2)" "$WORK/resume.txt"
check "resume: the records before the gaps have the handshake RTT, the resumed ones none" $PY -c "
import json
recs = [json.loads(l)['record'] for l in open('$WORK/resume.e1.json') if '\"type\":\"flow\"' in l]
assert [r.get('handshake_rtt_us') is not None for r in recs] == [True, True, False, False], recs"
"$TT" analyze -q --set tcp.recall=0 -s "$WORK/resume.off.json" "$WORK/resume.pcap"
check "resume: with tcp.recall=0 the gaps restart the analysis (the retransmissions go unseen)" $PY -c "
import json; t = json.load(open('$WORK/resume.off.json'))['tcp_analysis']
assert t['retransmission'] == 0 and t['duplicate_ack'] == 0, t"

check "tunnels_asym: each flow record keeps both directions' tunnel ids and outer endpoints" $PY -c "
import json
recs = {json.loads(l)['flow']['tunnel']['kind']: json.loads(l)['flow']['tunnel']
        for l in open('$WORK/tunnels_asym.e1.json') if '\"type\":\"flow\"' in l}
d = {k: [(x['dir'], x['id'], x['outer_src'], x['outer_dst']) for x in t['directions']] for k, t in recs.items()}
assert d['gtpu'] == [(0, 0x1001, '192.0.2.1', '192.0.2.2'), (1, 0x2002, '198.51.100.7', '192.0.2.1')], d
assert d['gre'] == [(0, 0x1002, '192.0.2.1', '192.0.2.2'), (1, 0x2003, '192.0.2.1', '192.0.2.2')], d
assert d['ipip'] == [(0, 0, '192.0.2.1', '192.0.2.2'), (1, 0, '198.51.100.7', '192.0.2.1')], d"
check "tunnels_asym: events give their own direction's tunnel (the downlink's duplicate ACKs its TEID)" $PY -c "
import json
ev = [json.loads(l) for l in open('$WORK/tunnels_asym.e1.json') if '\"tcp.duplicate_ack\"' in l]
gtp = [e['flow']['tunnel'] for e in ev if e['flow']['tunnel']['kind'] == 'gtpu']
assert len(gtp) == 3 and all(t['id'] == 0x2002 and t['outer_src'] == '198.51.100.7' for t in gtp), gtp"

check "md_gaps: the 8 gaps are given up at one frame (so their order across workers is tested)" $PY -c "
import json
fr = {json.loads(l)['frame'] for l in open('$WORK/md_gaps.e1.json') if '\"md.gap\"' in l}
assert len(fr) == 1, fr"

section "trading: FIX order entry and A/B market data with known gaps, rejects, latencies"
TP="$WORK/trading_fix_md.pcap"
TSET=$($PY -c "import json; print(' '.join('--set ' + s for s in json.load(open('$TP.trading.json'))['settings']))")
"$TT" analyze -q $TSET -s "$WORK/tr1.json" -e "$WORK/tr1.e" "$TP"
check "trading: every count and latency percentile equals the ground truth" \
    "$ROOT/tests/integration/check_trading.py" "$WORK/tr1.json" "$TP.trading.json"
check "trading: summary matches its schema" "$ROOT/tests/integration/validate.py" "$ROOT/schemas/summary.schema.json" "$WORK/tr1.json"
check "trading: every event matches its schema" "$ROOT/tests/integration/validate.py" "$ROOT/schemas/event.schema.json" "$WORK/tr1.e" --lines
"$TT" analyze -q -w 2 $TSET -s "$WORK/tr2.json" -e "$WORK/tr2.e" "$TP"
check "trading: 2 workers (A/B feeds steered together) give the same summary" cmp "$WORK/tr1.json" "$WORK/tr2.json"
check "trading: 2 workers give the same events" cmp "$WORK/tr1.e" "$WORK/tr2.e"
"$TT" analyze -q -w 3 $TSET -s "$WORK/tr3.json" -e "$WORK/tr3.e" "$TP"
check "trading: 3 workers (the reader finds the microbursts, worker 0 says them) give the same output" \
    sh -c "cmp '$WORK/tr1.json' '$WORK/tr3.json' && cmp '$WORK/tr1.e' '$WORK/tr3.e'"
"$TT" analyze -q -w 2 --set pipeline.dispatch_thread=true --set pipeline.event_ring=1 $TSET \
    -s "$WORK/tr5.json" -e "$WORK/tr5.e" "$TP"
check "trading: a reader thread + 2 workers (it finds the microbursts; event rings of 1) give the same output" \
    sh -c "cmp '$WORK/tr1.json' '$WORK/tr5.json' && cmp '$WORK/tr1.e' '$WORK/tr5.e'"
"$TT" analyze -q -w 2 --set pipeline.event_ring=1 $TSET -s "$WORK/tr6.json" -e "$WORK/tr6.e" "$TP"
check "trading: 2 workers sharing the reading, event rings of 1 (each full ring wakes the sink), same output" \
    sh -c "cmp '$WORK/tr1.json' '$WORK/tr6.json' && cmp '$WORK/tr1.e' '$WORK/tr6.e'"
# A market-data feed with one damaged datagram (its block count says 2, one block follows):
# with 2 workers the damaged datagram still meets its flow, so the output is 1 worker's.
$PY - "$WORK/damaged.pcap" <<'PY'
import struct, sys
out = open(sys.argv[1], "wb")
out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
def csum(h):
    s = sum(struct.unpack("!10H", h))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
for i in range(40):
    count = 2 if i == 20 else 1  # i == 20: two blocks announced, one sent
    mold = b"DAMAGED001" + struct.pack("!QH", 1000 + i, count) + struct.pack("!H", 12) + b"S" + bytes(11)
    udp = struct.pack("!HHHH", 40000, 26400, 8 + len(mold), 0) + mold
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
                     bytes([10, 3, 0, 1]), bytes([233, 54, 12, 1]))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    frame = b"\x01\x00\x5e\x36\x0c\x01" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip + udp
    out.write(struct.pack("<IIII", 1700000000, i * 1000, len(frame), len(frame)) + frame)
PY
"$TT" analyze -q -s "$WORK/dm1.json" -e "$WORK/dm1.e" "$WORK/damaged.pcap"
"$TT" analyze -q -w 2 -s "$WORK/dm2.json" -e "$WORK/dm2.e" "$WORK/damaged.pcap"
check "market data: the damaged datagram is counted (moldudp64.invalid 1), the feed is one flow" $PY -c "
import json; s = json.load(open('$WORK/dm1.json'))
assert s['decode_errors'].get('moldudp64.invalid') == 1 and s['flows'] == 1, (s['decode_errors'], s['flows'])"
check "market data: 2 workers steer the damaged datagram with its feed (same summary and events)" \
    sh -c "cmp '$WORK/dm1.json' '$WORK/dm2.json' && cmp '$WORK/dm1.e' '$WORK/dm2.e'"
check "trading: FIX and SoupBinTCP passwords never leave the agent" \
    sh -c "! grep -q -e s3cr3t -e pw-secret -e wrong-pass '$WORK/tr1.e' '$WORK/tr1.json'"
"$TT" analyze -q $TSET --set trading.fix.redact_tags=58 -e "$WORK/tr3.e" "$TP"
"$TT" analyze -q $TSET --set capture.tap_timestamps=true -e "$WORK/tr4.e" "$TP"
check "trading: capture.tap_timestamps makes the TAP's / switch's time the packet time" $PY -c "
import json
def span(path):
    for l in open(path):
        e = json.loads(l)
        if e['type'] == 'flow' and e['flow']['src'] == '10.6.0.1':
            return e['record']['start_ns'], e['record']['end_ns']
a, b = span('$WORK/tr1.e'), span('$WORK/tr4.e')
assert b == (a[0] - 1234, a[1] - 1234), (a, b)"
check "trading: a configured tag (58) is redacted in events" $PY -c "
import json
ev = [json.loads(l) for l in open('$WORK/tr3.e')]
rej = [e for e in ev if e['type'] == 'fix.order_reject']
assert rej and all(e['fix']['text'] == '[redacted]' for e in rej), rej[:1]
assert not any('Price out of band' in l for l in open('$WORK/tr3.e'))"
check "trading: reject events carry ClOrdID, reason and text" $PY -c "
import json
ev = [json.loads(l) for l in open('$WORK/tr1.e')]
r = [e['fix'] for e in ev if e['type'] == 'fix.order_reject' and e['fix']['kind'] == 'execution_report']
assert [x['cl_ord_id'] for x in r] == ['ORD0050', 'ORD0060', 'ORD0070'], r
assert all(x['reason'] == 5 and x['text'] == 'Price out of band' for x in r)
g = [e['md'] for e in ev if e['type'] == 'md.gap']
assert sorted((x['session'], x['count']) for x in g) == [('NASDAQ0001', 3), ('cme-310', 1)], g"
# tshark has FIX and MoldUDP64 dissectors: same message counts. The acceptor's direction has
# no lost segment (tshark's reassembly stops at one; ours skips it), so compare on it.
"$TT" analyze -q $TSET --filter "tcp src port 9878" -s "$WORK/trx.json" "$TP"
tshark -o tcp.reassemble_out_of_order:TRUE -r "$TP" -Y "fix && tcp.srcport==9878" -T fields -e fix.MsgType \
    2>/dev/null > "$WORK/trx.tshark"
check "trading: tshark counts the same FIX messages by type (acceptor side)" $PY -c "
import json, collections
want = collections.Counter(t for l in open('$WORK/trx.tshark') for t in l.strip().split(',') if t)
got = json.load(open('$WORK/trx.json'))['trading']['fix']['messages_by_type']
assert dict(want) == got, (dict(want), got)"
tshark -r "$TP" -d tcp.port==15000,soupbintcp -Y soupbintcp -T fields -e soupbintcp.packet_type \
    2>/dev/null > "$WORK/soup.tshark"
check "trading: tshark counts the same SoupBinTCP packets" $PY -c "
import json
want = sum(len([t for t in l.strip().split(',') if t]) for l in open('$WORK/soup.tshark'))
got = json.load(open('$WORK/tr1.json'))['trading']['soupbintcp']['packets']
assert want == got, (want, got)"
tshark -r "$TP" -d udp.port==26477,moldudp64 -Y moldudp64 -T fields -e moldudp64.count 2>/dev/null > "$WORK/mold.tshark"
check "trading: tshark counts the same MoldUDP64 messages" $PY -c "
import json
want = sum(int(c) for c in open('$WORK/mold.tshark') if int(c) not in (0, 65535))
got = json.load(open('$WORK/tr1.json'))['trading']['md']['moldudp64']['messages']
assert want == got, (want, got)"

section "trading: real exchange captures decode to what their bytes hold (../shared/captures/trading)"
TC="$CAPS/trading"
tr_real() { # FILE -> summary JSON in $WORK/real.json
    "$TT" analyze -q -s "$WORK/real.json" "$TC/$1" >/dev/null 2>&1
}
tr_real omi_itch50_mold_multiple_packets.pcap
tshark -r "$TC/omi_itch50_mold_multiple_packets.pcap" -d udp.port==26477,moldudp64 -T fields \
    -e moldudp64.sequence -e moldudp64.count 2>/dev/null > "$WORK/real.tshark"
check "ITCH over MoldUDP64 (VLAN): session, 39 messages (36 A, 2 F, 1 D), the sequence gap between its packets, as tshark reads them" $PY -c "
import json
d = json.load(open('$WORK/real.json'))['trading']['md']
rows = [list(map(int, l.split())) for l in open('$WORK/real.tshark')]
assert d['moldudp64']['messages'] == sum(c for _, c in rows) == 39, d['moldudp64']
assert d['moldudp64']['itch_messages_by_type'] == {'A': 36, 'D': 1, 'F': 2}
s = d['sessions'][0]
assert s['name'] == '000010059B' and s['protocol'] == 'moldudp64'
assert s['lost'] == rows[1][0] - (rows[0][0] + rows[0][1]), (s, rows)"
tr_real omi_itch50_mold_order_executed_E.pcap
check "ITCH Order Executed (E): one message" $PY -c "
import json; d = json.load(open('$WORK/real.json'))['trading']['md']['moldudp64']
assert d['messages'] == 1 and d['itch_messages_by_type'] == {'E': 1}, d"
tr_real omi_itch50_synth_add_order_A.pcap
check "ITCH Add Order (A) x5 with sequence 0 each time: 4 duplicates" $PY -c "
import json; d = json.load(open('$WORK/real.json'))['trading']['md']
assert d['moldudp64']['itch_messages_by_type'] == {'A': 5} and d['sessions'][0]['duplicates'] == 4, d"
tr_real omi_ouch50_session_merged_5pkts.pcap
check "OUCH 5.0 over SoupBinTCP: 2 client packets (heartbeat, cancel X), 3 server (accepted A, canceled C, heartbeat)" $PY -c "
import json; d = json.load(open('$WORK/real.json'))['trading']['soupbintcp']
s = d['sessions'][0]
assert s['messages'] == {'from_client': 2, 'from_server': 3} and s['heartbeats'] == 2, s
assert d['ouch_client_messages_by_type'] == {'X': 1} and d['ouch_server_messages_by_type'] == {'A': 1, 'C': 1}, d"
tr_real omi_ouch50_order_accepted_A.pcap
check "OUCH 5.0 Order Accepted with a Metamako trailer: the trailer's time decoded, never taken for payload" $PY -c "
import json; t = json.load(open('$WORK/real.json'))['trading']
assert t['tap_timestamps']['metamako_trailers'] == 1 and t['tap_timestamps']['capture_minus_tap_max_ns'] == 0, t['tap_timestamps']
assert t['reassembly']['bytes_delivered'] == 76 and t['soupbintcp']['ouch_server_messages_by_type'] == {'A': 1}, t"
tr_real omi_ouch50_enter_order_O.pcap
check "OUCH 5.0 Enter Order (O) from the client" $PY -c "
import json; d = json.load(open('$WORK/real.json'))['trading']['soupbintcp']
assert d['ouch_client_messages_by_type'] == {'O': 1} and d['sessions'][0]['orders']['enter_order'] == 1, d"
tr_real omi_soupbin_login_accepted_A.pcap
check "SoupBinTCP Login Accepted" $PY -c "
import json; d = json.load(open('$WORK/real.json'))['trading']['soupbintcp']
assert d['sessions'][0]['logins_accepted'] == 1, d"
tr_real omi_cme_mdp3_v19_trade_summary_t48.pcap
check "MDP3 trade summary: templates 37, 46 x2, 47, 48" $PY -c "
import json; d = json.load(open('$WORK/real.json'))['trading']['md']['mdp3']
assert d['packets'] == 1 and d['messages_by_template'] == {'37': 1, '46': 2, '47': 1, '48': 1}, d"
tr_real omi_cme_mdp3_v19_incr_book_t46.pcap
check "MDP3 incremental book: two template 46 messages" $PY -c "
import json; d = json.load(open('$WORK/real.json'))['trading']['md']['mdp3']
assert d['messages_by_template'] == {'46': 2}, d"
tr_real omi_cme_mdp3_v15_instrdef_spread_vlan.pcap
check "MDP3 v5 schema, VLAN: instrument definitions 27 x2, 29 x3" $PY -c "
import json; d = json.load(open('$WORK/real.json'))['trading']['md']['mdp3']
assert d['messages_by_template'] == {'27': 2, '29': 3}, d"

section "other read paths: a reader thread, libpcap inputs with several workers"
"$TT" analyze -q -w 2 --set pipeline.dispatch_thread=true -s "$WORK/dt.s.json" -e "$WORK/dt.e.json" \
    "$WORK/trading_demo.pcap"
check "reader thread + 2 workers: same summary as 1 worker" cmp "$WORK/trading_demo.s1.json" "$WORK/dt.s.json"
check "reader thread + 2 workers: same events as 1 worker" cmp "$WORK/trading_demo.e1.json" "$WORK/dt.e.json"
NG="$CAPS/tcp/cooper-grill-dvwa.pcapng"
"$TT" analyze -q -s "$WORK/ng1.json" -e "$WORK/ng1.e" "$NG"
"$TT" analyze -q -w 2 -s "$WORK/ng2.json" -e "$WORK/ng2.e" "$NG"
check "pcapng through libpcap, 2 workers (frames copied into shared chunks): same output as 1" \
    cmp "$WORK/ng1.e" "$WORK/ng2.e"

section "limits reached are counted in the summary"
"$TT" analyze -q -s "$WORK/lim.json" --set report.talkers_max=2 --set flow.max_flows=16 "$WORK/trading_demo.pcap"
check "full talker table and flow table are counted under drops" $PY -c "
import json; d=json.load(open('$WORK/lim.json'))['drops']
assert d.get('report.talkers_full',0) > 0 and d.get('flow.evicted',0) > 0, d"
"$TT" analyze -q -s "$WORK/lim2.json" --set alert.keys=1 --set alert.tcp.handshake.warn=100 \
    --set alert.tcp.handshake.per=flow "$WORK/rst_storm.pcap"
check "alert keys replaced in a full table are counted" $PY -c "
import json; d=json.load(open('$WORK/lim2.json'))['drops']; assert d.get('alert.keys_evicted',0) > 0, d"

"$TT" analyze -q -s "$WORK/lim3.json" --set trading.max_sessions=1 "$WORK/trading_fix_md.pcap"
"$TT" analyze -q -s "$WORK/lim4.json" --set detect.burst_window=10s --set detect.burst_link_mbps=1 \
    "$WORK/trading_demo.pcap"
check "TCP trading sessions beyond the table and frames beyond the burst window's ring are counted" $PY -c "
import json
d, e = json.load(open('$WORK/lim3.json'))['drops'], json.load(open('$WORK/lim4.json'))['drops']
assert d.get('trading.sessions_full', 0) == 2 and e.get('burst.ring_full', 0) > 0, (d, e)"
"$TT" analyze -q -s "$WORK/lim5.json" --set trading.md_sessions=4 "$WORK/trading_demo.pcap"
check "market-data sessions beyond 7/8 of the table are counted, the rest analysed" $PY -c "
import json
s = json.load(open('$WORK/lim5.json'))
assert s['drops'].get('trading.sessions_full', 0) > 0, s['drops']
assert len(s['trading']['md']['sessions']) == 3, [m['name'] for m in s['trading']['md']['sessions']]"

# One MoldUDP64 session on six multicast groups: four feeds are tracked; the fifth and sixth
# are counted (once each) and their packets analysed as the fourth's.
$PY - "$WORK/six_feeds.pcap" <<'EOF'
import struct, sys
out = open(sys.argv[1], "wb")
out.write(struct.pack("<IHHiIII", 0xa1b23c4d, 2, 4, 0, 0, 65535, 1))
def frame(group, seq, t):
    itch = b"S" + struct.pack(">HH", 0, 0) + (1000).to_bytes(6, "big") + b"O"
    mold = b"SIXFEEDS01" + struct.pack(">QH", seq, 1) + struct.pack(">H", len(itch)) + itch
    udp = struct.pack(">HHHH", 26400, 26400, 8 + len(mold), 0) + mold
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 16, 17, 0,
                     bytes([10, 0, 0, 1]), bytes([239, 1, 1, group])) + udp
    eth = bytes([1, 0, 0x5e, 1, 1, group]) + bytes([2, 0, 0, 0, 0, 1]) + b"\x08\x00" + ip
    out.write(struct.pack("<IIII", 1700000000, t, len(eth), len(eth)) + eth)
t = 0
for seq in (1, 2, 3):
    for group in range(1, 7):
        t += 1000
        frame(group, seq, t)
EOF
"$TT" analyze -q -s "$WORK/lim5.json" "$WORK/six_feeds.pcap"
check "a session's packets beyond its four tracked feeds are counted (trading.feeds_full)" $PY -c "
import json; s = json.load(open('$WORK/lim5.json'))
assert s['drops'].get('trading.feeds_full', 0) == 2, s['drops']
assert s['trading']['md']['moldudp64']['messages'] == 18, s['trading']['md']"

# A SYN flood of 1 M new flows into a table of 65,536: every flow beyond it is evicted and
# counted, each ends with its record, and the process's peak memory stays within what the
# configured tables allow (measured over a run of the same settings on a tiny capture).
"$GEN" synflood "$WORK/flood.pcap" 1000000
flood_run() { # CAPTURE SUMMARY: prints "peak_rss_mib tables_mib"
    $PY - "$TT" "$1" "$2" <<'EOF'
import re, resource, subprocess, sys
tt, cap, summary = sys.argv[1:]
out = subprocess.run([tt, "analyze", cap, "-s", summary, "-e", "/dev/null",
                      "--set", "flow.max_flows=65536", "--set", "tcp.recall=65536"],
                     capture_output=True, text=True, check=True).stdout
tables = float(re.search(r"memory: tables ([0-9.]+) MiB", out).group(1))
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, tables)
EOF
}
read -r flood_rss flood_tables < <(flood_run "$WORK/flood.pcap" "$WORK/flood.json")
read -r small_rss small_tables < <(flood_run "$WORK/clean.pcap" "$WORK/flood_small.json")
check "SYN flood: 1,000,000 flows, 934,464 evictions counted, 1,000,000 flow records" $PY -c "
import json; s = json.load(open('$WORK/flood.json'))
assert s['flows'] == 1000000, s['flows']
assert s['drops'].get('flow.evicted') == 1000000 - 65536, s['drops']
assert s['events'].get('flow') == 1000000, s['events']"
if nm "$TT" 2> /dev/null | grep -q __asan_init; then
    skip "SYN flood: peak memory" "an ASan build: its shadow memory and quarantine are not ticktap's tables"
else
    check "SYN flood: peak memory ${flood_rss%.*} MiB <= ${small_rss%.*} MiB + tables ${flood_tables%.*} MiB" \
        $PY -c "assert $flood_rss <= $small_rss + $flood_tables and $flood_tables == $small_tables"
fi
rm -f "$WORK/flood.pcap"

section "command line: errors are one clear line and a documented exit status"
expect_exit "missing file -> 2" 2 "cannot read capture" -- "$TT" analyze /nonexistent.pcap
head -c 4096 /dev/urandom > "$WORK/garbage.pcap"
expect_exit "not a capture -> 2" 2 "cannot read capture" -- "$TT" analyze "$WORK/garbage.pcap"
expect_exit "bad filter -> 1" 1 "filter" -- "$TT" analyze --filter "tcp port banana" "$WORK/clean.pcap"
expect_exit "bad --workers -> 1" 1 "workers" -- "$TT" analyze -w 0 "$WORK/clean.pcap"
printf 'flow:\n  max_flowz: 10\n' > "$WORK/bad.yaml"
expect_exit "bad trading port list -> 1" 1 "trading.fix.ports: '98x'" -- "$TT" analyze --set trading.fix.ports=98x "$WORK/clean.pcap"
expect_exit "bad feed group -> 1" 1 "is not GROUP:PORT" -- "$TT" analyze --set trading.feeds.0.a=233.1.1.1 "$WORK/clean.pcap"
expect_exit "feed pair missing its B side -> 1" 1 "needs both a and b" -- "$TT" analyze --set trading.feeds.0.a=233.1.1.1:5 "$WORK/clean.pcap"
expect_exit "unknown time zone -> 1" 1 "no such time zone" -- "$TT" analyze --set trading.itch_timezone=Mars/Base "$WORK/clean.pcap"
expect_exit "no market-data sessions -> 1" 1 "md_sessions" -- "$TT" analyze --set trading.md_sessions=0 "$WORK/clean.pcap"
expect_exit "burst fraction out of range -> 1" 1 "burst_fraction_pct" -- "$TT" analyze --set detect.burst_fraction_pct=150 "$WORK/clean.pcap"
expect_exit "unknown config key -> 1" 1 "unknown setting 'flow.max_flowz'" -- "$TT" analyze -c "$WORK/bad.yaml" "$WORK/clean.pcap"
printf 'flow:\n  tcp_idle_timeout: soon\n' > "$WORK/bad2.yaml"
expect_exit "bad config value -> 1" 1 "tcp_idle_timeout" -- "$TT" analyze -c "$WORK/bad2.yaml" "$WORK/clean.pcap"
expect_exit "no capture given -> 1" 1 "no capture" -- "$TT" analyze
expect_exit "unwritable events -> 4" 4 "cannot write events" -- "$TT" analyze -e /nonexistent/dir/x.json "$WORK/clean.pcap"
check "example config loads" "$TT" analyze -q -c "$ROOT/examples/ticktap.yaml" "$WORK/clean.pcap"
check "example DPDK config loads" "$TT" analyze -q -c "$ROOT/examples/dpdk.yaml" "$WORK/clean.pcap"
printf 'flow:\n  max_flows: [1\n' > "$WORK/bad3.yaml"
expect_exit "unclosed '[' in YAML -> 1, said as a YAML error" 1 "bad3.yaml:[0-9]*: not valid YAML.*brackets" -- \
    "$TT" analyze -q -c "$WORK/bad3.yaml" "$WORK/clean.pcap"
printf 'flow:\n  max_flows: [1, 2]\n' > "$WORK/bad4.yaml"
expect_exit "a list for a one-value key -> 1" 1 "'flow.max_flows' takes one value, not a list" -- \
    "$TT" analyze -q -c "$WORK/bad4.yaml" "$WORK/clean.pcap"
expect_exit "a directory -> 2, said as one" 2 "is a directory (give the capture files in it" -- \
    "$TT" analyze -q "$WORK"
head -c 24 "$WORK/clean.pcap" > "$WORK/hdronly.pcap"; printf '\0\0\0\0\0\0\0\0\377\377\377\0\377\377\377\0' >> "$WORK/hdronly.pcap"
expect_exit "damaged before the first frame -> 3, said so (not 'after frame 0')" 3 "damaged before its first frame" -- \
    "$TT" analyze -q "$WORK/hdronly.pcap"
rm -f "$WORK/early.e"
expect_exit "unwritable --summary -> 4 before anything is analysed" 4 "cannot write summary.*create the directory" -- \
    "$TT" analyze -q -s /nonexistent/dir/s.json -e "$WORK/early.e" "$WORK/clean.pcap"
check "... no events were written (the run never started)" test ! -e "$WORK/early.e"
"$TT" config --help > "$WORK/cfghelp" 2>&1
check "config --help: usage, not the settings" sh -c "grep -q '^usage: ticktap config' '$WORK/cfghelp' && ! grep -q '^flow.max_flows' '$WORK/cfghelp'"
for k in fddi ppp ppp_hdlc chdlc; do # the same IP packets under each link layer tshark reads
    for s in clean loss; do
        "$ROOT/tests/integration/relink.py" "$WORK/$s.pcap" "$WORK/$s.$k.pcap" $k
        "$TT" analyze -q -s "$WORK/$s.$k.json" "$WORK/$s.$k.pcap"
    done
    check "link type $k: the same flows and TCP analysis as over Ethernet" $PY -c "
import json
for s in 'clean', 'loss':
    a, b = json.load(open('$WORK/%s.s1.json' % s)), json.load(open('$WORK/%s.$k.json' % s))
    assert a['tcp_analysis'] == b['tcp_analysis'] and a['flows'] == b['flows'] and b['decode_errors'] == {}, (s, b)"
    check "link type $k: tshark agrees" env TICKTAP="$TT" "$ROOT/tests/oracle/compare.sh" "$WORK/loss.$k.pcap"
done
"$ROOT/tests/integration/relink.py" "$WORK/clean.pcap" "$WORK/user0.pcap" user0
expect_exit "a link type not decoded -> 6, named on stderr with what is read" 6 \
    "link type 147 (.*) is not decoded: [0-9]* of [0-9]* frames.*ticktap reads Ethernet" -- \
    "$TT" analyze -q "$WORK/user0.pcap"
# Ctrl-C part-way (here while standard input waits for more): exit 130, and the human summary
# and the JSON summary both say the figures are partial.
{ cat "$WORK/clean.pcap"; sleep 3; } | "$TT" analyze -s "$WORK/intr.json" - > "$WORK/intr.txt" 2>&1 &
ipid=$!
for _ in $(seq 100); do # until its SIGINT handler is in place
    tp=$(pgrep -f "analyze -s $WORK/intr.json" | head -1)
    [ -n "$tp" ] && (( 0x$(sed -n 's/^SigCgt:\s*//p' /proc/$tp/status 2>/dev/null || echo 0) & 2 )) && break
    sleep 0.05
done
kill -INT $tp 2> /dev/null; wait $ipid; irc=$?
check "interrupted: exit 130, the human summary and the JSON say so" sh -c "test $irc -eq 130 &&
    grep -q INTERRUPTED '$WORK/intr.txt' && grep -q '\"interrupted\": *true' '$WORK/intr.json'"

section "filters, several files, truncation"
"$TT" analyze -q --filter udp -s "$WORK/f.json" "$WORK/trading_demo.pcap"
check "--filter udp keeps only UDP" $PY -c "
import json; s=json.load(open('$WORK/f.json'))
assert s['protocols'].get('tcp',0)==0 and s['protocols']['udp']==s['packets']>0, s['protocols']"
"$TT" analyze -q -s "$WORK/m.json" "$WORK/clean.pcap" "$WORK/loss.pcap"
check "two files are analysed as one stream" $PY -c "
import json; s=json.load(open('$WORK/m.json'))
assert s['flows']==2 and s['tcp_analysis']['fast_retransmission']==1, s"
"$TT" analyze -q -w 2 -s "$WORK/m2.json" "$WORK/clean.pcap" "$WORK/loss.pcap"
check "two files, 2 workers (merged, then shared): same summary as 1 worker" cmp "$WORK/m.json" "$WORK/m2.json"
"$TT" analyze -q -w 3 --filter udp -s "$WORK/f3.json" "$WORK/trading_demo.pcap"
check "--filter udp, 3 workers: same summary as 1 worker" cmp "$WORK/f.json" "$WORK/f3.json"
size=$(stat -c %s "$WORK/trading_demo.pcap")
head -c $((size / 2 + 7)) "$WORK/trading_demo.pcap" > "$WORK/cut.pcap"
expect_exit "capture cut mid-record -> 3 with a message" 3 "damaged" -- "$TT" analyze -q -s "$WORK/cut.json" "$WORK/cut.pcap"
check "cut capture still reports what it read" $PY -c "
import json; s=json.load(open('$WORK/cut.json')); assert s['packets']>1000 and s['capture_errors']==1, s"
expect_exit "capture cut mid-record, 2 workers -> 3 with a message" 3 "damaged" -- "$TT" analyze -q -w 2 -s "$WORK/cut2.json" "$WORK/cut.pcap"
check "cut capture, 2 workers: same summary as 1 worker" cmp "$WORK/cut.json" "$WORK/cut2.json"

section "alerting: sliding-window thresholds fire and clear as configured"
"$TT" analyze -q -w 2 -e "$WORK/al.json" -s "$WORK/als.json" --set alert.tcp.reset.warn=10 \
    --set alert.tcp.reset.critical=40 --set alert.tcp.reset.window=1s --set alert.tcp.reset.per=all \
    --set alert.tcp.retransmission.warn=1 --set alert.tcp.retransmission.per=flow "$WORK/rst_storm.pcap"
check "60 RSTs in 0.7 s: warn at 10, critical at 40, resolved at the end; per-flow rule silent" $PY -c "
import json
al=[json.loads(l)['alert'] for l in open('$WORK/al.json') if '\"type\":\"alert\"' in l]
got=[(a['rule'],a['level'],a['count'],a['threshold']) for a in al]
assert got==[('tcp.reset','warn',10,10),('tcp.reset','critical',40,40),('tcp.reset','resolved',0,10)], got"
check "alert events match the schema" "$ROOT/tests/integration/validate.py" "$ROOT/schemas/event.schema.json" "$WORK/al.json" --lines
"$TT" analyze -q -s "$WORK/al2.json" --set alert.tcp.reset.warn=10 --set alert.tcp.reset.per=flow "$WORK/rst_storm.pcap"
check "per-flow scope: one RST per flow never reaches 10" $PY -c "
import json; assert 'alert' not in json.load(open('$WORK/al2.json'))['events']"
expect_exit "unknown alert field -> 1" 1 "fields are warn, critical" -- "$TT" analyze -q --set alert.tcp.reset.often=3 "$WORK/clean.pcap"

section "Kafka: events through librdkafka's mock cluster (3 brokers), read back with kcat"
"$TT" analyze -q -w 2 --kafka mock --kafka-hold 120 -e "$WORK/k.json" -s "$WORK/ks.json" \
    "$WORK/trading_demo.pcap" 2> "$WORK/k.err" &
kpid=$!
for _ in $(seq 600); do grep -q "^kafka: .* delivered" "$WORK/k.err" && break; sleep 0.1; done
BOOT=$(sed -n 's/^kafka: streaming to \([^ ]*\).*/\1/p' "$WORK/k.err")
check "mock cluster has 3 brokers" test "$(echo "$BOOT" | tr ',' '\n' | grep -c 127.0.0.1)" -eq 3
timeout 60 kcat -C -b "$BOOT" -t ticktap.events -o beginning -e -q -J > "$WORK/kev.jsonl" 2> /dev/null
timeout 60 kcat -C -b "$BOOT" -t ticktap.flows -o beginning -e -q -J > "$WORK/kfl.jsonl" 2> /dev/null
timeout 60 kcat -C -b "$BOOT" -t ticktap.stats -o beginning -e -q -J > "$WORK/kst.jsonl" 2> /dev/null
kill -TERM $kpid 2> /dev/null; wait $kpid; krc=$?
check "kafka run exits 0 after the hold is cut short" test $krc -eq 0
check "kcat reads back every event and flow record (keyed, in order) and stats records (schema, final counts)" \
    "$ROOT/tests/integration/check_kafka.py" "$WORK/k.json" "$WORK/kev.jsonl" "$WORK/kfl.jsonl" "$WORK/ks.json" "$WORK/kst.jsonl"
check "kafka summary (delivery latency included) matches its schema" "$ROOT/tests/integration/validate.py" "$ROOT/schemas/summary.schema.json" "$WORK/ks.json"
"$TT" analyze -q --kafka mock --set kafka.mock_outage=3s -e "$WORK/ko.json" -s "$WORK/kos.json" \
    "$WORK/trading_demo.pcap" 2> "$WORK/ko.err"
check "all mock brokers down for 3 s during the run: nothing lost" $PY -c "
import json; k=json.load(open('$WORK/kos.json'))['kafka']; n=sum(1 for _ in open('$WORK/ko.json'))
assert k['offered']==k['delivered']==n+1 and k['failed']==k['undelivered']==k['dropped_queue_full']==0, (k, n)"
# A 2 s outage against a buffer of 20 + 20 messages, not waited for (as live capture does):
# the rest must be dropped, by the policy.
for policy in drop_newest drop_oldest; do
    "$TT" analyze -q --kafka mock --kafka-hold 120 --set kafka.mock_outage=2s --set kafka.overflow=$policy \
        --set pipeline.overflow_block=false \
        --set kafka.buffer_messages=20 --set kafka.inflight_messages=20 -s "$WORK/kq.json" -e "$WORK/kq.e" \
        "$WORK/trading_demo.pcap" 2> "$WORK/kq.err" &
    kpid=$!
    for _ in $(seq 600); do grep -q "^kafka: .* delivered" "$WORK/kq.err" && break; sleep 0.1; done
    BOOT=$(sed -n 's/^kafka: streaming to \([^ ]*\).*/\1/p' "$WORK/kq.err")
    for t in events flows stats; do
        timeout 60 kcat -C -b "$BOOT" -t ticktap.$t -o beginning -e -q 2> /dev/null
    done > "$WORK/kq.read"
    kill -TERM $kpid 2> /dev/null; wait $kpid
    check "$policy: what arrives is exactly offered - dropped, and the drop is counted" $PY -c "
import json; k=json.load(open('$WORK/kq.json'))['kafka']; n=sum(1 for _ in open('$WORK/kq.read'))
dropped = k['dropped_queue_full'] + k['dropped_oldest']
assert dropped > 0 and k['delivered'] == n == k['offered'] - dropped, (k, n)
assert (k['dropped_oldest'] > 0) == ('$policy' == 'drop_oldest') and k['failed'] == k['undelivered'] == 0, k"
    check "$policy: the newest messages arrive (drop_oldest) or the oldest do (drop_newest)" $PY -c "
lines = [l.rstrip('\n') for l in open('$WORK/kq.e')]
got = set(l.rstrip('\n') for l in open('$WORK/kq.read'))
first, last = lines[0] in got, lines[-1] in got
assert (first, last) == ((True, False) if '$policy' == 'drop_newest' else (True, True)), (first, last)"
done
check "buffer full: the message says what to raise" grep -q "kafka.buffer_messages" "$WORK/kq.err"
"$TT" analyze -q --kafka mock --set kafka.test_fatal_after=20 -s "$WORK/kf.json" "$WORK/trading_demo.pcap" 2> "$WORK/kf.err"
check "fatal producer error: a new producer takes over and delivers every message" $PY -c "
import json; k=json.load(open('$WORK/kf.json'))['kafka']
assert k['fatal_restarts'] == 1 and k['offered'] == k['delivered'] and k['failed'] == 0, k"
check "fatal producer error: said on stderr" grep -q "fatal producer error.*recreating the producer" "$WORK/kf.err"
"$TT" analyze -q --kafka mock --set kafka.mock_outage=2s --set kafka.buffer_messages=20 \
    --set kafka.inflight_messages=20 -s "$WORK/kw.json" "$WORK/trading_demo.pcap" 2> "$WORK/kw.err"
check "offline analysis waits for a full buffer (2 s outage, 40 messages of room): nothing dropped" $PY -c "
import json; k=json.load(open('$WORK/kw.json'))['kafka']
assert k['offered'] == k['delivered'] > 40 and k['dropped_queue_full'] == k['dropped_oldest'] == 0, k"
expect_exit "kafka.overflow typo -> 1" 1 "drop_newest or drop_oldest" -- \
    "$TT" analyze -q --set kafka.overflow=drop_some "$WORK/clean.pcap"
expect_exit "unreachable broker -> 5, nothing lost silently" 5 "undelivered of" -- \
    "$TT" analyze -q --kafka 127.0.0.1:9 --set kafka.flush_timeout=2s -s "$WORK/ku.json" "$WORK/clean.pcap"
check "unreachable broker: every message accounted" $PY -c "
import json; k=json.load(open('$WORK/ku.json'))['kafka']
assert k['offered'] > 0 and k['delivered'] == 0 and k['failed'] + k['undelivered'] + k['dropped_queue_full'] == k['offered'], k"
expect_exit "bad kafka property -> 1" 1 "kafka property 'no.such.property'" -- \
    "$TT" analyze -q --kafka mock --set kafka.properties.no.such.property=1 "$WORK/clean.pcap"

section "Prometheus /metrics and /healthz (libmicrohttpd)"
"$TT" analyze -q $TSET --metrics 127.0.0.1:0 --kafka mock --kafka-hold 120 -s "$WORK/ms.json" "$TP" 2> "$WORK/ms.err" &
mpid=$!
for _ in $(seq 600); do grep -q "^kafka: holding" "$WORK/ms.err" && break; sleep 0.1; done
MPORT=$(sed -n 's|^metrics: http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$WORK/ms.err")
curl -s "http://127.0.0.1:$MPORT/metrics" > "$WORK/m1.txt"
check "metrics: format, families, histograms; counters equal the summary; FIX latency buckets equal the generated samples" \
    "$ROOT/tests/integration/check_metrics.py" "$WORK/m1.txt" --summary "$WORK/ms.json" --truth "$TP.trading.json" \
    --require ticktap_packets_total ticktap_decode_errors_total ticktap_drops_total ticktap_flows_active \
    ticktap_events_total ticktap_stage_latency_seconds ticktap_kafka_messages_total ticktap_kafka_queue_messages \
    ticktap_kafka_delivery_seconds ticktap_order_latency_seconds ticktap_feed_latency_seconds \
    ticktap_session_latency_seconds ticktap_feed_lost_messages_total ticktap_up
check "healthz: 200 ok" sh -c "curl -sf http://127.0.0.1:$MPORT/healthz | grep -qx ok"
check "metrics: other paths are 404" sh -c "test \$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$MPORT/nope) = 404"
expect_exit "metrics: port in use -> 1" 1 "cannot listen on 127.0.0.1:$MPORT" -- "$TT" analyze -q --metrics 127.0.0.1:$MPORT "$WORK/clean.pcap"
kill -TERM $mpid 2> /dev/null; wait $mpid
expect_exit "metrics: bad port -> 1" 1 "the port must be 0-65535" -- "$TT" analyze -q --metrics 127.0.0.1:99999 "$WORK/clean.pcap"
expect_exit "metrics: not an address -> 1" 1 "is not an IP address" -- "$TT" analyze -q --set metrics.listen=example.com:9108 "$WORK/clean.pcap"
# An unreachable broker while following a capture: Kafka holds messages and delivers none.
"$TT" analyze -q --follow --metrics 127.0.0.1:0 --kafka 127.0.0.1:9 --set metrics.stuck_after=1s \
    --set kafka.flush_timeout=1s "$WORK/trading_demo.pcap" 2> "$WORK/mh.err" > /dev/null &
mpid=$!
for _ in $(seq 100); do grep -q "^metrics: http" "$WORK/mh.err" && break; sleep 0.1; done
MPORT=$(sed -n 's|^metrics: http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$WORK/mh.err")
for _ in $(seq 100); do
    curl -s -o "$WORK/mh.body" -w '%{http_code}' "http://127.0.0.1:$MPORT/healthz" > "$WORK/mh.code"
    grep -q 503 "$WORK/mh.code" && break; sleep 0.1
done
check "healthz: 503 naming Kafka when messages wait and none is delivered" grep -q "^kafka: [0-9]* message(s) waiting, none delivered" "$WORK/mh.body"
curl -s "http://127.0.0.1:$MPORT/metrics" > "$WORK/mh.txt"
check "metrics: ticktap_up 0 and the waiting messages in ticktap_kafka_queue_messages" $PY -c "
t = open('$WORK/mh.txt').read()
assert '\nticktap_up 0\n' in t and '\nticktap_kafka_queue_messages 0\n' not in t, t[-300:]"
kill -INT $mpid 2> /dev/null; wait $mpid; mrc=$?
check "unreachable broker while following: exit 5 (messages not delivered)" test $mrc -eq 5

section "real TCP captures against tshark (../shared/captures/tcp)"
if [ -d "$CAPS/tcp" ]; then
    TICKTAP="$TT" "$ROOT/tests/oracle/compare.sh" --progress --out "$WORK/diffs.tsv" "$CAPS"/tcp/* > "$WORK/cmp.txt"
    sed -n '/per-flag agreement/,$p' "$WORK/cmp.txt"
    # Every file must agree on every flag.
    unexpected=$(awk -F'\t' 'NR>1{print $1}' "$WORK/diffs.tsv" | xargs -rn1 basename | sort -u | tr '\n' ' ')
    check "all $(ls "$CAPS"/tcp | wc -l) files agree with tshark on every tcp_analysis flag" test -z "$unexpected"
    [ -n "$unexpected" ] && echo "       disagreeing: $unexpected"
    # Steering must keep every flow whole, tunnels, fragments and label stacks included.
    wdiff=""; ediff=""; nw=0
    wfiles=("$CAPS"/tcp/* "$CAPS"/tunnel/* "$CAPS"/trading/*.pcap*)
    for f in "${wfiles[@]}"; do
        nw=$((nw + 1)); progress "1 against 3 workers" $nw ${#wfiles[@]}
        "$TT" analyze -q -s "$WORK/w1.json" -e "$WORK/w1.ev" "$f" > /dev/null 2>&1
        "$TT" analyze -q -w 3 -s "$WORK/w3.json" -e "$WORK/w3.ev" "$f" > /dev/null 2>&1
        same_summary "$WORK/w1.json" "$WORK/w3.json" || wdiff+=" $(basename "$f")"
        cmp -s "$WORK/w1.ev" "$WORK/w3.ev" || ediff+=" $(basename "$f")"
    done
    check "all $nw real TCP, tunnel and exchange captures: 3 workers give the same summary as 1" test -z "$wdiff"
    # Flows that time out at the same frame in different workers come out in one order.
    check "... and the same events, in the same order" test -z "$ediff"
    [ -n "$ediff" ] && echo "       events differ:$ediff"
    # A later fragment of a DNS answer arrives before its first: it goes by its addresses, and
    # the summary says so (the datagram still reassembles whole on one worker).
    "$TT" analyze -q -w 3 -s "$WORK/u3.json" "$CAPS/tunnel/ipv6-fragmented-dns.pcap" > /dev/null 2>&1
    check "a fragment steered before its first fragment is counted (dispatch.unsteered)" $PY -c "
import json; d = json.load(open('$WORK/u3.json'))['drops']; assert d.get('dispatch.unsteered') == 1, d"
    [ -n "$wdiff" ] && echo "       differ:$wdiff"
else
    bad "missing $CAPS/tcp (run from a checkout with ../shared beside it)"
fi

section "tunnel captures: inner flows decoded (../shared/captures/tunnel)"
# a packet of a decodable encapsulation with a second IP header inside
TUNNEL_FILTER='(vxlan || geneve || gtp.message == 255 || gre) && (count(ip.version) >= 2 || count(ipv6.version) >= 2 || (ip && ipv6))'
tun_ok=0; tun_total=0; tun_missed=""; tun_i=0
tun_files=("$CAPS"/tunnel/*)
for f in "${tun_files[@]}"; do
    tun_i=$((tun_i + 1)); progress "tunnel captures" $tun_i ${#tun_files[@]}
    grep -qxF "$(basename "$f")" <(grep -v '^#' "$ROOT/tests/oracle/unsupported_tunnels.txt" | cut -f1) && continue
    timeout 60 "$TT" analyze -q -e "$WORK/t.json" -s "$WORK/ts.json" "$f" 2> /dev/null; rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then bad "tunnel $(basename "$f"): exit $rc"; continue; fi
    # where tshark sees a decodable encapsulation carrying IP, we must show tunnelled flows
    if tshark -r "$f" -Y "$TUNNEL_FILTER" -c 1 2> /dev/null | grep -q .; then
        tun_total=$((tun_total + 1))
        if grep -q '"tunnel":{"kind"' "$WORK/t.json"; then tun_ok=$((tun_ok + 1)); else tun_missed+=" $(basename "$f")"; fi
    fi
done
echo "  tunnelled captures with inner flows found: $tun_ok/$tun_total"
check "every tunnel capture with IP inside yields tunnelled flows" test "$tun_ok" -eq "$tun_total"
[ -n "$tun_missed" ] && echo "       missed:$tun_missed"

# Real captures whose tunnel ids differ by direction (GTP-U TEIDs, PPTP call ids, GRE keys):
# each connection is one flow, and its tcp_analysis is tshark's.
check "tunnels whose ids differ by direction: tshark agrees on every tcp_analysis count" \
    env TICKTAP="$TT" "$ROOT/tests/oracle/compare.sh" "$CAPS"/tunnel/{erspan.pcap,gre-pptp.pcap,gtp2_different_udp_port.pcap,gtp6_gtp_0x32.pcap,gtp9_unknown_or_too_short_payload.pcap}

section "following a growing capture (--follow)"
"$GEN" trading "$WORK/grow.src.pcap" 5000
head -c 24 "$WORK/grow.src.pcap" > "$WORK/grow.pcap"
"$TT" analyze --follow -w 2 -q -s "$WORK/grow.s.json" -e "$WORK/grow.e.json" "$WORK/grow.pcap" 2> "$WORK/grow.err" &
fpid=$!
sleep 0.3
tail -c +25 "$WORK/grow.src.pcap" | head -c 100000 >> "$WORK/grow.pcap"   # ends mid-record
sleep 0.3
tail -c +25 "$WORK/grow.src.pcap" | tail -c +100001 >> "$WORK/grow.pcap"
sleep 0.5
kill -INT $fpid; wait $fpid; rc=$?
"$TT" analyze -q -s "$WORK/grow.o.json" -e "$WORK/grow.o.e.json" "$WORK/grow.src.pcap"
check "follow: appended records (one split mid-record) give the offline summary, status 0" \
    bash -c "test $rc -eq 0 && cmp '$WORK/grow.s.json' '$WORK/grow.o.json'"
check "follow: ... and the offline events" cmp "$WORK/grow.e.json" "$WORK/grow.o.e.json"
cp "$WORK/grow.src.pcap" "$WORK/rot.pcap"
"$TT" analyze --follow -q -s "$WORK/rot.s.json" "$WORK/rot.pcap" 2> /dev/null & fpid=$!
sleep 0.4
cp "$WORK/clean.pcap" "$WORK/rot.new" && mv "$WORK/rot.new" "$WORK/rot.pcap"   # rotation
sleep 0.5
kill -INT $fpid; wait $fpid
check "follow: a file replaced under the same name is followed into" $PY -c "
import json
n = json.load(open('$WORK/rot.s.json'))['packets']
want = 5000 + json.load(open('$WORK/clean.pcap.expect.json'))['packets']
assert n == want, (n, want)"
"$GEN" trading "$WORK/g.pcap" 10 && editcap -F pcapng "$WORK/g.pcap" "$WORK/g.pcapng" 2>/dev/null
expect_exit "follow: pcapng is refused with a hint -> 2" 2 "dumpcap -P" -- "$TT" analyze --follow "$WORK/g.pcapng"

section "hostile and malformed captures (../shared/captures/malformed): no crash, no hang"
mal_bad=""; n=0
mal_files=("$CAPS"/malformed/*)
for f in "${mal_files[@]}"; do
    n=$((n + 1)); progress "malformed captures" $n ${#mal_files[@]}
    for w in 1 2; do # one worker, and two reading in turns
        timeout 20 "$TT" analyze -q -w $w -s "$WORK/x.json" "$f" > /dev/null 2> "$WORK/x.err"; rc=$?
        case $rc in
            0) ;;
            2|3|6) grep -q . "$WORK/x.err" || mal_bad+=" $(basename "$f")(w$w,rc=$rc,silent)";;
            *) mal_bad+=" $(basename "$f")(w$w,rc=$rc)";;
        esac
    done
done
check "all $n malformed captures end in a result or a clear error, with 1 and 2 workers" test -z "$mal_bad"
[ -n "$mal_bad" ] && echo "       bad:$mal_bad"

. "$ROOT/tests/integration/enrich.sh"
. "$ROOT/tests/integration/desk.sh"
. "$ROOT/tests/integration/csv.sh"
. "$ROOT/tests/integration/report.sh"

echo
suite_end integration
