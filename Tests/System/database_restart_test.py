"""PostgreSQL stops under a steady load of webhooks, stays away for a while,
and comes back: while it is away every webhook gets 503 with Retry-After
(never a 500, never a dropped connection, never a 202 for something not
stored), /ready says the database is unavailable, and once it is back the
server recovers by itself: webhooks are accepted again, every accepted one
is analyzed and posted to Slack once, and a dashboard still gets live
events through the PostgreSQL channel the replicas share.

The test runs its own PostgreSQL cluster (scripts/postgres-up.sh on a port of
its own) so that stopping it disturbs no other test."""
import http.client
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

from harness import (ROOT, WEBHOOK_TOKEN, Database, LiveListener, Server, adf_alert, free_port, request, scratch,
                     sign_in, wait_settled, wait_until)
from standins import Slack

OUTAGE_SECONDS = 8
SENDERS = 8


class Cluster:
    """A PostgreSQL server of this test's own, stopped and started with pg_ctl."""

    def __init__(self):
        self.port = free_port()
        self.folder = Path(f"/tmp/rca-postgres-restart-{self.port}")
        env = dict(os.environ, PG_TEST_PORT=str(self.port), PG_TEST_DIR=str(self.folder))
        started = subprocess.run([ROOT / "scripts" / "postgres-up.sh"], env=env, capture_output=True, text=True)
        assert started.returncode == 0, f"could not start PostgreSQL: {started.stderr}"
        self.url = started.stdout.strip()
        self.bin = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: int(path.parent.name))[-1]

    def pg_ctl(self, *arguments):
        command = [str(self.bin / "pg_ctl"), "-D", str(self.folder), *arguments]
        if os.getuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True)

    def stop(self):
        self.pg_ctl("-m", "fast", "-w", "stop")

    def start(self):
        self.pg_ctl("-l", str(self.folder / "server.log"), "-w", "-t", "60", "start", "-o",
                    f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.folder} -c fsync=off")

    def remove(self):
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)


class Senders:
    """Threads posting distinct alerts without pause; every answer is kept with the time it came."""

    def __init__(self, port):
        self.port = port
        self.answers = []
        self.failures = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.counter = iter(range(10**9))
        self.threads = [threading.Thread(target=self.send) for _ in range(SENDERS)]
        for thread in self.threads:
            thread.start()

    def send(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not self.stopped.is_set():
            with self.lock:
                n = next(self.counter)
            sent = time.time()
            try:
                connection.request("POST", "/azure-monitor", body=adf_alert(f"pl_restart_{n}", f"restart-run-{n}"),
                                   headers={"Content-Type": "application/json", "X-RCA-Token": WEBHOOK_TOKEN})
                response = connection.getresponse()
                body = response.read()
                answer = (time.time(), response.status, response.getheader("Retry-After"), body, f"pl_restart_{n}")
                with self.lock:
                    self.answers.append(answer)
                if response.status == 503:
                    time.sleep(0.05)
            except (OSError, http.client.HTTPException) as error:
                with self.lock:
                    self.failures.append(f"{type(error).__name__} ({error}) for the webhook sent at {sent:.1f}")
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def finish(self):
        self.stopped.set()
        for thread in self.threads:
            thread.join()


def main():
    work = scratch()
    cluster = Cluster()
    slack = Slack()
    env = {"DATABASE_URL": cluster.url, "SHARE_LIVE_EVENTS": "true", "JOB_LEASE_SECONDS": "5",
           "SLACK_BOT_TOKEN": "xoxb-system-test", "SLACK_CHANNEL": "C0SYSTEM", "SLACK_API_URL": f"{slack.url}/api",
           "SLACK_PACING_MS": "0", "NOTIFY_TIMEOUT_SECONDS": "2"}
    server = Server(work / "data", env, name="database-restart").start()
    database = Database(cluster.url)
    try:
        listener = LiveListener(server.port, sign_in(server))
        senders = Senders(server.port)
        time.sleep(3)
        cluster.stop()
        stopped_at = time.time()
        wait_until(lambda: request(server.port, "GET", "/ready")[0] == 503, 15, "/ready to report the database away")
        time.sleep(OUTAGE_SECONDS)
        cluster.start()
        started_at = time.time()
        wait_until(lambda: any(at > started_at and status == 202 for at, status, *_ in list(senders.answers)), 60,
                   "a webhook to be accepted again after PostgreSQL came back")
        time.sleep(3)
        senders.finish()

        assert not senders.failures, f"{len(senders.failures)} webhooks got no answer, e.g. {senders.failures[:3]}"
        statuses = {}
        for _, status, *_ in senders.answers:
            statuses[status] = statuses.get(status, 0) + 1
        assert set(statuses) <= {202, 503}, f"answers other than 202 and 503: {statuses}"
        refused = [answer for answer in senders.answers if answer[1] == 503]
        assert refused, "no webhook was refused while PostgreSQL was away: the outage was not seen"
        assert all(retry_after for _, _, retry_after, *_ in refused), "a 503 came without Retry-After"
        assert all("database" in json.loads(body)["error"] for _, _, _, body, _ in refused), "a 503 did not say the database is away"
        during = [status for at, status, *_ in senders.answers if stopped_at + 0.2 < at < started_at]
        assert during and set(during) == {503}, f"answers while PostgreSQL was stopped: {set(during)}"
        recovered = min(at for at, status, *_ in senders.answers if at > started_at and status == 202) - started_at

        accepted = [ticket for _, status, _, body, _ in senders.answers if status == 202 for ticket in json.loads(body)["ticket_ids"]]
        stored = {row[0] for row in database.rows("SELECT id FROM tickets")}
        missing = set(accepted) - stored
        assert not missing, f"{len(missing)} webhooks answered 202 have no ticket, e.g. {list(missing)[:3]}"
        pipelines = {row[0] for row in database.rows("SELECT pipeline FROM tickets")}
        unleased = [pipeline for *_, body, pipeline in refused if "no PostgreSQL connection could be had" in json.loads(body)["error"]]
        stored_anyway = [pipeline for pipeline in unleased if pipeline in pipelines]
        assert unleased, "no webhook waited out the connection timeout"
        assert not stored_anyway, f"{len(stored_anyway)} webhooks refused for want of a connection were stored later: {stored_anyway[:3]}"
        wait_until(lambda: request(server.port, "GET", "/ready")[0] == 200, 30, "/ready to report ready again")

        wait_settled(database, 300, "the server did not finish its work after PostgreSQL came back")
        unfinished = database.rows("SELECT id, analysis_state FROM tickets WHERE analysis_state <> 'done' LIMIT 5")
        assert not unfinished, f"tickets whose analysis did not finish: {unfinished}"
        posts = dict(slack.posts_by_ticket)
        twice = {ticket: count for ticket, count in posts.items() if count > 1}
        assert not twice, f"posted to Slack more than once: {list(twice.items())[:5]}"
        assert set(posts) == stored, f"{len(stored - set(posts))} tickets never reached Slack"

        status, answer = request(server.port, "POST", "/azure-monitor", adf_alert("pl_after_restart", "after-restart-run"),
                                 {"X-RCA-Token": WEBHOOK_TOKEN})
        assert status == 202, (status, answer)
        late = answer["ticket_ids"][0]
        wait_until(lambda: late in listener.new_tickets, 30, "the dashboard to get the live event of a ticket made after the restart")
        print(f"database restart: passed: {statuses.get(202, 0)} webhooks accepted and {len(refused)} refused with 503 and "
              f"Retry-After over an outage of {started_at - stopped_at:.1f} s; first 202 {recovered:.2f} s after PostgreSQL "
              f"was back; {len(stored)} tickets, all analyzed and each posted to Slack once; live events flow again")
    finally:
        server.stop()
        slack.close()
        cluster.remove()


if __name__ == "__main__":
    main()
