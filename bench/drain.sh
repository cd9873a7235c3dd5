#!/usr/bin/env bash
# Worker capacity, apart from the load generator: a web-only server stores
# ALERTS distinct Data Factory failures (their analysis jobs queued), stops,
# and a worker-only server (rules engine, Slack pointed at
# bench/fake_slack.py) then analyzes and notifies them all. Reports the
# alerts per second the worker carried and the CPU each alert cost: the
# worker process's own, and the whole machine's (server, database and the
# Slack stand-in) over the drain.
#   bench/drain.sh [sqlite|postgres] [alerts]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/server-helpers.sh
backend="${1:-sqlite}"
alerts="${2:-3000}"
token="bench-webhook-token-0123456789"

binary="$(release_binary)"
work="$(mktemp -d)"
start_slack_bench "$backend" bench_drain

serve() {
    local role="$1" port="$2"
    DATA_DIR="$work/data" DATABASE_URL="$database_url" WEBHOOK_TOKEN="$token" LOG_LEVEL="${LOG_LEVEL:-error}" LOG_FORMAT="${LOG_FORMAT:-text}" ROLE="$role" \
        ANALYSIS_ENGINE=rules SLACK_BOT_TOKEN=xoxb-bench SLACK_CHANNEL=C111 SLACK_API_URL="$slack_url" SLACK_PACING_MS=0 \
        "$binary" serve --port "$port" >>"$work/server.out" 2>>"$work/server.err" &
    server=$!
    wait_ready "$port"
}

port="$(free_port)"
serve web "$port"
python3 - "$port" "$token" "$alerts" <<'PY'
import sys, time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, "bench")
import alerts

port, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
run = f"drain-{int(time.time())}"
with ThreadPoolExecutor(16) as pool:
    list(pool.map(lambda number: alerts.post(port, token, run, number), range(count)))
PY
kill -TERM "$server"
wait "$server" || true

port="$(free_port)"
serve worker "$port"
python3 - "$server" "$alerts" "$slack_url" <<'PY'
import json, os, sys, time
from urllib.request import urlopen

server, alerts, slack = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ticks = os.sysconf("SC_CLK_TCK")

def process_cpu():
    fields = open(f"/proc/{server}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks

def machine_busy():
    values = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / ticks

start, cpu_start, busy_start = time.time(), process_cpu(), machine_busy()
deadline = start + 600
while True:
    posted = len(json.load(urlopen(f"{slack}/posted")))
    if posted >= alerts or time.time() > deadline:
        break
    time.sleep(0.05)
elapsed = time.time() - start
cpu, busy = process_cpu() - cpu_start, machine_busy() - busy_start
print(f"alerts={alerts} slack_posts={posted} drained_in={elapsed:.1f}s rate={posted / elapsed:.1f}/s "
      f"worker_cpu_per_alert={cpu / posted * 1000:.2f}ms machine_cpu_per_alert={busy / posted * 1000:.2f}ms")
assert posted == alerts, "not every alert reached Slack"
PY
