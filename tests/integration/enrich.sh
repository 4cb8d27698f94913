# enrich.sh - `ticktap enrich` and `ticktap ask`, sourced by run.sh: incidents and rule
# diagnoses of the demo capture with known truth; LLM narratives from a local test server
# (tests/enrich/llm_server.py) that checks every request, and each way it fails (429, 500,
# a stall past the timeout, a malformed answer, the budget); the cache; Kafka through the
# mock cluster read back with kcat; a kill mid-stream and a restart that lose and duplicate
# nothing.
section "enrich: incidents with a rule-based root cause, LLM narratives, Kafka, restarts"
E="$WORK/enrich"; mkdir -p "$E"
"$TT" analyze -q -e "$E/ev.jsonl" -s "$E/s.json" "$WORK/trading_demo.pcap"
"$TT" enrich -q --events "$E/ev.jsonl" -o "$E/rules.jsonl"
check "enrich: the records match incident.schema.json" \
    $PY "$ROOT/tests/integration/validate.py" "$ROOT/schemas/incident.schema.json" "$E/rules.jsonl" --lines
check "enrich: the demo's known faults get their root cause, every incident opens and closes once" $PY - "$E/rules.jsonl" <<'PY'
import collections, json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
last = {}
for r in recs:
    last[r["incident_id"]] = r
ids = [r["record_id"] for r in recs]
assert len(ids) == len(set(ids)), "a record id twice"
for i, r in last.items():
    assert r["change"] == "close", r
    ch = [x["change"] for x in recs if x["incident_id"] == i]
    assert ch[0] == "open" and ch.count("open") == 1 and ch.count("close") == 1, ch
by = {r["key"]: r["diagnosis"]["rule"] for r in last.values()}
assert by["service:10.2.0.9:9878"] == "service_down", by   # the refused connection
assert by["md:moldudp64:NASDAQTV03"] == "md_loss_both_feeds", by  # lost on A and B
assert sum(v == "md_loss_one_feed" for v in by.values()) >= 6, by  # A-only losses
assert any(k.startswith("flow:") and v == "path_loss" for k, v in by.items()), by
assert any(v == "reject_dominant" for v in by.values()), by
assert all(r["narrative"] is None and "narrative_error" not in r for r in recs)
PY

# the LLM test server
rm -f "$E/llm.port" "$E/llm.log"
KEY="sk-test-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
$PY "$ROOT/tests/enrich/llm_server.py" "$E/llm.port" "$E/llm.log" "$KEY" &
llm_pid=$!
trap 'kill $llm_pid 2> /dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do [ -s "$E/llm.port" ] && break; sleep 0.1; done
LLM="http://127.0.0.1:$(cat "$E/llm.port")"
enrich_llm() { # MODE OUT [--set ...]
    local mode=$1 out=$2; shift 2
    TICKTAP_LLM_API_KEY="$KEY" "$TT" enrich --events "$E/ev.jsonl" -o "$out" \
        --set llm.base_url="$LLM/$mode" --set llm.model=test-model --set llm.backoff=100ms "$@"
}
enrich_llm ok "$E/ok.jsonl" 2> "$E/ok.err"
check "enrich + LLM: every open record has a narrative with model, tokens and latency, addresses mapped back" $PY - "$E/ok.jsonl" <<'PY'
import json, re, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
opens = [r for r in recs if r["change"] == "open"]
assert opens and all(r["narrative"] and r["narrative"]["model"] == "test-model" for r in opens)
for r in opens:
    n = r["narrative"]
    assert n["prompt_tokens"] == 100 or n["cached"], n
    assert n["redacted"] and "HOST1" not in n["text"], n  # the placeholder mapped back
    assert re.search(r"\d+\.\d+\.\d+\.\d+", n["text"]), n
assert all(r["narrative"] is None for r in recs if r["change"] == "close")
PY
check "enrich + LLM: the test server found nothing wrong in any request (key only in the header, no address, no credential)" $PY - "$E/llm.log" "$KEY" <<'PY'
import json, sys
log = [json.loads(l) for l in open(sys.argv[1])]
assert log, "no request"
for r in log:
    assert not r["violations"], r
    assert r["auth"] == "Bearer " + sys.argv[2] and r["model"] == "test-model", r
PY
check "enrich + LLM: records match the schema with narratives" \
    $PY "$ROOT/tests/integration/validate.py" "$ROOT/schemas/incident.schema.json" "$E/ok.jsonl" --lines

# a storm of identical incidents: ten services refused at the same instants cost one call
$PY - "$E/ev.jsonl" "$E/storm.jsonl" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
hf = next(e for e in ev if e["type"] == "tcp.handshake_failed")
with open(sys.argv[2], "w") as f:
    for i in range(10):
        e = json.loads(json.dumps(hf))
        e["flow"]["dst"] = "10.9.9.%d" % (i + 1)
        f.write(json.dumps(e) + "\n")
PY
: > "$E/llm.log"
TICKTAP_LLM_API_KEY="$KEY" "$TT" enrich --events "$E/storm.jsonl" -o "$E/storm.out" \
    --set llm.base_url="$LLM/ok" --set llm.model=test-model 2> "$E/storm.err"
check "enrich + LLM: ten identical incidents (addresses aside) cost one call, nine from the cache" $PY - "$E/storm.out" "$E/llm.log" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
opens = [r for r in recs if r["change"] == "open"]
assert len(opens) == 10, len(opens)
assert sum(r["narrative"]["cached"] for r in opens) == 9, [r["narrative"] for r in opens]
assert len(open(sys.argv[2]).readlines()) == 1
texts = {r["narrative"]["text"] for r in opens}
assert len(texts) == 10, texts  # each mapped back to its own address
PY

enrich_llm flaky429 "$E/429.jsonl" --set llm.concurrency=1 2> "$E/429.err"
check "enrich + LLM: 429 with Retry-After is retried and then answered" $PY - "$E/429.jsonl" "$E/429.err" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert all(r["narrative"] for r in recs if r["change"] == "open")
assert " 2 retries" in open(sys.argv[2]).read()
PY
enrich_llm fail500 "$E/500.jsonl" --set llm.retries=2 2> "$E/500.err"; rc=$?
check "enrich + LLM: a server that keeps failing: status 0, every record out with its rule diagnosis and the reason" $PY - "$E/500.jsonl" "$rc" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert sys.argv[2] == "0"
opens = [r for r in recs if r["change"] == "open"]
assert len(recs) > 100 and all(r["narrative"] is None and "HTTP 500" in r["narrative_error"] for r in opens)
assert all(r["diagnosis"]["cause"] for r in recs)
PY
SECONDS_BEFORE=$SECONDS
grep -m1 '"severity":"critical"' "$E/ev.jsonl" > "$E/one.jsonl"
TICKTAP_LLM_API_KEY="$KEY" "$TT" enrich --events "$E/one.jsonl" -o "$E/stall.jsonl" \
    --set llm.base_url="$LLM/stall" --set llm.model=m --set llm.timeout=1s --set llm.retries=0 2> "$E/stall.err"
check "enrich + LLM: a stalled server is given up after llm.timeout, the record goes out" $PY - "$E/stall.jsonl" "$((SECONDS - SECONDS_BEFORE))" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert recs and "timeout" in recs[0]["narrative_error"].lower(), recs[0].get("narrative_error")
assert int(sys.argv[2]) < 5
PY
TICKTAP_LLM_API_KEY="$KEY" "$TT" enrich --events "$E/one.jsonl" -o "$E/bad.jsonl" \
    --set llm.base_url="$LLM/malformed" --set llm.model=m 2> /dev/null
check "enrich + LLM: a malformed answer is said, not trusted" \
    grep -q '"narrative_error":"malformed answer' "$E/bad.jsonl"
: > "$E/llm.log"
enrich_llm ok "$E/budget.jsonl" --set llm.requests_per_hour=2 --set llm.cache_entries=0 2> /dev/null
check "enrich + LLM: the request budget holds (2 calls, the rest say the budget is spent)" $PY - "$E/budget.jsonl" "$E/llm.log" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
opens = [r for r in recs if r["change"] == "open"]
assert sum(1 for r in opens if r["narrative"]) == 2
assert all("budget spent" in r["narrative_error"] for r in opens if not r["narrative"])
assert len(open(sys.argv[2]).readlines()) == 2
PY
expect_exit "enrich: an LLM URL without a key -> 1" 1 "TICKTAP_LLM_API_KEY" -- \
    env -u TICKTAP_LLM_API_KEY "$TT" enrich --events "$E/one.jsonl" --set llm.base_url=https://llm.example/v1 --set llm.model=m
expect_exit "enrich: neither -k nor --events -> 1" 1 "give -k BROKERS or --events" -- "$TT" enrich
expect_exit "enrich: an unreachable broker -> 1" 1 "unreachable" -- "$TT" enrich -q -k 127.0.0.1:9 -d 5

# ask
"$TT" ask "why are there retransmissions?" "$WORK/trading_demo.pcap" > "$E/ask.txt" 2>&1
check "ask without an LLM: the relevant rule findings and how to configure one" bash -c \
    "grep -q 'path_loss\|dropped on the path' '$E/ask.txt' && grep -q 'llm.base_url' '$E/ask.txt' && ! grep -q 'Orders are rejected' '$E/ask.txt'"
: > "$E/llm.log"
TICKTAP_LLM_API_KEY="$KEY" "$TT" ask "is the feed loss ours or the exchange's?" "$E/s.json" -e "$E/ev.jsonl" \
    --set llm.base_url="$LLM/ok" --set llm.model=test-model > "$E/ask2.txt" 2>&1
check "ask with an LLM: answered by the test server from the summary, incidents and events (no violation)" $PY - "$E/ask2.txt" "$E/llm.log" <<'PY'
import json, sys
out = open(sys.argv[1]).read()
assert "The evidence points at" in out and "test-model" in out, out
log = [json.loads(l) for l in open(sys.argv[2])]
assert len(log) == 1 and not log[0]["violations"], log
PY

# Kafka: the demo's events on the mock cluster; incidents read back; a kill and a restart
"$TT" analyze -q --kafka mock --kafka-hold 300 -e "$E/kev.jsonl" "$WORK/trading_demo.pcap" 2> "$E/k.err" &
kpid=$!
for _ in $(seq 300); do grep -q "^kafka: .* delivered" "$E/k.err" && break; sleep 0.1; done
BOOT=$(sed -n 's/^kafka: streaming to \([^ ]*\).*/\1/p' "$E/k.err")
FAST="--set enrich.group_wait=10ms --set enrich.resolve_timeout=1s --set enrich.session_timeout=6s"
TICKTAP_LLM_API_KEY="$KEY" "$TT" enrich -q -k "$BOOT" $FAST --set enrich.group_id=ref \
    --set enrich.topic_out=ref.incidents --set llm.base_url="$LLM/ok" --set llm.model=test-model \
    -m 127.0.0.1:0 -o "$E/kref.jsonl" -d 8 2> "$E/kref.err" &
ref_pid=$!
for _ in $(seq 50); do grep -q "metrics on port" "$E/kref.err" && break; sleep 0.1; done
MPORT=$(sed -n 's/.*metrics on port \([0-9]*\).*/\1/p' "$E/kref.err")
for _ in $(seq 60); do
    curl -s "http://127.0.0.1:$MPORT/metrics" > "$E/kref.prom" 2> /dev/null
    grep -q '^ticktap_llm_calls_total [1-9]' "$E/kref.prom" && break; sleep 0.1
done
wait $ref_pid
check "enrich /metrics: records, LLM calls, tokens, latency, cache hits and the budget left" $PY - "$E/kref.prom" <<'PY'
import sys
m = {}
for line in open(sys.argv[1]):
    if line.startswith("ticktap_enrich") or line.startswith("ticktap_llm"):
        k, v = line.rsplit(" ", 1)
        m[k] = float(v)
assert m["ticktap_llm_calls_total"] >= 1 and m["ticktap_enrich_events_total"] > 0, m
assert m['ticktap_llm_tokens_total{kind="prompt"}'] == 100 * m["ticktap_llm_calls_total"], m
assert m["ticktap_llm_budget_requests_left"] == 120 - m["ticktap_llm_calls_total"], m
for k in ("ticktap_llm_failures_total", "ticktap_llm_cache_hits_total", "ticktap_llm_latency_seconds_max",
          "ticktap_enrich_records_total", "ticktap_llm_budget_tokens_left"):
    assert k in m, k
PY
timeout 30 kcat -C -b "$BOOT" -t ref.incidents -o beginning -e -q > "$E/kref.read" 2> /dev/null
check "enrich -k: every incident opens and closes, on ticktap's topic as in -o (read back with kcat)" $PY - "$E/kref.jsonl" "$E/kref.read" <<'PY'
import json, sys
out = [json.loads(l) for l in open(sys.argv[1])]
got = [json.loads(l) for l in open(sys.argv[2])]
assert len(out) > 100 and sorted(r["record_id"] for r in out) == sorted(r["record_id"] for r in got)
assert sum(r["change"] == "open" for r in out) == sum(r["change"] == "close" for r in out)
PY
"$TT" enrich -q -k "$BOOT" $FAST --set enrich.test_crash_after=40 -d 20 2> "$E/k1.err"; rc1=$?
"$TT" enrich -q -k "$BOOT" $FAST -d 16 2> "$E/k2.err" # the killed member's partitions come back after 6 s
timeout 30 kcat -C -b "$BOOT" -t ticktap.incidents -o beginning -e -q > "$E/k12.read" 2> /dev/null
check "enrich -k: killed after 40 records (delivered, not committed) and restarted: no record lost or sent twice" $PY - "$E/kref.read" "$E/k12.read" "$rc1" <<'PY'
import json, sys
ref = [json.loads(l) for l in open(sys.argv[1])]
got = [json.loads(l) for l in open(sys.argv[2])]
assert sys.argv[3] == "3", "the first run did not stop where told: " + sys.argv[3]
ids = [r["record_id"] for r in got]
assert len(ids) == len(set(ids)), "duplicates: %d" % (len(ids) - len(set(ids)))
def strip(r):
    return {k: v for k, v in r.items() if k not in ("ts", "narrative", "narrative_error")}
a = sorted((r["key"], r["revision"], r["change"], r["events"]) for r in ref)
b = sorted((r["key"], r["revision"], r["change"], r["events"]) for r in got)
assert a == b, (len(a), len(b), [x for x in a if x not in b][:3], [x for x in b if x not in a][:3])
PY
# two replicas in one group share the 4 partitions: together, the records of one run
"$TT" enrich -q -k "$BOOT" $FAST --set enrich.group_id=pair --set enrich.topic_out=pair.incidents \
    -o "$E/pa.jsonl" -d 16 2> "$E/pa.err" &
pa=$!
sleep 1
"$TT" enrich -q -k "$BOOT" $FAST --set enrich.group_id=pair --set enrich.topic_out=pair.incidents \
    -o "$E/pb.jsonl" -d 15 2> "$E/pb.err"
wait $pa
timeout 30 kcat -C -b "$BOOT" -t pair.incidents -o beginning -e -q > "$E/pair.read" 2> /dev/null
check "enrich -k: two replicas of one consumer group share the partitions: the same records, none twice" $PY - "$E/kref.read" "$E/pair.read" "$E/pa.jsonl" "$E/pb.jsonl" <<'PY'
import json, sys
ref = [json.loads(l) for l in open(sys.argv[1])]
got = [json.loads(l) for l in open(sys.argv[2])]
ids = [r["record_id"] for r in got]
assert len(ids) == len(set(ids)), "duplicates: %d" % (len(ids) - len(set(ids)))
a = sorted((r["key"], r["revision"], r["change"], r["events"]) for r in ref)
b = sorted((r["key"], r["revision"], r["change"], r["events"]) for r in got)
assert a == b, (len(a), len(b))
each = [sum(1 for _ in open(p)) for p in sys.argv[3:5]]
assert all(n > 0 for n in each), each  # both took part
PY
kill -INT $kpid 2> /dev/null; wait $kpid 2> /dev/null
kill $llm_pid 2> /dev/null; wait $llm_pid 2> /dev/null
trap 'rm -rf "$WORK"' EXIT
