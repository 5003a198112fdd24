#!/usr/bin/env bash
# build.sh - quick start, step 1: install what is missing (Debian 12, as
# root), build into build/, and answer a sample question from the
# knowledge base compiled into the library.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
install_missing_debs scripts/deps-apt.txt
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)"
echo
echo '$ build/msfaq ask "What is CAR T-cell therapy?"'
build/msfaq ask "What is CAR T-cell therapy?"
