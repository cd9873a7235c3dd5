#!/usr/bin/env bash
# Fuzzes the HTTP API with schemathesis (from PyPI) against /openapi.json on
# a real server (the debug build, SQLite, Slack and Jira configured so that
# their routes exist): no answer may be a 5xx or break the documented schema.
#   scripts/fuzz-api.sh [seconds]   (default 120)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/server-helpers.sh
seconds="${1:-120}"
python="$(scripts/test-venv.sh)"
binary="$(debug_binary)"
work="$(mktemp -d)"
port="$(free_port)"
token="fuzz-webhook-token-0123456789"
password="fuzz test password 42"
export DATA_DIR="$work/data" WEBHOOK_TOKEN="$token" LOG_LEVEL=error \
    SLACK_BOT_TOKEN=xoxb-fuzz SLACK_CHANNEL=C0FUZZ SLACK_API_URL=http://127.0.0.1:9/api SLACK_SIGNING_SECRET=fuzz-signing-secret \
    JIRA_DOMAIN=http://127.0.0.1:9 JIRA_USER_EMAIL=fuzz@example.com JIRA_API_TOKEN=fuzz-jira-token JIRA_PROJECT_KEY=OPS \
    JIRA_WEBHOOK_SECRET=fuzz-jira-webhook-secret
echo "$password" | "$binary" user add admin@example.com --role admin --password-stdin >/dev/null
"$binary" serve --port "$port" >"$work/server.out" 2>"$work/server.err" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
wait_ready "$port"
jwt="$(curl -fs "http://127.0.0.1:$port/api/login" -H 'Content-Type: application/json' \
    -d "{\"email\": \"admin@example.com\", \"password\": \"$password\"}" | "$python" -c 'import json, sys; print(json.load(sys.stdin)["token"])')"

# /api/logout is left out: it ends every session of the account, and every
# authenticated operation after it would be tested only as a 401 (its own
# tests are in DashboardAPITests).
# One worker: with two threads, Hypothesis's ast.parse calls meet CPython
# 3.11's spurious "AST constructor recursion depth mismatch" SystemError
# (python/cpython#106905), which ended a CI run with no fault in the API.
output="${TEST_OUTPUT_DIR:-.build/test-output}/fuzz"
mkdir -p "$output"
if ! "$(dirname "$python")/schemathesis" run "http://127.0.0.1:$port/openapi.json" \
    --checks not_a_server_error,response_schema_conformance,content_type_conformance \
    --header "Authorization: Bearer $jwt" --header "X-RCA-Token: $token" \
    --exclude-path /api/logout \
    --max-time "$seconds" --request-timeout 10 --workers 1 --seed 42 \
    --report junit --report-dir "$output" >"$output/schemathesis.txt" 2>&1; then
    tail -n 80 "$output/schemathesis.txt" >&2
    echo "fuzz-api: schemathesis found failures (full report in $output); server log:" >&2
    tail -n 40 "$work/server.err" >&2
    exit 1
fi
tail -n 6 "$output/schemathesis.txt"
if ! kill -0 "$server" 2>/dev/null; then
    echo "fuzz-api: the server died during the run" >&2
    exit 1
fi
echo "fuzz-api: passed"
