#!/usr/bin/env bash
# The system tests: real rca-assistant processes (the debug build) against
# stand-ins for Slack, Jira, the model endpoint and Databricks
# (Tests/System): hostile clients, a kill -9 under load, service outages,
# an API fuzz run,
# and, with PostgreSQL (RCA_TEST_POSTGRES_URL), the crash test again, a
# PostgreSQL server stopped and started under load, and three replicas
# sharing one database. RCA_SYSTEM_LOG_LEVEL (default warning) sets the
# servers' LOG_LEVEL; their logs are kept beside each test's scratch data.
set -euo pipefail
cd "$(dirname "$0")/.."
python="$(scripts/test-venv.sh)"
. scripts/server-helpers.sh
RCA_BINARY="$(debug_binary)"
export RCA_BINARY
cd Tests/System
"$python" hostile_test.py
"$python" crash_test.py sqlite
"$python" outage_test.py
cd ../..
scripts/fuzz-api.sh "${FUZZ_SECONDS:-120}"
if [ -n "${RCA_TEST_POSTGRES_URL:-}" ]; then
    cd Tests/System
    "$python" crash_test.py postgres
    "$python" database_restart_test.py
    "$python" replicas_test.py "${REPLICA_WEBHOOKS:-20000}"
elif [ "${RCA_TEST_REQUIRE_POSTGRES:-0}" = 1 ]; then
    echo "system-test: RCA_TEST_POSTGRES_URL is required for the PostgreSQL system tests" >&2
    exit 1
else
    echo "system-test: no PostgreSQL; the PostgreSQL crash test and the replicas test are skipped" >&2
fi
