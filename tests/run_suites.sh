#!/bin/bash
# run_suites.sh SUITE... - runs each test suite (unit, integration, live) to its end, whatever
# the one before it gave, then says each suite's closing line again and the total:
# "test: N passed, N failed". Exits non-zero when any suite failed or did not finish.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
export BUILD
# a sanitizer build: leaks inside the libraries we use are named in lsan.supp
export LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
declare -a lines
failed=()
for s in "$@"; do
    echo "== suite $s"
    log=$(mktemp)
    case $s in
        unit) "$ROOT/tests/run_unit.sh" "$BUILD"/tests/test_* ;;
        integration) "$ROOT/tests/integration/run.sh" ;;
        live) "$ROOT/tests/live/run.sh" ;;
        deploy) "$ROOT/tests/deploy/run.sh" ;;
        *) echo "run_suites: no suite '$s' (unit, integration, live, deploy)"; false ;;
    esac 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    last=$(grep -E "^$s: [0-9]+ passed, [0-9]+ failed" "$log" | tail -1)
    rm -f "$log"
    [ -n "$last" ] || last="$s: did not finish (exit $rc)"
    [ "$rc" -eq 0 ] || failed+=("$s")
    lines+=("$last")
done
echo
echo "== every suite"
p=0; f=0; k=0
for l in "${lines[@]}"; do
    echo "  $l"
    n=$(sed -n 's/.*: \([0-9]*\) passed.*/\1/p' <<< "$l"); p=$((p + ${n:-0}))
    n=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<< "$l"); f=$((f + ${n:-0}))
    n=$(sed -n 's/.* \([0-9]*\) skipped.*/\1/p' <<< "$l"); k=$((k + ${n:-0}))
done
# a suite that died before its closing line counts as one failure
for s in "${failed[@]}"; do
    grep -q "^$s: [0-9]* passed, [1-9]" <<< "$(printf '%s\n' "${lines[@]}")" || f=$((f + 1))
done
sk=""; [ $k -gt 0 ] && sk=", $k skipped"
[ ${#failed[@]} -gt 0 ] && echo "failing suites: ${failed[*]}"
echo "test: $p passed, $f failed$sk"
[ ${#failed[@]} -eq 0 ]
