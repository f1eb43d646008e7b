#!/usr/bin/env bash
# Start (or stop) the PostgreSQL and Redis servers the test suite uses, on loopback
# ports of NixFlow's own, with their data in a throwaway folder.
#   source scripts/services.sh start   # exports NIXFLOW_TEST_POSTGRES_URL, NIXFLOW_TEST_REDIS_URL
#   bash scripts/services.sh stop
set -euo pipefail

NIXFLOW_PG_PORT="${NIXFLOW_PG_PORT:-54329}"
NIXFLOW_REDIS_PORT="${NIXFLOW_REDIS_PORT:-63799}"
NIXFLOW_SERVICES_DIR="${NIXFLOW_SERVICES_DIR:-/tmp/nixflow-test-services}"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"

as_postgres() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  local data="$NIXFLOW_SERVICES_DIR/pg"
  if as_postgres "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$NIXFLOW_PG_PORT" -q 2>/dev/null; then return; fi
  mkdir -p "$NIXFLOW_SERVICES_DIR"
  [ "$(id -u)" = "0" ] && chown postgres "$NIXFLOW_SERVICES_DIR"
  if [ ! -f "$data/PG_VERSION" ]; then
    as_postgres "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  as_postgres "$PG_BIN/pg_ctl" -D "$data" -l "$data.log" -w \
    -o "-h 127.0.0.1 -p $NIXFLOW_PG_PORT -k $NIXFLOW_SERVICES_DIR -c fsync=off -c max_connections=300" start >/dev/null
}

start_redis() {
  if redis-cli -h 127.0.0.1 -p "$NIXFLOW_REDIS_PORT" ping >/dev/null 2>&1; then return; fi
  mkdir -p "$NIXFLOW_SERVICES_DIR/redis"
  redis-server --bind 127.0.0.1 --port "$NIXFLOW_REDIS_PORT" --dir "$NIXFLOW_SERVICES_DIR/redis" \
    --save "" --appendonly yes --daemonize yes --logfile "$NIXFLOW_SERVICES_DIR/redis.log"
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p "$NIXFLOW_REDIS_PORT" ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "redis did not start" >&2; return 1
}

case "${1:-start}" in
  start)
    start_postgres
    start_redis
    export NIXFLOW_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$NIXFLOW_PG_PORT/postgres"
    export NIXFLOW_TEST_REDIS_URL="redis://127.0.0.1:$NIXFLOW_REDIS_PORT/0"
    export NIXFLOW_TEST_REDIS_PORT="$NIXFLOW_REDIS_PORT"
    export NIXFLOW_TEST_PG_PORT="$NIXFLOW_PG_PORT"
    export NIXFLOW_TEST_SERVICES_DIR="$NIXFLOW_SERVICES_DIR"
    ;;
  stop)
    as_postgres "$PG_BIN/pg_ctl" -D "$NIXFLOW_SERVICES_DIR/pg" -m fast stop >/dev/null 2>&1 || true
    redis-cli -h 127.0.0.1 -p "$NIXFLOW_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    ;;
esac
