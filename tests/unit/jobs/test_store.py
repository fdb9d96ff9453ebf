from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from bot.errors import Refusal, RefusalKind
from bot.jobs.store import JobStore
from bot.models import (
    QUOTA_OUTCOMES,
    TRANSITIONS,
    IllegalTransition,
    JobState,
    QuotaOutcome,
    check_transition,
)
from bot.quota.allowance import Allowance
from bot.storage.database import Database, open_database
from tests.support.doubles import FakeClock
from tests.support.jobs import DAY, make_store, new_job


async def ledger(db: Database, job_id: int) -> list[tuple[str, int]]:
    rows = await db.fetch_all(
        "SELECT kind, units FROM quota_ledger WHERE job_id = ? ORDER BY id", (job_id,)
    )
    return [(row["kind"], row["units"]) for row in rows]


async def used(db: Database, user_id: int = 7) -> int:
    row = await db.fetch_one(
        "SELECT COALESCE(SUM(units), 0) FROM quota_ledger WHERE user_id = ?", (user_id,)
    )
    assert row is not None
    return int(row[0])


async def test_accepted_job_is_written_with_its_hold(job_store: JobStore, db: Database) -> None:
    job = await job_store.submit(new_job(), Allowance(3, DAY))
    assert job.state is JobState.QUEUED
    assert job.idempotency_key.startswith("sorabot-")
    assert await ledger(db, job.id) == [("hold", 1)]


async def test_a_job_keeps_the_language_of_its_public_messages(job_store: JobStore) -> None:
    chinese = await job_store.submit(replace(new_job(), public_locale="zh-TW"), Allowance(3, DAY))
    assert chinese.public_locale == "zh-TW"
    reread = await job_store.get(chinese.id)
    assert reread is not None and reread.public_locale == "zh-TW"
    unset = await job_store.submit(new_job(user_id=8), Allowance(3, DAY))
    assert unset.public_locale is None  # English, as jobs accepted before languages existed


async def test_full_path_charges_exactly_once(job_store: JobStore, db: Database) -> None:
    job = await job_store.submit(new_job(), Allowance(3, DAY))
    assert await job_store.record_submitted(job, "task_1", 0)
    job = await job_store.get(job.id)
    assert job is not None
    assert await job_store.record_poll(job, JobState.RUNNING, 40, 0)
    job = await job_store.get(job.id)
    assert job is not None and job.progress == 40
    assert await job_store.record_succeeded(job, "https://video")
    job = await job_store.get(job.id)
    assert job is not None
    assert await job_store.record_delivered(job, 555, "file")
    # A second delivery (a second worker, a replay after a crash) changes nothing.
    assert not await job_store.record_delivered(job, 556, "file")
    assert not await job_store.finish_unsuccessfully(job, JobState.FAILED, "x", "late failure")
    assert await ledger(db, job.id) == [("hold", 1), ("charge", 0)]
    final = await job_store.get(job.id)
    assert final is not None
    assert final.state is JobState.DELIVERED and final.result_message_id == 555


async def test_failure_releases_once(job_store: JobStore, db: Database) -> None:
    job = await job_store.submit(new_job(), Allowance(1, DAY))
    assert await job_store.finish_unsuccessfully(job, JobState.FAILED, "x", "nope")
    assert not await job_store.finish_unsuccessfully(job, JobState.EXPIRED, "y", "again")
    assert await ledger(db, job.id) == [("hold", 1), ("release", -1)]
    assert await used(db) == 0
    # The released unit can be used again.
    await job_store.submit(new_job(), Allowance(1, DAY))


async def test_transitions_are_conditional(job_store: JobStore) -> None:
    job = await job_store.submit(new_job(), Allowance(3, DAY))
    assert await job_store.record_submitted(job, "task_1", 0)
    # A stale copy of the job (still `queued`) cannot be submitted a second time.
    assert not await job_store.record_submitted(job, "task_2", 0)
    fresh = await job_store.get(job.id)
    assert fresh is not None and fresh.provider_task_id == "task_1"
    # Delivering before it succeeded is not a move the state machine has: a bug, said loudly.
    with pytest.raises(IllegalTransition, match="from submitted to delivered"):
        await job_store.record_delivered(fresh, 1, "file")
    after = await job_store.get(job.id)
    assert after is not None and after.state is JobState.SUBMITTED


def test_state_machine_settles_the_quota_exactly_at_the_end() -> None:
    terminal = {state for state in JobState if not TRANSITIONS[state]}
    assert set(QUOTA_OUTCOMES) == terminal
    assert QUOTA_OUTCOMES[JobState.DELIVERED] is QuotaOutcome.CHARGE
    assert {QUOTA_OUTCOMES[JobState.FAILED], QUOTA_OUTCOMES[JobState.EXPIRED]} == {
        QuotaOutcome.RELEASE
    }
    # Every state an arrow points to is a state, and every active job can still fail.
    for state, targets in TRANSITIONS.items():
        assert targets <= set(JobState)
        assert not targets or JobState.FAILED in targets, state
    # A video that exists is delivered whatever the deadline, and nothing leaves an end state.
    assert JobState.EXPIRED not in TRANSITIONS[JobState.SUCCEEDED]
    with pytest.raises(IllegalTransition):
        check_transition(JobState.FAILED, JobState.QUEUED)
    check_transition(JobState.RUNNING, JobState.RUNNING)  # a poll with news of progress only


async def test_a_stale_copy_cannot_finish_a_job_that_moved_on(job_store: JobStore) -> None:
    job = await job_store.submit(new_job(), Allowance(3, DAY))
    assert await job_store.record_submitted(job, "task_1", 0)
    submitted = await job_store.get(job.id)
    assert submitted is not None
    assert await job_store.record_succeeded(submitted, "https://cdn.test/v.mp4")
    # The copy read while it was still `submitted` no longer matches the row.
    assert not await job_store.finish_unsuccessfully(submitted, JobState.FAILED, "x", "late")
    fresh = await job_store.get(job.id)
    assert fresh is not None and fresh.state is JobState.SUCCEEDED


async def test_quota_refusal_says_when_it_resets(job_store: JobStore) -> None:
    await job_store.submit(new_job(), Allowance(1, DAY))
    with pytest.raises(Refusal, match=r"all 1 of your videos for today.*<t:\d+:R>"):
        await job_store.submit(new_job(), Allowance(1, DAY))


async def test_zero_allowance_is_refused_plainly(job_store: JobStore) -> None:
    with pytest.raises(Refusal, match="not enabled"):
        await job_store.submit(new_job(), Allowance(0, DAY))


async def test_active_job_cap(job_store: JobStore) -> None:
    first = await job_store.submit(new_job(), Allowance(10, DAY))
    await job_store.submit(new_job(), Allowance(10, DAY))
    with pytest.raises(Refusal, match="2 videos in progress"):
        await job_store.submit(new_job(), Allowance(10, DAY))
    await job_store.finish_unsuccessfully(first, JobState.FAILED, "x", "done")
    await job_store.submit(new_job(), Allowance(10, DAY))


async def test_usage_resets_with_the_period(job_store: JobStore, clock: FakeClock) -> None:
    job = await job_store.submit(new_job(), Allowance(1, DAY))
    await job_store.finish_unsuccessfully(job, JobState.FAILED, "x", "y")  # frees the active slot
    await job_store.submit(new_job(), Allowance(1, DAY))
    with pytest.raises(Refusal):
        await job_store.submit(new_job(), Allowance(1, DAY))
    clock.advance(24 * 3600)
    await job_store.submit(new_job(), Allowance(1, DAY))


async def test_release_after_midnight_refunds_the_day_it_was_taken(
    job_store: JobStore, db: Database, clock: FakeClock
) -> None:
    job = await job_store.submit(new_job(), Allowance(1, DAY))
    clock.advance(24 * 3600)
    await job_store.finish_unsuccessfully(job, JobState.EXPIRED, "deadline", "late")
    rows = await db.fetch_all(
        "SELECT period_start, SUM(units) AS s FROM quota_ledger GROUP BY period_start"
    )
    assert [(r["period_start"], r["s"]) for r in rows] == [("2026-01-01", 0)]


async def test_two_hundred_concurrent_submits_never_overdraw(
    db: Database, clock: FakeClock
) -> None:
    store = make_store(db, clock, max_active_per_member=1000)
    limit = 17

    async def attempt() -> bool:
        try:
            await store.submit(new_job(), Allowance(limit, DAY))
        except Refusal:
            return False
        return True

    outcomes = await asyncio.gather(*(attempt() for _ in range(200)))
    assert sum(outcomes) == limit
    assert await used(db) == limit
    rows = await db.fetch_all("SELECT COUNT(*) FROM jobs")
    assert rows[0][0] == limit


async def test_concurrent_submits_from_two_connections_never_overdraw(
    database_url: str, clock: FakeClock
) -> None:
    # Two processes share the database: on SQLite (an old bot and its replacement) IMMEDIATE
    # serialises them; on PostgreSQL (several bot processes) the member and guild locks do.
    first, second = await open_database(database_url), await open_database(database_url)
    try:
        stores = [
            make_store(d, clock, model="m", deadline_seconds=60, max_active_per_member=1000)
            for d in (first, second)
        ]

        async def attempt(i: int) -> bool:
            try:
                await stores[i % 2].submit(new_job(), Allowance(25, DAY))
            except Refusal:
                return False
            return True

        outcomes = await asyncio.gather(*(attempt(i) for i in range(200)))
        assert sum(outcomes) == 25
        assert await used(first) == 25
    finally:
        await first.close()
        await second.close()


async def test_withdraw_only_a_job_the_worker_has_not_begun_sending(
    job_store: JobStore, db: Database
) -> None:
    unsent = await job_store.submit(new_job(user_id=1), Allowance(3, DAY))
    assert await job_store.withdraw_unsent(unsent, "no_channel_access", "no access")
    assert await ledger(db, unsent.id) == [("hold", 1), ("release", -1)]
    begun = await job_store.submit(new_job(user_id=2), Allowance(3, DAY))
    assert await job_store.mark_submit_attempted(begun)
    assert not await job_store.withdraw_unsent(begun, "no_channel_access", "no access")
    still = await job_store.get(begun.id)
    assert still is not None and still.state is JobState.QUEUED
    assert await ledger(db, begun.id) == [("hold", 1)]


class TickingClock:
    """Each reading a little later than the one before, like the wall clock under load."""

    def __init__(self) -> None:
        self.value = 1_767_225_600.0

    def now(self) -> float:
        self.value += 0.001
        return self.value


async def test_concurrent_submits_with_no_cooldown_are_refused_only_for_the_quota(
    database_url: str,
) -> None:
    # A submit that waited for the member's lock reads the time after it: a job committed
    # meanwhile never looks like it was made in the future (a cooldown of a negative gap).
    first, second = await open_database(database_url), await open_database(database_url)
    clock = TickingClock()
    try:
        stores = [
            make_store(
                d, clock, provider="r", model="m", deadline_seconds=60, max_active_per_member=99
            )
            for d in (first, second)
        ]

        async def attempt(i: int) -> bool:
            try:
                await stores[i % 2].submit(new_job(), Allowance(20, DAY))
            except Refusal as refusal:
                assert refusal.kind is RefusalKind.QUOTA_EXHAUSTED, str(refusal)
                return False
            return True

        outcomes = await asyncio.gather(*(attempt(i) for i in range(60)))
        assert sum(outcomes) == 20
    finally:
        await first.close()
        await second.close()
