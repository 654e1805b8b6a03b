#!/usr/bin/env bash
# Makes sure Debian's PostgreSQL 15 is installed for the cluster test stack (src/dev/cluster.ts runs
# /usr/lib/postgresql/15/bin/initdb, pg_ctl and postgres on a temp data dir; the system service is not used).
# Idempotent: does nothing when PostgreSQL 15 is already there. Installing needs root and apt-get.
set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin
if [ -x "$PG_BIN/postgres" ] && [ -x "$PG_BIN/initdb" ]; then
  "$PG_BIN/postgres" --version
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-postgresql: $PG_BIN/postgres is missing and apt-get is not available; install PostgreSQL 15 there" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-postgresql: $PG_BIN/postgres is missing; run this script as root (or: sudo apt-get install postgresql-15)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
"$PG_BIN/postgres" --version
