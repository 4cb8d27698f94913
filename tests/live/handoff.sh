# handoff.sh - `mode: auto`, sourced by run.sh: a tap-mode port saturated on purpose (a tiny
# AF_XDP ring, a flood of non-IP frames) is handed to a DPDK reader (net_af_xdp on the same
# veth) within the run, and back to tap mode once quiet, each with a capture.handoff event; a
# trading capture sent in three parts (tap, DPDK, tap again) is analysed as `ticktap analyze`
# analyses the file: the sessions the workers held went on across both switches. A single-queue veth pair in namespaces
# of its own (net_af_xdp takes only those), removed by run.sh's clean-up.
if ! pkg-config --exists libdpdk; then
    skip "tap-to-DPDK hand-off" "libdpdk is not installed (make deps installs it)"
elif ! ip netns add $HA || ! ip netns add $HB; then
    skip "tap-to-DPDK hand-off" "cannot create network namespaces"
else
    section "mode auto: a saturated tap port handed to DPDK in the run, flows kept"
    ip link add vh netns $HA type veth peer name vh netns $HB
    for ns in $HA $HB; do # only the frames sent here: no neighbour discovery
        ip netns exec $ns sysctl -qw net.ipv6.conf.vh.disable_ipv6=1
        ip -n $ns link set vh up
    done
    editcap -F pcap -r "$WORK/trading.pcap" "$WORK/ho.1.pcap" 1-1000
    editcap -F pcap -r "$WORK/trading.pcap" "$WORK/ho.2.pcap" 1001-2000
    editcap -F pcap -r "$WORK/trading.pcap" "$WORK/ho.3.pcap" 2001-3000
    $PY - "$WORK/ho.flood.pcap" <<'PY'
import struct, sys
# 20000 frames of EtherType 0x88b5 (local experimental): no flow, no finding, only a count
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(20000):
        frame = b'\x02' * 6 + b'\x04' * 6 + b'\x88\xb5' + struct.pack('>I', i) + b'\0' * 42
        f.write(struct.pack('<IIII', 1700000100 + i // 1000000, i % 1000000, 60, 60) + frame)
PY
    cat > "$WORK/ho.yaml" <<YAML
dpdk:
  eal: [--no-huge, -m, "256", --no-pci, -l, "0", --log-level=lib.eal:error, --no-telemetry]
pipeline:
  workers: 1
capture:
  interfaces:
    - name: vh
      mode: auto
      handoff_after: 2
      handback_below: 1000000  # any rate this veth carries: back after 10 quiet intervals
      handback_after: 10
  xsk_frames: 128
  xsk_ring: 64
  coalesce: 1ms
  stats_interval: 200ms
YAML
    ip netns exec $HB "$TT" run -c "$WORK/ho.yaml" -q -s "$WORK/ho.json" -e "$WORK/ho.ev" \
        2> "$WORK/ho.err" &
    agent=$!; pids+=($agent)
    for _ in $(seq 100); do grep -q "capturing with" "$WORK/ho.err" && break; sleep 0.1; done
    ip netns exec $HA "$SEND" vh "$WORK/ho.1.pcap" 1000 > /dev/null # the sessions begin, slowly
    sleep 0.3
    ip netns exec $HA "$SEND" vh "$WORK/ho.flood.pcap" 0 100 > /dev/null &
    flood=$!; pids+=($flood)
    for _ in $(seq 100); do grep -q "now read by DPDK" "$WORK/ho.err" && break; sleep 0.1; done
    kill $flood 2> /dev/null; wait $flood 2> /dev/null
    sleep 0.3
    ip netns exec $HA "$SEND" vh "$WORK/ho.2.pcap" 5000 > /dev/null # ... go on through DPDK
    for _ in $(seq 100); do grep -q "in tap mode again" "$WORK/ho.err" && break; sleep 0.1; done
    sleep 0.3
    ip netns exec $HA "$SEND" vh "$WORK/ho.3.pcap" 2000 > /dev/null # ... and end in tap mode
    sleep 0.5
    kill -INT $agent; wait $agent; rc=$?
    check "mode auto: the agent said the hand-off and ended with status 0" \
        bash -c "test $rc -eq 0 && grep -q 'handing the port to DPDK' '$WORK/ho.err' &&
                 grep -q 'now read by DPDK' '$WORK/ho.err' || { echo status $rc; tail -20 '$WORK/ho.err'; false; }"
    check "mode auto: capture.handoff events: to dpdk after 2 saturated intervals, back after 10 quiet" $PY -c "
import json
ev = [json.loads(l) for l in open('$WORK/ho.ev')]
h = [e['handoff'] for e in ev if e['type'] == 'capture.handoff']
assert len(h) == 2 and h[0]['from'] == 'tap' and h[0]['to'] == 'dpdk' and h[0]['ok'], h
assert h[0]['intervals'] == 2 and h[0]['frames_before'] >= 1000, h
assert h[0]['device'].startswith('net_af_xdp_vh,iface=vh'), h
assert h[1]['from'] == 'dpdk' and h[1]['to'] == 'tap' and h[1]['ok'] and h[1]['intervals'] == 10, h
assert h[1]['frames_before'] >= h[0]['frames_before'] + 1000 and h[1]['rate_fps'] < 1000000, h
assert any(e['type'] == 'capture.saturated' for e in ev)"
    check "mode auto: every event, the hand-off's too, matches the event schema" \
        $PY "$VALIDATE" "$ROOT/schemas/event.schema.json" "$WORK/ho.ev" --lines
    check "mode auto: the summary says tap again, both switches, and counts every reader's frames" $PY -c "
import json
s = json.load(open('$WORK/ho.json')); p = s['capture']['interfaces'][0]
h = p['handoff']
assert p['mode'] == 'tap' and h['to_dpdk'] == h['back_to_tap'] == 1 and h['failures'] == 0, p
assert p['frames'] == s['packets'] and p['frames'] > p['handoff']['frames_before_last'] >= 1000, p
assert p['lost'] > 0, p  # the flood overflowed the tap ring: that is what sent it to DPDK"
    check "mode auto: the summary matches its schema" $PY "$VALIDATE" \
        "$ROOT/schemas/summary.schema.json" "$WORK/ho.json"
    "$TT" analyze -q -s "$WORK/ho.off.json" "$WORK/trading.pcap"
    check "mode auto: the trading capture across both switches is analysed as offline" $PY -c "
import json
live, off = json.load(open('$WORK/ho.json')), json.load(open('$WORK/ho.off.json'))
skip = ('burst.micro', 'capture.saturated', 'capture.handoff', 'latency.spike', 'payload.duplicate', 'anomaly.rate',
        'anomaly.latency', 'anomaly.errors')  # timed: they follow the sender's pace
for s in (live, off): s['events'] = {k: v for k, v in s['events'].items() if k not in skip}
for k in ('flows', 'tcp_analysis', 'events'):
    assert live[k] == off[k], (k, live[k], off[k])
def untimed(v): # latencies follow the sender's pace, not the capture's
    if isinstance(v, dict): return {k: untimed(x) for k, x in v.items() if 'latency' not in k}
    if isinstance(v, list): return [untimed(x) for x in v]
    return v
a, b = untimed(live['trading']['fix']), untimed(off['trading']['fix'])
assert a == b, [k for k in b if a.get(k) != b.get(k)]
assert len(b['sessions']) == 64 and b['messages'] > 0"
    ip netns del $HA; ip netns del $HB
fi
