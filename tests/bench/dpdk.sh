#!/bin/bash
# dpdk.sh CAPTURE - DPDK's cost (goal: at least 5 Mpps per reader lcore through the whole
# analysis):
#  - a ring port (net_ring) fed at full speed by a thread on the other core (dpdk_ring.c):
#    frames per second of the reader's own CPU time, the figure the goal is about;
#  - the same with 2 queues and 2 workers: a reader thread per queue steering into its own
#    rings (reader_order.h), and the CPU per frame of the readers and of the workers apart;
#  - `ticktap run` on one net_pcap port replaying CAPTURE (one reader, one worker), Mpps over
#    the run's own time (the EAL's start-up aside), beside `ticktap analyze` of the same file.
#    The PMD reads the file with libpcap (most of its time), which a NIC does not need.
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
ring=$(for i in 1 2 3; do "$BUILD/dpdk_ring" "$CAP" 5000000 2> /dev/null; done |
    sed -n 's/.*: \([0-9.]*\) Mpps per reader lcore.*/\1/p' | sort -g | tail -1)
echo "  DPDK ring port at full speed, whole analysis: ${ring:-?} Mpps per reader lcore (goal 5; best of 3, 5M frames)"
two=$(for i in 1 2 3; do "$BUILD/dpdk_ring" "$CAP" 5000000 2 2> /dev/null; done |
    sed -n 's/.*: \([0-9.]*\) Mpps per reader lcore (steering); .*: \([0-9.]*\) Mpps per worker.*/\1 \2/p' |
    sort -g | tail -1)
echo "  DPDK ring port, 2 queues, a reader thread each, 2 workers: ${two% *} Mpps per reader lcore steering, ${two#* } Mpps per worker lcore analysing (best of 3, 5M frames)"
awk -v n="$pk" -v d="$td" -v o="$to" 'BEGIN {
    printf "  DPDK net_pcap replay, 1 reader lcore, whole analysis: %.2f Mpps (%d frames in %.2f s; the PMD reading the file with libpcap included)\n", n / d / 1e6, n, d
    printf "  the same file offline (ticktap analyze): %.2f Mpps\n", n / o / 1e6 }'
