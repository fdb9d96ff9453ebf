#!/usr/bin/env bash
# Set up (once) and run the whole test suite, including the end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
ensure_venv requirements-dev.lock "[test]"
# Lint and types first: quick, and they catch what tests may not reach.
.venv/bin/ruff check .
.venv/bin/ruff format --check --quiet .
.venv/bin/mypy
exec .venv/bin/pytest "$@"
