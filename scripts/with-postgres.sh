#!/usr/bin/env bash
# Runs a command with a throwaway local PostgreSQL server, its URL in AMILI_TEST_POSTGRES_URL
# (the PostgreSQL ledger's tests need it and fail loudly without it).
#
#   bash scripts/with-postgres.sh cargo test --workspace --locked
#
# An AMILI_TEST_POSTGRES_URL already set is used as it is. Otherwise the server binaries come
# from Debian's `postgresql` package (installed here when missing and running as root), and the
# cluster lives in a temporary folder on 127.0.0.1 and a free port, and is removed afterwards.
set -euo pipefail

if [ -n "${AMILI_TEST_POSTGRES_URL:-}" ]; then
  exec "$@"
fi

find_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
bindir=$(find_bindir)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing PostgreSQL (Debian package postgresql)" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bindir=$(find_bindir)
  fi
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "error: PostgreSQL's server is not installed (Debian: apt-get install postgresql); set AMILI_TEST_POSTGRES_URL to use another server" >&2
  exit 1
fi

dir=$(mktemp -d /tmp/amili-pg.XXXXXX)
run=()
if [ "$(id -u)" = 0 ]; then
  # The server refuses to run as root: run it as the package's `postgres` user.
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$dir"
  run=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
stop() {
  "${run[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT
"${run[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U amili --no-sync >/dev/null
"${run[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null
export AMILI_TEST_POSTGRES_URL="postgres://amili@127.0.0.1:$port/postgres"
echo "==> PostgreSQL for the tests at $AMILI_TEST_POSTGRES_URL" >&2
"$@"
