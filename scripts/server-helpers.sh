# Helpers for scripts that start rca-assistant (benchmarks, the browser,
# system and fuzz tests). Source it: . scripts/server-helpers.sh

# The debug rca-assistant that `swift test` built (building it if missing).
debug_binary() {
    local binary
    binary="$(swift build --show-bin-path)/rca-assistant"
    [ -x "$binary" ] || swift build --product rca-assistant >&2
    echo "$binary"
}

# The release rca-assistant the benchmarks measure, built first (an
# incremental build when the sources changed); BENCH_BINARY names another
# build instead, to compare two versions on the same machine and day.
release_binary() {
    if [ -n "${BENCH_BINARY:-}" ]; then echo "$BENCH_BINARY"; return; fi
    swift build -c release --product rca-assistant >/dev/null || return 1
    echo "$(swift build -c release --show-bin-path)/rca-assistant"
}

# The release rca-assistant with the Swift runtime linked in, the one
# scripts/release.sh ships (built first, in its own folder,
# RELEASE_BUILD_PATH or .build/release-static, so that the ordinary builds
# stay as they are).
static_release_binary() {
    local scratch="${RELEASE_BUILD_PATH:-.build/release-static}"
    swift build -c release --static-swift-stdlib --product rca-assistant --scratch-path "$scratch" >&2 || return 1
    echo "$(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)/rca-assistant"
}

# A TCP port that was free a moment ago on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to $2 seconds (default 10) until the address $1 answers with a success.
wait_url() {
    for _ in $(seq "$((${2:-10} * 10))"); do
        curl -fs "$1" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "$1 did not answer within ${2:-10} s" >&2
    return 1
}

# Waits up to $2 seconds (default 10) until the server on port $1 answers /ready.
wait_ready() {
    wait_url "http://127.0.0.1:$1/ready" "${2:-10}"
}

# Runs a Python stand-in server that prints its port, and waits for the port;
# sets STANDIN_PID and STANDIN_PORT. $1: the script, $2: a scratch folder.
start_standin() {
    python3 "$1" >"$2/standin.port" &
    STANDIN_PID=$!
    for _ in $(seq 50); do [ -s "$2/standin.port" ] && break; sleep 0.1; done
    STANDIN_PORT="$(cat "$2/standin.port")"
}

# Creates a fresh database for a benchmark on the benchmark PostgreSQL
# (port PG_BENCH_PORT, default 55433, fsync on, started if needed). Sets
# admin_url, database and database_url. $1: the database name's prefix.
create_bench_database() {
    admin_url="$(PG_TEST_PORT="${PG_BENCH_PORT:-55433}" PG_TEST_FSYNC=on scripts/postgres-up.sh)"
    database="$1_$$"
    psql "${admin_url%%\?*}" -qc "CREATE DATABASE $database" >/dev/null
    database_url="${admin_url%/rca*}/$database?sslmode=disable"
}

# For the end-to-end benchmarks: starts bench/fake_slack.py (slack_url is its
# API), creates a benchmark database when $1 is postgres (database_url), and
# on exit stops the stand-in and the server ($server), copies the server's
# log to KEEP_LOG when set, drops the database and removes $work.
#   $1: backend, $2: the database name's prefix
start_slack_bench() {
    start_standin bench/fake_slack.py "$work"
    trap end_slack_bench EXIT
    slack_url="http://127.0.0.1:$STANDIN_PORT/api"
    database_url=""
    if [ "$1" = postgres ]; then create_bench_database "$2"; fi
}

end_slack_bench() {
    kill "$STANDIN_PID" "${server:-}" 2>/dev/null || true
    if [ -n "${KEEP_LOG:-}" ]; then cp "$work/server.err" "$KEEP_LOG"; fi
    if [ -n "${database:-}" ]; then psql "${admin_url%%\?*}" -qc "DROP DATABASE IF EXISTS $database" >/dev/null 2>&1; fi
    rm -rf "$work"
}
