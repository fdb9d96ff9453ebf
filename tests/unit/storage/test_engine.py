"""Both engines: the same migrations, the same SQL, and migrations applied once under a lock."""

from __future__ import annotations

import asyncio
from importlib import resources

from bot.storage.connection import lock_id, numbered_placeholders
from bot.storage.database import ENGINES, bundled_migration_versions, open_database
from bot.storage.urls import parse_target, redact
from tests.support.postgres_cluster import Databases


def test_both_engines_know_the_same_migration_numbers() -> None:
    versions = {engine: bundled_migration_versions(engine) for engine in ENGINES}
    assert versions["sqlite"] == versions["postgresql"]
    assert versions["sqlite"][:3] == [1, 2, 3]


def test_no_migration_sits_outside_an_engine_folder() -> None:
    # A file in migrations/ itself would be applied by neither engine.
    folder = resources.files("bot.storage") / "migrations"
    stray = [entry.name for entry in folder.iterdir() if entry.name.endswith(".sql")]
    assert stray == []


def test_placeholders_are_numbered_outside_string_literals() -> None:
    sql = "SELECT '?' AS mark, 'it''s ?' FROM t WHERE a = ? AND b IN (?, ?)"
    assert numbered_placeholders(sql) == (
        "SELECT '?' AS mark, 'it''s ?' FROM t WHERE a = $1 AND b IN ($2, $3)"
    )


def test_lock_ids_are_stable_signed_64_bit_numbers() -> None:
    first = lock_id("member", 1, 2)
    assert first == lock_id("member", 1, 2) != lock_id("member", 2, 1)
    assert -(2**63) <= first < 2**63


def test_database_targets() -> None:
    assert parse_target("sqlite:///data/x.sqlite3").path is not None
    assert str(parse_target("sqlite:////srv/x.sqlite3").path) == "/srv/x.sqlite3"
    assert parse_target("postgres://u@h/d").engine == "postgresql"
    assert redact("postgresql://u:secret@h:5432/d") == "postgresql://u:***@h:5432/d"


async def test_the_same_statements_answer_alike(database_url: str) -> None:
    db = await open_database(database_url)
    try:
        async with db.transaction() as conn:
            ledger_id = await conn.insert_returning_id(
                "INSERT INTO quota_ledger (guild_id, user_id, kind, units, created_at) "
                "VALUES (?, ?, 'grant', ?, ?)",
                (2**62, 7, -3, 1.5),
            )
            changed = await conn.execute(
                "UPDATE quota_ledger SET reason = ? WHERE id = ?", ("why", ledger_id)
            )
        assert changed == 1
        row = await db.fetch_one("SELECT guild_id, units, reason FROM quota_ledger")
        assert row is not None and (row[0], row["units"], row["reason"]) == (2**62, -3, "why")
        assert dict(row)["guild_id"] == 2**62  # Discord ids need all 64 bits
        assert await db.fetch_value("SELECT COUNT(*) FROM quota_ledger WHERE id = ?", (99,)) == 0
        assert await db.fetch_one("SELECT * FROM jobs") is None
    finally:
        await db.close()


async def test_processes_starting_together_migrate_once(postgres: Databases) -> None:
    url = postgres.empty()
    opened = await asyncio.gather(*(open_database(url) for _ in range(4)))
    try:
        rows = await opened[0].fetch_all("SELECT version FROM schema_migrations ORDER BY 1")
        assert [row[0] for row in rows] == bundled_migration_versions("postgresql")
    finally:
        for db in opened:
            await db.close()


async def test_sqlite_processes_starting_together_migrate_once(tmp_path) -> None:
    path = tmp_path / "together.sqlite3"
    opened = await asyncio.gather(*(open_database(path) for _ in range(4)))
    try:
        rows = await opened[0].fetch_all("SELECT version FROM schema_migrations ORDER BY 1")
        assert [row[0] for row in rows] == bundled_migration_versions("sqlite")
    finally:
        for db in opened:
            await db.close()
