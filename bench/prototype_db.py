"""Writes a database in the Python prototype's schema (the seed's tables) with
TICKETS tickets, four audit lines each and twenty accounts, for
bench/import-prototype.sh.
    python3 bench/prototype_db.py PATH TICKETS"""
import datetime
import sqlite3
import sys
import uuid

SCHEMA = """
CREATE TABLE tickets (id TEXT PRIMARY KEY, timestamp TEXT, pipeline TEXT, run_id TEXT, rca_result TEXT, recommendations TEXT,
    confidence TEXT, severity TEXT, priority TEXT, error_type TEXT, affected_entity TEXT, status TEXT, ack_user TEXT, ack_empid TEXT,
    ack_ts TEXT, ack_seconds INTEGER, sla_seconds INTEGER, sla_status TEXT, slack_ts TEXT, slack_channel TEXT, finops_team TEXT,
    finops_owner TEXT, finops_cost_center TEXT, blob_log_url TEXT, itsm_ticket_id TEXT, logic_app_run_id TEXT, processing_mode TEXT);
CREATE UNIQUE INDEX idx_tickets_run_id ON tickets(run_id) WHERE run_id IS NOT NULL;
CREATE TABLE audit_trail (id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp TEXT NOT NULL, ticket_id TEXT NOT NULL, pipeline TEXT,
    run_id TEXT, action TEXT NOT NULL, user_name TEXT, user_empid TEXT, time_taken_seconds INTEGER, mttr_minutes REAL,
    sla_status TEXT, rca_summary TEXT, finops_team TEXT, finops_owner TEXT, details TEXT, itsm_ticket_id TEXT);
CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT UNIQUE NOT NULL, password_hash TEXT NOT NULL, full_name TEXT,
    created_at TEXT NOT NULL, last_login TEXT);
"""
# bcrypt of "old-prototype-password", as Python's bcrypt writes it.
HASH = "$2b$12$PG12o2ujYgAPUA04cWdD6eXtGdVy8fjNMqNPRKtQe9qaQvIurRVfK"


def main(path, count):
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    start = datetime.datetime(2025, 6, 1)
    for index in range(count):
        when = start + datetime.timedelta(minutes=17 * index)
        ticket = f"ADF-{when:%Y%m%dT%H%M%S}-{index:06x}"
        closed = index % 10 != 0
        acked = (when + datetime.timedelta(minutes=20)).isoformat() if closed else None
        db.execute(
            "INSERT INTO tickets (id, timestamp, pipeline, run_id, rca_result, recommendations, severity, priority, status, sla_seconds,"
            " sla_status, ack_user, ack_ts, ack_seconds, slack_ts, slack_channel, itsm_ticket_id, finops_team)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (ticket, when.isoformat(), f"pl_{index % 40}", str(uuid.uuid4()), "The source blob is missing", '["Check the upstream export"]',
             "High", "P2", "acknowledged" if closed else "open", 3600, "Met" if closed else "Pending",
             "ana@company.com" if closed else None, acked, 1200 if closed else None, f"1700000000.{index:06d}", "C0RCA",
             f"OPS-{index + 1}", "DataEngineering"))
        for action in ("Ticket Created", "Jira Ticket Created", "Slack Notification Sent", "Ticket Closed"):
            db.execute("INSERT INTO audit_trail (timestamp, ticket_id, action, details) VALUES (?,?,?,?)",
                       (when.isoformat(sep=" ")[:19], ticket, action, "bench"))
    for index in range(20):
        db.execute("INSERT INTO users (email, password_hash, created_at) VALUES (?,?,?)", (f"user{index}@company.com", HASH, "2025-01-01T00:00:00"))
    db.commit()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
