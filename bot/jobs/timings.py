"""Recent generation times in the database, and the polling schedule made from them.

The worker records how long each finished job took at the provider; `PollSchedule` turns the
recent times for a job's (provider, model, duration) into its next check (bot/jobs/schedule.py) and
tells members when a video is likely to be ready.
"""

from __future__ import annotations

from bot.clock import Clock
from bot.jobs.schedule import HISTORY_KEEP, PollPlan, expected_ready_seconds, next_check_delay
from bot.models import PENDING_AT_PROVIDER, Job
from bot.storage import timings as time_rows
from bot.storage.database import Database

# A full server's first slot is never promised sooner than this.
SLOT_MARGIN_SECONDS = 60.0

Kind = tuple[str, str, int]  # provider, model, duration in seconds


# A database shared with other processes gets their times too: read them again this often.
SHARED_CACHE_SECONDS = 60.0


class CompletionTimes:
    """The most recent `keep` completion times per kind, cached: every status check reads them.
    On a database of its own the process writes them all, so its cache is always current; on a
    shared one (PostgreSQL) the cache is read again every `SHARED_CACHE_SECONDS`."""

    def __init__(self, db: Database, clock: Clock, keep: int = HISTORY_KEEP) -> None:
        self.db = db
        self.clock = clock
        self.keep = keep
        self._cache: dict[Kind, list[float]] = {}
        self._read_at: dict[Kind, float] = {}

    async def record(self, job: Job, seconds: float) -> None:
        """Keep `seconds` as the generation time of `job` (once per job), dropping the oldest
        times of its kind beyond `keep`."""
        if seconds <= 0:
            return
        kind = (job.provider, job.model, job.options.duration)
        async with self.db.transaction() as conn:
            if not await time_rows.insert(conn, kind, seconds, job.id, self.clock.now()):
                return
            await time_rows.keep_latest(conn, kind, self.keep)
        self._cache.pop(kind, None)

    async def recent(self, provider: str, model: str, duration: int) -> list[float]:
        """The kept times of one kind, oldest first."""
        kind = (provider, model, duration)
        cached = self._cache.get(kind)
        now = self.clock.now()
        stale = self.db.shared and now - self._read_at.get(kind, now) >= SHARED_CACHE_SECONDS
        if stale:
            cached = None
        if cached is None:
            async with self.db.reading() as conn:
                newest_first = await time_rows.latest(conn, kind, self.keep)
            cached = self._cache[kind] = newest_first[::-1]
            self._read_at[kind] = now
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
        return _sent_at(job) + typical

    async def first_free_slot_at(self, jobs: list[Job], now: float) -> float | None:
        """When the first of `jobs` (a full server's jobs in progress) is likely to be done;
        None without an estimate for any of them. Never sooner than `SLOT_MARGIN_SECONDS`
        from `now`: a job past its typical time may still take a while."""
        estimates = [when for job in jobs if (when := await self.expected_ready_at(job))]
        if not estimates:
            return None
        return max(min(estimates), now + SLOT_MARGIN_SECONDS)


def _sent_at(job: Job) -> float:
    """When the job reached the video service (or, not sent yet, took its slot)."""
    for moment in (job.submitted_at, job.started_at):
        if moment is not None:
            return moment
    return job.created_at
