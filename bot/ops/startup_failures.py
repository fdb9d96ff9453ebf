"""Start-up failures the operator must fix: one plain line each (what is wrong, what to do)
and an exit status per kind, instead of a traceback. Never includes a secret."""

from __future__ import annotations

import sqlite3

from bot.config import Settings
from bot.providers.base import ProviderHealth

EXIT_FAILED = 1  # a start-up failure not listed below
EXIT_BAD_SETTINGS = 2
EXIT_TOKEN_REFUSED = 3
EXIT_DISCORD_UNREACHABLE = 4
EXIT_PROVIDER_UNAVAILABLE = 5
EXIT_STORAGE = 6


class StartupFailure(Exception):
    def __init__(self, line: str, exit_code: int) -> None:
        super().__init__(line)
        self.line = line
        self.exit_code = exit_code


def token_refused() -> str:
    return (
        "Discord refused DISCORD_TOKEN: copy the bot's token again from the developer portal "
        "(Bot -> Reset Token), put it in .env and start again."
    )


def discord_unreachable(cause: str) -> str:
    return (
        f"Could not reach Discord ({cause}): check this machine's internet connection, DNS and "
        "firewall (HTTPS and WebSocket to discord.com), then start again."
    )


def provider_unreachable(settings: Settings, detail: str) -> str:
    rivya = settings.provider == "rivya"
    where = "RIVYA_BASE_URL" if rivya else "UNIFIED_BASE_URL"
    url = settings.rivya_base_url if rivya else settings.unified_base_url
    return (
        f"No answer from the video service at {url} ({detail.rstrip('.')}): check the network "
        f"and {where}, then start again."
    )


def require_reachable(settings: Settings, health: ProviderHealth) -> None:
    """Refuse to start against a video service that does not answer at all."""
    if health.unreachable:
        raise StartupFailure(
            provider_unreachable(settings, health.detail), EXIT_PROVIDER_UNAVAILABLE
        )


def explain(error: BaseException, settings: Settings) -> StartupFailure | None:
    """The operator's line for a failure that ended the start, or None for a real bug (which
    keeps its traceback). Discord's own failures are turned into a `StartupFailure` by the
    Discord glue (cogs/_startup.py) before they get here."""
    from bot.providers.factory import ProfileUnavailable

    if isinstance(error, StartupFailure):
        return error
    if isinstance(error, ProfileUnavailable):
        return StartupFailure(str(error), EXIT_PROVIDER_UNAVAILABLE)
    if isinstance(error, OSError) and error.filename:
        return StartupFailure(
            f"Cannot use {error.filename}: {error.strerror}. Point DATABASE_PATH and MEDIA_DIR "
            "at a folder this user can write (in Docker, leave them unset to use the /data "
            "volume).",
            EXIT_STORAGE,
        )
    if _is_postgres_error(error) or (
        isinstance(error, OSError) and settings.database_url.startswith("postgres")
    ):
        from bot.storage.outage import describe
        from bot.storage.urls import redact

        # The cause in words even when the error has none (a connection timeout).
        return StartupFailure(
            f"Cannot use the database {redact(settings.database_url)}: {describe(error)}. Check "
            "that the PostgreSQL server is running and reachable from this machine (host, port, "
            "firewall), and that DATABASE_URL names it, its user and its database.",
            EXIT_STORAGE,
        )
    if isinstance(error, sqlite3.DatabaseError):
        return StartupFailure(
            f"Cannot use the database {settings.database_path}: {error}. Check the file and its "
            "folder, or restore a backup (see README: Backups).",
            EXIT_STORAGE,
        )
    return None


def _is_postgres_error(error: BaseException) -> bool:
    import asyncpg

    return isinstance(error, asyncpg.PostgresError | asyncpg.InterfaceError)
