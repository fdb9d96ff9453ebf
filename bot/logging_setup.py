"""Logging with every configured secret scrubbed from the final text, tracebacks included."""

from __future__ import annotations

import logging
import sys

from bot.config import Secret

REDACTED = "[redacted]"


class RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: tuple[Secret, ...], fmt: str) -> None:
        super().__init__(fmt)
        # Longest first, so a secret that contains another is replaced whole.
        self._values = sorted((s.reveal() for s in secrets if s.reveal()), key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for value in self._values:
            text = text.replace(value, REDACTED)
        return text


def configure_logging(level: str, secrets: tuple[Secret, ...]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter(secrets, "%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # discord.py's gateway chatter is noise at INFO for an operator.
    logging.getLogger("discord.gateway").setLevel(max(logging.WARNING, root.level))
