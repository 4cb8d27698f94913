#!/bin/bash
# run.sh - live capture tests: `ticktap run` on veth pairs between network namespaces made
# here (and removed at the end). Needs root. Ends with "live: N passed, N failed".
#
#   host mode   a TCP session and pings keep working; both directions of the trading port
#               and nothing else reach the agent; its summary equals `ticktap analyze` on a
#               tcpdump capture of the same traffic
#   tap mode    known frames (rules.yaml) over two AF_XDP queues: exactly the matched ones,
#               timestamps within the test's wall-clock window
#   reload      SIGHUP while frames flow: none lost or counted twice
#   saturation  a ring too small: capture.saturated events count exactly what was lost
#   pcap mode   the same rules as a libpcap filter
#   example     examples/ticktap.yaml in host and tap mode: the same analysis as offline
#   errors      bad config, bad rule, no interface, no XDP mode, no privilege; nothing left
#               attached after a crash
#   dpdk        net_pcap replays through `ticktap run` equal the offline analysis (dpdk.sh)
#   hand-off    a saturated `mode: auto` port goes from tap mode to DPDK in the run (handoff.sh)
#   caps        the chart's capabilities are enough, and each is needed (caps.sh)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
TT="$BUILD/ticktap"
SEND="$BUILD/ttsend"
GEN="$BUILD/ttgen"
PY=/usr/bin/python3
PP="$PY $ROOT/tests/live/pingpong.py"
VALIDATE="$ROOT/tests/integration/validate.py"
A=tta$$ B=ttb$$ HA=tha$$ HB=thb$$ CA=tca$$ CB=tcb$$ # HA, HB: handoff.sh; CA, CB: caps.sh
WORK=$(mktemp -d /tmp/ticktap-live.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    for ns in $A $B $HA $HB $CA $CB; do ip netns del $ns 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT
. "$ROOT/tests/lib.sh"
inA() { ip netns exec $A "$@"; }
inB() { ip netns exec $B "$@"; }

if [ "$(id -u)" -ne 0 ]; then
    skip "every live test" "needs root for namespaces and XDP"; suite_end live; exit
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null

# Two namespaces joined by a veth pair with two queues each way; vb (in B) is watched.
ip netns add $A && ip netns add $B || { echo "live: cannot create namespaces"; exit 1; }
ip link add va netns $A numtxqueues 2 numrxqueues 2 type veth peer name vb netns $B \
    numtxqueues 2 numrxqueues 2
inA ip addr add 10.77.0.1/24 dev va; inB ip addr add 10.77.0.2/24 dev vb
inA ip link set va up; inB ip link set vb up; inA ip link set lo up; inB ip link set lo up

# Starts the agent in B: start_agent NAME ARGS...; waits until it captures.
start_agent() {
    local name=$1; shift
    ip netns exec $B "$TT" run "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" &
    agent=$!; pids+=($agent)
    for _ in $(seq 100); do
        grep -q "capturing with" "$WORK/$name.err" && return 0
        kill -0 $agent 2>/dev/null || break
        sleep 0.1
    done
    echo "agent $name did not start:"; sed 's/^/       /' "$WORK/$name.err"; return 1
}
stop_agent() { kill -INT $agent; wait $agent; }
# Scrapes the running agent's /metrics (it listens inside B): scrape NAME -> $WORK/NAME.prom
scrape() {
    local port
    port=$(sed -n 's|^metrics: http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$WORK/$1.err")
    inB curl -s "http://127.0.0.1:$port/$2" > "$WORK/$1.prom"
}
attached() { # what of ours is still attached to vb
    inB ip link show vb | grep -o "xdp[a-z]*"
    inB bpftool net show dev vb 2>/dev/null | grep -o "tt_[a-z_]*"
}

section "host mode: the node's own traffic, both directions, nothing broken"
cat > "$WORK/host.yaml" <<EOF
capture:
  interfaces:
    - name: vb
      mode: host
rules:
  - name: fix
    id: 9
    proto: tcp
    ports: 9878
EOF
ip netns exec $B tcpdump -i vb -w "$WORK/host.pcap" --time-stamp-precision=nano -U 'tcp port 9878' \
    2> "$WORK/tcpdump.err" & tcpd=$!; pids+=($tcpd)
start_agent host -c "$WORK/host.yaml" -s "$WORK/host.s.json" -e "$WORK/host.e.jsonl" -q \
    --set pipeline.workers=2 --kafka mock
for _ in $(seq 50); do grep -q "listening on" "$WORK/tcpdump.err" && break; sleep 0.1; done
ip netns exec $B $PP server 10.77.0.2 9878 > "$WORK/srv.out" & srv=$!; pids+=($srv)
for _ in $(seq 50); do grep -q listening "$WORK/srv.out" && break; sleep 0.1; done
inA $PP client 10.77.0.2 9878 25 > "$WORK/cli.out" 2>&1
check "host: the TCP session works while the agent runs" grep -q "ok 25" "$WORK/cli.out"
inA ping -c 5 -i 0.2 -W 2 10.77.0.2 > "$WORK/ping.out" 2>&1
check "host: pings are answered while the agent runs" grep -q " 0% packet loss" "$WORK/ping.out"
wait $srv
sleep 0.3
stop_agent; rc=$?
kill -INT $tcpd; wait $tcpd
check "host: SIGINT ends the run with status 0" test $rc -eq 0
check "host: the agent is detached after it exits" test -z "$(attached)"
check "host: summary and events match their schemas" bash -c "$VALIDATE $ROOT/schemas/summary.schema.json $WORK/host.s.json && $VALIDATE $ROOT/schemas/event.schema.json $WORK/host.e.jsonl --lines"
check "host: both directions of the trading port, and nothing else (no ICMP)" $PY -c "
import json
s = json.load(open('$WORK/host.s.json'))
assert s['flows'] == 1 and 'icmp' not in s['protocols'], s['protocols']
cap = s['capture']['interfaces'][0]
assert cap['egress_hook'] and cap['xdp']['egress_seen'] > 0, cap
assert sum(r['matched'] for r in cap['rules']) == s['packets'] == cap['frames'], cap
flows = [json.loads(l) for l in open('$WORK/host.e.jsonl') if '\"type\":\"flow\"' in l]
assert len(flows) == 1, flows
p = flows[0]['record']['packets']
assert p['src_to_dst'] > 25 and p['dst_to_src'] > 25, p
"
check "host: every message reaches Kafka; each event is timed from its packet to its delivery report" $PY -c "
import json
k = json.load(open('$WORK/host.s.json'))['kafka']
events = [json.loads(l) for l in open('$WORK/host.e.jsonl')]
timed = [e for e in events if e['type'] != 'flow']
assert k['offered'] == k['delivered'] > len(events) and k['failed'] == k['undelivered'] == 0, k
e2e = k['end_to_end_latency_us']
assert timed and e2e['n'] == len(timed) and 0 < e2e['p50'] <= e2e['max'] < 60e6, (len(timed), e2e)
"
"$TT" analyze -q -s "$WORK/host.a.json" "$WORK/host.pcap"
check "host: summary equals 'ticktap analyze' of a tcpdump capture of the same traffic" $PY -c "
import json
live, off = json.load(open('$WORK/host.s.json')), json.load(open('$WORK/host.a.json'))
for k in ('packets', 'bytes', 'flows', 'protocols', 'tcp_analysis', 'decode_errors', 'events'):
    assert live[k] == off[k], (k, live[k], off[k])
assert live['packets'] > 50, live['packets']
"

section "tap mode: known frames over two AF_XDP queues"
"$GEN" live_mix "$WORK/mix.pcap" 40
{ printf 'capture:\n  interfaces:\n    - name: vb\n      mode: tap\n      queues: 2\n      unmatched: drop\n'
  cat "$ROOT/tests/live/rules.yaml"; } > "$WORK/tap.yaml"
start_agent tap -c "$WORK/tap.yaml" -s "$WORK/tap.s.json" -e "$WORK/tap.e.jsonl" -q --metrics 127.0.0.1:0
t0=$(date +%s%N)
inA "$SEND" va "$WORK/mix.pcap" > "$WORK/send.out"
sleep 0.5
t1=$(date +%s%N)
want=$($PY -c "import json; print(sum(json.load(open('$WORK/mix.pcap.rules.json'))['rules'].values()))")
for _ in $(seq 30); do # the workers publish every 250 ms
    scrape tap metrics
    grep -q "^ticktap_stage_latency_seconds_count{stage=\"capture_delay\"} [1-9]" "$WORK/tap.prom" &&
        [ "$(awk '/^ticktap_packets_total/ {n += $2} END {print n}' "$WORK/tap.prom")" = "$want" ] &&
        [ "$(awk '/^ticktap_rule_matches_total/ {n += $2} END {print n}' "$WORK/tap.prom")" = "$want" ] && break
    sleep 0.1
done
scrape tap healthz; cp "$WORK/tap.prom" "$WORK/tap.health"
scrape tap metrics
stop_agent; rc=$?
check "tap: status 0, detached" bash -c "test $rc -eq 0 && test -z \"$(attached)\""
check "tap: the agent received exactly the matched frames, per rule" $PY -c "
import json
s, want = json.load(open('$WORK/tap.s.json')), json.load(open('$WORK/mix.pcap.rules.json'))
cap = s['capture']['interfaces'][0]
got = {str(r['id']): r['matched'] for r in cap['rules']}
assert got == want['rules'], (got, want['rules'])
total = sum(want['rules'].values())
assert s['packets'] == total == cap['frames'] == cap['xdp']['redirected'], (s['packets'], cap)
assert cap['xdp']['dropped'] >= want['unmatched'], cap['xdp']
"
check "tap: both queues carried frames, and they add up" $PY -c "
import json
cap = json.load(open('$WORK/tap.s.json'))['capture']['interfaces'][0]
q = [x['frames'] for x in cap['queues']]
assert len(q) == 2 and min(q) > 0 and sum(q) == cap['frames'], cap['queues']
"
check "tap: timestamps lie within the test's wall-clock window and increase per flow" $PY -c "
import json
s = json.load(open('$WORK/tap.s.json'))
t0, t1 = $t0, $t1
assert t0 <= s['first_ts_ns'] <= s['last_ts_ns'] <= t1, (t0, s['first_ts_ns'], s['last_ts_ns'], t1)
for l in open('$WORK/tap.e.jsonl'):
    e = json.loads(l)
    assert t0 <= e['ts_ns'] <= t1, e
    if e['type'] == 'flow':
        r = e['record']
        assert t0 <= r['start_ns'] <= r['end_ns'] <= t1, r
"
# Device-bound XDP programs (the NIC's rx timestamp kfunc) need kernel 6.3; before, the agent
# falls back to the plain program and the kernel's clock.
if printf '%s\n' 6.3 "$(uname -r | cut -d- -f1)" | sort -V -C; then
    check "tap: NIC timestamps asked for (device-bound program); veth has none, so the kernel's" $PY -c "
import json
cap = json.load(open('$WORK/tap.s.json'))['capture']['interfaces'][0]
assert cap['timestamps'].startswith('hardware') and cap['hw_stamped_frames'] == 0, cap
"
else
    skip "tap: NIC timestamps through a device-bound program" \
        "kernel $(uname -r) has no device-bound XDP (6.3+); checking the kernel clock's fallback instead"
    check "tap: without device-bound XDP the kernel's clock, said so" $PY -c "
import json
cap = json.load(open('$WORK/tap.s.json'))['capture']['interfaces'][0]
assert cap['timestamps'] == 'kernel' and cap['hw_stamped_frames'] == 0, cap
"
fi
check "tap: summary (its capture block too) and events match their schemas" bash -c "$VALIDATE $ROOT/schemas/summary.schema.json $WORK/tap.s.json && $VALIDATE $ROOT/schemas/event.schema.json $WORK/tap.e.jsonl --lines"
check "tap: /metrics scraped during the run parses, with the capture's families" \
    "$ROOT/tests/integration/check_metrics.py" "$WORK/tap.prom" --require ticktap_xdp_packets_total \
    ticktap_rule_matches_total ticktap_capture_lost_total ticktap_xsk_zero_copy ticktap_stage_latency_seconds
check "tap: /metrics per queue and per rule equal the summary" $PY -c "
import json, re
s = json.load(open('$WORK/tap.s.json')); cap = s['capture']['interfaces'][0]
m = {}
for l in open('$WORK/tap.prom'):
    if not l.startswith('#'):
        k, v = l.rsplit(' ', 1); m[k] = float(v)
for q in cap['queues']:
    assert m['ticktap_capture_frames_total{interface=\"vb\",queue=\"%d\"}' % q['queue']] == q['frames'], q
# the queues are read as one input, steered by flow; the workers still count each queue's frames
for q in cap['queues']:
    assert m['ticktap_packets_total{interface=\"vb\",queue=\"%d\"}' % q['queue']] == q['frames'], q
for r in cap['rules']:
    assert m['ticktap_rule_matches_total{interface=\"vb\",rule_id=\"%d\",rule=\"%s\"}' % (r['id'], r['name'])] == r['matched'], r
assert m['ticktap_xdp_packets_total{interface=\"vb\",counter=\"redirected\"}'] == cap['xdp']['redirected']
assert m['ticktap_stage_latency_seconds_count{stage=\"capture_delay\"}'] > 0
assert m['ticktap_up'] == 1
"
check "tap: /healthz says ok while capturing" grep -qx ok "$WORK/tap.health"

section "rule reload (SIGHUP) while frames flow"
cp "$WORK/tap.yaml" "$WORK/reload.yaml"
start_agent reload -c "$WORK/reload.yaml" -s "$WORK/reload.s.json" -q
ip netns exec $A "$SEND" va "$WORK/mix.pcap" 2000 8 > "$WORK/send2.out" & sender=$!
sleep 0.6
printf '  - name: dns\n    id: 6\n    proto: udp\n    ports: 53\n' >> "$WORK/reload.yaml"
kill -HUP $agent
wait $sender
sleep 0.5
stop_agent
check "reload: applied once, no frame lost or counted twice across it" $PY -c "
import json
s, want = json.load(open('$WORK/reload.s.json')), json.load(open('$WORK/mix.pcap.rules.json'))
cap = s['capture']
assert cap['reloads'] == 1 and cap['reload_failures'] == 0, cap
got = {str(r['id']): r['matched'] for r in cap['interfaces'][0]['rules']}
for rule, n in want['rules'].items():
    assert got[rule] == 8 * n, (rule, got[rule], 8 * n)
per = want['rules']['1']
assert 0 < got['6'] < 8 * per, ('the new rule took effect part-way', got['6'])
assert s['packets'] == sum(got.values()) == cap['interfaces'][0]['frames'], (s['packets'], got)
"
check "reload: the agent said so" grep -q "reloaded .*6 rule" "$WORK/reload.err"

section "saturation: a ring too small for the burst loses frames, and says how many"
{ printf 'capture:\n  interfaces:\n    - name: vb\n      mode: host\n  ring_size: 4096\n  stats_interval: 200ms\n'
  cat "$ROOT/tests/live/rules.yaml"; } > "$WORK/sat.yaml"
start_agent sat -c "$WORK/sat.yaml" -s "$WORK/sat.s.json" -e "$WORK/sat.e.jsonl" -q --metrics 127.0.0.1:0
# The agent is paused while the burst comes, so the ring fills whatever the machine's speed.
kill -STOP $agent
inA "$SEND" va "$WORK/mix.pcap" 0 20 > /dev/null
kill -CONT $agent
sleep 0.6
scrape sat metrics
stop_agent
check "saturation: capture.saturated events count every frame the ring refused" $PY -c "
import json
s = json.load(open('$WORK/sat.s.json'))
cap = s['capture']['interfaces'][0]
x = cap['xdp']
sat = [json.loads(l) for l in open('$WORK/sat.e.jsonl') if 'capture.saturated' in l]
assert x['copy_fail'] > 0 and sat, ('no loss provoked', x)
assert x['copied'] + x['copy_fail'] == x['matched'], x
assert cap['frames'] == x['copied'] == s['packets'], (cap['frames'], x)
assert sum(e['capture']['lost'] for e in sat) == x['copy_fail'] == cap['lost'], (sat, x)
assert all(e['capture']['interface'] == 'vb' and e['capture']['reason'] == 'ring_full' for e in sat)
assert s['events']['capture.saturated'] == len(sat)
"
check "saturation: events match their schema" "$VALIDATE" "$ROOT/schemas/event.schema.json" "$WORK/sat.e.jsonl" --lines
check "saturation: /metrics shows the loss (ticktap_capture_lost_total, reason ring_full) and the events" $PY -c "
import json
x = json.load(open('$WORK/sat.s.json'))['capture']['interfaces'][0]['xdp']
m = {}
for l in open('$WORK/sat.prom'):
    if not l.startswith('#'):
        k, v = l.rsplit(' ', 1); m[k] = float(v)
assert m['ticktap_capture_lost_total{interface=\"vb\",reason=\"ring_full\"}'] == x['copy_fail'] > 0, x
assert m['ticktap_events_total{type=\"capture.saturated\",severity=\"critical\"}'] >= 1
"

section "tap mode's doorbell: a burst cuts the coalescing sleep short"
# Paced at 150k frames/s (light traffic, under one frame a microsecond; about 35k matched
# frames/s per queue) the reader would sleep up to 4 ms between reads for 2048 frames: some
# 140 frames a queue, more than a 128-descriptor ring holds. The bell rings when a quarter of
# the ring waits and wakes the reader (xdp.bell_wakeups). A reader deaf to it (checked by hand:
# the bell's descriptor left out of its poll) shortens its sleeps on finding the rings over
# half full instead, and bell_wakeups stays 0.
{ printf 'capture:\n  interfaces:\n    - name: vb\n      mode: tap\n      queues: 2\n      unmatched: drop\n  xsk_ring: 128\n'
  cat "$ROOT/tests/live/rules.yaml"; } > "$WORK/bell.yaml"
start_agent bell -c "$WORK/bell.yaml" -s "$WORK/bell.s.json" -q
inA "$SEND" va "$WORK/mix.pcap" 150000 30 > /dev/null
sleep 0.5
stop_agent
check "doorbell: a 128-descriptor ring under long sleeps, woken by the bell, under 1% lost" $PY -c "
import json
s = json.load(open('$WORK/bell.s.json'))
cap = s['capture']['interfaces'][0]
x = cap['xdp']
assert x['bells'] > 0 and x['bell_wakeups'] > 0, x
assert x['redirect_fail'] == 0 and cap['frames'] == x['redirected'] - cap['lost'] == s['packets'], (cap, x)
assert cap['lost'] * 100 < x['matched'], (cap['lost'], x)
"

section "jumbo frames (MTU 9000): multi-buffer XDP, AF_XDP and host-mode copies"
# MoldUDP64 frames from ~90 bytes to ~8.6 KB: above ~3.5 KiB XDP sees fragments and AF_XDP
# hands a frame over in several buffers; put back together, they analyse as offline.
inA ip link set va mtu 9000; inB ip link set vb mtu 9000
"$GEN" live_jumbo "$WORK/jumbo.pcap" 50
"$TT" analyze -q -s "$WORK/jumbo.off.json" "$WORK/jumbo.pcap"
jumbo_run() { # NAME MODE [SNAPLEN]: the agent in MODE while the jumbo frames go through
    { printf 'capture:\n  snaplen: %s\n  interfaces:\n    - name: vb\n      mode: %s\n' "${3:-2048}" "$2"
      [ "$2" = tap ] && printf '      queues: 2\n      unmatched: drop\n'
      cat "$ROOT/tests/live/rules.yaml"; } > "$WORK/$1.yaml"
    start_agent "$1" -c "$WORK/$1.yaml" -s "$WORK/$1.s.json" -q --metrics 127.0.0.1:0 || return 1
    inA "$SEND" va "$WORK/jumbo.pcap" > /dev/null
    for _ in $(seq 30); do
        scrape "$1" metrics
        [ "$(awk '/^ticktap_packets_total/ {n += $2} END {print n}' "$WORK/$1.prom")" = 50 ] && break
        sleep 0.1
    done
    stop_agent
}
jumbo_same() { # NAME: the live summary's packets, bytes and ITCH messages equal offline's
    $PY -c "
import json
live, off = json.load(open('$WORK/$1.s.json')), json.load(open('$WORK/jumbo.off.json'))
want = json.load(open('$WORK/jumbo.pcap.jumbo.json'))
def key(s):
    return (s['packets'], s['bytes'], s['trading']['md']['moldudp64']['messages'], s['decode_errors'],
            {k: v for k, v in s['events'].items() if k not in ('burst.micro', 'latency.spike', 'payload.duplicate', 'anomaly.rate', 'anomaly.latency', 'anomaly.errors')})
assert key(live) == key(off), (key(live), key(off))
assert off['packets'] == want['frames'] and off['trading']['md']['moldudp64']['messages'] == want['messages']
assert 'md.gap' not in live['events'], live['events']
"
}
jumbo_run jtap tap
# AF_XDP takes frames over one buffer from kernel 6.6 (XDP_USE_SG); before, it drops them and
# counts them: the agent must say which, and lose nothing silently.
if printf '%s\n' 6.6 "$(uname -r | cut -d- -f1)" | sort -V -C; then
    check "jumbo tap: AF_XDP bound multi-buffer, frames over a buffer came in pieces" $PY -c "
import json
q = json.load(open('$WORK/jtap.s.json'))['capture']['interfaces'][0]['queues']
assert all(x['multi_buffer'] for x in q), q
assert sum(x['multi_buffer_frames'] for x in q) >= 20 and sum(x['rx_dropped'] for x in q) == 0, q
"
    check "jumbo tap: every frame whole: the same analysis as offline" jumbo_same jtap
else
    skip "jumbo tap: frames over one AF_XDP buffer analysed whole" \
        "kernel $(uname -r) has no multi-buffer AF_XDP (6.6+); checking instead that they are counted lost"
    check "jumbo tap: kernel $(uname -r) without multi-buffer AF_XDP: the large frames counted lost" \
        $PY -c "
import json
s = json.load(open('$WORK/jtap.s.json')); q = s['capture']['interfaces'][0]['queues']
assert not any(x['multi_buffer'] for x in q), q
assert s['packets'] + sum(x['rx_dropped'] for x in q) == 50, (s['packets'], q)
"
fi
jumbo_run jhost host 9216
check "jumbo host: copies up to a 9216-byte snap length: the same analysis as offline" \
    jumbo_same jhost
inA ip link set va mtu 1500; inB ip link set vb mtu 1500

section "pcap mode: the rules as a libpcap filter"
{ printf 'capture:\n  interfaces:\n    - name: vb\n      mode: pcap\n'
  sed '/name: vlan100/,/vlan: 100/d' "$ROOT/tests/live/rules.yaml"; } > "$WORK/pcap.yaml"
start_agent pcap -c "$WORK/pcap.yaml" -s "$WORK/pcap.s.json" -q
inA "$SEND" va "$WORK/mix.pcap" > /dev/null
sleep 0.5
stop_agent; rc=$?
check "pcap: the frames of the rules (IPv4, IPv6, multicast, ports), nothing else" $PY -c "
import json
s, want = json.load(open('$WORK/pcap.s.json')), json.load(open('$WORK/mix.pcap.rules.json'))
n = sum(v for k, v in want['rules'].items() if k != '4')
assert $rc == 0 and s['packets'] == n, (s['packets'], n)
"

section "the example config, both modes: live analysis equals offline analysis"
"$GEN" trading "$WORK/trading.pcap" 3000
"$TT" analyze -q -c "$ROOT/examples/ticktap.yaml" -s "$WORK/ex.off.json" "$WORK/trading.pcap"
for mode in host tap; do
    start_agent ex-$mode -c "$ROOT/examples/ticktap.yaml" -s "$WORK/ex.$mode.json" -q \
        --set capture.interfaces.0.name=vb --set capture.interfaces.0.mode=$mode \
        --set capture.hw_timestamps=$([ $mode = host ] && echo false || echo true) \
        $([ $mode = host ] && echo "-k mock")
    inA "$SEND" va "$WORK/trading.pcap" > /dev/null
    sleep 0.5
    stop_agent; rc=$?
    [ $mode = host ] && check "example config, host mode: every event reached Kafka (mock cluster), status 0" \
        bash -c "test $rc -eq 0 && grep -q ', 0 undelivered of [1-9]' '$WORK/ex-host.err'"
    check "example config, $mode mode: same packets, flows and findings as offline" $PY -c "
import json
live, off = json.load(open('$WORK/ex.$mode.json')), json.load(open('$WORK/ex.off.json'))
assert live['packets'] == off['packets'] == 3000, (live['packets'], off['packets'])
# burst.micro follows the sender's pace (see the two-port check below)
for s in (live, off): s['events'] = {k: v for k, v in s['events'].items() if k not in ('burst.micro', 'latency.spike', 'payload.duplicate', 'anomaly.rate', 'anomaly.latency', 'anomaly.errors')}
for k in ('bytes', 'flows', 'protocols', 'tcp_analysis', 'decode_errors', 'events'):
    assert live[k] == off[k], (k, live[k], off[k])
"
done

section "two ports, A feed on one and B feed (and order entry) on the other: arbitrated together"
# Exchanges send a feed's A and B copies on separate ports, and RSS spreads one port over its
# queues: the agent reads every queue of every port as one input and steers by flow and
# session, so the copies meet and a message only one feed lost is no gap.
ip link add va2 netns $A numtxqueues 2 numrxqueues 2 type veth peer name vb2 netns $B \
    numtxqueues 2 numrxqueues 2
inA ip link set va2 up; inB ip link set vb2 up
tcpdump -r "$WORK/trading.pcap" -w "$WORK/feed-a.pcap" 'dst net 233.54.12.0/24' 2> /dev/null
tcpdump -r "$WORK/trading.pcap" -w "$WORK/rest.pcap" 'not dst net 233.54.12.0/24' 2> /dev/null
ARB="--set trading.arbitration_window=5s" # the B feed's first packet comes after the A feed's last
"$TT" analyze -q -c "$ROOT/examples/ticktap.yaml" $ARB -s "$WORK/two.off.json" "$WORK/trading.pcap"
# tap mode with two workers (four AF_XDP queues); host mode with one worker, whom the
# dispatcher feeds so that each port keeps its own microburst detector
for mode in tap host; do
    nw=$([ $mode = tap ] && echo 2 || echo 1)
    { printf 'pipeline:\n  workers: %s\ncapture:\n  interfaces:\n' $nw
      printf '    - name: vb\n      mode: %s\n    - name: vb2\n      mode: %s\n' $mode $mode
      sed -n '/^rules:/,/^[a-z]*:$/p' "$ROOT/examples/ticktap.yaml" | sed '$d'
      sed -n '/^trading:/,$p' "$ROOT/examples/ticktap.yaml"; } > "$WORK/two-$mode.yaml"
    start_agent two-$mode -c "$WORK/two-$mode.yaml" $ARB -s "$WORK/two.$mode.json" -q \
        --set capture.hw_timestamps=false
    # A first, B after: the port read first must not decide what A's losses were
    inA "$SEND" va2 "$WORK/feed-a.pcap" > /dev/null
    inA "$SEND" va "$WORK/rest.pcap" > /dev/null
    sleep 0.5
    stop_agent
    check "two ports, $mode mode, $nw worker(s): both read as one input, every frame" $PY -c "
import json
s = json.load(open('$WORK/two.$mode.json'))
ifs = {i['interface']: i for i in s['capture']['interfaces']}
assert set(ifs) == {'vb', 'vb2'} and s['packets'] == 3000, (list(ifs), s['packets'])
"
    check "two ports, $mode mode: A/B arbitration across them, the same findings as offline" $PY -c "
import json
live, off = json.load(open('$WORK/two.$mode.json')), json.load(open('$WORK/two.off.json'))
assert off['events'].get('md.arbitration_loss', 0) > 0 and 'md.gap' not in off['events'], off['events']
# Live frames carry the time they arrived, which is the sender's pace, not the file's: a
# microburst is a finding about that pace, so burst.micro may differ (it did in one run).
for s in (live, off): s['events'] = {k: v for k, v in s['events'].items() if k not in ('burst.micro', 'latency.spike', 'payload.duplicate', 'anomaly.rate', 'anomaly.latency', 'anomaly.errors')}
for k in ('bytes', 'flows', 'protocols', 'tcp_analysis', 'decode_errors', 'events'):
    assert live[k] == off[k], (k, live[k], off[k])
"
done

section "two ports read as one: packets, decode errors and drops counted per queue and port"
# One FIX segment with a broken TCP option (MSS with length 0) on the second port only: the
# decode error is the second port's, not the first's (the workers learn each frame's input).
$PY - "$WORK/badopt.pcap" <<'PYEOF'
import struct, sys
tcp = struct.pack('!HHIIBBHHH', 50000, 9878, 1, 0, 6 << 4, 0x18, 65535, 0, 0) + bytes([2, 0, 0, 0])
ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp) + 4, 1, 0, 64, 6, 0,
                 bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2]))
frame = bytes(6) + bytes([2, 0, 0, 0, 0, 1]) + b'\x08\x00' + ip + tcp + b'FIX!'
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    f.write(struct.pack('<IIII', 1700000000, 0, len(frame), len(frame)) + frame)
PYEOF
start_agent perinput -c "$WORK/two-tap.yaml" -s "$WORK/perinput.s.json" -q --metrics 127.0.0.1:0 \
    --set capture.hw_timestamps=false
inA "$SEND" va "$WORK/rest.pcap" > /dev/null
inA "$SEND" va2 "$WORK/badopt.pcap" > /dev/null
sleep 1.5 # a publish interval: the workers' counters reach /metrics
scrape perinput metrics
stop_agent
check "per input: each queue's packets, and the broken segment counted on the port it came in on" $PY -c "
import json, re
s = json.load(open('$WORK/perinput.s.json'))
m = {}
for l in open('$WORK/perinput.prom'):
    if not l.startswith('#'):
        k, v = l.rsplit(' ', 1); m[k] = float(v)
def total(name, iface, reason=None):
    pat = name + '{interface=\"' + iface + '\",queue=\"'
    return sum(v for k, v in m.items() if k.startswith(pat) and (reason is None or 'reason=\"%s\"' % reason in k))
for i in s['capture']['interfaces']:
    for q in i['queues']:
        assert m['ticktap_packets_total{interface=\"%s\",queue=\"%d\"}' % (i['interface'], q['queue'])] == q['frames'], (i['interface'], q)
assert s['decode_errors'].get('tcp.bad_option') == 1, s['decode_errors']
assert total('ticktap_decode_errors_total', 'vb2', 'tcp.bad_option') == 1
assert total('ticktap_decode_errors_total', 'vb', 'tcp.bad_option') == 0
assert total('ticktap_packets_total', 'vb') + total('ticktap_packets_total', 'vb2') == s['packets'], s['packets']
"

section "errors: one clear line, non-zero status, nothing left attached"
expect_exit "unreadable config -> 1" 1 "cannot open config" -- "$TT" run -c /nonexistent.yaml
printf 'capture:\n  interfaces:\n    - name: vb\nrules:\n  - name: x\n    ports: 70000\n' > "$WORK/bad.yaml"
expect_exit "bad rule -> 1" 1 "rule 'x': port '70000'" -- "$TT" run -c "$WORK/bad.yaml"
printf 'rules:\n  - ports: 1\n' > "$WORK/noif.yaml"
expect_exit "no interface configured -> 1" 1 "no capture.interfaces" -- "$TT" run -c "$WORK/noif.yaml"
expect_exit "no such interface -> 2" 2 "no such interface 'nosuch0'" -- \
    inB "$TT" run --set capture.interfaces.0.name=nosuch0
expect_exit "native XDP where the device has none -> 2" 2 "native mode is not supported" -- \
    inB "$TT" run --set capture.interfaces.0.name=lo --set capture.interfaces.0.xdp_mode=native
expect_exit "coalescing longer than a ring can bridge -> 1" 1 "capture.coalesce: 1ms at most" -- \
    "$TT" run --set capture.interfaces.0.name=vb --set capture.coalesce=5ms
expect_exit "VLAN rule in pcap mode -> 1" 1 "VLAN rules need host or tap mode" -- \
    "$TT" run --set capture.interfaces.0.name=vb --set capture.interfaces.0.mode=pcap --set rules.0.vlan=5
expect_exit "no privilege -> 2" 2 "needs root" -- \
    ip netns exec $B setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
    "$TT" run --set capture.interfaces.0.name=vb -d 1
expect_exit "unwritable --summary -> 4 before anything is attached" 4 "cannot write summary" -- \
    inB "$TT" run --set capture.interfaces.0.name=vb -s /nonexistent/dir/s.json
check "nothing attached after the failed starts" test -z "$(attached)"
start_agent crash -c "$WORK/host.yaml" -q
before=$(attached | sort | tr '\n' ' ')
kill -9 $agent; wait $agent 2>/dev/null
sleep 0.3
check "a crashed agent leaves nothing attached (BPF links)" bash -c "test -n '$before' && test -z \"$(attached)\""

. "$ROOT/tests/live/dpdk.sh"
. "$ROOT/tests/live/handoff.sh"
. "$ROOT/tests/live/caps.sh"

echo
suite_end live
