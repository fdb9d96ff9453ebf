"""Moving up: copy a SQLite database, every table, into an empty PostgreSQL database.

The copy runs in one PostgreSQL transaction (a failure leaves the target empty), then every
table is compared row for row: the same number of rows and the same checksum over all values
in primary-key order. Identity sequences are moved past the copied ids, so new rows do not
collide with old ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from bot.storage.connection import Connection, Row
from bot.storage.postgres import PostgresDatabase
from bot.storage.sqlite import SqliteDatabase

BATCH_ROWS = 5000


class TransferError(Exception):
    """The copy was refused or did not check out; the message says why."""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    order: tuple[str, ...]  # the primary key, or every column when there is none
    has_id: bool  # an identity `id` column on PostgreSQL


@dataclass(frozen=True)
class TableCopy:
    name: str
    rows: int
    checksum: str


async def tables_of(source: SqliteDatabase) -> list[Table]:
    """The bot's tables in the SQLite database, parents before the tables that refer to them."""
    async with source.reading() as conn:
        names = [
            str(row[0])
            for row in await conn.fetch_all(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name"
            )
        ]
        found: dict[str, Table] = {}
        parents: dict[str, set[str]] = {}
        for name in names:
            info = await conn.fetch_all(f"PRAGMA table_info({_quoted(name)})")
            columns = tuple(str(row["name"]) for row in info)
            key = tuple(
                str(row["name"]) for row in sorted(info, key=lambda r: r["pk"]) if row["pk"]
            )
            found[name] = Table(name, columns, key or columns, key == ("id",))
            links = await conn.fetch_all(f"PRAGMA foreign_key_list({_quoted(name)})")
            parents[name] = {str(row["table"]) for row in links} - {name}
    ordered: list[Table] = []
    while parents:
        ready = sorted(name for name, needs in parents.items() if not needs & parents.keys())
        if not ready:
            raise TransferError(f"the tables {sorted(parents)} refer to each other in a circle")
        for name in ready:
            ordered.append(found[name])
            del parents[name]
    return ordered


async def ensure_empty(target: PostgresDatabase, tables: Sequence[Table]) -> None:
    async with target.reading() as conn:
        for table in tables:
            if await conn.fetch_value(f"SELECT 1 FROM {_quoted(table.name)} LIMIT 1"):
                raise TransferError(
                    f"the PostgreSQL database is not empty (table {table.name} has rows); "
                    "copy into a new, empty database"
                )


async def copy_database(source: SqliteDatabase, target: PostgresDatabase) -> list[TableCopy]:
    """Copy every table of `source` into the empty, migrated `target` and check the copy;
    raises `TransferError` when refused or when a table does not match."""
    versions = await source.applied_versions(), await target.applied_versions()
    if versions[0] != versions[1]:
        raise TransferError(
            f"the databases are at different schema versions (SQLite {versions[0]}, "
            f"PostgreSQL {versions[1]}); open both with the same sora-bot version"
        )
    tables = await tables_of(source)
    async with target.reading() as conn:
        missing = [
            table.name
            for table in tables
            if not await conn.fetch_value("SELECT to_regclass(?) IS NOT NULL", (table.name,))
        ]
    if missing:
        raise TransferError(f"PostgreSQL has no table(s) {missing}: its schema is older")
    await ensure_empty(target, tables)
    # A write transaction on the SQLite side too: a bot still running cannot change it
    # mid-copy (it waits), so the copy is one consistent moment.
    async with source.transaction() as reader, target.transaction() as writer:
        for table in tables:
            await _copy_table(reader, target, writer, table)
            if table.has_id:
                await writer.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {_quoted(table.name)}), 0) + 1, false)"
                )
    copies = []
    for table in tables:
        async with source.reading() as conn:
            original = await checksum(conn, table)
        async with target.reading() as conn:
            copied = await checksum(conn, table)
        if original != copied:
            raise TransferError(
                f"table {table.name} does not match after the copy ({original.rows} rows, "
                f"checksum {original.checksum[:12]}; PostgreSQL: {copied.rows} rows, checksum "
                f"{copied.checksum[:12]}); nothing in the SQLite database was changed"
            )
        copies.append(original)
    return copies


async def _batches(conn: Connection, table: Table) -> AsyncIterator[list[Row]]:
    """Every row of `table` in primary-key order, `BATCH_ROWS` at a time."""
    columns = ", ".join(_quoted(column) for column in table.columns)
    order = ", ".join(_quoted(column) for column in table.order)
    offset = 0
    while True:
        rows = await conn.fetch_all(
            f"SELECT {columns} FROM {_quoted(table.name)} ORDER BY {order} LIMIT ? OFFSET ?",
            (BATCH_ROWS, offset),
        )
        if not rows:
            return
        yield rows
        offset += len(rows)


async def _copy_table(
    reader: Connection, target: PostgresDatabase, writer: Connection, table: Table
) -> None:
    async for rows in _batches(reader, table):
        await target.copy_rows(writer, table.name, table.columns, [tuple(row) for row in rows])


async def checksum(conn: Connection, table: Table) -> TableCopy:
    """The row count and a SHA-256 over every value of every row, in primary-key order."""
    digest = hashlib.sha256()
    count = 0
    async for rows in _batches(conn, table):
        for row in rows:
            digest.update(_canonical(row).encode())
        count += len(rows)
    return TableCopy(table.name, count, digest.hexdigest())


def _canonical(row: Row) -> str:
    """One row as text that is the same whichever engine it was read from."""

    def value(item: Any) -> str:
        if item is None:
            return "N"
        if isinstance(item, float):
            return f"F{item!r}"
        if isinstance(item, int):
            return f"I{item}"
        return f"S{len(str(item))}:{item}"

    return "|".join(value(item) for item in tuple(row)) + "\n"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
