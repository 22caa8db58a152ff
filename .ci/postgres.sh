#!/usr/bin/env bash
# Installs (when missing) and starts Debian's PostgreSQL, then creates the role and database the SQL
# executor's tests connect to over TCP: postgres://relml:relml@127.0.0.1:5432/relml_test
# (override with RELML_PG_URL in the tests). Idempotent; needs root.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
fi
ver="$(ls /usr/lib/postgresql | sort -V | tail -n1)"
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$ver main"; then pg_createcluster "$ver" main; fi
pg_ctlcluster "$ver" main start 2>/dev/null || true
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
pg_isready -h 127.0.0.1 -p 5432
su postgres -c "psql -q -v ON_ERROR_STOP=1" <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'relml') THEN CREATE ROLE relml LOGIN PASSWORD 'relml'; END IF;
END $$;
SELECT 'CREATE DATABASE relml_test OWNER relml' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'relml_test')\gexec
SQL
echo "postgresql $ver ready: postgres://relml:relml@127.0.0.1:5432/relml_test"
