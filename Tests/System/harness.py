"""Starts real rca-assistant processes and talks to them as senders and
dashboards do, for the system tests (replicas, crashes, outages)."""
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import websocket

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "RCATests" / "Fixtures"
WEBHOOK_TOKEN = "system-test-webhook-token-0123456789"
JWT_SECRET = "system-test-jwt-secret-0123456789abcdef0123456789"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary():
    path = os.environ.get("RCA_BINARY")
    if not path:
        raise SystemExit("RCA_BINARY is not set (scripts/system-test.sh sets it)")
    return path


class Server:
    """One `rca-assistant serve` process; restartable on the same port and data."""

    def __init__(self, data_dir, env, name="server"):
        self.data_dir = data_dir
        self.port = free_port()
        self.name = name
        self.env = dict(os.environ, DATA_DIR=str(data_dir), WEBHOOK_TOKEN=WEBHOOK_TOKEN, JWT_SECRET=JWT_SECRET,
                        LOG_LEVEL=os.environ.get("RCA_SYSTEM_LOG_LEVEL", "warning"), SLA_CHECK_SECONDS="3600", **env)
        self.process = None
        self.log = open(Path(data_dir).parent / f"{name}.log", "ab")

    def start(self):
        self.process = subprocess.Popen([binary(), "serve", "--port", str(self.port)], env=self.env,
                                        stdout=self.log, stderr=self.log)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log.name}")
            try:
                status, _ = request(self.port, "GET", "/ready")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not become ready on port {self.port}")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def run(self, *arguments, stdin=None):
        return subprocess.run([binary(), *arguments], env=self.env, input=stdin, capture_output=True, text=True, check=True).stdout


_connections = threading.local()


def request(port, method, path, body=None, headers=None, timeout=30):
    """One HTTP exchange on a kept-alive connection of this thread; (status, decoded JSON or text)."""
    pool = getattr(_connections, "pool", None)
    if pool is None:
        pool = _connections.pool = {}
    for attempt in range(2):
        connection = pool.get(port)
        if connection is None:
            connection = pool[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
            connection.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
            response = connection.getresponse()
            text = response.read().decode()
            try:
                return response.status, json.loads(text)
            except ValueError:
                return response.status, text
        except (http.client.HTTPException, ConnectionError, socket.timeout):
            connection.close()
            pool.pop(port, None)
            if attempt == 1:
                raise
    raise AssertionError("unreachable")


def post_webhook(port, path, body):
    return request(port, "POST", path, body, {"X-RCA-Token": WEBHOOK_TOKEN})


def adf_alert(pipeline, run_id, folder="sales"):
    """The Log Alerts V2 Data Factory alert the benchmarks use, for one
    pipeline run; `folder` (letters) changes the missing blob's path and so
    makes a different failure for the analysis cache."""
    template = (ROOT / "bench" / "adf-alert.json").read_text()
    return template.replace("DataIngestionPipeline", pipeline).replace("RUN_ID_PLACEHOLDER", run_id) \
        .replace("sales/", f"{folder}/").encode()


def letters(number):
    """A number written in letters, for text that must stay distinct after fingerprinting (which drops digits)."""
    word = ""
    while True:
        number, digit = divmod(number, 26)
        word = chr(ord("a") + digit) + word
        if number == 0:
            return word


def send_all(targets, workers=32):
    """Posts (port, path, body) triples concurrently; returns their (status, answer) in order."""
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda target: _try_post(*target), targets))


def _try_post(port, path, body):
    try:
        return post_webhook(port, path, body)
    except OSError as error:
        return None, str(error)


def sign_in(server, email="system@example.com", password="system test password 42"):
    server.run("user", "add", email, "--role", "admin", "--password-stdin", stdin=password + "\n")
    status, answer = request(server.port, "POST", "/api/login", {"email": email, "password": password})
    assert status == 200, (status, answer)
    return answer["token"]


def wait_until(condition, timeout, message, interval=0.25):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s: {message}")


class Database:
    """Reads the store the servers share (SQLite file or PostgreSQL URL) with the command-line clients."""

    def __init__(self, url):
        self.url = url

    def scalar(self, query):
        rows = self.rows(query)
        return rows[0][0] if rows else None

    def rows(self, query):
        if self.url.startswith("postgres"):
            output = subprocess.run(["psql", self.url, "-tA", "-F", "\t", "-c", query], capture_output=True, text=True, check=True).stdout
        else:
            with sqlite3.connect(self.url.removeprefix("sqlite://"), timeout=30) as connection:
                return [list(row) for row in connection.execute(query).fetchall()]
        return [[_number(cell) for cell in line.split("\t")] for line in output.splitlines() if line]


def wait_settled(database, timeout, message):
    """Waits until no job is queued or running and no ticket waits for its analysis."""
    wait_until(lambda: database.scalar("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')") == 0 and
               database.scalar("SELECT COUNT(*) FROM tickets WHERE analysis_state = 'pending'") == 0,
               timeout, message)


def _number(cell):
    try:
        return int(cell)
    except ValueError:
        return cell


def fresh_postgres_database():
    """A new empty database on the test server (RCA_TEST_POSTGRES_URL), as a URL."""
    base = os.environ.get("RCA_TEST_POSTGRES_URL")
    if not base:
        return None
    name = f"rca_system_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
    subprocess.run(["psql", base, "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    head, tail = base.rsplit("/", 1)
    return f"{head}/{name}?{tail.split('?', 1)[1]}" if "?" in tail else f"{head}/{name}"


def scratch():
    return Path(tempfile.mkdtemp(prefix="rca-system-"))


class LiveListener:
    """A dashboard's WebSocket, read all the time as a browser does (which
    also answers the server's pings): records the ids of new_ticket events."""

    def __init__(self, port, token):
        self.new_tickets = set()
        self.closed = None
        self.socket = websocket.create_connection(f"ws://127.0.0.1:{port}/ws?token={token}", timeout=600)
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        try:
            while True:
                message = self.socket.recv()
                if not message:
                    break
                event = json.loads(message)
                if event.get("type") == "new_ticket":
                    self.new_tickets.add(event["ticket_id"])
        except Exception as error:
            self.closed = error
