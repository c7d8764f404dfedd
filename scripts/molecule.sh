#!/usr/bin/env bash
# Run `molecule test` for every molecule scenario of the collection, against
# the local Docker engine, with nothing pulled and nothing fetched from Galaxy.
#
# Scenarios are found in molecule/<scenario>/molecule.yml (collection level)
# and roles/<role>/molecule/<scenario>/molecule.yml (role level, run from the
# role's directory). Their instances use the local image
# baton-base/molecule:bookworm (scripts/build_molecule_image.sh, cached).
#
# Molecule's docker driver runs community.docker and ansible.posix modules.
# Galaxy is out of reach, so both are taken out of the `ansible` package on
# PyPI (one wheel download, then cached) into build/collections, next to the
# link that makes this tree baton.docker.
#
# Usage: scripts/molecule.sh [scenario...]   (default: every scenario)
#   A scenario is selected by its name (every scenario of that name), by
#   <role dir>:<name>, or by a role directory (all of its scenarios), e.g.
#   scripts/molecule.sh haproxy
#   scripts/molecule.sh roles/install:default roles/logrotate
# Environment:
#   VENV                   virtualenv holding molecule (default: .venv)
#   BATON_ANSIBLE_BUNDLE   version of the `ansible` package the collections are
#                          taken from (scripts/bundled_collections.sh)
#   MOLECULE_ARGS          extra arguments for `molecule test`, e.g. "--destroy never"
#   MOLECULE_JOBS          scenarios run at the same time (default 2)
#
# Exit status: 0 when every scenario passed, non-zero otherwise.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
VENV=${VENV:-$here/.venv}
[ -x "$VENV/bin/molecule" ] || { echo "molecule: $VENV/bin/molecule not found; run scripts/bootstrap.sh first" >&2; exit 2; }
started=$(date +%s)

# --- environment -------------------------------------------------------------
collections="$here/build/collections"
export PATH="$VENV/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$collections"
ANSIBLE_HOME=$(mktemp -d /tmp/baton-molecule-home.XXXXXX)
export ANSIBLE_HOME
trap 'rm -rf "$ANSIBLE_HOME"' EXIT
export ANSIBLE_LOCAL_TEMP="$ANSIBLE_HOME/tmp"
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 NO_COLOR=1

# The collection as Ansible sees it.
bash "$here/scripts/link_collection.sh" "$collections"

# --- collections the docker driver needs ------------------------------------
VENV="$VENV" bash "$here/scripts/bundled_collections.sh" --dest "$collections" community/docker ansible/posix

# --- images ----------------------------------------------------------------------
# The instance image, and the images the scenarios run (busybox, the example stack); cached.
bash "$here/scripts/build_images.sh"

# --- scenarios -----------------------------------------------------------------
# Each entry: <directory molecule runs in>|<scenario name>
scenarios=()
for f in molecule/*/molecule.yml roles/*/molecule/*/molecule.yml; do
  [ -f "$f" ] || continue
  name=$(basename "$(dirname "$f")")
  base=$(dirname "$(dirname "$(dirname "$f")")")
  if [ "$#" -gt 0 ]; then
    wanted=0
    for w in "$@"; do
      { [ "$w" = "$name" ] || [ "$w" = "$base:$name" ] || [ "$w" = "$base" ]; } && wanted=1
    done
    [ "$wanted" = 1 ] || continue
  fi
  scenarios+=("$base|$name")
done
if [ "${#scenarios[@]}" -eq 0 ]; then
  echo "molecule: no scenario found${*:+ for: $*}" >&2
  exit 2
fi

# Scenarios run MOLECULE_JOBS at a time (default 2: each is mostly waiting on its instance and on
# Ansible's processes); each one's output is printed whole when it ends, in the order they end.
jobs_max=${MOLECULE_JOBS:-2}
logs=$(mktemp -d /tmp/baton-molecule-logs.XXXXXX)
trap 'rm -rf "$ANSIBLE_HOME" "$logs"' EXIT
run_scenario() {  # index base name label
  local t0 rc
  t0=$(date +%s)
  set +e
  # shellcheck disable=SC2086
  (cd "$here/$2" && molecule test -s "$3" ${MOLECULE_ARGS:-}) >"$logs/$1.log" 2>&1
  rc=$?
  set -e
  echo "$rc $(( $(date +%s) - t0 ))" >"$logs/$1.rc"
}
declare -A pending=()
report() {  # index label: print a finished scenario's output and result
  local rc t
  read -r rc t <"$logs/$1.rc"
  echo "molecule: === $2"
  cat "$logs/$1.log"
  if [ "$rc" -eq 0 ]; then
    echo "molecule: $2 passed in ${t}s"
  else
    echo "molecule: $2 FAILED (exit $rc) in ${t}s"
    failed+=("$2")
  fi
}
collect() {  # report every scenario that has ended
  local i
  for i in "${!pending[@]}"; do
    if [ -f "$logs/$i.rc" ]; then
      report "$i" "${pending[$i]}"
      unset "pending[$i]"
    fi
  done
}
failed=()
index=0
for entry in "${scenarios[@]}"; do
  base=${entry%%|*}
  name=${entry#*|}
  label=$name
  [ "$base" = . ] || label="$base:$name"
  while [ "${#pending[@]}" -ge "$jobs_max" ]; do
    wait -n || true
    collect
  done
  pending[$index]=$label
  run_scenario "$index" "$base" "$name" "$label" &
  index=$((index + 1))
done
while [ "${#pending[@]}" -gt 0 ]; do
  wait -n || true
  collect
done

elapsed=$(( $(date +%s) - started ))
if [ "${#failed[@]}" -eq 0 ]; then
  echo "molecule: PASSED ${#scenarios[@]} scenario(s) in ${elapsed}s"
  exit 0
fi
echo "molecule: FAILED ${failed[*]} (${#failed[@]} of ${#scenarios[@]}) in ${elapsed}s"
exit 1
