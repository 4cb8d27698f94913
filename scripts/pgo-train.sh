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
# Every run must succeed: a crashed or failing instrumented binary leaves no counts, and the
# final build would quietly go without them.
train() {
    "$TT" analyze -q -s /dev/null "$@" > /dev/null 2> "$WORK/err.txt" || {
        echo "pgo-train: the instrumented ticktap failed on $*: $(tail -1 "$WORK/err.txt")" >&2
        exit 1
    }
}
for f in "$WORK"/*.pcap; do
    train "$f"
done
# trading traffic weighs most: it is what the agent is for. One file is read in place (one
# worker) or shared (two), several are merged: each way is trained as often as it is used,
# lest its code be laid out as cold.
for i in 1 2 3 4 5 6 7 8; do
    train "$WORK/trading_demo.pcap"
    train -w 2 "$WORK/trading_demo.pcap"
done
train "$WORK/trading_demo.pcap" "$WORK/trading_fix_md.pcap"
train -w 2 "$WORK/flows.pcap"
n=$(find "$PGO_DIR" -name '*.gcda' | wc -l)
[ "$n" -gt 0 ] || { echo "pgo-train: the training left no counts (*.gcda) in $PGO_DIR" >&2; exit 1; }
rm -rf "$WORK"
