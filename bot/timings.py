"""Recent generation times in the database, and the polling schedule made from them.

The worker records how long each finished job took at the provider; `PollSchedule` turns the
recent times for a job's (provider, model, duration) into its next check (bot/schedule.py) and
tells members when a video is likely to be ready.
"""

from __future__ import annotations

from bot.clock import Clock
from bot.models import PENDING_AT_PROVIDER, Job
from bot.schedule import HISTORY_KEEP, PollPlan, expected_ready_seconds, next_check_delay
from bot.storage.database import Database

# A full server's first slot is never promised sooner than this.
SLOT_MARGIN_SECONDS = 60.0

Kind = tuple[str, str, int]  # provider, model, duration in seconds


class CompletionTimes:
    """The most recent `keep` completion times per kind, cached: every status check reads them,
    and only this process writes them."""

    def __init__(self, db: Database, clock: Clock, keep: int = HISTORY_KEEP) -> None:
        self.db = db
        self.clock = clock
        self.keep = keep
        self._cache: dict[Kind, list[float]] = {}

    async def record(self, job: Job, seconds: float) -> None:
        """Keep `seconds` as the generation time of `job` (once per job), dropping the oldest
        times of its kind beyond `keep`."""
        if seconds <= 0:
            return
        kind = (job.provider, job.model, job.options.duration)
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT OR IGNORE INTO completion_times (provider, model, duration, seconds, "
                "job_id, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
                (*kind, seconds, job.id, self.clock.now()),
            )
            if cursor.rowcount != 1:
                return
            await conn.execute(
                "DELETE FROM completion_times WHERE provider = ? AND model = ? AND duration = ? "
                "AND id NOT IN (SELECT id FROM completion_times WHERE provider = ? AND model = ? "
                "AND duration = ? ORDER BY id DESC LIMIT ?)",
                (*kind, *kind, self.keep),
            )
        self._cache.pop(kind, None)

    async def recent(self, provider: str, model: str, duration: int) -> list[float]:
        """The kept times of one kind, oldest first."""
        kind = (provider, model, duration)
        cached = self._cache.get(kind)
        if cached is None:
            rows = await self.db.fetch_all(
                "SELECT seconds FROM completion_times WHERE provider = ? AND model = ? "
                "AND duration = ? ORDER BY id DESC LIMIT ?",
                (*kind, self.keep),
            )
            cached = self._cache[kind] = [float(row[0]) for row in reversed(rows)]
        return cached


class PollSchedule:
    """When to check each running job, from the settings and the recent times of its kind."""

    def __init__(self, plan: PollPlan, times: CompletionTimes, provider: str) -> None:
        self.plan = plan
        self.times = times
        self.provider = provider

    async def next_delay(self, job: Job, now: float, polls_done: int) -> float:
        """Seconds until the check after `polls_done` checks of `job` (0 right after create)."""
        history = await self.times.recent(job.provider, job.model, job.options.duration)
        started = job.submitted_at if job.submitted_at is not None else now
        return next_check_delay(self.plan, history, max(0.0, now - started), polls_done)

    async def expected_ready_seconds(self, model: str, duration: int) -> float | None:
        """How long a (model, duration) video typically takes once sent to the provider, or
        None while too few have finished to say."""
        return expected_ready_seconds(await self.times.recent(self.provider, model, duration))

    async def expected_ready_at(self, job: Job) -> float | None:
        """When `job` is likely to be ready, from the typical time of its kind (None while the
        bot has too few finished jobs of that kind to say, or once the job is past waiting)."""
        if job.state not in PENDING_AT_PROVIDER:
            return None
        typical = await self.expected_ready_seconds(job.model, job.options.duration)
        if typical is None:
            return None
        started = job.submitted_at if job.submitted_at is not None else job.created_at
        return started + typical

    async def first_free_slot_at(self, jobs: list[Job], now: float) -> float | None:
        """When the first of `jobs` (a full server's jobs in progress) is likely to be done;
        None without an estimate for any of them. Never sooner than `SLOT_MARGIN_SECONDS`
        from `now`: a job past its typical time may still take a while."""
        estimates = [when for job in jobs if (when := await self.expected_ready_at(job))]
        if not estimates:
            return None
        return max(min(estimates), now + SLOT_MARGIN_SECONDS)
