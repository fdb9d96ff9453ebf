"""What the rest of the bot sees of a database connection, whichever engine is behind it.

SQL is written once with `?` placeholders; the PostgreSQL connection turns them into `$1, $2, …`.
Rows answer both `row[0]` and `row["column"]`, and `dict(row)` (sqlite3.Row and asyncpg.Record
both do).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

Params = Sequence[Any]


class Row(Protocol):
    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...


class Connection(Protocol):
    """One connection, inside a transaction (`Database.transaction()`) or for plain reads."""

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns the rows it changed."""
        ...

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        """The first row (callers select at most one)."""
        ...

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row, or None when there is no row."""
        ...

    async def insert_returning_id(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT of one row and return the new row's `id`."""
        ...

    async def lock(self, *names: tuple[object, ...]) -> None:
        """Hold the locks named by `names` until the transaction ends, so read-check-write
        steps on the same thing (one member's quota, one guild's slots) never interleave
        across processes. Callers name locks in a fixed order (widest last), so two
        transactions never wait for each other. SQLite's write transactions are already
        serialised: nothing to do there."""
        ...


_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\?")


@functools.lru_cache(maxsize=1024)
def numbered_placeholders(sql: str) -> str:
    """`?` → `$1, $2, …` outside string literals (PostgreSQL's placeholder style)."""
    counter = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal counter
        if match.group(0) != "?":
            return match.group(0)
        counter += 1
        return f"${counter}"

    return _PLACEHOLDER.sub(replace, sql)


def lock_id(*key: object) -> int:
    """A stable signed 64-bit number for a lock name (PostgreSQL advisory locks take one)."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# The database server's own time, in seconds since the epoch: what leases are judged by, so
# processes on machines whose clocks disagree still agree on when a lease runs out.
_DATABASE_NOW = {
    "postgresql": "EXTRACT(EPOCH FROM clock_timestamp())::DOUBLE PRECISION",
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
}


def database_now(engine: str) -> str:
    """SQL for the database server's current time (seconds since the epoch)."""
    return _DATABASE_NOW[engine]


def marks(values: Sequence[Any]) -> str:
    """`?, ?, ?` for an `IN (...)` list of `values` (never empty: callers check)."""
    return ", ".join("?" for _ in values)
