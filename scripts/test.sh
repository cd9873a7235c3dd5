#!/usr/bin/env bash
# Runs the whole test suite. Storage tests run on SQLite always, and on
# PostgreSQL when RCA_TEST_POSTGRES_URL is set or a PostgreSQL server is
# installed here (a throwaway one is then started on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${RCA_TEST_POSTGRES_URL:-}" ]; then
    if ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
        RCA_TEST_POSTGRES_URL="$(scripts/postgres-up.sh)"
        export RCA_TEST_POSTGRES_URL
    else
        echo "test.sh: PostgreSQL is not installed; its suites are skipped (apt-get install -y postgresql to run them)" >&2
    fi
fi
[ -n "${RCA_TEST_POSTGRES_URL:-}" ] && echo "test.sh: PostgreSQL suites use ${RCA_TEST_POSTGRES_URL%%\?*}" | sed 's#//rca:rca@#//rca@#'

swift test "$@"
