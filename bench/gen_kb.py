#!/usr/bin/env python3
"""gen_kb.py - an N-fold knowledge base, for the scaling benchmark.

    gen_kb.py SRC N OUT

Copies the knowledge base in SRC (patterns/concepts.json,
patterns/intents.json, responses/answers.json, responses/article.txt) to
OUT with every intent, concept and response present N times: copy k
(1..N-1) renames NAME to NAME__kK and points its references ({concept} in
regexes, all/any/none groups, response ids) at copy K's names.  The copies
have the same terms, regexes and example questions, so the vocabulary and
every question's answer stay the same while the work per question (regexes
to run, intents to score) grows N-fold.

The library accepts at most MSFAQP_MAX_CONCEPTS (1024) concepts, so
concepts are copied C = min(N, 1024 // concepts) times and intent copy k
uses concept copy k mod C.  The line printed on stdout says what was made:
    {"fold": N, "intents": ..., "concepts": ..., "concept_fold": C, ...}
"""
import json
import os
import re
import shutil
import sys

MAX_CONCEPTS = 1024
REF = re.compile(r"\{([a-z][a-z0-9_]*)\}")


def suffix(name, k):
    return name if k == 0 else f"{name}__k{k}"


def rename_refs(regex, k, known):
    """{name} -> {name__kK} for the concept names the KB defines (other
    braces, such as {2,3}, are PCRE2's)."""
    return REF.sub(lambda m: "{%s}" % suffix(m.group(1), k)
                   if m.group(1) in known else m.group(0), regex)


def copy_concepts(concepts, c_fold):
    names = set(concepts)
    out = {}
    for k in range(c_fold):
        for name, c in concepts.items():
            n = dict(c)
            if "patterns" in c:
                n["patterns"] = [rename_refs(p, k, names) for p in c["patterns"]]
            out[suffix(name, k)] = n
    return out


def copy_intent(intent, k, ck, names):
    n = dict(intent)
    n["id"] = suffix(intent["id"], k)
    n["response"] = suffix(intent.get("response", intent["id"]), k)
    if "all" in intent:
        n["all"] = [[suffix(c, ck) for c in g] if isinstance(g, list)
                    else suffix(g, ck) for g in intent["all"]]
    if "any" in intent:
        n["any"] = {suffix(c, ck): w for c, w in intent["any"].items()}
    if "none" in intent:
        n["none"] = [suffix(c, ck) for c in intent["none"]]
    if "patterns" in intent:
        pats = []
        for p in intent["patterns"]:
            if isinstance(p, dict):
                p = dict(p, regex=rename_refs(p["regex"], ck, names))
            else:
                p = rename_refs(p, ck, names)
            pats.append(p)
        n["patterns"] = pats
    return n


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: gen_kb.py SRC N OUT")
    src, fold, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if fold < 1:
        sys.exit("gen_kb.py: N must be 1 or more")
    load = lambda p: json.load(open(os.path.join(src, p), encoding="utf-8"))
    concepts = load("patterns/concepts.json")
    intents = load("patterns/intents.json")
    answers = load("responses/answers.json")

    n_con = len(concepts["concepts"])
    c_fold = max(1, min(fold, MAX_CONCEPTS // n_con))
    names = set(concepts["concepts"])
    concepts["concepts"] = copy_concepts(concepts["concepts"], c_fold)
    intents["intents"] = [copy_intent(i, k, k % c_fold, names)
                          for k in range(fold) for i in intents["intents"]]
    answers["responses"] = {suffix(rid, k): r for k in range(fold)
                            for rid, r in answers["responses"].items()}

    os.makedirs(os.path.join(out, "patterns"), exist_ok=True)
    os.makedirs(os.path.join(out, "responses"), exist_ok=True)
    for rel, obj in (("patterns/concepts.json", concepts),
                     ("patterns/intents.json", intents),
                     ("responses/answers.json", answers)):
        with open(os.path.join(out, rel), "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=1)
    shutil.copy(os.path.join(src, "responses/article.txt"),
                os.path.join(out, "responses/article.txt"))
    n_pat = sum(len(i.get("patterns", [])) for i in intents["intents"])
    print(json.dumps({"fold": fold, "intents": len(intents["intents"]),
                      "concepts": len(concepts["concepts"]),
                      "concept_fold": c_fold, "intent_patterns": n_pat,
                      "responses": len(answers["responses"])}))


if __name__ == "__main__":
    main()
