#!/usr/bin/env python3
"""nlpjs_map.py - msfaq's reply for every intent, for nlpjs_bench.js.

    nlpjs_map.py SRC MSFAQ OUT.json

Asks MSFAQ (`msfaq ask --json`, one line in, one line out) the first
example question of every intent in SRC/patterns/intents.json and writes
{intent: {"kind", "section", "answer"}}; the key "" holds the generic
fallback from SRC/responses/answers.json.  An intent whose first example
does not come back as that intent is reported on stderr and still mapped
to what came back (that is what msfaq says for it).
"""
import json
import subprocess
import sys


def main():
    src, msfaq, out = sys.argv[1:4]
    intents = json.load(open(f"{src}/patterns/intents.json"))["intents"]
    answers = json.load(open(f"{src}/responses/answers.json"))
    firsts = [(i["id"], i["examples"][0]) for i in intents if i.get("examples")]
    res = subprocess.run([msfaq, "ask", "--json"], check=True, text=True,
                         input="".join(q + "\n" for _, q in firsts),
                         capture_output=True).stdout.splitlines()
    m = {"": {"kind": "fallback", "section": None,
              "answer": answers["fallback"]["text"]}}
    for (iid, q), line in zip(firsts, res):
        r = json.loads(line)
        if r.get("intent") != iid:
            print(f"nlpjs_map: {iid}: first example {q!r} reaches "
                  f"{r.get('intent')!r} ({r.get('kind')})", file=sys.stderr)
        m[iid] = {"kind": r["kind"], "section": r.get("section"),
                  "answer": r.get("answer", "")}
    json.dump(m, open(out, "w"), indent=1)


if __name__ == "__main__":
    main()
