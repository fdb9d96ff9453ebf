"""The server's queue in the database: give the next waiting job its slot, and read the queue.

The rules are bot/jobs/queue.py's; the job picked is the database's (bot/storage/jobs.py,
`next_waiting`), so processes sharing a PostgreSQL database start each waiting job once, in
the fair order, and the caps on jobs at the video service hold across them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Any

from bot.errors import Refusal
from bot.jobs.acceptance import DEPLOYMENT_LOCK, guild_lock, member_lock
from bot.jobs.queue import SlotCounts
from bot.jobs.store import JobStore, Lease
from bot.jobs.withdrawal import BLOCKED_WHILE_WAITING, PROMPT_BLOCKED_WHILE_WAITING, cancel_waiting
from bot.models import FailureCode, Job, JobState, ShardSlice, check_transition
from bot.quota import allowance as quotas
from bot.storage import blocklist as blocklist_rows
from bot.storage import jobs as job_rows
from bot.storage import rules as rule_rows
from bot.storage.connection import Connection, Row

# Starting waiting jobs takes this lock first, so processes sharing the database start them one
# at a time, each the fairest there is; then the job's member's, its server's and (under a
# deployment-wide cap) the deployment's, in the order admission takes them (bot/jobs/acceptance.py).
QUEUE_LOCK = ("queue",)
log = logging.getLogger(__name__)
# Why the bot cancelled a waiting job itself (kept with the job, for the operator).
LEFT_SERVER = "The bot no longer serves this server, so the job was cancelled before it started."


class QueueStore:
    def __init__(self, jobs: JobStore, guild_ids: Collection[int] = ()) -> None:
        self.jobs = jobs
        # The servers the bot serves (ALLOWED_GUILD_IDS; empty: any): a waiting job of another
        # never starts, and is cancelled (`withdraw_unserved`).
        self.guild_ids = tuple(guild_ids)
        # The shards of this process, when others run the rest (SHARD_IDS): it starts only the
        # waiting jobs of the servers it is connected to, which it alone knows are still there.
        self.shards: ShardSlice | None = None

    def serves(self, guild_id: int) -> bool:
        return not self.guild_ids or guild_id in self.guild_ids

    async def start_next_waiting(self, lease: Lease | None = None) -> Job | None:
        """Give the next waiting job in the fair order a slot, if a slot is free for it; the
        job, now queued (and, with `lease`, leased to this worker by the database's clock, so
        this worker sends it), or None. A job whose member was blocked, or whose prompt
        matches a blocklist entry added, while it waited is cancelled instead (its unit given
        back, nothing sent) and returned as such.

        One transaction: the queue's lock, the pick (bot/storage/jobs.py `next_waiting`), then
        the job's member's and guild's locks (and the deployment-wide one), under which its
        slot is counted again: an admission in that guild may have taken the last one
        meanwhile."""
        owner = lease.owner if lease else None
        # A plain read first, which waits for no writer: most passes find nothing to start,
        # and must not take the write lock (or the queue's) to learn it.
        async with self.jobs.db.reading() as conn:
            if await self._next(conn, owner, lock=False) is None:
                return None
        async with self.jobs.db.transaction() as conn:
            await conn.lock(QUEUE_LOCK)
            row = await self._next(conn, owner, lock=True)
            if row is None:
                return None
            job = Job.from_row(row)
            if not await self._start(conn, job, lease):
                return None
        return await self.jobs.get(job.id)

    async def _start(self, conn: Connection, job: Job, lease: Lease | None) -> bool:
        """Within the picking transaction: give `job` its slot (or cancel it, if barred);
        False if its slot was taken meanwhile."""
        caps = self.jobs.caps
        locks = [member_lock(job.guild_id, job.user_id), guild_lock(job.guild_id)]
        if caps.provider is not None:
            locks.append(DEPLOYMENT_LOCK)
        await conn.lock(*locks)
        now = self.jobs.clock.now()
        barred = await _barred(conn, job)
        if barred is not None:
            by, code, why = barred
            return await cancel_waiting(conn, job.id, now, by=by, why=why, code=code)
        counts = await job_rows.slot_counts(
            conn, job.guild_id, job.user_id, everywhere=caps.provider is not None
        )
        if not caps.has_room(SlotCounts(*counts)):
            return False
        check_transition(job.state, JobState.QUEUED)
        fields: dict[str, Any] = {
            "state": JobState.QUEUED.value,
            "started_at": now,
            "deadline_at": now + self.jobs.deadline_seconds,
            # A job whose status message is not recorded yet keeps its grace (the answer to
            # its /sora may still be on its way): the worker must not post a second.
            "next_action_at": max(job.next_action_at, now),
            "updated_at": now,
        }
        if not await job_rows.update_if_state(conn, job.id, JobState.WAITING, fields):
            return False
        if lease is not None:
            await job_rows.take_lease(conn, self.jobs.db.engine, lease.owner, job.id, lease.seconds)
        return True

    async def _next(self, conn: Connection, owner: str | None, *, lock: bool) -> Row | None:
        caps = self.jobs.caps
        return await job_rows.next_waiting(
            conn,
            self.jobs.db.engine,
            per_member=caps.per_member,
            per_guild=caps.per_guild,
            provider=caps.provider,
            owner=owner,
            guild_ids=self.guild_ids,
            shards=self.shards,
            lock=lock,
        )

    async def withdraw_unserved(self) -> list[Job]:
        """Cancel the waiting jobs of the servers the bot no longer serves (not in
        ALLOWED_GUILD_IDS), their holds released; the jobs cancelled."""
        if not self.guild_ids:
            return []
        return await self._withdraw(lambda guild_id: not self.serves(guild_id))

    async def withdraw_absent(self, present: Collection[int]) -> list[Job]:
        """Cancel the waiting jobs of the servers this process's gateway connection covers
        (`shards`) that the bot is not in (`present`, the servers Discord said it is in when
        it connected): it was removed from them while it was offline, and Discord will not
        say so again. Their holds released; the jobs cancelled."""
        present = set(present)
        shards = self.shards
        return await self._withdraw(
            lambda guild_id: guild_id not in present and (shards is None or shards.covers(guild_id))
        )

    async def withdraw_from(self, guild_id: int) -> list[Job]:
        """Cancel every waiting job of a server the bot has left (or no longer serves), their
        holds released, nothing sent to the video service; the jobs cancelled."""
        return await self._withdraw(lambda _: True, guild_id)

    async def _withdraw(
        self, gone: Callable[[int], bool], guild_id: int | None = None
    ) -> list[Job]:
        """Cancel the waiting jobs (of `guild_id`, or of every guild) of the guilds `gone`
        says the bot is not to serve; the jobs cancelled."""
        cancelled: list[Job] = []
        for job in await self.waiting(guild_id):
            if gone(job.guild_id) and await self.jobs.cancel(job, None, LEFT_SERVER):
                cancelled.append(job)
        return cancelled

    async def waiting(self, guild_id: int | None = None) -> list[Job]:
        """The waiting jobs of one guild (or every guild), oldest first."""
        async with self.jobs.db.reading() as conn:
            rows = await job_rows.waiting(conn, guild_id)
        return [Job.from_row(row) for row in rows]

    async def last_starts(self, guild_id: int) -> dict[int, float]:
        """When each member with a waiting job in the guild last had a job take a slot."""
        async with self.jobs.db.reading() as conn:
            return await job_rows.last_starts(conn, guild_id)


async def _barred(conn: Connection, job: Job) -> tuple[int | None, FailureCode | None, str] | None:
    """Whether a waiting job may no longer be made, by admission's own rule: its member
    blocked since (who cancels it: the moderator who blocked them), or its prompt on the
    blocklist since (the bot cancels it, saying why)."""
    block = await rule_rows.get_block(conn, job.guild_id, job.user_id)
    entries = await blocklist_rows.entries(conn, job.guild_id)
    try:
        quotas.refuse_if_barred(job.guild_id, job.user_id, block is not None, entries, job.prompt)
    except Refusal as refusal:
        log.info("job %s: barred while it waited (%s)", job.id, refusal.kind)
        if block is not None:
            return block.blocked_by, None, BLOCKED_WHILE_WAITING
        return None, FailureCode.PROMPT_BLOCKED, PROMPT_BLOCKED_WHILE_WAITING
    return None
