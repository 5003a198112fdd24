#!/usr/bin/env bash
# matrix.sh - Synapse for the Matrix tests (tests/matrix): the matrix-synapse
# package from PyPI, pinned with all its dependencies in
# tests/matrix/synapse-requirements.txt, in a virtual environment at
# .cache/synapse-venv.  Made once and kept; brought up to date when the
# requirements file changes.  Idempotent and quiet when all is in place.
# When Synapse cannot be installed it says why and exits 1: the Matrix
# tests cannot pass without it.  Run by scripts/test.sh before it builds.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=$PWD/.cache/synapse-venv
req=tests/matrix/synapse-requirements.txt
stamp=$venv/.requirements

if [ -x "$venv/bin/python" ] && cmp -s "$req" "$stamp"; then
  exit 0
fi

py=${MSFAQ_SYNAPSE_BASE_PYTHON:-python3}
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "matrix.sh: Synapse needs Python 3.10 or newer; $py is" \
       "$("$py" --version 2>&1)" >&2
  exit 1
fi
echo "== installing Synapse for the Matrix tests (.cache/synapse-venv)"
mkdir -p "$(dirname "$venv")"
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" \
     >"$log" 2>&1; then
  echo "matrix.sh: could not install Synapse from PyPI" \
       "(pip install -r $req); the Matrix tests need it.  pip said:" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
if ! "$venv/bin/python" -c 'import synapse.app.homeserver' >"$log" 2>&1; then
  echo "matrix.sh: Synapse was installed but does not import:" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
cp "$req" "$stamp"
