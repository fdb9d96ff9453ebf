"""SQLite through aiosqlite (the default engine): one connection for writes, serialised
transactions, and one read-only connection for plain reads.

An asyncio lock keeps coroutines from interleaving statements inside each other's transactions
on the write connection, and `BEGIN IMMEDIATE` keeps a second process (a restarted bot racing
an old one) from doing so. Reads go through a connection of their own, so they never queue
behind a write transaction: in WAL mode a read sees every committed transaction and is never
blocked by a writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.storage.connection import Connection, Params, Row
from bot.storage.engine import Database, bundled_migrations, split_statements

log = logging.getLogger(__name__)


WAL_SWITCH_ATTEMPTS = 50
WAL_SWITCH_GAP_SECONDS = 0.05


async def _enable_wal(conn: aiosqlite.Connection) -> None:
    """Switch a new file to WAL. Processes opening a new file together may find it locked
    for that switch, which SQLite reports at once instead of waiting: try again, briefly."""
    for attempt in range(WAL_SWITCH_ATTEMPTS):
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == WAL_SWITCH_ATTEMPTS - 1:
                raise
            await asyncio.sleep(WAL_SWITCH_GAP_SECONDS)


async def _open_reader(path: Path | str) -> aiosqlite.Connection:
    """A connection for plain reads; `query_only` makes a write through it an error."""
    reader = await aiosqlite.connect(str(path), isolation_level=None, timeout=30)
    try:
        reader.row_factory = aiosqlite.Row
        await reader.execute("PRAGMA query_only=ON")
        await reader.execute("PRAGMA busy_timeout=30000")
    except BaseException:
        await reader.close()
        raise
    return reader


class SqliteConnection:
    """`Connection` over one aiosqlite connection: the write connection (used only under the
    owner's lock) or the read-only one."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        cursor = await self._conn.execute(sql, tuple(params))
        return cursor.rowcount

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        # One round trip to the database thread, not one for the statement and one more
        # for the rows.
        return list(await self._conn.execute_fetchall(sql, tuple(params)))

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self._conn.execute_fetchall(sql, tuple(params))
        return next(iter(rows), None)

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return row[0] if row is not None else None

    async def insert_returning_id(self, sql: str, params: Params = ()) -> int:
        cursor = await self._conn.execute(sql, tuple(params))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def lock(self, *names: tuple[object, ...]) -> None:
        return None  # BEGIN IMMEDIATE already serialises every write transaction


class SqliteDatabase(Database):
    engine = "sqlite"
    shared = False

    def __init__(
        self, connection: aiosqlite.Connection, reader: aiosqlite.Connection | None = None
    ) -> None:
        self._conn = connection
        self._wrapped = SqliteConnection(connection)
        self._lock = asyncio.Lock()
        self._reader = reader
        self._wrapped_reader = SqliteConnection(reader) if reader is not None else None

    @classmethod
    async def connect(cls, path: Path | str) -> SqliteDatabase:
        """Open (creating the folder if needed) and migrate the database at `path`."""
        in_memory = str(path) == ":memory:"
        if not in_memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path), isolation_level=None, timeout=30)
        reader = None
        try:
            conn.row_factory = aiosqlite.Row
            await _enable_wal(conn)
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA busy_timeout=30000")
            await cls(conn)._migrate()
            # An in-memory database exists only on its one connection, which then reads too.
            if not in_memory:
                reader = await _open_reader(path)
        except BaseException:
            # Its thread would otherwise keep the process alive after the error is reported.
            await conn.close()
            raise
        return cls(conn, reader)

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader.close()
        await self._conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self._lock:
            try:
                # Inside the try: a task cancelled while BEGIN runs still rolls back, or the
                # shared connection would be left inside a transaction for good.
                await self._conn.execute("BEGIN IMMEDIATE")
                yield self._wrapped
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
    async def reading(self) -> AsyncIterator[Connection]:
        if self._wrapped_reader is not None:
            # Each statement is its own read transaction; coroutines may interleave them.
            yield self._wrapped_reader
            return
        async with self._lock:
            yield self._wrapped

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[Connection]:
        """On the write connection, while no other coroutine's transaction is open on it."""
        async with self._lock:
            yield self._wrapped

    async def _migrate(self) -> None:
        await self._conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL)"
        )
        # A migration may rebuild a table others refer to (SQLite cannot alter a constraint):
        # SQLite's own procedure for that turns the foreign key checks off around it, and
        # checks every reference before the migration commits. The pragma is a no-op inside a
        # transaction, so it is set between them.
        await self._conn.execute("PRAGMA foreign_keys=OFF")
        try:
            for version, name, sql in bundled_migrations("sqlite"):
                await self._apply(version, name, sql)
        finally:
            await self._conn.execute("PRAGMA foreign_keys=ON")

    async def _apply(self, version: int, name: str, sql: str) -> None:
        async with self.transaction() as conn:
            # Checked inside the write transaction: a second process starting at the same
            # moment waits here, then finds the migration applied.
            if await conn.fetch_one(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
            ):
                return
            log.info("applying database migration %s", name)
            for statement in split_statements(sql):
                await conn.execute(statement)
            broken = await conn.fetch_all("PRAGMA foreign_key_check")
            if broken:
                raise sqlite3.IntegrityError(
                    f"migration {name} left {len(broken)} broken reference(s), "
                    f"e.g. in table {broken[0][0]}"
                )
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, name)
            )
