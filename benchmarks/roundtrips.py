"""Count database round trips: every call that crosses to aiosqlite's thread (a statement, a
fetch) or to the PostgreSQL server (asyncpg: a statement, BEGIN, COMMIT) is one, whatever it
carries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import aiosqlite
import aiosqlite.core
import aiosqlite.cursor
import asyncpg.connection

_COUNTED = (
    (aiosqlite.core.Connection, ("execute", "execute_fetchall", "executemany", "execute_insert")),
    (aiosqlite.cursor.Cursor, ("fetchone", "fetchall", "fetchmany")),
    (asyncpg.connection.Connection, ("execute", "fetch", "fetchrow", "fetchval", "executemany")),
)


@dataclass
class RoundTrips:
    count: int = 0


@contextmanager
def counting_round_trips() -> Iterator[RoundTrips]:
    """Count round trips made by any connection while the block runs."""
    counter = RoundTrips()
    originals: list[tuple[type, str, Any]] = []
    for owner, names in _COUNTED:
        for name in names:
            original = getattr(owner, name)
            originals.append((owner, name, original))

            def counted(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                counter.count += 1
                return _original(*args, **kwargs)

            setattr(owner, name, counted)
    try:
        yield counter
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
