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
# With METRICS_PORT set: the running bot's /healthz (gateway connected, worker alive, database
# answering). Without it: settings valid, database readable and its migrations known.
HEALTHCHECK --interval=60s --timeout=30s --start-period=30s --retries=3 \
    CMD ["sora-bot", "check", "--health"]
CMD ["sora-bot", "run"]
