#!/usr/bin/python3
"""split_flows.py IN N OUT_PREFIX - splits a pcap into N files (OUT_PREFIX0.pcap, ...) as a NIC's
symmetric RSS would spread it over N queues: by a hash of the IP addresses and ports that is
the same both ways, so each connection's packets stay whole and in order in one file."""
import struct
import sys
import zlib

src, n, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = open(src, "rb").read()
outs = [open("%s%d.pcap" % (prefix, i), "wb") for i in range(n)]
for o in outs:
    o.write(data[:24])


def queue_of(frame):
    et, off = struct.unpack(">H", frame[12:14])[0], 14
    while et == 0x8100 and len(frame) >= off + 4:
        et, off = struct.unpack(">H", frame[off + 2:off + 4])[0], off + 4
    if et == 0x0800 and len(frame) >= off + 20:
        ihl, proto = (frame[off] & 15) * 4, frame[off + 9]
        a, b, l4 = frame[off + 12:off + 16], frame[off + 16:off + 20], off + ihl
    elif et == 0x86DD and len(frame) >= off + 40:
        proto, a, b, l4 = frame[off + 6], frame[off + 8:off + 24], frame[off + 24:off + 40], off + 40
    else:
        return 0
    ports = (0, 0)
    if proto in (6, 17) and len(frame) >= l4 + 4:
        ports = struct.unpack(">HH", frame[l4:l4 + 4])
    ends = sorted([(a, ports[0]), (b, ports[1])])
    return zlib.crc32(repr(ends).encode()) % n


off = 24
while off + 16 <= len(data):
    incl = struct.unpack("<I", data[off + 8:off + 12])[0]
    frame = data[off + 16:off + 16 + incl]
    outs[queue_of(frame)].write(data[off:off + 16 + incl])
    off += 16 + incl
for o in outs:
    o.close()
