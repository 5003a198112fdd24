#!/usr/bin/env bash
# web.sh - setup for the browser tests (tests/web): Debian's Chromium,
# node and npm when missing, then the pinned npm packages (playwright-core,
# axe-core; tests/web/package-lock.json) into tests/web/node_modules.
# Idempotent and quiet: does nothing when all is in place.  Run by
# scripts/test.sh before it builds; as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/../web"

missing=()
while read -r pkg; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" ||
    missing+=("$pkg")
done < <(grep -v '^\s*#' deps-apt.txt | grep -v '^\s*$')
# NodeSource's nodejs has npm inside; Debian's has it in a package apart
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when the lock file changed since the last install
stamp=node_modules/.package-lock.stamp
if ! cmp -s package-lock.json "$stamp" 2>/dev/null; then
  echo "== npm ci (tests/web)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  cp package-lock.json "$stamp"
fi
