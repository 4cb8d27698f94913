#!/bin/bash
# snapshot.sh OUTDIR - the analysis of every shared capture and generated scenario, with 1 and
# 2 workers, as summary JSON and events, into OUTDIR: run it before and after a change that
# must not alter results, then `diff -r BEFORE AFTER`. Uses $BUILD (default build).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
OUT=${1:?usage: snapshot.sh OUTDIR}
CAPS=${SHARED:-$ROOT/../shared}/captures
GEN=/tmp/ticktap-snapshot-gen # one place, so that messages naming a file compare equal
mkdir -p "$OUT" "$GEN"
for s in $("$BUILD/ttgen" list); do
    "$BUILD/ttgen" "$s" "$GEN/$s.pcap" > /dev/null
done
n=0
while IFS= read -r f; do
    name=$(echo "${f#"$CAPS"/}" | sed "s|^$GEN/|gen/|" | tr '/' '_')
    for w in 1 2; do
        "$BUILD/ticktap" analyze -q -w $w -s "$OUT/$name.w$w.summary.json" -e "$OUT/$name.w$w.events" \
            "$f" > /dev/null 2> "$OUT/$name.w$w.stderr"
        echo "exit $?" >> "$OUT/$name.w$w.stderr"
    done
    n=$((n + 1))
done < <(find "$CAPS" "$GEN" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \
    -o -name '*.gz' -o -path '*/malformed/*' \) | sort)
rm -rf "$GEN"
echo "snapshot: $n captures into $OUT"
