#!/usr/bin/env bash
# Build the collection's documentation site: antsibull-docs writes a reference page for every module, role and
# filter of the collection (as installed under build/collections), the guides come from docs/guides, and Sphinx
# renders the whole as HTML with every warning an error (a reference that does not resolve fails the build).
#
# Usage: scripts/build_docs.sh [OUTPUT_DIR]   (default: build/docs; the site is OUTPUT_DIR/html/index.html)
# Environment:
#   VENV   virtualenv holding antsibull-docs and Sphinx (default: .venv)
# Exit status: 0 when the site built without a warning.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
VENV=${VENV:-$here/.venv}
out=$(realpath -m "${1:-$here/build/docs}")
started=$(date +%s)

bash "$here/scripts/link_collection.sh"
export ANSIBLE_COLLECTIONS_PATH="$here/build/collections"

rm -rf "$out"
mkdir -p "$out/rst"
chmod 755 "$out/rst"  # antsibull-docs writes only into a directory no one else can write to
"$VENV/bin/antsibull-docs" --config-file docs/antsibull-docs.cfg collection --use-current --cleanup everything --dest-dir "$out/rst" baton.docker
cp docs/index.rst docs/ansible_references.rst "$out/rst/"
cp -r docs/guides "$out/rst/guides"
"$VENV/bin/sphinx-build" -b html -c docs -W --keep-going -q "$out/rst" "$out/html"

pages=$(find "$out/html" -name '*.html' | wc -l)
echo "docs: PASSED in $(( $(date +%s) - started ))s: ${pages} pages in ${out#"$here"/}/html (index.html)"
