"""Cancelling a waiting job: the member who asked or a moderator, and why not once it has left
the queue; /quota view shows a waiting job's place in line."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.errors import Refusal
from bot.i18n import render
from bot.jobs.queue_store import QueueStore
from bot.models import Actor, Job, JobState
from bot.moderation.service import ModerationService
from bot.quota.allowance import Allowance, QuotaDefaults, QuotaPolicy
from bot.storage.database import Database
from tests.support.doubles import FakeClock
from tests.support.jobs import DAY, deliver, make_store, new_job

GUILD = 1
ALICE, BOB = Actor(GUILD, 7), Actor(GUILD, 8)
MODERATOR = Actor(GUILD, 99, manage_guild=True)
ROLE_MODERATOR = Actor(GUILD, 98, role_ids=(900,))
PLENTY = Allowance(10, DAY)


@pytest.fixture
def service(db: Database, clock: FakeClock) -> ModerationService:
    jobs = make_store(
        db, clock, max_active_per_guild=1, max_queued_per_member=3, max_queued_per_guild=10
    )
    policy = QuotaPolicy(db, QuotaDefaults(10, "day", ZoneInfo("UTC")))
    return ModerationService(db=db, clock=clock, jobs=jobs, policy=policy, mod_role_ids=(900,))


async def running_and_waiting(service: ModerationService) -> tuple[Job, Job]:
    running = await service.jobs.submit(new_job(5), PLENTY)
    waiting = await service.jobs.submit(new_job(ALICE.user_id), PLENTY)
    assert (running.state, waiting.state) == (JobState.QUEUED, JobState.WAITING)
    return running, waiting


def reason(refused: pytest.ExceptionInfo[Refusal]) -> str:
    return render(refused.value.reason, "en")


async def test_the_member_who_asked_cancels_and_gets_the_unit_back(
    service: ModerationService, db: Database
) -> None:
    _, waiting = await running_and_waiting(service)
    with pytest.raises(Refusal) as refused:
        await service.cancel_waiting(BOB, waiting.id)
    assert (
        reason(refused)
        == f"Only the member who asked for job #{waiting.id}, or a moderator, can cancel it."
    )
    cancelled = await service.cancel_waiting(ALICE, waiting.id)
    assert cancelled.state is JobState.CANCELLED and cancelled.cancelled_by == ALICE.user_id
    kinds = await db.fetch_all("SELECT kind FROM quota_ledger WHERE job_id = ?", (waiting.id,))
    assert [row[0] for row in kinds] == ["hold", "release"]
    with pytest.raises(Refusal) as again:
        await service.cancel_waiting(ALICE, waiting.id)
    assert reason(again) == f"Job #{waiting.id} has already ended: there is nothing to cancel."


@pytest.mark.parametrize("moderator", [MODERATOR, ROLE_MODERATOR])
async def test_a_moderator_may_cancel_anyones_waiting_job(
    service: ModerationService, moderator: Actor
) -> None:
    _, waiting = await running_and_waiting(service)
    cancelled = await service.cancel_waiting(moderator, waiting.id)
    assert cancelled.cancelled_by == moderator.user_id


async def test_a_job_that_left_the_queue_cannot_be_cancelled_and_says_why(
    service: ModerationService,
) -> None:
    running, waiting = await running_and_waiting(service)
    with pytest.raises(Refusal) as at_service:
        await service.cancel_waiting(MODERATOR, running.id)
    assert reason(at_service).startswith(f"Job #{running.id} has already gone to the video service")
    delivered = await deliver(service.jobs, running)
    with pytest.raises(Refusal) as made:
        await service.cancel_waiting(MODERATOR, delivered.id)
    assert (
        reason(made)
        == f"The video of job #{running.id} is already made: there is nothing to cancel."
    )
    with pytest.raises(Refusal) as elsewhere:
        await service.cancel_waiting(Actor(2, ALICE.user_id), waiting.id)  # another server
    assert reason(elsewhere) == "That job no longer exists."
    assert (await service.jobs.get(waiting.id)).state is JobState.WAITING  # type: ignore[union-attr]


async def test_quota_view_shows_a_waiting_jobs_place(service: ModerationService) -> None:
    await running_and_waiting(service)
    await service.jobs.submit(new_job(BOB.user_id), PLENTY)
    await service.jobs.submit(new_job(ALICE.user_id), PLENTY)
    queue = QueueStore(service.jobs)
    assert len(await queue.waiting(GUILD)) == 3
    english = await service.view(ALICE, ALICE.user_id, ())
    assert "(waiting in the queue, number 1)" in english
    assert "(waiting in the queue, number 3)" in english  # Bob's one goes between
    taiwan = await service.view(ALICE, ALICE.user_id, (), "zh-TW")
    assert "（排隊中，第 1 位）" in taiwan
