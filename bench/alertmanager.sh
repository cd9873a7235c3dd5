#!/usr/bin/env bash
# Prometheus Alertmanager and RCA Assistant side by side, in one run on one
# machine: wrk posts a new alert per request to Alertmanager's
# /api/v2/alerts (held in memory) and to our /azure-monitor (SQLite, ROLE=web,
# written durably before the 202), and asks our /health for the HTTP ceiling.
# The three targets take turns, each round in the same order, so that a
# noisy minute hurts all of them; the table gives the median of the rounds.
#   bench/alertmanager.sh [seconds] [connections] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/server-helpers.sh
seconds="${1:-10}"
connections="${2:-32}"
rounds="${3:-3}"
token="bench-webhook-token-0123456789"

alertmanager="$(command -v prometheus-alertmanager || command -v alertmanager || true)"
[ -n "$alertmanager" ] || { echo "alertmanager.sh: Alertmanager is needed (apt-get install -y prometheus-alertmanager)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "alertmanager.sh: wrk is needed (apt-get install -y wrk)" >&2; exit 1; }
binary="$(release_binary)"
work="$(mktemp -d)"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

cat >"$work/alertmanager.yml" <<'EOF'
route:
  receiver: discard
receivers:
  - name: discard
EOF
am_port="$(free_port)"
"$alertmanager" --config.file="$work/alertmanager.yml" --storage.path="$work/alertmanager" \
    --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= --log.level=error \
    >"$work/alertmanager.log" 2>&1 &
pids+=("$!")
rca_port="$(free_port)"
DATA_DIR="$work/data" WEBHOOK_TOKEN="$token" LOG_LEVEL=error ROLE=web \
    "$binary" serve --port "$rca_port" >"$work/rca.out" 2>"$work/rca.err" &
pids+=("$!")
wait_ready "$rca_port"
wait_url "http://127.0.0.1:$am_port/-/ready" || { cat "$work/alertmanager.log" >&2; exit 1; }
echo "$("$alertmanager" --version 2>&1 | head -1); RCA Assistant $("$binary" --version); wrk -t2 -c$connections, ${seconds} s, $rounds rounds"

run() { # name, wrk arguments...
    local name="$1"; shift
    wrk -t2 -c"$connections" -d"${seconds}s" --latency "$@" >"$work/$name.$round.txt"
}
for round in $(seq "$rounds"); do
    run alertmanager -s bench/unique-alertmanager.lua "http://127.0.0.1:$am_port/api/v2/alerts"
    ALERT_TEMPLATE="$PWD/bench/adf-alert.json" run rca -s bench/unique-adf.lua "http://127.0.0.1:$rca_port/azure-monitor?token=$token"
    run health "http://127.0.0.1:$rca_port/health"
done

python3 - "$work" "$rounds" <<'EOF'
import re, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
def seconds(value, unit):
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]
rows = {}
for name in ("alertmanager", "rca", "health"):
    rates, p99s, refused = [], [], 0
    for round in range(1, rounds + 1):
        text = open(f"{work}/{name}.{round}.txt").read()
        rates.append(float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)))
        p99 = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", text)
        p99s.append(seconds(*p99.groups()) * 1000)
        other = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        refused += int(other.group(1)) if other else 0
    rows[name] = (statistics.median(rates), statistics.median(p99s), refused, rates)
labels = {"alertmanager": "Alertmanager POST /api/v2/alerts (in memory)",
          "rca": "RCA Assistant POST /azure-monitor (SQLite, durable)",
          "health": "RCA Assistant GET /health (HTTP ceiling)"}
print("| target | requests/s (median) | p99 ms (median) | answers other than 2xx | each round |")
print("|---|---:|---:|---:|---|")
for name, (rate, p99, refused, rates) in rows.items():
    print(f"| {labels[name]} | {rate:,.0f} | {p99:.1f} | {refused} | {', '.join(f'{r:,.0f}' for r in rates)} |")
am, rca, health = rows["alertmanager"][0], rows["rca"][0], rows["health"][0]
print(f"Alertmanager accepts {am / rca:.1f}x the alerts per second we accept; we accept one webhook per {health / rca:.1f} bare requests we can answer.")
EOF
