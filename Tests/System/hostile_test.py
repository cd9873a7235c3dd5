"""Hostile senders against a real server: a client that stalls mid-request
or before finishing its request head,
a guesser of the webhook token, bodies nested a hundred thousand deep,
megabyte error texts built to make pattern matching slow.
The server must answer each with a clear 4xx or close the connection, keep
serving everyone else, and keep a quiet dashboard's WebSocket open."""
import json
import socket
import time

from harness import WEBHOOK_TOKEN, LiveListener, Server, adf_alert, post_webhook, request, scratch, sign_in, wait_until

IDLE_SECONDS = 2
GUESS_LIMIT = 5


def stalled_client_is_closed(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=IDLE_SECONDS * 5) as stalled:
        stalled.sendall(b"POST /azure-monitor HTTP/1.1\r\nHost: 127.0.0.1\r\nX-RCA-Token: " + WEBHOOK_TOKEN.encode() + b"\r\nContent-Length: 5000\r\n\r\n{\"schemaId\": ")
        started = time.time()
        others = post_webhook(server.port, "/azure-monitor", adf_alert("pl_while_stalled", "stalled-run-1"))
        assert others[0] == 202, f"another sender was not served while one stalled: {others}"
        try:
            closed = stalled.recv(4096) == b""
        except ConnectionResetError:
            closed = True
        waited = time.time() - started
    assert closed, "a stalled request was answered instead of closed"
    assert waited < IDLE_SECONDS * 3, f"a stalled request held its connection for {waited:.1f} s"
    print(f"hostile: a request stalled in its body was closed after {waited:.1f} s; others were served meanwhile")


def quiet_dashboard_stays_connected(server, token):
    listener = LiveListener(server.port, token)
    time.sleep(IDLE_SECONDS * 3)
    status, answer = post_webhook(server.port, "/azure-monitor", adf_alert("pl_quiet_dashboard", "quiet-run-1"))
    assert status == 202, answer
    wait_until(lambda: set(answer["ticket_ids"]) <= listener.new_tickets or listener.closed, 10, "the quiet dashboard's event")
    assert listener.closed is None, f"the quiet dashboard was disconnected: {listener.closed}"
    listener.socket.close()
    print(f"hostile: a dashboard that sent nothing but pongs for {IDLE_SECONDS * 3} s (idle timeout {IDLE_SECONDS} s) stayed connected and got the next ticket")


def token_guessing_is_refused(server):
    body = adf_alert("pl_guessing", "guess-run-1")
    answers = [request(server.port, "POST", "/azure-monitor", body, {"X-RCA-Token": f"guess-{n:04d}-0123456789"})[0] for n in range(GUESS_LIMIT)]
    assert answers == [401] * GUESS_LIMIT, answers
    status, answer = request(server.port, "POST", "/azure-monitor", body, {"X-RCA-Token": "guess-final-0123456789"})
    assert status == 429 and "wrong webhook token" in answer["error"], (status, answer)
    status, answer = post_webhook(server.port, "/azure-monitor", body)
    assert status == 202, f"a sender with the right token must not be refused for a guesser's tries: {status} {answer}"
    status, _ = request(server.port, "POST", "/azure-monitor", body, {"X-RCA-Token": "guess-after-0123456789"})
    assert status == 429, status
    print(f"hostile: after {GUESS_LIMIT} wrong tokens the address's wrong tokens got 429, while the right token was still accepted")


def megabyte_errors_are_analysed(server, token):
    """Texts that made the old patterns backtrack from every position (20 KB
    of `a.a.…` took 13 s) are analysed within seconds at a megabyte."""
    shapes = {"dots": "a." * 512 * 1024, "dashes": "a-" * 512 * 1024, "words": "KeyError: Cluster " * 58_000}
    tickets = {}
    started = time.time()
    for name, text in shapes.items():
        status, answer = post_webhook(server.port, "/webhook/generic", json.dumps({"resource": f"pl_megabyte_{name}", "error_message": text}).encode())
        assert status == 202, (status, str(answer)[:200])
        tickets[name] = answer["ticket_ids"][0]

    def analysed():
        states = [request(server.port, "GET", f"/api/tickets/{ticket}", headers={"Authorization": f"Bearer {token}"})[1] for ticket in tickets.values()]
        return all(state["ticket"]["analysis_state"] != "pending" for state in states)
    wait_until(analysed, 30, "the megabyte errors' analyses")
    print(f"hostile: {len(shapes)} one-megabyte error texts built against backtracking were analysed {time.time() - started:.1f} s after the first was posted")


def deep_nesting_is_refused(server):
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000):
        status, answer = post_webhook(server.port, "/webhook/generic", body)
        assert 400 <= status < 500, (status, str(answer)[:200])
    status, answer = post_webhook(server.port, "/webhook/generic", json.dumps({"resource": "pl_after_nesting", "error_message": "still serving"}).encode())
    assert status == 202, (status, answer)
    print("hostile: bodies nested 100,000 deep got 4xx and were kept; the server went on serving")


def stalled_head_is_closed(server):
    """Connecting and sending nothing, or only part of a request head (a
    slowloris client trickling header bytes), does not hold a connection
    past the timeout; a head sent slowly but whole in time is served."""
    for label, first_bytes in [("sent nothing", b""), ("sent half a request head", b"POST /azure-monitor HTTP/1.1\r\nHost: 127.0.0.1\r\n")]:
        with socket.create_connection(("127.0.0.1", server.port), timeout=IDLE_SECONDS * 5) as stalled:
            stalled.sendall(first_bytes)
            started = time.time()
            try:
                closed = stalled.recv(4096) == b""
            except socket.timeout:
                closed = False
            waited = time.time() - started
        assert closed, f"a connection that {label} was answered or left open"
        assert waited < IDLE_SECONDS * 3, f"a connection that {label} was held for {waited:.1f} s"
        print(f"hostile: a connection that {label} was closed after {waited:.1f} s")
    body = json.dumps({"resource": "pl_slow_head", "error_message": "sent slowly"}).encode()
    head = (f"POST /webhook/generic HTTP/1.1\r\nHost: 127.0.0.1\r\nX-RCA-Token: {WEBHOOK_TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=IDLE_SECONDS * 5) as slow:
        for start in range(0, len(head), len(head) // 4 + 1):
            slow.sendall(head[start:start + len(head) // 4 + 1])
            time.sleep(IDLE_SECONDS / 8)
        slow.sendall(body)
        answer = b""
        while chunk := slow.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 202"), answer[:200]
    print("hostile: a request head sent in pieces within the timeout was served")


def main():
    work = scratch()
    server = Server(work / "data", {"IDLE_TIMEOUT_SECONDS": str(IDLE_SECONDS), "WEBHOOK_GUESS_LIMIT": str(GUESS_LIMIT), "MAX_BODY_BYTES": str(4 << 20)},
                    name="hostile").start()
    try:
        token = sign_in(server)
        stalled_client_is_closed(server)
        stalled_head_is_closed(server)
        quiet_dashboard_stays_connected(server, token)
        deep_nesting_is_refused(server)
        megabyte_errors_are_analysed(server, token)
        token_guessing_is_refused(server)
        assert server.process.poll() is None, "the server died"
    finally:
        server.stop()


if __name__ == "__main__":
    main()
