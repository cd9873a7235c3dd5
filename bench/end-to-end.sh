#!/usr/bin/env bash
# End-to-end latency at a steady rate: posts distinct Data Factory failures at
# RATE alerts a second for SECONDS to a server running web and workers (rules
# engine, Slack pointed at bench/fake_slack.py, no pacing), and measures, for
# each alert, the time from the webhook being sent to its ticket's message
# arriving at Slack (ingestion, analysis, outbox, delivery). Fails unless every
# alert produced exactly one message.
#   bench/end-to-end.sh [sqlite|postgres] [rate] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/server-helpers.sh
backend="${1:-sqlite}"
rate="${2:-100}"
seconds="${3:-60}"
token="bench-webhook-token-0123456789"

binary="$(release_binary)"
work="$(mktemp -d)"
port="$(free_port)"
start_slack_bench "$backend" bench_e2e

DATA_DIR="$work/data" DATABASE_URL="$database_url" WEBHOOK_TOKEN="$token" LOG_LEVEL="${LOG_LEVEL:-error}" ANALYSIS_ENGINE=rules \
    SLACK_BOT_TOKEN=xoxb-bench SLACK_CHANNEL=C111 SLACK_API_URL="$slack_url" SLACK_PACING_MS=0 \
    "$binary" serve --port "$port" >"$work/server.out" 2>"$work/server.err" &
server=$!
wait_ready "$port"

python3 bench/end_to_end.py "$port" "$token" "$rate" "$seconds" "http://127.0.0.1:$STANDIN_PORT" "$server"
