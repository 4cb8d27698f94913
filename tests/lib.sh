# lib.sh - the checks the test scripts share (sourced; the script sets WORK first).
#   check NAME COMMAND...                  passes when COMMAND succeeds, else shows its output
#   expect_exit NAME STATUS PATTERN -- COMMAND...
#                                          passes when COMMAND exits STATUS and says PATTERN
# Counts in $pass and $fail; VERBOSE=1 lists the passes too.
pass=0; fail=0
ok()   { pass=$((pass + 1)); [ -n "${VERBOSE:-}" ] && echo "  ok   $*"; return 0; }
bad()  { fail=$((fail + 1)); echo "  FAIL $*"; }
check() { local name=$1; shift; if "$@" > "$WORK/out" 2>&1; then ok "$name"; else bad "$name"; sed 's/^/       /' "$WORK/out" | head -20; fi; }
section() { echo "== $*"; }
expect_exit() {
    local name=$1 want=$2 pat=$3; shift 4
    "$@" > "$WORK/o" 2> "$WORK/e"; local got=$?
    if [ $got -eq "$want" ] && grep -q -- "$pat" "$WORK/e"; then ok "$name"; else
        bad "$name (exit $got, want $want; stderr: $(head -c 300 "$WORK/e"))"; fi
}
