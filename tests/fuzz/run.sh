#!/bin/bash
# run.sh - builds each libFuzzer harness (clang, ASan+UBSan) and runs it for FUZZ_SECONDS on
# a seed corpus of generated and real captures. Any crash, leak or sanitizer report fails.
# A crash input is kept in $BUILD/fuzz-crashes/: add it to tests/fuzz/regressions/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build-fuzz}
SECS=${FUZZ_SECONDS:-30}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cd "$ROOT"
make --no-print-directory BUILD="$BUILD" CC=clang CFLAGS="-O1 -g $SAN -fsanitize=fuzzer-no-link" \
    "$BUILD/libticktap.a" "$BUILD/ttgen" > /dev/null
LIBS=$(make --no-print-directory -s print-ldlibs)
corpus="$BUILD/corpus"
mkdir -p "$corpus/capture" "$corpus/decode" "$corpus/trading" "$corpus/csv" "$BUILD/fuzz-crashes"
for s in $("$BUILD/ttgen" list); do
    "$BUILD/ttgen" "$s" "$corpus/capture/$s.pcap" > /dev/null
    rm -f "$corpus/capture/$s.pcap.expect.json" "$corpus/capture/$s.pcap.trading.json"
done
for f in ../shared/captures/malformed/* ../shared/captures/trading/*.pcap ../shared/captures/tcp/* ../shared/captures/tunnel/*; do
    [ -f "$f" ] && [ "$(stat -c %s "$f")" -lt 200000 ] && cp "$f" "$corpus/capture/" || true
done
# decode seeds: frames of the generated captures and of the shared TCP and tunnel captures,
# Ethernet link type (first byte 0)
python3 - "$corpus" "$ROOT/../shared/captures" <<'PY'
import glob, os, struct, sys
out = sys.argv[1] + "/decode"
shared = sorted(glob.glob(sys.argv[2] + "/tcp/*.pcap") + glob.glob(sys.argv[2] + "/tunnel/*.pcap"))
for path in sorted(glob.glob(sys.argv[1] + "/capture/*.pcap"))[:40] + shared:
    if os.path.getsize(path) > 2000000: continue
    data = open(path, "rb").read()
    if data[:4] not in (b"\x4d\x3c\xb2\xa1", b"\xd4\xc3\xb2\xa1"): continue
    if struct.unpack("<I", data[20:24])[0] != 1: continue  # Ethernet only
    off, frames = 24, []
    while off + 16 <= len(data) and len(frames) < 12:
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        frames.append(data[off + 16:off + 16 + incl]); off += 16 + incl
    open(os.path.join(out, os.path.basename(path)), "wb").write(b"\x00" + b"\xfe\xed".join(frames))
# trading seeds: FIX byte streams (0), MoldUDP64 (1) and MDP3 (2) payloads, reassembly (3)
tr = sys.argv[1] + "/trading"
data = open(sys.argv[1] + "/capture/trading_fix_md.pcap", "rb").read()
off, n, fix = 24, 0, b""
while off + 16 <= len(data) and n < 400:
    incl = struct.unpack("<I", data[off + 8:off + 12])[0]
    f = data[off + 16:off + 16 + incl]; off += 16 + incl; n += 1
    if len(f) < 34 or f[12:14] != b"\x08\x00": continue
    ihl = (f[14] & 15) * 4; proto = f[23]; l4 = 14 + ihl
    if proto == 6:
        fix += f[l4 + (f[l4 + 12] >> 4) * 4:]
    elif proto == 17 and n % 20 == 0:
        dport = struct.unpack(">H", f[l4 + 2:l4 + 4])[0]
        open(f"{tr}/udp{n}", "wb").write((b"\x01" if dport == 26477 else b"\x02") + f[l4 + 8:])
open(tr + "/fix", "wb").write(b"\x00" + fix[:8192])
segs = b""
for i in range(0, min(len(fix), 2000), 100):
    segs += bytes([0x10, 0x40, (i >> 0) & 0xff if i < 256 else 0, 100]) + fix[i:i + 100]
open(tr + "/stream", "wb").write(b"\x03" + segs)
PY
# csv seeds: both dialects of a generated capture's packet list
for s in loss trading_fix_md; do
    tshark -r "$corpus/capture/$s.pcap" -T fields -E header=y -E separator=, -e frame.number \
        -e frame.time_epoch -e ip.src -e ip.dst -e frame.len -e _ws.col.Protocol -e tcp.srcport \
        -e tcp.dstport -e udp.srcport -e udp.dstport -e tcp.flags -e tcp.seq_raw -e tcp.ack_raw \
        -e tcp.len 2> /dev/null | head -200 > "$corpus/csv/$s.fields.csv" || true
    tshark -r "$corpus/capture/$s.pcap" -T fields -E header=y -E separator=, -E quote=d \
        -e frame.number -e frame.time -e _ws.col.Source -e _ws.col.Destination \
        -e _ws.col.Protocol -e frame.len -e _ws.col.Info 2> /dev/null | head -200 |
        sed '1s/.*/"No.","Time","Source","Destination","Protocol","Length","Info"/' > "$corpus/csv/$s.ws.csv" || true
done
status=0
for h in decode capture trading csv; do
    bin="$BUILD/fuzz_$h"
    clang -O1 -g $SAN -fsanitize=fuzzer -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror "tests/fuzz/fuzz_$h.c" \
        "$BUILD/libticktap.a" $LIBS -lpthread -o "$bin"
    regress=$(ls tests/fuzz/regressions/"$h"-* 2> /dev/null || true)
    [ -n "$regress" ] && "$bin" $regress > /dev/null 2>&1 || { [ -z "$regress" ] || { echo "fuzz_$h: a regression input fails"; status=1; }; }
    echo "fuzz_$h: ${SECS}s"
    if ! "$bin" -max_total_time="$SECS" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$BUILD/fuzz-crashes/$h-" "$corpus/$h" > "$BUILD/fuzz_$h.log" 2>&1; then
        echo "fuzz_$h: FAILED (see $BUILD/fuzz_$h.log and $BUILD/fuzz-crashes)"
        tail -30 "$BUILD/fuzz_$h.log"
        status=1
    else
        grep -E "^#[0-9]+.*(DONE|pulse)" "$BUILD/fuzz_$h.log" | tail -1 || true
    fi
done
exit $status
