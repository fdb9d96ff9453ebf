"""One aiosqlite connection, numbered migrations, and serialised transactions.

All access goes through `Database.transaction()`: an asyncio lock keeps coroutines from
interleaving statements inside each other's transactions on the shared connection, and
`BEGIN IMMEDIATE` keeps a second process (a restarted bot racing an old one) from doing so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import aiosqlite

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


class Database:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._conn = connection
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        """Open (creating the folder if needed) and migrate the database at `path`."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path), isolation_level=None, timeout=30)
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA busy_timeout=30000")
            db = cls(conn)
            await db._migrate()
        except BaseException:
            # Its thread would otherwise keep the process alive after the error is reported.
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        await self._conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run a block atomically; it commits on success and rolls back on any exception."""
        async with self._lock:
            try:
                # Inside the try: a task cancelled while BEGIN runs still rolls back, or the
                # shared connection would be left inside a transaction for good.
                await self._conn.execute("BEGIN IMMEDIATE")
                yield self._conn
            except BaseException:
                await asyncio.shield(self._rollback())
                raise
            await self._conn.execute("COMMIT")

    async def _rollback(self) -> None:
        # Always sent: aiosqlite runs it after a BEGIN still in progress on its thread, which a
        # check of `in_transaction` made now would miss.
        with contextlib.suppress(sqlite3.OperationalError):  # none open: BEGIN itself failed
            await self._conn.execute("ROLLBACK")

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """Plain reads, without the write lock: each statement sees committed data, and no
        other coroutine's transaction is open on the shared connection meanwhile."""
        async with self._lock:
            yield self._conn

    async def execute(self, sql: str, params: tuple | dict = ()) -> int:
        """One statement, atomic on its own (no BEGIN needed); returns the rows it changed."""
        async with self._lock:
            cursor = await self._conn.execute(sql, params)
            return cursor.rowcount

    async def fetch_all(self, sql: str, params: tuple | dict = ()) -> list[aiosqlite.Row]:
        async with self._lock:
            # One round trip to the database thread, not one for the statement and one more
            # for the rows.
            return list(await self._conn.execute_fetchall(sql, params))

    async def fetch_one(self, sql: str, params: tuple | dict = ()) -> aiosqlite.Row | None:
        """The first row (callers select at most one)."""
        async with self._lock:
            rows = await self._conn.execute_fetchall(sql, params)
            return next(iter(rows), None)

    async def _migrate(self) -> None:
        await self._conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL)"
        )
        cursor = await self._conn.execute("SELECT version FROM schema_migrations")
        applied = {row[0] for row in await cursor.fetchall()}
        for version, name, sql in _bundled_migrations():
            if version in applied:
                continue
            log.info("applying database migration %s", name)
            async with self.transaction() as conn:
                for statement in _split_statements(sql):
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, name)
                )


def bundled_migration_versions() -> list[int]:
    """The migration numbers this version of the bot knows, in order."""
    return [version for version, _, _ in _bundled_migrations()]


def _bundled_migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("bot.storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def _split_statements(sql: str) -> list[str]:
    """Split a migration into statements (no triggers with inner semicolons are used)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
