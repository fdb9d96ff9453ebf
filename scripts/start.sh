#!/usr/bin/env bash
# Set up (once) and start the bot: creates .venv, installs the bot, copies .env.example to .env.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f .env ]; then
    cp .env.example .env
    echo "Created .env from .env.example: put your DISCORD_TOKEN and RIVYA_API_KEY in it, then run this again."
    exit 2
fi
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --upgrade pip
fi
# Editable and re-run each start: a `git pull` (new dependencies included) needs nothing more.
.venv/bin/pip install --quiet -e .
exec .venv/bin/sora-bot
