#!/usr/bin/env bash
# Times the dashboard's list pages with many stored tickets: fills a fresh
# database with N tickets (default 1,000,000; 70 % resolved, 10 % acknowledged,
# 10 % open, 10 % in progress, four priorities, a year of first-seen times) by SQL,
# starts the release server on it, signs in, and times each page request
# (first pages of every tab and sort, following next_cursor 20 pages deep,
# a search) over one kept-alive connection: median and p99 of 200 requests
# each; then the summary (its counters recounted by rebuild-counters after the
# fill): the first request, 200 more, from 10 dashboards at once after its
# reuse window, and once more at once; and the server's peak RSS.
#   bench/list-page.sh [sqlite|postgres] [tickets]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/server-helpers.sh
backend="${1:-sqlite}"
tickets="${2:-1000000}"
password="bench list password 42"

binary="$(release_binary)"
work="$(mktemp -d)"
port="$(free_port)"
export DATA_DIR="$work/data" WEBHOOK_TOKEN="bench-webhook-token-0123456789" LOG_LEVEL=error SLA_CHECK_SECONDS=3600

database_url=""
[ "$backend" = postgres ] && create_bench_database bench_list
export DATABASE_URL="$database_url"
"$binary" migrate >/dev/null

columns="id, timestamp, pipeline, run_id, status, priority, severity, error_type, rca_result, sla_status, source, dedup_key, first_seen, last_seen, analysis_state, updated_at"
values="'BENCH-' || g, ts, 'pl_sales_' || (g % 500), 'run-' || g,
    CASE WHEN g % 10 < 7 THEN 'resolved' WHEN g % 10 < 8 THEN 'acknowledged' WHEN g % 10 < 9 THEN 'open' ELSE 'in_progress' END,
    'P' || (1 + g % 4), 'High', 'KeyError', 'A column the job reads is missing from its input', 'Pending', 'generic',
    'bench:' || g, ts, ts, 'done', ts"
started=$(date +%s)
if [ "$backend" = postgres ]; then
    psql "${admin_url%/rca*}/$database" -qc "
        INSERT INTO tickets ($columns)
        SELECT $values FROM (
            SELECT g, to_char(timestamp '2025-11-30' + g * interval '30 seconds', 'YYYY-MM-DD\"T\"HH24:MI:SS.000\"Z\"') AS ts
            FROM generate_series(1, $tickets) g) s;
        ANALYZE tickets;"
else
    python3 - "$work/data/rca.sqlite" "$tickets" "$columns" "$values" <<'PY'
import sqlite3, sys
path, count, columns, values = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
db = sqlite3.connect(path)
db.execute(f"""
    WITH RECURSIVE seq(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM seq WHERE g < {count})
    INSERT INTO tickets ({columns})
    SELECT {values} FROM (SELECT g, strftime('%Y-%m-%dT%H:%M:%S.000Z', '2025-11-30', '+' || (g * 30) || ' seconds') AS ts FROM seq)""")
db.commit()
db.execute("ANALYZE")
db.commit()
PY
fi
echo "filled $tickets tickets in $(( $(date +%s) - started )) s"
"$binary" rebuild-counters

echo "$password" | "$binary" user add bench@example.com --role viewer --password-stdin >/dev/null
"$binary" serve --port "$port" >"$work/server.out" 2>"$work/server.err" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"; [ -z "${database:-}" ] || psql "${admin_url%%\?*}" -qc "DROP DATABASE IF EXISTS $database" >/dev/null' EXIT
wait_ready "$port"

python3 - "$port" "$password" <<'PY'
import concurrent.futures, http.client, json, statistics, sys, time
port, password = int(sys.argv[1]), sys.argv[2]
connection = http.client.HTTPConnection("127.0.0.1", port)

def call(method, path, body=None, headers={}):
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    assert response.status == 200, (path, response.status, data[:200])
    return json.loads(data)

token = call("POST", "/api/login", json.dumps({"email": "bench@example.com", "password": password}), {"Content-Type": "application/json"})["token"]
auth = {"Authorization": f"Bearer {token}"}

def timed(path, rounds=200):
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        answer = call("GET", path, headers=auth)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return answer, statistics.median(samples), samples[int(len(samples) * 0.99) - 1]

def report(name, path, rounds=200):
    answer, median, p99 = timed(path, rounds)
    print(f"{name:<48} median {median:7.2f} ms   p99 {p99:7.2f} ms")
    return answer

for tab in ("open-tickets", "in-progress-tickets", "closed-tickets", "all-tickets"):
    for sort in ("priority", "newest", "oldest"):
        report(f"/api/{tab} sort={sort} limit=50", f"/api/{tab}?limit=50&sort={sort}")
cursor, path = None, "/api/closed-tickets?limit=50&sort=newest"
for page in range(20):
    answer = call("GET", path + (f"&cursor={cursor}" if cursor else ""), headers=auth)
    cursor = answer["next_cursor"]
report("/api/closed-tickets newest, page 21", f"{path}&cursor={cursor}")
report("/api/open-tickets q=pl_sales_42 limit=50", "/api/open-tickets?limit=50&q=pl_sales_42", rounds=20)

def summary_once():
    other = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    other.request("GET", "/api/summary", headers=auth)
    response = other.getresponse()
    response.read()
    assert response.status == 200, response.status
    return (time.perf_counter() - started) * 1000

first = summary_once()
print(f"{'/api/summary, first request':<48} {first:9.1f} ms")
report("/api/summary", "/api/summary")
time.sleep(min(first * 4 / 1000, 30) + 1)
with concurrent.futures.ThreadPoolExecutor(10) as pool:
    times = sorted(pool.map(lambda _: summary_once(), range(10)))
print(f"{'/api/summary, 10 dashboards at once':<48} median {statistics.median(times):7.0f} ms   slowest {times[-1]:7.0f} ms")
print(f"{'/api/summary, asked again at once':<48} {summary_once():9.0f} ms")
PY
echo "backend=$backend tickets=$tickets peak_rss_mib=$(( $(awk '/VmHWM/ {print $2}' "/proc/$server/status") / 1024 ))"
