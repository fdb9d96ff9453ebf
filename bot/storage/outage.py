"""When the database does not answer (its server restarting, the network down): which errors
mean that, how to say it in one line, and one log line per outage instead of a traceback per
attempt. The bot waits for the database and carries on where it was; nothing is lost, since
every step is written before the next one is taken."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable

import asyncpg

from bot.storage.postgres import CONNECT_TIMEOUT_SECONDS

# SQLite's words for a file it cannot reach (a vanished mount, a failing disk).
_SQLITE_UNREACHABLE = ("unable to open database file", "disk i/o error")


def is_unreachable(error: BaseException) -> bool:
    """True when `error` means the database cannot be reached right now, not that the bot
    asked for something wrong: trying again later is the cure."""
    if isinstance(error, asyncpg.PostgresConnectionError | asyncpg.OperatorInterventionError):
        return True  # connection lost or refused; server shutting down or starting up
    if isinstance(error, asyncpg.TooManyConnectionsError):
        return True
    if isinstance(error, sqlite3.OperationalError):
        return str(error).lower().startswith(_SQLITE_UNREACHABLE)
    # Refused, reset, timed out, no route, name not resolved; a file's error has its name.
    return isinstance(error, OSError) and not error.filename


def describe(error: BaseException) -> str:
    """The cause in a few words, never empty (`str(TimeoutError())` is "")."""
    if isinstance(error, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT_SECONDS} s (timed out)"
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class OutageNotice:
    """Says once that the database stopped answering, and once that it is back."""

    def __init__(
        self, log: logging.Logger, what: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.log = log
        self.what = what  # who waits: "the worker"
        self.clock = clock
        self.since: float | None = None

    @property
    def ongoing(self) -> bool:
        return self.since is not None

    def failed(self, error: BaseException) -> None:
        if self.since is not None:
            return
        self.since = self.clock()
        self.log.warning(
            "database unreachable (%s); %s waits for it and tries again", describe(error), self.what
        )

    def answered(self) -> None:
        if self.since is None:
            return
        lasted, self.since = self.clock() - self.since, None
        self.log.warning("database reachable again after %.0f s; %s carries on", lasted, self.what)
