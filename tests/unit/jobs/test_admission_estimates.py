"""What members are told about time: a job's expected ready time, a full server's free slot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.errors import Refusal
from bot.i18n import render
from bot.jobs.schedule import HISTORY_MIN, PollPlan
from bot.jobs.store import JobStore
from bot.jobs.timings import SLOT_MARGIN_SECONDS, CompletionTimes, PollSchedule
from bot.models import Actor, JobState
from bot.quota.allowance import Allowance
from tests.support.admission import ask, make_submitter
from tests.support.doubles import FakeClock
from tests.support.jobs import DAY, make_store, new_job

TYPICAL = 180.0
ALLOWANCE = Allowance(50, DAY)


async def schedule_with_history(store: JobStore, clock: FakeClock, count: int) -> PollSchedule:
    times = CompletionTimes(store.db, clock)
    for user in range(100, 100 + count):  # jobs of other members, long finished
        job = await store.submit(new_job(user), ALLOWANCE)
        await times.record(job, TYPICAL)
        await store.finish_unsuccessfully(job, JobState.FAILED, "x", "done for the test")
    return PollSchedule(PollPlan((3.0, 5.0, 30.0), 3.0, 5.0), times, "rivya")


async def test_a_job_is_expected_at_its_start_plus_the_typical_time(
    job_store: JobStore, clock: FakeClock
) -> None:
    schedule = await schedule_with_history(job_store, clock, HISTORY_MIN)
    job = await job_store.submit(new_job(7), ALLOWANCE)
    assert await schedule.expected_ready_at(job) == job.created_at + TYPICAL
    sent = await job_store.record_submitted(job, "task_1", clock.now() + 3)
    assert sent
    clock.advance(20)
    submitted = await job_store.get(job.id)
    assert submitted is not None and submitted.submitted_at is not None
    assert await schedule.expected_ready_at(submitted) == submitted.submitted_at + TYPICAL
    # Another duration has no history yet: no estimate rather than a wrong one.
    other = await job_store.submit(new_job(8, duration=15), ALLOWANCE)
    assert await schedule.expected_ready_at(other) is None


async def test_too_little_history_gives_no_estimate(job_store: JobStore, clock: FakeClock) -> None:
    schedule = await schedule_with_history(job_store, clock, HISTORY_MIN - 1)
    job = await job_store.submit(new_job(7), ALLOWANCE)
    assert await schedule.expected_ready_at(job) is None
    assert await schedule.first_free_slot_at([job], clock.now()) is None


async def test_a_full_server_is_told_when_a_slot_is_likely_to_free_up(
    job_store: JobStore, clock: FakeClock, tmp_path: Path
) -> None:
    store = make_store(job_store.db, clock, max_active_per_guild=2)
    schedule = await schedule_with_history(store, clock, HISTORY_MIN)
    submitter = make_submitter(store, tmp_path, limit=50, slot_estimate=schedule.first_free_slot_at)
    first = await submitter.submit(ask("waves", by=Actor(1, 7)))
    clock.advance(60)
    await submitter.submit(ask("waves", by=Actor(1, 8)))
    with pytest.raises(Refusal) as refused:
        await submitter.submit(ask("waves", by=Actor(1, 9)))
    said = render(refused.value.reason, "en")
    assert "The server has 2 videos in progress" in said
    free_at = re.search(r"<t:(\d+):R>", said)
    assert free_at is not None and int(free_at.group(1)) == int(first.created_at + TYPICAL)
    # Once the estimate has passed, the promise stays a little ahead of now.
    clock.advance(600)
    with pytest.raises(Refusal) as later:
        await submitter.submit(ask("waves", by=Actor(1, 9)))
    late = re.search(r"<t:(\d+):R>", render(later.value.reason, "zh-TW"))
    assert late is not None and int(late.group(1)) == int(clock.now() + SLOT_MARGIN_SECONDS)
