#!/usr/bin/env bash
# Run Galaxy's importer on the tarball the collection stage built (build/dist), as Galaxy runs it on an upload:
# its default settings (ansible-doc on every plugin, ansible-lint's production profile offline, no ansible-test), with
# its own pinned ansible-core, ansible-lint and flake8 (requirements-galaxy.txt) in a virtualenv of their own.
# Any line it prints with ERROR or WARNING fails the stage, as does a failed import.
#
# Usage: scripts/galaxy_import.sh [TARBALL]
# Environment:
#   GALAXY_VENV   the importer's virtualenv (default: build/galaxy-importer-venv; made when missing or outdated)
# Output: build/galaxy-import/importer.log
# Exit status: 0 when the import succeeded with no ERROR or WARNING line.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
started=$(date +%s)
tarball=${1:-$(find "$here/build/dist" -maxdepth 1 -name 'baton-docker-*.tar.gz' 2>/dev/null | sort | tail -1)}
if [ -z "$tarball" ] || [ ! -f "$tarball" ]; then
  echo "galaxy: no collection tarball (build/dist); run scripts/build_collection.sh first" >&2
  exit 2
fi
tarball=$(realpath "$tarball")

venv=${GALAXY_VENV:-$here/build/galaxy-importer-venv}
stamp="$venv/.requirements.sha"
want=$(sha256sum < requirements-galaxy.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "galaxy: installing galaxy-importer (requirements-galaxy.txt) in ${venv#"$here"/}"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --no-deps -r requirements-galaxy.txt
  echo "$want" > "$stamp"
fi

out="$here/build/galaxy-import"
rm -rf "$out"
mkdir -p "$out/tmp"
log="$out/importer.log"
# The importer calls ansible-doc and ansible-lint by name: its own, not the project's.
set +e
(cd "$out" && env -u ANSIBLE_CONFIG -u ANSIBLE_COLLECTIONS_PATH -u ANSIBLE_HOME -u ANSIBLE_LOCAL_TEMP \
  PATH="$venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" HOME="$out" TMPDIR="$out/tmp" \
  "$venv/bin/python" -m galaxy_importer.main "$tarball") >"$log" 2>&1
rc=$?
set -e
grep -v '^Loading ' "$log" | sed 's/^/galaxy: /'
flagged=$(grep -E 'ERROR|WARNING' "$log" || true)
elapsed=$(( $(date +%s) - started ))
if [ "$rc" -ne 0 ] || [ -n "$flagged" ] || ! grep -q '^Importer processing completed successfully' "$log"; then
  echo "galaxy: FAILED (exit $rc, $(grep -cE 'ERROR|WARNING' "$log" || true) ERROR/WARNING line(s)) in ${elapsed}s; see ${log#"$here"/}"
  exit 1
fi
echo "galaxy: PASSED in ${elapsed}s: $(grep -c '^Loading ' "$log") content items of ${tarball}, no ERROR or WARNING"
