#!/usr/bin/env bash
# Regenerate requirements.lock (what the bot runs with) and requirements-dev.lock (plus the test
# tools) from pyproject.toml: exact versions with hashes, for every platform Python 3.11 runs on.
# Run after changing dependencies in pyproject.toml, and commit the lock files with it.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT
# uv only generates the files; it is not needed to install or run the bot.
python3 -m venv "$tools/venv"
"$tools/venv/bin/pip" install --quiet "uv==$UV_VERSION"
compile=("$tools/venv/bin/uv" pip compile pyproject.toml --quiet --universal --python-version 3.11
    --generate-hashes --no-header --no-annotate)
"${compile[@]}" --output-file requirements.lock
"${compile[@]}" --extra test --output-file requirements-dev.lock
echo "requirements.lock and requirements-dev.lock regenerated from pyproject.toml"
