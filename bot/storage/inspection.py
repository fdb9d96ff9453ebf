"""Read-only looks at a database without migrating it (for `sora-bot check`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg

INSPECT_TIMEOUT_SECONDS = 10


def sqlite_state(path: Path) -> tuple[list[str], set[int]]:
    """The file's quick_check answer and its applied migrations; raises `sqlite3.Error`."""
    conn = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=INSPECT_TIMEOUT_SECONDS
    )
    try:
        health = [row[0] for row in conn.execute("PRAGMA quick_check")]
        tracked = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        ).fetchone()
        rows = conn.execute("SELECT version FROM schema_migrations") if tracked else []
        return health, {row[0] for row in rows}
    finally:
        conn.close()


async def postgres_applied(url: str) -> set[int]:
    """The applied migrations of the PostgreSQL database at `url`; raises `OSError`,
    `TimeoutError` or `asyncpg.PostgresError` when it cannot be reached or read."""
    conn = await asyncpg.connect(
        url, timeout=INSPECT_TIMEOUT_SECONDS, command_timeout=INSPECT_TIMEOUT_SECONDS
    )
    try:
        tracked = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
        rows = await conn.fetch("SELECT version FROM schema_migrations") if tracked else []
        return {row[0] for row in rows}
    finally:
        await conn.close()
