"""Three replicas on one PostgreSQL: 20,000 webhooks spread over them, 30 %
of them repeats of earlier ones. Every distinct alert must end as one
ticket, analyzed once and posted to Slack once, and a dashboard connected to
the first replica must see the tickets the third one ingested."""
import random
import sys
import time

from harness import Database, LiveListener, Server, adf_alert, fresh_postgres_database, scratch, send_all, sign_in, wait_settled, wait_until
from standins import Slack

WEBHOOKS = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
DISTINCT = int(WEBHOOKS * 0.7)


def main():
    url = fresh_postgres_database()
    if url is None:
        raise SystemExit("replicas test: RCA_TEST_POSTGRES_URL is not set")
    work = scratch()
    slack = Slack()
    env = {
        "DATABASE_URL": url, "SHARE_LIVE_EVENTS": "true", "SLACK_BOT_TOKEN": "xoxb-system-test", "SLACK_CHANNEL": "C0SYSTEM",
        "SLACK_API_URL": f"{slack.url}/api", "SLACK_PACING_MS": "0",
    }
    replicas = [Server(work / f"replica{n}", env, name=f"replica{n}").start() for n in (1, 2, 3)]
    try:
        listener = LiveListener(replicas[0].port, sign_in(replicas[0]))
        random.seed(7)
        alerts = [(f"pl_replica_{n}", f"replica-run-{n}") for n in range(DISTINCT)]
        sends = alerts + [random.choice(alerts) for _ in range(WEBHOOKS - DISTINCT)]
        random.shuffle(sends)
        targets = [(replicas[k % 3].port, "/azure-monitor", adf_alert(*alert)) for k, alert in enumerate(sends)]
        started = time.time()
        answers = send_all(targets)
        elapsed = time.time() - started
        statuses = {}
        for status, _ in answers:
            statuses[status] = statuses.get(status, 0) + 1
        assert statuses == {202: WEBHOOKS}, statuses
        print(f"replicas: {WEBHOOKS} webhooks ({DISTINCT} distinct) accepted by 3 replicas in {elapsed:.1f} s ({WEBHOOKS / elapsed:.0f}/s)")
        from_third = {ticket for k, (_, answer) in enumerate(answers) if k % 3 == 2 for ticket in answer["ticket_ids"]}

        database = Database(url)
        tickets = database.scalar("SELECT COUNT(*) FROM tickets")
        assert tickets == DISTINCT, f"{tickets} tickets for {DISTINCT} distinct alerts"
        occurrences = database.scalar("SELECT SUM(occurrence_count) FROM tickets")
        assert occurrences == WEBHOOKS, f"occurrences add up to {occurrences}, not {WEBHOOKS}"

        wait_settled(database, 2400, "the replicas did not finish analyzing and notifying")
        print(f"replicas: analyzed and notified in {time.time() - started:.1f} s after the first webhook")
        failed = database.rows("SELECT kind, last_error FROM jobs WHERE state <> 'done' LIMIT 5")
        assert not failed, f"jobs that did not succeed: {failed}"
        twice = database.rows("SELECT ticket_id, COUNT(*) FROM audit_trail WHERE action = 'RCA Generated' GROUP BY ticket_id HAVING COUNT(*) <> 1 LIMIT 5")
        assert not twice, f"tickets analyzed more than once: {twice}"
        analyzed = database.scalar("SELECT COUNT(DISTINCT ticket_id) FROM audit_trail WHERE action = 'RCA Generated'")
        assert analyzed == DISTINCT, f"{analyzed} tickets analyzed of {DISTINCT}"
        ticket_ids = {row[0] for row in database.rows("SELECT id FROM tickets")}
        posts = dict(slack.posts_by_ticket)
        assert set(posts) == ticket_ids, f"Slack posts for {len(posts)} tickets of {len(ticket_ids)}"
        repeated = {ticket: count for ticket, count in posts.items() if count != 1}
        assert not repeated, f"tickets posted to Slack more than once: {list(repeated.items())[:5]}"

        wait_until(lambda: from_third <= listener.new_tickets or listener.closed, 60, "live events from the third replica")
        assert listener.closed is None, f"the dashboard's connection to replica 1 closed: {listener.closed}"
        assert from_third <= listener.new_tickets, f"{len(from_third - listener.new_tickets)} tickets of replica 3 never reached replica 1's dashboard"
        print(f"replicas: passed: {DISTINCT} tickets, each analyzed once and posted once; replica 1's dashboard saw all "
              f"{len(from_third)} tickets replica 3 created")
    finally:
        for replica in replicas:
            replica.stop()
        slack.close()


if __name__ == "__main__":
    main()
