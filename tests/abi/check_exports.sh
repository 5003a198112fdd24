#!/usr/bin/env bash
# check_exports.sh LIB EXPECTED - the library exports exactly the expected
# symbols (jansson's check-exports): nothing internal leaks out, nothing
# public goes missing without a deliberate edit of tests/abi/exports.txt.
set -eu
lib=$1 expected=$2
actual=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {print $3}' |
         sed 's/@.*//' | sort)
if diff -u <(grep -v '^#' "$expected" | sort) <(echo "$actual"); then
  echo "1 passed, 0 failed"
else
  echo "exports differ (- expected, + actual)"; echo "0 passed, 1 failed"
  exit 1
fi
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
[ "$soname" = "libmsfaq.so.1" ] || { echo "SONAME is $soname"; exit 1; }
# each symbol keeps the version it first appeared in (plugin/libmsfaq.map)
nm -D --defined-only "$lib" | grep -q ' msfaq_ask@@MSFAQ_1.0$' &&
  nm -D --defined-only "$lib" | grep -q ' msfaq_kb_save@@MSFAQ_1.1$' ||
  { echo "symbol versions are not MSFAQ_1.0 / MSFAQ_1.1"; exit 1; }
