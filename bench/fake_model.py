#!/usr/bin/env python3
"""A stand-in for an OpenAI-compatible server, for benchmarks: answers
POST /v1/chat/completions with a valid analysis after MODEL_LATENCY_MS,
quoting the first line of the error text as evidence, and counts the calls
(GET /calls)."""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LATENCY = int(os.environ.get("MODEL_LATENCY_MS", "300")) / 1000
calls = 0
lock = threading.Lock()


def analysis(question):
    text = question.split('Error text:\n"""\n', 1)[-1].rsplit('\n"""', 1)[0]
    first_line = text.strip().splitlines()[0] if text.strip() else text
    return {
        "root_cause": "Benchmark answer for: " + first_line[:80],
        "error_type": "BenchmarkError",
        "category": "unknown",
        "affected_entity": "bench",
        "severity": "Medium",
        "confidence": "Medium",
        "evidence": [first_line[:60]],
        "recommendations": ["Read the error text"],
        "auto_heal_possible": False,
    }


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with lock:
            self.reply(200, {"calls": calls})

    def do_POST(self):
        global calls
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with lock:
            calls += 1
        time.sleep(LATENCY)
        question = [m["content"] for m in request["messages"] if m["role"] == "user"][0]
        self.reply(200, {
            "id": "chatcmpl-bench", "object": "chat.completion", "created": int(time.time()), "model": request["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": json.dumps(analysis(question)), "refusal": None},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 900, "completion_tokens": 150, "total_tokens": 1050},
        })


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
sys.stdout.close()
server.serve_forever()
