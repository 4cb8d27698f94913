# csv.sh - CSV packet lists as input, sourced by run.sh: tshark's `-T fields -E header=y -E
# separator=,` export and Wireshark's "Export Packet Dissections > As CSV" columns (made here
# with tshark, as the GUI writes them) of shared real captures give the pcap's packet, byte and
# flow counts; the fields export with TCP numbers also the pcap's retransmissions; the summary
# says what needs the packets; bad CSVs get a clear error.
section "CSV input (tshark fields, Wireshark's CSV export)"
V="$WORK/csv"; mkdir -p "$V"
fields_csv() { # CAPTURE OUT
    tshark -r "$1" -T fields -E header=y -E separator=, -e frame.number -e frame.time_epoch \
        -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst -e frame.len -e _ws.col.Protocol \
        -e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport -e tcp.flags -e tcp.seq_raw \
        -e tcp.ack_raw -e tcp.len -e tcp.window_size_value > "$2" 2> /dev/null
}
wireshark_csv() { # CAPTURE OUT: the GUI's seven columns, quoted, absolute times
    tshark -r "$1" -T fields -E header=y -E separator=, -E quote=d -e frame.number -e frame.time \
        -e _ws.col.Source -e _ws.col.Destination -e _ws.col.Protocol -e frame.len -e _ws.col.Info \
        2> /dev/null | sed '1s/.*/"No.","Time","Source","Destination","Protocol","Length","Info"/' > "$2"
}
n_csv=0
for c in 1flowB.pcap 443-curl.pcap 206_example_a.pcap http-range-multiflows__input.pcap \
    ftp-ippair-leak-5204__input.pcap ethereum.pcap echo-connections.pcap.gz; do
    cap="$CAPS/tcp/$c"
    [ -f "$cap" ] || { skip "CSV of $c" "$cap is missing"; continue; }
    n=${c%%.*}; n_csv=$((n_csv + 1))
    fields_csv "$cap" "$V/$n.f.csv"
    wireshark_csv "$cap" "$V/$n.w.csv"
    "$TT" analyze -q -s "$V/$n.p.json" "$cap"
    "$TT" analyze -q -s "$V/$n.f.json" "$V/$n.f.csv"
    "$TT" analyze -q -s "$V/$n.w.json" -e "$V/$n.w.ev" "$V/$n.w.csv"
    check "$c as tshark fields CSV: packets, bytes, flows, talkers and every tcp_analysis count equal the pcap's" $PY - "$V/$n".{p,f}.json <<'PY'
import json, sys
p, f = (json.load(open(x)) for x in sys.argv[1:])
for k in ("packets", "bytes", "flows", "top_talkers", "tcp_analysis"):
    assert p[k] == f[k], (k, p[k], f[k])
assert f["input"]["dialect"] == "tshark-fields" and f["input"]["rows"] == p["packets"]
PY
    check "$c as Wireshark's CSV: packets, bytes and flows equal the pcap's" $PY - "$V/$n".{p,w}.json <<'PY'
import json, sys
p, w = (json.load(open(x)) for x in sys.argv[1:])
for k in ("packets", "bytes", "flows"):
    assert p[k] == w[k], (k, p[k], w[k])
assert w["input"]["dialect"] == "wireshark"
PY
    check "$c CSV: summary and events match their schemas" bash -c \
        "'$ROOT/tests/integration/validate.py' '$ROOT/schemas/summary.schema.json' '$V/$n.w.json' &&
         '$ROOT/tests/integration/validate.py' '$ROOT/schemas/event.schema.json' '$V/$n.w.ev' --lines"
done
[ $n_csv -gt 0 ] || bad "no shared capture was there to export as CSV"
check "Wireshark's CSV of 443-curl: window scaling learnt from Info's WS=, so window updates equal the pcap's" $PY -c "
import json; p, w = (json.load(open('$V/443-curl.' + x + '.json')) for x in 'pw')
assert p['tcp_analysis'] == w['tcp_analysis'], (p['tcp_analysis'], w['tcp_analysis'])"
"$TT" analyze "$V/443-curl.w.csv" > "$V/human.txt" 2>&1
check "the human summary says what a CSV cannot give (payloads, TCP options)" \
    grep -q "needs the packets:" "$V/human.txt"

# Only addresses, times and lengths: counted, and the TCP analysis is left out, not invented.
tshark -r "$CAPS/tcp/1flowB.pcap" -T fields -E header=y -E separator=, -e frame.time_relative \
    -e ip.src -e ip.dst -e frame.len -e _ws.col.Protocol > "$V/bare.csv" 2> /dev/null
"$TT" analyze -q -s "$V/bare.json" "$V/bare.csv"
check "a CSV of relative times, addresses and lengths: packets and bytes, no TCP finding made up" $PY - "$V/bare.json" "$V/1flowB.p.json" <<'PY'
import json, sys
b, p = (json.load(open(x)) for x in sys.argv[1:])
assert b["packets"] == p["packets"] and b["bytes"] == p["bytes"]
assert not any(b["tcp_analysis"].values()), b["tcp_analysis"]
assert b["input"]["relative_times"] and any("sequence" in n for n in b["input"]["needs_the_packets"])
PY
printf 'a,b,c\n1,2,3\n' > "$V/junk.csv"
expect_exit "a CSV without a time and a source column -> 2, saying which columns" 2 "needs a time column" -- "$TT" analyze "$V/junk.csv"
expect_exit "--filter on a CSV -> 1 (no bytes to match)" 1 "no bytes to match" -- "$TT" analyze -f tcp "$V/bare.csv"
printf '"No.","Time","Source","Destination","Protocol","Length","Info"\n"1","22:13:20.000100","10.0.0.1","10.0.0.2","UDP","60","1000 \xe2\x86\x92 2000 Len=18"\n"2","22:13:20.000300","10.0.0.2","10.0.0.1","UDP","60","2000 \xe2\x86\x92 1000 Len=18"\n' > "$V/tod.csv"
"$TT" analyze -q -s "$V/tod.json" "$V/tod.csv"
check "Wireshark's time-of-day column: every row read, one flow, times 200 us apart" $PY -c "
import json; s = json.load(open('$V/tod.json'))
assert s['packets'] == 2 and s['flows'] == 1 and s['last_ts_ns'] - s['first_ts_ns'] == 200000, s
assert s['input']['rows_unparsed'] == 0 and s['input']['relative_times']"
