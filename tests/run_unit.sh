#!/bin/bash
# run_unit.sh BIN... - runs each cmocka test binary; ends with "unit: N passed, N failed".
# A binary's skips ("[ SKIPPED  ]": a host property it could not rely on) are shown with why.
pass=0; fail=0; skipped=0
for t in "$@"; do
    out=$("$t" 2>&1); rc=$?
    p=$(printf '%s\n' "$out" | sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
    while IFS= read -r line; do
        skipped=$((skipped + 1)); echo "  SKIP $(basename "$t"): ${line#*] }"
    done < <(printf '%s\n' "$out" | grep -F '[ SKIPPED  ]')
    if [ $rc -ne 0 ]; then
        [ -z "$f" ] && fail=$((fail + 1))
        printf '%s\n' "$out" | grep -E "FAIL|ERROR|error|Assert|Sanitizer" | head -20
        echo "  FAIL $(basename "$t") (exit $rc)"
    fi
done
s=""; [ $skipped -gt 0 ] && s=", $skipped skipped"
echo "unit: $pass passed, $fail failed$s"
[ $fail -eq 0 ]
