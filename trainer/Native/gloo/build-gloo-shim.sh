#!/usr/bin/env bash
# Builds libk8straining_gloo.so, the C ABI over Gloo that GlooCollective calls, into OUT_DIR (and copies it into every
# further directory given). Idempotent: rebuilds only when a source is newer than the library. Builds of several
# projects may run this at once, so it compiles under a unique name and renames into place.
# Usage: build-gloo-shim.sh OUT_DIR [COPY_TO_DIR...]
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 OUT_DIR [COPY_TO_DIR...]" >&2; exit 2; }
out_dir="$1"; shift
here="$(cd "$(dirname "$0")" && pwd)"
lib=libk8straining_gloo.so
src="$here/k8straining_gloo.cpp"
header="$here/k8straining_gloo.h"

if [ ! -f "$out_dir/$lib" ] || [ "$src" -nt "$out_dir/$lib" ] || [ "$header" -nt "$out_dir/$lib" ] || [ "$0" -nt "$out_dir/$lib" ]; then
  command -v g++ >/dev/null || { echo "error: g++ is needed to build $lib (run make deps, or apt-get install g++)" >&2; exit 1; }
  if [ ! -f /usr/include/gloo/allreduce.h ] && ! echo '#include <gloo/allreduce.h>' | g++ -x c++ -fsyntax-only - 2>/dev/null; then
    echo "error: Gloo's headers (gloo/allreduce.h) are missing, needed to build $lib: run make deps, or apt-get install libgloo-dev" >&2
    exit 1
  fi
  mkdir -p "$out_dir"
  tmp="$out_dir/$lib.tmp.$$"
  trap 'rm -f "$tmp"' EXIT
  if ! g++ -O2 -std=c++17 -shared -fPIC -fvisibility=hidden -Wall -Wextra -Werror -o "$tmp" "$src" -lgloo; then
    echo "error: building $lib failed; Gloo's library comes with libgloo-dev (run make deps)" >&2
    exit 1
  fi
  mv -f "$tmp" "$out_dir/$lib"
  trap - EXIT
fi

for dir in "$@"; do
  if [ ! -f "$dir/$lib" ] || ! cmp -s "$out_dir/$lib" "$dir/$lib"; then
    mkdir -p "$dir"
    cp "$out_dir/$lib" "$dir/$lib.tmp.$$" && mv -f "$dir/$lib.tmp.$$" "$dir/$lib"
  fi
done
