"""What every database engine offers the bot, and the numbered migrations of each engine.

Migrations are numbered files per engine (`migrations/sqlite`, `migrations/postgresql`), the same
numbers in both, applied at start-up under a lock so two processes starting together cannot
both migrate.
"""

from __future__ import annotations

import abc
import contextlib
import re
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

from bot.storage.connection import Connection, Params, Row

_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
ENGINES = ("sqlite", "postgresql")


class LockHold:
    """A lock this process holds (see `Database.deployment_lock`)."""

    async def still_held(self) -> bool:
        """False once the lock is lost (its database session ended)."""
        return True


class Database(abc.ABC):
    """A migrated database of either engine; open one with `Database.open`."""

    engine: str
    # Whether several bot processes may share this database (only one process uses SQLite).
    shared: bool

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    def transaction(self) -> contextlib.AbstractAsyncContextManager[Connection]:
        """Run a block atomically; it commits on success and rolls back on any exception."""

    @abc.abstractmethod
    def reading(self) -> contextlib.AbstractAsyncContextManager[Connection]:
        """Plain reads outside a transaction: each statement sees committed data. They never
        wait for a write transaction (SQLite reads through a connection of their own)."""

    @abc.abstractmethod
    def writing(self) -> contextlib.AbstractAsyncContextManager[Connection]:
        """Statements outside a transaction, each atomic and committed on its own: for a
        write that is a single statement."""

    @contextlib.asynccontextmanager
    async def deployment_lock(
        self, *key: object, wait: bool = False
    ) -> AsyncIterator[LockHold | None]:
        """Hold the lock named `key` across the processes sharing this database for as long
        as the block runs: yields a `LockHold` when this process has it, None when another
        does (`wait=True` waits for it instead). SQLite serves one process: it always has it."""
        yield LockHold()

    async def applied_versions(self) -> list[int]:
        """The migrations applied to this database, in order."""
        rows = await self.fetch_all("SELECT version FROM schema_migrations ORDER BY version")
        return [int(row[0]) for row in rows]

    async def ping(self) -> bool:
        """True when the database answers a trivial query where writes go: a write that
        holds it too long shows here (reads would not notice)."""
        async with self.writing() as conn:
            return await conn.fetch_value("SELECT 1") == 1

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One statement, atomic on its own (no transaction needed); returns the rows it
        changed."""
        async with self.writing() as conn:
            return await conn.execute(sql, params)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        async with self.reading() as conn:
            return await conn.fetch_all(sql, params)

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        async with self.reading() as conn:
            return await conn.fetch_one(sql, params)

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        async with self.reading() as conn:
            return await conn.fetch_value(sql, params)


def bundled_migration_versions(engine: str = "sqlite") -> list[int]:
    """The migration numbers this version of the bot knows, in order."""
    return [version for version, _, _ in bundled_migrations(engine)]


def bundled_migrations(engine: str) -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of `engine`'s migrations, in order."""
    assert engine in ENGINES, engine
    folder = resources.files("bot.storage") / "migrations" / engine
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def split_statements(sql: str) -> list[str]:
    """Split a migration into statements (no triggers with inner semicolons are used)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
