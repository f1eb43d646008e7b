#!/usr/bin/env bash
# CI: build the base image and NixFlow's image from nothing, run it detached on 127.0.0.1, open a ticket through the
# API, restart the container and check the ticket survived on the /data volume; then remove everything it made.
# Runs as root with Debian's podman. No registry is reached: the base comes from Debian packages
# (scripts/container-base.sh), NixFlow and its dependencies from wheels built here with Debian's python3.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
run_id=check-$$
base=localhost/nixflow-base:$run_id image=localhost/nixflow:$run_id
container=nixflow-$run_id volume=nixflow-$run_id-data
work=$(mktemp -d)
mkdir "$work/context"

# This machine's podman settings, kept here and not in the image: Debian's runc (crun fails on hybrid cgroups),
# the cgroupfs manager (no systemd), and no default ulimits (setting them is not permitted here).
printf '[containers]\ndefault_ulimits = []\n' > "$work/containers.conf"
export CONTAINERS_CONF=$work/containers.conf
pod() { podman --runtime runc --cgroup-manager cgroupfs "$@"; }

cleanup() {
  pod rm --force --ignore "$container" >/dev/null 2>&1 || true
  pod volume rm --force "$volume" >/dev/null 2>&1 || true
  pod rmi --force "$image" "$base" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
phase() { printf 'container-check: %-44s %4ds\n' "$1" "$((SECONDS - started))"; }

# Wait until the image's HEALTHCHECK passes: a marker, not a fixed time (no systemd timer runs it here).
wait_healthy() {
  for _ in $(seq 120); do
    if pod healthcheck run "$container" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  pod logs "$container" | tail -40 >&2
  echo "container-check: $container never became healthy" >&2
  return 1
}
# A JSON field of the answer on stdin, or a failure naming the field and showing the answer.
field() { python3 -c 'import json,sys; body=sys.stdin.read(); print(json.loads(body)[sys.argv[1]])' "$1"; }
login() {
  curl -sf -X POST "$url/api/auth/login" -H 'content-type: application/json' \
    -d '{"email":"admin@example.com","password":"change-me-now"}' | field token
}

bash scripts/container-base.sh "$base" >/dev/null
phase "base image from Debian packages"
# The wheels are built by the Python the image runs (Debian's python3): markers such as
# `python_full_version < "3.11.3"` then pick exactly the packages the image needs.
host_python=$(/usr/bin/python3 -c 'import platform; print(platform.python_version())')
image_python=$(pod run --rm "$base" python3 -c 'import platform; print(platform.python_version())')
if [ "$host_python" != "$image_python" ]; then
  echo "container-check: Debian's python3 is $host_python here but $image_python in the base: apt-get upgrade" >&2
  exit 1
fi
# Built from a copy of the tree, so the build's own files (build/, egg-info) never land beside a running test suite.
tar --exclude=__pycache__ -c pyproject.toml README.md src Containerfile .containerignore | tar -x -C "$work/context"
/usr/bin/python3 -m venv "$work/wheel-venv"
(cd "$work/context" && "$work/wheel-venv/bin/pip" wheel --quiet --disable-pip-version-check . -w dist/wheels)
phase "wheels (host pip and index)"
pod build --quiet --layers=false --format docker --build-arg BASE="$base" -t "$image" "$work/context" >/dev/null
phase "image built"

pod run --detach --name "$container" --publish 127.0.0.1::8000 --volume "$volume:/data" \
  --env NIXFLOW_SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')" \
  --health-interval disable "$image" >/dev/null
url=http://$(pod port "$container" 8000/tcp)
wait_healthy
phase "serving and healthy at $url"
[ "$(pod exec "$container" id -u)" != 0 ] || { echo "container-check: the server runs as root" >&2; exit 1; }
pod exec "$container" nixflow users create --email admin@example.com --name Admin --role admin \
  --password change-me-now >/dev/null
token=$(login)
ticket=$(curl -sf -X POST "$url/api/tickets" -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"title":"Printer on floor 2 jams","description":"every third page"}' | field id)
title=$(curl -sf "$url/api/tickets/$ticket" -H "authorization: Bearer $token" | field title)
[ "$title" = "Printer on floor 2 jams" ] || { echo "container-check: ticket $ticket came back as '$title'" >&2; exit 1; }
phase "ticket $ticket opened and served"

pod restart "$container" >/dev/null
url=http://$(pod port "$container" 8000/tcp)
wait_healthy
token=$(login)
title=$(curl -sf "$url/api/tickets/$ticket" -H "authorization: Bearer $token" | field title)
[ "$title" = "Printer on floor 2 jams" ] || { echo "container-check: after a restart ticket $ticket is '$title'" >&2; exit 1; }
phase "restarted: ticket $ticket survived on /data"
