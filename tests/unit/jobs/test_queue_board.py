"""The waiting jobs' status messages follow their places in the queue, and one slot freeing for
fifty waiting jobs does not make fifty edits at once: at most two per channel per edit interval,
the most wrong first."""

from __future__ import annotations

import re

from bot.jobs.chat_port import DeliveryError
from bot.jobs.queue_board import EDITS_PER_CHANNEL, EditBudget, QueueBoard
from bot.jobs.queue_places import QueuePlaces
from bot.jobs.queue_store import QueueStore
from bot.jobs.status_messages import StatusMessages
from bot.jobs.withdrawal import cancel_waiting
from bot.models import Job, JobState
from bot.providers.profiles import RIVYA_SORA_2_PRO
from bot.quota.allowance import Allowance
from bot.storage.database import Database
from tests.support.doubles import FakeClock, RecordingChat
from tests.support.jobs import DAY, make_store, new_job

PLENTY = Allowance(100, DAY)
INTERVAL = 5.0


def make_board(
    db: Database, clock: FakeClock, chat: RecordingChat
) -> tuple[QueueStore, QueueBoard]:
    store = make_store(
        db, clock, max_active_per_guild=1, max_queued_per_member=60, max_queued_per_guild=60
    )
    store.accept_grace_seconds = 30  # a new job's /sora answers it within this
    queue = QueueStore(store)
    status = StatusMessages(
        jobs=store, chat=chat, profile=RIVYA_SORA_2_PRO, clock=clock, edit_interval=INTERVAL
    )
    board = QueueBoard(
        places=QueuePlaces(queue, clock, None),
        jobs=store,
        chat=chat,
        status=status,
        profile=RIVYA_SORA_2_PRO,
        clock=clock,
        edit_interval=INTERVAL,
    )
    return queue, board


async def waiting_jobs(queue: QueueStore, count: int, channel_id: int = 10) -> list[Job]:
    """`count` jobs of different members waiting behind one running job, each with its status
    message as the /sora answered it."""
    await queue.jobs.submit(new_job(1), PLENTY)
    jobs = []
    for user in range(100, 100 + count):
        job = await queue.jobs.submit(new_job(user, channel_id=channel_id), PLENTY)
        assert job.state is JobState.WAITING
        await queue.jobs.hand_to_worker(job, 5000 + job.id, f"number {len(jobs) + 1} in line", None)
        jobs.append(job)
    return jobs


def positions(chat: RecordingChat) -> dict[int, int]:
    """The place each job's status message shows, as last edited."""
    found = {}
    for job_id, texts in chat.statuses.items():
        match = re.search(r"number (\d+) in line", texts[-1])
        if match:
            found[job_id] = int(match.group(1))
    return found


def test_the_budget_refills_evenly() -> None:
    budget = EditBudget(2, 5.0)
    assert budget.available(1, 100.0) == 2
    budget.spend(1, 100.0)
    budget.spend(1, 100.0)
    assert budget.available(1, 100.0) == 0
    assert budget.available(2, 100.0) == 2  # another channel has its own
    assert budget.available(1, 102.5) == 1
    assert budget.available(1, 200.0) == 2  # never more than a window's worth


async def test_one_slot_freeing_for_fifty_waiting_jobs_makes_two_edits_per_interval(
    db: Database, clock: FakeClock
) -> None:
    chat = RecordingChat()
    queue, board = make_board(db, clock, chat)
    jobs = await waiting_jobs(queue, 50)
    clock.advance(INTERVAL)
    assert await board.refresh() == EDITS_PER_CHANNEL  # the board vouches for nothing yet
    clock.advance(INTERVAL)
    # Settle what this process shows, then one slot frees: every place moves up by one.
    while await board.refresh():
        clock.advance(INTERVAL)
    chat.statuses.clear()
    running = await queue.jobs.get(1)
    assert running is not None
    assert await queue.jobs.finish_unsuccessfully(running, JobState.FAILED, "x", "done")
    started = await queue.start_next_waiting()
    assert started is not None and started.id == jobs[0].id
    clock.advance(INTERVAL)
    edits_per_pass = []
    for _ in range(60):
        edits_per_pass.append(await board.refresh())
        clock.advance(INTERVAL / EDITS_PER_CHANNEL)
    assert max(edits_per_pass) <= EDITS_PER_CHANNEL
    assert sum(edits_per_pass) == 49  # each moved message edited once, in the end
    # The front of the queue first: whose place changed most for where it is.
    first_edited = list(chat.statuses)[:2]
    assert first_edited == [jobs[1].id, jobs[2].id]
    assert positions(chat) == {job.id: index for index, job in enumerate(jobs[1:], 1)}


async def test_channels_have_their_own_budget_and_a_missing_message_is_posted(
    db: Database, clock: FakeClock
) -> None:
    chat = RecordingChat()
    queue, board = make_board(db, clock, chat)
    await waiting_jobs(queue, 3, channel_id=10)
    other = await queue.jobs.submit(new_job(200, channel_id=20), PLENTY)
    assert other.status_message_id is None
    # Within its acceptance grace the /sora's own answer may still come: no post yet.
    clock.advance(1)
    await board.refresh()
    assert other.id not in chat.statuses
    clock.advance(60)
    await board.refresh()
    assert "number 4 in line" in chat.last_status(other.id)
    posted = await queue.jobs.get(other.id)
    assert posted is not None and posted.status_message_id is not None


async def test_a_job_that_left_the_queue_meanwhile_is_shown_as_it_is_now(
    db: Database, clock: FakeClock
) -> None:
    chat = RecordingChat()
    queue, board = make_board(db, clock, chat)
    (job,) = await waiting_jobs(queue, 1)
    clock.advance(INTERVAL)
    place_shown = chat.show_status

    async def cancelled_while_shown(shown: Job, text: str) -> int:
        fresh = await queue.jobs.get(shown.id)
        assert fresh is not None
        if fresh.is_waiting:
            assert await queue.jobs.cancel(fresh, shown.user_id)
        return await place_shown(shown, text)

    chat.show_status = cancelled_while_shown  # type: ignore[method-assign]
    await board.refresh()
    chat.show_status = place_shown  # type: ignore[method-assign]
    assert "Cancelled by" in chat.last_status(job.id)  # not the place it had
    cancelled = await queue.jobs.get(job.id)
    assert cancelled is not None and cancelled.status_text == chat.last_status(job.id)


async def test_jobs_cancelled_elsewhere_are_shown_cancelled_once_and_started_ones_left_alone(
    db: Database, clock: FakeClock
) -> None:
    chat = RecordingChat()
    queue, board = make_board(db, clock, chat)
    blocked, starting, stays = await waiting_jobs(queue, 3)
    clock.advance(INTERVAL)
    await board.refresh()  # the board knows what each message shows
    # A moderator's block cancels one in its own transaction (bot/moderation/actions.py);
    # another takes the slot, which the worker's step announces.
    async with db.transaction() as conn:
        assert await cancel_waiting(conn, blocked.id, clock.now(), by=99)
    running = await queue.jobs.get(1)
    assert running is not None
    assert await queue.jobs.finish_unsuccessfully(running, JobState.FAILED, "x", "done")
    started = await queue.start_next_waiting()
    assert started is not None and started.id == starting.id
    edits_before = len(chat.statuses.get(starting.id, []))
    clock.advance(INTERVAL)
    await board.refresh()
    assert "Cancelled by <@99>" in chat.last_status(blocked.id)
    assert len(chat.statuses.get(starting.id, [])) == edits_before  # the worker's to show
    assert "number 1 in line" in chat.last_status(stays.id)
    shown = len(chat.statuses[blocked.id])
    clock.advance(INTERVAL)
    await board.refresh()
    assert len(chat.statuses[blocked.id]) == shown  # said once


async def test_a_refused_edit_is_tried_again_when_the_place_changes_not_every_interval(
    db: Database, clock: FakeClock
) -> None:
    chat = RecordingChat()
    queue, board = make_board(db, clock, chat)
    first, second = await waiting_jobs(queue, 2)
    clock.advance(INTERVAL)
    await board.refresh()
    place_shown = chat.show_status
    tried: list[int] = []

    async def closed_channel(shown: Job, text: str) -> int:
        tried.append(shown.id)
        raise DeliveryError("Discord answered 403 (50001): Missing Access", permanent=True)

    chat.show_status = closed_channel  # type: ignore[method-assign]
    async with db.transaction() as conn:  # the first leaves: the second moves up
        assert await cancel_waiting(conn, first.id, clock.now(), by=first.user_id)
    for _ in range(4):
        clock.advance(INTERVAL)
        await board.refresh()
    assert tried.count(second.id) == 1  # refused once, not asked again each interval
    chat.show_status = place_shown  # type: ignore[method-assign]
    # A refusal that may pass (no answer at all) is tried again at the next interval.
    tried.clear()

    async def unreachable(shown: Job, text: str) -> int:
        tried.append(shown.id)
        raise DeliveryError("Discord could not be reached", permanent=False)

    third = await queue.jobs.submit(new_job(300), PLENTY)
    await queue.jobs.hand_to_worker(third, 9000, "number 9 in line", None)
    chat.show_status = unreachable  # type: ignore[method-assign]
    for _ in range(3):
        clock.advance(INTERVAL)
        await board.refresh()
    assert tried.count(third.id) == 3
