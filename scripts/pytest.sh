#!/usr/bin/env bash
# The pytest stage of `make test`: the unit, integration, fault and fuzz suites in pytest-xdist workers, then the
# secret-leak audit of that same session (tests/audit) in a pytest process of its own, once every worker finished.
#
# Both pytest processes share one session (BATON_TEST_SESSION): the audit reads what the suites' processes recorded
# under build/audit/<session>/ (planted values, their uses, the tests run, the argv sampler's findings).
#
# Usage: scripts/pytest.sh [extra pytest arguments for the suites...]
# Environment:
#   VENV               virtualenv holding pytest (default: .venv)
#   PYTEST_WORKERS     xdist workers for the suites (default 3; 0 runs them in this process)
#   BATON_TEST_SESSION the session id (default: a new one)
#
# Exit status: 0 when the suites and the audit passed, non-zero otherwise.
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 2
VENV=${VENV:-$here/.venv}
workers=${PYTEST_WORKERS:-3}
BATON_TEST_SESSION=${BATON_TEST_SESSION:-$(date -u +%Y%m%dT%H%M%S)-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')}
export BATON_TEST_SESSION

started=$(date +%s)
"$VENV/bin/python" -m pytest -q --durations=30 -n "$workers" --dist loadfile \
  tests/unit tests/integration tests/faults tests/fuzz "$@"
suites=$?
echo "pytest suites: $(( $(date +%s) - started )) s with ${workers} workers (exit ${suites})"

audit_started=$(date +%s)
"$VENV/bin/python" -m pytest -q tests/audit
audit=$?
echo "pytest audit: $(( $(date +%s) - audit_started )) s (exit ${audit}), session ${BATON_TEST_SESSION}"

[ "$suites" -eq 0 ] && [ "$audit" -eq 0 ]
