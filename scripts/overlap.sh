#!/usr/bin/env bash
# Run two chains of `make test` stages at the same time: the first in the foreground (its output as it comes),
# the second in the background (its output kept, then printed whole once both chains ended). Within a chain the
# stages run one after the other, each through scripts/stage.sh (so each keeps its "stage NAME: N s" line), and a
# chain stops at its first failing stage, as make does.
#
# Only stages that share no files may overlap: e.g. the images (the Docker engine, debootstrap under /tmp), the
# collection (build/collection-src, build/dist) and the execution environment (build/ee, the engine) with sanity
# (build/sanity, build/ansible-test-home) and lint (build/collections, build/ansible-lint-home), neither of which needs
# the engine or build/dist.
#
# Usage: scripts/overlap.sh NAME=COMMAND... -- NAME=COMMAND...
#   e.g. scripts/overlap.sh 'images=bash scripts/build_images.sh' -- 'lint=bash scripts/lint.sh'
#
# Exit status: 0 when every stage of both chains passed, else the first failing stage's status (foreground first).
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
front=()
back=()
side=front
for arg in "$@"; do
  if [ "$arg" = -- ]; then side=back; continue; fi
  case "$arg" in
    *=*) ;;
    *) echo "overlap: not NAME=COMMAND: $arg" >&2; exit 2 ;;
  esac
  if [ "$side" = front ]; then front+=("$arg"); else back+=("$arg"); fi
done
if [ "${#front[@]}" -eq 0 ] || [ "${#back[@]}" -eq 0 ]; then
  echo "overlap: give stages on both sides of --" >&2
  exit 2
fi

chain() {  # NAME=COMMAND...: run them in order, stop at the first failure
  local spec
  for spec in "$@"; do
    bash "$here/scripts/stage.sh" "${spec%%=*}" bash -c "${spec#*=}" || return $?
  done
}
names() { local spec out=(); for spec in "$@"; do out+=("${spec%%=*}"); done; echo "${out[*]}"; }

started=$(date +%s)
log=$(mktemp "${TMPDIR:-/tmp}/baton-overlap.XXXXXX")
trap 'rm -f "$log"' EXIT
chain "${back[@]}" >"$log" 2>&1 &
back_pid=$!
chain "${front[@]}"
front_rc=$?
[ "$front_rc" -eq 0 ] || echo "overlap: $(names "${front[@]}") failed (exit $front_rc); waiting for $(names "${back[@]}")"
wait "$back_pid"
back_rc=$?
cat "$log"
echo "stages [$(names "${front[@]}")] alongside [$(names "${back[@]}")]: $(( $(date +%s) - started )) s" \
     "(exit ${front_rc}/${back_rc})"
[ "$front_rc" -ne 0 ] && exit "$front_rc"
exit "$back_rc"
