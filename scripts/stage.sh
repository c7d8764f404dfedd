#!/usr/bin/env bash
# Run one stage of `make test` and say how long it took: stage.sh NAME COMMAND [ARGS...]
# The line "stage NAME: N s (exit E)" is printed whatever the outcome; the exit status is the command's.
set -uo pipefail
name=$1
shift
start=$(date +%s)
"$@"
status=$?
echo "stage ${name}: $(( $(date +%s) - start )) s (exit ${status})"
exit "$status"
