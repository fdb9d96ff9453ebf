"""PostgreSQL through asyncpg: a connection pool shared by every coroutine of the process.

asyncpg speaks PostgreSQL's binary protocol directly and keeps prepared statements per
connection, so the same SQL costs one round trip. Several bot processes share one database:
row changes that depend on what was read take `Connection.lock` (an advisory lock held until
the transaction ends) or re-check their condition in the UPDATE itself.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from bot.storage.connection import Connection, Params, Row, lock_id, numbered_placeholders
from bot.storage.engine import Database, LockHold, bundled_migrations, split_statements

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 10
STATEMENT_TIMEOUT_SECONDS = 60
POOL_SIZE = 10
MIGRATION_LOCK = lock_id("sora-bot", "migrations")


def _changed_rows(status: str) -> int:
    """asyncpg answers a command tag ("UPDATE 3", "INSERT 0 1", "DELETE 0")."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


async def _keep_session(conn: asyncpg.Connection) -> None:
    """A connection goes back to the pool as it is: the bot sets no session state, its
    transactions have ended (advisory locks with them), and the one session lock it takes is
    released explicitly. asyncpg's default reset would cost a round trip per use."""


class PostgresConnection:
    """`Connection` over one asyncpg connection taken from the pool."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    @property
    def raw(self) -> asyncpg.Connection:
        """The asyncpg connection, for what only PostgreSQL offers (COPY)."""
        return self._conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        status = await self._conn.execute(numbered_placeholders(sql), *params)
        return _changed_rows(status)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        return list(await self._conn.fetch(numbered_placeholders(sql), *params))

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        row: Row | None = await self._conn.fetchrow(numbered_placeholders(sql), *params)
        return row

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        return await self._conn.fetchval(numbered_placeholders(sql), *params)

    async def insert_returning_id(self, sql: str, params: Params = ()) -> int:
        value = await self._conn.fetchval(numbered_placeholders(f"{sql} RETURNING id"), *params)
        return int(value)

    async def lock(self, *names: tuple[object, ...]) -> None:
        # One round trip for all of them; taken in the order given.
        calls = ", ".join(f"pg_advisory_xact_lock(${n})" for n in range(1, len(names) + 1))
        await self._conn.execute(f"SELECT {calls}", *(lock_id(*name) for name in names))


class _SessionLock(LockHold):
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def still_held(self) -> bool:
        try:
            return bool(await self._conn.fetchval("SELECT 1"))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False  # the session, and the lock with it, is gone


class PostgresDatabase(Database):
    engine = "postgresql"
    shared = True

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def connect(cls, url: str) -> PostgresDatabase:
        pool = await asyncpg.create_pool(
            url,
            min_size=1,
            max_size=POOL_SIZE,
            timeout=CONNECT_TIMEOUT_SECONDS,
            command_timeout=STATEMENT_TIMEOUT_SECONDS,
            reset=_keep_session,
        )
        try:
            db = cls(pool)
            await db._migrate()
        except BaseException:
            await pool.close()
            raise
        return db

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield PostgresConnection(conn)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Connection]:
        async with self._pool.acquire() as conn:
            yield PostgresConnection(conn)

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[Connection]:
        # A pooled connection outside a transaction commits each statement on its own.
        async with self._pool.acquire() as conn:
            yield PostgresConnection(conn)

    async def copy_rows(
        self,
        conn: Connection,
        table: str,
        columns: Sequence[str],
        rows: list[tuple[Any, ...]],
    ) -> None:
        """Bulk-load `rows` into `table` with COPY, inside `conn`'s transaction."""
        assert isinstance(conn, PostgresConnection)
        await conn.raw.copy_records_to_table(table, records=rows, columns=list(columns))

    @asynccontextmanager
    async def deployment_lock(
        self, *key: object, wait: bool = False
    ) -> AsyncIterator[LockHold | None]:
        """A session-level advisory lock on a connection kept for the block: if this process
        dies, its session ends and the lock passes to another process."""
        number = lock_id(*key)
        async with self._pool.acquire() as conn:
            if wait:
                await conn.execute("SELECT pg_advisory_lock($1)", number)
            elif not await conn.fetchval("SELECT pg_try_advisory_lock($1)", number):
                yield None
                return
            try:
                yield _SessionLock(conn)
            finally:
                try:
                    await conn.execute("SELECT pg_advisory_unlock($1)", number)
                except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError):
                    pass  # the session ended (the database was out of reach): the lock with it
                except BaseException:
                    # Closing the session is what frees the lock then; the pool replaces it.
                    conn.terminate()
                    raise

    async def _migrate(self) -> None:
        async with self._pool.acquire() as conn:
            # Held across all migrations: a second process starting now waits, then finds
            # them applied.
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations "
                    "(version INTEGER PRIMARY KEY, name TEXT NOT NULL)"
                )
                applied = {
                    row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")
                }
                for version, name, sql in bundled_migrations("postgresql"):
                    if version in applied:
                        continue
                    log.info("applying database migration %s", name)
                    async with conn.transaction():
                        for statement in split_statements(sql):
                            await conn.execute(statement)
                        await conn.execute(
                            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                            version,
                            name,
                        )
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
