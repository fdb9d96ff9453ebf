"""Secrets scrubbed from every text that leaves the bot: the log (tracebacks included) and
whatever members and moderators read (a provider's failure reason may quote the API key)."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

from bot.config import Secret

REDACTED = "[redacted]"

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
    def __init__(self, secrets: tuple[Secret, ...], fmt: str) -> None:
        super().__init__(fmt)
        self._scrub = Scrubber(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return self._scrub(super().format(record))


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
