#!/usr/bin/env bash
# Makes TorchSharp-cpu 0.107.0's libLibTorchSharp.so load on hosts whose libstdc++ predates GLIBCXX_3.4.32 (Debian 12,
# Ubuntu 22.04). It needs that version for one symbol, std::ios_base_library_init(); we mark the version requirement
# weak, unversion the symbol and add a tiny shim library that defines it, found beside it through $ORIGIN.
# Idempotent; does nothing when the host's libstdc++ is new enough. Usage: patch-libtorchsharp.sh NATIVE_DIR WORK_DIR
set -euo pipefail
native_dir="$1"; work_dir="$2"
so="$native_dir/libLibTorchSharp.so"
version=GLIBCXX_3.4.32
symbol=_ZSt21ios_base_library_initv
shim=libk8straining_iosinit.so
here="$(cd "$(dirname "$0")" && pwd)"
[ -f "$so" ] || exit 0

cache="$(/sbin/ldconfig -p 2>/dev/null || true)"
host_libstdcxx="$(awk '/libstdc\+\+\.so\.6 .*x86-64/ { print $NF; exit }' <<<"$cache")"
if [ -n "$host_libstdcxx" ] && grep -qaF "$version" "$host_libstdcxx"; then
  exit 0
fi

# Capture tool output first: `tool | grep -q` under pipefail fails when grep exits early and the tool gets SIGPIPE.
dynamic="$(readelf -d "$so")"; symbols="$(objdump -T "$so")"
needs_shim=1; case "$dynamic" in *"[$shim]"*) needs_shim=0 ;; esac
versioned=0; case "$symbols" in *"($version) $symbol"*) versioned=1 ;; esac
if [ "$needs_shim" = 0 ] && [ "$versioned" = 0 ] && [ -f "$native_dir/$shim" ]; then
  exit 0
fi

for tool in patchelf g++ gcc readelf objdump; do
  command -v "$tool" >/dev/null || { echo "error: $tool is needed to patch $so (run make deps)" >&2; exit 1; }
done
mkdir -p "$work_dir"
# Builds of several projects may run this at once: build under unique names, then rename into place.
if [ ! -x "$work_dir/verneed_weak" ] || [ "$here/verneed_weak.c" -nt "$work_dir/verneed_weak" ]; then
  gcc -O2 -o "$work_dir/verneed_weak.$$" "$here/verneed_weak.c" && mv -f "$work_dir/verneed_weak.$$" "$work_dir/verneed_weak"
fi
if [ ! -f "$work_dir/$shim" ] || [ "$here/ios_base_library_init_shim.cpp" -nt "$work_dir/$shim" ]; then
  g++ -O2 -shared -fPIC -o "$work_dir/$shim.$$" "$here/ios_base_library_init_shim.cpp" && mv -f "$work_dir/$shim.$$" "$work_dir/$shim"
fi

# Patch a copy and move it into place, so an interrupted build never leaves a half-patched library.
tmp="$so.k8straining-tmp.$$"
cp "$so" "$tmp"
rc=0; "$work_dir/verneed_weak" "$tmp" "$version" || rc=$?
if [ "$rc" = 3 ]; then rm -f "$tmp"; exit 0; fi   # a TorchSharp build without the requirement: nothing to do
[ "$rc" = 0 ] || { rm -f "$tmp"; exit 1; }
patchelf --clear-symbol-version "$symbol" "$tmp"
if [ "$needs_shim" = 1 ]; then patchelf --add-needed "$shim" "$tmp"; fi
case "$(readelf -d "$tmp")" in *'$ORIGIN'*) ;; *) patchelf --add-rpath '$ORIGIN' "$tmp" ;; esac
cp "$work_dir/$shim" "$native_dir/$shim.$$" && mv -f "$native_dir/$shim.$$" "$native_dir/$shim"
mv -f "$tmp" "$so"
echo "K8sTraining: patched $so for $version (host libstdc++ ${host_libstdcxx:-not found} lacks it)"
