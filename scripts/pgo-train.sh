#!/bin/bash
# pgo-train.sh PGO_DIR TTGEN - the training run of the profile-guided build (Makefile, PGO=1).
# The instrumented agent in PGO_DIR analyses generated traffic of every kind the analyzers
# know: FIX, OUCH, ITCH and MDP3 sessions with their anomalies, many short TCP flows, loss,
# reordering, tunnels, fragments, with one worker and with two sharing the reading. The
# counts it leaves (*.gcda beside its objects) tell the final build which branches are taken.
# trading_demo is the demo's capture: the same kind of traffic as make bench's (which is not
# trained on), 20k packets of it.
set -euo pipefail
PGO_DIR=$1
TTGEN=$2
WORK="$PGO_DIR/train"
rm -rf "$WORK"
mkdir -p "$WORK"
find "$PGO_DIR" -name '*.gcda' -delete
"$TTGEN" flows "$WORK/flows.pcap" 60000 > /dev/null
for s in trading_fix_md trading_demo md_gaps loss reorder zero_window rst_storm tunnels fragments; do
    "$TTGEN" "$s" "$WORK/$s.pcap" > /dev/null
done
TT="$PGO_DIR/ticktap"
for f in "$WORK"/*.pcap; do
    "$TT" analyze -q -s /dev/null "$f" > /dev/null 2>&1 || true
done
# trading traffic weighs most: it is what the agent is for
for i in 1 2 3 4 5 6 7 8; do
    "$TT" analyze -q -s /dev/null "$WORK/trading_demo.pcap" "$WORK/trading_fix_md.pcap" > /dev/null 2>&1 || true
done
"$TT" analyze -q -w 2 -s /dev/null "$WORK/trading_demo.pcap" > /dev/null 2>&1 || true
"$TT" analyze -q -w 2 -s /dev/null "$WORK/flows.pcap" > /dev/null 2>&1 || true
rm -rf "$WORK"
