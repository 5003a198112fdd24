#!/bin/sh
# The dynamic symbols libmsfaq-post.so defines are exactly exports.txt,
# all under the MSFAQ_POST_1.0 version node, and its SONAME carries the
# major version.  Usage: check_exports.sh LIBRARY EXPECTED_LIST
set -eu
lib=$1
want=$2
got=$(mktemp)
trap 'rm -f "$got"' EXIT
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {print $3}' |
  grep -v '^MSFAQ_POST_1\.0$' | sed 's/@@MSFAQ_POST_1\.0$//' | sort >"$got"
if ! diff -u "$want" "$got"; then
  echo "check_exports: exported symbols differ from $want" >&2
  exit 1
fi
if nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {print $3}' |
    grep -v '^MSFAQ_POST_1\.0$' | grep -v '@@MSFAQ_POST_1\.0$'; then
  echo "check_exports: symbols above lack the MSFAQ_POST_1.0 version" >&2
  exit 1
fi
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" != "libmsfaq-post.so.1" ]; then
  echo "check_exports: SONAME is '$soname', not libmsfaq-post.so.1" >&2
  exit 1
fi
echo "check_exports: $(wc -l <"$got") symbols, SONAME $soname: ok"
