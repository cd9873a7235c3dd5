#!/usr/bin/env bash
# Starts (or reuses) a throwaway PostgreSQL server on 127.0.0.1 for tests and
# benchmarks, and prints a DATABASE_URL for it on standard output.
#   PG_TEST_PORT  port to listen on (default 55432)
#   PG_TEST_DIR   data folder (default /tmp/rca-postgres-$PG_TEST_PORT)
#   PG_TEST_FSYNC on|off (default off: faster, fine for data that is thrown away)
set -euo pipefail

port="${PG_TEST_PORT:-55432}"
dir="${PG_TEST_DIR:-/tmp/rca-postgres-$port}"
fsync="${PG_TEST_FSYNC:-off}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
if [ -z "$bin" ]; then
    echo "postgres-up: no PostgreSQL server found; install it with: apt-get install -y postgresql" >&2
    exit 1
fi

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if ! as_owner "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    rm -rf "$dir"
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    as_owner "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c fsync=$fsync -c max_connections=300" >/dev/null
fi

psql_admin() { psql -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'rca'")" != 1 ]; then
    psql_admin -c "CREATE ROLE rca LOGIN CREATEDB PASSWORD 'rca'"
fi
# rca_entra signs in with a password even though the others are trusted: the
# test of Entra ID tokens as passwords (PostgresTokenPasswordTests) sets its
# password to a token and must be refused a wrong one.
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'rca_entra'")" != 1 ]; then
    psql_admin -c "CREATE ROLE rca_entra LOGIN PASSWORD NULL"
fi
psql_admin -c "ALTER ROLE rca CREATEROLE" -c "GRANT rca_entra TO rca" 2>/dev/null
if ! grep -q '^host all rca_entra ' "$dir/pg_hba.conf"; then
    as_owner sed -i '1i host all rca_entra 127.0.0.1/32 scram-sha-256' "$dir/pg_hba.conf"
    as_owner "$bin/pg_ctl" -D "$dir" reload >/dev/null
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'rca'")" != 1 ]; then
    psql_admin -c "CREATE DATABASE rca OWNER rca"
fi
echo "postgres://rca:rca@127.0.0.1:$port/rca?sslmode=disable"
