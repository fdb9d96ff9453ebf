"""The shared connection survives failures and cancellations mid-transaction."""

from __future__ import annotations

import asyncio

import pytest

from bot.storage.database import Database


async def test_migrations_are_applied_once_in_order(db: Database) -> None:
    rows = await db.fetch_all("SELECT version FROM schema_migrations ORDER BY version")
    versions = [row[0] for row in rows]
    assert versions == sorted(versions) and versions[:4] == [1, 2, 3, 4]


async def test_a_failed_block_rolls_back(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute("CREATE TABLE scratch (x INTEGER)")
            raise RuntimeError("boom")
    assert await db.fetch_one("SELECT name FROM sqlite_master WHERE name = 'scratch'") is None


async def test_a_cancelled_task_leaves_the_connection_usable(db: Database) -> None:
    inside = asyncio.Event()

    async def slow_writer() -> None:
        async with db.transaction() as conn:
            await conn.execute("CREATE TABLE scratch (x INTEGER)")
            inside.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(slow_writer())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with db.transaction() as conn:  # would fail if left inside the old transaction
        await conn.execute("CREATE TABLE other (y INTEGER)")
    assert await db.fetch_one("SELECT name FROM sqlite_master WHERE name = 'scratch'") is None


async def test_reopening_an_existing_database_keeps_its_data(tmp_path) -> None:
    path = tmp_path / "again.sqlite3"
    first = await Database.open(path)
    async with first.transaction() as conn:
        await conn.execute(
            "INSERT INTO quota_ledger (guild_id, user_id, kind, units, created_at) "
            "VALUES (1, 2, 'grant', -1, 0)"
        )
    await first.close()
    second = await Database.open(path)
    assert (await second.fetch_one("SELECT COUNT(*) FROM quota_ledger"))[0] == 1
    await second.close()
