#!/usr/bin/env bash
# test_install.sh BUILD_DIR SOURCE_DIR - cmake --install into a temporary
# prefix, then build a tiny host against the installed copy twice: with
# pkg-config and with find_package(msfaq).  Both must run and answer.
set -eu
build=$1 here=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(cd "$prefix" && ls -d lib* | head -n 1)
test -f "$prefix/include/msfaq.h"
test -f "$prefix/$libdir/pkgconfig/msfaq.pc"
test -f "$prefix/$libdir/cmake/msfaq/msfaqConfig.cmake"
test -x "$prefix/bin/msfaq"
export LD_LIBRARY_PATH=$prefix/$libdir

# 1) pkg-config
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
cc $(pkg-config --cflags msfaq) "$here/host.c" -o "$tmp/host-pc" \
   $(pkg-config --libs msfaq) ${MSFAQ_HOST_FLAGS:-}
out=$("$tmp/host-pc" "What is CAR T?")
[ "$out" = "answer|Emerging Therapies and Approaches" ] || {
  echo "pkg-config host printed: $out"; exit 1; }

# 2) find_package
cmake -S "$here/host" -B "$tmp/hb" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_FLAGS="${MSFAQ_HOST_FLAGS:-}" >/dev/null
cmake --build "$tmp/hb" >/dev/null
out=$("$tmp/hb/host" "should I stop my DMT")
[ "$out" = "safety|-" ] || { echo "find_package host printed: $out"; exit 1; }

# 3) the installed command works with no KB files around it
out=$(cd "$tmp" && "$prefix/bin/msfaq" ask --json "hello")
case $out in *'"kind":"smalltalk"'*) ;; *) echo "msfaq: $out"; exit 1;; esac
echo "3 passed, 0 failed"
