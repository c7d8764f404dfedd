#!/usr/bin/env bash
# Build the execution environment baton-docker-ee:<collection version> with
# ansible-builder, from ee/execution-environment.yml: the locally imported Debian
# base (scripts/build_images.sh), ansible-core, ansible-runner, the Python
# requirements of the collection (meta/ee-requirements.txt) and the collection
# itself, built from this tree. Nothing is pulled from a registry.
#
# Usage: scripts/build_ee.sh
# Environment:
#   VENV   virtualenv holding ansible-builder (default: .venv)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
VENV=${VENV:-$here/.venv}
[ -x "$VENV/bin/ansible-builder" ] || { echo "ee: $VENV/bin/ansible-builder not found; run scripts/bootstrap.sh first" >&2; exit 2; }
started=$(date +%s)
version=$(awk '/^version:/ {print $2}' galaxy.yml)
image="baton-docker-ee:$version"

bash scripts/build_images.sh
bash scripts/build_collection.sh >/dev/null
mkdir -p build/ee
cp "build/dist/baton-docker-$version.tar.gz" build/ee/baton-docker.tar.gz
cp /etc/ssl/certs/ca-certificates.crt build/ee/ca-certificates.crt

"$VENV/bin/ansible-builder" build --container-runtime docker --file ee/execution-environment.yml \
  --context build/ee/context --tag "$image" --verbosity 1 > build/ee/build.log 2>&1 \
  || { tail -40 build/ee/build.log >&2; echo "ee: the build failed; full log in build/ee/build.log" >&2; exit 1; }
echo "ee: built $image in $(( $(date +%s) - started ))s"
