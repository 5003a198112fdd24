#!/usr/bin/env bash
# test_cli.sh MSFAQ KB_CASES_DIR - the msfaq command as a person or script
# uses it: exit codes, output shapes, the stdin pairing contract, errors.
set -u
msfaq=$1
kbcases=$2
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() {  # check NAME CONDITION-STATUS
  if [ "$2" -eq 0 ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: $1"; fi
}
run() {  # run ARGS... : sets out, err, rc
  "$msfaq" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  rc=$?
  out=$(cat "$tmp/out"); err=$(cat "$tmp/err")
}

# --- help and version, everywhere
for args in "--help" "-h" "ask --help" "explain --help" "lint --help" \
            "repl --help"; do
  run $args
  [ $rc -eq 0 ] && grep -q '^usage: msfaq' "$tmp/out"
  check "help: msfaq $args" $?
done
for args in "--version" "-V" "ask --version"; do
  run $args
  [ $rc -eq 0 ] && [[ $out =~ ^msfaq\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
  check "version: msfaq $args" $?
done

# --- bad usage: one clear line (plus the hint) and exit 2
run; [ $rc -eq 2 ] && grep -q 'no command given' "$tmp/err"; check "no command" $?
run frobnicate; [ $rc -eq 2 ] && grep -q "unknown command 'frobnicate'" "$tmp/err"
check "unknown command" $?
run ask --bogus "q"; [ $rc -eq 2 ] && grep -q "unknown option '--bogus'" "$tmp/err"
check "unknown option" $?
run ask "one" "two"; [ $rc -eq 2 ]; check "two questions" $?
run ask ""; [ $rc -eq 2 ] && grep -q 'empty question' "$tmp/err"; check "empty question" $?
run ask "   "; [ $rc -eq 2 ]; check "blank question" $?
run ask "$(printf 'what is \xff MS')"
[ $rc -eq 2 ] && grep -q 'not valid UTF-8 at byte 8' "$tmp/err"; check "invalid UTF-8" $?
run ask "$(head -c 5000 /dev/zero | tr '\0' a)"
[ $rc -eq 2 ] && grep -q 'question is 5000 bytes; the limit is 4096' "$tmp/err"
check "over-long question" $?
run explain; [ $rc -eq 2 ]; check "explain without question" $?
run --kb; [ $rc -eq 2 ]; check "--kb without a directory" $?
run --kb /nonexistent ask "q"
[ $rc -eq 1 ] && grep -q '/nonexistent/responses/article.txt: cannot open' "$tmp/err"
check "--kb missing directory" $?

# --- answers for a person and as JSON
run ask "What is CAR T-cell therapy?"
[ $rc -eq 0 ] && grep -q '^Section: Emerging Therapies and Approaches$' "$tmp/out" &&
  grep -q 'not medical advice' "$tmp/out" && grep -q '^You could also ask:' "$tmp/out"
check "ask for a person" $?
run ask --json "What is CAR T-cell therapy?"
[ $rc -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 1 ] &&
  python3 -c 'import json,sys; o=json.loads(sys.stdin.read()); assert o["kind"]=="answer" and o["section"]=="Emerging Therapies and Approaches" and o["intent"] and 0<=o["confidence"]<=1 and isinstance(o["follow_ups"],list) and "reprogram" in o["answer"]' <"$tmp/out"
check "ask --json" $?
run ask -- "--what is a DMT"; [ $rc -eq 0 ]; check "question after --" $?
run explain "immunotheraphy sideefects?"
[ $rc -eq 0 ] && grep -q '^normalised:' "$tmp/out" && grep -q '^stems:' "$tmp/out" &&
  grep -q '^1 safety: *not fired' "$tmp/out" && grep -q '^2 gate: *IN' "$tmp/out" &&
  grep -q '^3 concepts:' "$tmp/out" && grep -q 'top intents' "$tmp/out" &&
  grep -q 'margin' "$tmp/out" && grep -q '^4 specifics:' "$tmp/out" &&
  grep -q '^decided by: *answer' "$tmp/out"
check "explain for a person" $?
run explain "should I stop my interferon?"
[ $rc -eq 0 ] && grep -q '^1 safety: *FIRED, rule safety_decision' "$tmp/out" &&
  grep -q 'lexicons: .*decision' "$tmp/out" &&
  grep -q '^decided by: *safety screen' "$tmp/out"
check "explain shows the safety screen" $?
run explain "who wrote this song"
[ $rc -eq 0 ] && grep -q '^2 gate: *OUT' "$tmp/out" &&
  grep -q 'unknown words: song' "$tmp/out"
check "explain shows the domain gate" $?
run explain "how much does ocrelizumab cost per dose at the brigham"
[ $rc -eq 0 ] && grep -q '^4 specifics: asked for:' "$tmp/out"
check "explain shows the specifics asked for" $?
run explain --json "imunotherapy goals"
[ $rc -eq 0 ] && python3 -c 'import json,sys; o=json.loads(sys.stdin.read()); assert o["chosen"]=="goals" and o["corrected"][0]["to"]=="immunotherapy"' <"$tmp/out"
check "explain --json" $?

# --- stdin: one output line per input line, in order, whatever it holds
printf 'What is MS?\n\nhello\n\xff\xfe\nwhat is a DMT\r\nbye' >"$tmp/in"
head -c 5000 /dev/zero | tr '\0' b >>"$tmp/in"
printf '\nnul\0byte\nlast question about CAR T' >>"$tmp/in"
"$msfaq" ask --json <"$tmp/in" >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && python3 - "$tmp/out" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "", "ends with a newline"
o = [json.loads(l) for l in lines[:-1]]
assert len(o) == 8, len(o)
kinds = [x["kind"] for x in o]
assert kinds == ["answer", "fallback", "smalltalk", "error", "answer",
                 "error", "error", "answer"], kinds
assert o[3]["line"] == 4 and "UTF-8" in o[3]["error"]
assert o[5]["line"] == 6 and "longer than 4096" in o[5]["message"]
assert "NUL" in o[6]["message"]
assert o[7]["section"] == "Emerging Therapies and Approaches"
PY
check "stdin pairing with bad lines" $?
printf 'hello\nwhat is MS\n' | "$msfaq" ask >"$tmp/out"; rc=$?
[ $rc -eq 0 ] && grep -q '^Section: Understanding Immune Therapy' "$tmp/out"
check "stdin for a person" $?
: | "$msfaq" ask --json >"$tmp/out"; [ $? -eq 0 ] && [ ! -s "$tmp/out" ]
check "empty stdin" $?

# --- lint: clean on the shipped KB; not clean on a broken one
run lint; [ $rc -eq 0 ] && grep -q 'clean' "$tmp/out"; check "lint embedded" $?
cp -r "$kbcases/base" "$tmp/kb"
python3 - "$tmp/kb/patterns/intents.json" <<'PY'
import json, sys
p = sys.argv[1]; d = json.load(open(p))
d["intents"][0]["examples"].append("what flavour is assam")   # collides
d["intents"][2]["negatives"].append("what is tea")            # reaches it
json.dump(d, open(p, "w"))
PY
run lint "$tmp/kb"
[ $rc -eq 1 ] && grep -q 'reaches black_taste, not green_taste' "$tmp/out" &&
  grep -q 'negative example "what is tea" reaches the intent' "$tmp/out" &&
  grep -q 'is also an example of' "$tmp/out"
check "lint finds collisions" $?
cp -r "$kbcases/base" "$tmp/kb2"
sed -i 's/It tastes malty./It tastes of smoke and honey, with notes of pine./' \
  "$tmp/kb2/responses/answers.json"
run lint "$tmp/kb2"
[ $rc -eq 1 ] && grep -q 'sentence not in section "Black Tea"' "$tmp/out"
check "lint finds answers that drift from the article" $?
printf '{"intents": [' >"$tmp/kb2/patterns/intents.json"
run lint "$tmp/kb2"
[ $rc -eq 1 ] && grep -qE 'patterns/intents.json:1:[0-9]+: ' "$tmp/err"
check "lint reports file:line:column" $?
run --kb "$tmp/kb" ask --json "how does green tea taste"
[ $rc -eq 0 ] && grep -q '"section":"Green Tea"' "$tmp/out"; check "--kb DIR" $?
run ask --kb "$tmp/kb" "hello"; [ $rc -eq 0 ] && grep -q 'Hello!' "$tmp/out"
check "--kb after the command" $?

# --- repl without a terminal reads lines like ask
printf 'what is a DMT\n:why hello\n:quit\nnever read\n' | HOME=$tmp "$msfaq" repl >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q 'Section: Supporting Treatments' "$tmp/out" &&
  grep -q '^normalised:  hello' "$tmp/out" && ! grep -q 'never read' "$tmp/out"
check "repl" $?

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
