"""Leased jobs: with several worker processes on one database, each step is taken by one
worker at a time, a dead worker's job is taken over when its lease lapses, and a job moves
to the end exactly once (one create, one post, one charge)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.jobs.delivery import VideoDelivery
from bot.jobs.store import JobStore, Lease
from bot.jobs.worker import Worker
from bot.models import ACTIVE_STATES, JobState
from bot.providers.base import TaskStatus
from bot.quota.allowance import Allowance
from bot.storage.database import Database, open_database
from bot.video.destinations import Destinations
from bot.video.download import VideoDownloader
from bot.video.fitting import VideoFitter
from bot.video.shelf import VideoShelf
from tests.support.doubles import FakeClock, RecordingChat, ScriptedProvider
from tests.support.jobs import DAY, make_store, new_job
from tests.support.video_server import video_server

A = Lease("worker-a", 30.0)
B = Lease("worker-b", 30.0)


def store(db: Database, clock: FakeClock) -> JobStore:
    return make_store(db, clock, provider="scripted", max_active_per_member=1000)


@pytest.fixture
async def two_processes(
    database_url: str, clock: FakeClock
) -> AsyncIterator[tuple[JobStore, JobStore]]:
    """Two job stores on two connections (pools) to one database, as two processes have."""
    first, second = await open_database(database_url), await open_database(database_url)
    try:
        yield store(first, clock), store(second, clock)
    finally:
        await first.close()
        await second.close()


async def test_a_leased_job_is_not_taken_by_another_worker_until_released_or_lapsed(
    two_processes: tuple[JobStore, JobStore], clock: FakeClock
) -> None:
    one, other = two_processes
    short_a, short_b = Lease("worker-a", 0.6), Lease("worker-b", 0.6)
    job = await one.submit(new_job(), Allowance(5, DAY))
    clock.advance(5)
    assert [j.id for j in await one.claim_due(clock.now(), 10, ACTIVE_STATES, (), short_a)] == [
        job.id
    ]
    # Leases run by the database's clock: a process whose own clock is an hour ahead does
    # not take the job over.
    clock.advance(3600)
    assert await other.claim_due(clock.now(), 10, ACTIVE_STATES, (), short_b) == []
    # Another worker sleeps until the lease could lapse, not in a busy loop.
    lapses_at = await other.next_due_at((), short_b)
    assert lapses_at == pytest.approx(time.time() + 0.6, abs=0.3)
    await asyncio.sleep(0.4)
    assert await one.renew_leases((job.id,), short_a) == {job.id}  # still working
    await asyncio.sleep(0.4)
    assert await other.claim_due(clock.now(), 10, ACTIVE_STATES, (), short_b) == []
    assert await one.holds_lease(job, short_a)
    await asyncio.sleep(0.4)  # the renewed lease has lapsed: its worker is gone
    taken = await other.claim_due(clock.now(), 10, ACTIVE_STATES, (), short_b)
    assert [j.id for j in taken] == [job.id]
    # The first worker hears it at its next renewal, and before it would post.
    assert await one.renew_leases((job.id,), short_a) == set()
    assert not await one.holds_lease(job, short_a)
    assert await other.holds_lease(job, short_b)
    await other.release_lease(job.id, short_b)
    assert [j.id for j in await one.claim_due(clock.now(), 10, ACTIVE_STATES, (), A)] == [job.id]


async def test_concurrent_claims_never_hand_a_job_to_two_workers(
    two_processes: tuple[JobStore, JobStore], clock: FakeClock
) -> None:
    one, other = two_processes
    for user in range(60):
        await one.submit(new_job(user), Allowance(5, DAY))
    clock.advance(5)
    # Twenty workers, half on each connection, all claiming at once.
    claims = await asyncio.gather(
        *(
            (one if i % 2 else other).claim_due(
                clock.now(), 7, ACTIVE_STATES, (), Lease(f"worker-{i}", 30.0)
            )
            for i in range(20)
        )
    )
    claimed = [job.id for batch in claims for job in batch]
    assert len(claimed) == len(set(claimed)) == 60


def worker(jobs: JobStore, provider: ScriptedProvider, downloader: VideoDownloader, lease: Lease):
    return Worker(
        jobs=jobs,
        provider=provider,
        chat=RecordingChat(),
        delivery=VideoDelivery(
            jobs=jobs,
            # Each process keeps its videos in its own MEDIA_DIR.
            shelf=VideoShelf(
                downloader._temp_dir / lease.owner, downloader._temp_dir, VideoFitter()
            ),
            downloader=downloader,
            clock=jobs.clock,  # type: ignore[arg-type]
            upload_limit_cap=1024 * 1024,
        ),
        clock=jobs.clock,  # type: ignore[arg-type]
        status_edit_interval=0,
        concurrency=4,
        lease=lease,
    )


async def test_two_workers_move_each_job_once_and_release_their_leases(
    two_processes: tuple[JobStore, JobStore], clock: FakeClock, tmp_path: Path
) -> None:
    one, other = two_processes
    jobs = [await one.submit(new_job(user), Allowance(5, DAY)) for user in range(6)]
    provider = ScriptedProvider(poll_seconds=(1,))
    provider.creates = [f"task_{n}" for n in range(6)]
    async with (
        video_server() as videos,
        VideoDownloader(tmp_path / "tmp", 5, Destinations(videos)) as downloader,
    ):
        provider.statuses = [
            TaskStatus("succeeded", video_url=f"{videos}/video/1000") for _ in range(6)
        ]
        workers = [worker(one, provider, downloader, A), worker(other, provider, downloader, B)]
        for _ in range(6):
            clock.advance(2)
            await asyncio.gather(*(w.drain(limit_seconds=10) for w in workers))
    done = [await one.get(job.id) for job in jobs]
    assert {job.state for job in done if job} == {JobState.DELIVERED}
    assert len(provider.create_calls) == 6  # one create per job, whichever worker sent it
    posted = [r for w in workers for r in w.steps.chat.results]  # type: ignore[attr-defined]
    assert len(posted) == 6
    rows = await one.db.fetch_all("SELECT kind FROM quota_ledger WHERE kind = 'charge'")
    assert len(rows) == 6
    held = await one.db.fetch_value("SELECT COUNT(*) FROM jobs WHERE lease_owner IS NOT NULL")
    assert held == 0
