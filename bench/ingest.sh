#!/usr/bin/env bash
# Measures webhook ingestion with wrk: accepted webhooks per second, latency
# percentiles and peak memory, then checks in the database that every 202 has
# its ticket. The server runs as ROLE=web (ingestion only, no workers), with a
# fresh database. With REPLICAS above 1 (PostgreSQL only), that many servers
# share the database and each gets its own wrk with an equal share of the
# connections; the rates are added up.
#   bench/ingest.sh [sqlite|postgres] [seconds] [connections] [replicas]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/server-helpers.sh
backend="${1:-sqlite}"
seconds="${2:-10}"
connections="${3:-32}"
replicas="${4:-1}"
token="bench-webhook-token-0123456789"

command -v wrk >/dev/null || { echo "ingest.sh: wrk is needed (apt-get install -y wrk)" >&2; exit 1; }
if [ "$replicas" -gt 1 ] && [ "$backend" != postgres ]; then
    echo "ingest.sh: replicas share a PostgreSQL database; a SQLite file has one server" >&2
    exit 1
fi
binary="$(release_binary)"
work="$(mktemp -d)"

database_url=""
[ "$backend" = postgres ] && create_bench_database bench

servers=()
ports=()
trap 'kill "${servers[@]}" 2>/dev/null || true; [ -n "${KEEP_LOG:-}" ] && cat "$work"/server*.err >"$KEEP_LOG"; rm -rf "$work"' EXIT
for replica in $(seq "$replicas"); do
    port="$(free_port)"
    DATA_DIR="$work/data$([ "$replica" = 1 ] || echo "$replica")" WEBHOOK_TOKEN="$token" LOG_LEVEL=${LOG_LEVEL:-error} ROLE=web \
        DATABASE_URL="$database_url" "$binary" serve --port "$port" >"$work/server$replica.out" 2>"$work/server$replica.err" &
    servers+=("$!")
    ports+=("$port")
done
for port in "${ports[@]}"; do wait_ready "$port"; done

threads=2
if [ "$replicas" -gt 1 ]; then threads=1; fi
wrks=()
for replica in $(seq "$replicas"); do
    WRK_INSTANCE="$replica" DUPLICATE_EVERY="${DUPLICATE_EVERY:-0}" ALERT_TEMPLATE="$PWD/bench/adf-alert.json" \
        wrk -t"$threads" -c"$((connections / replicas))" -d"${seconds}s" --latency -s bench/unique-adf.lua \
        "http://127.0.0.1:${ports[$((replica - 1))]}/azure-monitor?token=$token" >"$work/wrk$replica.txt" &
    wrks+=("$!")
done
wait "${wrks[@]}"
for replica in $(seq "$replicas"); do
    [ "$replicas" = 1 ] || echo "--- wrk against replica $replica"
    cat "$work/wrk$replica.txt"
done

sleep 1
accepted=0
peak_rss_kib=0
for replica in $(seq "$replicas"); do
    port="${ports[$((replica - 1))]}"
    server="${servers[$((replica - 1))]}"
    count="$(curl -fs "http://127.0.0.1:$port/metrics" | awk '/^rca_http_requests_total\{route="\/azure-monitor",method="POST",status="202"\}/ {print $2}')"
    accepted=$((accepted + ${count:-0}))
    rss="$(awk '/VmHWM/ {print $2}' "/proc/$server/status")"
    if [ "$rss" -gt "$peak_rss_kib" ]; then peak_rss_kib="$rss"; fi
done
kill -TERM "${servers[@]}"
wait "${servers[@]}" || true
[ "$replicas" = 1 ] || echo "total Requests/sec: $(awk '/^Requests\/sec/ {sum += $2} END {printf "%.2f", sum}' "$work"/wrk*.txt)"

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
echo "backend=$backend replicas=$replicas connections=$connections accepted_202=$accepted payloads_stored=$payloads tickets=$tickets peak_rss_mib=$((peak_rss_kib / 1024)) (largest replica)"
[ "$payloads" -ge "$accepted" ] || { echo "MISMATCH: $accepted answers 202 but only $payloads payloads were committed" >&2; exit 1; }
if [ "${DUPLICATE_EVERY:-0}" = 0 ] && [ "$tickets" -lt "$accepted" ]; then
    echo "MISMATCH: $accepted unique alerts answered 202 but only $tickets tickets were committed" >&2
    exit 1
fi
