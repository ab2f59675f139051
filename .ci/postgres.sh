#!/usr/bin/env bash
# Starts a throwaway PostgreSQL on 127.0.0.1 and prints its URL on stdout.
# Usage: url=$(bash .ci/postgres.sh DIR [PORT]); stop with: bash .ci/postgres.sh stop DIR
# Without a PORT (or with 0) it takes a free one: a port nothing answers on,
# and another if the server still cannot bind it (someone took it meanwhile).
set -euo pipefail
if [ "${1:-}" = stop ]; then
  runuser -u postgres -- "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)/pg_ctl" -D "$2/data" -m fast stop >/dev/null 2>&1 || true
  exit 0
fi
dir=$1 port=${2:-0}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
if [ -z "$bin" ]; then
  apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends postgresql >&2
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
fi
id postgres >/dev/null 2>&1 || useradd --system --home "$dir" postgres
mkdir -p "$dir/data" "$dir/sock"
chown -R postgres "$dir"
chmod 700 "$dir/data"
if [ ! -f "$dir/data/PG_VERSION" ]; then
  runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres -A trust >/dev/null
fi
# fsync stays on: the tests check durability, not a RAM disk.
start() {
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start \
    -o "-p $1 -k $dir/sock -c listen_addresses=127.0.0.1 -c max_connections=300" >/dev/null
}
if [ "$port" != 0 ]; then
  start "$port"
else
  for try in $(seq 20); do
    port=$(( 20000 + RANDOM % 30000 ))
    # Something answers there: not free.
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
    if start "$port"; then break; fi
    echo "postgres.sh: port $port was taken; trying another" >&2
    port=0
  done
  if [ "$port" = 0 ]; then echo "postgres.sh: no free port in 20 tries; see $dir/log" >&2; exit 1; fi
fi
echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
