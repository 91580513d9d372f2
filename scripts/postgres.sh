#!/usr/bin/env bash
# Start a local PostgreSQL for the tests (Debian's package; installed if missing) and print the
# URL of a role the tests may create databases with. Idempotent.
set -euo pipefail
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! command -v pg_lsclusters >/dev/null 2>&1; then
  echo "installing Debian package: postgresql" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
cluster=$(pg_lsclusters --no-header | head -1)
if [ -z "$cluster" ]; then
  $SUDO pg_createcluster 15 main >/dev/null
  cluster=$(pg_lsclusters --no-header | head -1)
fi
read -r version name port status _ <<<"$cluster"
if [ "$status" != "online" ]; then
  $SUDO pg_ctlcluster "$version" "$name" start >&2
fi
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
as_postgres psql -q -p "$port" -tc "SELECT 1 FROM pg_roles WHERE rolname = 'regula_test'" | grep -q 1 \
  || as_postgres psql -q -p "$port" -c "CREATE ROLE regula_test LOGIN CREATEDB PASSWORD 'regula_test'" >&2
# Databases left by earlier runs (each test run creates fresh ones).
for db in $(as_postgres psql -q -p "$port" -tAc "SELECT datname FROM pg_database WHERE datname LIKE 'regula_test_%'"); do
  as_postgres dropdb -p "$port" --if-exists "$db" >&2 || true
done
echo "postgres://regula_test:regula_test@127.0.0.1:${port}/postgres"
