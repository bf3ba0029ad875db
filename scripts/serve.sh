#!/usr/bin/env bash
# Set up (first run) and start thumbs on the embedded SQLite store in ./.thumbs/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/thumbs serve "$@"
