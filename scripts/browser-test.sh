#!/usr/bin/env bash
# Runs the dashboard in headless Chromium against a real server (the debug
# build `swift test` made): sign-in, a webhook's ticket appearing live,
# acknowledging it, and an HTML-like pipeline name shown as text.
# Needs chromium, chromium-driver and python3-venv; Selenium is installed from
# PyPI into .build/test-venv (scripts/test-venv.sh). Screenshots go to $TEST_OUTPUT_DIR/browser
# (default .build/test-output/browser).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/server-helpers.sh
output="${TEST_OUTPUT_DIR:-.build/test-output}/browser"
python="$(scripts/test-venv.sh)"
binary="$(debug_binary)"
work="$(mktemp -d)"
port="$(free_port)"
token="browser-test-token-0123456789"
password="browser test password 42"
email="responder@example.com"

echo "$password" | DATA_DIR="$work/data" "$binary" user add "$email" --role responder --name "On-call" --password-stdin >/dev/null
DATA_DIR="$work/data" WEBHOOK_TOKEN="$token" LOG_LEVEL=warning "$binary" serve --port "$port" >"$work/server.out" 2>"$work/server.err" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
wait_ready "$port"
if ! "$python" Tests/Browser/dashboard_test.py "http://127.0.0.1:$port" "$token" "$email" "$password" "$output"; then
    echo "browser-test: failed; screenshots and the page are in $output; server log:" >&2
    cat "$work/server.err" >&2
    exit 1
fi
echo "browser-test: passed; screenshots in $output"
