"""Where each waiting job stands in its server's queue, and roughly when it will start: for its
status message, `/sora-jobs` and `/quota view`.

The position is the job's place in the fair order (bot/jobs/queue.py); the start time comes from
the learned generation times (bot/jobs/timings.py) of the jobs holding the server's slots and of
the jobs ahead, and is left out while they are not known.
"""

from __future__ import annotations

from bot.clock import Clock
from bot.jobs.queue import QueuePlace, fair_order, start_times
from bot.jobs.queue_store import QueueStore
from bot.jobs.timings import PollSchedule
from bot.models import Job


class QueuePlaces:
    def __init__(self, queue: QueueStore, clock: Clock, schedule: PollSchedule | None) -> None:
        self.queue = queue
        self.clock = clock
        self.schedule = schedule

    async def of_guild(self, guild_id: int) -> list[tuple[Job, QueuePlace]]:
        """The guild's waiting jobs in the order they will start, each with its place."""
        return await self._placed(guild_id, await self.queue.waiting(guild_id))

    async def everywhere(self) -> list[tuple[Job, QueuePlace]]:
        """Every guild's waiting jobs with their places, guild by guild."""
        by_guild: dict[int, list[Job]] = {}
        for job in await self.queue.waiting():
            by_guild.setdefault(job.guild_id, []).append(job)
        placed: list[tuple[Job, QueuePlace]] = []
        for guild_id, waiting in by_guild.items():
            placed += await self._placed(guild_id, waiting)
        return placed

    async def in_guild(self, guild_id: int) -> dict[int, QueuePlace]:
        """Job id → place, for the guild's waiting jobs."""
        return {job.id: place for job, place in await self.of_guild(guild_id)}

    async def positions(self, guild_id: int) -> dict[int, int]:
        """Job id → position, for the guild's waiting jobs: the fair order alone, without the
        start times (two small reads, for the web's pages)."""
        waiting = await self.queue.waiting(guild_id)
        if not waiting:
            return {}
        order = fair_order(waiting, await self.queue.last_starts(guild_id))
        return {job.id: position for position, job in enumerate(order, 1)}

    async def place_of(self, job: Job) -> QueuePlace | None:
        """A waiting job's place (None for a job not waiting)."""
        if not job.is_waiting:
            return None
        return (await self.in_guild(job.guild_id)).get(job.id)

    async def _placed(self, guild_id: int, waiting: list[Job]) -> list[tuple[Job, QueuePlace]]:
        if not waiting:
            return []
        order = fair_order(waiting, await self.queue.last_starts(guild_id))
        starts = await self._starts(guild_id, order)
        return [
            (job, QueuePlace(position, start))
            for position, (job, start) in enumerate(zip(order, starts, strict=True), 1)
        ]

    async def _starts(self, guild_id: int, order: list[Job]) -> list[float | None]:
        schedule = self.schedule
        if schedule is None:
            return [None] * len(order)
        holding = [
            (job.user_id, await schedule.expected_ready_at(job))
            for job in await self.queue.jobs.at_service_in_guild(guild_id)
        ]
        waiting = [
            (job.user_id, await schedule.expected_ready_seconds(job.model, job.options.duration))
            for job in order
        ]
        return start_times(waiting, holding, self.queue.jobs.caps, self.clock.now())
