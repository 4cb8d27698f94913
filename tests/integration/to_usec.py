#!/usr/bin/python3
"""to_usec.py IN OUT - rewrites a nanosecond pcap as a microsecond one (timestamps cut to the
microsecond), as DPDK's net_pcap reads it: the offline analysis of OUT is then what a replay of
IN through net_pcap must give, to the nanosecond."""
import struct
import sys

data = open(sys.argv[1], "rb").read()
magic = struct.unpack("<I", data[:4])[0]
if magic not in (0xA1B23C4D, 0xA1B2C3D4):
    sys.exit("to_usec: %s is not a little-endian pcap" % sys.argv[1])
nsec = magic == 0xA1B23C4D
out = bytearray(struct.pack("<I", 0xA1B2C3D4) + data[4:24])
off = 24
while off + 16 <= len(data):
    sec, frac, incl, orig = struct.unpack("<IIII", data[off:off + 16])
    out += struct.pack("<IIII", sec, frac // 1000 if nsec else frac, incl, orig)
    out += data[off + 16:off + 16 + incl]
    off += 16 + incl
open(sys.argv[2], "wb").write(out)
