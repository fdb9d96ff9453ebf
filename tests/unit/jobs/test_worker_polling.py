"""Status checks at scale: their own bound, slots held only for the provider call, the learned
schedule, and the seam where push news would advance a job."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.jobs.delivery import VideoDelivery
from bot.jobs.new_job import NewJob
from bot.jobs.schedule import HISTORY_MIN, PollPlan
from bot.jobs.store import JobStore
from bot.jobs.timings import SHARED_CACHE_SECONDS, CompletionTimes, PollSchedule
from bot.jobs.worker import Worker
from bot.models import Actor, Job, JobOptions, JobState
from bot.providers.base import GenerationRequest, TaskStatus
from bot.quota.allowance import Allowance
from bot.storage.database import Database
from bot.video.destinations import Destinations
from bot.video.download import VideoDownloader
from bot.video.fitting import VideoFitter
from bot.video.shelf import VideoShelf
from tests.support.doubles import FakeClock, RecordingChat, ScriptedProvider
from tests.support.jobs import DAY, make_store

WAIT = 5.0  # bound on every wait below (real time; the steps themselves are instant)


async def notify(changed: asyncio.Condition) -> None:
    async with changed:
        changed.notify_all()


async def until(changed: asyncio.Condition, condition: Callable[[], bool], what: str) -> None:
    """Wait (bounded) until `condition` holds, re-checking whenever a double reports a change."""
    try:
        async with asyncio.timeout(WAIT), changed:
            await changed.wait_for(condition)
    except TimeoutError:
        raise AssertionError(f"not reached within {WAIT} s: {what}") from None


class GatedProvider(ScriptedProvider):
    """Status calls wait at a gate; counts how many are in flight at once."""

    def __init__(self) -> None:
        super().__init__(poll_seconds=(3.0, 5.0, 10.0))
        self.gate = asyncio.Event()
        self.changed = asyncio.Condition()
        self.in_flight = 0
        self.most_in_flight = 0
        self.answer = TaskStatus("processing")

    async def create(self, request: GenerationRequest) -> str:
        task_id = await super().create(request)
        await notify(self.changed)
        return task_id

    async def status(self, task_id: str) -> TaskStatus:
        self.status_calls.append(task_id)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await notify(self.changed)
        try:
            await self.gate.wait()
        finally:
            self.in_flight -= 1
        await notify(self.changed)
        return self.answer


class SlowStatusPresenter(RecordingChat):
    """Status edits of the jobs in `held` wait at a gate (a slow Discord)."""

    def __init__(self, changed: asyncio.Condition) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.changed = changed
        self.held: set[int] = set()

    async def show_status(self, job: Job, text: str) -> int:
        if job.id in self.held:
            await self.gate.wait()
        message_id = await super().show_status(job, text)
        await notify(self.changed)
        return message_id


@dataclass
class Parts:
    store: JobStore
    clock: FakeClock
    db: Database
    downloader: VideoDownloader
    shelf: VideoShelf


@pytest.fixture
async def parts(db: Database, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Parts]:
    store = make_store(db, clock, provider="scripted", max_active_per_member=50)
    # The tests' video links are on this machine, as a test provider's would be.
    async with VideoDownloader(tmp_path / "tmp", 5, Destinations("http://127.0.0.1")) as loader:
        yield Parts(
            store,
            clock,
            db,
            loader,
            VideoShelf(tmp_path / "videos", tmp_path / "tmp", VideoFitter()),
        )


def worker_for(
    parts: Parts,
    provider: ScriptedProvider,
    presenter: RecordingChat,
    *,
    concurrency: int = 1,
    poll_concurrency: int = 4,
    schedule: PollSchedule | None = None,
) -> Worker:
    return Worker(
        jobs=parts.store,
        provider=provider,
        chat=presenter,
        delivery=VideoDelivery(
            jobs=parts.store,
            shelf=VideoShelf(
                parts.downloader._temp_dir / "videos", parts.downloader._temp_dir, VideoFitter()
            ),
            downloader=parts.downloader,
            clock=parts.clock,
            upload_limit_cap=1024 * 1024,
        ),
        clock=parts.clock,
        status_edit_interval=0,
        concurrency=concurrency,
        poll_concurrency=poll_concurrency,
        schedule=schedule,
        idle_wait=0.01,
    )


async def running_jobs(parts: Parts, count: int) -> list[Job]:
    """`count` jobs already at the provider, due for a check now."""
    jobs = []
    for index in range(count):
        job = await parts.store.submit(
            NewJob(Actor(1, 7), 10, f"prompt {index}", JobOptions("portrait", 15)),
            Allowance(50, DAY),
        )
        assert await parts.store.record_submitted(job, f"task_{index}", parts.clock.now())
        await parts.store.record_status(job, 500 + index, "queued")
        fresh = await parts.store.get(job.id)
        assert fresh is not None
        jobs.append(fresh)
    return jobs


async def test_checks_run_many_at_once_under_their_own_bound(parts: Parts) -> None:
    provider = GatedProvider()
    worker = worker_for(parts, provider, RecordingChat(), concurrency=1, poll_concurrency=3)
    await running_jobs(parts, 5)
    queued = await parts.store.submit(
        NewJob(Actor(1, 8), 10, "a queued one", JobOptions("portrait", 15)), Allowance(50, DAY)
    )
    await parts.store.record_status(queued, 900, "queued")
    loop = asyncio.create_task(worker.run())
    try:
        await until(provider.changed, lambda: provider.in_flight == 3, "three checks in flight")
        # Every check slot is taken, yet the submit (the other bound) goes ahead.
        await until(
            provider.changed, lambda: len(provider.create_calls) == 1, "the queued job sent"
        )
        assert provider.most_in_flight == 3
        provider.gate.set()
        await until(
            provider.changed, lambda: len(provider.status_calls) == 5, "every due job checked"
        )
    finally:
        await worker.stop(grace_seconds=WAIT)
        loop.cancel()
    assert provider.most_in_flight == 3
    assert sorted(provider.status_calls) == [f"task_{i}" for i in range(5)]


async def test_a_slot_is_held_only_for_the_provider_call(parts: Parts) -> None:
    """A check whose status edit is stuck on Discord does not stop the next check."""
    provider = GatedProvider()
    provider.gate.set()
    presenter = SlowStatusPresenter(provider.changed)
    worker = worker_for(parts, provider, presenter, poll_concurrency=1)
    first, second = await running_jobs(parts, 2)
    presenter.held.add(first.id)  # its "running" edit hangs
    loop = asyncio.create_task(worker.run())
    try:
        await until(
            provider.changed,
            lambda: any("Generating" in text for text in presenter.statuses.get(second.id, [])),
            "the second job checked and shown running",
        )
        assert "task_1" in provider.status_calls
        assert (await parts.store.get(second.id)).state is JobState.RUNNING  # type: ignore[union-attr]
    finally:
        presenter.gate.set()
        await worker.stop(grace_seconds=WAIT)
        loop.cancel()


async def test_advance_now_checks_a_job_before_its_time(parts: Parts) -> None:
    provider = GatedProvider()
    provider.gate.set()
    worker = worker_for(parts, provider, RecordingChat())
    (job,) = await running_jobs(parts, 1)
    await parts.store.reschedule(job, parts.clock.now() + 600, failed_attempt=False)
    await worker.drain(limit_seconds=WAIT)
    assert provider.status_calls == []
    assert await worker.advance_now(job.id)
    await worker.drain(limit_seconds=WAIT)
    assert provider.status_calls == ["task_0"]
    # A finished job is left alone.
    current = await parts.store.get(job.id)
    assert current is not None
    assert await parts.store.finish_unsuccessfully(current, JobState.FAILED, "x", "stopped.")
    assert not await worker.advance_now(job.id)
    assert not await worker.advance_now(12345)


def schedule_for(parts: Parts) -> PollSchedule:
    plan = PollPlan((3.0, 5.0, 10.0), min_gap=3.0, dense=6.0)
    return PollSchedule(plan, CompletionTimes(parts.db, parts.clock), "scripted")


async def test_finished_jobs_teach_the_schedule(parts: Parts) -> None:
    provider = ScriptedProvider(poll_seconds=(3.0, 5.0, 10.0))
    schedule = schedule_for(parts)
    worker = worker_for(parts, provider, RecordingChat(), schedule=schedule)
    jobs = await running_jobs(parts, HISTORY_MIN + 1)
    # The provider says how long it took for all but the last, whose time is observed.
    provider.statuses = [
        TaskStatus("succeeded", video_url="https://v.example/x.mp4", took_seconds=200.0 + i)
        for i in range(HISTORY_MIN)
    ]
    provider.statuses.append(TaskStatus("processing"))
    provider.statuses.append(TaskStatus("succeeded", video_url="https://v.example/y.mp4"))
    parts.clock.advance(300)  # all were sent at the start; this is their first check
    for job in jobs[:HISTORY_MIN]:
        await worker.step(job)
    assert await schedule.times.recent("scripted", "sora-2-pro", 15) == [
        200.0 + i for i in range(HISTORY_MIN)
    ]
    assert await schedule.expected_ready_seconds("sora-2-pro", 15) == pytest.approx(204.5)
    assert await schedule.expected_ready_seconds("sora-2-pro", 10) is None

    last = jobs[-1]
    parts.clock.advance(100)
    await worker.step(last)  # processing: checked at 100 s
    polled = await parts.store.get(last.id)
    assert polled is not None
    # With history, the next check is planned from it, not the configured 5 s.
    assert polled.next_action_at - parts.clock.now() != 5.0
    parts.clock.advance(50)
    await worker.step(polled)  # seen finished at 450 s: it finished between 400 and 450
    times = await schedule.times.recent("scripted", "sora-2-pro", 15)
    assert times[-1] == pytest.approx(425.0)


async def test_a_reported_time_outside_what_was_seen_is_bounded(parts: Parts) -> None:
    provider = ScriptedProvider(poll_seconds=(3.0, 5.0, 10.0))
    schedule = schedule_for(parts)
    worker = worker_for(parts, provider, RecordingChat(), schedule=schedule)
    early, late = await running_jobs(parts, 2)
    provider.statuses = [
        TaskStatus("succeeded", video_url="https://v.example/x.mp4", took_seconds=0.2),
        TaskStatus("succeeded", video_url="https://v.example/y.mp4", took_seconds=9999.0),
    ]
    parts.clock.advance(60)
    await worker.step(early)
    await worker.step(late)
    # Both were seen finished at their first check, 60 s after they were sent.
    assert await schedule.times.recent("scripted", "sora-2-pro", 15) == [0.2, 60.0]


async def test_only_the_most_recent_times_are_kept(parts: Parts) -> None:
    times = CompletionTimes(parts.db, parts.clock, keep=3)
    jobs = await running_jobs(parts, 5)
    for seconds, job in enumerate(jobs, start=1):
        await times.record(job, float(seconds))
    await times.record(jobs[4], 99.0)  # once per job
    assert await times.recent("scripted", "sora-2-pro", 15) == [3.0, 4.0, 5.0]
    rows = await parts.db.fetch_all("SELECT COUNT(*) FROM completion_times")
    assert rows[0][0] == 3


async def test_times_another_process_records_are_read_when_the_database_is_shared(
    parts: Parts,
) -> None:
    mine = CompletionTimes(parts.db, parts.clock)
    theirs = CompletionTimes(parts.db, parts.clock)  # another process on the same database
    jobs = await running_jobs(parts, 2)
    await mine.record(jobs[0], 80.0)
    assert await mine.recent("scripted", "sora-2-pro", 15) == [80.0]
    await theirs.record(jobs[1], 90.0)
    parts.clock.advance(SHARED_CACHE_SECONDS)
    expected = [80.0, 90.0] if parts.db.shared else [80.0]  # SQLite: one process writes
    assert await mine.recent("scripted", "sora-2-pro", 15) == expected


async def test_status_messages_show_the_expected_ready_time_once_it_is_known(
    parts: Parts,
) -> None:
    provider = ScriptedProvider(poll_seconds=(3.0, 5.0, 10.0))
    schedule = schedule_for(parts)
    presenter = RecordingChat()
    worker = worker_for(parts, provider, presenter, schedule=schedule)
    jobs = await running_jobs(parts, HISTORY_MIN + 1)
    provider.statuses = [TaskStatus("processing", progress=10)]
    await worker.step(jobs[0])  # no history yet: only when it started
    assert "expected ready" not in presenter.statuses[jobs[0].id][-1]
    for job in jobs[1:]:
        await schedule.times.record(job, 240.0)
    waiting = await parts.store.get(jobs[0].id)
    assert waiting is not None and waiting.submitted_at is not None
    provider.statuses = [TaskStatus("processing", progress=20)]
    parts.clock.advance(30)
    await worker.step(waiting)
    ready_at = int(waiting.submitted_at + 240.0)
    assert f"expected ready <t:{ready_at}:R>" in presenter.statuses[jobs[0].id][-1]
