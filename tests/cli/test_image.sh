#!/usr/bin/env bash
# test_image.sh MSFAQ REPO - the compiled KB through the command: "msfaq
# compile" writes an image; every question of every question set gets the
# same reply, byte for byte, from the KB's JSON files (--kb REPO), from the
# image built into the library, and from the compiled file (--kb IMAGE);
# a damaged image is refused with exit 1 and a message, never used.
set -u
msfaq=$1
repo=$2
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() {  # check NAME STATUS
  if [ "$2" -eq 0 ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: $1"; fi
}

"$msfaq" compile "$repo" "$tmp/kb.img" >"$tmp/out" 2>&1
check "compile: exit 0 ($(cat "$tmp/out"))" $?
"$msfaq" --kb "$repo" compile "$tmp/kb2.img" >/dev/null 2>&1 &&
  cmp -s "$tmp/kb.img" "$tmp/kb2.img"
check "compile with --kb, again: the same bytes (a reproducible build)" $?
"$msfaq" compile "$tmp/kb.img" "$tmp/kb3.img" >/dev/null 2>&1
check "an image compiled again: exit 0" $?

# every question we have, and the shared sets when they are beside us
sets=("$repo"/tests/questions/*.jsonl)
for s in "$repo"/../shared/eval/dev.jsonl "$repo"/../shared/eval/dev2.jsonl \
         "$repo"/../shared/eval/offtopic/clinc150-train.jsonl; do
  [ -f "$s" ] && sets+=("$s")
done
python3 - "${sets[@]}" >"$tmp/q.txt" <<'PY'
import json, sys
for path in sys.argv[1:]:
    for line in open(path, encoding="utf-8"):
        if line.strip():
            print(json.loads(line)["q"].replace("\n", " "))
PY
n=$(wc -l <"$tmp/q.txt")
"$msfaq" --kb "$repo" ask --json <"$tmp/q.txt" >"$tmp/files.json"
"$msfaq" ask --json <"$tmp/q.txt" >"$tmp/builtin.json"
"$msfaq" --kb "$tmp/kb.img" ask --json <"$tmp/q.txt" >"$tmp/image.json"
[ "$(wc -l <"$tmp/files.json")" -eq "$n" ] &&
  cmp -s "$tmp/files.json" "$tmp/builtin.json"
check "$n questions: the built-in image answers as the JSON files" $?
cmp -s "$tmp/files.json" "$tmp/image.json"
check "$n questions: the compiled file answers as the JSON files" $?
"$msfaq" --kb "$tmp/kb3.img" ask --json <"$tmp/q.txt" >"$tmp/image3.json"
cmp -s "$tmp/files.json" "$tmp/image3.json"
check "$n questions: an image compiled from an image answers the same" $?
head -300 "$tmp/q.txt" | while IFS= read -r q; do
  "$msfaq" --kb "$repo" explain --json -- "$q"; done >"$tmp/fx.json" 2>&1
head -300 "$tmp/q.txt" | while IFS= read -r q; do
  "$msfaq" --kb "$tmp/kb.img" explain --json -- "$q"; done >"$tmp/ix.json" 2>&1
cmp -s "$tmp/fx.json" "$tmp/ix.json"
check "300 questions explained: the same from the image" $?
"$msfaq" --kb "$tmp/kb.img" lint >"$tmp/out" 2>&1 &&
  grep -q 'clean' "$tmp/out"
check "lint of the image: clean" $?

# damaged images: refused, with the file named and the reason
size=$(stat -c %s "$tmp/kb.img")
head -c $((size / 2)) "$tmp/kb.img" >"$tmp/half.img"
"$msfaq" --kb "$tmp/half.img" ask "what is car t" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "half.img" "$tmp/err" && grep -q "truncated" "$tmp/err"
check "a truncated image: exit 1, named, 'truncated'" $?
cp "$tmp/kb.img" "$tmp/flip.img"
printf '\x42' | dd of="$tmp/flip.img" bs=1 seek=$((size / 2)) conv=notrunc \
  2>/dev/null
"$msfaq" --kb "$tmp/flip.img" ask "what is car t" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "checksum" "$tmp/err"
check "a changed byte: exit 1, 'checksum'" $?
printf 'not an image at all\n' >"$tmp/text.img"
"$msfaq" --kb "$tmp/text.img" ask "hi" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "not a compiled msfaq KB" "$tmp/err"
check "a text file: exit 1, 'not a compiled msfaq KB'" $?
: >"$tmp/empty.img"
"$msfaq" --kb "$tmp/empty.img" ask "hi" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "empty" "$tmp/err"
check "an empty file: exit 1, 'empty'" $?

# usage
"$msfaq" compile >/dev/null 2>&1; [ $? -eq 2 ]; check "compile without args: 2" $?
"$msfaq" compile a b c >/dev/null 2>&1; [ $? -eq 2 ]; check "compile a b c: 2" $?
"$msfaq" compile /nonexistent "$tmp/x.img" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "nonexistent" "$tmp/err"
check "compile a missing KB: exit 1, named" $?
"$msfaq" compile "$repo" /nonexistent-dir/x.img >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "cannot write" "$tmp/err"
check "compile to an unwritable place: exit 1, 'cannot write'" $?

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
