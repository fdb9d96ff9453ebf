"""A server's queue, as rules: where a new job goes, the fair order waiting jobs start in, and
roughly when each will start.

`MAX_ACTIVE_JOBS_PER_MEMBER` and `MAX_ACTIVE_JOBS_PER_GUILD` (and the optional deployment-wide
`PROVIDER_MAX_ACTIVE_JOBS`) bound the jobs at the video service at once: a job holds a slot
from `queued` until the service has its video (`PENDING_AT_PROVIDER`). A job beyond them waits
in its server's queue, its quota unit held, while the queue has room for it; beyond the queue's
own limits it is refused, nothing held. When a slot frees, the next job to start is the oldest
waiting job of the member whose last job started longest ago: round robin between members,
first come first served within a member (and, under the deployment-wide cap, round robin
between servers the same way). The database picks that job (bot/storage/jobs.py,
`next_waiting`); `fair_order` says the same order for every waiting job, for the positions
members see.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.errors import Refusal, RefusalKind
from bot.i18n import Text
from bot.models import Job, JobState
from bot.quota.allowance import guild_full_refusal

# A start is never promised sooner than this from now (a slot's job may still take a while),
# and it is said to the whole minute: a rough time, which a small change does not move.
START_MARGIN_SECONDS = 60.0
START_ROUNDING_SECONDS = 60.0


@dataclass(frozen=True)
class SlotCaps:
    """How many jobs may be at the video service at once, and how many may wait for a slot."""

    per_member: int
    per_guild: int | None = None  # None: no server-wide cap
    provider: int | None = None  # the whole deployment's (the service's own limit); None: none
    waiting_per_member: int = 0
    waiting_per_guild: int = 0  # 0: no queue, a job over the caps is refused

    @property
    def queue_enabled(self) -> bool:
        return self.waiting_per_guild > 0 and self.waiting_per_member > 0

    def has_room(self, counts: SlotCounts) -> bool:
        """Whether a job of this member may take a slot now."""
        return (
            counts.member < self.per_member
            and (self.per_guild is None or counts.guild < self.per_guild)
            and (self.provider is None or counts.provider < self.provider)
        )


@dataclass(frozen=True)
class SlotCounts:
    """Jobs holding a slot: the member's and the server's, and the deployment's (counted only
    under a deployment-wide cap)."""

    member: int
    guild: int
    provider: int = 0


@dataclass(frozen=True)
class Occupancy:
    """What admission counts, under the member's and the server's locks."""

    slots: SlotCounts
    member_waiting: int
    guild_waiting: int
    waiting_anywhere: int = 0  # counted only under a deployment-wide cap


def placement(caps: SlotCaps, occupancy: Occupancy) -> JobState:
    """Where a new job goes: `QUEUED` (a slot now) or `WAITING`, or `Refusal`.

    A job takes a slot at once only when nobody is waiting for one: the worker starts the
    waiting jobs in the fair order, a newcomer after them."""
    slots = occupancy.slots
    nobody_waiting = occupancy.guild_waiting == 0 and (
        caps.provider is None or occupancy.waiting_anywhere == 0
    )
    if caps.has_room(slots) and (nobody_waiting or not caps.queue_enabled):
        return JobState.QUEUED
    if not caps.queue_enabled:
        raise _full_refusal(caps, slots)
    if occupancy.member_waiting >= caps.waiting_per_member:
        raise Refusal(
            Text("queue.refusal.member_full", occupancy.member_waiting),
            RefusalKind.QUEUE_FULL,
        )
    if occupancy.guild_waiting >= caps.waiting_per_guild:
        raise Refusal(
            Text("queue.refusal.server_full", occupancy.guild_waiting),
            RefusalKind.QUEUE_FULL,
        )
    return JobState.WAITING


def _full_refusal(caps: SlotCaps, slots: SlotCounts) -> Refusal:
    """Without a queue: why there is no slot, as before there was one."""
    if slots.member >= caps.per_member:
        return Refusal(
            Text("admission.too_many_active", slots.member, most=caps.per_member),
            RefusalKind.TOO_MANY_ACTIVE,
        )
    if caps.per_guild is not None and slots.guild >= caps.per_guild:
        return guild_full_refusal(slots.guild)
    return Refusal(Text("queue.refusal.service_full", slots.provider), RefusalKind.SERVICE_BUSY)


# -- the fair order -------------------------------------------------------------------------


def fair_order(waiting: Sequence[Job], last_started: Mapping[int, float]) -> list[Job]:
    """One server's waiting jobs in the order they will start if slots free one at a time:
    the member whose last job started longest ago first (`last_started`: member → when; a
    member who never started one comes first), that member's oldest waiting job, then round
    robin. Equal last starts go by the oldest waiting job, as the database decides."""
    queues: dict[int, deque[Job]] = {}
    for job in sorted(waiting, key=lambda job: job.id):
        queues.setdefault(job.user_id, deque()).append(job)
    # (round, last start, the member's next job's id, member): a member whose job was just
    # started in this simulation comes after every real last start, in the order started.
    heap = [(0, last_started.get(user, 0.0), jobs[0].id, user) for user, jobs in queues.items()]
    heapq.heapify(heap)
    order: list[Job] = []
    while heap:
        _, _, _, user = heapq.heappop(heap)
        jobs = queues[user]
        order.append(jobs.popleft())
        if jobs:
            heapq.heappush(heap, (1, float(len(order)), jobs[0].id, user))
    return order


@dataclass(frozen=True)
class QueuePlace:
    """Where a waiting job stands: its position in its server's queue (1: next), and roughly
    when it will start (None while the bot has too few finished videos to say)."""

    position: int
    starts_at: float | None = None


def start_times(
    waiting: Sequence[tuple[int, float | None]],
    holding: Sequence[tuple[int, float | None]],
    caps: SlotCaps,
    now: float,
) -> list[float | None]:
    """Roughly when each waiting job starts: `waiting` is the server's queue in the fair order,
    each job as (member, how long it will take at the video service, None if not known), and
    `holding` the jobs holding a slot now, as (member, when it will free its slot).

    Each job takes the first server slot to free and the first of its member's, and frees both
    a typical time after it starts. Once one time is unknown, so is every time after it."""
    if any(free_at is None for _, free_at in holding):
        return [None] * len(waiting)
    known = [(member, free_at) for member, free_at in holding if free_at is not None]
    guild = _Slots([free_at for _, free_at in known], caps.per_guild, now)
    own: dict[int, _Slots] = {}
    found: list[float | None] = []
    for member, typical in waiting:
        if member not in own:
            frees = [free_at for holder, free_at in known if holder == member]
            own[member] = _Slots(frees, caps.per_member, now)
        start = max(guild.take(), own[member].take())
        found.append(_rounded(start, now))
        if typical is None:
            return found + [None] * (len(waiting) - len(found))
        guild.give(start + typical)
        own[member].give(start + typical)
    return found


class _Slots:
    """When each slot of a group (a server's, or a member's) frees up; unbounded: always now."""

    def __init__(self, frees: list[float], count: int | None, now: float) -> None:
        self.now = now
        self.bounded = count is not None
        frees = [max(now, at) for at in frees]
        if count is not None:
            frees += [now] * max(0, count - len(frees))  # free slots
        self.frees = sorted(frees)  # sorted, so a heap
        if count is not None:
            # Over the cap (it was lowered): the first to end free no slot for a new job.
            del self.frees[: max(0, len(self.frees) - count)]

    def take(self) -> float:
        return heapq.heappop(self.frees) if self.bounded else self.now

    def give(self, free_at: float) -> None:
        if self.bounded:
            heapq.heappush(self.frees, free_at)


def _rounded(start: float, now: float) -> float:
    at = max(start, now + START_MARGIN_SECONDS)
    return math.ceil(at / START_ROUNDING_SECONDS) * START_ROUNDING_SECONDS
