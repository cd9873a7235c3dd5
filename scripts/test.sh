#!/usr/bin/env bash
# Runs the whole test suite. Storage tests run on SQLite always, and on
# PostgreSQL when RCA_TEST_POSTGRES_URL is set or a PostgreSQL server is
# installed here (a throwaway one is then started on 127.0.0.1). Then, when
# Chromium and its driver are installed, the dashboard's browser test
# (scripts/browser-test.sh); RCA_TEST_REQUIRE_BROWSER=1 makes their absence
# an error. Then the system tests (scripts/system-test.sh: hostile clients,
# kill -9, outages, API fuzzing, three replicas on PostgreSQL), and with
# RCA_TEST_PACKAGE=1 the release package's test (scripts/package-test.sh). Arguments
# (such as --filter) go to swift test and skip the browser and system tests.
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

[ "$#" -eq 0 ] || exit 0
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    scripts/browser-test.sh
elif [ "${RCA_TEST_REQUIRE_BROWSER:-0}" = 1 ]; then
    echo "test.sh: chromium and chromedriver are required (apt-get install -y chromium chromium-driver python3-venv)" >&2
    exit 1
else
    echo "test.sh: chromium is not installed; the browser test is skipped (apt-get install -y chromium chromium-driver python3-venv)" >&2
fi

scripts/system-test.sh

if [ "${RCA_TEST_PACKAGE:-0}" = 1 ]; then
    scripts/package-test.sh
else
    echo "test.sh: the package test is skipped; RCA_TEST_PACKAGE=1 runs scripts/package-test.sh (a static release build, then its .deb installed and served in a Debian root without Swift; needs root and debootstrap)" >&2
fi
