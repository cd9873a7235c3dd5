#!/usr/bin/env bash
# Counts the instructions the server executes per accepted webhook, with
# valgrind's callgrind: a count that does not depend on what else the machine
# is doing, so two builds can be compared in runs minutes apart. The server
# is the build scripts/release.sh ships, with the Swift runtime linked in
# (valgrind 3.19 crashes loading the runtime's shared libraries); it runs as
# ROLE=web on a fresh SQLite file under callgrind; after a warm-up of 200
# alerts, counting is switched on, ALERTS distinct Data Factory alerts are
# posted by CLIENTS kept-open connections at once (more clients, larger
# shared transactions), and the count is dumped. Prints instructions per
# webhook and the functions with the largest inclusive share; the raw
# profile stays in OUTPUT (callgrind_annotate, kcachegrind).
#   bench/instructions.sh [alerts] [clients]    (default 2000 8)
#   BENCH_BINARY=path     measure another build with the runtime linked in
#                         (an older commit's .build/release-static)
#   OUTPUT=folder         where the profile goes (default .build/bench-instructions)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/server-helpers.sh
alerts="${1:-2000}"
clients="${2:-8}"
token="bench-webhook-token-0123456789"
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind is needed (apt-get install -y valgrind)" >&2; exit 1; }

release="${BENCH_BINARY:-$(static_release_binary)}"
warmup=200
output="${OUTPUT:-.build/bench-instructions}"
mkdir -p "$output"
rm -f "$output"/callgrind.out*
work="$(mktemp -d)"
port="$(free_port)"
# Valgrind 3.19 cannot read the DWARF 5 debug information Swift writes; the
# symbol table, kept, names the functions. (The copy finds its resource
# folders where the build left them.)
binary="$work/rca-assistant"
strip --strip-debug -o "$binary" "$release"
DATA_DIR="$work/data" WEBHOOK_TOKEN="$token" LOG_LEVEL=error ROLE=web \
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$output/callgrind.out" \
    "$binary" serve --port "$port" >"$work/server.out" 2>"$work/server.err" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
wait_ready "$port" 120 || { cat "$work/server.err" >&2; exit 1; }

post_alerts() {
    python3 - "$port" "$token" "$1" "$2" "$clients" <<'EOF'
import sys
from concurrent.futures import ThreadPoolExecutor
sys.path.insert(0, "bench")
from alerts import post

port, token, run, count, clients = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
with ThreadPoolExecutor(clients) as pool:
    list(pool.map(lambda number: post(port, token, run, number), range(count)))
EOF
}

post_alerts warmup "$warmup"
callgrind_control --instr=on "$server" >/dev/null
post_alerts measured "$alerts"
callgrind_control --dump=measured "$server" >/dev/null
callgrind_control --instr=off "$server" >/dev/null
accepted="$(curl -fs "http://127.0.0.1:$port/metrics" | awk '/^rca_http_requests_total\{route="\/azure-monitor",method="POST",status="202"\}/ {print $2}')"
kill -TERM "$server"
wait "$server" || true

# callgrind writes the requested dump as callgrind.out.N and the rest (the
# warm-up's zero counts and shutdown) as callgrind.out at exit.
profile="$(ls "$output"/callgrind.out.* | head -n 1)"
total="$(awk '/^summary:/ {print $2}' "$profile")"
measured=$((accepted - warmup))
[ "$measured" = "$alerts" ] || { echo "instructions.sh: $measured of $alerts measured alerts were accepted" >&2; exit 1; }
echo "alerts=$alerts clients=$clients instructions=$total instructions_per_webhook=$((total / alerts))"
callgrind_annotate --inclusive=yes "$profile" 2>/dev/null | sed -n '/^Ir/,$p' | head -n 40 >"$output/top-inclusive.txt"
echo "largest inclusive shares: $output/top-inclusive.txt; profile: $profile"
