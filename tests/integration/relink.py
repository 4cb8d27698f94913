#!/usr/bin/python3
"""relink.py IN.pcap OUT.pcap KIND - rewrites an Ethernet pcap's frames under another link
layer, same IP packets and times: fddi (LINKTYPE_FDDI, 802.2 SNAP), ppp (LINKTYPE_PPP,
address/control then protocol), ppp_hdlc (LINKTYPE_PPP_HDLC, protocol-field compressed
where it can be), chdlc (LINKTYPE_C_HDLC), user0 (LINKTYPE_USER0: no link layer ticktap
reads). Frames that are not IPv4/IPv6 are left out."""
import struct, sys

src, dst, kind = sys.argv[1:4]
LINKTYPE = {"fddi": 10, "ppp": 9, "ppp_hdlc": 50, "chdlc": 104, "user0": 147}[kind]
PPP_PROTO = {0x0800: 0x0021, 0x86DD: 0x0057}

data = open(src, "rb").read()
magic = data[:4]
endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
hdr = bytearray(data[:24])
struct.pack_into(endian + "I", hdr, 20, LINKTYPE)
out = [bytes(hdr)]
pos = 24
while pos + 16 <= len(data):
    sec, frac, caplen, wirelen = struct.unpack_from(endian + "IIII", data, pos)
    frame = data[pos + 16 : pos + 16 + caplen]
    pos += 16 + caplen
    etype = struct.unpack(">H", frame[12:14])[0]
    if etype not in PPP_PROTO:
        continue
    ip = frame[14:]
    if kind == "fddi":
        link = b"\x50" + frame[0:12] + b"\xaa\xaa\x03\x00\x00\x00" + frame[12:14]
    elif kind == "ppp":
        link = b"\xff\x03" + struct.pack(">H", PPP_PROTO[etype])
    elif kind == "ppp_hdlc":  # IPv4's protocol compressed to one byte (RFC 1661 6.5)
        link = b"\xff\x03" + (b"\x21" if etype == 0x0800 else struct.pack(">H", PPP_PROTO[etype]))
    elif kind == "chdlc":
        link = b"\x0f\x00" + frame[12:14]
    else:
        link = b"\x00\x01\x02\x03"
    frame = link + ip
    wire = wirelen - 14 + len(link)
    out.append(struct.pack(endian + "IIII", sec, frac, len(frame), wire) + frame)
open(dst, "wb").write(b"".join(out))
