#!/usr/bin/env bash
# Re-resolve every dependency (with the test and dev extras) in a throwaway venv and write
# the exact versions to requirements.lock, which scripts/setup.sh installs under. Run it
# after changing a dependency in pyproject.toml, and commit both files together.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$PYTHON" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install --quiet --upgrade pip
"$tmp/venv/bin/python" -m pip install --quiet ".[test,dev]"
{
  echo "# Exact versions of every dependency, direct and transitive (scripts/lock.sh writes it)."
  echo "# scripts/setup.sh installs under these constraints, so a fresh clone gets what CI tested."
  "$tmp/venv/bin/python" -m pip freeze --all | grep -v -i -E '^(thumbs|pip|setuptools|wheel)[= @]' | LC_ALL=C sort -f
} > requirements.lock
echo "wrote requirements.lock ($(grep -vc '^#' requirements.lock) packages)"
