#!/usr/bin/python3
"""llm_server.py PORTFILE LOG KEY - a local OpenAI-compatible test server on 127.0.0.1.

POST /<mode>/chat/completions, where mode says how to answer:
  ok         200 with an answer that names HOST1 (so unredaction shows) and usage
  flaky429   429 with Retry-After: 1 for the first 2 requests, then as ok
  flaky500   500 for the first 2 requests, then as ok
  fail500    always 500
  stall      waits 5 s before answering (past a client's timeout)
  malformed  200 with a body that is not an answer
Every request is checked and logged as one JSON line in LOG: the model, the roles of the
messages, the Authorization header, and the violations found: the key anywhere but the
Authorization header, an IPv4 address in a prompt (addresses must be placeholders), FIX
credential tags (554=, 925=) or raw payload bytes (hex dumps) in a prompt.
"""
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORTFILE, LOG, KEY = sys.argv[1], sys.argv[2], sys.argv[3]
counts = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(n).decode("utf-8", "replace")
        mode = self.path.strip("/").split("/")[0]
        violations = []
        auth = self.headers.get("Authorization", "")
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
            violations.append("body is not JSON")
        msgs = body.get("messages", [])
        prompt = " ".join(m.get("content", "") for m in msgs)
        if KEY in raw or any(KEY in v for k, v in self.headers.items() if k != "Authorization"):
            violations.append("the key outside the Authorization header")
        if re.search(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", prompt):
            violations.append("an IPv4 address in the prompt")
        if re.search(r"\b(554|925)=", prompt):
            violations.append("a FIX credential tag in the prompt")
        # bytes as a field or a hex dump; "payload.duplicate" (a finding's name) is not bytes
        if re.search(r"\b(raw_bytes|hex)\b|\"payload\"\s*:|\b[0-9a-fA-F]{40,}\b", prompt):
            violations.append("payload bytes in the prompt")
        if not body.get("model"):
            violations.append("no model")
        if [m.get("role") for m in msgs] != ["system", "user"]:
            violations.append("messages are not [system, user]")
        with lock:
            counts[mode] = counts.get(mode, 0) + 1
            k = counts[mode]
            with open(LOG, "a") as f:
                f.write(json.dumps({"mode": mode, "n": k, "model": body.get("model"),
                                    "auth": auth, "violations": violations,
                                    "max_tokens": body.get("max_tokens")}) + "\n")
        if mode == "stall":
            time.sleep(5)
        if mode == "fail500" or (mode == "flaky500" and k <= 2):
            return self.answer(500, {"error": {"message": "internal"}})
        if mode == "flaky429" and k <= 2:
            return self.answer(429, {"error": {"message": "slow down"}}, {"Retry-After": "1"})
        if mode == "malformed":
            return self.answer(200, {"nothing": "here"})
        host = "HOST1" if "HOST1" in prompt else "the host"
        text = f"The evidence points at {host}; check it first. ({len(prompt)} characters read)"
        return self.answer(200, {
            "id": "test", "object": "chat.completion", "model": body.get("model", "?"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}})

    def answer(self, status, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(data)
        except BrokenPipeError:
            pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(PORTFILE, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
