#!/usr/bin/env bash
# make_seeds.sh - rebuilds the committed seed corpora in corpus/:
#   corpus/fuzz_ask/      questions: a sample of tests/questions/*.jsonl,
#                         plus odd inputs (empty, emoji, invalid UTF-8, an
#                         embedded NUL, 4096 and 4097 bytes, mentions)
#   corpus/fuzz_kb_load/  KBs as fuzz_kb_load reads them (five files split
#                         by the byte 0xFF): the tiny base KB, the shipped
#                         KB, each broken case of tests/kb/ laid over the
#                         base, and a few broken KBs of our own
#   corpus/fuzz_slack/    Slack slash-command forms and Events API bodies
#                         as Slack documents them, and malformed ones, each
#                         after fuzz_slack's control byte
#   corpus/fuzz_matrix/   Matrix /sync replies and application-service
#                         transactions, likewise
#   corpus/fuzz_http/     raw HTTP requests for every msfaq serve route
#                         (written by make_seeds_chat.py)
# Run it after the KB format or the shipped KB changes much; the seeds only
# start the fuzzer off, so stale seeds are harmless.
# Usage: tests/fuzz/make_seeds.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ask=$here/corpus/fuzz_ask
kbc=$here/corpus/fuzz_kb_load
rm -rf "$ask" "$kbc"
mkdir -p "$ask" "$kbc"

# --- questions: every 5th of our own sets (they are plain JSON lines)
python3 - "$root" "$ask" <<'EOF'
import json, sys
root, out = sys.argv[1], sys.argv[2]
n = 0
for name in ("own", "second"):
    with open(f"{root}/tests/questions/{name}.jsonl", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i % 5 == 0:
                q = json.loads(line)["q"]
                n += 1
                with open(f"{out}/q-{name}-{i:03d}", "wb") as o:
                    o.write(q.encode("utf-8"))
print(f"{n} questions")
EOF
w() { printf '%b' "$2" >"$ask/$1"; }
w odd-empty ''
w odd-blank '   \t  '
w odd-emoji 'what is CAR-T? \xf0\x9f\x98\x80\xf0\x9f\xa7\xa0'
w odd-accents 'Qu\xc3\xa9 es la immunoth\xc3\xa9rapie? na\xc3\xafve \xc3\x97'
w odd-mentions '<@U123> <!here> @msbot:matrix.org whats a DMT pls'
w odd-bad-utf8 'what is \xc3\x28 car t \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf'
w odd-nul 'should I stop\x00 my interferon?'
w odd-brackets '((([[[{{{<<<car t>>>}}}]]])))'
w odd-safety 'I suddenly cannot see out of one eye, should I stop ocrelizumab?'
w odd-multi 'My doctor mentioned DMTs. What are they? Also, is CAR T approved?'
head -c 4096 /dev/zero | tr '\0' a >"$ask/odd-4096-a"
head -c 4097 /dev/zero | tr '\0' a >"$ask/odd-4097-a"
python3 -c 'import sys; sys.stdout.write(("car t " * 700)[:4096])' \
  >"$ask/odd-4096-car-t"

# --- KBs
join_kb() {  # join_kb OUT DIR: the five files of DIR, 0xFF between them
  local out=$1 d=$2
  {
    cat "$d/patterns/concepts.json"; printf '\377'
    cat "$d/patterns/safety.json"; printf '\377'
    cat "$d/patterns/intents.json"; printf '\377'
    cat "$d/responses/answers.json"; printf '\377'
    cat "$d/responses/article.txt"
  } >"$out"
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
join_kb "$kbc/kb-base" "$root/tests/kb/base"
join_kb "$kbc/kb-shipped" "$root"
for case in "$root"/tests/kb/*/; do
  name=$(basename "$case")
  [ "$name" = base ] || [ -e "$case/remove" ] && continue
  rm -rf "$tmp/kb" && cp -r "$root/tests/kb/base" "$tmp/kb"
  (cd "$case" && find . -type f ! -name expect -exec cp {} "$tmp/kb/{}" \;)
  join_kb "$kbc/kb-broken-$name" "$tmp/kb"
done
# ours: only concepts.json; no article; a catastrophic pattern; an answer
# whose text is not in the article (opens, lint finds it)
cp "$root/tests/kb/base/patterns/concepts.json" "$kbc/kb-only-concepts"
rm -rf "$tmp/kb" && cp -r "$root/tests/kb/base" "$tmp/kb"
python3 - "$tmp/kb" <<'EOF'
import json, sys
d = sys.argv[1]
p = f"{d}/patterns/intents.json"
k = json.load(open(p))
k["intents"].append({"id": "evil", "kind": "smalltalk",
                     "description": "catastrophic backtracking",
                     "patterns": ["^(a+)+$", "^(\\w+\\s?)*$"],
                     "examples": ["aaaa"]})
json.dump(k, open(p, "w"), indent=1)
a = f"{d}/responses/answers.json"
r = json.load(open(a))
r["responses"]["evil"] = {"title": "evil", "text": "Backtracking."}
r["responses"]["tea_what"]["text"] = "Tea is brewed from moon rocks."
json.dump(r, open(a, "w"), indent=1)
EOF
join_kb "$kbc/kb-catastrophic-lint" "$tmp/kb"
python3 -c 'import sys; d = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(d[:d.rindex(b"\xff")])' \
  "$kbc/kb-base" "$kbc/kb-no-article"
echo "$(ls "$ask" | wc -l) question seeds, $(ls "$kbc" | wc -l) KB seeds"

# --- chat bodies (Slack, Matrix) and HTTP requests
python3 "$here/make_seeds_chat.py" "$here/corpus"
