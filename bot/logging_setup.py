"""Secrets scrubbed from every text that leaves the bot: the log (tracebacks included) and
whatever members and moderators read (a provider's failure reason may quote the API key)."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

from bot.config import Secret

REDACTED = "[redacted]"
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

# Key-like tokens, configured or not: a provider may quote another key, or a key rotated since.
_KEY_LIKE = re.compile(
    r"(?<![A-Za-z0-9_-])(?:rvya_sk_[A-Za-z0-9_-]+|sk-[A-Za-z0-9_-]{8,})"
    r"|(?i:\bbearer)\s+[A-Za-z0-9._~+/=-]{8,}"
)


class Scrubber:
    """Replaces every configured secret and every key-like token with `REDACTED`."""

    def __init__(self, secrets: Iterable[Secret] = ()) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self._values = sorted((s.reveal() for s in secrets if s.reveal()), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, REDACTED)
        return _KEY_LIKE.sub(REDACTED, text)


class RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: tuple[Secret, ...], fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.scrub = Scrubber(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return self.scrub(super().format(record))


class ReconnectNotice(logging.Filter):
    """discord.py logs every gateway reconnect attempt with a full traceback; the cause in one
    line says as much to an operator, and the bot keeps trying either way."""

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.name == "discord.client"
            and record.exc_info
            and str(record.msg).startswith("Attempting a reconnect")
        ):
            error = record.exc_info[1]
            record.msg = "Discord connection failed (%s); attempting a reconnect in %.2fs"
            record.args = (type(error).__name__, *(record.args or ()))
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class PoolFloorNotice(logging.Filter):
    """asyncpg's pool logs a traceback each time it fails to reopen its idle connection (about
    once a second while PostgreSQL is out of reach). The worker already says once that the
    database is unreachable, and once that it is back: these add nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.name == "asyncpg.pool"
            and str(record.msg).startswith("Failed to restore the pool connection floor")
        )


class JsonFormatter(RedactingFormatter):
    """One JSON object per line for log collectors: time, level, logger, message, exception.

    Each field is scrubbed before encoding, so JSON escaping cannot hide a secret."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.scrub(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = self.scrub(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = self.scrub(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, secrets: tuple[Secret, ...], log_format: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    formatter = (
        JsonFormatter(secrets) if log_format == "json" else RedactingFormatter(secrets, TEXT_FORMAT)
    )
    handler.setFormatter(formatter)
    handler.addFilter(ReconnectNotice())
    handler.addFilter(PoolFloorNotice())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # discord.py's gateway chatter is noise at INFO for an operator.
    logging.getLogger("discord.gateway").setLevel(max(logging.WARNING, root.level))
