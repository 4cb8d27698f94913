#!/bin/bash
# dpdk.sh - DPDK's cost (issue 23's goal: at least 5 Mpps per reader lcore through the whole
# analysis): `ticktap run` on a net_pcap port replaying the bench's trading capture from memory
# (infinite_rx: a capture of at most ~300k frames) for SECS seconds, one reader and worker; prints Mpps beside the goal.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
CAP=${1:?usage: dpdk.sh CAPTURE [SECS]}
SECS=${2:-3}
if ! pkg-config --exists libdpdk; then echo "  DPDK: skipped (libdpdk not installed)"; exit 0; fi
WORK=$(mktemp -d /tmp/ticktap-bench-dpdk.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
/usr/bin/python3 "$ROOT/tests/integration/to_usec.py" "$CAP" "$WORK/cap.pcap"
# infinite_rx holds every frame of the file in an mbuf: the pool must take them all
FRAMES=$(/usr/bin/python3 -c "
import struct, sys
d = open(sys.argv[1], 'rb').read(); o = 24; n = 0
while o + 16 <= len(d): o += 16 + struct.unpack('<I', d[o + 8:o + 12])[0]; n += 1
print(n)" "$WORK/cap.pcap")
cat > "$WORK/dpdk.yaml" <<YAML
dpdk:
  eal: [--no-huge, -m, "1024", --no-pci, -l, "0", --log-level=lib.eal:error, --no-telemetry]
capture:
  interfaces:
    - name: "net_pcap0,rx_pcap=$WORK/cap.pcap,infinite_rx=1"
      mode: dpdk
      mempool_size: $((FRAMES + 4096))
YAML
"$BUILD/ticktap" run -q -c "$WORK/dpdk.yaml" -d "$SECS" -s "$WORK/s.json" 2> "$WORK/err" ||
    { echo "  DPDK: the run failed: $(tail -1 "$WORK/err")"; exit 0; }
/usr/bin/python3 - "$WORK/s.json" "$SECS" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); secs = float(sys.argv[2])
port = s['capture']['interfaces'][0]['dpdk']
mpps = s['packets'] / secs / 1e6
print(f"  DPDK net_pcap replay, 1 reader lcore, full analysis: {mpps:.2f} Mpps "
      f"(goal: 5 Mpps per lcore; {s['packets']} frames in {secs:.0f} s, imissed {port['imissed']})")
PY
