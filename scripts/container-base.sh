#!/usr/bin/env bash
# Make a local base image from Debian packages, for machines that reach no container registry:
#   scripts/container-base.sh [IMAGE [PACKAGE...]]
# Default: nixflow-base:bookworm with python3, python3-venv, ca-certificates, libmagic1 (attachments are typed by
# their bytes) and xmlsec1 (SAML signatures): the Containerfile's BASE.
# mmdebstrap writes a minimal bookworm as a tar to stdout; `podman import` makes it an image. Runs as root.
set -euo pipefail
image=${1:-nixflow-base:bookworm}
shift || true
packages=("$@")
[ ${#packages[@]} -gt 0 ] || packages=(python3 python3-venv ca-certificates libmagic1 xmlsec1)
# The host's mirror (its sources list), so this works where the host's apt works.
sources=/etc/apt/sources.list.d/debian.sources
[ -f "$sources" ] || sources=http://deb.debian.org/debian
include=$(IFS=,; echo "${packages[*]}")
# Documentation, manual pages and translations are left out: nothing in the image reads them.
mmdebstrap --quiet --variant=minbase --include="$include" \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  bookworm - "$sources" \
  | podman import --change 'CMD ["/bin/bash"]' - "$image" >/dev/null
echo "$image"
