#!/usr/bin/env bash
# test_valgrind.sh - the msfaq command under valgrind memcheck.
#
# Usage: test_valgrind.sh VALGRIND MSFAQ ROOT GROUP
#   GROUP ask    ask (answer, safety, out of scope, fallback), explain,
#                stdin mode with good and bad lines, --kb DIR, bad usage,
#                the REPL fed from a pipe
#   GROUP lint   lint of the embedded KB, of the shipped KB read from ROOT,
#                of a KB that does not open and of one with findings
# Every run must exit with its usual status and memcheck must find no
# error and no definite or indirect leak (--error-exitcode=99).  PCRE2's
# JIT code is the one thing suppressed; see pcre2-jit.supp.
set -uo pipefail
valgrind=$1 msfaq=$2 root=$3 group=$4
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v "$valgrind" >/dev/null 2>&1; then
  echo "SKIP: valgrind not installed (scripts/deps-apt.txt lists it)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0 count=0

# vg NAME EXPECTED_STATUS STDIN_FILE ARGS...   (STDIN_FILE - : none)
vg() {
  local name=$1 want=$2 in=$3
  shift 3
  local log=$tmp/$name.vg start end rc
  [ "$in" = - ] && in=/dev/null
  start=$(date +%s.%N)
  "$valgrind" -q --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
    --num-callers=30 --suppressions="$here/pcre2-jit.supp" \
    --log-file="$log" "$msfaq" "$@" <"$in" >"$tmp/$name.out" \
    2>"$tmp/$name.err"
  rc=$?
  end=$(date +%s.%N)
  count=$((count + 1))
  if [ $rc -ne "$want" ] || [ -s "$log" ]; then
    failed=$((failed + 1))
    echo "FAIL $name: exit $rc, expected $want; msfaq $(printf '%q ' "$@" |
      cut -c1-200)"
    [ $rc -eq 99 ] && echo "     (99: memcheck found errors or leaks)"
    sed 's/^/     | /' "$log" | head -n 80
    sed 's/^/     stderr: /' "$tmp/$name.err" | head -n 5
  else
    printf 'ok   %-22s exit %d  %.1f s\n' "$name" "$rc" \
      "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
  fi
}

# lines OUT N: the stdin mode pairs every input line with one output line
lines() {
  local got
  got=$(wc -l <"$tmp/$1.out")
  count=$((count + 1))
  if [ "$got" -ne "$2" ]; then
    failed=$((failed + 1))
    echo "FAIL $1: $got output lines for $2 input lines"
  fi
}

case $group in
ask)
  vg ask_answer 0 - ask "what is CAR-T?"
  vg ask_safety 0 - ask "should I stop my interferon?"
  vg ask_out_of_scope 0 - ask "how much does ocrelizumab cost?"
  vg ask_fallback 0 - ask --json "what is the weather on mars"
  vg ask_emergency 0 - ask "I suddenly can't see out of my left eye"
  vg explain_json 0 - explain --json "imunotherapy sideefects"
  vg explain_text 0 - explain "My doctor said DMT. whats that pls?"

  # stdin: good lines, invalid UTF-8, an empty line, a NUL, 5000 bytes
  {
    printf 'what is CAR-T?\n'
    printf 'caf\xc3\xa9 \xc3\x28 bad\n'
    printf '\n'
    printf 'should I stop\0 my interferon?\n'
    head -c 5000 /dev/zero | tr '\0' a
    printf '\n'
    printf 'hi\n'
    printf 'no newline at the end'
  } >"$tmp/stdin.txt"
  vg stdin_json 0 "$tmp/stdin.txt" ask --json
  lines stdin_json 7
  vg stdin_text 0 "$tmp/stdin.txt" ask

  # --kb DIR
  vg kb_base 0 - --kb "$root/tests/kb/base" ask --json "what is tea"
  vg kb_shipped_files 0 - --kb "$root" explain --json "what is CAR-T?"
  vg kb_missing 1 - --kb "$tmp/no-such-kb" ask "hi"
  mkdir -p "$tmp/broken" && cp -r "$root/tests/kb/base/." "$tmp/broken" &&
    cp "$root/tests/kb/bad_regex/patterns/intents.json" \
      "$tmp/broken/patterns/"
  vg kb_broken 1 - --kb "$tmp/broken" ask "hi"

  # bad usage and bad input
  vg usage_none 2 -
  vg usage_unknown_command 2 - frobnicate
  vg usage_kb_no_dir 2 - --kb
  vg usage_bad_option 2 - ask --frob "hi"
  vg usage_explain_no_question 2 - explain
  vg usage_empty_question 2 - ask ""
  vg usage_bad_utf8 2 - ask $'what is \xc3\x28'
  vg usage_too_long 2 - ask "$(head -c 5000 /dev/zero | tr '\0' a)"
  vg help 0 - --help
  vg version 0 - --version

  # the REPL, fed from a pipe
  printf 'what is CAR-T?\n:why hello\n\n\xc3\x28\n:quit\n' >"$tmp/repl.txt"
  vg repl 0 "$tmp/repl.txt" repl
  ;;
lint)
  vg lint_embedded 0 - lint
  vg lint_shipped_files 0 - lint "$root"
  mkdir -p "$tmp/broken" && cp -r "$root/tests/kb/base/." "$tmp/broken" &&
    cp "$root/tests/kb/bad_regex/patterns/intents.json" \
      "$tmp/broken/patterns/"
  vg lint_does_not_open 1 - lint "$tmp/broken"
  # opens, but an answer leaves its section and an example goes astray
  mkdir -p "$tmp/findings" && cp -r "$root/tests/kb/base/." "$tmp/findings"
  sed -i 's/It tastes malty\./It tastes of moon rocks and tar./' \
    "$tmp/findings/responses/answers.json"
  sed -i 's/\("examples": \["what flavour is assam"\)\]/\1, "hello"]/' \
    "$tmp/findings/patterns/intents.json"
  vg lint_findings 1 - lint "$tmp/findings"
  count=$((count + 1))
  grep -q . "$tmp/lint_findings.out" "$tmp/lint_findings.err" || {
    failed=$((failed + 1))
    echo "FAIL lint_findings: no finding printed"
  }
  vg lint_missing_dir 1 - lint "$tmp/no-such-kb"
  ;;
*)
  echo "usage: $0 VALGRIND MSFAQ ROOT ask|lint" >&2
  exit 2
  ;;
esac

echo "$((count - failed)) passed, $failed failed"
[ $failed -eq 0 ]
