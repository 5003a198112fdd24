#!/usr/bin/env python3
"""gen_kb.py - an N-fold knowledge base, for the scaling benchmark.

    gen_kb.py [--distinct] SRC N OUT

Copies the knowledge base in SRC (patterns/concepts.json,
patterns/intents.json, responses/answers.json, responses/article.txt,
and patterns/safety.json unchanged: the screen is not what grows) to OUT
with every intent, concept and response present N times: copy k
(1..N-1) renames NAME to NAME__kK and points its references ({concept} in
regexes, all/any/none groups, response ids) at copy K's names.  The copies
have the same terms, regexes and example questions, so the vocabulary and
every question's answer stay the same while the work per question (regexes
to run, intents to score) grows N-fold.

--distinct: copy k (1..N-1) is about other things: every word of two
letters or more in its terms and regexes gets a suffix of its own ("walk"
-> "walkzqab"), so no question about MS reaches it.  This is the KB a user
grows by adding articles: N times the intents, concepts, terms, regexes
and vocabulary, of which a question reaches only its own.  Without it the
copies are identical, every copy of a reached intent is reached too, and
the work per question grows N-fold by design.

The library accepts at most MSFAQP_MAX_CONCEPTS (65536) concepts, so
concepts are copied C = min(N, 65536 // concepts) times and intent copy k
uses concept copy k mod C.  The line printed on stdout says what was made:
    {"fold": N, "intents": ..., "concepts": ..., "concept_fold": C, ...}
"""
import json
import os
import re
import shutil
import sys

MAX_CONCEPTS = 65536
REF = re.compile(r"\{([a-z][a-z0-9_]*)\}")


def suffix(name, k):
    return name if k == 0 else f"{name}__k{k}"


def rename_refs(regex, k, known):
    """{name} -> {name__kK} for the concept names the KB defines (other
    braces, such as {2,3}, are PCRE2's)."""
    return REF.sub(lambda m: "{%s}" % suffix(m.group(1), k)
                   if m.group(1) in known else m.group(0), regex)


def tag(k):
    """The suffix that makes copy k's words its own (k >= 1)."""
    return "zq" + chr(97 + k % 26) + chr(97 + (k // 26) % 26)


def distinct_words(text, k):
    """Every word of 2+ letters in a term gets copy k's suffix."""
    return " ".join(w + tag(k) if len(w) >= 2 and w.isalpha() else w
                    for w in text.split(" "))


def distinct_regex(regex, k):
    """Every run of 2+ letters of a regex that is text to match (not an
    escape such as \\b, not inside [...] or {...}) gets copy k's suffix."""
    out, i, n = [], 0, len(regex)
    while i < n:
        c = regex[i]
        if c == "\\":
            out.append(regex[i:i + 2])
            i += 2
        elif c in "[{":
            close = "]" if c == "[" else "}"
            j = regex.find(close, i + 2 if c == "[" else i + 1)
            j = n - 1 if j < 0 else j
            out.append(regex[i:j + 1])
            i = j + 1
        elif c.isalpha():
            j = i
            while j < n and regex[j].isalpha():
                j += 1
            word = regex[i:j]
            out.append(word + tag(k) if len(word) >= 2 else word)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def copy_concepts(concepts, c_fold, distinct):
    names = set(concepts)
    out = {}
    for k in range(c_fold):
        for name, c in concepts.items():
            n = dict(c)
            if "patterns" in c:
                n["patterns"] = [rename_refs(p, k, names) for p in c["patterns"]]
                if distinct and k:
                    n["patterns"] = [distinct_regex(p, k)
                                     for p in n["patterns"]]
            if distinct and k and "terms" in c:
                n["terms"] = [("=" + distinct_words(t[1:], k))
                              if t.startswith("=") else distinct_words(t, k)
                              for t in c["terms"]]
            out[suffix(name, k)] = n
    return out


def copy_intent(intent, k, ck, names, distinct):
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
                r = rename_refs(p["regex"], ck, names)
                p = dict(p, regex=distinct_regex(r, k) if distinct and k
                         else r)
            else:
                p = rename_refs(p, ck, names)
                if distinct and k:
                    p = distinct_regex(p, k)
            pats.append(p)
        n["patterns"] = pats
    return n


def main():
    args = sys.argv[1:]
    distinct = "--distinct" in args
    args = [a for a in args if a != "--distinct"]
    if len(args) != 3:
        sys.exit("usage: gen_kb.py [--distinct] SRC N OUT")
    src, fold, out = args[0], int(args[1]), args[2]
    if fold < 1:
        sys.exit("gen_kb.py: N must be 1 or more")
    load = lambda p: json.load(open(os.path.join(src, p), encoding="utf-8"))
    concepts = load("patterns/concepts.json")
    intents = load("patterns/intents.json")
    answers = load("responses/answers.json")

    n_con = len(concepts["concepts"])
    c_fold = max(1, min(fold, MAX_CONCEPTS // n_con))
    names = set(concepts["concepts"])
    concepts["concepts"] = copy_concepts(concepts["concepts"], c_fold,
                                         distinct)
    intents["intents"] = [copy_intent(i, k, k % c_fold, names,
                                      distinct and k % c_fold != 0)
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
    for rel in ("responses/article.txt", "patterns/safety.json"):
        shutil.copy(os.path.join(src, rel), os.path.join(out, rel))
    n_pat = sum(len(i.get("patterns", [])) for i in intents["intents"])
    print(json.dumps({"fold": fold, "intents": len(intents["intents"]),
                      "concepts": len(concepts["concepts"]),
                      "concept_fold": c_fold, "intent_patterns": n_pat,
                      "responses": len(answers["responses"])}))


if __name__ == "__main__":
    main()
