#!/usr/bin/env bash
# run_long.sh - fuzz one harness for longer than the ctest smoke run.
#
# Usage: tests/fuzz/run_long.sh HARNESS SECONDS [LIBFUZZER_OPTION...]
#   HARNESS   fuzz_ask, fuzz_kb_load, fuzz_slack, fuzz_matrix or fuzz_http
#   SECONDS   how long to fuzz (e.g. 3600)
# Environment:
#   MSFAQ_FUZZ_BUILD  build folder (default: build-fuzz), configured here
#                     with clang, -DMSFAQ_FUZZ=ON and ASan+UBSan if absent
#   JOBS              fuzzing processes (default 1; more uses -fork=JOBS)
#
# The corpus grows in BUILD/fuzz-long/HARNESS/corpus and is kept between
# runs (the committed seeds in tests/fuzz/corpus/ are only read); crashes,
# leaks, timeouts and out-of-memory inputs land in BUILD/fuzz-long/HARNESS/.
# To keep a crash as a regression input (replayed by ctest -L fuzz):
#   BUILD/tests/fuzz/HARNESS -minimize_crash=1 -max_total_time=60 \
#       -exact_artifact_path=tests/fuzz/regressions/HARNESS/NAME CRASH_FILE
# then check that it still crashes:
#   BUILD/tests/fuzz/HARNESS tests/fuzz/regressions/HARNESS/NAME
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
harness=$1 seconds=$2
shift 2
case $harness in
  fuzz_ask|fuzz_kb_load|fuzz_slack|fuzz_matrix|fuzz_http) ;;
  *) echo "run_long.sh: unknown harness '$harness'" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
. "$here/harness_opts.sh"
root=$(cd "$here/../.." && pwd)
build=${MSFAQ_FUZZ_BUILD:-$root/build-fuzz}
jobs=${JOBS:-1}

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DMSFAQ_FUZZ=ON \
    -DMSFAQ_SANITIZE=address,undefined
fi
cmake --build "$build" --target "$harness"
bin=$build/tests/fuzz/$harness
work=$build/fuzz-long/$harness
mkdir -p "$work/corpus"

opts=(-timeout=2 -rss_limit_mb=1024 -max_total_time="$seconds"
      -print_final_stats=1 -artifact_prefix="$work/"
      -dict="$here/$harness.dict")
harness_opts "$harness"
[ "$jobs" -gt 1 ] && opts+=(-fork="$jobs")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "== fuzzing $harness for $seconds s ($jobs process(es)); log: $work/log"
set +e
"$bin" "${opts[@]}" "$@" "$work/corpus" "$here/corpus/$harness" \
  2>&1 | tee "$work/log" |
  grep -E '^#[0-9]+.*(NEW|pulse|DONE)|ERROR|SUMMARY|invariant|Done'
rc=${PIPESTATUS[0]}
set -e
echo "== corpus: $(ls "$work/corpus" | wc -l) inputs in $work/corpus"
found=$(ls "$work" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' || true)
if [ -n "$found" ]; then
  echo "== artifacts in $work:"
  echo "$found" | sed 's/^/   /'
fi
exit "$rc"
