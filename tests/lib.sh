# lib.sh - the checks the test scripts share (sourced; the script sets WORK first).
#   check NAME COMMAND...                  passes when COMMAND succeeds, else shows its output
#   expect_exit NAME STATUS PATTERN -- COMMAND...
#                                          passes when COMMAND exits STATUS and says PATTERN
#   skip NAME WHY                          a check not made here, and why (a host property)
#   progress WHAT N M                      "n of m" when nothing was said for PROGRESS_EVERY s
#   suite_end SUITE                        the closing line "SUITE: N passed, N failed[, N skipped]"
# Counts in $pass, $fail and $skipped; VERBOSE=1 lists the passes too.
pass=0; fail=0; skipped=0
PROGRESS_EVERY=${PROGRESS_EVERY:-20}
last_said=$SECONDS
say()  { echo "$@"; last_said=$SECONDS; }
ok()   { pass=$((pass + 1)); [ -n "${VERBOSE:-}" ] && say "  ok   $*"; return 0; }
bad()  { fail=$((fail + 1)); say "  FAIL $*"; }
skip() { skipped=$((skipped + 1)); say "  SKIP $1: $2"; }
check() { local name=$1; shift; if "$@" > "$WORK/out" 2>&1; then ok "$name"; else bad "$name"; sed 's/^/       /' "$WORK/out" | head -20; fi; }
section() { say "== $*"; }
progress() { [ $((SECONDS - last_said)) -ge "$PROGRESS_EVERY" ] && say "   ... $1: $2 of $3"; return 0; }
expect_exit() {
    local name=$1 want=$2 pat=$3; shift 4
    "$@" > "$WORK/o" 2> "$WORK/e"; local got=$?
    if [ $got -eq "$want" ] && grep -q -- "$pat" "$WORK/e"; then ok "$name"; else
        bad "$name (exit $got, want $want; stderr: $(head -c 300 "$WORK/e"))"; fi
}
suite_end() {
    local s=""
    [ "$skipped" -gt 0 ] && s=", $skipped skipped"
    echo "$1: $pass passed, $fail failed$s"
    [ "$fail" -eq 0 ]
}
