FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATABASE_PATH=/data/sora-bot.sqlite3 \
    MEDIA_DIR=/data/media

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
RUN pip install . \
    && useradd --create-home --uid 10001 sorabot \
    && mkdir -p /data \
    && chown sorabot:sorabot /data

USER sorabot
VOLUME ["/data"]
CMD ["sora-bot"]
