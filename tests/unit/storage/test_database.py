"""The shared connection survives failures and cancellations mid-transaction."""

from __future__ import annotations

import asyncio

import pytest

from bot.storage.database import Database, open_database


async def table_exists(db: Database, name: str) -> bool:
    if db.engine == "sqlite":
        sql = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
    else:
        sql = "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = ?"
    return bool(await db.fetch_value(sql, (name,)))


async def test_migrations_are_applied_once_in_order(db: Database) -> None:
    rows = await db.fetch_all("SELECT version FROM schema_migrations ORDER BY version")
    versions = [row[0] for row in rows]
    assert versions == sorted(versions) and versions[:5] == [1, 2, 3, 4, 5]


async def test_a_failed_block_rolls_back(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute("CREATE TABLE scratch (x INTEGER)")
            raise RuntimeError("boom")
    assert not await table_exists(db, "scratch")


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
    assert not await table_exists(db, "scratch")


async def test_reopening_an_existing_database_keeps_its_data(tmp_path) -> None:
    path = tmp_path / "again.sqlite3"
    first = await open_database(path)
    async with first.transaction() as conn:
        await conn.execute(
            "INSERT INTO quota_ledger (guild_id, user_id, kind, units, created_at) "
            "VALUES (1, 2, 'grant', -1, 0)"
        )
    await first.close()
    second = await open_database(path)
    assert (await second.fetch_one("SELECT COUNT(*) FROM quota_ledger"))[0] == 1
    await second.close()


async def test_a_task_cancelled_while_begin_waits_does_not_wedge_the_connection(
    tmp_path,
) -> None:
    # Another process holds the write lock, so BEGIN IMMEDIATE waits; the waiting task is
    # cancelled. Once the lock is free, the connection must still take new transactions.
    import sqlite3

    path = tmp_path / "locked.sqlite3"
    db = await open_database(path)
    try:
        await db._conn.execute("PRAGMA busy_timeout=500")
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            task = asyncio.create_task(db.transaction().__aenter__())
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises((asyncio.CancelledError, sqlite3.OperationalError)):
                await task
        finally:
            other.execute("ROLLBACK")
            other.close()
        await asyncio.sleep(0.6)  # the abandoned BEGIN finishes on aiosqlite's thread
        async with asyncio.timeout(5), db.transaction() as conn:
            await conn.execute("CREATE TABLE after_cancel (x INTEGER)")
    finally:
        await db.close()  # always: an open aiosqlite thread would keep the test run alive


async def test_reads_do_not_wait_for_a_write_transaction(tmp_path) -> None:
    # SQLite reads go through a connection of their own: a long write does not hold them up,
    # and they see only what is committed.
    db = await open_database(tmp_path / "reads.sqlite3")
    try:
        async with db.transaction() as conn:
            await conn.execute("CREATE TABLE counters (n INTEGER)")
            await conn.execute("INSERT INTO counters (n) VALUES (1)")
        async with db.transaction() as conn:
            await conn.execute("UPDATE counters SET n = 2")
            async with asyncio.timeout(2):
                assert await db.fetch_value("SELECT n FROM counters") == 1
        assert await db.fetch_value("SELECT n FROM counters") == 2
    finally:
        await db.close()


async def test_a_write_through_the_read_connection_is_refused(tmp_path) -> None:
    import sqlite3

    db = await open_database(tmp_path / "readonly.sqlite3")
    try:
        async with db.reading() as conn:
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                await conn.execute("CREATE TABLE not_here (x INTEGER)")
        assert await db.execute("CREATE TABLE here (x INTEGER)") is not None
        assert await table_exists(db, "here") and not await table_exists(db, "not_here")
    finally:
        await db.close()


async def test_an_in_memory_database_reads_what_it_wrote() -> None:
    db = await open_database(":memory:")
    try:
        await db.execute("CREATE TABLE notes (x INTEGER)")
        await db.execute("INSERT INTO notes (x) VALUES (5)")
        assert await db.fetch_value("SELECT x FROM notes") == 5
    finally:
        await db.close()
