"""Admission in few round trips, and still atomic under concurrent submits."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from benchmarks.roundtrips import counting_round_trips
from bot.errors import Refusal
from bot.jobs.admission import Submitter
from bot.models import Actor
from bot.quota import blocklist
from bot.quota.allowance import BLOCKED_MESSAGE, BLOCKLIST_MESSAGE
from bot.storage import rules as rule_rows
from bot.storage.database import Database
from tests.support.admission import ask, make_submitter
from tests.support.doubles import FakeClock
from tests.support.jobs import make_store

GUILD = 1
QUOTA = 5
# Rules and block (1) + blocklist (1) + BEGIN, facts, insert, hold, COMMIT (5) + hand-over (1);
# PostgreSQL adds one for the member and guild locks taken together.
ROUND_TRIPS_PER_ACCEPTED_SORA = {"sqlite": 8, "postgresql": 9}


def submitter(
    db: Database,
    clock: FakeClock,
    media: Path,
    max_active_per_guild: int | None = None,
    **defaults: Any,
) -> Submitter:
    store = make_store(
        db, clock, max_active_per_member=100, max_active_per_guild=max_active_per_guild
    )
    return make_submitter(store, media, limit=QUOTA, **defaults)


async def test_an_accepted_sora_costs_few_round_trips(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    sub = submitter(db, clock, tmp_path, max_active_per_guild=50, cooldown_seconds=30)
    async with db.transaction() as conn:  # a role allowance, so the role lookup is exercised
        await rule_rows.set_role_limit(conn, GUILD, 55, 9, actor_id=1, now=clock.now())
    with counting_round_trips() as trips:
        job = await sub.submit(ask(by=Actor(GUILD, 7, (55,))))
        await sub.jobs.hand_to_worker(job, 900, "queued", None)
    assert trips.count <= ROUND_TRIPS_PER_ACCEPTED_SORA[db.engine]
    held = await db.fetch_all("SELECT kind FROM quota_ledger WHERE job_id = ?", (job.id,))
    assert [row[0] for row in held] == ["hold"]
    assert (await sub.jobs.get(job.id)).status_message_id == 900  # type: ignore[union-attr]


async def test_concurrent_submits_never_overdraw(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    sub = submitter(db, clock, tmp_path)
    members = 20

    async def one(member: int) -> bool:
        try:
            await sub.submit(ask(by=Actor(GUILD, 100 + member)))
        except Refusal:
            return False
        return True

    outcomes = await asyncio.gather(*(one(m % members) for m in range(members * 10)))
    assert sum(outcomes) == members * QUOTA
    rows = await db.fetch_all(
        "SELECT user_id, COUNT(*) FROM quota_ledger WHERE kind = 'hold' GROUP BY user_id"
    )
    assert {row[1] for row in rows} == {QUOTA} and len(rows) == members


async def test_the_lock_free_reads_still_refuse_blocked_members_and_listed_words(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    sub = submitter(db, clock, tmp_path)
    async with db.transaction() as conn:
        await rule_rows.add_block(conn, GUILD, 7, "spam", actor_id=1, now=clock.now())
        await conn.execute(
            "INSERT INTO prompt_blocklist (guild_id, term, added_by, added_at) VALUES (?, ?, 1, ?)",
            (GUILD, blocklist.normalise_term("volcano"), clock.now()),
        )
    for actor, prompt, message in (
        (Actor(GUILD, 7), "waves", BLOCKED_MESSAGE),
        (Actor(GUILD, 8), "a Volcano at night", BLOCKLIST_MESSAGE),
    ):
        try:
            await sub.submit(ask(prompt, by=actor))
        except Refusal as refusal:
            assert refusal.reason == message
        else:
            raise AssertionError("accepted")
    assert await db.fetch_all("SELECT id FROM jobs") == []
