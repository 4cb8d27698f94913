#!/bin/bash
# dpdk.sh CAPTURE - DPDK's cost (issue 23's goal: at least 5 Mpps per reader lcore through the
# whole analysis): `ticktap run` on one net_pcap port replaying CAPTURE (one reader, one
# worker), Mpps over the run's own time (the EAL's start-up aside), beside `ticktap analyze`
# of the same file and the goal. The frames come through the PMD, the mbufs and the live
# pipeline; the PMD reads the file with libpcap, which a NIC does not need.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
CAP=${1:?usage: dpdk.sh CAPTURE}
if ! pkg-config --exists libdpdk; then echo "  DPDK: skipped (libdpdk not installed)"; exit 0; fi
WORK=$(mktemp -d /tmp/ticktap-bench-dpdk.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
/usr/bin/python3 "$ROOT/tests/integration/to_usec.py" "$CAP" "$WORK/cap.pcap"
cat > "$WORK/dpdk.yaml" <<YAML
dpdk:
  eal: [--no-huge, -m, "512", --no-pci, -l, "0", --log-level=lib.eal:error, --no-telemetry]
capture:
  interfaces:
    - name: "net_pcap0,rx_pcap=$WORK/cap.pcap"
      mode: dpdk
YAML
best() { # the shortest "analysed in" of 3 runs of the command
    for i in 1 2 3; do "$@" 2> /dev/null | sed -n 's/.*analysed in \([0-9.]*\) s.*/\1/p'; done |
        sort -g | head -1
}
pk=$(/usr/bin/python3 -c "
import struct, sys
d = open(sys.argv[1], 'rb').read(); o = 24; n = 0
while o + 16 <= len(d): o += 16 + struct.unpack('<I', d[o + 8:o + 12])[0]; n += 1
print(n)" "$WORK/cap.pcap")
td=$(best "$BUILD/ticktap" run -c "$WORK/dpdk.yaml")
to=$(best "$BUILD/ticktap" analyze "$WORK/cap.pcap")
awk -v n="$pk" -v d="$td" -v o="$to" 'BEGIN {
    printf "  DPDK net_pcap replay, 1 reader lcore, whole analysis: %.2f Mpps (%d frames in %.2f s; goal 5 Mpps per lcore)\n", n / d / 1e6, n, d
    printf "  the same file offline (ticktap analyze): %.2f Mpps\n", n / o / 1e6 }'
