# dpdk.sh - bare-metal mode without a NIC, sourced by run.sh: DPDK's net_pcap vdev replays
# generated captures through `ticktap run` (EAL with --no-huge --no-pci), and the summary and
# events equal `ticktap analyze` on the same file, byte for byte; each bad config gives its
# one-line error. The captures are rewritten in microseconds first (net_pcap reads them so).
section "DPDK: net_pcap replays through 'ticktap run' equal the offline analysis"
dpdk_yaml() { # FILE DEV [QUEUES] [EXTRA LINE]: a config with one dpdk-mode port
    cat > "$1" <<EOF
dpdk:
  eal: [--no-huge, -m, "256", --no-pci, -l, "0", --log-level=lib.eal:error, --no-telemetry]
capture:
  interfaces:
    - name: "$2"
      mode: dpdk
      queues: ${3:-1}
      ${4:-rx_descriptors: 512}
EOF
}
if ! pkg-config --exists libdpdk; then
    skip "DPDK replays" "libdpdk is not installed (make deps installs it)"
else
    for s in trading_demo loss tunnels_asym fragments; do
        "$GEN" "$s" "$WORK/dp_$s.ns.pcap" > /dev/null
        $PY "$ROOT/tests/integration/to_usec.py" "$WORK/dp_$s.ns.pcap" "$WORK/dp_$s.pcap"
        dpdk_yaml "$WORK/dp_$s.yaml" "net_pcap0,rx_pcap=$WORK/dp_$s.pcap"
        timeout 60 "$TT" run -q -c "$WORK/dp_$s.yaml" -s "$WORK/dp_$s.run.json" \
            -e "$WORK/dp_$s.run.ev" 2> "$WORK/dp_$s.err"
        check "dpdk $s: the replay ends by itself with status 0" test $? -eq 0
        "$TT" analyze -q -s "$WORK/dp_$s.an.json" -e "$WORK/dp_$s.an.ev" "$WORK/dp_$s.pcap"
        check "dpdk $s: summary equals the offline analysis (capture block aside)" $PY -c "
import json, sys
a, r = (json.load(open(p)) for p in sys.argv[1:])
cap = r.pop('capture')
assert a == r, [k for k in a if a.get(k) != r.get(k)]
port = cap['interfaces'][0]
assert port['mode'] == 'dpdk' and port['frames'] == a['packets'], port
assert port['timestamps'].startswith('pcap') and port['dpdk']['imissed'] == 0, port
assert port['dpdk']['xstats']['rx_q0_packets'] == a['packets'], port" \
            "$WORK/dp_$s.an.json" "$WORK/dp_$s.run.json"
        check "dpdk $s: the summary, capture block too, matches its schema" \
            $PY "$ROOT/tests/integration/validate.py" "$ROOT/schemas/summary.schema.json" \
            "$WORK/dp_$s.run.json"
        check "dpdk $s: events equal the offline analysis's, in order" \
            cmp "$WORK/dp_$s.an.ev" "$WORK/dp_$s.run.ev"
    done
    # Two RSS queues: the capture split as symmetric RSS spreads it (each connection whole in
    # one queue), replayed through both, read as one input by 1 and 2 workers.
    mix=()
    for s in clean loss reorder handshake_failures rst_storm; do
        "$GEN" "$s" "$WORK/dpm_$s.ns.pcap" > /dev/null
        $PY "$ROOT/tests/integration/to_usec.py" "$WORK/dpm_$s.ns.pcap" "$WORK/dpm_$s.pcap"
        mix+=("$WORK/dpm_$s.pcap")
    done
    "$TT" analyze -q -s "$WORK/dpm.an.json" "${mix[@]}" # several files: merged in time order
    mergecap -F pcap -w "$WORK/dpm.pcap" "${mix[@]}" # one capture, as the port would see it
    $PY "$ROOT/tests/integration/split_flows.py" "$WORK/dpm.pcap" 2 "$WORK/dpm_q"
    dpdk_yaml "$WORK/dpm.yaml" "net_pcap0,rx_pcap=$WORK/dpm_q0.pcap,rx_pcap=$WORK/dpm_q1.pcap" 2
    for w in 1 2; do
        timeout 60 "$TT" run -q -c "$WORK/dpm.yaml" --set pipeline.workers=$w \
            -s "$WORK/dpm.w$w.json" 2> "$WORK/dpm.w$w.err"
        check "dpdk: 2 queues, $w worker(s): the same analysis as the file offline" $PY -c "
import json, sys
a, r = (json.load(open(p)) for p in sys.argv[1:])
q = r.pop('capture')['interfaces'][0]['dpdk']
assert q['queues'] == 2 and q['ipackets'] == a['packets'], q
x = q['xstats']  # per queue: each has its share, and they add up
assert x['rx_q0_packets'] > 0 and x['rx_q1_packets'] > 0, x
assert x['rx_q0_packets'] + x['rx_q1_packets'] == a['packets'], x
for k in ('packets', 'flows', 'tcp_analysis', 'events', 'protocols', 'decode_errors'):
    assert a[k] == r[k], (k, a[k], r[k])" "$WORK/dpm.an.json" "$WORK/dpm.w$w.json"
    done
    check "dpdk: a port without RSS (net_pcap) says its queues are not hashed" \
        grep -q "offers no RSS hash" "$WORK/dpm.w1.err"

    # an endless port (net_null) runs until --duration, then stops cleanly: port stopped,
    # EAL cleaned up, the summary written with what the port delivered
    dpdk_yaml "$WORK/dp_null.yaml" "net_null0,size=64"
    t0=$(date +%s%N)
    timeout 30 "$TT" run -q -c "$WORK/dp_null.yaml" -d 1 -s "$WORK/dp_null.json" 2> /dev/null
    check "dpdk: an endless port stops at --duration with status 0" test $? -eq 0
    t1=$(date +%s%N)
    # net_null does not stamp: the frames carry the TSC's time (tick_clock), within the run
    check "dpdk: ... its summary holds what the port delivered, stamped by the host clock" $PY -c "
import json; s = json.load(open('$WORK/dp_null.json')); p = s['capture']['interfaces'][0]
assert s['packets'] > 0 and p['frames'] == s['packets'] == p['dpdk']['ipackets'], (s['packets'], p)
assert p['timestamps'].startswith('host'), p
assert $t0 < s['first_ts_ns'] <= s['last_ts_ns'] < $t1, ($t0, s['first_ts_ns'], s['last_ts_ns'], $t1)"

    # errors: one line naming what and how to fix it, status 1 (config) or 2 (attach)
    dpdk_yaml "$WORK/dp_q2.yaml" "net_pcap0,rx_pcap=$WORK/dp_loss.pcap" 2
    expect_exit "dpdk: more queues than the vdev has -> 2" 2 "one rx_pcap= per queue" -- \
        "$TT" run -q -c "$WORK/dp_q2.yaml"
    dpdk_yaml "$WORK/dp_pool.yaml" "net_pcap0,rx_pcap=$WORK/dp_loss.pcap" 1 "mempool_size: 100"
    expect_exit "dpdk: a mempool too small says how many mbufs are needed -> 2" 2 \
        "need at least" -- "$TT" run -q -c "$WORK/dp_pool.yaml"
    dpdk_yaml "$WORK/dp_pci.yaml" "0000:7f:00.0"
    expect_exit "dpdk: a PCI port not bound says how to bind it -> 2" 2 "dpdk-devbind.py" -- \
        "$TT" run -q -c "$WORK/dp_pci.yaml"
    sed 's/-l, "0"/-l, "999"/' "$WORK/dp_loss.yaml" > "$WORK/dp_lcores.yaml"
    expect_exit "dpdk: an lcore list this machine lacks -> 2" 2 "cores this machine lacks" -- \
        "$TT" run -q -c "$WORK/dp_lcores.yaml"
    dpdk_yaml "$WORK/dp_vdev.yaml" "net_nosuch0,foo=1"
    expect_exit "dpdk: an unknown vdev -> 2" 2 "could not be created" -- \
        "$TT" run -q -c "$WORK/dp_vdev.yaml"
fi

# A live vdev: DPDK's net_af_packet on the watched veth end (in the live suite only, which made
# the namespaces and the trading capture): what the sender puts on the wire is analysed as the
# capture is offline (the frames' times are the host's at each burst, so latencies differ).
if [ -n "${B:-}" ] && [ -f "$WORK/trading.pcap" ] && pkg-config --exists libdpdk; then
    section "DPDK: a live vdev (net_af_packet) on the veth: the same findings as offline"
    inB sysctl -qw net.ipv6.conf.vb.disable_ipv6=1 # no neighbour discovery among the frames
    dpdk_yaml "$WORK/dp_afp.yaml" "net_af_packet0,iface=vb,framecnt=8192" # a ring for the burst
    start_agent dp-afp -c "$WORK/dp_afp.yaml" -s "$WORK/dp_afp.json" -q
    inA "$SEND" va "$WORK/trading.pcap" > /dev/null
    sleep 0.5
    stop_agent; rc=$?
    inB sysctl -qw net.ipv6.conf.vb.disable_ipv6=0
    "$TT" analyze -q -s "$WORK/dp_afp.off.json" "$WORK/trading.pcap"
    check "dpdk af_packet: status 0, the same packets, flows and findings as offline" $PY -c "
import json
live, off = json.load(open('$WORK/dp_afp.json')), json.load(open('$WORK/dp_afp.off.json'))
port = live['capture']['interfaces'][0]
assert $rc == 0 and live['packets'] == off['packets'] == 3000, ($rc, live['packets'], port)
for s in (live, off): s['events'] = {k: v for k, v in s['events'].items() if k not in ('burst.micro', 'latency.spike', 'payload.duplicate', 'anomaly.rate', 'anomaly.latency', 'anomaly.errors')}
for k in ('bytes', 'flows', 'protocols', 'tcp_analysis', 'decode_errors', 'events'):
    assert live[k] == off[k], (k, live[k], off[k])
assert live['capture']['interfaces'][0]['mode'] == 'dpdk', live['capture']"

    # Two queues (net_af_packet's fanout hash is symmetric, as the port's RSS) and two
    # workers: a reader thread per queue, each steering into its own ring per worker, and the
    # workers merging them by ordinal. Market-data A and B copies go to different queues and
    # must still meet on one worker (the arbitration's counts equal the offline ones).
    section "DPDK: two queues, a reader thread each: the same findings as offline"
    inB sysctl -qw net.ipv6.conf.vb.disable_ipv6=1
    dpdk_yaml "$WORK/dp_afp2.yaml" "net_af_packet0,iface=vb,qpairs=2,framecnt=8192" 2
    start_agent dp-afp2 -c "$WORK/dp_afp2.yaml" -s "$WORK/dp_afp2.json" \
        -e "$WORK/dp_afp2.ev" -q --set pipeline.workers=2
    inA "$SEND" va "$WORK/trading.pcap" > /dev/null
    sleep 0.5
    stop_agent; rc=$?
    inB sysctl -qw net.ipv6.conf.vb.disable_ipv6=0
    check "dpdk 2 queues: one reader thread per queue (not one dispatcher), as the summary says" \
        $PY -c "import json, sys; assert json.load(open(sys.argv[1]))['capture']['queue_readers'] == 2" \
        "$WORK/dp_afp2.json"
    check "dpdk 2 queues: ... and the start-up line" grep -q "2 queue readers" "$WORK/dp-afp2.err"
    check "dpdk 2 queues: the summary matches its schema" \
        $PY "$ROOT/tests/integration/validate.py" "$ROOT/schemas/summary.schema.json" "$WORK/dp_afp2.json"
    check "dpdk 2 queues: status 0, the same packets, flows, findings and feed arbitration" $PY -c "
import json
live, off = json.load(open('$WORK/dp_afp2.json')), json.load(open('$WORK/dp_afp.off.json'))
q = live['capture']['interfaces'][0]['dpdk']['xstats']
assert $rc == 0 and live['packets'] == off['packets'] == 3000, ($rc, live['packets'])
assert q['rx_q0_packets'] > 0 and q['rx_q1_packets'] > 0, q  # both queues carried traffic
for s in (live, off): s['events'] = {k: v for k, v in s['events'].items() if k not in ('burst.micro', 'latency.spike', 'payload.duplicate', 'anomaly.rate', 'anomaly.latency', 'anomaly.errors')}
for k in ('bytes', 'flows', 'protocols', 'tcp_analysis', 'decode_errors', 'events'):
    assert live[k] == off[k], (k, live[k], off[k])
# each market-data session whole, A and B together: arbitrated in one worker (which copy is
# named A is the first seen: the queues are read side by side, not merged by time)
def feeds(s):
    return sorted((x['name'], x['gaps'], x['lost'], x['duplicates'],
                   sorted((f['name'][2:], f['packets'], f['gaps'], f['lost'], f['duplicates']) for f in x['feeds']))
                  for x in s['trading']['md']['sessions'])
assert feeds(live) == feeds(off) and len(feeds(off)) > 0, (feeds(live), feeds(off))
assert live['trading']['fix']['messages_by_type'] == off['trading']['fix']['messages_by_type']"
    # Stopped while frames flow: the readers stop reading, and the workers still analyse what
    # the rings hold (what was read is not lost).
    inB sysctl -qw net.ipv6.conf.vb.disable_ipv6=1
    start_agent dp-stop -c "$WORK/dp_afp2.yaml" -s "$WORK/dp_stop.json" -q --set pipeline.workers=2
    inA "$SEND" va "$WORK/trading.pcap" 0 40 > /dev/null &
    sender=$!
    sleep 0.2
    stop_agent; rc=$?
    wait $sender
    inB sysctl -qw net.ipv6.conf.vb.disable_ipv6=0
    check "dpdk 2 queues, stopped while frames flow: every frame the port delivered is analysed or counted" $PY -c "
import json
s = json.load(open('$WORK/dp_stop.json')); p = s['capture']['interfaces'][0]['dpdk']
full = s['drops'].get('dispatch.ring_full', 0)  # live: a worker's full ring drops (counted)
assert $rc == 0 and 0 < s['packets'] and s['packets'] + full == p['ipackets'], (s['packets'], full, p)
print('       stopped after', s['packets'], 'of 120000 frames')"
    check "dpdk 2 queues: the events come out in frame order" $PY -c "
import json
last = 0
for line in open('$WORK/dp_afp2.ev'):
    e = json.loads(line)
    f = e.get('frame')
    if isinstance(f, int) and f:
        assert f >= last, (f, last)
        last = f
assert last > 0"
fi
