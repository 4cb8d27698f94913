#!/bin/bash
# compare.sh - ticktap's tcp_analysis counts against tshark's (the pinned oracle), per file and
# per flag. Usage: compare.sh [--progress] [--out REPORT.tsv] FILE...
# Prints one line per disagreeing file, then per-flag agreement ("files that agree / files").
# Exit 0 when every flag of every file agrees, 1 otherwise (the caller decides what it needs).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TICKTAP=${TICKTAP:-$ROOT/build/ticktap}
ORACLE=${ORACLE:-$ROOT/../shared/captures/tools/tshark_oracle.sh}
OUT=/dev/null
PROGRESS=""
[ "${1:-}" = "--progress" ] && { PROGRESS=1; shift; } # "n of m" on stderr every 20 s
[ "${1:-}" = "--out" ] && { OUT=$2; shift 2; }
last_said=$SECONDS
# summary key : oracle column
PAIRS="retransmission:retrans fast_retransmission:fast_retrans spurious_retransmission:spurious_retrans
out_of_order:out_of_order duplicate_ack:dup_ack lost_segment:lost_segment
ack_lost_segment:ack_lost_segment zero_window:zero_window zero_window_probe:zero_window_probe
window_full:window_full window_update:window_update keep_alive:keep_alive reset:rst"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
declare -A agree total
files=0; bad_files=0
printf 'file\tflag\tticktap\ttshark\n' > "$OUT"
for f in "$@"; do
    files=$((files + 1))
    if [ -n "$PROGRESS" ] && [ $((SECONDS - last_said)) -ge 20 ]; then
        echo "   ... tshark comparison: $files of $#" >&2; last_said=$SECONDS
    fi
    rm -f "$tmp/s.json"
    "$TICKTAP" analyze -q --summary "$tmp/s.json" "$f" 2>/dev/null
    "$ORACLE" "$f" > "$tmp/o.tsv" 2>/dev/null
    # every flag's count in one read of the summary: "key value" lines
    /usr/bin/python3 -c "import json,sys
for k, v in json.load(open(sys.argv[1]))['tcp_analysis'].items(): print(k, v)" "$tmp/s.json" \
        > "$tmp/ours" 2>/dev/null || : > "$tmp/ours"
    line=""
    for p in $PAIRS; do
        k=${p%%:*}; col=${p##*:}
        ours=$(awk -v k="$k" '$1==k{print $2}' "$tmp/ours"); ours=${ours:-ERR}
        theirs=$(awk -F'\t' -v c="$col" '$1==c{print $2}' "$tmp/o.tsv")
        total[$k]=$(( ${total[$k]:-0} + 1 ))
        if [ "$ours" = "$theirs" ]; then
            agree[$k]=$(( ${agree[$k]:-0} + 1 ))
        else
            line+=" $k=$ours/$theirs"
            printf '%s\t%s\t%s\t%s\n' "$f" "$k" "$ours" "$theirs" >> "$OUT"
        fi
    done
    if [ -n "$line" ]; then bad_files=$((bad_files + 1)); echo "DIFF $(basename "$f"):$line (ticktap/tshark)"; fi
done
echo "per-flag agreement over $files files:"
for p in $PAIRS; do k=${p%%:*}; printf '  %-24s %d/%d\n' "$k" "${agree[$k]:-0}" "${total[$k]:-0}"; done
echo "files in full agreement: $((files - bad_files))/$files"
[ $bad_files -eq 0 ]
