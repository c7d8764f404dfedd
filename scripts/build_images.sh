#!/usr/bin/env bash
# Build every image the demo, the tests and the benchmark use, from local
# sources only (nothing is pulled): a busybox base, a Debian+Python base, and
# the demo application as v1, v2 and broken. Cached: an image whose source
# hash label matches is not rebuilt.
#
# The molecule instance image and the stack images (each from a debootstrap of
# its own, a single process at a time) build at the same time as the busybox,
# Debian+Python and demo images; their output is printed once they ended.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

side=$(mktemp -d "${TMPDIR:-/tmp}/baton-images.XXXXXX")
trap 'rm -rf "$side"' EXIT
side_pids=()
sides=(build_molecule_image build_stack_images)
for part in "${sides[@]}"; do
  ( set +e; bash "$here/scripts/$part.sh" >"$side/$part.log" 2>&1; echo $? >"$side/$part.rc" ) &
  side_pids+=("$!")
done
# Every side build's output and status, printed once (also when the builds below fail).
side_report() {
  local part rc=0 status
  wait "${side_pids[@]}" 2>/dev/null || true
  for part in "${sides[@]}"; do
    cat "$side/$part.log" 2>/dev/null || true
    status=$(cat "$side/$part.rc" 2>/dev/null || echo 1)
    if [ "$status" -ne 0 ]; then echo "images: scripts/$part.sh failed (exit $status)" >&2; rc=1; fi
  done
  return "$rc"
}
trap 'side_report || true; rm -rf "$side"' EXIT

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
label_of() { docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }

if ! image_exists baton-base/busybox:latest; then
  echo "images: building baton-base/busybox:latest"
  tmp=$(mktemp -d)
  mkdir -p "$tmp/bin" "$tmp/tmp" "$tmp/etc"
  cp /bin/busybox "$tmp/bin/busybox"
  for app in $("$tmp/bin/busybox" --list); do
    [ "$app" = busybox ] || ln -s busybox "$tmp/bin/$app"
  done
  echo "root:x:0:0:root:/root:/bin/sh" >"$tmp/etc/passwd"
  tar -C "$tmp" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - baton-base/busybox:latest >/dev/null
  rm -rf "$tmp"
fi

if ! image_exists baton-base/python:bookworm; then
  echo "images: building baton-base/python:bookworm (debootstrap, about a minute)"
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  rootfs=$(mktemp -d)
  debootstrap --variant=minbase --include=python3 bookworm "$rootfs" "$mirror" >/tmp/baton-debootstrap.log 2>&1 \
    || { echo "debootstrap failed, see /tmp/baton-debootstrap.log" >&2; exit 1; }
  tar -C "$rootfs" --exclude='./var/cache/apt/archives/*.deb' --exclude='./var/lib/apt/lists/*_*' -c . \
    | docker import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -c 'CMD ["python3"]' - baton-base/python:bookworm >/dev/null
  rm -rf "$rootfs"
fi

src_sha=$(cat demo/app/Dockerfile demo/app/server.py | sha256sum | cut -c1-16)
build_demo() {  # tag, build args...
  local tag=$1; shift
  if [ "$(label_of "baton-demo/app:$tag" baton.source-sha)" = "$src_sha" ]; then return; fi
  echo "images: building baton-demo/app:$tag"
  docker build -q --label "baton.source-sha=$src_sha" -t "baton-demo/app:$tag" "$@" demo/app >/dev/null
}
build_demo v1 --build-arg VERSION=v1
build_demo v2 --build-arg VERSION=v2
build_demo v3 --build-arg VERSION=v3
build_demo broken --build-arg VERSION=broken --build-arg BROKEN=1
trap 'rm -rf "$side"' EXIT
side_report
