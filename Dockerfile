# Debian release pinned, so a rebuild does not move the bot to a new distribution silently.
FROM python:3.11-slim-bookworm

# The database and media live in /data (the volume); .env.example leaves these two unset, so
# these values win in the container.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_PATH=/data/sora-bot.sqlite3 \
    MEDIA_DIR=/data/media

# tzdata: QUOTA_TIMEZONE accepts any IANA zone name.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Dependencies first, in their own layer: rebuilt only when the lock file changes.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 sorabot \
    && mkdir -p /data/media \
    && chown -R sorabot:sorabot /data

USER sorabot
# A new named volume starts as a copy of this folder, owned by sorabot.
VOLUME ["/data"]
# The running bot's liveness, which it writes to /data/liveness.json every 10 s (gateway
# connected, worker alive, database answering; or its start-up phase, or why its start failed).
# Unhealthy within a minute of losing Discord: 10 s + 3 failed checks 15 s apart.
HEALTHCHECK --interval=15s --timeout=10s --start-period=60s --retries=3 \
    CMD ["sora-bot", "check", "--health"]
CMD ["sora-bot", "run"]
