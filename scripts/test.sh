#!/usr/bin/env bash
# The whole test suite, from a fresh clone on Debian 12 as root:
#   installs what is missing (Debian packages, PyPI packages into a cached
#   virtual environment), then builds and runs ctest in:
#     build/         the normal build (RelWithDebInfo)
#     build-release/ Release (-O3), as distributions build it
#     build-asan/    AddressSanitizer + UndefinedBehaviorSanitizer
#     build-tsan/    ThreadSanitizer, for the tests labelled "threads"
#     build-fuzz/    clang + libFuzzer + ASan/UBSan: each fuzz harness for a
#                    short fixed time, and every saved regression input
#   and builds (without running) the other build types with GCC and clang,
#   so that every build type stays warning-clean.  Our own builds turn
#   warnings into errors (MSFAQ_WERROR); a user's build never does.
# Usage: scripts/test.sh [--quick]   (--quick: the normal build only)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
quick=0
[ "${1:-}" = "--quick" ] && quick=1

# --- Debian packages
. scripts/deps.sh
install_missing_debs scripts/deps-apt.txt
if [ $quick -eq 0 ]; then
  install_missing_debs tests/fuzz/deps-apt.txt
fi

# --- PyPI packages, in a virtual environment kept between runs
venv=$root/.cache/venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! cmp -s tests/requirements.txt "$venv/.requirements" 2>/dev/null; then
  "$venv/bin/pip" install -q --disable-pip-version-check \
    -r tests/requirements.txt
  cp tests/requirements.txt "$venv/.requirements"
fi
export MSFAQ_TEST_PYTHON=$venv/bin/python

# --- the optional setup hooks of other test areas (servers, npm, ...)
for hook in tests/setup.d/*.sh; do
  [ -e "$hook" ] || continue
  echo "== setup: $hook"
  bash "$hook"
done

jobs=$(nproc)
run() {  # run DIR CMAKE_ARGS... -- CTEST_ARGS...
  local dir=$1; shift
  local cargs=() targs=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do cargs+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  targs=("$@")
  echo "== $dir: configure and build"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMSFAQ_WERROR=ON "${cargs[@]}" >/dev/null
  cmake --build "$dir" -j "$jobs"
  echo "== $dir: ctest"
  (cd "$dir" && ctest --output-on-failure -j "$jobs" "${targs[@]}")
}

run build
if [ $quick -eq 0 ]; then
  run build-release -DCMAKE_BUILD_TYPE=Release
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run build-asan -DMSFAQ_SANITIZE=address,undefined -- -LE no-asan
  TSAN_OPTIONS=halt_on_error=1 \
    run build-tsan -DMSFAQ_SANITIZE=thread -- -L threads
  ASAN_OPTIONS=detect_leaks=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run build-fuzz -DCMAKE_C_COMPILER=clang -DMSFAQ_FUZZ=ON \
      -DMSFAQ_SANITIZE=address,undefined -- -L fuzz
  # every other build type, with both compilers: built, warning-clean
  for cc in gcc clang; do
    for type in Debug RelWithDebInfo Release MinSizeRel; do
      dir=build-types/$cc-$type
      case $cc-$type in gcc-RelWithDebInfo|gcc-Release) continue ;; esac
      echo "== $dir: configure and build"
      cmake -S . -B "$dir" -G Ninja -DCMAKE_C_COMPILER=$cc \
        -DCMAKE_BUILD_TYPE=$type -DMSFAQ_WERROR=ON >/dev/null
      cmake --build "$dir" -j "$jobs" >"$dir.log" 2>&1 ||
        { tail -n 60 "$dir.log"; exit 1; }
    done
  done
fi
echo "== all test runs passed"
