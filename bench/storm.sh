#!/usr/bin/env bash
# A storm of copies of one alert: posts N copies (default 10,000) of one
# Data Factory failure (same pipeline run) to a server with Slack configured
# against bench/fake_slack.py, 16 at a time, then checks that they made one
# ticket, one analysis and one Slack message (the repeats are counted on the
# ticket, not announced).
#   bench/storm.sh [copies]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/server-helpers.sh
copies="${1:-10000}"
token="bench-webhook-token-0123456789"

binary="$(release_binary)"
work="$(mktemp -d)"
port="$(free_port)"
start_standin bench/fake_slack.py "$work"
trap 'kill "$STANDIN_PID" "${server:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
slack_url="http://127.0.0.1:$STANDIN_PORT/api"

DATA_DIR="$work/data" WEBHOOK_TOKEN="$token" LOG_LEVEL=error SLACK_BOT_TOKEN=xoxb-bench SLACK_CHANNEL=C111 SLACK_API_URL="$slack_url" \
    "$binary" serve --port "$port" >"$work/server.out" 2>"$work/server.err" &
server=$!
wait_ready "$port"

python3 - "$port" "$token" "$copies" "$work/data/rca.sqlite" "$slack_url" <<'PY'
import json, sqlite3, sys, time
from concurrent.futures import ThreadPoolExecutor
from urllib.request import Request, urlopen

port, token, copies, database, slack = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
body = open("bench/adf-alert.json", "rb").read()

def post(_):
    request = Request(f"http://127.0.0.1:{port}/azure-monitor", data=body, headers={"Content-Type": "application/json", "X-RCA-Token": token})
    started = time.perf_counter()
    with urlopen(request) as response:
        return response.status, time.perf_counter() - started

start = time.time()
with ThreadPoolExecutor(16) as pool:
    results = list(pool.map(post, range(copies)))
elapsed = time.time() - start
assert all(status == 202 for status, _ in results), {status for status, _ in results}
latencies = sorted(seconds for _, seconds in results)
db = sqlite3.connect(database)
deadline = time.time() + 120
while time.time() < deadline:
    pending = db.execute("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')").fetchone()[0]
    if pending == 0:
        break
    time.sleep(0.2)
time.sleep(1)
tickets, occurrences = db.execute("SELECT COUNT(*), MAX(occurrence_count) FROM tickets").fetchone()
analyses = db.execute("SELECT COUNT(*) FROM jobs WHERE kind = 'analyze'").fetchone()[0]
notifications = db.execute("SELECT COUNT(*) FROM jobs WHERE kind = 'notify'").fetchone()[0]
counts = json.load(urlopen(slack.rsplit("/", 1)[0] + "/counts"))
print(f"copies={copies} accepted={len(results)} posted_in={elapsed:.1f}s rate={copies / elapsed:.0f}/s "
      f"p50={latencies[len(latencies) // 2] * 1000:.1f}ms p99={latencies[int(len(latencies) * 0.99)] * 1000:.1f}ms "
      f"tickets={tickets} occurrence_count={occurrences} analyze_jobs={analyses} notify_jobs={notifications} "
      f"slack_posts={counts['chat.postMessage']} slack_updates={counts['chat.update']}")
assert tickets == 1 and analyses == 1 and counts["chat.postMessage"] == 1, "the storm was not folded into one ticket, one analysis, one message"
assert occurrences == copies
PY
