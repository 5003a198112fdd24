#!/usr/bin/env python3
"""kb_format.py FILE... - rewrites KB JSON files in the house layout.

Objects one key a line, indented by two; a list of short strings (terms,
examples) packed into lines of at most 100 columns; any other list one item
a line.  Keys keep their order.  `--check` reports files that would change
and exits 1, without writing.  The loader does not care about layout; this
keeps diffs of hand edits and scripted edits alike small and readable.
"""
import json
import sys

WIDTH = 101


def compact(v):
    return json.dumps(v, ensure_ascii=False, separators=(", ", ": "))


def dump(v, ind, key=None, col=0):
    """v as text that starts at column col of a line indented by ind."""
    pad = "  " * ind
    if isinstance(v, dict):
        if not v:
            return "{}"
        items = []
        for k, x in v.items():
            head = f"{pad}  {json.dumps(k, ensure_ascii=False)}: "
            items.append(head + dump(x, ind + 1, k, len(head)))
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(v, list):
        if not v:
            return "[]"
        # short lists stay on their line (a trailing comma may follow)
        regexes = key == "patterns" and isinstance(v[0], str)
        if not isinstance(v[0], dict) and not regexes and \
                col + len(compact(v)) + 1 <= WIDTH:
            return compact(v)
        # regexes one a line, so that each reads alone; words packed
        if all(isinstance(x, str) for x in v) and not regexes:
            lines, cur = [], ""
            for p in (json.dumps(x, ensure_ascii=False) for x in v):
                cand = f"{cur}, {p}" if cur else p
                if cur and len(pad) + 2 + len(cand) + 1 > WIDTH:
                    lines.append(cur + ",")
                    cur = p
                else:
                    cur = cand
            lines.append(cur)
            return "[\n" + "\n".join(f"{pad}  {l}" for l in lines) + \
                "\n" + pad + "]"
        return "[\n" + ",\n".join(f"{pad}  {dump(x, ind + 1, None, len(pad) + 2)}"
                                  for x in v) + "\n" + pad + "]"
    return json.dumps(v, ensure_ascii=False)


def main():
    args = sys.argv[1:]
    check = "--check" in args
    files = [a for a in args if a != "--check"]
    if not files:
        sys.exit(__doc__.strip().splitlines()[0])
    changed = 0
    for f in files:
        with open(f, encoding="utf-8") as fp:
            old = fp.read()
        new = dump(json.loads(old), 0) + "\n"
        if new != old:
            changed += 1
            if check:
                print(f"{f}: not in the house layout (tools/kb_format.py)")
            else:
                with open(f, "w", encoding="utf-8") as fp:
                    fp.write(new)
    sys.exit(1 if check and changed else 0)


if __name__ == "__main__":
    main()
