"""`sora-bot migrate-db --to postgresql://…`: every table copied, checked, and usable."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from bot.jobs.new_job import NewJob
from bot.jobs.store import JobStore
from bot.jobs.timings import CompletionTimes
from bot.models import Actor
from bot.moderation.languages import Languages
from bot.moderation.service import ModerationService
from bot.ops.command_sync import SyncRecords
from bot.quota.allowance import Allowance, QuotaDefaults, QuotaPolicy
from bot.quota.budget import DailyBudget
from bot.storage.database import Database, open_database
from bot.storage.web_sessions import SharedGuild
from bot.web.sessions import Sessions
from tests.support.doubles import FakeClock
from tests.support.jobs import DAY, deliver, make_store, new_job
from tests.support.postgres_cluster import Databases

BIG_ID = 1_234_567_890_123_456_789  # Discord ids need all 64 bits
TABLES = (
    "jobs",
    "quota_ledger",
    "moderation_actions",
    "quota_member_overrides",
    "quota_blocks",
    "prompt_blocklist",
    "result_reposts",
    "completion_times",
    "command_syncs",
    "quota_guild_defaults",
    "quota_role_limits",
    "guild_languages",
    "member_locales",
    "web_sign_ins",
    "web_sessions",
    "budget_alerts",
    "guild_pictures",
)


def store(db: Database, clock: FakeClock, budget: int | None = 2) -> JobStore:
    # A daily budget of 2: the two jobs of `fill` reach it, which records its alerts.
    jobs = make_store(db, clock, model="m", deadline_seconds=60, max_active_per_member=9)
    jobs.daily_budget = DailyBudget(budget, ZoneInfo("UTC")) if budget else None
    return jobs


def job_to_copy(user_id: int) -> NewJob:
    """A job in a server whose id needs all 64 bits, with a float in its prompt and a locale."""
    return new_job(
        user_id, guild_id=BIG_ID, prompt="a fox at 3.25 s", quality="high", public_locale="zh-TW"
    )


async def fill(db: Database, clock: FakeClock) -> None:
    """A database with rows in every table, made the way the bot makes them."""
    jobs = store(db, clock)
    day = Allowance(5, DAY)
    moved = await deliver(
        jobs,
        await jobs.submit(job_to_copy(BIG_ID - 1), day),
        task_id="task-1",
        next_action_at=clock.now() + 0.1,
        video_url="https://videos.example/1.mp4",
        kept_video=(Path("/media/videos/1.mp4"), 5_000_000_000),
        message_id=555,
    )
    await jobs.record_repost(moved, 11, 556)
    await jobs.submit(job_to_copy(7), day)
    await CompletionTimes(db, clock).record(moved, 93.125)
    await SyncRecords(db).record("global", "abc123", clock.now())
    policy = QuotaPolicy(db, QuotaDefaults(5, "day", ZoneInfo("UTC")))
    moderation = ModerationService(db=db, clock=clock, jobs=jobs, policy=policy, mod_role_ids=())
    boss = Actor(BIG_ID, 1, manage_guild=True)
    await moderation.grant(boss, 7, 2, "a prize")
    await moderation.set_limit(boss, 7, 9)
    await moderation.block(boss, 8, "spam")
    await moderation.blocklist_add(boss, "forbidden words")
    await moderation.set_default(boss, 4, "week")
    await moderation.set_role(boss, BIG_ID - 2, 6)
    await moderation.set_language(boss, "zh-CN")
    await moderation.set_pictures(boss, "anyone")
    await Languages(db, clock).remember_member(BIG_ID - 1, "zh-TW")
    sessions = Sessions(db, clock)
    await sessions.begin_sign_in("/me")
    await sessions.open(BIG_ID - 1, "Alice", "zh-TW", (SharedGuild(BIG_ID, "A server"),))


def run_cli(
    monkeypatch: pytest.MonkeyPatch, path: Path, *args: str, database_url: str | None = None
) -> int:
    if database_url is None:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATABASE_PATH", str(path))
    return main(["migrate-db", *args], run_bot=None, discord_api=None)  # type: ignore[arg-type]


async def counts(db: Database) -> dict[str, int]:
    return {t: int(await db.fetch_value(f"SELECT COUNT(*) FROM {t}")) for t in TABLES}


async def test_every_table_is_copied_checked_and_usable_afterwards(
    tmp_path: Path,
    postgres: Databases,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "old.sqlite3"
    source = await open_database(path)
    await fill(source, clock)
    before = await counts(source)
    jobs_before = [tuple(r) for r in await source.fetch_all("SELECT * FROM jobs ORDER BY id")]
    await source.close()
    assert all(before.values()), before
    source = await open_database(path)
    async with source.reading() as conn:
        names = await conn.fetch_all(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'"
        )
    await source.close()
    assert {str(row[0]) for row in names} == set(TABLES)  # a new table is filled above too

    url = postgres.empty()
    # DATABASE_URL may already name the new database (as compose.postgres.yaml sets it): the
    # SQLite file to copy is then the one DATABASE_PATH names.
    moved = await _in_thread(lambda: run_cli(monkeypatch, path, "--to", url, database_url=url))
    assert moved == 0
    out = capsys.readouterr().out
    assert "every table checked" in out and "jobs" in out

    target = await open_database(url)
    try:
        assert await counts(target) == before
        jobs_after = [tuple(r) for r in await target.fetch_all("SELECT * FROM jobs ORDER BY id")]
        assert jobs_after == jobs_before
        # The sequences were moved past the copied ids: the bot carries on where it was.
        newer = await store(target, clock, budget=None).submit(job_to_copy(9), Allowance(5, DAY))
        assert newer.id == max(row[0] for row in jobs_before) + 1
    finally:
        await target.close()


async def test_a_database_with_rows_is_refused_and_left_alone(
    tmp_path: Path,
    postgres: Databases,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "old.sqlite3"
    source = await open_database(path)
    await fill(source, clock)
    await source.close()
    url = postgres.empty()
    target = await open_database(url)
    await store(target, clock).submit(job_to_copy(3), Allowance(5, DAY))
    await target.close()

    assert await _in_thread(lambda: run_cli(monkeypatch, path, "--to", url)) == 1
    assert "is not empty (table jobs has rows)" in capsys.readouterr().err
    target = await open_database(url)
    try:
        assert await target.fetch_value("SELECT COUNT(*) FROM jobs") == 1
    finally:
        await target.close()


async def test_only_sqlite_to_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.sqlite3"
    assert run_cli(monkeypatch, missing, "--to", "postgresql://u@127.0.0.1/x") == 1
    assert "there is no database at" in capsys.readouterr().err
    assert run_cli(monkeypatch, missing, "--to", f"sqlite:///{tmp_path}/x.db") == 1
    assert "--to must be a postgresql:// URL" in capsys.readouterr().err
    assert run_cli(monkeypatch, missing) == 1  # no --to, and DATABASE_URL is SQLite
    assert "give --to postgresql://" in capsys.readouterr().err
    assert not missing.exists()


async def _in_thread(call):  # type: ignore[no-untyped-def]
    """The command runs its own event loop (asyncio.run), so not on the test's."""
    import asyncio

    return await asyncio.to_thread(call)


async def test_the_check_tells_a_changed_value_from_a_faithful_copy(
    tmp_path: Path, postgres: Databases, clock: FakeClock
) -> None:
    from bot.storage.postgres import PostgresDatabase
    from bot.storage.sqlite import SqliteDatabase
    from bot.storage.transfer import checksum, copy_database, tables_of

    source = await SqliteDatabase.connect(tmp_path / "old.sqlite3")
    target = await PostgresDatabase.connect(postgres.empty())
    try:
        await fill(source, clock)
        copies = {copy.name: copy for copy in await copy_database(source, target)}
        jobs = next(table for table in await tables_of(source) if table.name == "jobs")
        async with target.reading() as conn:
            assert await checksum(conn, jobs) == copies["jobs"]
            # One float a hair off: the same count, not the same rows.
            await conn.execute("UPDATE jobs SET created_at = created_at + 0.000001 WHERE id = 1")
            changed = await checksum(conn, jobs)
        assert changed.rows == copies["jobs"].rows
        assert changed.checksum != copies["jobs"].checksum
    finally:
        await source.close()
        await target.close()
