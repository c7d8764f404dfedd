#!/usr/bin/env bash
# Make this tree the collection baton.docker as Ansible sees it: COLLECTIONS/ansible_collections/baton/docker, a link
# to the tree (nothing is copied). Left as it is when it already exists.
#
# Usage: scripts/link_collection.sh [COLLECTIONS]   (default: build/collections)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
link="${1:-$here/build/collections}/ansible_collections/baton/docker"
if [ ! -e "$link" ]; then
  mkdir -p "$(dirname "$link")"
  ln -sfn "$here" "$link"
fi
