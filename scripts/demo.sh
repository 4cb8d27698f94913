#!/bin/bash
# demo.sh - the main job on a bundled default: generate a trading capture (order-entry TCP
# sessions and A/B multicast market data, with a loss, a fast retransmission and a refused
# connection mixed in), analyse it end to end, stream every event and flow record to a Kafka
# mock cluster started inside ticktap, and read a few back with kcat.
set -euo pipefail
BUILD=${BUILD:-build}
OUT="$BUILD/demo"
mkdir -p "$OUT"
"$BUILD/ttgen" trading_demo "$OUT/trading.pcap"
echo "\$ ticktap analyze --workers 2 --kafka mock --events $OUT/events.jsonl --summary $OUT/summary.json $OUT/trading.pcap"
echo
"$BUILD/ticktap" analyze --workers 2 --kafka mock --kafka-hold 60 --events "$OUT/events.jsonl" \
    --summary "$OUT/summary.json" "$OUT/trading.pcap" > "$OUT/analysis.txt" 2> "$OUT/kafka.txt" &
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
kill -TERM $pid 2> /dev/null || true
wait $pid 2> /dev/null || true
echo "files: $OUT/summary.json $OUT/events.jsonl $OUT/trading.pcap"
