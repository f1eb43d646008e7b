#!/usr/bin/env bash
# CI: build the base images and NixFlow's image from nothing; run the image detached on 127.0.0.1, open a ticket
# through the API, restart the container and check the ticket survived on the /data volume; then run compose.yaml's
# scale-out topology with plain `podman run` (podman-compose cannot start it with this podman: README) and open a
# ticket through its proxy. Removes everything it made. Runs as root with Debian's podman. No registry is reached:
# the bases come from Debian packages (scripts/container-base.sh), NixFlow from wheels built here with Debian's python3.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
run_id=check-$$
base=localhost/nixflow-base:$run_id services=localhost/nixflow-services:$run_id image=localhost/nixflow:$run_id
work=$(mktemp -d)
mkdir "$work/context"

# This machine's podman settings, kept here and not in the image: Debian's runc (crun fails on hybrid cgroups),
# the cgroupfs manager (no systemd), and no default ulimits (setting them is not permitted here).
printf '[containers]\ndefault_ulimits = []\n' > "$work/containers.conf"
export CONTAINERS_CONF=$work/containers.conf
pod() { podman --runtime runc --cgroup-manager cgroupfs "$@"; }
# Every container and volume of this run carries its label, so the cleanup finds them all and nothing else.
label=nixflow-check=$run_id
run() { pod run --pull=never --label "$label" "$@"; }

cleanup() {
  local containers
  containers=$(pod ps --all --quiet --filter "label=$label" 2>/dev/null || true)
  [ -z "$containers" ] || pod rm --force --volumes $containers >/dev/null 2>&1 || true
  pod volume rm --force $(pod volume ls --quiet --filter "label=$label" 2>/dev/null) >/dev/null 2>&1 || true
  pod network rm --force "nixflow-$run_id" >/dev/null 2>&1 || true
  pod rmi --force "$image" "$base" "$services" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
phase() { printf 'container-check: %-52s %4ds\n' "$1" "$((SECONDS - started))"; }
fail() {
  echo "container-check: $1" >&2
  exit 1
}

# Wait until a container's HEALTHCHECK passes: a marker, not a fixed time (no systemd timer runs it here).
wait_healthy() {
  # Up to 5 minutes: CI runs this at a lower priority beside the test suite, on two cores.
  for _ in $(seq 600); do
    if pod healthcheck run "$1" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  pod logs "$1" 2>&1 | tail -40 >&2
  fail "$1 never became healthy"
}
# A JSON field of the answer on stdin.
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
api() { curl -sf -H "authorization: Bearer $token" -H 'content-type: application/json' "$@"; }
# Make the admin inside container $1, sign in at $url, open a ticket; sets $token and $ticket.
open_ticket() {
  pod exec "$1" nixflow users create --email admin@example.com --name Admin --role admin \
    --password change-me-now >/dev/null
  sign_in
  ticket=$(api -X POST "$url/api/tickets" -d '{"title":"Printer on floor 2 jams","description":"every page"}' | field id)
}
sign_in() {
  token=$(curl -sf -X POST "$url/api/auth/login" -H 'content-type: application/json' \
    -d '{"email":"admin@example.com","password":"change-me-now"}' | field token)
}
check_ticket() {
  local title
  title=$(api "$url/api/tickets/$ticket" | field title)
  [ "$title" = "Printer on floor 2 jams" ] || fail "$1: ticket $ticket came back as '$title'"
}

# The two bases are independent: made side by side.
bash scripts/container-base.sh "$base" >/dev/null &
base_pid=$!
bash scripts/container-base.sh "$services" postgresql redis-server nginx-light >/dev/null
wait "$base_pid"
phase "base images from Debian packages"
# The wheels are built by the Python the image runs (Debian's python3): markers such as
# `python_full_version < "3.11.3"` then pick exactly the packages the image needs.
host_python=$(/usr/bin/python3 -c 'import platform; print(platform.python_version())')
image_python=$(run --rm "$base" python3 -c 'import platform; print(platform.python_version())')
[ "$host_python" = "$image_python" ] || fail "Debian's python3 is $host_python here, $image_python in the base"
# Built from a copy of the tree, so the build's own files (build/, egg-info) never land beside a running test suite.
tar --exclude=__pycache__ -c pyproject.toml README.md src Containerfile .containerignore | tar -x -C "$work/context"
/usr/bin/python3 -m venv "$work/wheel-venv"
(cd "$work/context" && "$work/wheel-venv/bin/pip" wheel --quiet --disable-pip-version-check . -w dist/wheels)
phase "wheels (host pip and index)"
pod build --quiet --pull=never --layers=false --format docker --build-arg BASE="$base" -t "$image" "$work/context" \
  >/dev/null
phase "image built"

# Embedded mode: the image's default command, the SQLite file on a named volume.
pod volume create --label "$label" "nixflow-$run_id-data" >/dev/null
printf 'NIXFLOW_SECRET_KEY=%s\n' "$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')" > "$work/nixflow.env"
run --detach --name "nixflow-$run_id" --publish 127.0.0.1::8000 --volume "nixflow-$run_id-data:/data" \
  --env-file "$work/nixflow.env" "$image" >/dev/null
url=http://$(pod port "nixflow-$run_id" 8000/tcp)
wait_healthy "nixflow-$run_id"
phase "embedded: serving and healthy at $url"
[ "$(pod exec "nixflow-$run_id" id -u)" != 0 ] || fail "the server runs as root"
open_ticket "nixflow-$run_id"
check_ticket "embedded"
phase "embedded: ticket $ticket opened and served"
pod restart "nixflow-$run_id" >/dev/null
url=http://$(pod port "nixflow-$run_id" 8000/tcp)
wait_healthy "nixflow-$run_id"
sign_in
check_ticket "after a restart"
phase "embedded: restarted, ticket $ticket still served"
# A restart keeps the container's own files; a new container keeps only what is on the volume.
pod rm --force "nixflow-$run_id" >/dev/null
run --detach --name "nixflow-$run_id" --publish 127.0.0.1::8000 --volume "nixflow-$run_id-data:/data" \
  --env-file "$work/nixflow.env" "$image" >/dev/null
url=http://$(pod port "nixflow-$run_id" 8000/tcp)
wait_healthy "nixflow-$run_id"
sign_in
check_ticket "in a new container on the same volume"
phase "embedded: a new container serves ticket $ticket from /data"
pod rm --force "nixflow-$run_id" >/dev/null

# Scale-out: compose.yaml's services with its commands, one `podman run` each on a network of their own, started in
# the order its depends_on gives.
net=nixflow-$run_id
pod network create "$net" >/dev/null
pod volume create --label "$label" "nixflow-$run_id-pg" >/dev/null
db_password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
nixflow_env=(--env "NIXFLOW_DATABASE_URL=postgresql+psycopg://nixflow:$db_password@db/nixflow"
  --env NIXFLOW_REDIS_URL=redis://redis:6379/0 --env NIXFLOW_ENV=production
  --env "NIXFLOW_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')")
# Each service's address goes into the /etc/hosts of every container started after it. Names still work through
# podman's DNS (aardvark-dns), but that answers "temporary failure in name resolution" while it reloads for a new
# container, and a CI run once failed on exactly that; a hosts entry does not depend on its timing.
hosts=()
service() {
  local name=$1 address
  shift
  run --detach --name "$name-$run_id" --network "$net" --network-alias "$name" "${hosts[@]}" "$@" >/dev/null
  address=$(pod inspect --format "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}" "$name-$run_id")
  [ -n "$address" ] || fail "scale-out: $name has no address on $net"
  hosts+=(--add-host "$name:$address")
}
service db --user postgres --env "NIXFLOW_DB_PASSWORD=$db_password" --volume "nixflow-$run_id-pg:/var/lib/postgresql" \
  --volume "$PWD/deploy/container/postgres.sh:/etc/nixflow/postgres.sh:ro" "$services" /etc/nixflow/postgres.sh
service redis --user redis "$services" redis-server --bind 0.0.0.0 --protected-mode no --save '' --appendonly no
run --rm --network "$net" "${hosts[@]}" "${nixflow_env[@]}" --no-healthcheck "$image" \
  sh -c 'for _ in $(seq 30); do nixflow db upgrade && exit 0; sleep 2; done; exit 1' >/dev/null
phase "scale-out: PostgreSQL and Redis up, migrated once"
for name in api1 api2; do
  service "$name" "${nixflow_env[@]}" --env NIXFLOW_TRUST_PROXY_HEADERS=true "$image" \
    nixflow serve --no-worker --host 0.0.0.0 --port 8000
done
service worker "${nixflow_env[@]}" --no-healthcheck "$image" nixflow worker
wait_healthy "api1-$run_id"
wait_healthy "api2-$run_id"
service proxy --publish 127.0.0.1::8080 --volume "$PWD/deploy/container/nginx.conf:/etc/nixflow/nginx.conf:ro" \
  "$services" nginx -c /etc/nixflow/nginx.conf -g 'daemon off;'
url=http://$(pod port "proxy-$run_id" 8080/tcp)
for _ in $(seq 240); do
  bus=$(curl -sf "$url/api/health" | field bus) && break
  sleep 0.5
done
[ "${bus:-}" = ok ] || fail "scale-out: the proxy's /api/health says bus '${bus:-}' (Redis expected)"
phase "scale-out: two APIs and a worker healthy behind $url"
open_ticket "api1-$run_id"
# nginx takes turns: four reads reach both API processes.
for _ in 1 2 3 4; do check_ticket "scale-out"; done
[ "$(pod inspect --format '{{.State.Running}}' "worker-$run_id")" = true ] || fail "scale-out: the worker stopped"
phase "scale-out: ticket $ticket opened and served through the proxy"
