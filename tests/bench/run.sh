#!/bin/bash
# run.sh - throughput and memory against peers, measured side by side in one run.
#   BENCH_PACKETS (default 5000000) packets of generated trading traffic (small packets:
#   order entry TCP and A/B multicast market data); ticktap with 1 and 2 workers,
#   `tcpdump -r FILE -w /dev/null` and `tshark -r FILE -q -z expert` on the same file.
# Prints packets per second, ratios and peak RSS. Timing lives here, never in the tests.
set -euo pipefail
PY_BIN=/usr/bin/python3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
N=${BENCH_PACKETS:-5000000}
DIR=${BENCH_DIR:-$BUILD/bench}
mkdir -p "$DIR"
CAP="$DIR/trading-$N.pcap"
[ -f "$CAP" ] || "$BUILD/ttgen" trading "$CAP" "$N"
SMALL="$DIR/trading-$((N / 5)).pcap"
[ -f "$SMALL" ] || "$BUILD/ttgen" trading "$SMALL" $((N / 5))
echo "capture: $CAP ($(du -h "$CAP" | cut -f1), $N packets); $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
declare -A secs rss all # all: every run's seconds, in order (the rounds pair them up)
once() { # name command...: one timed run, kept when it is the best so far
    local name=$1; shift
    # the input warm in the page cache for everyone alike (the host may reclaim cold file pages
    # between runs): the command's last argument when it is a file, else the bench capture
    local input=${!#}
    [ -f "$input" ] || input=$CAP
    cat "$input" > /dev/null
    # wall time from date +%s%N (time's %e has centiseconds: 10 ms is 3% of a 2-worker
    # run), peak RSS from time
    local t0 t1 s m
    t0=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$DIR/time.txt" "$@" > /dev/null 2> "$DIR/err.txt" || true
    t1=$(date +%s%N)
    s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", (b - a) / 1e9}')
    m=$(tail -1 "$DIR/time.txt")
    all[$name]="${all[$name]:-} $s"
    if [ -z "${secs[$name]:-}" ] || awk -v a="$s" -v b="${secs[$name]}" 'BEGIN{exit !(a<b)}'; then
        secs[$name]=$s; rss[$name]=$m
    fi
}
show() {
    local name=$1
    printf '  %-22s %8.3f s  %8.2f Mpps  peak RSS %7.1f MB\n' "$name" "${secs[$name]}" \
        "$(awk -v n="$N" -v s="${secs[$name]}" 'BEGIN{print (s > 0 ? n / s / 1e6 : 0)}')" "$(awk -v m="${rss[$name]}" 'BEGIN{print m/1024}')"
}
run() { # name command...: best of 3
    local name=$1
    for i in 1 2 3; do once "$@"; [ "${BENCH_QUICK:-}" ] && break; done
    show "$name"
}
# The host may be shared: a neighbour's burst slows one run, not a round. The peers run in
# interleaved rounds (each round: 1 worker, 2 workers, tcpdump) and each keeps its best.
ROUNDS=${BENCH_ROUNDS:-11} # a second each: many, so that each peer meets a quiet moment
[ "${BENCH_QUICK:-}" ] && ROUNDS=1
echo "best of $ROUNDS interleaved rounds (tshark: 1 run):"
for r in $(seq "$ROUNDS"); do
    once "ticktap 1 worker" "$BUILD/ticktap" analyze -q -w 1 -s "$DIR/s1.json" "$CAP"
    once "ticktap 2 workers" "$BUILD/ticktap" analyze -q -w 2 -s "$DIR/s2.json" "$CAP"
    once "tcpdump -w /dev/null" tcpdump -r "$CAP" -w /dev/null
done
show "ticktap 1 worker"
show "ticktap 2 workers"
show "tcpdump -w /dev/null"
if [ -z "${BENCH_NO_TSHARK:-}" ]; then
    once "tshark -z expert" tshark -r "$CAP" -q -z expert # minutes per run: once is enough
    show "tshark -z expert"
fi
echo
ratio() { awk -v a="${secs[$1]}" -v b="${secs[$2]}" 'BEGIN{printf "%.2f", a/b}'; }
echo "ratios (higher is better for ticktap):"
echo "  1 worker vs tcpdump copy:       $(ratio "tcpdump -w /dev/null" "ticktap 1 worker")x   (goal >= 1)"
[ "${BENCH_NO_TSHARK:-}" ] || echo "  1 worker vs tshark expert:      $(ratio "tshark -z expert" "ticktap 1 worker")x   (goal >= 50)"
echo "  2 workers vs 1 worker:          $(ratio "ticktap 1 worker" "ticktap 2 workers")x   (goal >= 1.7)"
# The best runs can come from different moments of a shared host's load; the ratio within
# each round (the two runs back to back) says more about the code: their median and range.
round_ratios() { # A B: median (min-max) of A's time / B's time, round by round
    $PY_BIN -c "
import statistics, sys
a, b = [float(x) for x in sys.argv[1].split()], [float(x) for x in sys.argv[2].split()]
r = sorted(x / y for x, y in zip(a, b))
print('%.2fx median of %d rounds (%.2f-%.2f)' % (statistics.median(r), len(r), r[0], r[-1]))
" "${all[$1]}" "${all[$2]}"
}
echo "  per round, 1 worker vs tcpdump: $(round_ratios "tcpdump -w /dev/null" "ticktap 1 worker")"
echo "  per round, 2 workers vs 1:      $(round_ratios "ticktap 1 worker" "ticktap 2 workers")"
cmp -s "$DIR/s1.json" "$DIR/s2.json" && echo "  1 and 2 workers: identical summaries"
/usr/bin/time -f "%M" -o "$DIR/time.txt" "$BUILD/ticktap" analyze -q -s /dev/null "$SMALL" > /dev/null
echo "memory: peak RSS $(awk '{print $1/1024}' "$DIR/time.txt") MB on $((N / 5)) packets vs $(awk -v m="${rss["ticktap 1 worker"]}" 'BEGIN{print m/1024}') MB on $N (same flows: memory follows flows, not capture size)"

echo
echo "trading analyzers (FIX over reassembled TCP, MoldUDP64/ITCH with A/B arbitration) on the same file:"
run "ticktap, trading off" "$BUILD/ticktap" analyze -q -w 1 --set trading.enabled=false -s "$DIR/s0.json" "$CAP"
read -r fixm moldm < <($PY_BIN -c "
import json; t = json.load(open('$DIR/s1.json'))['trading']
print(t['fix']['messages'], t['md']['moldudp64']['messages'])")
awk -v f="$fixm" -v m="$moldm" -v on="${secs["ticktap 1 worker"]}" -v off="${secs["ticktap, trading off"]}" 'BEGIN {
    printf "  %d FIX + %d ITCH messages in %.2f s: %.2f M messages/s with everything else the pipeline does\n", f, m, on, (f + m) / on / 1e6
    d = on - off; if (d < 0.001) d = 0.001
    printf "  cost of the trading analyzers: %.2f s -> %.1f M messages/s (%.0f ns per message)\n", d, (f + m) / d / 1e6, d * 1e9 / (f + m) }'
TSMALL="$DIR/trading-200000.pcap"
[ -f "$TSMALL" ] || "$BUILD/ttgen" trading "$TSMALL" 200000
if [ -z "${BENCH_NO_TSHARK:-}" ]; then
    # the file last: once() warms what the command reads
    once "tshark FIX+MoldUDP64 200k" tshark -d udp.port==26400-26407,moldudp64 \
        -Y "fix || moldudp64" -T fields -e frame.number -r "$TSMALL"
    once "ticktap 200k" "$BUILD/ticktap" analyze -q "$TSMALL"
    ts=${secs["tshark FIX+MoldUDP64 200k"]}
    tt=${secs["ticktap 200k"]}
    echo "  200k packets: ticktap $tt s, tshark decoding FIX and MoldUDP64 $ts s -> $(awk -v a="$ts" -v b="$tt" 'BEGIN{printf "%.0f", a / b}')x"
fi

echo
echo "Kafka sink to the mock cluster (3 brokers in the process), offline, back-pressured:"
FCAP="$DIR/flows-100000.pcap"
[ -f "$FCAP" ] || "$BUILD/ttgen" flows "$FCAP" 100000
run "ticktap, no Kafka" "$BUILD/ticktap" analyze -q -s "$DIR/f0.json" "$FCAP"
run "ticktap --kafka mock" "$BUILD/ticktap" analyze -q --kafka mock -s "$DIR/fk.json" "$FCAP"
$PY_BIN - "$DIR/fk.json" "${secs["ticktap --kafka mock"]}" <<'EOF'
import json, sys
k = json.load(open(sys.argv[1]))['kafka']
secs = float(sys.argv[2])
d = k['delivery_latency_us']
print(f"  {k['delivered']} of {k['offered']} messages delivered in {secs:.2f} s: {k['delivered'] / secs / 1e3:.0f} k messages/s; "
      f"produce to delivery report p50 {d['p50'] / 1e3:.1f} ms, p99 {d['p99'] / 1e3:.1f} ms (a full buffer waits)")
EOF

echo
echo "DPDK (bare metal): a replay through a net_pcap port and the whole analysis:"
BUILD="$BUILD" "$ROOT/tests/bench/dpdk.sh" "$SMALL"

echo
"$ROOT/tests/bench/live.sh"

echo
echo "HTML report of the ${N}-packet capture: written, then opened in headless Chromium (goal: under 2 s):"
t0=$(date +%s.%N)
"$BUILD/ticktap" analyze -q -r "$DIR/bench-report.html" "$CAP"
t1=$(date +%s.%N)
if command -v chromium > /dev/null; then
    chromium --headless=new --no-sandbox --disable-gpu --dump-dom "file://$DIR/bench-report.html" \
        > "$DIR/bench-report.dom" 2> /dev/null
    t2=$(date +%s.%N)
    ms=$(sed -n 's/.*data-load-ms="\([0-9]*\)".*/\1/p' "$DIR/bench-report.dom")
    $PY_BIN -c "import sys; a,b,c = map(float, sys.argv[1:4]); ms = sys.argv[5]; print(f'  analysis and report {b - a:.2f} s, {int(sys.argv[4]) / 1e6:.1f} MB; ' + (f'drawn {int(ms) / 1e3:.2f} s after the page began to load' if ms else 'NOT drawn') + f' (the browser, started and closed around it: {c - b:.1f} s)')" \
        "$t0" "$t1" "$t2" "$(stat -c %s "$DIR/bench-report.html")" "$ms"
else
    echo "  chromium is not installed (make deps installs it)"
fi
