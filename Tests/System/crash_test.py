"""kill -9 in the middle of a load of webhooks, analyses and Slack posts,
then a restart on the same data: every webhook answered 202 has its ticket,
every ticket reaches analysis done, and no ticket is posted to Slack twice.

The kill comes while a Slack post is in flight: the stand-in holds one post
for two seconds and the process dies meanwhile, so that post reaches Slack
but is never recorded, and the restarted server must find it in the
channel's history and edit it instead of posting again."""
import sys
import threading
import time

from harness import Database, Server, adf_alert, fresh_postgres_database, post_webhook, scratch, wait_settled
from standins import Slack


class SlowSlack(Slack):
    """Once armed, holds the next post for two seconds and signals `in_flight` as it starts."""

    def __init__(self):
        super().__init__()
        self.armed = threading.Event()
        self.in_flight = threading.Event()

    def handle(self, method, url, headers, body):
        if url.path.endswith("chat.postMessage") and self.armed.is_set():
            self.armed.clear()
            self.in_flight.set()
            time.sleep(2)
        return super().handle(method, url, headers, body)


def load(server, prefix, stop, accepted, workers=16):
    """Posts distinct alerts from several threads until `stop` is set; keeps the ticket ids of every 202."""
    counter = iter(range(10**9))
    lock = threading.Lock()

    def worker():
        while not stop.is_set():
            with lock:
                n = next(counter)
            try:
                status, answer = post_webhook(server.port, "/azure-monitor", adf_alert(f"pl_{prefix}_{n}", f"{prefix}-run-{n}"))
            except OSError:
                continue
            if status == 202:
                with lock:
                    accepted.extend(answer["ticket_ids"])

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    return threads


def main(backend):
    work = scratch()
    slack = SlowSlack()
    env = {"SLACK_BOT_TOKEN": "xoxb-system-test", "SLACK_CHANNEL": "C0SYSTEM", "SLACK_API_URL": f"{slack.url}/api",
           "SLACK_PACING_MS": "0", "JOB_LEASE_SECONDS": "5", "NOTIFY_TIMEOUT_SECONDS": "2"}
    if backend == "postgres":
        url = fresh_postgres_database()
        if url is None:
            raise SystemExit("crash test: RCA_TEST_POSTGRES_URL is not set")
        env["DATABASE_URL"] = url
    else:
        url = f"sqlite://{work / 'data' / 'rca.sqlite'}"
    server = Server(work / "data", env, name=f"crash-{backend}").start()
    try:
        accepted = []
        stop = threading.Event()
        threads = load(server, "crash", stop, accepted)
        time.sleep(4)
        slack.armed.set()
        assert slack.in_flight.wait(120), "no Slack post was made under load"
        server.kill()
        stop.set()
        for thread in threads:
            thread.join()
        before = len(accepted)
        posted_before = sum(slack.posts_by_ticket.values())
        print(f"crash ({backend}): killed with -9 after {before} webhooks were accepted and {posted_before} Slack posts made")

        server.start()
        database = Database(url)
        pending_after_restart = database.scalar("SELECT COUNT(*) FROM tickets WHERE analysis_state = 'pending'")
        missing = [ticket for ticket in set(accepted) if database.scalar(f"SELECT COUNT(*) FROM tickets WHERE id = '{ticket}'") != 1]
        assert not missing, f"{len(missing)} accepted webhooks have no ticket after the crash, e.g. {missing[:3]}"

        wait_settled(database, 300, "the restarted server did not finish the work the crash interrupted")
        unfinished = database.rows("SELECT id, analysis_state, analysis_error FROM tickets WHERE analysis_state <> 'done' LIMIT 5")
        assert not unfinished, f"tickets whose analysis did not finish after the crash: {unfinished}"
        tickets = {row[0] for row in database.rows("SELECT id FROM tickets")}
        posts = dict(slack.posts_by_ticket)
        twice = {ticket: count for ticket, count in posts.items() if count > 1}
        assert not twice, f"posted to Slack more than once after the crash: {list(twice.items())[:5]}"
        assert set(posts) == tickets, f"{len(tickets - set(posts))} tickets never reached Slack"
        found = database.scalar("SELECT COUNT(*) FROM audit_trail WHERE action = 'Slack Message Updated'")
        assert found >= 1, "the post in flight at the kill was not found and edited after the restart"
        print(f"crash ({backend}): passed: {len(tickets)} tickets ({pending_after_restart} still to analyze at restart), "
              f"all analyzed, each posted to Slack once ({found} post in flight at the kill found in the history and edited)")
    finally:
        server.stop()
        slack.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "sqlite")
