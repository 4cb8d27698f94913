#!/bin/bash
# demo.sh - the main job on a bundled default: generate a trading capture (order-entry TCP
# sessions and A/B multicast market data, with a loss, a fast retransmission and a refused
# connection mixed in), analyse it end to end, stream every event and flow record to a Kafka
# mock cluster started inside ticktap, read a few back with kcat, and turn them into incidents
# with a root cause (ticktap enrich), and write the HTML report.
set -euo pipefail
BUILD=${BUILD:-build}
PYTHON=/usr/bin/python3
OUT="$BUILD/demo"
mkdir -p "$OUT"
"$BUILD/ttgen" trading_demo "$OUT/trading.pcap"
echo "\$ ticktap analyze --workers 2 --kafka mock --events $OUT/events.jsonl --summary $OUT/summary.json --report $OUT/report.html $OUT/trading.pcap"
echo
"$BUILD/ticktap" analyze --workers 2 --kafka mock --kafka-hold 60 --events "$OUT/events.jsonl" \
    --summary "$OUT/summary.json" --report "$OUT/report.html" "$OUT/trading.pcap" > "$OUT/analysis.txt" 2> "$OUT/kafka.txt" &
pid=$!
trap 'kill $pid 2> /dev/null || true' EXIT
for _ in $(seq 300); do grep -q "^kafka: .* delivered" "$OUT/kafka.txt" && break; sleep 0.1; done
cat "$OUT/analysis.txt"
echo
sed -n '1,2p' "$OUT/kafka.txt"
boot=$(sed -n 's/^kafka: streaming to \([^ ]*\).*/\1/p' "$OUT/kafka.txt")
echo
echo "\$ kcat -C -b $boot -t ticktap.events -o beginning -e -q -f 'key %k: %s\\n' | grep -v handshake\\\" | head -4"
{ timeout 30 kcat -C -b "$boot" -t ticktap.events -o beginning -e -q -f 'key %k: %s\n' 2> /dev/null |
    grep -v 'tcp.handshake"' | head -4 | cut -c1-220; } || true # head closes the pipe early
echo
echo "(read back from Kafka; all $(timeout 30 kcat -C -b "$boot" -t ticktap.events -o beginning -e -q | wc -l) events and $(timeout 30 kcat -C -b "$boot" -t ticktap.flows -o beginning -e -q | wc -l) flow records are on the topics ticktap.events and ticktap.flows)"
echo
echo "\$ kcat -C -b $boot -t ticktap.stats -o beginning -e -q | tail -1   # counters per interface and protocol"
{ timeout 30 kcat -C -b "$boot" -t ticktap.stats -o beginning -e -q 2> /dev/null | tail -1 | cut -c1-300; } || true
echo
echo "\$ ticktap enrich -k $boot -o $OUT/incidents.jsonl   # incidents with a rule-based root cause"
"$BUILD/ticktap" enrich -q -k "$boot" --set enrich.group_wait=10ms --set enrich.resolve_timeout=1s \
    -o "$OUT/incidents.jsonl" -d 10 || true
$PYTHON - "$OUT/incidents.jsonl" <<'PY' || true
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
last = {}
for r in recs:
    last[r["incident_id"]] = r
rank = {"critical": 0, "warn": 1, "info": 2}
shown = set()
for r in sorted(last.values(), key=lambda r: rank[r["severity"]]):
    if r["diagnosis"]["rule"] in shown or len(shown) == 5:
        continue
    shown.add(r["diagnosis"]["rule"])
    print(f"  [{r['severity']}] {r['key']}: {r['diagnosis']['cause'][:100]}")
print(f"  ({len(last)} incidents, {len(recs)} records on ticktap.incidents; "
      f"ticktap ask \"QUESTION\" {sys.argv[1].rsplit('/', 1)[0]}/trading.pcap asks about them)")
PY
kill -TERM $pid 2> /dev/null || true
wait $pid 2> /dev/null || true
"$BUILD/ticktap" report "$OUT/summary.json" "$OUT/events.jsonl" -i "$OUT/incidents.jsonl" \
    -o "$OUT/report.html" 2> /dev/null || true # the incidents enrich found, in the report too
echo
echo "report: $OUT/report.html (open it in a browser: charts, tables, filters; one file)"
echo "files: $OUT/summary.json $OUT/events.jsonl $OUT/incidents.jsonl $OUT/trading.pcap"
