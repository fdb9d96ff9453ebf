#!/usr/bin/env bash
# Start the bot: creates .venv on the first run, installs only when the dependencies changed
# (requirements.lock or pyproject.toml, e.g. after a `git pull`), and copies .env.example to .env.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f .env ]; then
    # Readable by its owner only from the start: it will hold the bot token and the API key.
    (umask 077 && cp .env.example .env)
    echo "Created .env from .env.example: put your DISCORD_TOKEN and RIVYA_API_KEY in it, then run this again."
    exit 2
fi
source scripts/venv.sh
ensure_venv requirements.lock
exec .venv/bin/sora-bot "$@"
