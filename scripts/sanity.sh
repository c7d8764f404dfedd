#!/usr/bin/env bash
# Run `ansible-test sanity` on the collection, without containers and with no
# network access other than PyPI.
#
# ansible-test only accepts a collection that physically sits at
# .../ansible_collections/<namespace>/<name>, so the files git would ship
# (tracked plus untracked-but-not-ignored) are copied fresh into
# build/sanity/ansible_collections/baton/docker on every run and tested there.
#
# ansible-test runs each sanity test in a virtualenv of its own, filled from
# PyPI with the versions it pins. Those virtualenvs are kept under
# build/ansible-test-home (ansible-test's ~/.ansible/test/venv), so only the
# first run pays for the installs.
#
# Usage: scripts/sanity.sh [extra ansible-test sanity arguments...]
#   e.g. scripts/sanity.sh --test pep8
#        scripts/sanity.sh --test validate-modules plugins/modules/container_swap.py
# Environment:
#   VENV            virtualenv holding ansible-core (default: .venv)
#   SANITY_PYTHON   Python version to test with (default: the virtualenv's,
#                   3.11 on these machines)
#
# Exit status: 0 when every sanity test passed, non-zero otherwise.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-$here/.venv}
ansible_test="$VENV/bin/ansible-test"
[ -x "$ansible_test" ] || { echo "sanity: $ansible_test not found; run scripts/bootstrap.sh first" >&2; exit 2; }
SANITY_PYTHON=${SANITY_PYTHON:-$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')}

started=$(date +%s)
stage_root="$here/build/sanity"
stage="$stage_root/ansible_collections/baton/docker"
# Kept short on purpose: entry points generated in these virtualenvs must stay
# under the 127-character shebang limit.
test_home="$here/build/ansible-test-home"

# --- 1. fresh copy of the shippable tree ------------------------------------
rm -rf "$stage_root/ansible_collections"
mkdir -p "$stage" "$test_home"
(
  cd "$here"
  git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do
        case "$f" in
          .venv/* | build/* | tests/output/*) continue ;;
        esac
        # skip files deleted from the work tree but still in the index
        [ -e "$f" ] || [ -L "$f" ] || continue
        printf '%s\0' "$f"
      done \
    | tar --null -T - -cf - \
    | tar -C "$stage" -xf -
)
# ansible-test asks git which files belong to the content; a repository of
# its own keeps it from walking up to this checkout, where build/ is ignored.
git -C "$stage" init -q
files=$(git -C "$stage" ls-files --others --exclude-standard | wc -l)
echo "sanity: staged $files files in ${stage#"$here"/}"

# --- 2. pip bootstrap for ansible-test's virtualenvs -----------------------
# ansible-test creates each virtualenv without pip, then runs a get-pip script
# downloaded from ci-files.testing.ansible.com, a host this network cannot
# reach. It looks for that script in its cache first, so we put an equivalent
# there: it runs pip from the pip wheel (fetched once from PyPI) to install the
# pip version ansible-test asks for into the new virtualenv.
pip_version=$("$VENV/bin/python" - "$SANITY_PYTHON" <<'PY' 2>/dev/null || true
import sys
from ansible_test._internal.host_configs import NativePythonConfig
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(NativePythonConfig(version=sys.argv[1]))['pip'])
PY
)
if [ -z "$pip_version" ]; then   # other ansible-test releases: read the pin directly
  pip_version=$(sed -n "s/^ *pip='\([0-9.]*\)',\{0,1\}\$/\1/p" \
    "$("$VENV/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py" | head -1)
fi
[ -n "$pip_version" ] || { echo "sanity: cannot tell which pip ansible-test wants" >&2; exit 2; }
cache="$test_home/.ansible/test/cache"
bootstrap="$cache/get_pip_${pip_version//./_}.py"
pip_tree="$cache/pip-$pip_version"
if [ ! -f "$bootstrap" ] || [ ! -d "$pip_tree/pip" ]; then
  echo "sanity: preparing the pip $pip_version bootstrap for ansible-test"
  mkdir -p "$cache"
  tmp=$(mktemp -d)
  "$VENV/bin/pip" download -q --no-deps --only-binary=:all: -d "$tmp" "pip==$pip_version"
  rm -rf "$pip_tree"
  "$VENV/bin/python" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
    "$(ls "$tmp"/pip-*.whl)" "$pip_tree"
  rm -rf "$tmp"
  cat >"$bootstrap" <<PY
"""Install pip into the running, empty virtualenv, as get-pip.py does."""
import os
import sys

# pip runs straight from the unpacked wheel that sits next to this script
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "pip-$pip_version"))
from pip._internal.cli.main import main  # noqa: E402

# --no-setuptools and --no-wheel are get-pip options that only say not to add
# those packages, which this script never does.
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--upgrade", "--force-reinstall"] + args))
PY
fi

# --- 3. run ------------------------------------------------------------------
# Tests skipped, each with its reason. None at present: with the pip
# bootstrap above every test runs offline. (pslint needs pwsh but only looks
# at PowerShell files, which this collection has none of.)
skip_args=(
)
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "sanity: WARNING: shellcheck is not installed, so ansible-test skips the shellcheck test" \
       "(apt-get install shellcheck)"
fi

export HOME="$test_home"   # ansible-test keeps its virtualenvs under ~/.ansible/test
export PATH="$VENV/bin:$PATH"
unset ANSIBLE_CONFIG ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS

log="$stage_root/sanity.log"
timing="$stage_root/timing.txt"   # "<epoch seconds> <test>" as each test starts
: >"$timing"
set +e
(
  cd "$stage"
  # --local: the controller is the project virtualenv; ansible-test still
  # builds a separate virtualenv per test, so nothing is installed into .venv.
  "$ansible_test" sanity \
    --local \
    --python "$SANITY_PYTHON" \
    --color no \
    "${skip_args[@]}" \
    "$@"
) 2>&1 | while IFS= read -r line; do
  case "$line" in
    'Running sanity test '*) printf '%s %s\n' "$(date +%s)" "${line#Running sanity test }" | tr -d '"' >>"$timing" ;;
  esac
  printf '%s\n' "$line"
done | tee "$log"
rc=${PIPESTATUS[0]}
set -e

# --- 4. summary --------------------------------------------------------------
elapsed=$(( $(date +%s) - started ))
echo
echo "===== sanity summary ($(( elapsed / 60 ))m$(( elapsed % 60 ))s) ====="
# seconds per test: from its start to the next one's (the last one to now)
awk -v end="$(date +%s)" '
  NR > 1 { printf "  %4ds  %s\n", $1 - t, name }
  { t = $1; $1 = ""; name = substr($0, 2) }
  END { if (NR) printf "  %4ds  %s\n", end - t, name }
' "$timing"
grep -E '^(ERROR|WARNING): ' "$log" | grep -v '^ERROR: See error output' || true
if [ "$rc" -eq 0 ]; then
  echo "sanity: PASSED"
else
  echo "sanity: FAILED (exit $rc); full log in ${log#"$here"/}"
fi
exit "$rc"
