#!/usr/bin/env bash
# Create .venv and install thumbs with the given extras (idempotent; fast when up to date).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed${extras:+-$extras}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements.lock -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  # every version, transitive ones included, as locked in requirements.lock (scripts/lock.sh)
  .venv/bin/python -m pip install --quiet -c requirements.lock -e ".${extras:+[$extras]}"
  touch "$stamp"
fi
