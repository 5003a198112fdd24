#!/usr/bin/env bash
# check_man.sh PAGE PROGRAM [PAGE PROGRAM]... - each manual page (man(7),
# as docs/man makes it) is clean for mandoc -Tlint (warnings and worse;
# style notes are printed) and for groff -ww, and names every --option
# and MSFAQ_* setting that PROGRAM --help lists.  Skipped (77) when
# neither mandoc nor groff is installed.
set -u
have_mandoc=0 have_groff=0
command -v mandoc >/dev/null && have_mandoc=1
command -v groff >/dev/null && have_groff=1
if [ $have_mandoc = 0 ] && [ $have_groff = 0 ]; then
  echo "SKIP: neither mandoc nor groff is installed (apt install mandoc)"
  exit 77
fi
[ $have_mandoc = 1 ] || echo "note: no mandoc (apt install mandoc): groff only"
[ $have_groff = 1 ] || echo "note: no groff (apt install groff-base): mandoc only"

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
export LC_ALL=C.UTF-8

while [ $# -ge 2 ]; do
  page=$1 prog=$2
  shift 2
  name=$(basename "$page")
  if [ ! -f "$page" ]; then
    bad "$name: not built"
    continue
  fi
  if [ $have_mandoc = 1 ]; then
    out=$(mandoc -Tlint "$page" 2>&1)
    if mandoc -Tlint -W warning "$page" >/dev/null 2>&1; then
      ok "$name: mandoc -Tlint"
      [ -z "$out" ] || echo "$out"
    else
      bad "$name: mandoc -Tlint:"; echo "$out"
    fi
    text=$(mandoc -Tascii "$page" | sed 's/.\x08//g')
  fi
  if [ $have_groff = 1 ]; then
    out=$(preconv "$page" | groff -man -Tutf8 -t -ww -z 2>&1)
    if [ -z "$out" ]; then
      ok "$name: groff -ww"
    else
      bad "$name: groff -ww:"; echo "$out"
    fi
    [ $have_mandoc = 1 ] ||
      text=$(groff -man -Tascii -P-cbou "$page" 2>/dev/null)
  fi
  # every option and setting of --help, as a whole word of the page
  help=$("$prog" --help 2>&1)
  missing=""
  for word in $(grep -oE -- '--[a-z][a-z-]*[a-z]|MSFAQ_[A-Z_]*[A-Z]' \
                  <<<"$help" | sort -u); do
    grep -qE -- "(^|[^A-Za-z_-])$word([^A-Za-z_-]|\$)" <<<"$text" ||
      missing="$missing $word"
  done
  if [ -z "$missing" ]; then
    ok "$name: names every option and setting of $(basename "$prog") --help"
  else
    bad "$name: $(basename "$prog") --help lists, the page does not:$missing"
  fi
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
