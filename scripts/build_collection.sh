#!/usr/bin/env bash
# Build the baton.docker collection artifact and prove it installs and
# documents itself.
#
#  1. Copy the files git would ship (tracked plus untracked-but-not-ignored)
#     to build/collection-src, so stray local files never reach the artifact,
#     and run `ansible-galaxy collection build` there into build/dist.
#  2. Install the tarball into an empty, temporary collections path. The
#     collection has no dependencies, so nothing is asked of Ansible Galaxy
#     (--offline makes sure of it).
#  3. Check the installed copy: its files match its manifest, no build or
#     test output slipped in, every module an action group in meta/runtime.yml
#     lists is in plugins/modules, no module claims a version_added
#     later than galaxy.yml's version, and `ansible-doc` renders every
#     module, every other documented plugin and every role with an argument
#     spec - all from that clean install only.
#
# Usage: scripts/build_collection.sh
# Environment:
#   VENV   virtualenv holding ansible-core (default: .venv)
# Output: build/dist/baton-docker-<version>.tar.gz
# Exit status: 0 when the artifact builds, installs and every check passes.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-$here/.venv}
[ -x "$VENV/bin/ansible-galaxy" ] || { echo "collection: $VENV/bin/ansible-galaxy not found; run scripts/bootstrap.sh first" >&2; exit 2; }
started=$(date +%s)

src="$here/build/collection-src"
dist="$here/build/dist"
work=$(mktemp -d "${TMPDIR:-/tmp}/baton-collection.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Only the installed copy may be visible to the ansible-* commands below.
export PATH="$VENV/bin:$PATH"
printf '[defaults]\n' >"$work/ansible.cfg"
export ANSIBLE_CONFIG="$work/ansible.cfg"
export ANSIBLE_HOME="$work/home"
export ANSIBLE_COLLECTIONS_PATH="$work/collections"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export ANSIBLE_NOCOLOR=1
unset ANSIBLE_COLLECTIONS_PATHS

failures=0
fail() { echo "collection: FAIL: $*"; failures=$((failures + 1)); }

# --- 1. build ----------------------------------------------------------------
rm -rf "$src"
mkdir -p "$src" "$dist"
(
  cd "$here"
  git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do
        [ -e "$f" ] || [ -L "$f" ] || continue   # deleted but still in the index
        printf '%s\0' "$f"
      done \
    | tar --null -T - -cf - \
    | tar -C "$src" -xf -
)
version=$("$VENV/bin/python" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["version"])' "$src/galaxy.yml")
tarball="$dist/baton-docker-$version.tar.gz"
rm -f "$tarball"
(cd "$src" && ansible-galaxy collection build --force --output-path "$dist" .)
[ -f "$tarball" ] || { echo "collection: FAIL: $tarball was not built"; exit 1; }

# --- 2. install into a clean collections path --------------------------------
mkdir -p "$work/collections" "$work/home"
ansible-galaxy collection install --offline --force -p "$work/collections" "$tarball"
installed="$work/collections/ansible_collections/baton/docker"
[ -f "$installed/MANIFEST.json" ] || { echo "collection: FAIL: nothing installed at $installed"; exit 1; }

# --- 3. checks on the installed copy -----------------------------------------
cd "$work"

echo "collection: verifying installed files against the manifest"
ansible-galaxy collection verify --offline -p "$work/collections" baton.docker \
  || fail "installed files differ from FILES.json"

echo "collection: looking for files that must not ship"
unwanted=$(cd "$installed" && find . \( -path './.venv' -o -path './build' -o -path './tests/output' \
  -o -path './.ansible' -o -path './.pytest_cache' -o -name '__pycache__' -o -name '*.pyc' \
  -o -path './bench/results/*' -o -name '*.tar.gz' -o -path './.git' \) -print | sort)
[ -z "$unwanted" ] || fail "the artifact contains build or test output: $(echo "$unwanted" | tr '\n' ' ')"

modules=()
for f in "$installed"/plugins/modules/*.py; do
  [ -e "$f" ] || continue
  m=$(basename "$f" .py)
  [ "$m" = "__init__" ] && continue
  modules+=("$m")
done

echo "collection: checking meta/runtime.yml action groups"
"$VENV/bin/python" - "$installed" <<'PY' || fail "meta/runtime.yml action groups do not match plugins/modules"
import os, sys, yaml
root = sys.argv[1]
with open(os.path.join(root, 'meta', 'runtime.yml')) as f:
    runtime = yaml.safe_load(f) or {}
present = {n[:-3] for n in os.listdir(os.path.join(root, 'plugins', 'modules')) if n.endswith('.py') and n != '__init__.py'} \
    if os.path.isdir(os.path.join(root, 'plugins', 'modules')) else set()
bad = 0
for group, members in (runtime.get('action_groups') or {}).items():
    names = [m for m in members if isinstance(m, str)]
    for name in names:
        short = name.split('.')[-1]
        if short not in present:
            print('collection:   action group %s lists %s, which is not in plugins/modules' % (group, name))
            bad += 1
sys.exit(1 if bad else 0)
PY

echo "collection: rendering documentation for ${#modules[@]} module(s)"
for m in "${modules[@]}"; do
  if out=$(ansible-doc -t module "baton.docker.$m" 2>&1) && grep -q "baton.docker.$m" <<<"$out"; then
    echo "collection:   ok   module baton.docker.$m"
  else
    fail "ansible-doc -t module baton.docker.$m"
    echo "$out" | sed 's/^/    /' | tail -20
  fi
done

# A version_added later than the version being built would keep the module
# out of this release's changelog.
if [ "${#modules[@]}" -gt 0 ]; then
  fqcns=()
  for m in "${modules[@]}"; do fqcns+=("baton.docker.$m"); done
  if ansible-doc -t module --json "${fqcns[@]}" >"$work/modules.json" 2>"$work/modules.err"; then
    "$VENV/bin/python" - "$work/modules.json" "$version" <<'PY' || fail "module version_added is later than galaxy.yml version $version"
import json, sys
from ansible.module_utils.compat.version import LooseVersion
docs = json.load(open(sys.argv[1]))
built = LooseVersion(sys.argv[2])
bad = 0
for name, data in sorted(docs.items()):
    added = str((data.get('doc') or {}).get('version_added') or '')
    if not added or LooseVersion(added) > built:
        print('collection:   %s has version_added %r, not <= %s' % (name, added or None, built))
        bad += 1
sys.exit(1 if bad else 0)
PY
  else
    fail "ansible-doc --json for the modules"
    sed 's/^/    /' "$work/modules.err" | tail -20
  fi
fi

# Other plugin types. Filter and test plugins are documented in YAML files
# next to the Python file that defines them; the rest in the Python file.
for dir in "$installed"/plugins/*/; do
  type=$(basename "$dir")
  case "$type" in
    modules | module_utils | doc_fragments | plugin_utils | action) continue ;;
    filter | test) pattern='*.yml' ;;
    *) pattern='*.py' ;;
  esac
  for f in "$dir"$pattern; do
    [ -e "$f" ] || continue
    p=$(basename "$f"); p=${p%.*}
    [ "$p" = "__init__" ] && continue
    if out=$(ansible-doc -t "$type" "baton.docker.$p" 2>&1) && grep -q "baton.docker.$p" <<<"$out"; then
      echo "collection:   ok   $type baton.docker.$p"
    else
      fail "ansible-doc -t $type baton.docker.$p"
      echo "$out" | sed 's/^/    /' | tail -20
    fi
  done
done

for spec in "$installed"/roles/*/meta/argument_specs.yml; do
  [ -e "$spec" ] || continue
  r=$(basename "$(dirname "$(dirname "$spec")")")
  if out=$(ansible-doc -t role "baton.docker.$r" 2>&1) && grep -q "baton.docker.$r" <<<"$out"; then
    echo "collection:   ok   role baton.docker.$r"
  else
    fail "ansible-doc -t role baton.docker.$r"
    echo "$out" | sed 's/^/    /' | tail -20
  fi
done

elapsed=$(( $(date +%s) - started ))
if [ "$failures" -eq 0 ]; then
  echo "collection: PASSED in ${elapsed}s: ${tarball#"$here"/} ($(du -h "$tarball" | cut -f1)), ${#modules[@]} module(s)"
else
  echo "collection: FAILED with $failures problem(s) in ${elapsed}s"
  exit 1
fi
