# report.sh - the HTML report and `ticktap serve`, sourced by run.sh. Reports of the demo
# capture and of shared real captures load in headless Chromium with no console error; the
# DOM holds the summary's numbers (read back from the dumped page); filters given in the
# address change what the tables show; a screenshot is left under the build directory. The
# server is driven over real HTTP on loopback: upload, progress, report, listing, and every
# bad input (not a capture, too big, a second analysis at once, no token off loopback).
section "HTML report (headless Chromium) and ticktap serve"
R="$WORK/report"; mkdir -p "$R"
CHROME=$(command -v chromium || command -v chromium-browser || true)
"$TT" analyze -q -s "$R/demo.json" -e "$R/demo.ev" -r "$R/demo.html" "$WORK/trading_demo.pcap" 2> "$R/a.err"
check "analyze --report writes one self-contained page (no external URL)" bash -c \
    "test -s '$R/demo.html' && ! grep -Eq '(src|href)=\"(https?:)?//' '$R/demo.html'"
"$TT" report "$R/demo.json" "$R/demo.ev" -o "$R/again.html" 2> /dev/null
check "ticktap report of the finished run holds the same data as analyze --report" $PY - "$R/demo.html" "$R/again.html" <<'PY'
import json, re, sys
def data(p):
    return json.loads(re.search(r'<script id="ticktap-data" type="application/json">(.*?)</script>', open(p).read(), re.S).group(1))
a, b = data(sys.argv[1]), data(sys.argv[2])
for k in ("summary", "events", "top_flows", "events_total"):
    assert a[k] == b[k], k
assert len(a["incidents"]) == len(b["incidents"]) > 0
PY
dom() { # PAGE URL-SUFFIX OUT: the page after its script ran, and the console lines
    timeout 60 "$CHROME" --headless=new --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \
        --virtual-time-budget=10000 --dump-dom "file://$1$2" > "$3" 2> "$3.log"
}
if [ -z "$CHROME" ]; then
    skip "the report in Chromium" "chromium is not installed (make deps installs it)"
else
    dom "$R/demo.html" "" "$R/demo.dom"
    check "the demo report loads in Chromium with no console error and draws every part" bash -c \
        "grep -q 'data-ready=\"1\"' '$R/demo.dom' && ! grep -q 'CONSOLE' '$R/demo.dom.log'" ||
        grep CONSOLE "$R/demo.dom.log" | head -5
    check "the page holds the summary's numbers: packets, flows, anomalies, tables' rows" $PY - "$R/demo.dom" "$R/demo.json" "$R/demo.ev" <<'PY'
import json, re, sys
dom, s = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))
ev = [json.loads(l) for l in open(sys.argv[3])]
card = lambda id: re.search(rf'id="h-{id}"><div class="v">([^<]*)<', dom).group(1)
assert card("packets") == f"{s['packets']:,}", card("packets")
assert card("flows") == f"{s['flows']:,}"
anomalies = sum(1 for e in ev if e["severity"] != "info" and e["type"] != "flow")
assert card("anomalies") == f"{anomalies:,}", (card("anomalies"), anomalies)
def rows(section):
    body = re.search(rf'<div id="{section}">.*?<tbody>(.*?)</tbody>', dom, re.S).group(1)
    return body.count("<tr>")
nonflow = sum(1 for e in ev if e["type"] != "flow")
assert rows("t-events") == nonflow, (rows("t-events"), nonflow)
assert rows("t-md") == len(s["trading"]["md"]["sessions"])
assert rows("t-orders") == len(s["trading"]["fix"]["sessions"]) + len(s["trading"]["soupbintcp"]["sessions"])
assert rows("t-talkers") == len(s["top_talkers"])
assert rows("t-incidents") > 0 and "NASDAQTV03" in dom and "upstream" in dom
assert "501" in re.search(r'<div id="t-md">.*?</table>', dom, re.S).group(0)  # the missing range
for c in ("c-throughput", "c-rtt", "c-order", "c-feed", "c-types", "c-sev", "c-tcp"):
    assert f'id="{c}"' in dom, c  # drawn (a chart with no data is replaced by a note)
PY
    dom "$R/demo.html" "#type=md.gap&sev=critical" "$R/f1.dom"
    dom "$R/demo.html" "#ip=10.2.0.9" "$R/f2.dom"
    check "filters in the page change what the tables show (type and severity; an address)" $PY - "$R/f1.dom" "$R/f2.dom" "$R/demo.ev" <<'PY'
import json, re, sys
ev = [json.loads(l) for l in open(sys.argv[3])]
def rows(dom, section):
    body = re.search(rf'<div id="{section}">.*?<tbody>(.*?)</tbody>', dom, re.S).group(1)
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)
d1, d2 = open(sys.argv[1]).read(), open(sys.argv[2]).read()
r1 = rows(d1, "t-events")
want1 = sum(1 for e in ev if e["type"] == "md.gap" and e["severity"] == "critical")
assert len(r1) == want1 and all("md.gap" in r for r in r1), (len(r1), want1)
r2 = rows(d2, "t-events")
want2 = sum(1 for e in ev if e["type"] != "flow" and e.get("flow") and "10.2.0.9" in (e["flow"]["src"], e["flow"]["dst"]))
assert len(r2) == want2 and all("10.2.0.9" in r for r in r2), (len(r2), want2)
assert re.search(r'id="f-count">' + str(want1) + r' of', d1)
PY
    SHOT="$BUILD/report-demo.png"
    timeout 60 "$CHROME" --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
        --window-size=1400,2600 --virtual-time-budget=10000 --screenshot="$SHOT" "file://$R/demo.html" > /dev/null 2>&1
    check "a screenshot of the demo report is written ($SHOT)" test -s "$SHOT"
    # shared real captures: TCP behaviour, a tunnel, an exchange protocol
    n=0; bad_pages=""
    for f in $(ls "$CAPS"/tcp/*.pcap* | head -2) $(ls "$CAPS"/tunnel/* | grep -i vxlan | head -2) \
        $(ls "$CAPS"/trading/*.pcap* | head -2); do
        [ -f "$f" ] || continue
        n=$((n + 1))
        "$TT" analyze -q -s "$R/x.json" -r "$R/x.html" "$f" > /dev/null 2>&1
        dom "$R/x.html" "" "$R/x.dom"
        if ! grep -q 'data-ready="1"' "$R/x.dom" || grep -q CONSOLE "$R/x.dom.log" ||
            ! grep -q "id=\"h-packets\"><div class=\"v\">$($PY -c "import json; print(f\"{json.load(open('$R/x.json'))['packets']:,}\")")<" "$R/x.dom"; then
            bad_pages+=" $(basename "$f")"
        fi
    done
    check "reports of $n shared captures load with no console error and their packet counts" test -z "$bad_pages"
    [ -n "$bad_pages" ] && echo "       bad:$bad_pages"
fi
expect_exit "report: not a summary -> 1" 1 "not a JSON summary" -- "$TT" report "$R/demo.ev" -o "$R/no.html"
expect_exit "report: no -o -> 1" 1 "give a summary" -- "$TT" report "$R/demo.json"
expect_exit "analyze --report to an unwritable place -> 4" 4 "report" -- \
    "$TT" analyze -q -r /nonexistent/dir/r.html "$WORK/trading_demo.pcap"

# ticktap serve over real HTTP
SV="$R/serve"; mkdir -m 700 "$SV"
"$TT" serve --listen 127.0.0.1:0 --dir "$SV" --max-upload 20M --keep 2 2> "$R/serve.err" &
spid=$!
for _ in $(seq 50); do grep -q "http://127.0.0.1:" "$R/serve.err" && break; sleep 0.1; done
SP=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$R/serve.err")
U="http://127.0.0.1:$SP"
curl -s "$U/" > "$R/ui.html"
check "serve: the page is served on loopback" grep -q "Drop a capture" "$R/ui.html"
curl -s --data-binary @"$WORK/trading_demo.pcap" -H 'Content-Type: application/octet-stream' \
    "$U/api/analyses?name=demo.pcap" > "$R/up.json"
ID=$($PY -c "import json; print(json.load(open('$R/up.json')).get('id', ''))")
for _ in $(seq 100); do
    curl -s "$U/api/analyses/$ID" > "$R/st.json"
    grep -q '"state":"running"' "$R/st.json" || break; sleep 0.2
done
check "serve: an upload is analysed: state done, its packets, the report served" $PY - "$R/st.json" "$R/demo.json" <<'PY'
import json, sys
st, s = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert st["state"] == "done" and st["packets"] == s["packets"] and st["name"] == "demo.pcap", st
PY
check "serve: GET /reports/ID is the analysis' report" bash -c \
    "curl -s '$U/reports/$ID' | grep -q 'ticktap-data'"
"$GEN" synflood "$R/big.pcap" > /dev/null 2>&1
curl -s --data-binary @"$R/big.pcap" "$U/api/analyses?name=too-big" -o "$R/big.json" -w '%{http_code}' > "$R/big.code"
check "serve: an upload over --max-upload is refused with 413 and says the limit" bash -c \
    "grep -q 413 '$R/big.code' && grep -q 'over the limit of 20 MB' '$R/big.json'"
echo "not a capture" > "$R/junk.txt"
curl -s --data-binary @"$R/junk.txt" "$U/api/analyses?name=junk" -o "$R/junk.json" -w '%{http_code}' > "$R/junk.code"
check "serve: a file that is not a capture gets 400 and what to give" bash -c \
    "grep -q 400 '$R/junk.code' && grep -q 'pcap, pcapng' '$R/junk.json'"
editcap -r "$R/big.pcap" "$R/mid.pcap" 1-200000 # 200k flows: a second or so to analyse
curl -s --data-binary @"$R/mid.pcap" "$U/api/analyses?name=mid.pcap" -o "$R/mid.json"
curl -s --data-binary @"$WORK/trading_demo.pcap" "$U/api/analyses?name=second" -o "$R/second.json" -w '%{http_code}' > "$R/second.code"
check "serve: a second analysis while one runs gets 409 and a clear message" bash -c \
    "grep -q 409 '$R/second.code' && grep -q 'an analysis is running' '$R/second.json'"
MID=$($PY -c "import json; print(json.load(open('$R/mid.json')).get('id', ''))")
for _ in $(seq 1200); do # 200k flow records to write and read back: slow under ASan
    curl -s "$U/api/analyses/$MID" > "$R/mst.json"
    grep -q '"state":"running"' "$R/mst.json" || break; sleep 0.1
done
check "serve: progress (frames, %, rate, time left) is reported, and ends at every frame, 100%" $PY - "$R/mst.json" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
p = st["progress"]
assert st["state"] == "done" and p["frames"] == st["packets"] and p["percent"] == 100.0, st
assert p["bytes_read"] == p["bytes_total"] == st["size"] and p["rate_fps"] > 0 and "left_s" in p, p
PY
curl -s "$U/api/analyses" > "$R/list.json"
check "serve: earlier analyses are listed, newest first, at most --keep" $PY - "$R/list.json" "$MID" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))["analyses"]
assert 1 <= len(a) <= 2 and a[0]["id"] == sys.argv[2], a
PY
check "serve: unknown pages and ids are 404, a path outside its directory too" bash -c \
    "test \$(curl -s -o /dev/null -w '%{http_code}' '$U/nope') = 404 &&
     test \$(curl -s -o /dev/null -w '%{http_code}' '$U/reports/..%2F..%2Fetc%2Fpasswd') = 404"
check "serve: its directory stays private (0700)" bash -c "test \$(stat -c %a '$SV') = 700"
if [ -n "$CHROME" ]; then
    timeout 60 "$CHROME" --headless=new --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \
        --virtual-time-budget=5000 --dump-dom "$U/" > "$R/ui.dom" 2> "$R/ui.dom.log"
    check "serve: the page loads in Chromium and lists the analyses" bash -c \
        "grep -q 'data-ready=\"1\"' '$R/ui.dom' && grep -q 'mid.pcap' '$R/ui.dom' && ! grep -q CONSOLE '$R/ui.dom.log'"
fi
kill -INT $spid; wait $spid
# the ask box: the same server with an LLM (the test server of enrich.sh) answers about one
rm -f "$R/llm.port"
$PY "$ROOT/tests/enrich/llm_server.py" "$R/llm.port" "$R/llm.log" sk-serve-test &
lpid=$!
for _ in $(seq 50); do [ -s "$R/llm.port" ] && break; sleep 0.1; done
TICKTAP_LLM_API_KEY=sk-serve-test "$TT" serve --listen 127.0.0.1:0 --dir "$SV" \
    --set llm.base_url="http://127.0.0.1:$(cat "$R/llm.port")/ok" --set llm.model=test-model 2> "$R/serve3.err" &
spid=$!
for _ in $(seq 50); do grep -q "http://127.0.0.1:" "$R/serve3.err" && break; sleep 0.1; done
SP=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$R/serve3.err")
curl -s "http://127.0.0.1:$SP/api/analyses" > "$R/list3.json"
curl -s -H 'Content-Type: application/json' -d "{\"id\": \"$MID\", \"question\": \"why so many flows?\"}" \
    "http://127.0.0.1:$SP/api/ask" > "$R/ask.json"
check "serve: with an LLM the ask box is offered and answers about an analysis" $PY - "$R/list3.json" "$R/ask.json" "$R/llm.log" <<'PY'
import json, sys
assert json.load(open(sys.argv[1]))["ask"] is True
a = json.load(open(sys.argv[2]))
assert a["exit_status"] == 0 and "The evidence points at" in a["answer"], a
log = [json.loads(l) for l in open(sys.argv[3])]
assert len(log) == 1 and not log[0]["violations"], log
PY
kill -INT $spid; wait $spid
kill $lpid; wait $lpid 2> /dev/null
expect_exit "serve: an address other than loopback without a token -> 1" 1 "give --token" -- \
    "$TT" serve --listen 0.0.0.0:0 --dir "$SV"
"$TT" serve --listen 127.0.0.1:0 --dir "$SV" --token 0123456789abcdef0123 2> "$R/serve2.err" &
spid=$!
for _ in $(seq 50); do grep -q "http://127.0.0.1:" "$R/serve2.err" && break; sleep 0.1; done
SP=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$R/serve2.err")
check "serve with a token: requests without it get 401, with it 200" bash -c \
    "test \$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$SP/api/analyses) = 401 &&
     test \$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer 0123456789abcdef0123' http://127.0.0.1:$SP/api/analyses) = 200 &&
     test \$(curl -s -o /dev/null -w '%{http_code}' 'http://127.0.0.1:$SP/?token=0123456789abcdef0123') = 200"
kill -INT $spid; wait $spid
