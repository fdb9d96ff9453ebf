"""The server's queue in the database: give the next waiting job its slot, and read the queue.

The rules are bot/jobs/queue.py's; the job picked is the database's (bot/storage/jobs.py,
`next_waiting`), so processes sharing a PostgreSQL database start each waiting job once, in
the fair order, and the caps on jobs at the video service hold across them.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from bot.jobs.acceptance import DEPLOYMENT_LOCK, guild_lock, member_lock
from bot.jobs.queue import SlotCounts
from bot.jobs.store import JobStore, Lease
from bot.models import Job, JobState, check_transition
from bot.storage import jobs as job_rows
from bot.storage.connection import Connection, Row

# Starting waiting jobs takes this lock first, so processes sharing the database start them one
# at a time, each the fairest there is; then the job's member's, its server's and (under a
# deployment-wide cap) the deployment's, in the order admission takes them (bot/jobs/acceptance.py).
QUEUE_LOCK = ("queue",)
# Why the bot cancelled a waiting job itself (kept with the job, for the operator).
LEFT_SERVER = "The bot no longer serves this server, so the job was cancelled before it started."


class QueueStore:
    def __init__(self, jobs: JobStore, guild_ids: Collection[int] = ()) -> None:
        self.jobs = jobs
        # The servers the bot serves (ALLOWED_GUILD_IDS; empty: any): a waiting job of another
        # never starts, and is cancelled (`withdraw_unserved`).
        self.guild_ids = tuple(guild_ids)

    def serves(self, guild_id: int) -> bool:
        return not self.guild_ids or guild_id in self.guild_ids

    async def start_next_waiting(self, lease: Lease | None = None) -> Job | None:
        """Give the next waiting job in the fair order a slot, if a slot is free for it; the
        job, now queued (and, with `lease`, leased to this worker by the database's clock, so
        this worker sends it), or None.

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
        caps = self.jobs.caps
        async with self.jobs.db.transaction() as conn:
            await conn.lock(QUEUE_LOCK)
            row = await self._next(conn, owner, lock=True)
            if row is None:
                return None
            job = Job.from_row(row)
            locks = [member_lock(job.guild_id, job.user_id), guild_lock(job.guild_id)]
            if caps.provider is not None:
                locks.append(DEPLOYMENT_LOCK)
            await conn.lock(*locks)
            now = self.jobs.clock.now()
            counts = await job_rows.slot_counts(
                conn, job.guild_id, job.user_id, everywhere=caps.provider is not None
            )
            if not caps.has_room(SlotCounts(*counts)):
                return None
            check_transition(job.state, JobState.QUEUED)
            fields: dict[str, Any] = {
                "state": JobState.QUEUED.value,
                "started_at": now,
                "deadline_at": now + self.jobs.deadline_seconds,
                # A job whose status message is not recorded yet keeps its grace (the answer
                # to its /sora may still be on its way): the worker must not post a second.
                "next_action_at": max(job.next_action_at, now),
                "updated_at": now,
            }
            if not await job_rows.update_if_state(conn, job.id, JobState.WAITING, fields):
                return None
            if lease is not None:
                engine = self.jobs.db.engine
                await job_rows.take_lease(conn, engine, lease.owner, job.id, lease.seconds)
        return await self.jobs.get(job.id)

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
            lock=lock,
        )

    async def withdraw_unserved(self) -> list[Job]:
        """Cancel the waiting jobs of the servers the bot no longer serves (not in
        ALLOWED_GUILD_IDS), their holds released; the jobs cancelled."""
        if not self.guild_ids:
            return []
        gone = {job.guild_id for job in await self.waiting() if not self.serves(job.guild_id)}
        cancelled: list[Job] = []
        for guild_id in sorted(gone):
            cancelled += await self.withdraw_from(guild_id)
        return cancelled

    async def withdraw_from(self, guild_id: int) -> list[Job]:
        """Cancel every waiting job of a server the bot has left (or no longer serves), their
        holds released, nothing sent to the video service; the jobs cancelled."""
        cancelled: list[Job] = []
        for job in await self.waiting(guild_id):
            if await self.jobs.cancel(job, None, LEFT_SERVER):
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
