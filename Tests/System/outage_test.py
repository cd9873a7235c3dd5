"""Slack, Jira, the model endpoint and Databricks go down (500, 429 with
Retry-After, or no answer at all) while alerts keep arriving, and stay down
until each has refused calls for a while, then recover.
Ingestion must keep its rate meanwhile, and afterwards every ticket must be
analyzed and posted to Slack and Jira exactly once."""
import json
import time

from harness import FIXTURES, Database, Server, adf_alert, letters, scratch, send_all, wait_settled, wait_until
from standins import Databricks, Jira, OpenAIModel, Slack

BATCH = 600


def databricks_failure(n):
    return json.dumps({"event_type": "jobs.on_failure", "workspace_id": "1234567890123456",
                       "run": {"run_id": 900000 + n}, "job": {"job_id": 7000 + n, "name": f"job_outage_{n}"}}).encode()


def batch(port, prefix):
    targets = []
    for n in range(BATCH):
        if n % 4 == 0:
            targets.append((port, "/databricks-monitor", databricks_failure(["before", "during", "after"].index(prefix) * 10000 + n)))
        else:
            targets.append((port, "/azure-monitor", adf_alert(f"pl_{prefix}_{n}", f"{prefix}-run-{n}", folder=f"{prefix}{letters(n)}")))
    started = time.time()
    answers = send_all(targets, workers=16)
    elapsed = time.time() - started
    statuses = {status for status, _ in answers}
    assert statuses == {202}, f"{prefix}: answers {statuses}"
    return BATCH / elapsed


def main():
    work = scratch()
    slack, jira, model = Slack(), Jira(), OpenAIModel()
    databricks = Databricks(json.loads((FIXTURES / "databricks" / "jobs-2.1-runs-get.response.json").read_text()),
                            json.loads((FIXTURES / "databricks" / "jobs-2.1-runs-get-output.response.json").read_text()))
    services = [slack, jira, model, databricks]
    env = {
        "SLACK_BOT_TOKEN": "xoxb-system-test", "SLACK_CHANNEL": "C0SYSTEM", "SLACK_API_URL": f"{slack.url}/api", "SLACK_PACING_MS": "0",
        "JIRA_DOMAIN": jira.url, "JIRA_USER_EMAIL": "rca@example.com", "JIRA_API_TOKEN": "jira-system-test-token", "JIRA_PROJECT_KEY": "OPS",
        "ANALYSIS_ENGINE": "openai", "OPENAI_BASE_URL": model.url, "OPENAI_MODEL": "stand-in", "MODEL_TIMEOUT_SECONDS": "2",
        "MODEL_DAILY_CALL_LIMIT": "0", "MODEL_DAILY_TOKEN_LIMIT": "0",
        "DATABRICKS_HOST": databricks.url, "DATABRICKS_TOKEN": "dapi-system-test", "ENRICHMENT_TIMEOUT_SECONDS": "2",
        "NOTIFY_TIMEOUT_SECONDS": "2", "JOB_MAX_ATTEMPTS": "12", "WORKER_CONCURRENCY": "16",
    }
    server = Server(work / "data", env, name="outage").start()
    database = Database(f"sqlite://{work / 'data' / 'rca.sqlite'}")
    try:
        before = batch(server.port, "before")
        wait_settled(database, 600, "the server did not catch up with its work")
        slack.outage("hang")
        jira.outage("500")
        model.outage("429")
        databricks.outage("500")
        during = batch(server.port, "during")
        wait_until(lambda: all(service.refused for service in services), 300, "every service to be called during its outage")
        time.sleep(5)
        refused = {service.name: service.refused for service in services}
        for service in services:
            service.recover()
        after = batch(server.port, "after")
        print(f"outage: accepted {before:.0f}/s before, {during:.0f}/s during the outage, {after:.0f}/s after; "
              f"calls refused meanwhile: {refused}")
        assert during >= before * 0.5, f"ingestion slowed from {before:.0f}/s to {during:.0f}/s during the outage"

        wait_settled(database, 600, "the server did not catch up with its work")
        failed = database.rows("SELECT kind, last_error FROM jobs WHERE state = 'failed' LIMIT 5")
        assert not failed, f"jobs given up: {failed}"
        tickets = {row[0] for row in database.rows("SELECT id FROM tickets WHERE recurrence_of IS NULL")}
        assert len(tickets) == 3 * BATCH, f"{len(tickets)} tickets for {3 * BATCH} distinct alerts"
        assert database.scalar("SELECT COUNT(*) FROM tickets WHERE analysis_state <> 'done'") == 0
        slack_posts = dict(slack.posts_by_ticket)
        assert set(slack_posts) == tickets and set(slack_posts.values()) == {1}, \
            f"Slack: {len(tickets - set(slack_posts))} tickets missing, {sum(1 for c in slack_posts.values() if c > 1)} posted twice"
        jira_creates = {label: count for label, count in jira.creates_by_label.items() if label != "rca-assistant"}
        assert set(jira_creates) == {f"rca-{ticket.lower()}" for ticket in tickets} and set(jira_creates.values()) == {1}, \
            f"Jira: {len(jira_creates)} labels for {len(tickets)} tickets, counts {set(jira_creates.values())}"
        fallbacks = database.scalar("SELECT COUNT(*) FROM audit_trail WHERE action = 'RCA Fallback'")
        enrichment_failures = database.scalar("SELECT COUNT(*) FROM audit_trail WHERE action = 'Enrichment Failed'")
        print(f"outage: passed: {len(tickets)} tickets analyzed, each posted to Slack once and opened in Jira once; "
              f"{fallbacks} analyses fell back to the rules engine and {enrichment_failures} went on without Databricks while they were down")
    finally:
        server.stop()
        for service in services:
            service.close()


if __name__ == "__main__":
    main()
