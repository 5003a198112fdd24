#!/usr/bin/env python3
"""regex_cost.py - rank the knowledge base's regexes by what they cost.

    regex_cost.py --build DIR --src SRC --msfaq MSFAQ --questions FILE

A profiling aid for when the matcher misses its target: callgrind says how
much of a question goes to concept regexes and to intent patterns; this
says which regexes.  It rebuilds every regex from the KB files by the rules
of docs/kb-format.md (a term's words, "*" a prefix [a-z0-9]*, other words
of 3+ letters an optional plural (?:s|es); a concept's terms as
\\b(?:t1|t2|...)\\b; {name} inserting (?:that concept's regex)), normalises
every question of FILE with `msfaq explain --json` (the text the patterns
read), and times each regex alone over all of them with regex_cost (C,
PCRE2 only, compiled into DIR when missing).

Regexes measured: every concept pattern (not the terms: the library finds
those through a word index) and every intent pattern, except patterns that
are exactly "{concept}": the library treats those as aliases and runs no
regex.  The library may skip a concept's patterns (once its terms matched,
or when no intent needs it), so these are upper bounds: the cost of each
regex when it does run.

Output, JSON lines, most expensive first:
  {"name": "intent:mechanisms#0", "mean_ns": ..., "max_ns": ...,
   "worst_q": "...", "hits": ..., "source": "..."}
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

REF = re.compile(r"\{([a-z][a-z0-9_]*)\}")


def term_regex(term):
    parts = []
    for w in term.split():
        if w.endswith("*"):
            parts.append(re.escape(w[:-1]) + "[a-z0-9]*")
        elif len(w) >= 3:
            parts.append(re.escape(w) + "(?:s|es)?")
        else:
            parts.append(re.escape(w))
    return " ".join(parts)


def expand(src, sources):
    out, i = [], 0
    while i < len(src):
        if src[i] == "\\" and i + 1 < len(src):
            out.append(src[i:i + 2])
            i += 2
            continue
        m = REF.match(src, i)
        if m and m.group(1) in sources:
            out.append("(?:" + sources[m.group(1)] + ")")
            i = m.end()
            continue
        out.append(src[i])
        i += 1
    return "".join(out)


def kb_regexes(src):
    concepts = json.load(open(os.path.join(src, "patterns/concepts.json")))
    intents = json.load(open(os.path.join(src, "patterns/intents.json")))
    sources, out = {}, []
    for name, c in concepts["concepts"].items():
        whole = []
        if c.get("terms"):
            whole.append(r"\b(?:" + "|".join(term_regex(t)
                                             for t in c["terms"]) + r")\b")
        for k, p in enumerate(c.get("patterns", [])):
            one = expand(p, sources)
            whole.append("(?:" + one + ")")
            if not re.fullmatch(r"\{[a-z0-9_]+\}", p):
                out.append((f"concept:{name}#{k}", one, p))
        sources[name] = "|".join(whole)
    for it in intents["intents"]:
        for k, p in enumerate(it.get("patterns", [])):
            raw = p["regex"] if isinstance(p, dict) else p
            if not re.fullmatch(r"\{[a-z0-9_]+\}", raw):
                out.append((f"intent:{it['id']}#{k}", expand(raw, sources),
                            raw))
    return out


def normalised(msfaq, questions):
    texts = []
    for q in questions:
        r = subprocess.run([msfaq, "explain", "--json", q],
                           capture_output=True, text=True)
        try:
            texts.append(json.loads(r.stdout)["normalized"])
        except (ValueError, KeyError):
            texts.append("")
    return texts


def build_tool(build, bench):
    exe = os.path.join(build, "regex_cost")
    srcf = os.path.join(bench, "regex_cost.c")
    if (not os.path.exists(exe) or
            os.path.getmtime(exe) < os.path.getmtime(srcf)):
        flags = subprocess.run(["pkg-config", "--cflags", "--libs",
                                "libpcre2-8"], check=True, text=True,
                               capture_output=True).stdout.split()
        subprocess.run(["cc", "-O2", "-g", "-Wall", "-Wextra", "-Werror",
                        srcf, "-o", exe] + flags, check=True)
    return exe


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--msfaq", required=True)
    ap.add_argument("--questions", required=True)
    a = ap.parse_args()
    bench = os.path.dirname(os.path.abspath(__file__))
    exe = build_tool(a.build, bench)
    qs = [l.rstrip("\n") for l in open(a.questions, encoding="utf-8")
          if l.strip() and not l.startswith("#")]
    texts = normalised(a.msfaq, qs)
    regs = kb_regexes(a.src)
    with tempfile.TemporaryDirectory() as d:
        rf, tf = os.path.join(d, "re.tsv"), os.path.join(d, "tx.txt")
        with open(rf, "w") as f:
            for name, rx, _ in regs:
                f.write(f"{name}\t{rx}\n")
        with open(tf, "w") as f:
            f.write("".join(t + "\n" for t in texts))
        res = subprocess.run([exe, rf, tf], check=True, text=True,
                             capture_output=True).stdout.splitlines()
    rows = [json.loads(l) for l in res]
    src_of = {n: raw for n, _, raw in regs}
    for r in rows:
        r["source"] = src_of.get(r["name"], "")
        if "worst" in r:
            r["worst_q"] = qs[r.pop("worst")][:80]
    rows.sort(key=lambda r: -r.get("mean_ns", 0))
    print(json.dumps({"regexes": len(rows), "questions": len(qs),
                      "sum_mean_ns": round(sum(r.get("mean_ns", 0)
                                               for r in rows), 1)}))
    for r in rows:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
