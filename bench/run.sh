#!/usr/bin/env bash
# bench/run.sh - every msfaq benchmark, then one table (bench/README.md).
#
#   bench/run.sh [--quick] [--no-install] [--only LIST]
#
# LIST is a comma-separated subset of: matcher,profile,nlpjs,startup,
# scaling,serve (default: all of them).  --quick shortens every timed run
# (for trying the script, not for figures).  The table is printed and
# written, with the machine description, to bench/RESULTS.md.
#
# Benchmarks print figures; they never fail on a slow machine.  The script
# exits non-zero only when something could not run at all (no compiler,
# the library does not build).
#
# Environment (all optional):
#   MSFAQ_SRC      source tree to build and measure (default: this repo)
#   BENCH_BUILD    build directory (default: $MSFAQ_SRC/build-bench)
#   BENCH_OUT      raw outputs (default: $BENCH_BUILD/bench-out)
#   BENCH_RESULTS  the report (default: bench/RESULTS.md)
#   BENCH_EVAL     shared eval folder with dev.jsonl and score.py
#                  (default: ../shared/eval beside this repo)
#   BENCH_NODE     where node-nlp is installed (default:
#                  .cache/bench-node in this repo)
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "${MSFAQ_SRC:-$BENCH/..}" && pwd)
BUILD=${BENCH_BUILD:-$SRC/build-bench}
OUT=${BENCH_OUT:-$BUILD/bench-out}
RESULTS=${BENCH_RESULTS:-$BENCH/RESULTS.md}
REPO=$(cd "$BENCH/.." && pwd)
EVAL=${BENCH_EVAL:-$REPO/../shared/eval}
NODE_DIR=${BENCH_NODE:-$REPO/.cache/bench-node}
QUESTIONS=$BENCH/questions.txt

QUICK=0
INSTALL=1
ONLY=matcher,profile,nlpjs,startup,scaling,serve
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1 ;;
    --no-install) INSTALL=0 ;;
    --only) ONLY=$2; shift ;;
    --only=*) ONLY=${1#--only=} ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed 's/^# \{0,1\}//;/^set -e/d'
               exit 0 ;;
    *) echo "run.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
want() { [[ ",$ONLY," == *",$1,"* ]]; }

# Durations, in seconds: full runs keep the whole script under ~10 min.
# Timed runs are split into ROUNDS rounds and the best round is kept (see
# bench_ask --rounds): on a shared machine a burst of other work then
# spoils one round, not the figure.
if [ $QUICK = 1 ]; then
  T_MIX=0.3 T_NLP=1.2 T_WRK=2 T_SCALE=0.3 SOAK_MAX=20 HF_RUNS=20 ROUNDS=2
else
  T_MIX=1 T_NLP=4.5 T_WRK=8 T_SCALE=0.75 SOAK_MAX=150 HF_RUNS=200 ROUNDS=3
fi
SOAK_TARGET=1000000
NPROC=$(nproc)

log() {   # progress on stderr; the load average at each step goes to
          # loads.txt, so the report can say what else was running
  printf '== %s\n' "$*" >&2
  [ -d "$OUT" ] && printf '%s\t%s\n' "$(cut -d' ' -f1 /proc/loadavg)" "$*" \
    >>"$OUT/loads.txt"
  return 0
}
note() { printf '%s\n' "$*" >>"$OUT/notes.txt"; }
best_wall() {   # FILE CMD...: best wall seconds of 5 runs of CMD < FILE
  python3 - "$@" <<'PY'
import subprocess, sys, time
best = None
for _ in range(5):
    with open(sys.argv[1], "rb") as f:
        t0 = time.perf_counter()
        subprocess.run(sys.argv[2:], stdin=f, stdout=subprocess.DEVNULL,
                       check=True)
        dt = time.perf_counter() - t0
    best = dt if best is None else min(best, dt)
print(f"{best:.6f}")
PY
}

mkdir -p "$OUT"
rm -f "$OUT"/*.jsonl "$OUT"/*.json "$OUT"/*.txt "$OUT"/*.out "$OUT"/*.log
: >"$OUT/notes.txt"
TMP=$(mktemp -d /tmp/msfaq-bench.XXXXXX)

# Every process this script starts is recorded here and stopped on exit,
# by its own pid only.
PIDS=()
forget_pid() {   # PID: drop it from PIDS (after it has been waited for)
  local keep=() q
  for q in "${PIDS[@]}"; do
    [ "$q" = "$1" ] || keep+=("$q")
  done
  PIDS=("${keep[@]}")
}
stop_pid() {   # PID: stop one of our processes and forget it
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  forget_pid "$1"
}
cleanup() {
  local p
  for p in "${PIDS[@]}"; do
    stop_pid "$p"
  done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------ install
install_deps() {
  local debs=() p
  # the library's own build dependencies (scripts/deps-apt.txt)
  if [ -f "$SRC/scripts/deps-apt.txt" ]; then
    mapfile -t debs < <(grep -v '^\s*#' "$SRC/scripts/deps-apt.txt" |
                        grep -v '^\s*$')
  fi
  debs+=($(grep -v '^\s*#' "$BENCH/deps-apt.txt" | grep -v '^\s*$'))
  command -v node >/dev/null || debs+=(nodejs)
  command -v npm >/dev/null || debs+=(npm)
  local missing=()
  for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
      missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing: ${missing[*]}"
    # Installing nginx must not start the system service on port 80: the
    # benchmark runs its own nginx on 127.0.0.1.  policy-rc.d is Debian's
    # switch for that; it is removed again right after.
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [ ! -e $policy ]; then
      printf '#!/bin/sh\nexit 101\n' >$policy && chmod 755 $policy &&
        made_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" \
      >"$OUT/apt.log" 2>&1 || log "apt-get failed; see $OUT/apt.log"
    if [ $made_policy = 1 ]; then rm -f $policy; fi
  fi
  # perf is optional (the profile falls back to callgrind alone), so a
  # failure here must not stop the rest
  if ! command -v perf >/dev/null; then
    apt-get install -y -qq --no-install-recommends linux-perf \
      >>"$OUT/apt.log" 2>&1 || note "linux-perf could not be installed"
  fi
  if want nlpjs && [ ! -f "$NODE_DIR/node_modules/node-nlp/package.json" ]; then
    log "installing node-nlp 4 into $NODE_DIR"
    mkdir -p "$NODE_DIR"
    (cd "$NODE_DIR" && npm install --no-audit --no-fund --silent \
       node-nlp@4 >"$OUT/npm.log" 2>&1) ||
      log "npm install failed; see $OUT/npm.log"
  fi
}
if [ $INSTALL = 1 ]; then install_deps; fi

# -------------------------------------------------------------- build
log "building $SRC into $BUILD"
cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  >"$OUT/cmake.log" 2>&1
cmake --build "$BUILD" >>"$OUT/cmake.log" 2>&1 ||
  { tail -30 "$OUT/cmake.log" >&2; exit 1; }
MSFAQ=$BUILD/msfaq
SERVE=$BUILD/msfaq-serve
if [ -x "$BUILD/bench/bench_ask" ]; then
  TOOLS=$BUILD/bench            # built by add_subdirectory(bench)
else
  # not hooked into the top-level CMakeLists.txt: build them by hand,
  # with the project's flags, against the library just built
  TOOLS=$BUILD/bench-tools
  mkdir -p "$TOOLS"
  CFLAGS_B="-O2 -g -std=gnu11 -Wall -Wextra -Werror -Wshadow \
    -Wstrict-prototypes -Wformat=2 -D_FORTIFY_SOURCE=2 -I$SRC/plugin/include"
  LIBS_B="-L$BUILD/plugin -lmsfaq -Wl,-rpath,$BUILD/plugin"
  # shellcheck disable=SC2086
  cc $CFLAGS_B "$BENCH/bench_ask.c" -o "$TOOLS/bench_ask" $LIBS_B -pthread
  # shellcheck disable=SC2086
  cc $CFLAGS_B $(pkg-config --cflags jansson) "$BENCH/hello.c" \
    -o "$TOOLS/bench_hello" $LIBS_B $(pkg-config --libs jansson)
fi

# ---------------------------------------------------------- machine
# the load average before and after: other work on the machine shows in
# the figures, and the report says so
cut -d' ' -f1-3 /proc/loadavg >"$OUT/load.before.txt"
python3 - "$OUT/machine.json" "$SRC" <<'EOF'
import json, os, platform, re, subprocess, sys
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True,
                              text=True).stdout.strip()
    except Exception:
        return ""
src = sys.argv[2]
model = re.sub(r"^Model name:\s*", "",
               sh("lscpu | grep -m1 'Model name'"))
mem = sh("free -g | awk '/^Mem:/{print $2}'")
info = {
    "nproc": sh("nproc"), "cpu": model, "kernel": platform.release(),
    "mem_gib": mem, "os": sh(". /etc/os-release && echo $PRETTY_NAME"),
    "commit": sh(f"git -C {src} rev-parse --short HEAD 2>/dev/null")
              or f"(not a git checkout: {src})",
    "dirty": sh(f"git -C {src} status --porcelain -- plugin patterns "
                f"responses cli serve 2>/dev/null | head -20"),
    "cc": sh("cc --version | head -1"),
    "pcre2": sh("pkg-config --modversion libpcre2-8"),
    "jansson": sh("pkg-config --modversion jansson"),
    "node": sh("node --version"),
    "wrk": sh("wrk -v 2>&1 | head -1"),
    "nginx": sh("nginx -v 2>&1"),
    "hyperfine": sh("hyperfine --version"),
    "valgrind": sh("valgrind --version"),
    "date": sh("date -u +%Y-%m-%dT%H:%MZ"),
}
json.dump(info, open(sys.argv[1], "w"), indent=1)
EOF

# ---------------------------------------------------------- 1. matcher
if want matcher; then
  log "matcher: 1 thread and $NPROC threads, best of $ROUNDS x ${T_MIX}s"
  "$TOOLS/bench_ask" --threads 1 --seconds "$T_MIX" --rounds $ROUNDS \
    --label mix-1t "$QUESTIONS" >>"$OUT/matcher.jsonl"
  "$TOOLS/bench_ask" --threads "$NPROC" --seconds "$T_MIX" \
    --rounds $ROUNDS --label "mix-${NPROC}t" "$QUESTIONS" \
    >>"$OUT/matcher.jsonl"
fi

# Instructions per question: callgrind counts only the measured calls
# (bench_measured_call), over the whole mix and per category.
callgrind_ask() {   # LABEL QUESTIONS [bench_ask args...]
  local label=$1 file=$2
  shift 2
  local cg="$OUT/callgrind.$label.out"
  # the warm-up passes run uninstrumented (bench_ask starts callgrind's
  # instrumentation after them), so the library's lazy work is done and
  # not counted, as in the timed runs: 17 passes, because the library
  # JIT-compiles a regex once it has run 16 times (tiered JIT), and a
  # regex only one question of a file needs runs once a pass
  valgrind --tool=callgrind --callgrind-out-file="$cg" --instr-atstart=no \
    --toggle-collect=bench_measured_call \
    "$TOOLS/bench_ask" --reps 1 --warmup 17 --label "$label" "$@" "$file" \
    >"$OUT/cg.$label.jsonl" 2>"$OUT/cg.$label.log" || return 0
  local ir calls
  ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$OUT/cg.$label.log")
  calls=$(sed -n 's/.*"bench":"ask".*"calls":\([0-9]*\).*/\1/p' \
            "$OUT/cg.$label.jsonl")
  printf '{"label":"%s","ir":%s,"calls":%s}\n' "$label" "${ir:-0}" \
    "${calls:-0}" >>"$OUT/callgrind.jsonl"
}
if want matcher && command -v valgrind >/dev/null; then
  log "matcher: callgrind instructions per question"
  callgrind_ask mix "$QUESTIONS"
  # per category: one file each
  awk -v dir="$TMP" '/^# cat: /{f=dir "/cat-" substr($0, 8) ".txt"; next}
       /^#/ || /^$/ {next} {print > f}' "$QUESTIONS"
  for f in "$TMP"/cat-*.txt; do
    c=$(basename "$f" .txt); c=${c#cat-}
    callgrind_ask "cat-$c" "$f"
  done
  # the typical question: every category but the long inputs, whose
  # profile is another one (and which dominate the mix's total)
  for f in "$TMP"/cat-*.txt; do
    case $f in */cat-long.txt) ;; *) cat "$f" ;; esac
  done >"$TMP/typical.txt"
  callgrind_ask typical "$TMP/typical.txt"
  # where the instructions go, by function and by call site in the
  # library's sources (inclusive), for report.py
  for k in mix typical cat-long; do
    [ -f "$OUT/callgrind.$k.out" ] || continue
    callgrind_annotate --inclusive=yes --threshold=100 \
      "$OUT/callgrind.$k.out" >"$OUT/callgrind.$k.inclusive.txt" \
      2>/dev/null || true
    callgrind_annotate --inclusive=yes --auto=yes --threshold=100 \
      "$OUT/callgrind.$k.out" >"$OUT/callgrind.$k.lines.txt" \
      2>/dev/null || true
  done
  callgrind_annotate "$OUT/callgrind.mix.out" \
    >"$OUT/callgrind.mix.self.txt" 2>/dev/null || true
fi

# ------------------------------------------------ profile (perf, regexes)
if want profile; then
  if command -v perf >/dev/null &&
     perf record -q -o "$TMP/perf.data" -g "$TOOLS/bench_ask" \
       --seconds "$T_MIX" --warmup 1 "$QUESTIONS" >/dev/null 2>&1; then
    log "profile: perf by shared object and by symbol"
    perf report -i "$TMP/perf.data" --no-children --sort dso --stdio \
      2>/dev/null | grep -v '^#' | grep '%' | head -12 \
      >"$OUT/perf.dso.txt" || true
    perf report -i "$TMP/perf.data" --no-children --sort dso,symbol \
      --stdio -g none 2>/dev/null | grep -v '^#' | grep '%' | head -25 \
      >"$OUT/perf.symbols.txt" || true
  else
    note "perf: not available or not permitted here; profile by callgrind only"
  fi
  log "profile: cost of each concept and intent regex"
  if python3 "$BENCH/regex_cost.py" --build "$TOOLS" --src "$SRC" \
       --msfaq "$MSFAQ" --questions "$QUESTIONS" \
       >"$OUT/regex_cost.jsonl" 2>"$OUT/regex_cost.log"; then :; else
    note "regex_cost.py failed; see regex_cost.log"
  fi
fi

# ------------------------------------------------------------ 2. nlp.js
if want nlpjs; then
  if [ -f "$NODE_DIR/node_modules/node-nlp/package.json" ] &&
     command -v node >/dev/null; then
    log "nlp.js: map intents to msfaq replies, train, time ${T_NLP}s"
    python3 "$BENCH/nlpjs_map.py" "$SRC" "$MSFAQ" "$OUT/nlpjs_map.json" \
      2>"$OUT/nlpjs_map.log"
    # both in the same run, one after the other, on the same questions
    # (both best of 3 rounds: nlpjs_bench.js splits its time the same way)
    "$TOOLS/bench_ask" --threads 1 --rounds 3 --label side-msfaq \
      --seconds "$(awk -v t="$T_NLP" 'BEGIN{print t / 3}')" \
      "$QUESTIONS" | grep '"bench":"ask"' >>"$OUT/nlpjs.jsonl"
    # the batch: `msfaq ask --json` over the same questions, one process
    # (start-up and KB included), best wall time of 5
    awk '/^#/||/^$/{next}{print}' "$QUESTIONS" >"$TMP/batch.txt"
    n=$(wc -l <"$TMP/batch.txt")
    wall=$(best_wall "$TMP/batch.txt" "$MSFAQ" ask --json)
    printf '{"bench":"batch","questions":%s,"wall_s":%s,"mean_ns":%s}\n' \
      "$n" "$wall" "$(awk -v w="$wall" -v n="$n" 'BEGIN{print 1e9 * w / n}')" \
      >>"$OUT/nlpjs.jsonl"
    NODE_PATH="$NODE_DIR/node_modules" node "$BENCH/nlpjs_bench.js" bench \
      "$SRC/patterns/intents.json" "$OUT/nlpjs_map.json" "$QUESTIONS" \
      "$T_NLP" >>"$OUT/nlpjs.jsonl" 2>"$OUT/nlpjs.log" ||
      note "nlp.js bench failed; see nlpjs.log"
    if [ -f "$EVAL/dev.jsonl" ] && [ -f "$EVAL/score.py" ]; then
      log "nlp.js: dev set scores beside msfaq's"
      python3 "$EVAL/score.py" "$EVAL/dev.jsonl" -- "$MSFAQ" ask --json \
        >"$OUT/score.msfaq.txt" 2>&1 || true
      NODE_PATH="$NODE_DIR/node_modules" python3 "$EVAL/score.py" \
        "$EVAL/dev.jsonl" -- node "$BENCH/nlpjs_bench.js" answer \
        "$SRC/patterns/intents.json" "$OUT/nlpjs_map.json" \
        >"$OUT/score.nlpjs.txt" 2>&1 || true
    else
      note "dev set: $EVAL/dev.jsonl or score.py not found; no scores"
    fi
  else
    note "nlp.js: node-nlp not installed in $NODE_DIR; side-by-side skipped"
  fi
fi

# ------------------------------------------------- 4. start-up, memory
Q_ASK="what is CAR T?"
maxrss_kib() {   # peak RSS of one run of a command, KiB
  # GNU time: a small C parent, so the child's peak before exec (which
  # Linux keeps in ru_maxrss) is small too; a Python parent would count
  # its own ~10 MiB
  /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1
}
if want startup; then
  if command -v hyperfine >/dev/null; then
    log "start-up: hyperfine, $HF_RUNS runs each"
    hyperfine -N --warmup 20 --runs "$HF_RUNS" --export-json \
      "$OUT/startup.hyperfine.json" \
      -n true true -n hello "$TOOLS/bench_hello" \
      -n ask "$MSFAQ ask '$Q_ASK'" -n ask-json "$MSFAQ ask --json '$Q_ASK'" \
      >"$OUT/startup.hyperfine.txt" 2>&1 ||
      note "hyperfine failed; see startup.hyperfine.txt"
  else
    note "hyperfine not installed; start-up times skipped"
  fi
  {
    printf '{"what":"true","maxrss_kib":%s}\n' "$(maxrss_kib true)"
    printf '{"what":"hello","maxrss_kib":%s}\n' \
      "$(maxrss_kib "$TOOLS/bench_hello")"
    printf '{"what":"ask","maxrss_kib":%s}\n' \
      "$(maxrss_kib "$MSFAQ" ask "$Q_ASK")"
  } >>"$OUT/rss.jsonl"
  if command -v valgrind >/dev/null; then
    log "start-up: callgrind of one msfaq ask"
    valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.startup.out" \
      "$MSFAQ" ask "$Q_ASK" >/dev/null 2>"$OUT/cg.startup.log" || true
    callgrind_annotate --inclusive=yes --threshold=100 \
      "$OUT/callgrind.startup.out" \
      >"$OUT/callgrind.startup.inclusive.txt" 2>/dev/null || true
    callgrind_annotate --inclusive=yes --auto=yes --threshold=100 \
      "$OUT/callgrind.startup.out" >"$OUT/callgrind.startup.lines.txt" \
      2>/dev/null || true
    valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.true.out" \
      true 2>"$OUT/cg.true.log" || true
    valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.hello.out" \
      "$TOOLS/bench_hello" >/dev/null 2>"$OUT/cg.hello.log" || true
  fi
fi

# ------------------------------------------------------------ 5. scaling
if want scaling; then
  for n in 1 10 100; do
    log "scaling: ${n}x knowledge base"
    python3 "$BENCH/gen_kb.py" --distinct "$SRC" "$n" "$TMP/kb$n" \
      >>"$OUT/scaling.kb.jsonl"
    "$TOOLS/bench_ask" --kb "$TMP/kb$n" --seconds "$T_SCALE" --rounds 2 \
      --label "kb-${n}x" "$QUESTIONS" | grep -v '"bench":"category"' \
      >>"$OUT/scaling.jsonl"
    rm -rf "$TMP/kb$n"
  done
  log "scaling: question length 100 B to 4096 B"
  "$TOOLS/bench_ask" --lengths --seconds "$T_SCALE" --label lengths \
    "$QUESTIONS" >>"$OUT/lengths.jsonl"
  # the yardstick: `tr A-Z a-z` lowercasing 1,000 texts of 4096 bytes cut
  # from the same mix (best of 5, per text)
  python3 - "$QUESTIONS" "$TMP/4k.txt" <<'PY'
import sys
qs = [l.strip() for l in open(sys.argv[1], encoding="utf-8")
      if l.strip() and not l.startswith("#")]
text = " ".join(qs).encode()
with open(sys.argv[2], "wb") as f:
    at = 0
    for _ in range(1000):
        chunk = (text[at:] + b" " + text)[:4095]
        f.write(chunk.replace(b"\n", b" ") + b"\n")
        at = (at + 4096) % len(text)
PY
  wall=$(best_wall "$TMP/4k.txt" tr A-Z a-z)
  printf '{"bench":"tr","texts":1000,"bytes":4096,"wall_s":%s,"per_text_ns":%s}\n' \
    "$wall" "$(awk -v w="$wall" 'BEGIN{print 1e9 * w / 1000}')" \
    >>"$OUT/lengths.jsonl"
fi

# ------------------------------------------------------------ 3. serve
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}
wait_http() {   # URL: up to 10 s for a listening server
  local i
  for i in $(seq 100); do
    curl -s -o /dev/null -m 1 "$1" && return 0
    sleep 0.1
  done
  return 1
}
rss_of() {   # PID -> {"rss_kib", "hwm_kib", "anon_kib", "file_kib"}
  awk '/^VmRSS:/{r=$2} /^VmHWM:/{h=$2} /^RssAnon:/{a=$2} /^RssFile:/{f=$2}
       END{printf "{\"rss_kib\":%d,\"hwm_kib\":%d,\"anon_kib\":%d,", r, h, a
           printf "\"file_kib\":%d}", f}' "/proc/$1/status"
}
cpu_ticks() {   # PID: user+system clock ticks of it and its children
  local p sum=0 pids
  pids="$1 $(cat "/proc/$1/task/$1/children" 2>/dev/null || true)"
  for p in $pids; do
    sum=$((sum + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null ||
                   echo 0)))
  done
  echo $sum
}
# Diagnosis on a 2-core machine: wrk and the server share the cores, and
# the scheduler's time slices show up in the tail.  Pinned runs put the
# server (every thread, and nginx's workers) on core 0 and wrk on core 1.
pin_server() {   # PID CPUS
  local p
  for p in $1 $(cat "/proc/$1/task/$1/children" 2>/dev/null || true); do
    taskset -a -p -c "$2" "$p" >/dev/null 2>&1 || true
  done
}
can_pin() { [ "$NPROC" -ge 2 ] && command -v taskset >/dev/null; }
WRK_PREFIX=()   # set to (taskset -c N) for the pinned runs
wrk_run() {   # NAME CONNS SECONDS URL PID [BODIES] -> one JSON line
  local name=$1 c=$2 d=$3 url=$4 pid=$5 bodies=${6:-$OUT/bodies.txt}
  local t=$NPROC line c0 c1
  [ ${#WRK_PREFIX[@]} -gt 0 ] && t=1
  [ "$c" -lt $t ] && t=$c
  c0=$(cpu_ticks "$pid")
  line=$("${WRK_PREFIX[@]}" wrk -t"$t" -c"$c" -d"${d}s" --timeout 5s \
           -s "$BENCH/ask.lua" "$url" -- "$bodies" 2>>"$OUT/wrk.log" |
         sed -n 's/^BENCHJSON //p')
  c1=$(cpu_ticks "$pid")
  [ -n "$line" ] || line='{"requests":0}'
  printf '{"server":"%s","conns":%d,"threads":%d,"seconds":%s,' \
    "$name" "$c" "$t" "$d"
  printf '"server_cpu_s":%s,"wrk":%s}\n' \
    "$(awk -v a="$c0" -v b="$c1" -v hz="$(getconf CLK_TCK)" \
         'BEGIN{printf "%.2f", (b - a) / hz}')" "$line"
}
if want serve; then
  if [ ! -x "$SERVE" ]; then
    note "serve: $SERVE not built (no serve/ yet); responder benchmark skipped"
  elif ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
    note "serve: wrk or nginx missing; responder benchmark skipped"
  else
    # request bodies from the question mix; nginx's fixed body is the
    # size of msfaq's average reply to them
    python3 - "$QUESTIONS" "$OUT/bodies.txt" "$OUT/bodies.short.txt" <<'EOF'
import json, sys
cat = None
with open(sys.argv[2], "w") as out, open(sys.argv[3], "w") as short:
    for line in open(sys.argv[1], encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("# cat: "):
            cat = line[7:]
        if line and not line.startswith("#"):
            body = json.dumps({"question": line}) + "\n"
            out.write(body)
            if cat != "long":
                short.write(body)
EOF
    BODY_BYTES=$(grep -v '^#' "$QUESTIONS" | grep -v '^$' |
                 "$MSFAQ" ask --json | awk '{n++; s+=length($0)}
                 END{printf "%d", s/n}')
    PORT=$(free_port)
    log "serve: msfaq serve on 127.0.0.1:$PORT"
    # the log goes to /dev/null: one write per request, as nginx's below
    "$MSFAQ" serve --listen "127.0.0.1:$PORT" >"$OUT/serve.stdout" \
      2>/dev/null &
    SPID=$!
    PIDS+=("$SPID")
    if wait_http "http://127.0.0.1:$PORT/healthz"; then
      sleep 1
      printf '{"phase":"idle","requests":0,"rss":%s}\n' "$(rss_of $SPID)" \
        >>"$OUT/serve.rss.jsonl"
      curl -s -X POST -H 'Content-Type: application/json' \
        -d '{"question":"what is CAR T?"}' \
        "http://127.0.0.1:$PORT/v1/ask" >"$OUT/serve.sample.json" || true
      served() {
        python3 -c 'import json,sys
print(sum(json.loads(l)["wrk"]["requests"] for l in open(sys.argv[1])))' \
          "$OUT/serve.jsonl"
      }
      for c in 1 32 256; do
        log "serve: wrk -c$c ${T_WRK}s on msfaq"
        wrk_run msfaq "$c" "$T_WRK" "http://127.0.0.1:$PORT/v1/ask" \
          "$SPID" >>"$OUT/serve.jsonl"
        printf '{"phase":"after %d connections","requests":%d,"rss":%s}\n' \
          "$c" "$(served)" "$(rss_of $SPID)" >>"$OUT/serve.rss.jsonl"
      done
      # diagnosis: the same without the long (1-4 KB) questions
      log "serve: wrk -c32 ${T_WRK}s on msfaq, no long questions"
      wrk_run msfaq-short 32 "$T_WRK" "http://127.0.0.1:$PORT/v1/ask" \
        "$SPID" "$OUT/bodies.short.txt" >>"$OUT/serve.jsonl"
      # where the server's CPU goes under load: one more run at 32
      # connections under perf (its figures are not in the table)
      if want profile && command -v perf >/dev/null; then
        log "serve: perf of msfaq serve under wrk -c32"
        perf record -q -g -p "$SPID" -o "$TMP/perf.serve.data" \
          -- sleep 4 >/dev/null 2>&1 &
        PPID_=$!
        PIDS+=("$PPID_")
        wrk_run msfaq-perf 32 5 "http://127.0.0.1:$PORT/v1/ask" "$SPID" \
          >/dev/null
        wait "$PPID_" 2>/dev/null || true
        forget_pid "$PPID_"
        perf report -i "$TMP/perf.serve.data" --no-children --sort dso \
          --stdio -g none 2>/dev/null | grep -v '^#' | grep '%' | head -12 \
          >"$OUT/perf.serve.dso.txt" || true
        perf report -i "$TMP/perf.serve.data" --children --sort symbol \
          --stdio -g none 2>/dev/null | grep -v '^#' | grep '%' |
          grep -E '\] (__libc_sendmsg|__libc_recv|epoll_wait|'\
'__GI___libc_write|finish_task_switch[.a-z0-9]*|do_syscall_64) ' |
          head -10 \
          >"$OUT/perf.serve.symbols.txt" || true
      fi
      if can_pin; then
        log "serve: wrk -c32 ${T_WRK}s on msfaq, server on core 0, wrk on 1"
        pin_server "$SPID" 0
        WRK_PREFIX=(taskset -c 1)
        wrk_run msfaq-pinned 32 "$T_WRK" "http://127.0.0.1:$PORT/v1/ask" \
          "$SPID" >>"$OUT/serve.jsonl"
        WRK_PREFIX=()
        pin_server "$SPID" "0-$((NPROC - 1))"
      fi
      total=$(served)
      printf '{"phase":"warm","requests":%d,"rss":%s}\n' "$total" \
        "$(rss_of $SPID)" >>"$OUT/serve.rss.jsonl"
      # the soak: every connection count has been seen, so the server is
      # warm; now a million requests more (or SOAK_MAX seconds), RSS after
      # each round: it must not grow
      goal=$((total + SOAK_TARGET))
      start=$SECONDS
      while [ "$total" -lt $goal ] &&
            [ $((SECONDS - start)) -lt $SOAK_MAX ]; do
        r=$(wrk_run msfaq-soak 32 15 "http://127.0.0.1:$PORT/v1/ask" \
              "$SPID")
        n=$(printf '%s' "$r" | python3 -c 'import json,sys
print(json.load(sys.stdin)["wrk"]["requests"])')
        [ "$n" -gt 0 ] || break
        printf '%s\n' "$r" >>"$OUT/serve.soak.jsonl"
        total=$((total + n))
        printf '{"phase":"soak","requests":%d,"rss":%s}\n' "$total" \
          "$(rss_of $SPID)" >>"$OUT/serve.rss.jsonl"
        log "serve: soak at $total requests"
      done
      sleep 1
      printf '{"phase":"end","requests":%d,"rss":%s}\n' "$total" \
        "$(rss_of $SPID)" >>"$OUT/serve.rss.jsonl"
    else
      note "serve: msfaq serve did not answer /healthz"
    fi
    stop_pid "$SPID"

    # the ceiling: nginx with a fixed body of the same size
    NDIR=$TMP/nginx
    mkdir -p "$NDIR"
    NPORT=$(free_port)
    BODY=$(python3 -c 'import sys
n = int(sys.argv[1]); head = "{\"kind\":\"answer\",\"answer\":\""
print(head + "x" * max(0, n - len(head) - 2) + "\"}")' "$BODY_BYTES")
    sed -e "s|@DIR@|$NDIR|g" -e "s|@PORT@|$NPORT|g" -e "s|@BODY@|$BODY|" \
      "$BENCH/nginx.conf.in" >"$NDIR/nginx.conf"
    log "serve: nginx on 127.0.0.1:$NPORT ($BODY_BYTES-byte body)"
    nginx -p "$NDIR" -c "$NDIR/nginx.conf" -e "$NDIR/error.log" \
      -g 'daemon off;' 2>>"$OUT/nginx.log" &
    NPID=$!
    PIDS+=("$NPID")
    if wait_http "http://127.0.0.1:$NPORT/v1/ask"; then
      for c in 1 32 256; do
        log "serve: wrk -c$c ${T_WRK}s on nginx"
        wrk_run nginx "$c" "$T_WRK" "http://127.0.0.1:$NPORT/v1/ask" \
          "$NPID" >>"$OUT/serve.jsonl"
      done
      if can_pin; then
        log "serve: wrk -c32 ${T_WRK}s on nginx, server on core 0, wrk on 1"
        pin_server "$NPID" 0
        WRK_PREFIX=(taskset -c 1)
        wrk_run nginx-pinned 32 "$T_WRK" "http://127.0.0.1:$NPORT/v1/ask" \
          "$NPID" >>"$OUT/serve.jsonl"
        WRK_PREFIX=()
      fi
    else
      note "serve: nginx did not start; see nginx.log"
    fi
    stop_pid "$NPID"
    printf '{"body_bytes":%d}\n' "$BODY_BYTES" >"$OUT/serve.body.json"
  fi
fi

# ------------------------------------------------------------- report
cut -d' ' -f1-3 /proc/loadavg >"$OUT/load.after.txt"
python3 "$BENCH/report.py" "$OUT" "$RESULTS"
