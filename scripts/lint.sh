#!/usr/bin/env bash
# Run ansible-lint (production profile, see .ansible-lint) over the whole
# collection: roles, playbooks, molecule scenarios, inventories and metadata;
# then antsibull-docs lint-collection-docs over the documentation of every plugin and role.
# yamllint runs inside ansible-lint with the settings in .yamllint.
#
# --offline keeps ansible-lint away from Ansible Galaxy and from its release and
# schema look-ups; awx.awx comes from the `ansible` package (one cached download). baton.docker itself
# resolves through build/collections/ansible_collections/baton/docker, a link
# to this tree.
#
# Usage: scripts/lint.sh [extra ansible-lint arguments or paths...]
#   e.g. scripts/lint.sh roles/rollout
# Environment:
#   VENV   virtualenv holding ansible-lint (default: .venv)
#
# Exit status: 0 when nothing is reported, non-zero otherwise.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
VENV=${VENV:-$here/.venv}
[ -x "$VENV/bin/ansible-lint" ] || { echo "lint: $VENV/bin/ansible-lint not found; run scripts/bootstrap.sh first" >&2; exit 2; }

started=$(date +%s)

# The collection as Ansible sees it.
bash "$here/scripts/link_collection.sh"
link="$here/build/collections/ansible_collections/baton/docker"

# awx/playbooks/awx_templates.yml uses awx.awx: installed from the `ansible` package so that the args rule checks its
# options against the real modules.
VENV="$VENV" bash "$here/scripts/bundled_collections.sh" --dest "$here/build/collections" awx/awx

export PATH="$VENV/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$here/build/collections"
# Keep ansible-lint's scratch files (its ~/.ansible cache) inside build/.
export ANSIBLE_HOME="$here/build/ansible-lint-home"
export NO_COLOR=1

set +e
"$VENV/bin/ansible-lint" --offline --nocolor --format pep8 "$@"
rc=$?
# The documentation of every module, plugin and role as antsibull-docs (which builds the documentation site) reads
# it: markup, links between plugins, the schema of each DOCUMENTATION, EXAMPLES and RETURN.
if [ $# -eq 0 ]; then
  (cd "$link" && "$VENV/bin/antsibull-docs" lint-collection-docs --plugin-docs .)
  docs=$?
  [ "$docs" -eq 0 ] || echo "lint: antsibull-docs lint-collection-docs failed (exit $docs)"
  [ "$rc" -ne 0 ] || rc=$docs
fi
set -e

elapsed=$(( $(date +%s) - started ))
if [ "$rc" -eq 0 ]; then
  echo "lint: PASSED in ${elapsed}s"
else
  echo "lint: FAILED (exit $rc) in ${elapsed}s"
fi
exit "$rc"
