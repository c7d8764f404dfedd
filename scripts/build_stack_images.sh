#!/usr/bin/env bash
# Build the images that stand in for the private images of the example stack
# (demo/stack/README.md): a Debian base with python3, haproxy and nginx-light,
# the stack application (v1, v2, v3, broken), a configured HAProxy, a
# configured nginx and a log forwarder. Everything comes from local sources:
# the base root filesystem is made with debootstrap on this host and imported,
# the others are built FROM it; nothing is pulled.
#
# Cached: an image is skipped when it carries the label baton.source-sha of
# the same sources (the package list for the base, the build folder plus the
# base's stamp for the others). BATON_STACK_REBUILD=1 forces a rebuild.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

BASE=baton-base/stack:bookworm
PACKAGES=python3,haproxy,nginx-light
REBUILD=${BATON_STACK_REBUILD:-0}

label_of() { docker image inspect --format '{{ index .Config.Labels "baton.source-sha" }}' "$1" 2>/dev/null || true; }
fresh() { [ "$REBUILD" != 1 ] && [ "$(label_of "$1")" = "$2" ]; }

# Hash of every file under a folder (names, modes and contents), mixed with extra text.
tree_sha() {  # dir, extra
  local dir=$1 extra=$2
  {
    printf '%s\n' "$extra"
    (cd "$dir" && find . -type f ! -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z \
       | xargs -0 stat -c '%a %n' && find . -type f ! -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z \
       | xargs -0 sha256sum)
  } | sha256sum | cut -c1-16
}

# --- 1. the base -------------------------------------------------------------
base_stamp=$(printf 'bookworm minbase %s' "$PACKAGES" | sha256sum | cut -c1-16)
if ! fresh "$BASE" "$base_stamp"; then
  command -v debootstrap >/dev/null || { echo "images: debootstrap is missing; run scripts/bootstrap.sh first" >&2; exit 2; }
  echo "images: building $BASE (debootstrap, about a minute)"
  started=$(date +%s)
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  rootfs=$(mktemp -d /tmp/baton-stack-rootfs.XXXXXX)
  log=/tmp/baton-stack-debootstrap.log
  trap 'rm -rf "$rootfs"' EXIT
  # debootstrap puts a policy-rc.d (exit 101) and a no-op start-stop-daemon in
  # the target while it installs packages, so the haproxy and nginx packages do
  # not start daemons on this host (they would bind port 80 here).
  debootstrap --variant=minbase --include="$PACKAGES" bookworm "$rootfs" "$mirror" >"$log" 2>&1 \
    || { echo "images: debootstrap failed, see $log" >&2; exit 1; }
  # The packaged site and the init scripts are not used in containers.
  rm -f "$rootfs/etc/nginx/sites-enabled/default"
  tar -C "$rootfs" \
      --exclude='./var/cache/apt/archives/*.deb' --exclude='./var/cache/apt/*.bin' \
      --exclude='./var/lib/apt/lists/*_*' \
      --exclude='./usr/share/doc/*' --exclude='./usr/share/man/*' \
      --exclude='./usr/share/info/*' --exclude='./usr/share/locale/*' \
      -c . \
    | docker import \
        -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -c 'CMD ["python3"]' \
        -c "LABEL baton.source-sha=$base_stamp" \
        - "$BASE" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
  echo "images: $BASE built in $(( $(date +%s) - started ))s"
fi

# --- 2..5. images built FROM the base ------------------------------------------
# The stamp mixes in the base's image id, so a rebuilt base rebuilds them all.
base_id=$(docker image inspect --format '{{ .Id }}' "$BASE")
build() {  # image:tag, folder, build args...
  local image=$1 dir=$2; shift 2
  local sha
  sha=$(tree_sha "$dir" "$base_id $*")
  if fresh "$image" "$sha"; then return; fi
  echo "images: building $image"
  docker build -q --label "baton.source-sha=$sha" -t "$image" "$@" "$dir" >/dev/null
}

build baton-stack/app:v1 demo/stack/app --build-arg VERSION=v1
build baton-stack/app:v2 demo/stack/app --build-arg VERSION=v2
build baton-stack/app:v3 demo/stack/app --build-arg VERSION=v3
build baton-stack/app:broken demo/stack/app --build-arg VERSION=broken --build-arg BROKEN=1
build baton-stack/haproxy:latest demo/stack/haproxy
build baton-stack/nginx:latest demo/stack/nginx
build baton-stack/logforwarder:latest demo/stack/logforwarder
