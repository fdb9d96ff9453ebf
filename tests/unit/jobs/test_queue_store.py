"""The queue in the database, on both engines: a job over the caps waits with its unit held,
the database starts waiting jobs in the fair order within every cap, and a cancel releases."""

from __future__ import annotations

import asyncio
import random
from zoneinfo import ZoneInfo

import pytest

from bot.errors import Refusal, RefusalKind
from bot.i18n import render
from bot.jobs.queue import fair_order
from bot.jobs.queue_store import LEFT_SERVER, QueueStore
from bot.jobs.store import JobStore, Lease
from bot.jobs.withdrawal import BLOCKED_WHILE_WAITING, PROMPT_BLOCKED_WHILE_WAITING
from bot.models import Actor, FailureCode, Job, JobState, ShardSlice
from bot.moderation.actions import Block, ModeratorActions
from bot.moderation.permissions import Moderators
from bot.quota.allowance import Allowance, QuotaDefaults, QuotaPolicy
from bot.storage import blocklist as blocklist_rows
from bot.storage import jobs as job_rows
from bot.storage import rules as rule_rows
from bot.storage.connection import database_now
from bot.storage.database import Database, open_database
from tests.support.doubles import FakeClock
from tests.support.jobs import DAY, make_store, new_job

PLENTY = Allowance(100, DAY)
MOD_ROLE = 900
MODERATOR = Actor(1, 99, role_ids=(MOD_ROLE,))


def queue_store(db: Database, clock: FakeClock, **caps: int | None) -> QueueStore:
    limits: dict[str, int | None] = {
        "max_active_per_member": 2,
        "max_active_per_guild": 3,
        "max_queued_per_member": 3,
        "max_queued_per_guild": 50,
    }
    return QueueStore(make_store(db, clock, **(limits | caps)))  # type: ignore[arg-type]


async def ledger_kinds(db: Database, job_id: int) -> list[str]:
    rows = await db.fetch_all(
        "SELECT kind FROM quota_ledger WHERE job_id = ? ORDER BY id", (job_id,)
    )
    return [row[0] for row in rows]


async def submit(queue: QueueStore, user: int, guild: int = 1) -> Job:
    return await queue.jobs.submit(new_job(user, guild_id=guild), PLENTY)


async def end(queue: QueueStore, job: Job) -> None:
    fresh = await queue.jobs.get(job.id)
    assert fresh is not None
    assert await queue.jobs.finish_unsuccessfully(fresh, JobState.FAILED, "x", "done")


async def start_all(queue: QueueStore, clock: FakeClock) -> list[Job]:
    started = []
    while (job := await queue.start_next_waiting()) is not None:
        started.append(job)
        clock.advance(1)
    return started


async def test_over_the_caps_a_job_waits_holding_its_unit_and_starts_when_a_slot_frees(
    db: Database, clock: FakeClock
) -> None:
    queue = queue_store(db, clock)
    running = [await submit(queue, user) for user in (10, 11, 12)]
    assert [job.state for job in running] == [JobState.QUEUED] * 3
    waiting = await submit(queue, 13)
    assert waiting.state is JobState.WAITING and waiting.started_at is None
    assert await ledger_kinds(db, waiting.id) == ["hold"]
    assert await queue.start_next_waiting() is None  # the server is full
    clock.advance(60)
    await end(queue, running[0])
    started = await queue.start_next_waiting()
    assert started is not None and started.id == waiting.id
    assert started.state is JobState.QUEUED and started.started_at == clock.now()
    # Its deadline runs from now, not from when it was accepted.
    assert started.deadline_at == clock.now() + queue.jobs.deadline_seconds
    assert await queue.start_next_waiting() is None


async def test_a_member_at_their_own_cap_waits_while_others_start(
    db: Database, clock: FakeClock
) -> None:
    queue = queue_store(db, clock, max_active_per_guild=10)
    await submit(queue, 10)
    await submit(queue, 10)
    mine = await submit(queue, 10)  # Alice has two at the service already
    assert mine.state is JobState.WAITING
    bob = await submit(queue, 20)  # behind Alice's, though he has a slot
    assert bob.state is JobState.WAITING
    started = await queue.start_next_waiting()
    assert started is not None and started.id == bob.id
    assert await queue.start_next_waiting() is None


async def test_the_queue_limits_refuse_holding_nothing(db: Database, clock: FakeClock) -> None:
    queue = queue_store(db, clock, max_active_per_guild=1, max_queued_per_guild=4)
    await submit(queue, 9)
    for _ in range(3):
        await submit(queue, 10)
    with pytest.raises(Refusal) as mine:
        await submit(queue, 10)
    assert mine.value.kind is RefusalKind.QUEUE_FULL
    await submit(queue, 11)
    with pytest.raises(Refusal) as everyone:
        await submit(queue, 12)
    assert "This server's queue is full: 4 videos" in str(everyone.value)
    holds = await db.fetch_value("SELECT COUNT(*) FROM quota_ledger WHERE kind = 'hold'")
    assert holds == 5


async def test_no_queue_refuses_a_full_server_as_before(db: Database, clock: FakeClock) -> None:
    queue = queue_store(db, clock, max_queued_per_guild=0)
    for user in (10, 11, 12):
        await submit(queue, user)
    with pytest.raises(Refusal) as refused:
        await submit(queue, 13)
    assert refused.value.kind is RefusalKind.SERVER_BUSY
    assert await db.fetch_value("SELECT COUNT(*) FROM jobs") == 3


@pytest.mark.parametrize("seed", range(3))
async def test_the_database_starts_waiting_jobs_in_the_fair_order(
    db: Database, clock: FakeClock, seed: int
) -> None:
    rng = random.Random(seed)
    queue = queue_store(
        db, clock, max_active_per_member=100, max_active_per_guild=1, max_queued_per_member=25
    )
    members = list(range(10, 30))
    for user in rng.sample(members, 8):  # some members had a video here before, in turn
        clock.advance(1)
        earlier = await submit(queue, user)
        assert earlier.state is JobState.QUEUED
        await end(queue, earlier)
        # Another server's history does not count: the queue is the server's own.
        await end(queue, await submit(queue, user, guild=2))
    blocker = await submit(queue, 1)
    for _ in range(25):
        clock.advance(1)
        await submit(queue, rng.choice(members))
    waiting = await queue.waiting(1)
    assert len(waiting) == 25
    expected = fair_order(waiting, await queue.last_starts(1))
    assert len(await queue.last_starts(1)) <= 8
    await end(queue, blocker)
    order = []
    while True:
        clock.advance(1)
        started = await queue.start_next_waiting()
        if started is None:
            break
        order.append(started.id)
        await end(queue, started)
    assert order == [job.id for job in expected]


async def test_within_a_server_the_last_start_decides(db: Database, clock: FakeClock) -> None:
    queue = queue_store(db, clock, max_active_per_member=100, max_active_per_guild=1)
    alice_before = await submit(queue, 10)  # Alice's video started just now
    bob = await submit(queue, 20)
    alice = await submit(queue, 10)
    assert (bob.state, alice.state) == (JobState.WAITING, JobState.WAITING)
    clock.advance(5)
    await end(queue, alice_before)
    started = await queue.start_next_waiting()
    assert started is not None and started.id == bob.id  # Bob never had one


async def test_the_deployment_wide_cap_takes_servers_in_turn(
    db: Database, clock: FakeClock
) -> None:
    queue = queue_store(db, clock, max_active_per_guild=10, provider_max_active=1)
    first = await submit(queue, 10, guild=1)
    assert first.state is JobState.QUEUED
    a = [await submit(queue, user, guild=1) for user in (11, 12)]
    b = await submit(queue, 21, guild=2)
    assert {job.state for job in (*a, b)} == {JobState.WAITING}
    clock.advance(5)
    await end(queue, first)
    started = await queue.start_next_waiting()
    assert started is not None and started.id == b.id  # server 2 never had a start
    assert await queue.start_next_waiting() is None  # the service's one slot is taken


async def test_a_cancelled_job_gives_its_unit_back_and_cannot_be_started(
    db: Database, clock: FakeClock
) -> None:
    queue = queue_store(db, clock, max_active_per_guild=1)
    running = await submit(queue, 10)
    waiting = await submit(queue, 11)
    assert not await queue.jobs.cancel(running, 99)  # at the service: no cancel
    assert await queue.jobs.cancel(waiting, 11)
    assert not await queue.jobs.cancel(waiting, 11)  # once
    cancelled = await queue.jobs.get(waiting.id)
    assert cancelled is not None and cancelled.state is JobState.CANCELLED
    assert cancelled.cancelled_by == 11 and cancelled.finished_at == clock.now()
    assert await ledger_kinds(db, waiting.id) == ["hold", "release"]
    await end(queue, running)
    assert await queue.start_next_waiting() is None


async def test_a_job_starting_keeps_its_grace_until_its_status_message_is_recorded(
    db: Database, clock: FakeClock
) -> None:
    store = make_store(
        db, clock, max_active_per_guild=1, max_queued_per_member=3, max_queued_per_guild=9
    )
    store.accept_grace_seconds = 30
    queue = QueueStore(store)
    running = await store.submit(new_job(10), PLENTY)
    waiting = await store.submit(new_job(11), PLENTY)
    await end(queue, running)
    started = await queue.start_next_waiting()
    assert started is not None and started.next_action_at == waiting.created_at + 30
    await store.hand_to_worker(started, 5, "text", None)
    handed = await store.get(started.id)
    assert handed is not None and handed.next_action_at == clock.now()


async def test_a_job_leased_to_another_worker_is_left_to_it(db: Database, clock: FakeClock) -> None:
    queue = queue_store(db, clock, max_active_per_guild=1)
    running = await submit(queue, 10)
    waiting = await submit(queue, 11)
    other, mine = Lease("other", 0.5), Lease("me", 60)
    async with db.writing() as conn:
        await job_rows.take_lease(conn, db.engine, other.owner, waiting.id, other.seconds)
    await end(queue, running)
    assert await queue.start_next_waiting(mine) is None
    # Leases run by the database's clock: this process's own clock an hour ahead changes
    # nothing.
    clock.advance(3600)
    assert await queue.start_next_waiting(mine) is None
    await asyncio.sleep(0.6)  # the other worker's lease lapsed: it died
    started = await queue.start_next_waiting(mine)
    assert started is not None and started.id == waiting.id
    row = await db.fetch_one(
        f"SELECT lease_owner, lease_until - {database_now(db.engine)} FROM jobs WHERE id = ?",
        (waiting.id,),
    )
    # Leased to this worker for its lease's length, by the database's clock.
    assert row is not None and row[0] == "me" and 55 < row[1] <= 60


async def test_two_stores_on_one_database_start_each_job_once_within_the_caps(
    database_url: str, clock: FakeClock
) -> None:
    first, second = await open_database(database_url), await open_database(database_url)
    try:
        queues = [queue_store(db, clock, max_active_per_guild=4) for db in (first, second)]
        for user in range(10, 40):
            await submit(queues[user % 2], user)
        starts: list[Job] = []

        async def keep_starting(queue: QueueStore, lease: Lease) -> None:
            for _ in range(40):
                job = await queue.start_next_waiting(lease)
                if job is not None:
                    starts.append(job)
                    if len(starts) % 3 == 0:  # some finish, freeing slots
                        await end(queue, job)
                await asyncio.sleep(0)

        await asyncio.gather(
            keep_starting(queues[0], Lease("one", 60)), keep_starting(queues[1], Lease("two", 60))
        )
        ids = [job.id for job in starts]
        assert len(ids) == len(set(ids))  # never one job twice
        at_service = await first.fetch_value(
            "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'submitted', 'running')"
        )
        assert at_service <= 4
    finally:
        await first.close()
        await second.close()


async def test_waiting_jobs_are_left_out_of_the_worker_steps(
    job_store: JobStore, clock: FakeClock, db: Database
) -> None:
    queue = queue_store(db, clock, max_active_per_guild=1)
    await submit(queue, 10)
    waiting = await submit(queue, 11)
    clock.advance(3600)
    due = await queue.jobs.due(clock.now(), 10)
    assert waiting.id not in [job.id for job in due]
    assert await queue.jobs.count_due(clock.now()) == 1


async def test_a_server_the_bot_no_longer_serves_starts_nothing_and_its_queue_is_withdrawn(
    db: Database, clock: FakeClock
) -> None:
    # Accepted while the bot served both servers; ALLOWED_GUILD_IDS now names server 1 only.
    before = queue_store(db, clock, max_active_per_guild=1)
    running = await submit(before, 10, guild=2)
    gone = [await submit(before, user, guild=2) for user in (11, 12)]
    here_running = await submit(before, 20, guild=1)
    here = await submit(before, 21, guild=1)
    queue = QueueStore(before.jobs, guild_ids=(1,))
    await end(queue, running)
    await end(queue, here_running)
    started = await queue.start_next_waiting()
    assert started is not None and started.id == here.id  # server 2's slot is free: unused
    assert await queue.start_next_waiting() is None

    withdrawn = await queue.withdraw_unserved()
    assert sorted(job.id for job in withdrawn) == [job.id for job in gone]
    for job in gone:
        cancelled = await queue.jobs.get(job.id)
        assert cancelled is not None and cancelled.state is JobState.CANCELLED
        assert cancelled.cancelled_by is None and cancelled.error_message == LEFT_SERVER
        assert await ledger_kinds(db, job.id) == ["hold", "release"]
    assert await queue.withdraw_unserved() == []  # once
    # With no ALLOWED_GUILD_IDS every server is served: nothing to withdraw.
    assert await QueueStore(before.jobs).withdraw_unserved() == []


async def test_leaving_a_server_withdraws_its_waiting_jobs_only(
    db: Database, clock: FakeClock
) -> None:
    queue = queue_store(db, clock, max_active_per_guild=1)
    running = await submit(queue, 10, guild=2)
    left = await submit(queue, 11, guild=2)
    elsewhere = [await submit(queue, user, guild=1) for user in (20, 21)]
    assert [job.id for job in await queue.withdraw_from(2)] == [left.id]
    assert await ledger_kinds(db, left.id) == ["hold", "release"]
    at_service = await queue.jobs.get(running.id)
    assert at_service is not None and at_service.state is JobState.QUEUED  # the service has it
    still = await queue.jobs.get(elsewhere[1].id)
    assert still is not None and still.state is JobState.WAITING


async def test_blocking_a_member_cancels_their_waiting_jobs_in_that_server_only(
    db: Database, clock: FakeClock
) -> None:
    queue = queue_store(db, clock, max_active_per_guild=1)
    at_service = await submit(queue, 10)
    theirs = [await submit(queue, 10) for _ in range(2)]
    others = await submit(queue, 20)
    await submit(queue, 30, guild=2)
    elsewhere = await submit(queue, 10, guild=2)  # the same member in another server
    policy = QuotaPolicy(db, QuotaDefaults(5, "day", ZoneInfo("UTC")))
    moderation = ModeratorActions(
        db=db, clock=clock, policy=policy, moderators=Moderators([MOD_ROLE])
    )
    done = await moderation.perform(MODERATOR, Block(10), "spam")
    assert "Their 2 videos waiting in this server's queue were cancelled" in render(
        done.reply, "en"
    )
    for job in theirs:
        cancelled = await queue.jobs.get(job.id)
        assert cancelled is not None and cancelled.state is JobState.CANCELLED
        assert cancelled.cancelled_by == MODERATOR.user_id
        assert cancelled.error_message == BLOCKED_WHILE_WAITING
        assert await ledger_kinds(db, job.id) == ["hold", "release"]
    for job, state in ((at_service, JobState.QUEUED), (others, JobState.WAITING)):
        fresh = await queue.jobs.get(job.id)
        assert fresh is not None and fresh.state is state  # the service has the first
    fresh = await queue.jobs.get(elsewhere.id)
    assert fresh is not None and fresh.state is JobState.WAITING
    # With nothing waiting, the moderator hears only what was always true.
    done = await moderation.perform(MODERATOR, Block(31), None)
    assert "waiting" not in render(done.reply, "en")


async def test_a_job_whose_member_was_blocked_while_it_waited_is_cancelled_not_started(
    db: Database, clock: FakeClock
) -> None:
    queue = queue_store(db, clock, max_active_per_guild=1)
    running = await submit(queue, 10)
    blocked = await submit(queue, 11)
    behind = await submit(queue, 12)
    # A block that raced the job's acceptance: written without the moderators' frame.
    async with db.transaction() as conn:
        await rule_rows.add_block(conn, 1, 11, None, 99, clock.now())
    await end(queue, running)
    cancelled = await queue.start_next_waiting()
    assert cancelled is not None and cancelled.id == blocked.id
    assert cancelled.state is JobState.CANCELLED and cancelled.cancelled_by == 99
    assert cancelled.started_at is None
    assert await ledger_kinds(db, blocked.id) == ["hold", "release"]
    started = await queue.start_next_waiting()  # the slot goes to the next in line
    assert started is not None and started.id == behind.id
    assert started.state is JobState.QUEUED


async def test_a_prompt_blocklisted_while_it_waited_is_cancelled_saying_why(
    db: Database, clock: FakeClock
) -> None:
    queue = queue_store(db, clock, max_active_per_guild=1)
    running = await submit(queue, 10)
    fox = await queue.jobs.submit(new_job(11, prompt="a Red Fox at dawn"), PLENTY)
    async with db.transaction() as conn:
        await blocklist_rows.add(conn, 1, "red fox", 99, clock.now())
        await blocklist_rows.add(conn, 2, "dawn", 99, clock.now())  # another server's list
    await end(queue, running)
    cancelled = await queue.start_next_waiting()
    assert cancelled is not None and cancelled.id == fox.id
    assert cancelled.state is JobState.CANCELLED and cancelled.cancelled_by is None
    assert cancelled.error_code == FailureCode.PROMPT_BLOCKED
    assert cancelled.error_message == PROMPT_BLOCKED_WHILE_WAITING
    assert await ledger_kinds(db, fox.id) == ["hold", "release"]
    assert await queue.start_next_waiting() is None


# Servers on shard 0, 1 and 0 of two (Discord's rule: the id's top bits modulo the count).
SHARD0, SHARD1, SHARD0_TOO = 10 << 22, 11 << 22, 12 << 22


async def test_servers_that_removed_the_bot_while_it_was_offline_have_their_queue_withdrawn(
    db: Database, clock: FakeClock
) -> None:
    queue = queue_store(db, clock, max_active_per_guild=1)
    queue.shards = ShardSlice(2, (0,))  # this process connects shard 0; another runs shard 1
    for guild in (SHARD0, SHARD1, SHARD0_TOO):
        await submit(queue, 10, guild=guild)
    present = await submit(queue, 11, guild=SHARD0)
    other_shard = await submit(queue, 11, guild=SHARD1)  # another process's to judge
    removed = await submit(queue, 11, guild=SHARD0_TOO)
    withdrawn = await queue.withdraw_absent([SHARD0])
    assert [job.id for job in withdrawn] == [removed.id]
    assert await ledger_kinds(db, removed.id) == ["hold", "release"]
    for job in (other_shard, present):
        fresh = await queue.jobs.get(job.id)
        assert fresh is not None and fresh.state is JobState.WAITING
    assert await queue.withdraw_absent([SHARD0]) == []
    # Unsharded, Discord lists every server the bot is in: any other is gone.
    queue.shards = None
    assert [job.id for job in await queue.withdraw_absent([SHARD0])] == [other_shard.id]


async def test_a_process_running_some_shards_starts_only_their_waiting_jobs(
    db: Database, clock: FakeClock
) -> None:
    queue = queue_store(db, clock, max_active_per_guild=1)
    running = [await submit(queue, 10, guild=guild) for guild in (SHARD0, SHARD1)]
    theirs = await submit(queue, 11, guild=SHARD1)
    mine = await submit(queue, 11, guild=SHARD0)
    for job in running:
        await end(queue, job)
    queue.shards = ShardSlice(2, (0,))
    started = await queue.start_next_waiting()
    assert started is not None and started.id == mine.id
    assert await queue.start_next_waiting() is None  # shard 1's job is its process's
    other_process = QueueStore(queue.jobs)
    other_process.shards = ShardSlice(2, (1,))
    started = await other_process.start_next_waiting()
    assert started is not None and started.id == theirs.id
