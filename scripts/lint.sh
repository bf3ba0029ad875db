#!/usr/bin/env bash
# The gates: ruff lint, ruff format, mypy strict.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test,dev
.venv/bin/ruff check thumbs tests bench
.venv/bin/ruff format --check thumbs tests bench
.venv/bin/mypy
