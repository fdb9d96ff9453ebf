"""Upgrading a database a previous version made: the later migrations keep what the earlier
ones made (rows, columns, indexes), on both engines.

Migrations 013-015 (the web: where an action was taken, sign-ins, the gallery's indexes) came
before 016-017 (the daily budget, whose pictures "Make a video" may use); 017 rebuilds the
moderators' audit table on SQLite, which must keep 013's `via` and 015's index. 018 (a server's
queue: states `waiting` and `cancelled`) rebuilds the jobs table on SQLite, which others refer
to, and must keep its rows, the ids after them, and the indexes of 008, 015 and 016.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg
import pytest

from bot.storage import postgres as postgres_engine
from bot.storage import sqlite as sqlite_engine
from bot.storage.database import ENGINES, Database, bundled_migration_versions, open_database
from bot.storage.engine import bundled_migrations
from tests.support.postgres_cluster import Databases

WEB_MIGRATIONS_DONE = 15  # a database of the version that had the web and not what follows
SAFETY_MIGRATIONS_DONE = 17  # the version with the daily budget, before the server's queue
# The jobs table's indexes before 018: the first ones, by state (008), the web's pages (015) and
# the daily budget's (016).
JOBS_INDEXES_BEFORE_QUEUE = {
    "jobs_due",
    "jobs_member",
    "jobs_result_message",
    "jobs_status_message",
    "jobs_state",
    "jobs_user_newest",
    "jobs_guild_gallery",
    "jobs_guild_member_gallery",
    "jobs_guild_channels",
    "jobs_guild_created",
    "jobs_created",
}
QUEUE_INDEXES = {"jobs_waiting", "jobs_member_started", "jobs_guild_started"}
AUDIT_INDEXES = {
    "moderation_actions_guild",
    "moderation_actions_target",
    "moderation_actions_ledger",
    "moderation_actions_kind",  # from 015, for the dashboard's log filter
}
REFUSED_BY_THE_CHECK = (sqlite3.IntegrityError, asyncpg.CheckViolationError)
BROKEN_REFERENCE = (sqlite3.IntegrityError, asyncpg.ForeignKeyViolationError)


def new_database_url(engine: str, request: pytest.FixtureRequest, path: Path) -> str:
    if engine == "sqlite":
        return f"sqlite:///{path}"
    databases: Databases = request.getfixturevalue("postgres")
    return databases.empty()


async def open_as_of(url: str, version: int, monkeypatch: pytest.MonkeyPatch) -> Database:
    """Open `url` as a version of the bot that knew migrations up to `version` would."""

    def known(engine: str) -> list[tuple[int, str, str]]:
        return [found for found in bundled_migrations(engine) if found[0] <= version]

    with monkeypatch.context() as patch:
        patch.setattr(sqlite_engine, "bundled_migrations", known)
        patch.setattr(postgres_engine, "bundled_migrations", known)
        return await open_database(url)


async def table_indexes(db: Database, table: str, *constraints: str) -> set[str]:
    """The indexes a migration made on `table`, not those of its keys (`constraints`, as
    PostgreSQL names them; SQLite names its own `sqlite_...`)."""
    if db.engine == "sqlite":
        sql = (
            "SELECT name FROM sqlite_master WHERE type = 'index' "
            f"AND tbl_name = '{table}' AND name NOT LIKE 'sqlite_%'"
        )
    else:
        skipped = ", ".join(f"'{name}'" for name in (f"{table}_pkey", *constraints))
        sql = (
            f"SELECT indexname FROM pg_indexes WHERE tablename = '{table}' "
            f"AND indexname NOT IN ({skipped})"
        )
    return {str(row[0]) for row in await db.fetch_all(sql)}


async def audit_indexes(db: Database) -> set[str]:
    return await table_indexes(db, "moderation_actions")


async def jobs_indexes(db: Database) -> set[str]:
    return await table_indexes(db, "jobs", "jobs_idempotency_key_key")


async def record_job(db: Database, state: str, created_at: float, **more: object) -> int:
    row: dict[str, object] = {
        "guild_id": 2**62,
        "channel_id": 5,
        "user_id": 7,
        "provider": "rivya",
        "model": "sora-2-pro",
        "prompt": "a lighthouse",
        "options_json": "{}",
        "state": state,
        "idempotency_key": f"key-{state}-{created_at}",
        "next_action_at": created_at,
        "deadline_at": created_at + 1800,
        "created_at": created_at,
        "updated_at": created_at,
        **more,
    }
    marks = ", ".join("?" for _ in row)
    async with db.transaction() as conn:
        job_id = await conn.insert_returning_id(
            f"INSERT INTO jobs ({', '.join(row)}) VALUES ({marks})", tuple(row.values())
        )
        await conn.execute(
            "INSERT INTO quota_ledger (guild_id, user_id, kind, units, period_start, job_id, "
            "created_at) VALUES (?, ?, 'hold', 1, '2026-01-01', ?, ?)",
            (2**62, 7, job_id, created_at),
        )
    return job_id


async def record_action(db: Database, action: str, via: str | None) -> int:
    async with db.transaction() as conn:
        return await conn.insert_returning_id(
            "INSERT INTO moderation_actions (guild_id, actor_id, action, target_user_id, detail, "
            "reason, created_at, detail_key, detail_values, via) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (2**62, 9, action, 7, "set limit", "trusted", 1.5, "quota.action.x", "{}", via),
        )


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_database_with_the_web_migrations_upgrades_keeping_its_audit_rows(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = new_database_url(engine, request, tmp_path / "old.sqlite3")
    old = await open_as_of(url, WEB_MIGRATIONS_DONE, monkeypatch)
    try:
        assert await old.applied_versions() == list(range(1, WEB_MIGRATIONS_DONE + 1))
        from_the_web = await record_action(old, "set_limit", "web")
        from_discord = await record_action(old, "grant", None)
        with pytest.raises(REFUSED_BY_THE_CHECK):
            await record_action(old, "set_pictures", None)  # not an action yet
    finally:
        await old.close()

    db = await open_database(url)
    try:
        assert await db.applied_versions() == bundled_migration_versions(engine)
        rows = await db.fetch_all(
            "SELECT id, action, via, reason, detail_key FROM moderation_actions ORDER BY id"
        )
        assert [tuple(row) for row in rows] == [
            (from_the_web, "set_limit", "web", "trusted", "quota.action.x"),
            (from_discord, "grant", None, "trusted", "quota.action.x"),
        ]
        assert await audit_indexes(db) == AUDIT_INDEXES
        # The new action is accepted, with where it was taken; anything else still is not.
        pictures = await record_action(db, "set_pictures", "web")
        assert pictures > from_discord  # ids go on from the kept rows
        with pytest.raises(REFUSED_BY_THE_CHECK):
            await record_action(db, "set_nonsense", None)
        assert await db.fetch_value("SELECT COUNT(*) FROM guild_pictures") == 0
        assert await db.fetch_value("SELECT COUNT(*) FROM budget_alerts") == 0
    finally:
        await db.close()


async def schema(db: Database) -> list[tuple[object, ...]]:
    """Every table, column, index and constraint, as the engine describes them."""
    if db.engine == "sqlite":
        queries = [
            "SELECT type, name, tbl_name, sql FROM sqlite_master "
            "WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
        ]
    else:
        queries = [
            "SELECT table_name, column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = 'public' "
            "ORDER BY table_name, column_name",
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "ORDER BY indexname",
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE connamespace = 'public'::regnamespace "
            "ORDER BY 1, 2",
        ]
    return [tuple(row) for sql in queries for row in await db.fetch_all(sql)]


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_database_stopped_at_017_takes_the_queue_keeping_its_jobs(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = new_database_url(engine, request, tmp_path / "old.sqlite3")
    old = await open_as_of(url, SAFETY_MIGRATIONS_DONE, monkeypatch)
    try:
        assert await old.applied_versions() == list(range(1, SAFETY_MIGRATIONS_DONE + 1))
        assert await jobs_indexes(old) == JOBS_INDEXES_BEFORE_QUEUE
        delivered = await record_job(old, "delivered", 100.0, result_message_id=55)
        running = await record_job(old, "running", 200.0, lease_owner="a", lease_until=260.0)
        rerun = await record_job(old, "queued", 300.0, parent_job_id=delivered)
        async with old.transaction() as conn:
            await conn.execute(
                "INSERT INTO result_reposts (job_id, channel_id, message_id, created_at) "
                "VALUES (?, ?, ?, ?)",
                (delivered, 6, 66, 150.0),
            )
        with pytest.raises(REFUSED_BY_THE_CHECK):
            await record_job(old, "waiting", 400.0)  # not a state yet
    finally:
        await old.close()

    db = await open_database(url)
    try:
        assert await db.applied_versions() == bundled_migration_versions(engine)
        rows = await db.fetch_all(
            "SELECT id, state, created_at, started_at, cancelled_by, parent_job_id, "
            "result_message_id, lease_owner FROM jobs ORDER BY id"
        )
        # Every job before the queue went to the video service when it was accepted.
        assert [tuple(row) for row in rows] == [
            (delivered, "delivered", 100.0, 100.0, None, None, 55, None),
            (running, "running", 200.0, 200.0, None, None, None, "a"),
            (rerun, "queued", 300.0, 300.0, None, delivered, None, None),
        ]
        assert await jobs_indexes(db) == JOBS_INDEXES_BEFORE_QUEUE | QUEUE_INDEXES
        # What referred to the jobs still does, and the rebuilt table is referred to.
        ledger = await db.fetch_all("SELECT job_id FROM quota_ledger ORDER BY job_id")
        assert [row[0] for row in ledger] == [delivered, running, rerun]
        assert await db.fetch_value("SELECT job_id FROM result_reposts") == delivered
        waiting = await record_job(db, "waiting", 500.0)
        assert waiting > rerun  # ids go on from the kept rows
        with pytest.raises(REFUSED_BY_THE_CHECK):
            await record_job(db, "paused", 600.0)
        # The references are checked again after the rebuild: one to no job is refused.
        with pytest.raises(BROKEN_REFERENCE):
            async with db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO result_reposts (job_id, channel_id, message_id, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (waiting + 1000, 6, 67, 700.0),
                )
    finally:
        await db.close()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("stopped_at", [WEB_MIGRATIONS_DONE, SAFETY_MIGRATIONS_DONE])
async def test_an_upgraded_database_has_the_schema_of_a_new_one(
    engine: str,
    stopped_at: int,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    upgraded_url = new_database_url(engine, request, tmp_path / "upgraded.sqlite3")
    await (await open_as_of(upgraded_url, stopped_at, monkeypatch)).close()
    new_url = new_database_url(engine, request, tmp_path / "new.sqlite3")
    upgraded, new = await open_database(upgraded_url), await open_database(new_url)
    try:
        assert await audit_indexes(upgraded) == AUDIT_INDEXES
        assert await jobs_indexes(upgraded) == JOBS_INDEXES_BEFORE_QUEUE | QUEUE_INDEXES
        assert await schema(upgraded) == await schema(new)
    finally:
        await upgraded.close()
        await new.close()
