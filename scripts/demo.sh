#!/bin/bash
# demo.sh - the main job on a bundled default: generate a trading capture (order-entry TCP
# sessions and A/B multicast market data, with a loss, a fast retransmission and a refused
# connection mixed in), analyse it end to end, and show the summary and a few events.
set -euo pipefail
BUILD=${BUILD:-build}
OUT="$BUILD/demo"
mkdir -p "$OUT"
"$BUILD/ttgen" trading_demo "$OUT/trading.pcap"
echo "# ticktap analyze $OUT/trading.pcap --events $OUT/events.jsonl --summary $OUT/summary.json"
echo
"$BUILD/ticktap" analyze --workers 2 --events "$OUT/events.jsonl" --summary "$OUT/summary.json" \
    "$OUT/trading.pcap"
echo
echo "# a few of the $(wc -l < "$OUT/events.jsonl") events (JSON lines, schemas/event.schema.json):"
grep -E '"type":"tcp\.(fast_retransmission|lost_segment|handshake_failed)"' "$OUT/events.jsonl" | head -3
echo
echo "# files: $OUT/summary.json $OUT/events.jsonl $OUT/trading.pcap"
