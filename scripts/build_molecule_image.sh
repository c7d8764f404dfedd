#!/usr/bin/env bash
# Build baton-base/molecule:bookworm, the instance image of the molecule
# scenarios: Debian bookworm with python3 and python3-apt (for Ansible, its apt
# module and testinfra), haproxy, procps and iproute2 already installed, so a
# scenario needs no network inside its containers. The root filesystem is made with debootstrap on this host and
# imported; nothing is pulled.
#
# Cached: skipped when the image exists and carries the label of the same
# package list. BATON_MOLECULE_REBUILD=1 forces a rebuild.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

IMAGE=${BATON_MOLECULE_IMAGE:-baton-base/molecule:bookworm}
PACKAGES=python3,python3-apt,haproxy,procps,iproute2,logrotate,cron,docker.io,python3-docker
stamp=$(printf 'bookworm minbase %s' "$PACKAGES" | sha256sum | cut -c1-16)

label_of() { docker image inspect --format '{{ index .Config.Labels "baton.source-sha" }}' "$1" 2>/dev/null || true; }

if [ "${BATON_MOLECULE_REBUILD:-0}" != 1 ] && [ "$(label_of "$IMAGE")" = "$stamp" ]; then
  exit 0
fi

command -v debootstrap >/dev/null || { echo "images: debootstrap is missing; run scripts/bootstrap.sh first" >&2; exit 2; }

echo "images: building $IMAGE (debootstrap, about a minute)"
started=$(date +%s)
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
rootfs=$(mktemp -d /tmp/baton-molecule-rootfs.XXXXXX)
log=/tmp/baton-molecule-debootstrap.log
cleanup() { rm -rf "$rootfs"; }
trap cleanup EXIT

# debootstrap installs a policy-rc.d that denies service starts, so the
# haproxy package does not start a daemon on this host while it is installed.
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$rootfs" "$mirror" >"$log" 2>&1 \
  || { echo "images: debootstrap failed, see $log" >&2; exit 1; }

tar -C "$rootfs" --exclude='./var/cache/apt/archives/*.deb' --exclude='./var/lib/apt/lists/*_*' -c . \
  | docker import \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      -c 'CMD ["sleep", "infinity"]' \
      -c "LABEL baton.source-sha=$stamp" \
      - "$IMAGE" >/dev/null
echo "images: $IMAGE built in $(( $(date +%s) - started ))s"
