#!/usr/bin/env bash
# ctest_fuzz.sh - the bounded fuzz runs ctest makes (label "fuzz").
#
#   ctest_fuzz.sh smoke HARNESS SEEDS WORKDIR SECONDS [DICT]
#       fuzzes for SECONDS from the committed seeds.  New inputs go to
#       WORKDIR/corpus (the seeds are only read), crashes to WORKDIR/.
#       Prints the executions done; fails on any crash, leak, timeout
#       (> 2 s for one input) or out-of-memory (> 1024 MB).  A timeout
#       whose input runs in time when tried again alone is a stalled
#       machine, not a hang: reported as a warning.
#   ctest_fuzz.sh replay HARNESS DIR
#       runs every file of DIR (tests/fuzz/regressions/<harness>/) once;
#       fails if any of them still crashes.
set -uo pipefail
. "$(dirname "$0")/harness_opts.sh"
mode=$1 harness=$2
name=$(basename "$harness")
opts=(-timeout=2 -rss_limit_mb=1024)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

case $mode in
smoke)
  seeds=$3 work=$4 seconds=$5 dict=${6:-}
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/tmp"
  export TMPDIR=$work/tmp       # what a crashed run leaves stays here
  [ -n "$dict" ] && opts+=(-dict="$dict")
  harness_opts "$name"
  "$harness" "${opts[@]}" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$work/" "$work/corpus" "$seeds" >"$work/log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
  cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -1)
  grep -q 'INITED' "$work/log" || runs=0
  found=$(ls "$work" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' |
    tr '\n' ' ' | sed 's/ $//')
  # A timeout can be the machine, not the input (a loaded CI box stalls a
  # process for seconds): one that runs within the limit when tried again
  # alone is reported, not failed.  A real hang times out again.
  stalled=0
  if [ $rc -ne 0 ] && [ -n "$found" ]; then
    stalled=1
    for t in $found; do
      [[ $t == timeout-* ]] &&
        "$harness" "${opts[@]}" "$work/$t" >/dev/null 2>&1 || stalled=0
    done
    if [ $stalled -eq 1 ]; then
      echo "$name: WARNING: $found timed out, but ran within" \
           "the limit when tried again alone: the machine stalled"
      rc=0
    fi
  fi
  if [ $rc -ne 0 ]; then
    tail -n 60 "$work/log"
    echo "$name: FAILED (exit $rc) after ${runs:-?} executions;" \
         "artifacts: $found"
    echo "reproduce: $harness $work/<artifact>"
    exit 1
  fi
  echo "$name: ${runs:-?} executions in ${seconds} s," \
       "$(ls "$work/corpus" | wc -l) new corpus inputs, ${cov:-cov: ?}," \
       "no crash"
  ;;
replay)
  dir=$3
  [ -d "$dir" ] || { echo "$name: no regression inputs ($dir)"; exit 0; }
  mapfile -t files < <(find "$dir" -type f ! -name '*.md' | sort)
  if [ ${#files[@]} -eq 0 ]; then
    echo "$name: no regression inputs in $dir"
    exit 0
  fi
  fail=0
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  export TMPDIR=$scratch        # what a crashing input leaves is removed
  log=$scratch/log
  for f in "${files[@]}"; do
    if "$harness" "${opts[@]}" "$f" >"$log" 2>&1
    then
      echo "ok      $f"
    else
      echo "CRASHES $f"
      grep -E 'ERROR:|runtime error|invariant broken|SUMMARY|^    #[0-9]' \
        "$log" | head -40
      fail=1
    fi
  done
  echo "$name: replayed ${#files[@]} regression inputs"
  exit $fail
  ;;
*)
  echo "usage: $0 smoke|replay ..." >&2
  exit 2
  ;;
esac
