"""Local stand-ins for the services rca-assistant calls, speaking their wire
formats (paths, headers, status codes, error bodies), for the system tests.

Each stand-in runs in a thread of the test process on 127.0.0.1 and keeps
what it was asked, so a test can count what reached it. `outage(...)` makes
it answer every call with an error (500, 429 with Retry-After) or not at
all, until `recover()`.
"""
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class StandIn:
    """A threaded HTTP server with a switchable outage."""

    def __init__(self, name):
        self.name = name
        self.lock = threading.Lock()
        self.fault = None
        self.refused = 0
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if len(body) < length:
                    # The client died before its request was whole (a kill -9 in the crash test):
                    # a real service never acts on half a request, so neither does the stand-in.
                    self.close_connection = True
                    return
                fault = stand_in.fault
                if fault is not None:
                    with stand_in.lock:
                        stand_in.refused += 1
                    if fault == "hang":
                        time.sleep(30)
                        return
                    status, headers, payload = fault
                    return self.send(status, payload, headers)
                status, payload, headers = stand_in.handle(self.command, urlparse(self.path), self.headers, body)
                self.send(status, payload, headers)

            def send(self, status, payload, headers=None):
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = do_POST = do_PUT = handle_any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def outage(self, kind):
        """`500`, `429` or `hang` (accepts the connection, never answers)."""
        self.fault = {
            "500": (500, {}, self.server_error()),
            "429": (429, {"Retry-After": "1"}, self.rate_limited()),
            "hang": "hang",
        }[kind]

    def recover(self):
        self.fault = None

    def server_error(self):
        return {"error": "internal error"}

    def rate_limited(self):
        return {"error": "rate limited"}

    def close(self):
        self.server.shutdown()


class Slack(StandIn):
    """Slack Web API: chat.postMessage, chat.update and conversations.history
    (newest first, `oldest`, `limit`, cursor pages, message metadata)."""

    def __init__(self):
        super().__init__("slack")
        self.messages = {}
        self.posts_by_ticket = {}
        self.updates = 0
        self.clock = 0.0

    def server_error(self):
        return b"<html><body>500 Internal Server Error</body></html>"

    def rate_limited(self):
        return {"ok": False, "error": "ratelimited"}

    def handle(self, method, url, headers, body):
        if not headers.get("Authorization", "").startswith("Bearer xoxb-"):
            return 200, {"ok": False, "error": "not_authed"}, {}
        name = url.path.rsplit("/", 1)[-1]
        arguments = json.loads(body) if body else {}
        with self.lock:
            if name == "auth.test":
                return 200, {"ok": True, "url": "https://system-test.slack.com/", "team": "System test", "user": "rca_assistant"}, {}
            if name in ("chat.postMessage", "chat.update") and "channel" not in arguments:
                return 200, {"ok": False, "error": "channel_not_found"}, {}
            if name == "chat.postMessage":
                self.clock = max(time.time(), self.clock + 0.000001)
                ts = f"{self.clock:.6f}"
                ticket = ((arguments.get("metadata") or {}).get("event_payload") or {}).get("ticket_id")
                self.messages[ts] = {"ts": ts, "type": "message", "text": arguments.get("text", ""), "metadata": arguments.get("metadata")}
                self.posts_by_ticket[ticket] = self.posts_by_ticket.get(ticket, 0) + 1
                return 200, {"ok": True, "channel": arguments["channel"], "ts": ts, "message": self.messages[ts]}, {}
            if name == "chat.update":
                if arguments.get("ts") not in self.messages:
                    return 200, {"ok": False, "error": "message_not_found"}, {}
                self.updates += 1
                return 200, {"ok": True, "channel": arguments["channel"], "ts": arguments["ts"]}, {}
            if name == "conversations.history":
                query = parse_qs(url.query)
                oldest = float(query.get("oldest", ["0"])[0])
                limit = int(query.get("limit", ["100"])[0])
                start = int(query.get("cursor", ["0"])[0] or 0)
                found = sorted((m for m in self.messages.values() if float(m["ts"]) >= oldest), key=lambda m: m["ts"], reverse=True)
                page = found[start:start + limit]
                more = start + limit < len(found)
                return 200, {"ok": True, "messages": page, "has_more": more,
                             "response_metadata": {"next_cursor": str(start + limit) if more else ""}}, {}
        return 200, {"ok": False, "error": "unknown_method"}, {}


class Jira(StandIn):
    """Jira Cloud REST API v3: create issue, JQL search by label, transitions."""

    TRANSITIONS = [
        {"id": "11", "name": "To Do", "to": {"name": "To Do", "statusCategory": {"key": "new"}}},
        {"id": "21", "name": "In Progress", "to": {"name": "In Progress", "statusCategory": {"key": "indeterminate"}}},
        {"id": "31", "name": "Done", "to": {"name": "Done", "statusCategory": {"key": "done"}}},
    ]

    def __init__(self):
        super().__init__("jira")
        self.issues = {}
        self.creates_by_label = {}

    def server_error(self):
        return {"errorMessages": ["Internal server error"], "errors": {}}

    def rate_limited(self):
        return {"errorMessages": ["Rate limit exceeded"], "errors": {}}

    def handle(self, method, url, headers, body):
        if not headers.get("Authorization", "").startswith("Basic "):
            return 401, {"errorMessages": ["You are not authenticated."], "errors": {}}, {}
        path = url.path
        arguments = json.loads(body) if body else {}
        if method == "GET" and path == "/rest/api/3/myself":
            return 200, {"accountId": "system-test", "displayName": "System test", "active": True}, {}
        if method == "GET" and path.startswith("/rest/api/3/project/"):
            return 200, {"id": "10000", "key": path.rsplit("/", 1)[-1], "name": "System test"}, {}
        with self.lock:
            if method == "POST" and path == "/rest/api/3/issue":
                key = f"OPS-{len(self.issues) + 1}"
                labels = arguments["fields"].get("labels", [])
                self.issues[key] = {"key": key, "labels": labels, "status": self.TRANSITIONS[0]["to"]}
                for label in labels:
                    self.creates_by_label[label] = self.creates_by_label.get(label, 0) + 1
                return 201, {"id": str(10000 + len(self.issues)), "key": key, "self": f"{self.url}/rest/api/3/issue/{key}"}, {}
            if method == "POST" and path == "/rest/api/3/search/jql":
                wanted = set(re.findall(r'"([^"]+)"', arguments.get("jql", "")))
                found = [{"key": i["key"], "fields": {"labels": i["labels"]}} for i in self.issues.values() if wanted & set(i["labels"])]
                return 200, {"issues": found, "isLast": True}, {}
            match = re.fullmatch(r"/rest/api/3/issue/([A-Z]+-\d+)/transitions", path)
            if match and match.group(1) in self.issues:
                if method == "GET":
                    return 200, {"transitions": self.TRANSITIONS}, {}
                chosen = [t for t in self.TRANSITIONS if t["id"] == arguments["transition"]["id"]]
                self.issues[match.group(1)]["status"] = chosen[0]["to"]
                return 204, b"", {}
            match = re.fullmatch(r"/rest/api/3/issue/([A-Z]+-\d+)", path)
            if match and match.group(1) in self.issues:
                issue = self.issues[match.group(1)]
                return 200, {"key": issue["key"], "fields": {"status": issue["status"], "labels": issue["labels"]}}, {}
        return 404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}}, {}


class OpenAIModel(StandIn):
    """An OpenAI-compatible chat completions endpoint answering with a valid
    analysis that quotes the error text's first line as evidence."""

    def __init__(self):
        super().__init__("model")
        self.calls = 0

    def server_error(self):
        return {"error": {"message": "The server had an error while processing your request.", "type": "server_error", "param": None, "code": None}}

    def rate_limited(self):
        return {"error": {"message": "Rate limit reached for requests", "type": "requests", "param": None, "code": "rate_limit_exceeded"}}

    def handle(self, method, url, headers, body):
        if method == "GET" and url.path.endswith("/models"):
            return 200, {"object": "list", "data": [{"id": "stand-in", "object": "model", "created": 0, "owned_by": "system-test"}]}, {}
        request = json.loads(body)
        with self.lock:
            self.calls += 1
        question = [m["content"] for m in request["messages"] if m["role"] == "user"][0]
        text = question.split('Error text:\n"""\n', 1)[-1].rsplit('\n"""', 1)[0].strip()
        first_line = text.splitlines()[0] if text else ""
        answer = {
            "root_cause": "Stand-in model answer for: " + first_line[:80], "error_type": "StandInError",
            "category": "unknown", "affected_entity": "system-test", "severity": "Medium", "confidence": "Medium",
            "evidence": [first_line[:60]], "recommendations": ["Read the error text"], "auto_heal_possible": False,
        }
        return 200, {
            "id": "chatcmpl-standin", "object": "chat.completion", "created": int(time.time()), "model": request["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": json.dumps(answer), "refusal": None}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 900, "completion_tokens": 150, "total_tokens": 1050},
        }, {}


class Databricks(StandIn):
    """Databricks Jobs API 2.1: runs/get and runs/get-output, answering with
    the documented example responses for any run id."""

    def __init__(self, run_get, run_output):
        super().__init__("databricks")
        self.run_get = run_get
        self.run_output = run_output
        self.calls = 0

    def server_error(self):
        return {"error_code": "INTERNAL_ERROR", "message": "Internal error"}

    def rate_limited(self):
        return {"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "Too many requests"}

    def handle(self, method, url, headers, body):
        if headers.get("Authorization") != "Bearer dapi-system-test":
            return 401, {"error_code": "PERMISSION_DENIED", "message": "Invalid access token."}, {}
        if url.path == "/api/2.1/jobs/list":
            return 200, {"jobs": [], "has_more": False}, {}
        run_id = parse_qs(url.query).get("run_id", [""])[0]
        with self.lock:
            self.calls += 1
        if url.path == "/api/2.1/jobs/runs/get":
            return 200, dict(self.run_get, run_id=int(run_id) if run_id.isdigit() else run_id), {}
        if url.path == "/api/2.1/jobs/runs/get-output":
            return 200, self.run_output, {}
        return 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": "No API found"}, {}
