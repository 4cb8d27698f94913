#!/usr/bin/python3
"""pingpong.py - a request/response TCP session for the live tests (stdlib only).

  pingpong.py server ADDR PORT       answers each 100-byte request with 150 bytes, once
  pingpong.py client ADDR PORT N     sends N requests, checks every answer, prints "ok N"
One request is in flight at a time, so every segment leaves on its own (nothing for GRO or
TSO to merge) and a capture of it is the same frames on every tap.
"""
import socket
import sys

mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        chunk = s.recv(n - len(b))
        if not chunk:
            raise SystemExit("connection closed early")
        b += chunk
    return b


if mode == "server":
    srv = socket.socket(fam, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(1)
    print("listening", flush=True)
    c, _ = srv.accept()
    while True:
        try:
            req = recv_exact(c, 100)
        except SystemExit:
            break
        c.sendall(b"R" * 150)
    c.close()
else:
    n = int(sys.argv[4])
    s = socket.create_connection((addr, port), timeout=5)
    for i in range(n):
        s.sendall(b"Q" * 100)
        assert recv_exact(s, 150) == b"R" * 150
    s.close()
    print("ok", n)
