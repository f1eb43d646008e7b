#!/bin/sh
# PostgreSQL for compose.yaml, from Debian's package, run as the postgres user. The first start makes the cluster on
# the volume and the nixflow database (owner nixflow, password $NIXFLOW_DB_PASSWORD, password sign-in from the
# network); every start then serves it in the foreground.
set -eu
bin=$(echo /usr/lib/postgresql/*/bin)
data=/var/lib/postgresql/pgdata
if [ ! -s "$data/PG_VERSION" ]; then
  password_file=$(mktemp)
  printf '%s\n' "$NIXFLOW_DB_PASSWORD" > "$password_file"
  "$bin/initdb" --pgdata="$data" --username=nixflow --pwfile="$password_file" --auth=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm "$password_file"
  echo "host all all all scram-sha-256" >> "$data/pg_hba.conf"
  "$bin/pg_ctl" --pgdata="$data" --wait --silent -o "-c listen_addresses='' -c unix_socket_directories=/tmp" start
  PGPASSWORD=$NIXFLOW_DB_PASSWORD psql --quiet --host=/tmp --username=nixflow --dbname=postgres \
    --command='CREATE DATABASE nixflow OWNER nixflow'
  "$bin/pg_ctl" --pgdata="$data" --wait --silent stop
fi
exec "$bin/postgres" -D "$data" -c listen_addresses='*' -c unix_socket_directories=/tmp
