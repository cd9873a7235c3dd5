#!/usr/bin/env bash
# Replays a storm of alerts through the whole server with a model engine and
# counts the model calls: 1,000 alerts made of 50 distinct failures (each
# repeated 20 times with new run ids and times, in shuffled order, 8 at a
# time) must cost at most 50 calls. The model is bench/fake_model.py, an
# OpenAI-compatible stand-in that answers after MODEL_LATENCY_MS (300 ms).
# Then times the rules engine alone on the same 50 failures (rca-bench).
#   bench/analysis-cache.sh [alerts] [distinct]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/server-helpers.sh
alerts="${1:-1000}"
distinct="${2:-50}"
token="bench-webhook-token-0123456789"

binary="$(release_binary)"
swift build -c release --product rca-bench >/dev/null
work="$(mktemp -d)"
port="$(free_port)"

start_standin bench/fake_model.py "$work"
trap 'kill "$STANDIN_PID" "${server:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
model_url="http://127.0.0.1:$STANDIN_PORT"

DATA_DIR="$work/data" WEBHOOK_TOKEN="$token" LOG_LEVEL=error OPENAI_BASE_URL="$model_url/v1" OPENAI_MODEL=bench-model \
    "$binary" serve --port "$port" >"$work/server.out" 2>"$work/server.err" &
server=$!
wait_ready "$port"

python3 - "$port" "$token" "$alerts" "$distinct" "$work/data/rca.sqlite" <<'PY'
import json, random, sqlite3, sys, time, uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.request import Request, urlopen

port, token, alerts, distinct, database = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
failures = json.load(open("bench/analysis-failures.json"))[:distinct]
random.seed(7)
plan = [i % distinct for i in range(alerts)]
random.shuffle(plan)

def post(index):
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - random.randint(0, 3600)))
    body = {
        "resource": f"pipeline_{index:02d}",
        "run_id": str(uuid.uuid4()),
        "error_message": f"{failures[index]}\nRun {uuid.uuid4()} failed at {when}",
        "occurred_at": when,
    }
    request = Request(f"http://127.0.0.1:{port}/webhook/generic", data=json.dumps(body).encode(),
                      headers={"Content-Type": "application/json", "X-RCA-Token": token})
    with urlopen(request) as response:
        return response.status

start = time.time()
with ThreadPoolExecutor(8) as pool:
    statuses = list(pool.map(post, plan))
posted = time.time() - start
assert all(status == 202 for status in statuses), statuses
db = sqlite3.connect(database)
while db.execute("SELECT COUNT(*) FROM tickets WHERE analysis_state = 'pending'").fetchone()[0] > 0:
    if time.time() - start > 600:
        sys.exit("analyses did not finish within 10 minutes")
    time.sleep(0.2)
done = time.time() - start
tickets, fingerprints, recurrences, failed = db.execute(
    "SELECT COUNT(*), COUNT(DISTINCT fingerprint), COUNT(recurrence_of), SUM(analysis_state = 'failed') FROM tickets").fetchone()
print(f"alerts={alerts} distinct_failures={distinct} tickets={tickets} distinct_fingerprints={fingerprints} "
      f"recurrences={recurrences} failed={failed} posted_in={posted:.1f}s all_analyzed_in={done:.1f}s")
PY

calls="$(curl -fs "$model_url/calls" | python3 -c 'import json,sys; print(json.load(sys.stdin)["calls"])')"
hits="$(curl -fs "http://127.0.0.1:$port/metrics" | awk '/^rca_analysis_cache_hits_total/ {sum += $2} END {print sum + 0}')"
echo "model_calls=$calls cache_hits=$hits"
[ "$calls" -le "$distinct" ] || { echo "TOO MANY MODEL CALLS: $calls for $distinct distinct failures" >&2; exit 1; }

"$(dirname "$binary")/rca-bench" bench/analysis-failures.json
