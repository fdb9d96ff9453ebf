"""A server's queue as rules: where a new job goes, the fair order, and rough start times."""

from __future__ import annotations

import random

import pytest

from bot import i18n
from bot.errors import Refusal, RefusalKind
from bot.jobs.queue import (
    START_MARGIN_SECONDS,
    Occupancy,
    SlotCaps,
    SlotCounts,
    fair_order,
    placement,
    start_times,
)
from bot.models import Job, JobState
from tests.support.jobs import make_job

CAPS = SlotCaps(per_member=2, per_guild=5, waiting_per_member=3, waiting_per_guild=50)
NO_QUEUE = SlotCaps(per_member=2, per_guild=5)


def occupancy(
    member: int = 0,
    guild: int = 0,
    member_waiting: int = 0,
    guild_waiting: int = 0,
    provider: int = 0,
    waiting_anywhere: int = 0,
) -> Occupancy:
    return Occupancy(
        SlotCounts(member, guild, provider), member_waiting, guild_waiting, waiting_anywhere
    )


def refusal(caps: SlotCaps, taken: Occupancy) -> tuple[RefusalKind, str]:
    with pytest.raises(Refusal) as refused:
        placement(caps, taken)
    return refused.value.kind, i18n.render(refused.value.reason, "en")


def test_a_job_takes_a_free_slot_at_once_when_nobody_waits() -> None:
    assert placement(CAPS, occupancy(member=1, guild=4)) is JobState.QUEUED


def test_over_either_cap_a_job_waits_and_so_does_one_behind_others_waiting() -> None:
    assert placement(CAPS, occupancy(member=2, guild=2)) is JobState.WAITING
    assert placement(CAPS, occupancy(member=0, guild=5)) is JobState.WAITING
    # A slot is free, but others wait for one: the newcomer goes behind them.
    assert placement(CAPS, occupancy(guild=3, guild_waiting=1)) is JobState.WAITING


def test_beyond_the_queue_limits_a_job_is_refused_saying_which() -> None:
    kind, said = refusal(CAPS, occupancy(guild=5, member_waiting=3, guild_waiting=10))
    assert kind is RefusalKind.QUEUE_FULL
    assert said.startswith("The queue is full for you: you already have 3 videos waiting")
    kind, said = refusal(CAPS, occupancy(guild=5, member_waiting=1, guild_waiting=50))
    assert kind is RefusalKind.QUEUE_FULL
    assert said.startswith("This server's queue is full: 50 videos are already waiting")
    one = SlotCaps(per_member=2, per_guild=5, waiting_per_member=1, waiting_per_guild=50)
    assert (
        "you already have 1 video waiting" in refusal(one, occupancy(guild=5, member_waiting=1))[1]
    )


def test_without_a_queue_a_full_server_is_refused_as_before() -> None:
    kind, said = refusal(NO_QUEUE, occupancy(member=2, guild=2))
    assert kind is RefusalKind.TOO_MANY_ACTIVE
    assert said.startswith("You already have 2 videos in progress, the most allowed at once is 2")
    kind, said = refusal(NO_QUEUE, occupancy(member=1, guild=5))
    assert kind is RefusalKind.SERVER_BUSY
    assert said.startswith("The server has 5 videos in progress")
    # Waiting jobs left from when the queue was on do not hold a newcomer back.
    assert placement(NO_QUEUE, occupancy(guild=1, guild_waiting=4)) is JobState.QUEUED


def test_the_deployment_wide_cap_queues_across_servers() -> None:
    caps = SlotCaps(
        per_member=2, per_guild=5, provider=8, waiting_per_member=3, waiting_per_guild=9
    )
    assert placement(caps, occupancy(guild=1, provider=7)) is JobState.QUEUED
    assert placement(caps, occupancy(guild=1, provider=8)) is JobState.WAITING
    # Another server's job waits for the service: this one goes behind it.
    assert placement(caps, occupancy(guild=1, provider=6, waiting_anywhere=1)) is JobState.WAITING
    no_queue = SlotCaps(per_member=2, per_guild=5, provider=8)
    kind, said = refusal(no_queue, occupancy(guild=1, provider=8))
    assert kind is RefusalKind.SERVICE_BUSY
    assert said.startswith("The video service is making 8 videos for this bot")


# -- the fair order -------------------------------------------------------------------------


def waiting_job(job_id: int, user: int, guild: int = 1) -> Job:
    return make_job(id=job_id, user_id=user, guild_id=guild, state=JobState.WAITING)


def members_of(order: list[Job]) -> list[int]:
    return [job.user_id for job in order]


def test_members_take_turns_and_each_members_jobs_keep_their_order() -> None:
    # Alice asked for three at once, then Bob and Carol for one each.
    jobs = [waiting_job(1, 10), waiting_job(2, 10), waiting_job(3, 10)]
    jobs += [waiting_job(4, 20), waiting_job(5, 30)]
    order = fair_order(jobs, {})
    assert [job.id for job in order] == [1, 4, 5, 2, 3]


def test_the_member_whose_last_job_started_longest_ago_goes_first() -> None:
    jobs = [waiting_job(1, 10), waiting_job(2, 20), waiting_job(3, 30)]
    # Alice's last video started a moment ago, Bob's an hour ago; Carol never had one.
    order = fair_order(jobs, {10: 5000.0, 20: 1400.0})
    assert members_of(order) == [30, 20, 10]


@pytest.mark.parametrize("seed", range(20))
def test_three_waiting_jobs_never_delay_a_members_one_by_more_than_one(seed: int) -> None:
    rng = random.Random(seed)
    jobs, next_id = [], 1
    for user in rng.sample(range(100, 200), 12):
        for _ in range(rng.choice((1, 1, 3))):
            jobs.append(waiting_job(next_id, user))
            next_id += 1
    rng.shuffle(jobs)
    last = {job.user_id: rng.uniform(0, 100) for job in jobs if rng.random() < 0.5}
    order = fair_order(jobs, last)
    assert sorted(job.id for job in order) == sorted(job.id for job in jobs)
    position = {job.id: index for index, job in enumerate(order)}
    for user in {job.user_id for job in jobs}:
        mine = sorted(job.id for job in jobs if job.user_id == user)
        assert [position[i] for i in mine] == sorted(position[i] for i in mine)  # first come
    # Ahead of any member's job, each other member has at most one more job than it has
    # jobs of its own ahead (round robin).
    for job in order:
        ahead = order[: position[job.id]]
        own = sum(1 for other in ahead if other.user_id == job.user_id)
        for user in {other.user_id for other in ahead}:
            assert sum(1 for other in ahead if other.user_id == user) <= own + 1


# -- rough start times ----------------------------------------------------------------------

NOW = 600_000.0  # a whole number of minutes


def test_start_times_follow_the_slots_as_they_free() -> None:
    caps = SlotCaps(per_member=2, per_guild=2)
    # Two running jobs free their slots in 2 and 10 minutes; each video takes 5.
    holding = [(10, NOW + 120), (11, NOW + 600)]
    waiting = [(20, 300.0), (21, 300.0), (22, 300.0)]
    assert start_times(waiting, holding, caps, NOW) == [NOW + 120, NOW + 420, NOW + 600]


def test_a_start_is_never_promised_sooner_than_the_margin_and_is_said_to_the_minute() -> None:
    caps = SlotCaps(per_member=2, per_guild=1)
    (start,) = start_times([(20, 300.0)], [(10, NOW + 5)], caps, NOW + 7)
    assert start is not None and start >= NOW + 7 + START_MARGIN_SECONDS and start % 60 == 0


def test_a_member_at_their_own_cap_starts_when_their_own_job_frees_a_slot() -> None:
    caps = SlotCaps(per_member=1, per_guild=5)
    holding = [(10, NOW + 900)]
    assert start_times([(10, 300.0)], holding, caps, NOW) == [NOW + 900]


def test_no_start_time_is_guessed_without_the_times_it_needs() -> None:
    caps = SlotCaps(per_member=2, per_guild=1)
    assert start_times([(20, 300.0)], [(10, None)], caps, NOW) == [None]
    assert start_times([(20, None), (21, 300.0)], [(10, NOW + 60)], caps, NOW) == [NOW + 60, None]
