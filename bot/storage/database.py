"""The database the bot runs on: SQLite (the default, one process) or PostgreSQL (several).

All writes that belong together go through `Database.transaction()`, which yields a
`Connection` (bot/storage/connection.py). The two engines behave alike for the bot:

- SQLite: one aiosqlite connection; write transactions are serialised (bot/storage/sqlite.py).
- PostgreSQL: a pool of asyncpg connections; a transaction is READ COMMITTED, and steps that
  read, check and then write take `Connection.lock` (a transaction-scoped advisory lock) on
  what they check (bot/storage/postgres.py).
"""

from __future__ import annotations

from pathlib import Path

from bot.storage.connection import Connection, Row
from bot.storage.engine import ENGINES, Database, bundled_migration_versions
from bot.storage.postgres import PostgresDatabase
from bot.storage.sqlite import SqliteDatabase
from bot.storage.urls import parse_target


async def open_database(target: Path | str) -> Database:
    """Open and migrate the database at `target`: a file path, `sqlite:///path` or
    `postgresql://…` (see bot/storage/urls.py)."""
    parsed = parse_target(target)
    if parsed.engine == "postgresql":
        return await PostgresDatabase.connect(parsed.url)
    assert parsed.path is not None
    return await SqliteDatabase.connect(parsed.path)


__all__ = [
    "ENGINES",
    "Connection",
    "Database",
    "Row",
    "bundled_migration_versions",
    "open_database",
]
