#!/usr/bin/env bash
# PostgreSQL 15 with pgvector for the tests and for `DATABASE_URL` runs: Debian's server packages plus
# pgvector built from vendor/pgvector (Debian 12 has no pgvector package for PostgreSQL 15), and
# PgBouncer (bench:edge's stand-in for Hyperdrive's pool, bench/lib/pgbouncer.ts).
# Idempotent: a second run only checks. Needs root (apt-get, make install).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PG_VERSION=15
bin=/usr/lib/postgresql/$PG_VERSION/bin
if [[ ! -x $bin/postgres || ! -x $bin/pg_config || ! -x /usr/sbin/pgbouncer ]] || ! dpkg -s postgresql-server-dev-$PG_VERSION >/dev/null 2>&1; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    postgresql-$PG_VERSION postgresql-server-dev-$PG_VERSION pgbouncer make gcc
fi

want=$(sed -n "s/^default_version = '\(.*\)'/\1/p" vendor/pgvector/vector.control)
sharedir=$("$bin/pg_config" --sharedir)
have=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$sharedir/extension/vector.control" 2>/dev/null || true)
if [[ "$have" != "$want" || ! -f "$("$bin/pg_config" --pkglibdir)/vector.so" ]]; then
  # Build in a scratch copy so the checkout stays clean.
  build=$(mktemp -d)
  cp -r vendor/pgvector/. "$build"
  make -C "$build" -s PG_CONFIG="$bin/pg_config" OPTFLAGS="" -j"$(nproc)"
  make -C "$build" -s PG_CONFIG="$bin/pg_config" install
  rm -rf "$build"
fi
echo "postgresql-$PG_VERSION with pgvector $want: ready ($bin)"
