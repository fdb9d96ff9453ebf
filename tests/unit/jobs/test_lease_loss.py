"""A worker that loses its lease on a job stops moving it: at once when a renewal finds the job
taken over, before the lease could lapse when the database fails or does not answer, and
before a post in any case. Times are the database's."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.jobs.delivery import VideoDelivery
from bot.jobs.queue import SlotCaps
from bot.jobs.steps import LeaseLost
from bot.jobs.store import JobStore, Lease
from bot.jobs.worker import Worker
from bot.models import ACTIVE_STATES, Job, JobState
from bot.providers.base import TaskStatus
from bot.quota.allowance import Allowance, QuotaPeriod
from bot.storage.clock import DatabaseClock
from bot.storage.database import Database, open_database
from bot.video.destinations import Destinations
from bot.video.download import VideoDownloader
from bot.video.fitting import VideoFitter
from bot.video.shelf import VideoShelf
from tests.support.doubles import FakeClock, RecordingChat, ScriptedProvider
from tests.support.jobs import new_job
from tests.support.video_server import video_server

DAY = QuotaPeriod("day", ZoneInfo("UTC"))


class HangingProvider(ScriptedProvider):
    """Its status check never answers, until cancelled."""

    def __init__(self) -> None:
        super().__init__(poll_seconds=(0.05,))
        self.cancelled = asyncio.Event()

    async def status(self, task_id: str) -> TaskStatus:
        self.status_calls.append(task_id)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        raise AssertionError("unreachable")


def store(db: Database, clock: FakeClock) -> JobStore:
    return JobStore(
        db,
        clock,
        provider="scripted",
        model="sora-2-pro",
        deadline_seconds=1800,
        caps=SlotCaps(per_member=10),
    )


class UnreachableStore(JobStore):
    """The worker's store, whose database stops answering when told: its calls about leases
    fail at once (refused) or, with `hangs`, never answer."""

    def __init__(self, db: Database, clock: FakeClock, running: asyncio.Event) -> None:
        super().__init__(
            db,
            clock,
            provider="scripted",
            model="sora-2-pro",
            deadline_seconds=1800,
            caps=SlotCaps(per_member=10),
        )
        self.running = running  # set while the worker's step on the job is under way
        self.down = False
        self.hangs = False
        self.gives_up = asyncio.Event()  # a call that hangs fails when this is set
        self.failed_renewals: list[bool] = []  # for each: whether the step was still running

    async def _unreachable(self) -> None:
        if not self.down:
            return
        if self.hangs:
            await self.gives_up.wait()
        raise ConnectionRefusedError(111, "Connection refused")

    async def renew_leases(self, job_ids: tuple[int, ...], lease: Lease) -> set[int]:
        if self.down and job_ids:
            self.failed_renewals.append(self.running.is_set())
        await self._unreachable()
        return await super().renew_leases(job_ids, lease)

    async def claim_due(
        self,
        now: float,
        limit: int,
        states: tuple[JobState, ...],
        exclude: tuple[int, ...],
        lease: Lease,
    ) -> list[Job]:
        await self._unreachable()
        return await super().claim_due(now, limit, states, exclude, lease)

    async def release_lease(self, job_id: int, lease: Lease) -> None:
        await self._unreachable()
        await super().release_lease(job_id, lease)


@pytest.fixture
async def second_db(database_url: str) -> AsyncIterator[Database]:
    db = await open_database(database_url)
    yield db
    await db.close()


@contextlib.asynccontextmanager
async def worker(
    jobs: JobStore, provider: ScriptedProvider, tmp: Path, lease: Lease
) -> AsyncIterator[Worker]:
    # The test videos are served on this machine, as the provider would be in a test.
    async with VideoDownloader(tmp / "tmp", 5, Destinations("http://127.0.0.1")) as downloader:
        yield Worker(
            jobs=jobs,
            provider=provider,
            chat=RecordingChat(),
            delivery=VideoDelivery(
                jobs=jobs,
                shelf=VideoShelf(tmp / "videos", tmp / "tmp", VideoFitter()),
                downloader=downloader,
                clock=jobs.clock,  # type: ignore[arg-type]
                upload_limit_cap=1024 * 1024,
            ),
            clock=jobs.clock,  # type: ignore[arg-type]
            status_edit_interval=0,
            concurrency=2,
            idle_wait=0.05,
            lease=lease,
        )


async def test_a_renewal_that_finds_the_job_taken_over_stops_the_step_at_once(
    db: Database, second_db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    one, other = store(db, clock), store(second_db, clock)
    job = await one.submit(new_job(7, prompt="a fox"), Allowance(5, DAY))
    assert await one.record_submitted(job, "task_1", clock.now())
    provider = HangingProvider()
    mine, theirs = Lease("worker-a", 0.6), Lease("worker-b", 30.0)
    async with worker(one, provider, tmp_path, mine) as moving:
        running = asyncio.create_task(moving.run())
        try:
            await asyncio.wait_for(_until(lambda: provider.status_calls), 5)
            # Another worker takes the job over (as if this one's lease had lapsed).
            await second_db.execute(
                "UPDATE jobs SET lease_owner = ?, lease_until = lease_until + 30 WHERE id = ?",
                (theirs.owner, job.id),
            )
            await asyncio.wait_for(provider.cancelled.wait(), 2)  # within one renewal
            await asyncio.wait_for(_until(lambda: not moving.in_flight_ids()), 2)
            # It leaves the job to the other worker: no step of its own while theirs runs.
            await asyncio.sleep(0.3)
            assert len(provider.status_calls) == 1
        finally:
            await moving.stop()
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
    assert await other.holds_lease(job, theirs)


@pytest.mark.parametrize("hangs", [False, True], ids=["refused", "no answer"])
async def test_a_renewal_that_fails_keeps_the_step_until_the_lease_could_lapse_then_stops_it(
    db: Database, second_db: Database, clock: FakeClock, tmp_path: Path, hangs: bool
) -> None:
    provider = HangingProvider()
    running = asyncio.Event()
    mine = Lease("worker-a", 1.5)  # renewed every 0.5 s
    worker_store = UnreachableStore(db, clock, running)
    sound, other = store(db, clock), store(second_db, clock)
    job = await sound.submit(new_job(7, prompt="a fox"), Allowance(5, DAY))
    assert await sound.record_submitted(job, "task_1", clock.now())
    async with worker(worker_store, provider, tmp_path, mine) as moving:
        running_loop = asyncio.create_task(moving.run())
        try:
            await asyncio.wait_for(_until(lambda: provider.status_calls), 5)
            running.set()
            # The database stops answering this worker; its step goes on meanwhile.
            worker_store.down, worker_store.hangs = True, hangs
            await asyncio.wait_for(provider.cancelled.wait(), 3 * mine.seconds)
            running.clear()
            # Stopped while its lease still held: no other worker could have the job yet.
            assert await sound.holds_lease(job, mine)
            if not hangs:
                # Not at the first failed renewal: at the one after which the next would
                # come too late.
                assert worker_store.failed_renewals == [True, True]
            else:
                assert worker_store.failed_renewals == [True]  # it never answered
            await asyncio.wait_for(_until(lambda: not moving.in_flight_ids()), 2)
            # Once the lease lapses another worker takes the job up; this one does not go on.
            theirs = Lease("worker-b", 30.0)
            for _ in range(100):
                if await other.claim_due(clock.now(), 1, ACTIVE_STATES, (), theirs):
                    break
                await asyncio.sleep(0.05)
            assert await other.holds_lease(job, theirs)
            assert len(provider.status_calls) == 1
        finally:
            worker_store.gives_up.set()
            await moving.stop()
            running_loop.cancel()
            await asyncio.gather(running_loop, return_exceptions=True)


async def test_a_delivery_checks_it_still_holds_the_job_before_posting(
    db: Database, second_db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    one, other = store(db, clock), store(second_db, clock)
    job = await one.submit(new_job(7, prompt="a fox"), Allowance(5, DAY))
    async with video_server() as videos:
        assert await one.record_submitted(job, "task_1", clock.now())
        submitted = await one.get(job.id)
        assert submitted is not None
        assert await one.record_succeeded(submitted, f"{videos}/video/5000")
        short = Lease("worker-a", 0.3)
        (claimed,) = await one.claim_due(clock.now(), 1, ACTIVE_STATES, (), short)
        # A long download: the lease lapsed meanwhile, and another worker took the job.
        await asyncio.sleep(0.4)
        assert await other.claim_due(clock.now(), 1, ACTIVE_STATES, (), Lease("worker-b", 30))
        async with worker(one, ScriptedProvider(), tmp_path, short) as slow:
            with pytest.raises(LeaseLost):
                await slow.step(claimed)
            assert slow.steps.chat.results == []  # type: ignore[attr-defined]
    fresh = await one.get(job.id)
    assert fresh is not None and fresh.state is JobState.SUCCEEDED  # left to the other worker


async def test_the_clock_of_a_process_sharing_the_database_is_the_database_s(
    db: Database,
) -> None:
    ahead = FakeClock(time.time() + 60)  # this machine's clock is a minute ahead
    clock = DatabaseClock(db, local=ahead)
    await clock.sync()
    assert clock.offset == pytest.approx(-60, abs=0.5)
    assert clock.now() == pytest.approx(time.time(), abs=0.5)


async def _until(predicate) -> None:  # type: ignore[no-untyped-def]
    for _ in range(500):
        if predicate():
            return
        await asyncio.sleep(0.01)
