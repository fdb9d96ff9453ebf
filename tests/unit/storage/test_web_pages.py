"""The web's pages read from the database, on both engines: complete and in order when walked
page by page, filtered as asked, and never showing what the filters leave out."""

from __future__ import annotations

import itertools
import json

from bot.i18n import Text
from bot.storage import audit as audit_rows
from bot.storage import dashboard, gallery
from bot.storage import jobs as job_rows
from bot.storage.audit import Action
from bot.storage.audit_pages import LogCursor, LogFilter, log_page
from bot.storage.database import Database

GUILD, OTHER_GUILD = 10, 11
ALICE, BOB = 1, 2
GENERAL, PRIVATE = 100, 101
_keys = itertools.count()


async def add_job(db: Database, **fields: object) -> int:
    values: dict[str, object] = {
        "guild_id": GUILD,
        "channel_id": GENERAL,
        "user_id": ALICE,
        "provider": "rivya",
        "model": "sora-2-pro",
        "prompt": "a fox",
        "options_json": json.dumps({"orientation": "landscape", "duration": 10}),
        "state": "delivered",
        "idempotency_key": f"key-{next(_keys)}",
        "next_action_at": 0.0,
        "deadline_at": 0.0,
        "created_at": 1000.0,
        "updated_at": 1000.0,
    }
    values |= fields
    async with db.writing() as conn:
        row = await job_rows.insert(conn, values)
    return int(row["id"])


async def walk(fetch, size: int) -> list[list[int]]:  # type: ignore[no-untyped-def]
    pages, before = [], None
    while True:
        rows = await fetch(before, size + 1)
        ids = [int(row["id"]) for row in rows]
        pages.append(ids[:size])
        if len(ids) <= size:
            return pages
        before = ids[size - 1]


async def test_a_members_jobs_page_by_page_and_by_words(db: Database) -> None:
    mine = [await add_job(db, guild_id=GUILD if i % 2 else OTHER_GUILD) for i in range(23)]
    await add_job(db, user_id=BOB)
    special = await add_job(db, prompt="100% 狐狸 in the SNOW_storm")
    traditional = await add_job(db, prompt="一部關於視頻的影片")

    async def fetch(before: int | None, limit: int, words=()):  # type: ignore[no-untyped-def]
        async with db.reading() as conn:
            return await gallery.member_jobs(conn, ALICE, before, limit, words)

    pages = await walk(fetch, 10)
    assert [len(page) for page in pages] == [10, 10, 5]
    assert list(itertools.chain.from_iterable(pages)) == sorted(
        [*mine, special, traditional], reverse=True
    )

    async def search(*words: list[str]) -> list[int]:
        return [int(row["id"]) for row in await fetch(None, 50, words)]

    assert await search(["100%"]) == [special]
    assert await search(["0%"]) == [special]  # % is a character, not a wildcard
    assert await search(["%"]) == [special]
    assert await search(["_"]) == [special]
    assert await search(["snow"], ["狐狸"]) == [special]  # every word, in any case
    assert await search(["snow"], ["wolf"]) == []
    assert await search(["视频", "視頻"]) == [traditional]  # either spelling of a word


async def test_a_members_jobs_only_in_the_servers_served(db: Database) -> None:
    """ALLOWED_GUILD_IDS: the member's jobs of other servers are left out, page by page."""
    here = [await add_job(db, guild_id=GUILD) for _ in range(5)]
    for _ in range(5):
        await add_job(db, guild_id=OTHER_GUILD)

    async def fetch(before: int | None, limit: int):  # type: ignore[no-untyped-def]
        async with db.reading() as conn:
            return await gallery.member_jobs(conn, ALICE, before, limit, guild_ids=[GUILD])

    pages = await walk(fetch, 2)
    assert list(itertools.chain.from_iterable(pages)) == sorted(here, reverse=True)
    async with db.reading() as conn:
        everywhere = await gallery.member_jobs(conn, ALICE, None, 50)
    assert len(everywhere) == 10  # no servers named: every server's


async def test_a_servers_gallery_shows_delivered_videos_in_the_channels_given(
    db: Database,
) -> None:
    shown = [await add_job(db, user_id=ALICE if i % 3 else BOB) for i in range(12)]
    private = await add_job(db, channel_id=PRIVATE)
    await add_job(db, state="running")
    await add_job(db, state="failed")
    await add_job(db, result_deleted_at=5.0)
    await add_job(db, guild_id=OTHER_GUILD)

    async def fetch(before: int | None, limit: int, member: int | None = None):  # type: ignore[no-untyped-def]
        async with db.reading() as conn:
            return await gallery.guild_videos(conn, GUILD, [GENERAL], before, limit, member)

    assert list(itertools.chain.from_iterable(await walk(fetch, 5))) == sorted(shown, reverse=True)
    bobs = [int(r["id"]) for r in await fetch(None, 50, BOB)]
    assert bobs == sorted((j for i, j in enumerate(shown) if i % 3 == 0), reverse=True)
    async with db.reading() as conn:
        assert sorted(await gallery.delivered_channels(conn, GUILD)) == [GENERAL, PRIVATE]
        both = await gallery.guild_videos(conn, GUILD, [GENERAL, PRIVATE], None, 50)
        assert private in [int(r["id"]) for r in both]
        assert await gallery.guild_videos(conn, GUILD, [], None, 50) == []


async def test_the_log_walked_by_page_is_the_quota_log_in_the_same_order(db: Database) -> None:
    # Actions and ledger rows, several at the same instant (the order's tie-breaks).
    for index in range(14):
        at = 2000.0 + index // 3
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO quota_ledger (guild_id, user_id, job_id, kind, units, "
                "period_start, actor_id, reason, created_at) VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?)",
                (GUILD, ALICE if index % 2 else BOB, "adjustment", -1, "2024-01-01", 9, None, at),
            )
            action = Action(
                "set_limit" if index % 2 else "block",
                Text("quota.action.block", member=f"<@{ALICE}>"),
                target_user_id=ALICE if index % 4 else BOB,
            )
            await audit_rows.record(conn, GUILD, 9, action, at)
    async with db.reading() as conn:
        everything = await audit_rows.log_entries(conn, GUILD, None)
        alices = await audit_rows.log_entries(conn, GUILD, ALICE)

    async def walk_log(where: LogFilter, size: int) -> list[tuple[str, int]]:
        found: list[tuple[str, int]] = []
        cursor = None
        while True:
            async with db.reading() as conn:
                entries = await log_page(conn, GUILD, where, cursor, size)
            found += [(e.source, e.id) for e in entries]
            if len(entries) < size:
                return found
            cursor = LogCursor.parse(LogCursor.after(entries[-1]).text())

    assert await walk_log(LogFilter(), 4) == [(e.source, e.id) for e in everything]
    assert await walk_log(LogFilter(member_id=ALICE), 3) == [(e.source, e.id) for e in alices]
    blocks = await walk_log(LogFilter(kinds=("block",)), 2)
    assert blocks == [(e.source, e.id) for e in everything if e.kind == "block"]
    window = await walk_log(LogFilter(since=2001.0, until=2003.0), 5)
    assert window == [(e.source, e.id) for e in everything if 2001 <= e.created_at < 2003]
    assert LogCursor.parse("nan_action_1") is None and LogCursor.parse("1.5_x_1") is None


async def test_jobs_per_day_and_the_dashboards_lists(db: Database) -> None:
    for at, state in (
        (10.0, "delivered"),
        (20.0, "delivered"),
        (100.0, "failed"),
        (250.0, "delivered"),
    ):
        await add_job(db, created_at=at, state=state, error_code="generation_failed")
    await add_job(db, created_at=260.0, state="expired", user_id=BOB)
    async with db.reading() as conn:
        counts = await dashboard.jobs_per_day(conn, GUILD, [(0.0, 100.0), (100.0, 300.0)])
        reasons = await dashboard.failure_reasons(conn, GUILD, 0.0)
        makers = await dashboard.top_members(conn, GUILD, 0.0, 5)
    by_day = {(c.day, c.state): c.jobs for c in counts}
    assert by_day == {(0, "delivered"): 2, (1, "failed"): 1, (1, "delivered"): 1, (1, "expired"): 1}
    assert {(r.state, r.code, r.jobs) for r in reasons} == {
        ("failed", "generation_failed", 1),
        ("expired", None, 1),
    }
    assert [(m.user_id, m.videos) for m in makers] == [(ALICE, 3)]
