#!/usr/bin/env bash
# Set up and run the whole test suite: on SQLite always, and on PostgreSQL (started here
# when it is installed but not running). Browser tests use Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test,dev

PG_URL_DEFAULT="postgresql://postgres@127.0.0.1:5432/test"
if [ -z "${THUMBS_TEST_DATABASE_URL:-}" ]; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    export THUMBS_TEST_DATABASE_URL="$PG_URL_DEFAULT"
  elif [ -n "${CI:-}" ]; then
    echo "PostgreSQL is required in CI but is not reachable on 127.0.0.1:5432" >&2
    exit 1
  else
    echo "NOTE: PostgreSQL not reachable; running the suite on SQLite only" >&2
  fi
fi

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium for the browser tests"
    apt-get install -y -q chromium >/dev/null 2>&1 || {
      apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
  else
    echo "browser tests need Debian's chromium: sudo apt-get install chromium" >&2
  fi
fi

# The Node client tests drive the official Twilio Node library: install the packages pinned
# in tests/node/package-lock.json (again when the lock file changes). Without Node.js those
# tests fail; they are never skipped.
if ! command -v npm >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's nodejs and npm for the Node client tests"
    apt-get install -y -q nodejs npm >/dev/null 2>&1 || {
      apt-get update -q >/dev/null && apt-get install -y -q nodejs npm >/dev/null; }
  else
    echo "the Node client tests need Node.js and npm: sudo apt-get install nodejs npm" >&2
  fi
fi
if command -v npm >/dev/null; then
  installed=tests/node/node_modules/.package-lock.json
  if [ ! -f "$installed" ] || [ tests/node/package-lock.json -nt "$installed" ]; then
    npm ci --prefix tests/node --no-audit --no-fund --loglevel=error
  fi
fi

echo "database backends: sqlite${THUMBS_TEST_DATABASE_URL:+ + postgresql}"
exec .venv/bin/python -m pytest "$@"
