#!/usr/bin/env bash
# Prepare this machine for the demo, the tests and the benchmark:
# Debian packages, a running Docker engine, the Python virtualenv and the
# collection linked into a collections path. Safe to run again: every step
# is skipped when its result is already there.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

APT_PACKAGES=(docker.io haproxy debootstrap busybox-static wrk docker-registry
              apache2-utils logrotate cron python3-venv rsync git shellcheck procps
              iproute2 e2fsprogs mount openssh-server chromium)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The demo, the tests and the benchmark run their own HAProxy and registry
# instances on their own ports; the packaged services are not used.
if ! docker info >/dev/null 2>&1; then
  echo "bootstrap: starting dockerd"
  # Network namespaces an engine that was killed left mounted would keep its containers' addresses alive on
  # docker0 (and answer for them); no engine runs now, so none of them is in use.
  awk '$3 == "nsfs" && $2 ~ "^/run/docker/netns/" {print $2}' /proc/mounts | xargs -r -n1 umount 2>/dev/null || true
  mkdir -p /var/log
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
  docker info >/dev/null 2>&1 || { echo "bootstrap: dockerd did not answer, see /var/log/dockerd.log" >&2; exit 1; }
fi

VENV=${VENV:-$here/.venv}
if [ ! -x "$VENV/bin/python" ]; then
  echo "bootstrap: creating $VENV"
  python3 -m venv "$VENV"
fi
stamp="$VENV/.requirements.sha"
want=$(sha256sum < requirements-dev.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing Python requirements"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r requirements-dev.txt
  echo "$want" >"$stamp"
fi

# The collection as Ansible sees it: build/collections/ansible_collections/baton/docker -> this tree.
mkdir -p build/collections/ansible_collections/baton
ln -sfn "$here" build/collections/ansible_collections/baton/docker
