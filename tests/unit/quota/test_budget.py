"""DAILY_VIDEO_BUDGET, checked with the quota hold on both engines: held and charged videos
count (waiting in a server's queue or not), released ones do not (a cancelled waiting job
included), a burst cannot pass it together (also from several processes, with waiting jobs
starting meanwhile), and each alert is raised once a day."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

import pytest

from bot.errors import Refusal, RefusalKind
from bot.i18n import Text, render
from bot.jobs.new_job import NewJob
from bot.jobs.queue import SlotCaps
from bot.jobs.queue_store import QueueStore
from bot.jobs.store import JobStore, Lease
from bot.models import JobState
from bot.ops.metrics_server import read_snapshot
from bot.quota.allowance import Allowance, QuotaPeriod
from bot.quota.budget import DailyBudget
from bot.storage.database import Database, open_database
from tests.support.doubles import FakeClock
from tests.support.jobs import deliver, new_job

TAIPEI = ZoneInfo("Asia/Taipei")
ALLOWANCE = Allowance(10, QuotaPeriod("day", TAIPEI))


# A server's queue: one video at the service per server, two across the deployment, and
# room for the rest to wait.
QUEUE = SlotCaps(per_member=5, per_guild=1, provider=2, waiting_per_member=3, waiting_per_guild=50)
NO_QUEUE = SlotCaps(per_member=5)


def store(
    db: Database,
    clock: FakeClock,
    limit: int,
    alerts: list[Text] | None = None,
    caps: SlotCaps = NO_QUEUE,
) -> JobStore:
    return JobStore(
        db,
        clock,
        provider="rivya",
        model="sora-2-pro",
        deadline_seconds=1800,
        caps=caps,
        daily_budget=DailyBudget(limit, TAIPEI),
        on_budget_alert=alerts.append if alerts is not None else None,
    )


def job_for(user_id: int, guild_id: int = 1) -> NewJob:
    return new_job(user_id, guild_id=guild_id, prompt="a lighthouse")


async def holds(db: Database) -> int:
    return int(await db.fetch_value("SELECT COUNT(*) FROM quota_ledger WHERE kind = 'hold'"))


async def test_the_budget_counts_every_server_and_gives_back_released_videos(
    db: Database, clock: FakeClock
) -> None:
    jobs = store(db, clock, limit=2)
    first = await jobs.submit(job_for(1, guild_id=1), ALLOWANCE)
    second = await jobs.submit(job_for(2, guild_id=2), ALLOWANCE)  # another server
    with pytest.raises(Refusal) as refused:
        await jobs.submit(job_for(3, guild_id=3), ALLOWANCE)
    assert refused.value.kind is RefusalKind.BUDGET_EXHAUSTED
    midnight_taipei = 1_767_283_200  # 2026-01-02T00:00+08:00
    assert refused.value.text_for("en") == (
        f"The bot's videos for today are used up. It resets <t:{midnight_taipei}:R>. "
        "Nothing was charged."
    )
    assert refused.value.text_for("zh-TW").startswith("機器人今天可以製作的影片已經用完了")
    assert await holds(db) == 2  # nothing held for the refused one

    # Charged still counts; a failed job gave its video back.
    delivered = await jobs.get(first.id)
    assert delivered is not None
    assert await jobs.record_submitted(delivered, "t1", 0)
    assert await jobs.finish_unsuccessfully(
        await jobs.get(second.id), JobState.FAILED, "x", "failed"
    )  # type: ignore[arg-type]
    again = await jobs.submit(job_for(3, guild_id=3), ALLOWANCE)
    assert again.id > second.id
    with pytest.raises(Refusal):
        await jobs.submit(job_for(4), ALLOWANCE)
    assert await jobs.budget_used(clock.now()) == 2


async def test_the_day_is_quota_timezone_s(db: Database, clock: FakeClock) -> None:
    jobs = store(db, clock, limit=1)
    clock.value = 1_767_283_200 - 60  # 23:59 in Taipei
    await jobs.submit(job_for(1), ALLOWANCE)
    with pytest.raises(Refusal):
        await jobs.submit(job_for(2), ALLOWANCE)
    clock.advance(60)  # midnight in Taipei, still 16:00 the day before in UTC
    await jobs.submit(job_for(2), ALLOWANCE)


async def test_a_burst_from_two_processes_gets_exactly_the_budget(
    database_url: str, clock: FakeClock
) -> None:
    # Two connections (pools) to the same database: two bot processes, as far as it can tell.
    first, second = await open_database(database_url), await open_database(database_url)
    try:
        stores = (store(first, clock, limit=3), store(second, clock, limit=3))

        async def ask(user_id: int) -> bool:
            try:
                await stores[user_id % 2].submit(job_for(user_id, guild_id=user_id), ALLOWANCE)
            except Refusal as refusal:
                assert refusal.kind is RefusalKind.BUDGET_EXHAUSTED
                return False
            return True

        accepted = await asyncio.gather(*(ask(user_id) for user_id in range(1, 21)))
        assert sum(accepted) == 3
        assert await holds(first) == 3
    finally:
        await first.close()
        await second.close()


async def test_each_alert_is_raised_once_a_day_whichever_process_accepts(
    database_url: str, clock: FakeClock
) -> None:
    first, second = await open_database(database_url), await open_database(database_url)
    heard: list[Text] = []
    try:
        one, other = store(first, clock, 5, heard), store(second, clock, 5, heard)
        for user_id in range(1, 4):
            await (one if user_id % 2 else other).submit(job_for(user_id), ALLOWANCE)
        assert heard == []
        await other.submit(job_for(4), ALLOWANCE)  # 4 of 5: 80 %
        (nearly,) = heard
        assert render(nearly, "en").startswith(
            "⚠️ The bot has accepted 4 of its 5 videos for today (80% of its daily budget)."
        )
        # A video given back and taken again reaches 80 % a second time: no second alert.
        fourth = await other.recent_for_member(1, 4, 1)
        assert await other.finish_unsuccessfully(fourth[0], JobState.FAILED, "x", "failed")
        await one.submit(job_for(5), ALLOWANCE)
        assert len(heard) == 1
        await one.submit(job_for(6), ALLOWANCE)  # 5 of 5
        assert render(heard[-1], "zh-CN").startswith("⛔ 机器人今天的每日预算（5 个视频）")
        assert len(heard) == 2

        clock.advance(86_400)  # the next day starts afresh
        small = store(first, clock, 1, heard)
        await small.submit(job_for(7), ALLOWANCE)  # 80 % and 100 % at once: one alert
        assert len(heard) == 3 and heard[-1].key == "access.budget.reached"
    finally:
        await first.close()
        await second.close()


async def test_the_metrics_show_the_budget_used(db: Database, clock: FakeClock) -> None:
    jobs = store(db, clock, limit=4)
    await jobs.submit(job_for(1), ALLOWANCE)
    snapshot = await read_snapshot(jobs, clock.now(), in_flight=[])
    assert (snapshot.budget_used, snapshot.budget_limit) == (1, 4)
    unlimited = JobStore(
        db,
        clock,
        provider="rivya",
        model="sora-2-pro",
        deadline_seconds=1800,
        caps=SlotCaps(per_member=5),
    )
    snapshot = await read_snapshot(unlimited, clock.now(), in_flight=[])
    assert snapshot.budget_used is None


async def test_a_waiting_video_counts_and_a_cancelled_one_gives_its_video_back(
    db: Database, clock: FakeClock
) -> None:
    jobs = store(db, clock, limit=3, caps=QUEUE)
    sent = await jobs.submit(job_for(1), ALLOWANCE)
    waiting = [await jobs.submit(job_for(user), ALLOWANCE) for user in (2, 3)]
    assert sent.state is JobState.QUEUED
    assert [job.state for job in waiting] == [JobState.WAITING] * 2
    assert await jobs.budget_used(clock.now()) == 3  # held while waiting: it will be sent
    with pytest.raises(Refusal) as refused:
        await jobs.submit(job_for(4), ALLOWANCE)  # the queue has room; the day does not
    assert refused.value.kind is RefusalKind.BUDGET_EXHAUSTED
    assert await holds(db) == 3

    assert await jobs.cancel(waiting[0], 2)
    assert await jobs.budget_used(clock.now()) == 2
    again = await jobs.submit(job_for(4), ALLOWANCE)
    assert again.state is JobState.WAITING
    assert await jobs.budget_used(clock.now()) == 3


async def test_bursts_and_starts_from_two_processes_keep_the_budget_and_the_service_cap(
    database_url: str, clock: FakeClock
) -> None:
    """Admissions take the member's, the server's and the deployment's locks in that order, and
    so do the starts of waiting jobs: two processes doing both at once never wait for each
    other in a circle (PostgreSQL would end one with a deadlock error), and between them
    they accept exactly the budget and never pass the deployment-wide cap."""
    first, second = await open_database(database_url), await open_database(database_url)
    try:
        stores = (
            store(first, clock, limit=8, caps=QUEUE),
            store(second, clock, limit=8, caps=QUEUE),
        )
        queues = [QueueStore(jobs) for jobs in stores]
        asking = asyncio.Event()

        async def ask(user_id: int) -> bool:
            # Four servers, members in each: some go at once, most wait.
            new = job_for(user_id, guild_id=user_id % 4)
            try:
                job = await stores[user_id % 2].submit(new, ALLOWANCE)
            except Refusal as refusal:
                assert refusal.kind is RefusalKind.BUDGET_EXHAUSTED
                return False
            if job.state is JobState.QUEUED:  # sent at once; soon made and posted
                await asyncio.sleep(0.05)
                await deliver(stores[user_id % 2], job, message_id=job.id)
            return True

        async def burst() -> list[bool]:
            try:
                return await asyncio.gather(*(ask(user_id) for user_id in range(1, 25)))
            finally:
                asking.set()

        async def keep_starting(queue: QueueStore, lease: Lease) -> list[int]:
            started = []
            while True:
                job = await queue.start_next_waiting(lease)
                if job is not None:
                    started.append(job.id)
                    at_service = await first.fetch_value(
                        "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'submitted')"
                    )
                    assert at_service <= 2  # the deployment-wide cap, across both processes
                    # Its video is made and posted: a slot frees, the video still counts.
                    await deliver(queue.jobs, job, message_id=job.id)
                    continue
                left = await first.fetch_value("SELECT COUNT(*) FROM jobs WHERE state = 'waiting'")
                if asking.is_set() and left == 0:
                    return started
                await asyncio.sleep(0.005)

        accepted, *starts = await asyncio.wait_for(
            asyncio.gather(
                burst(),
                keep_starting(queues[0], Lease("one", 60)),
                keep_starting(queues[1], Lease("two", 60)),
            ),
            timeout=60,
        )
        assert sum(accepted) == 8
        started = [job_id for ids in starts for job_id in ids]
        assert started and len(started) == len(set(started))  # never one job twice
        delivered = await first.fetch_value("SELECT COUNT(*) FROM jobs WHERE state = 'delivered'")
        assert delivered == 8 and await holds(first) == 8
    finally:
        await first.close()
        await second.close()
