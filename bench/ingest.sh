#!/usr/bin/env bash
# Measures webhook ingestion with wrk: accepted webhooks per second, latency
# percentiles and peak memory, then checks in the database that every 202 has
# its ticket. The server runs as ROLE=web (ingestion only, no workers), with a
# fresh database.
#   bench/ingest.sh [sqlite|postgres] [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/server-helpers.sh
backend="${1:-sqlite}"
seconds="${2:-10}"
connections="${3:-32}"
token="bench-webhook-token-0123456789"

command -v wrk >/dev/null || { echo "ingest.sh: wrk is needed (apt-get install -y wrk)" >&2; exit 1; }
binary="$(release_binary)"
work="$(mktemp -d)"
port="$(free_port)"

database_url=""
[ "$backend" = postgres ] && create_bench_database bench

DATA_DIR="$work/data" WEBHOOK_TOKEN="$token" LOG_LEVEL=${LOG_LEVEL:-error} ROLE=web DATABASE_URL="$database_url" \
    "$binary" serve --port "$port" >"$work/server.out" 2>"$work/server.err" &
server=$!
trap 'kill "$server" 2>/dev/null || true; [ -n "${KEEP_LOG:-}" ] && cp "$work/server.err" "$KEEP_LOG"; rm -rf "$work"' EXIT
wait_ready "$port"

DUPLICATE_EVERY="${DUPLICATE_EVERY:-0}" ALERT_TEMPLATE="$PWD/bench/adf-alert.json" wrk -t2 -c"$connections" -d"${seconds}s" --latency \
    -s bench/unique-adf.lua "http://127.0.0.1:$port/azure-monitor?token=$token" | tee "$work/wrk.txt"

sleep 1
accepted="$(curl -fs "http://127.0.0.1:$port/metrics" | awk '/^rca_http_requests_total\{route="\/azure-monitor",method="POST",status="202"\}/ {print $2}')"
peak_rss_kib="$(awk '/VmHWM/ {print $2}' "/proc/$server/status")"
kill -TERM "$server"
wait "$server" || true

count() {
    if [ "$backend" = postgres ]; then
        psql "${admin_url%/rca*}/$database" -qtAc "SELECT COUNT(*) FROM $1"
    else
        python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM $1').fetchone()[0])" "$work/data/rca.sqlite"
    fi
}
payloads="$(count raw_payloads)"
tickets="$(count tickets)"
[ "$backend" = postgres ] && psql "${admin_url%%\?*}" -qc "DROP DATABASE $database" >/dev/null
echo "backend=$backend connections=$connections accepted_202=$accepted payloads_stored=$payloads tickets=$tickets peak_rss_mib=$((peak_rss_kib / 1024))"
[ "$payloads" -ge "$accepted" ] || { echo "MISMATCH: $accepted answers 202 but only $payloads payloads were committed" >&2; exit 1; }
if [ "${DUPLICATE_EVERY:-0}" = 0 ] && [ "$tickets" -lt "$accepted" ]; then
    echo "MISMATCH: $accepted unique alerts answered 202 but only $tickets tickets were committed" >&2
    exit 1
fi
