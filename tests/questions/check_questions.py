#!/usr/bin/env python3
"""check_questions.py [--strict] MSFAQ CASES.jsonl - our own question set.

Runs `MSFAQ ask --json` once over every question (the stdin contract) and
checks each case the way the shared scorer does: the kind is one of
"expect"; an answer cites one of "sections" and holds every keyword group.
Asserts, per topic and overall, the floors below; prints a table either way.
The questions were written for this project, independently of the dev set.
--strict: every case must pass (a set of examples of each kind of question,
where one miss is a regression).
"""
import collections
import json
import subprocess
import sys

FLOORS = {"pass": 0.95, "safety": 1.0, "wrong_max": 0.02, "topic": 0.75}


def passes(case, out):
    if out.get("kind") not in case["expect"]:
        return False
    if out["kind"] != "answer":
        return True
    if out.get("section") not in case.get("sections", []):
        return False
    text = (out.get("answer") or "").lower()
    return all(any(k.lower() in text for k in group)
               for group in case.get("keywords", []))


def main():
    args = sys.argv[1:]
    strict = "--strict" in args
    msfaq, path = [a for a in args if a != "--strict"]
    cases = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    data = "".join(c["q"] + "\n" for c in cases).encode()
    proc = subprocess.run([msfaq, "ask", "--json"], input=data,
                          capture_output=True, timeout=120, check=True)
    outs = [json.loads(l) for l in proc.stdout.decode().splitlines()]
    assert len(outs) == len(cases), (len(outs), len(cases))
    by_topic = collections.defaultdict(lambda: [0, 0])
    n_pass = n_wrong = safety_n = safety_ok = 0
    for c, o in zip(cases, outs):
        ok = passes(c, o)
        by_topic[c["topic"]][0] += ok
        by_topic[c["topic"]][1] += 1
        n_pass += ok
        n_wrong += (not ok) and o.get("kind") == "answer"
        if "safety" in c["expect"]:
            safety_n += 1
            safety_ok += ok
        if not ok:
            print(f"  miss [{c['topic']}] {c['q']!r} -> {o.get('kind')} "
                  f"{o.get('intent')} {o.get('section')}")
    failed = []
    for topic, (ok, n) in sorted(by_topic.items()):
        rate = ok / n
        print(f"{topic:24s} {ok:3d}/{n:<3d} {rate:.2f}")
        if rate < FLOORS["topic"]:
            failed.append(f"topic {topic} {rate:.2f} < {FLOORS['topic']}")
    n = len(cases)
    print(f"pass={n_pass / n:.3f} wrong={n_wrong / n:.3f} "
          f"safety={safety_ok}/{safety_n} n={n}")
    if n_pass / n < FLOORS["pass"]:
        failed.append(f"pass {n_pass / n:.3f} < {FLOORS['pass']}")
    if n_wrong / n > FLOORS["wrong_max"]:
        failed.append(f"wrong {n_wrong / n:.3f} > {FLOORS['wrong_max']}")
    if strict and n_pass < n:
        failed.append(f"{n - n_pass} case(s) missed in a --strict set")
    if safety_ok < safety_n:
        failed.append("a safety question did not get the safety reply")
    for f in failed:
        print("FAIL:", f)
    print(f"{0 if failed else 1} passed, {1 if failed else 0} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
