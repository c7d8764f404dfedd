#!/bin/sh
# Import baton-molecule/tiny:local into the instance's engine from the
# instance's own files: dash and sleep with the libraries they load. Nothing
# is pulled. Prints "imported" or "present".
set -eu
image=baton-molecule/tiny:local
if docker image inspect "$image" >/dev/null 2>&1; then
  echo present
  exit 0
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
files=$(for bin in /bin/dash /bin/sleep; do echo "$bin"; ldd "$bin" | grep -o '/[^ ]*'; done | sort -u)
for f in $files; do
  mkdir -p "$root$(dirname "$f")"
  cp -L "$f" "$root$f"
done
ln -s dash "$root/bin/sh"
tar -C "$root" -c . | docker import -c 'CMD ["/bin/sh"]' - "$image" >/dev/null
echo imported
