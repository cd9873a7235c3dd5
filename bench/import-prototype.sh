#!/usr/bin/env bash
# How long `rca-assistant import-prototype` takes on a prototype database of
# TICKETS tickets (four audit lines each, twenty accounts), into a fresh
# SQLite file or PostgreSQL database, and how long a second run (which
# imports nothing) takes. Prints the seconds and peak RSS of each run.
#   bench/import-prototype.sh [sqlite|postgres] [tickets]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/server-helpers.sh
backend="${1:-sqlite}"
tickets="${2:-10000}"

binary="$(release_binary)"
work="$(mktemp -d)"
database=""
finish() {
    if [ -n "$database" ]; then psql "${admin_url%%\?*}" -qc "DROP DATABASE IF EXISTS $database" >/dev/null 2>&1; fi
    rm -rf "$work"
}
trap finish EXIT
database_url=""
if [ "$backend" = postgres ]; then create_bench_database bench_import; fi
python3 bench/prototype_db.py "$work/rca.db" "$tickets"

for run in first second; do
    DATA_DIR="$work/data" DATABASE_URL="$database_url" /usr/bin/time -f "%e %M" -o "$work/time" "$binary" import-prototype "$work/rca.db" >"$work/out"
    read -r seconds rss <"$work/time"
    echo "import-prototype ($backend, $tickets tickets, $run run): ${seconds} s, peak RSS $((rss / 1024)) MiB; $(head -n 1 "$work/out")"
done
