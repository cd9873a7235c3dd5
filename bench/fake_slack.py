#!/usr/bin/env python3
"""A stand-in for the Slack Web API, for benchmarks: chat.postMessage,
chat.update and conversations.history answer ok; GET /counts reports how many
of each were called, and GET /posted when (Unix time) the first message of
each ticket arrived, keyed by the ticket id in its metadata. SLACK_DELAY_MS
makes each API call take that long, as Slack's own do (50–200 ms)."""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

delay = int(os.environ.get("SLACK_DELAY_MS", "0")) / 1000
counts = {"chat.postMessage": 0, "chat.update": 0, "conversations.history": 0}
posted = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    # Slack keeps connections open; HTTP/1.0 (the default) would make every
    # call a new one. With them open, the body written after the headers
    # would wait out the client's delayed ACK (40 ms) unless sent at once.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def reply(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_method(self):
        method = self.path.split("?")[0].rsplit("/", 1)[-1]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        received = time.time()
        if method == "counts":
            with lock:
                return self.reply(dict(counts))
        if method == "posted":
            with lock:
                return self.reply(dict(posted))
        time.sleep(delay)
        with lock:
            counts[method] = counts.get(method, 0) + 1
            number = counts[method]
        if method == "chat.postMessage":
            ticket = json.loads(body)["metadata"]["event_payload"]["ticket_id"]
            with lock:
                posted.setdefault(ticket, received)
        if method == "conversations.history":
            return self.reply({"ok": True, "messages": [], "has_more": False})
        self.reply({"ok": True, "channel": "C111", "ts": f"1764450000.{number:06d}"})

    do_GET = handle_method
    do_POST = handle_method


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
sys.stdout.close()
server.serve_forever()
