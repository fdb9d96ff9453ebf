#!/usr/bin/env bash
# Set up (once) and run the whole test suite, including the end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh

# The suite runs its storage, flow and end-to-end tests on a real PostgreSQL server too (a
# throw-away cluster, tests/support/postgres_cluster.py): the Debian server package provides it.
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "The tests need the PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb):" \
            "run 'sudo apt-get install postgresql' (Debian or Ubuntu), then run this again." >&2
        exit 1
    fi
    echo "Installing the PostgreSQL server package for the tests ..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql \
        >/dev/null
fi
# The web gallery's browser tests (tests/browser/) drive Debian's chromium with Playwright; the
# CJK and emoji fonts make its Chinese pages and the jobs' state icons readable in the
# screenshots. Never a downloaded browser build.
if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk" \
    || ! fc-list 2>/dev/null | grep -qi "emoji"; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "The browser tests need Debian's chromium, a CJK font and an emoji font: run 'sudo" \
            "apt-get install chromium fonts-wqy-microhei fonts-noto-color-emoji' (Debian or" \
            "Ubuntu), then run this again." >&2
        exit 1
    fi
    echo "Installing chromium, a CJK font and an emoji font for the browser tests ..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium \
        fonts-wqy-microhei fonts-noto-color-emoji fontconfig >/dev/null
fi
ensure_venv requirements-dev.lock "[test]"
# Lint and types first: quick, and they catch what tests may not reach.
.venv/bin/ruff check .
.venv/bin/ruff format --check --quiet .
.venv/bin/mypy
exec .venv/bin/pytest "$@"
