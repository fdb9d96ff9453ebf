# Three stages: the dependencies and the bot are installed in stages of their own, and the
# image gets only what they installed (no source tree, build/ or *.egg-info). A code change
# rebuilds only the last two small layers; the dependency layer stays cached until
# requirements.lock changes.

# Debian release pinned, so a rebuild does not move the bot to a new distribution silently.
FROM python:3.11-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The dependencies, exactly as locked (with hashes), under /install (later /usr/local).
FROM base AS dependencies
COPY requirements.lock /tmp/
RUN pip install --require-hashes -r /tmp/requirements.lock --prefix=/install

# The bot itself, built and installed under /install; its source stays in this stage.
FROM base AS bot
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
RUN pip install --no-deps --prefix=/install .

FROM base
# The database, media and liveness report live in /data (the volume); .env.example leaves
# these two unset, so these values win in the container.
ENV DATABASE_PATH=/data/sora-bot.sqlite3 \
    MEDIA_DIR=/data/media

# tzdata: QUOTA_TIMEZONE accepts any IANA zone name.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 sorabot \
    && mkdir -p /data/media \
    && chown -R sorabot:sorabot /data

COPY --from=dependencies /install /usr/local
COPY --from=bot /install /usr/local

USER sorabot
# Relative paths given to the commands (sora-bot backup backups/today.sqlite3) land in the volume.
WORKDIR /data
# A new named volume starts as a copy of this folder, owned by sorabot.
VOLUME ["/data"]
# The running bot's liveness, which it writes to /data/liveness.json every 10 s (gateway
# connected, worker alive, database answering; or its start-up phase, or why its start failed).
# Unhealthy within a minute of losing Discord: 10 s + 3 failed checks 15 s apart.
HEALTHCHECK --interval=15s --timeout=10s --start-period=60s --retries=3 \
    CMD ["sora-bot", "check", "--health"]
CMD ["sora-bot", "run"]
