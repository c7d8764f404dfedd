#!/usr/bin/env bash
# Put collections that ship in the `ansible` package on PyPI into a collections
# path, with no Galaxy: one wheel download (cached in build/cache/wheels), then
# only the named collections extracted, each replaced at once.
#
# Usage: scripts/bundled_collections.sh [--dest DIR] NAMESPACE/NAME...
#   e.g. scripts/bundled_collections.sh community/docker ansible/posix awx/awx
#   --dest   collections path to fill (default: build/collections)
# Environment:
#   VENV                   virtualenv whose pip and python are used (default: .venv)
#   BATON_ANSIBLE_BUNDLE   version of the `ansible` package (default matches ansible-core 2.19)
#
# Collections already present (their MANIFEST.json) are left as they are.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-$here/.venv}
BATON_ANSIBLE_BUNDLE=${BATON_ANSIBLE_BUNDLE:-12.3.0}
dest="$here/build/collections"
if [ "${1:-}" = "--dest" ]; then
  dest=$2
  shift 2
fi
[ "$#" -gt 0 ] || { echo "bundled_collections: name at least one NAMESPACE/NAME" >&2; exit 2; }

missing=()
for c in "$@"; do
  [ -f "$dest/ansible_collections/$c/MANIFEST.json" ] || missing+=("$c")
done
[ "${#missing[@]}" -gt 0 ] || exit 0

wheels="$here/build/cache/wheels"
mkdir -p "$wheels"
wheel="$wheels/ansible-$BATON_ANSIBLE_BUNDLE-py3-none-any.whl"
if [ ! -f "$wheel" ]; then
  echo "bundled_collections: downloading ansible==$BATON_ANSIBLE_BUNDLE from PyPI for ${missing[*]}"
  "$VENV/bin/pip" download -q --no-deps --only-binary=:all: -d "$wheels" "ansible==$BATON_ANSIBLE_BUNDLE"
fi
echo "bundled_collections: extracting ${missing[*]} into ${dest#"$here"/}"
"$VENV/bin/python" - "$wheel" "$dest" "${missing[@]}" <<'PY'
import os
import shutil
import sys
import tempfile
import zipfile

wheel, dest_root, names = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as archive:
    members = archive.namelist()
    for name in names:
        prefix = "ansible_collections/%s/" % name
        chosen = [m for m in members if m.startswith(prefix) and not m.endswith("/")]
        if not any(m == prefix + "MANIFEST.json" for m in chosen):
            sys.exit("bundled_collections: %s is not in %s" % (name, os.path.basename(wheel)))
        final = os.path.join(dest_root, prefix).rstrip("/")
        os.makedirs(os.path.dirname(final), exist_ok=True)
        staging = tempfile.mkdtemp(dir=os.path.dirname(final))
        for member in chosen:
            target = os.path.join(staging, member[len(prefix):])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with archive.open(member) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
        shutil.rmtree(final, ignore_errors=True)
        os.rename(staging, final)
        os.chmod(final, 0o755)
PY
