#!/usr/bin/env python3
"""report.py - the benchmark table, from run.sh's raw outputs.

    report.py OUT_DIR RESULTS.md

Reads the files run.sh wrote into OUT_DIR, prints the summary table (and
the detail tables) as markdown on stdout, and writes the same, with the
machine description and the commands, to RESULTS.md.  A section whose
files are missing says so instead of failing.
"""
import json
import os
import re
import sys

OUT = sys.argv[1]
RESULTS = sys.argv[2]


def path(name):
    return os.path.join(OUT, name)


def jsonl(name):
    try:
        with open(path(name), encoding="utf-8") as f:
            return [json.loads(l) for l in f if l.strip().startswith("{")]
    except FileNotFoundError:
        return []


def jfile(name):
    try:
        with open(path(name), encoding="utf-8") as f:
            return json.load(f)
    except (FileNotFoundError, ValueError):
        return None


def text(name):
    try:
        with open(path(name), encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def us(ns):
    return "n/a" if ns is None else f"{ns / 1000:.1f} µs" if ns < 1e6 \
        else f"{ns / 1e6:.2f} ms"


def num(x, fmt="{:,.0f}"):
    return "n/a" if x is None else fmt.format(x)


def verdict(ok):
    return "n/a" if ok is None else ("**met**" if ok else "**missed**")


summary = []   # rows: benchmark, figure, value, target, status
details = []   # markdown blocks
machine = jfile("machine.json") or {}


def add(bench, figure, value, target="", ok=None):
    summary.append((bench, figure, value, target,
                    verdict(ok) if target else ""))


# ------------------------------------------------------------ matcher
mix = [r for r in jsonl("matcher.jsonl") if r.get("bench") == "ask"]
one = next((r for r in mix if r["threads"] == 1), None)
many = next((r for r in mix if r["threads"] > 1), None)
cats = [r for r in jsonl("matcher.jsonl")
        if r.get("bench") == "category" and r.get("threads") == 1]
cg = {r["label"]: r for r in jsonl("callgrind.jsonl")}
if one:
    add("1 matcher", "questions/s, 1 thread", num(one["qps"]))
    add("1 matcher", "median per question, 1 thread", us(one["median_ns"]),
        "≤ 1 µs", one["median_ns"] <= 1000)
    add("1 matcher", "p99 per question, 1 thread", us(one["p99_ns"]))
    add("1 matcher", "mean per question, 1 thread", us(one["mean_ns"]))
if many:
    add("1 matcher", f"questions/s, {many['threads']} threads",
        num(many["qps"]) + (f" ({many['qps'] / one['qps']:.2f}x)"
                            if one else ""))
    add("1 matcher", f"median / p99, {many['threads']} threads",
        f"{us(many['median_ns'])} / {us(many['p99_ns'])}")
if "mix" in cg and cg["mix"]["calls"]:
    add("1 matcher", "instructions per question (callgrind, mix)",
        num(cg["mix"]["ir"] / cg["mix"]["calls"]))
if cats:
    rows = ["| category | questions | median | p99 | instructions/question |",
            "| --- | ---: | ---: | ---: | ---: |"]
    for r in cats:
        c = cg.get("cat-" + r["category"])
        ipq = num(c["ir"] / c["calls"]) if c and c["calls"] else "n/a"
        n = c["calls"] if c else ""
        rows.append(f"| {r['category']} | {n} | {us(r['median_ns'])} | "
                    f"{us(r['p99_ns'])} | {ipq} |")
    details.append(("Matcher by question category (1 thread)",
                    "\n".join(rows)))

# ------------------------------------------------------- profile
CG_LINE = re.compile(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S.*)$")


def callgrind_funcs(txt, names):
    """name -> largest inclusive Ir of a function of that name; a name
    ending in * matches a prefix (libc's __strncmp_avx2, _evex, ...)."""
    got = {}
    for line in txt.splitlines():
        if line.startswith("-- Auto-annotated source"):
            break
        m = CG_LINE.match(line)
        if not m:
            continue
        ir = int(m.group(1).replace(",", ""))
        fn = m.group(2).split(" [")[0].rsplit(":", 1)[-1].strip()
        fn = re.sub(r"'\d+$", "", fn)
        for n in names:
            if fn == n or (n.endswith("*") and fn.startswith(n[:-1])):
                if ir > got.get(n, 0):
                    got[n] = ir
    return got


def call_sites(txt, top=12):
    """The costliest call sites in the library's own sources (plugin/,
    cli/): (file:line text, callee, calls, inclusive Ir), from
    callgrind_annotate --auto=yes output.  Inclusive costs nest."""
    sites, src, last = [], None, None
    for line in txt.splitlines():
        m = re.match(r"-- Auto-annotated source: (.*)$", line)
        if m:
            f = m.group(1).strip()
            src = f if re.search(r"(^|/)(plugin|cli)/[^/]+\.c$", f) else None
            last = None
            continue
        if not src:
            continue
        m = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+=>\s+(\S+)"
                     r"(?: \[[^]]*\])? \(([\d,]+)x\)", line)
        if m and last:
            callee = m.group(2).rsplit(":", 1)[-1]
            sites.append((int(m.group(1).replace(",", "")),
                          "/".join(src.split("/")[-2:]), last, callee,
                          int(m.group(3).replace(",", ""))))
            continue
        m = re.match(r"\s*(?:[\d,]+\s+\(\s*[\d.]+%\)|\.)\s{2,}(\S.*)$",
                     line)
        if m:
            last = m.group(1).strip()
    sites.sort(key=lambda s: -s[0])
    return sites[:top]


def sites_table(sites, per, total, what):
    rows = [f"| {what} | source line | calls | instructions{per[0]} | share |",
            "| --- | --- | ---: | ---: | ---: |"]
    for ir, f, code, callee, calls in sites:
        code = code.replace("|", "\\|")
        if len(code) > 60:
            code = code[:57] + "..."
        rows.append(f"| `{callee}` from {f} | `{code}` | {calls:,} | "
                    f"{ir / per[1]:,.0f} | {100 * ir / total:.1f}% |")
    return "\n".join(rows)


def program_total(txt):
    m = re.search(r"([\d,]+)\s+(?:\([\d.]+%\)\s+)?PROGRAM TOTALS", txt)
    return int(m.group(1).replace(",", "")) if m else None


PROFILES = (("typical", "typical questions (all but long)"),
            ("cat-long", "long questions (260 B - 4 KB)"),
            ("mix", "whole mix"))
FUNCS = ["msfaq_ask", "msfaqp_check_utf8", "msfaqp_route_run",
         "msfaqp_normalize", "msfaqp_focus", "msfaqp_correct",
         "msfaqp_damerau*", "msfaqp_split", "msfaqp_known",
         "msfaqp_match_run", "score_intents", "msfaqp_terms_scan",
         "msfaqp_regex_run", "pcre2_match_8", "pcre2_jit_match_8",
         "pcre2_match_data_create_8", "msfaqp_result_finish", "json_dumps",
         "msfaq_result_free", "malloc", "free", "calloc", "realloc"]
profs = {}         # label -> {function: share of that set's instructions}
prof_sites = {}    # label -> [(share, callee, code)]
cols = []
site_tables = []
for label, title in PROFILES:
    inc = text(f"callgrind.{label}.inclusive.txt")
    c = cg.get(label)
    if not inc or not c or not c["calls"]:
        continue
    got = callgrind_funcs(inc, set(FUNCS))
    profs[label] = {n: v / c["ir"] for n, v in got.items()}
    profs[label]["_per_q"] = {n: v / c["calls"] for n, v in got.items()}
    cols.append((label, title, c))
    sites = call_sites(text(f"callgrind.{label}.lines.txt"), top=20)
    prof_sites[label] = [(ir / c["ir"], callee, code)
                         for ir, f, code, callee, n in sites]
    if label != "mix" and sites:
        site_tables.append((f"Costliest call sites in the library: {title} "
                        "(callgrind, per question, inclusive: nested sites "
                        "overlap)",
                        sites_table(sites[:12], ("/question", c["calls"]),
                                    c["ir"], "callee")))
if cols:
    head = "| function (inclusive) | " + " | ".join(
        f"{t}: instructions/question (share)" for _, t, _ in cols) + " |"
    rows = [head, "| --- |" + " ---: |" * len(cols)]
    rows.append("| **all** | " + " | ".join(
        f"**{c['ir'] / c['calls']:,.0f}** ({c['calls']} questions)"
        for _, _, c in cols) + " |")
    for n in FUNCS:
        if not any(n in profs[l] for l, _, _ in cols):
            continue
        cells = []
        for l, _, _ in cols:
            p = profs[l]
            cells.append(f"{p['_per_q'][n]:,.0f} ({100 * p[n]:.1f}%)"
                         if n in p else "")
        rows.append(f"| `{n.rstrip('*')}` | " + " | ".join(cells) + " |")
    details.append(("Where a question's instructions go (callgrind, "
                    "inclusive; names are the library's functions)",
                    "\n".join(rows)))
details.extend(site_tables)
prof = {k: v for k, v in profs.get("typical", profs.get("mix", {})).items()
        if k != "_per_q"}
perf_dso = text("perf.dso.txt").strip()
perf_sym = text("perf.symbols.txt").strip()
if perf_dso:
    details.append(("Where the time goes (perf, whole mix, by shared "
                    "object; [JIT] is PCRE2's JIT-compiled regex code)",
                    "```\n" + perf_dso + "\n```\n\n```\n" + perf_sym +
                    "\n```"))
rc = jsonl("regex_cost.jsonl")
if len(rc) > 1:
    head, rows_rc = rc[0], rc[1:11]
    rows = [f"{head['regexes']} regexes over {head['questions']} "
            f"questions; sum of means {head['sum_mean_ns']:,.0f} ns per "
            "question if every one ran.", "",
            "| regex | mean per question | worst question | hits | source |",
            "| --- | ---: | ---: | ---: | --- |"]
    for r in rows_rc:
        src = r.get("source", "").replace("|", "\\|")
        if len(src) > 70:
            src = src[:67] + "..."
        rows.append(f"| {r['name']} | {r.get('mean_ns', 0):,.0f} ns | "
                    f"{us(r.get('max_ns'))} | {r.get('hits', '')} | "
                    f"`{src}` |")
    details.append(("The ten most expensive KB regexes, each alone "
                    "(bench/regex_cost.py)", "\n".join(rows)))

# ------------------------------------------------------------ nlp.js
nl = jsonl("nlpjs.jsonl")
side = next((r for r in nl if r.get("bench") == "ask"), None)
nj = next((r for r in nl if r.get("bench") == "nlpjs"), None)
batch = next((r for r in nl if r.get("bench") == "batch"), None)
if nj:
    add("2 nlp.js", f"nlp.js {nj['version']} questions/s, 1 thread "
        f"(trained on {nj['docs']} examples, {nj['train_ms']:,.0f} ms)",
        num(nj["qps"]))
    add("2 nlp.js", "nlp.js median / p99 per question",
        f"{us(nj['median_ns'])} / {us(nj['p99_ns'])}")
    if side:
        ratio = side["qps"] / nj["qps"]
        add("2 nlp.js", "msfaq ÷ nlp.js throughput, warm, 1 thread each, "
            "same run", f"{ratio:.1f}x")
    if batch and nj.get("first_pass_mean_ns"):
        ratio = nj["first_pass_mean_ns"] / batch["mean_ns"]
        add("2 nlp.js", f"batch `msfaq ask --json` over the "
            f"{batch['questions']} questions (whole process) ÷ nlp.js's "
            "first pass over them, per question",
            f"{us(batch['mean_ns'])} vs {us(nj['first_pass_mean_ns'])}: "
            f"{ratio:.0f}x", "≥ 50x (goal 200x)", ratio >= 50)
    njc = [r for r in nl if r.get("bench") == "nlpjs_category"]
    if njc and cats:
        mc = {r["category"]: r for r in cats}
        rows = ["| category | msfaq median | nlp.js median | ratio |",
                "| --- | ---: | ---: | ---: |"]
        for r in njc:
            m = mc.get(r["category"])
            if m:
                rows.append(f"| {r['category']} | {us(m['median_ns'])} | "
                            f"{us(r['median_ns'])} | "
                            f"{r['median_ns'] / max(m['median_ns'], 1):.1f}x |")
        details.append(("msfaq beside nlp.js by category (medians; msfaq "
                        "from the matcher run)", "\n".join(rows)))


def score_line(name):
    m = re.search(r"SCORE (.*)$", text(name), re.M)
    return dict(kv.split("=") for kv in m.group(1).split()) if m else None


sm, sn = score_line("score.msfaq.txt"), score_line("score.nlpjs.txt")
if sm or sn:
    rows = ["| responder | pass | answers | rejects | safety | wrong | n |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, s in (("msfaq", sm), ("nlp.js (same intents, msfaq's "
                                    "replies)", sn)):
        if s:
            rows.append(f"| {name} | {s['pass']} | {s['answer_acc']} | "
                        f"{s['reject']} | {s['safety']} | {s['wrong']} | "
                        f"{s['n']} |")
    details.append(("Shared dev set (/work/shared/eval/dev.jsonl, "
                    "score.py)", "\n".join(rows)))
    if sm and sn:
        add("2 nlp.js", "dev set pass rate, msfaq / nlp.js",
            f"{sm['pass']} / {sn['pass']}")

# ------------------------------------------------------------ serve
sv = jsonl("serve.jsonl")
if sv:
    by = {(r["server"], r["conns"]): r["wrk"] for r in sv}
    cpu = {(r["server"], r["conns"]): r.get("server_cpu_s") for r in sv}

    def cpu_per_req(name, c, w):
        s = cpu.get((name, c))
        return (f"{1e6 * s / w['requests']:,.0f} µs"
                if s is not None and w and w.get("requests") else "n/a")

    rows = ["| connections | msfaq req/s | msfaq p50 | msfaq p99 | "
            "nginx req/s | nginx p50 | nginx p99 | msfaq ÷ nginx | "
            "server CPU per request, msfaq / nginx | errors (msfaq) |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
            "| ---: |"]
    for c in (1, 32, 256):
        m, n = by.get(("msfaq", c)), by.get(("nginx", c))
        if not m:
            continue
        errs = sum(m.get(k, 0) for k in ("connect_errors", "read_errors",
                                         "write_errors", "status_errors",
                                         "timeouts"))
        ratio = (m["rps"] / n["rps"]) if n and n.get("rps") else None
        rows.append(
            f"| {c} | {num(m.get('rps'))} | {us(m.get('lat_p50_us', 0) * 1000)}"
            f" | {us(m.get('lat_p99_us', 0) * 1000)} | "
            f"{num(n.get('rps')) if n else 'n/a'} | "
            f"{us(n['lat_p50_us'] * 1000) if n else 'n/a'} | "
            f"{us(n['lat_p99_us'] * 1000) if n else 'n/a'} | "
            f"{'n/a' if ratio is None else f'{100 * ratio:.0f}%'} | "
            f"{cpu_per_req('msfaq', c, m)} / {cpu_per_req('nginx', c, n)} | "
            f"{errs} |")
        if c == 32:
            add("3 responder", "msfaq serve req/s at 32 connections",
                f"{num(m.get('rps'))}"
                + (f" ({100 * ratio:.0f}% of nginx's {num(n['rps'])})"
                   if ratio is not None else ""),
                "≥ 60% of nginx", None if ratio is None else ratio >= 0.6)
            add("3 responder", "msfaq serve p99 at 32 connections",
                us(m.get("lat_p99_us", 0) * 1000), "≤ 2 ms",
                m.get("lat_p99_us", 1e9) <= 2000)
    mp, np_ = by.get(("msfaq-pinned", 32)), by.get(("nginx-pinned", 32))
    if mp:
        pr = mp["rps"] / np_["rps"] if np_ and np_.get("rps") else None
        rows.append(
            f"| 32, server on core 0, wrk on core 1 | {num(mp.get('rps'))} | "
            f"{us(mp.get('lat_p50_us', 0) * 1000)} | "
            f"{us(mp.get('lat_p99_us', 0) * 1000)} | "
            f"{num(np_.get('rps')) if np_ else 'n/a'} | "
            f"{us(np_['lat_p50_us'] * 1000) if np_ else 'n/a'} | "
            f"{us(np_['lat_p99_us'] * 1000) if np_ else 'n/a'} | "
            f"{'n/a' if pr is None else f'{100 * pr:.0f}%'} | "
            f"{cpu_per_req('msfaq-pinned', 32, mp)} / "
            f"{cpu_per_req('nginx-pinned', 32, np_)} | |")
        add("3 responder", "at 32 connections, server pinned to core 0 and "
            "wrk to core 1 (diagnosis): req/s, p99",
            f"{num(mp.get('rps'))}"
            + (f" ({100 * pr:.0f}% of nginx's {num(np_['rps'])})"
               if pr is not None else "")
            + f", p99 {us(mp.get('lat_p99_us', 0) * 1000)}"
            + (f" (nginx {us(np_['lat_p99_us'] * 1000)})" if np_ else ""))
    sh = by.get(("msfaq-short", 32))
    if sh:
        rows.append(f"| 32, no long questions | {num(sh.get('rps'))} | "
                    f"{us(sh.get('lat_p50_us', 0) * 1000)} | "
                    f"{us(sh.get('lat_p99_us', 0) * 1000)} | | | | | "
                    f"{cpu_per_req('msfaq-short', 32, sh)} | |")
        add("3 responder", "p99 at 32 connections without the long "
            "questions (diagnosis)", us(sh.get("lat_p99_us", 0) * 1000))
    pdso = text("perf.serve.dso.txt").strip()
    if pdso:
        details.append(("Where msfaq serve's CPU goes at 32 connections "
                        "(perf -p, by shared object: the matcher is "
                        "libmsfaq, [JIT], libpcre2 and much of libc; then "
                        "the inclusive shares of the system calls and of "
                        "thread switches)",
                        "```\n" + pdso + "\n```\n\n```\n"
                        + text("perf.serve.symbols.txt").strip() + "\n```"))
    body = jfile("serve.body.json") or {}
    details.append((f"Responder: wrk, POST /v1/ask, keep-alive "
                    f"(nginx: fixed {body.get('body_bytes', '?')}-byte "
                    f"body)", "\n".join(rows)))
rss = jsonl("serve.rss.jsonl")
if rss:
    idle = next((r for r in rss if r["phase"] == "idle"), None)
    end = next((r for r in rss if r["phase"] == "end"), None)
    warm = next((r for r in rss if r["phase"] == "warm"), None)
    if idle and end:
        mib = lambda k: k / 1024
        add("4 memory", "msfaq serve RSS idle",
            f"{mib(idle['rss']['rss_kib']):.1f} MiB",
            "≤ 16 MiB", idle["rss"]["rss_kib"] <= 16 * 1024)
        base = warm or idle
        soaked = end["requests"] - base["requests"]
        grow = end["rss"]["rss_kib"] - base["rss"]["rss_kib"]
        # flat: under 512 KiB more after a million requests on a warm server
        flat = grow <= 512 and soaked >= 1000000
        add("4 memory", f"msfaq serve RSS warm → after {soaked:,} more "
            "requests",
            f"{mib(base['rss']['rss_kib']):.1f} → "
            f"{mib(end['rss']['rss_kib']):.1f} MiB ({grow / 1024:+.2f} MiB;"
            f" peak {mib(end['rss']['hwm_kib']):.1f} MiB)",
            "≤ 16 MiB, flat (< 0.5 MiB growth) over ≥ 1M requests",
            end["rss"]["hwm_kib"] <= 16 * 1024 and flat)
        rows = ["| phase | requests | RSS | anonymous | file-backed "
                "(shared libraries) | peak RSS |",
                "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for r in rss:
            x = r["rss"]
            rows.append(f"| {r['phase']} | {r['requests']:,} | "
                        f"{mib(x['rss_kib']):.1f} MiB | "
                        + (f"{mib(x['anon_kib']):.1f} MiB | "
                           f"{mib(x['file_kib']):.1f} MiB"
                           if "anon_kib" in x else " | ")
                        + f" | {mib(x['hwm_kib']):.1f} MiB |")
        details.append(("msfaq serve memory over the soak", "\n".join(rows)))

# ------------------------------------------------------------ start-up
hf = jfile("startup.hyperfine.json")
rs = {r["what"]: r["maxrss_kib"] for r in jsonl("rss.jsonl")}
if hf:
    res = {r["command"]: r for r in hf["results"]}
    t, a, h = res.get("true"), res.get("ask"), res.get("hello")
    rows = ["| command | median | mean | σ | min | peak RSS |",
            "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in res.items():
        rk = rs.get(name.replace("ask-json", "ask"))
        rows.append(f"| `{name}` | {r['median'] * 1e3:.2f} ms | "
                    f"{r['mean'] * 1e3:.2f} ms | "
                    f"{r['stddev'] * 1e3:.2f} ms | {r['min'] * 1e3:.2f} ms |"
                    f" {'' if rk is None else f'{rk / 1024:.1f} MiB'} |")
    details.append(("Start-up: whole process (hyperfine -N; `ask` is "
                    "`msfaq ask \"what is CAR T?\"`, `hello` a C "
                    "hello-world linked with the same libraries)",
                    "\n".join(rows)))
    if t and a:
        # medians: a busy machine gives a few slow runs of anything, and
        # one slow `true` moves its mean a lot
        ratio = a["median"] / t["median"]
        add("4 start-up", "`msfaq ask \"...\"` whole process (median)",
            f"{a['median'] * 1e3:.2f} ms = {ratio:.1f}x `true` "
            f"({t['median'] * 1e3:.2f} ms)"
            + (f"; hello-world {h['median'] * 1e3:.2f} ms" if h else ""),
            "≤ 2x `true`", ratio <= 2)
if "ask" in rs:
    add("4 memory", "`msfaq ask` peak RSS", f"{rs['ask'] / 1024:.1f} MiB"
        + (f" (`true` {rs['true'] / 1024:.1f} MiB, hello-world "
           f"{rs['hello'] / 1024:.1f} MiB)" if "true" in rs and "hello" in rs
           else ""), "≤ 4 MiB", rs["ask"] <= 4096)
st = text("callgrind.startup.inclusive.txt")
st_prof = {}
if st:
    names = ["_dl_start", "main", "msfaq_kb_open", "pcre2_compile_8",
             "pcre2_jit_compile_8", "json_loadb", "json_loads",
             "json_load_file", "json_delete", "msfaqp_wordset_add",
             "__snprintf_chk", "__strncmp_*", "malloc", "free",
             "msfaq_ask", "msfaq_kb_close", "exit"]
    got = callgrind_funcs(st, set(names))
    tot = program_total(st)
    st_prof = {n: v / tot for n, v in got.items()} if tot else {}
    rows = ["| function (inclusive) | instructions | share |",
            "| --- | ---: | ---: |"]
    if tot:
        rows.append(f"| whole process | {tot:,} | 100% |")
    for n in names:
        if n in got and tot:
            rows.append(f"| `{n}` | {got[n]:,} | {100 * got[n] / tot:.1f}% |")
    for other in ("true", "hello"):
        m = re.search(r"Collected : (\d+)", text(f"cg.{other}.log"))
        if m:
            rows.append(f"| whole `{other}` process, for scale | "
                        f"{int(m.group(1)):,} | |")
    details.append(("Where start-up goes (callgrind, one `msfaq ask`)",
                    "\n".join(rows)))
    sites = call_sites(text("callgrind.startup.lines.txt"))
    if sites and tot:
        details.append(("Costliest call sites at start-up (callgrind, one "
                        "`msfaq ask`, inclusive: nested sites overlap)",
                        sites_table(sites, ("", 1), tot, "callee")))

# ------------------------------------------------------------ scaling
kbs = jsonl("scaling.kb.jsonl")
sc = jsonl("scaling.jsonl")
if sc:
    opens = {r["label"]: r for r in sc if r["bench"] == "open"}
    asks = {r["label"]: r for r in sc if r["bench"] == "ask"}
    rows = ["| KB | intents | concepts | intent patterns | open (load + "
            "JIT) | median | p99 | mean | questions/s |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for k in kbs:
        lab = f"kb-{k['fold']}x"
        o, a = opens.get(lab), asks.get(lab)
        if not a:
            continue
        rows.append(f"| {k['fold']}x | {k['intents']:,} | {k['concepts']:,}"
                    f"{'' if k['concept_fold'] == k['fold'] else ' (capped)'}"
                    f" | {k['intent_patterns']:,} | "
                    f"{us(o['median_ns']) if o else 'n/a'} | "
                    f"{us(a['median_ns'])} | {us(a['p99_ns'])} | "
                    f"{us(a['mean_ns'])} | {num(a['qps'])} |")
    details.append(("Scaling with the knowledge base (bench/gen_kb.py "
                    "--distinct: copies about other things, as a KB grown "
                    "by more articles)", "\n".join(rows)))
    a1, a100 = asks.get("kb-1x"), asks.get("kb-100x")
    if a1 and a100:
        r = a100["median_ns"] / a1["median_ns"]
        add("5 scaling", "median per question, 1x → 100x intents",
            f"{us(a1['median_ns'])} → {us(a100['median_ns'])} ({r:.2f}x; "
            f"mean {a100['mean_ns'] / a1['mean_ns']:.2f}x)", "≤ 2x", r <= 2)
ln = [r for r in jsonl("lengths.jsonl") if r["bench"] == "length"]
tr = next((r for r in jsonl("lengths.jsonl") if r["bench"] == "tr"), None)
if ln:
    rows = ["| question bytes | median | p99 | ns per byte (median) |",
            "| ---: | ---: | ---: | ---: |"]
    for r in ln:
        rows.append(f"| {r['bytes']} | {us(r['median_ns'])} | "
                    f"{us(r['p99_ns'])} | "
                    f"{r['median_ns'] / max(r['mean_bytes'], 1):,.0f} |")
    details.append(("Scaling with the question's length (text cut from "
                    "the question mix)", "\n".join(rows)))
    add("5 scaling", "median per question, 100 B → 4096 B",
        f"{us(ln[0]['median_ns'])} → {us(ln[-1]['median_ns'])}")
    if tr and ln[-1]["bytes"] == 4096:
        r = ln[-1]["median_ns"] / tr["per_text_ns"]
        add("5 scaling", "a 4096-byte question ÷ `tr A-Z a-z` lowercasing "
            "one (1,000 in one run, per text)",
            f"{us(ln[-1]['median_ns'])} vs {us(tr['per_text_ns'])}: "
            f"{r:.1f}x", "≤ 2x", r <= 2)

# ----------------------------------------------------------- analysis
# One paragraph per missed target, from the figures above only.
analysis = []


def pc(x):
    return f"{100 * x:.0f}%"


def pcre_sites():
    out = []
    for share, callee, code in prof_sites.get("typical",
                                              prof_sites.get("mix", [])):
        if callee.startswith(("pcre2_", "msfaqp_regex")):
            out.append(f"`{callee}` at `{code[:60]}` {pc(share)}")
    return out


if one and one["median_ns"] > 1000:
    t = [f"**Matcher median {us(one['median_ns'])}, "
         f"{one['median_ns'] / 1000:.1f}x the 1 µs target** "
         f"(mean {us(one['mean_ns'])}, p99 {us(one['p99_ns'])})."]
    ty, lg = cg.get("typical"), cg.get("cat-long")
    if ty and ty["calls"]:
        t.append(f"callgrind: {ty['ir'] / ty['calls']:,.0f} instructions "
                 f"per typical question (the {ty['calls']} questions that "
                 "are not long inputs, which set the median)"
                 + (f", {lg['ir'] / lg['calls']:,.0f} per long one"
                    if lg and lg["calls"] else "") + ".")
    elif "mix" in cg and cg["mix"]["calls"]:
        t.append(f"callgrind: {cg['mix']['ir'] / cg['mix']['calls']:,.0f} "
                 "instructions per question over the mix.")
    if prof:
        def part(label, names):
            got = [(n, prof[n]) for n in names if prof.get(n, 0) >= 0.005]
            return (f"{label} " + ", ".join(f"`{n.rstrip('*')}` {pc(v)}"
                                              for n, v in got)
                    if got else None)
        parts = [part("routing (`msfaqp_route_run`, the whole pipeline "
                      "but the reply):", ["msfaqp_route_run"]),
                 part("normalisation:", ["msfaqp_normalize"]),
                 part("of which typo correction:",
                      ["msfaqp_correct", "msfaqp_damerau*", "msfaqp_split",
                       "msfaqp_known"]),
                 part("matching:", ["msfaqp_match_run", "score_intents"]),
                 part("of which regexes and the term index:",
                      ["msfaqp_regex_run", "pcre2_match_8",
                       "pcre2_jit_match_8", "msfaqp_terms_scan"]),
                 part("the reply and its JSON:",
                      ["msfaqp_result_finish", "json_dumps"]),
                 part("memory:", ["malloc", "free", "calloc", "realloc"])]
        t.append("Shares of a typical question's instructions "
                 "(inclusive): " + "; ".join(p for p in parts if p) + ".")
        pl = {k: v for k, v in profs.get("cat-long", {}).items()
              if k != "_per_q"}
        if pl:
            top = sorted(((v, k) for k, v in pl.items()
                          if k not in ("msfaq_ask", "msfaqp_route_run")),
                         reverse=True)[:3]
            t.append("For long questions the largest are "
                     + ", ".join(f"`{k.rstrip('*')}` {pc(v)}"
                                 for v, k in top) + ".")
        if pcre_sites():
            t.append("Regex call sites: " + "; ".join(pcre_sites()) + ".")
    if cats:
        lo = min(cats, key=lambda r: r["median_ns"])
        hi = max(cats, key=lambda r: r["median_ns"])
        t.append(f"By category the median runs from {us(lo['median_ns'])} "
                 f"({lo['category']}) to {us(hi['median_ns'])} "
                 f"({hi['category']}); no category is under 1 µs."
                 if lo["median_ns"] > 1000 else
                 f"By category the median runs from {us(lo['median_ns'])} "
                 f"({lo['category']}) to {us(hi['median_ns'])} "
                 f"({hi['category']}).")
    if len(rc) > 1:
        top3 = ", ".join(f"`{r['name']}` {r.get('mean_ns', 0):,.0f} ns"
                         for r in rc[1:4])
        t.append(f"Costliest regexes alone, mean per question: {top3}.")
    analysis.append(" ".join(t))

if nj and batch and nj.get("first_pass_mean_ns") and \
        nj["first_pass_mean_ns"] / batch["mean_ns"] < 50:
    ratio = nj["first_pass_mean_ns"] / batch["mean_ns"]
    analysis.append(
        f"**Batch {ratio:.0f}x nlp.js's first pass, target 50x.** nlp.js "
        f"{nj['version']} takes {us(nj['first_pass_mean_ns'])} per question "
        f"on its first pass over the mix; 50x that is "
        f"{us(nj['first_pass_mean_ns'] / 50)} per question for the whole "
        f"`msfaq ask --json` process, against {us(batch['mean_ns'])} "
        "measured in the same run. The cost is the matcher's (previous "
        "paragraph) and the long questions' (the length table).")

if ln and tr and ln[-1]["bytes"] == 4096 and \
        ln[-1]["median_ns"] > 2 * tr["per_text_ns"]:
    big, small = ln[-1], ln[0]
    t = [f"**A 4096-byte question takes {us(big['median_ns'])}, "
         f"{big['median_ns'] / tr['per_text_ns']:.0f}x `tr A-Z a-z` "
         f"({us(tr['per_text_ns'])}), target 2x.** Per byte it costs "
         f"{big['median_ns'] / big['mean_bytes']:,.0f} ns against "
         f"{small['median_ns'] / max(small['mean_bytes'], 1):,.0f} ns for "
         f"{small['bytes']} bytes: the cost is linear in the length, but "
         "every byte is read by the normaliser, the term index, the "
         "literal scan, and then by each regex whose literals the text "
         "holds, which a long text holds for most of them."]
    pl = {k: v for k, v in profs.get("cat-long", {}).items()
          if k != "_per_q"}
    if pl:
        top = sorted(((v, k) for k, v in pl.items()
                      if k not in ("msfaq_ask", "msfaqp_route_run")),
                     reverse=True)[:4]
        t.append("Inclusive shares for the long questions of the mix: "
                 + ", ".join(f"`{k.rstrip('*')}` {pc(v)}" for v, k in top)
                 + ".")
    analysis.append(" ".join(t))

if sv:
    m32, n32 = by.get(("msfaq", 32)), by.get(("nginx", 32))
    if m32 and n32 and n32.get("rps"):
        r = m32["rps"] / n32["rps"]
        p99 = m32.get("lat_p99_us", 0)
        if r < 0.6 or p99 > 2000:
            sm32 = cpu.get(("msfaq", 32))
            sn32 = cpu.get(("nginx", 32))
            t = [f"**Responder at 32 connections: {pc(r)} of nginx, p99 "
                 f"{us(p99 * 1000)}** (targets 60%, 2 ms)."]
            if sm32 and sn32:
                t.append(f"Server CPU per request: msfaq "
                         f"{1e6 * sm32 / m32['requests']:,.0f} µs, nginx "
                         f"{1e6 * sn32 / n32['requests']:,.0f} µs.")
            if one and sm32:
                per = 1e9 * sm32 / m32["requests"]
                t.append(f"The matcher alone takes {us(one['mean_ns'])} "
                         "per question on average over the same mix "
                         f"(bench_ask, 1 thread): {pc(one['mean_ns'] / per)}"
                         " of msfaq's server CPU per request; the rest is "
                         "HTTP, JSON parsing of the request, logging and "
                         "thread hand-offs.")
            if sh:
                sp99 = sh.get("lat_p99_us", 0)
                t.append(f"Without the 1-4 KB questions the p99 is "
                         f"{us(sp99 * 1000)} at {num(sh.get('rps'))} req/s"
                         + (": the tail comes from the long questions (see "
                            "the length table), each holding a server "
                            "thread while requests queue behind it."
                            if sp99 <= 2000 else
                            ", so long questions are not the only cause of "
                            "the tail."))
            dso = {}
            for ln in text("perf.serve.dso.txt").splitlines():
                m = re.match(r"\s*([\d.]+)%\s+(\S+)", ln)
                if m:
                    dso[m.group(2)] = float(m.group(1))
            def share(prefix):
                return sum(v for k, v in dso.items() if k.startswith(prefix))
            if dso:
                kern = sum(v for k, v in dso.items() if "kernel" in k)
                mat = sum(v for k, v in dso.items()
                          if k.startswith(("libmsfaq", "[JIT]", "libpcre2")))
                t.append(f"perf of the server under load: {kern:.0f}% of "
                         f"its CPU in the kernel (loopback TCP send/receive, "
                         f"epoll, thread switches), {mat:.0f}% in libmsfaq, "
                         f"PCRE2 and its JIT code, {dso.get('libc.so.6', 0):.0f}%"
                         " in libc (string functions the matcher calls, "
                         "malloc), "
                         f"{share('libjansson'):.0f}% in jansson (parsing "
                         f"the request), {share('libmicrohttpd'):.0f}% in "
                         "libmicrohttpd.")
            mp = by.get(("msfaq-pinned", 32))
            np_ = by.get(("nginx-pinned", 32))
            if mp and np_ and np_.get("rps"):
                t.append(f"With the server on one core and wrk on the "
                         f"other, msfaq serves {num(mp['rps'])} req/s "
                         f"({pc(mp['rps'] / np_['rps'])} of nginx), p99 "
                         f"{us(mp.get('lat_p99_us', 0) * 1000)} (nginx "
                         f"{us(np_.get('lat_p99_us', 0) * 1000)}).")
            t.append(f"nginx's own p99 at 32 connections in this run is "
                     f"{us(n32.get('lat_p99_us', 0) * 1000)}; wrk shares "
                     "the cores with the server in both runs, and at 32 "
                     "connections the median latency is close to "
                     "connections ÷ throughput (Little's law), so "
                     "throughput per core decides it.")
            analysis.append(" ".join(t))

if hf:
    res = {r["command"]: r for r in hf["results"]}
    ta, tt, th = res.get("ask"), res.get("true"), res.get("hello")
    if ta and tt and ta["median"] / tt["median"] > 2:
        t = [f"**`msfaq ask` start-up {ta['median'] * 1e3:.2f} ms, "
             f"{ta['median'] / tt['median']:.1f}x `true`** (medians; "
             "target 2x)."]
        if th:
            d = th["median"] - tt["median"]
            t.append(f"Loading the same shared libraries costs "
                     f"{d * 1e3:.2f} ms (hello-world "
                     f"{th['median'] * 1e3:.2f} ms, "
                     f"{th['median'] / tt['median']:.1f}x `true` on its own)."
                     if d > 0 else
                     f"The hello-world linked with the same libraries takes "
                     f"{th['median'] * 1e3:.2f} ms, no more than `true` "
                     "within this run's noise.")
        op = [r for r in jsonl("matcher.jsonl") if r.get("bench") == "open"]
        if op:
            t.append(f"`msfaq_kb_open` of the built-in KB takes "
                     f"{us(op[0]['median_ns'])} (median of 5, bench_ask).")
        if st_prof:
            g = st_prof.get
            parts = [(f"`{n.strip('*_')}`", g(n, 0)) for n in
                     ("pcre2_jit_compile_8", "pcre2_compile_8", "json_loadb",
                      "json_delete", "__strncmp_*", "msfaqp_wordset_add",
                      "__snprintf_chk", "malloc", "free")]
            t.append(
                f"Of the process's instructions (callgrind) "
                f"`msfaq_kb_open` is {pc(g('msfaq_kb_open', 0))}, including "
                + ", ".join(f"{n} {pc(v)}" for n, v in parts if v >= 0.005)
                + f"; answering the question (`msfaq_ask`) "
                f"{pc(g('msfaq_ask', 0))}; the dynamic loader (`_dl_start`) "
                f"{pc(g('_dl_start', 0))}. The call-site table below names "
                "the lines.")
        analysis.append(" ".join(t))

if rss:
    idle = next((r for r in rss if r["phase"] == "idle"), None)
    end = next((r for r in rss if r["phase"] == "end"), None)
    if idle and end and (end["rss"]["hwm_kib"] > 16 * 1024 or
                         end["requests"] < 1000000):
        steps = "; ".join(f"{r['phase']} {r['rss']['rss_kib'] / 1024:.1f}"
                          for r in rss if r["phase"] not in ("soak",))
        x = idle["rss"]
        t = [f"**msfaq serve memory: peak {end['rss']['hwm_kib'] / 1024:.1f}"
             f" MiB** (target 16 MiB). RSS by phase, MiB: {steps}."]
        if "anon_kib" in x:
            t.append(f"Idle, {x['file_kib'] / 1024:.1f} MiB of "
                     f"{x['rss_kib'] / 1024:.1f} is file-backed (the shared "
                     "libraries msfaq-serve loads) and "
                     f"{x['anon_kib'] / 1024:.1f} MiB anonymous.")
        deltas = [(b["rss"]["rss_kib"] - a["rss"]["rss_kib"], b["phase"])
                  for a, b in zip(rss, rss[1:])]
        if deltas:
            d, ph = max(deltas)
            if "anon_kib" in x:
                prev = rss[[r["phase"] for r in rss].index(ph) - 1]["rss"]
                cur = next(r for r in rss if r["phase"] == ph)["rss"]
                da = cur["anon_kib"] - prev["anon_kib"]
                t.append(f"The largest step is {d / 1024:+.1f} MiB "
                         f"({da / 1024:+.1f} MiB anonymous) by \"{ph}\".")
            else:
                t.append(f"The largest step is {d / 1024:+.1f} MiB by "
                         f"\"{ph}\".")
        warm = next((r for r in rss if r["phase"] == "warm"), None)
        if warm:
            g = end["rss"]["rss_kib"] - warm["rss"]["rss_kib"]
            t.append(f"From warm to the end ({end['requests'] - warm['requests']:,}"
                     f" requests) RSS changed by {g / 1024:+.2f} MiB.")
        analysis.append(" ".join(t))

# ------------------------------------------------------------- output
table = ["| benchmark | figure | measured | target | |",
         "| --- | --- | --- | --- | --- |"]
for b, f, v, t, s in summary:
    table.append(f"| {b} | {f} | {v} | {t} | {s} |")
notes = text("notes.txt").strip()
lb, la = text("load.before.txt").split(), text("load.after.txt").split()
loads = [l.split("\t", 1) for l in text("loads.txt").splitlines()
         if "\t" in l]
if loads:
    worst = max(loads, key=lambda l: float(l[0]))
    notes = (notes + "\n" if notes else "") + (
        f"Highest 1-minute load average at a step of the run: {worst[0]} "
        f"(at \"{worst[1]}\"), on {machine.get('nproc', '?')} cores. The "
        "load average counts the benchmark's own threads too (about 1 in "
        "the single-threaded steps, 4 or more under wrk); more than that "
        "is other work sharing the CPU.")
if lb:
    busy = float(lb[0]) > 1.0
    notes = (notes + "\n" if notes else "") + (
        f"Load average (1, 5, 15 min) before the run {' '.join(lb)}, "
        f"after {' '.join(la)}"
        + ("; other work was running, so times (not instruction counts) "
           "are pessimistic and noisier." if busy else "."))

md = ["# msfaq benchmarks: results", "",
      "Written by `bench/run.sh`; see bench/README.md for what each figure "
      "means and how it is measured.", "",
      "## Machine", "",
      f"- CPU: {machine.get('cpu', '?')}, {machine.get('nproc', '?')} cores "
      f"(`nproc`), {machine.get('mem_gib', '?')} GiB",
      f"- Kernel: {machine.get('kernel', '?')}; {machine.get('os', '')}",
      f"- Commit: {machine.get('commit', '?')}"
      + (" with uncommitted changes in: "
         + ", ".join(sorted({l.split()[-1].split('/')[0]
                             for l in machine['dirty'].splitlines()}))
         if machine.get("dirty") else ""),
      f"- Tools: {machine.get('cc', '')}; PCRE2 {machine.get('pcre2', '')}; "
      f"jansson {machine.get('jansson', '')}; node {machine.get('node', '')};"
      f" {machine.get('wrk', '')}; {machine.get('nginx', '')}; "
      f"{machine.get('hyperfine', '')}; {machine.get('valgrind', '')}",
      f"- Run: {machine.get('date', '')}", "",
      "## Summary", "", *table, ""]
if notes:
    md += ["Notes:", ""] + [f"- {l}" for l in notes.splitlines()] + [""]
if analysis:
    md += ["## Missed targets: what the profiles show", "",
           "Generated from this run's figures (callgrind counts "
           "instructions, so the shares hold on a noisy machine).", ""]
    for a in analysis:
        md += [f"- {a}", ""]
md += ["## Details", ""]
for title, body in details:
    md += [f"### {title}", "", body, ""]
out = "\n".join(md)
print("\n".join(["", *table, ""] + ([f"note: {l}" for l in
                                    notes.splitlines()] if notes else [])))
with open(RESULTS, "w", encoding="utf-8") as f:
    f.write(out)
print(f"\n(full report: {RESULTS})")
