"""The background loop: start waiting jobs, submit queued ones, poll running ones, deliver
finished ones.

The database is the queue. Each pass first gives free slots to waiting jobs, in the fair order
(bot/jobs/queue.py), then picks the jobs whose `next_action_at` has come and moves each one a
single step; the result of every step is written before the next is taken, so a restart
resumes every unfinished job where it stood. One job's failure never stops the loop. What a
step does is bot/jobs/steps.py; when steps run, how many at once, and (with several processes
on one database) the leases on their jobs are decided here. The waiting jobs' status messages
follow their places in the queue on a loop of their own (bot/jobs/queue_board.py).

Status checks are cheap I/O and many run at once (`poll_concurrency`), each holding its slot
only for the provider call; submits and deliveries (uploads, downloads, posts) keep their own
small bound (`concurrency`), so a burst of finished videos never starves the checks, nor the
reverse. A delivery that must compress its video first lends its slot to other jobs while it
waits for the encoder (which runs in a child process, under its own bound). When to check
comes from the learned schedule (bot/jobs/timings.py) when one is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable

from bot.clock import Clock
from bot.jobs.chat_port import ChannelGone, ChatPort
from bot.jobs.delivery import VideoDelivery
from bot.jobs.queue_board import QueueBoard
from bot.jobs.queue_places import QueuePlaces
from bot.jobs.queue_store import QueueStore
from bot.jobs.status_messages import StatusMessages
from bot.jobs.steps import JobSteps, LeaseLost
from bot.jobs.store import JobStore, Lease
from bot.jobs.timings import PollSchedule
from bot.logging_setup import Scrubber
from bot.models import Job, JobState
from bot.providers.base import ProviderHealth, VideoProvider
from bot.storage.outage import OutageNotice, is_unreachable

log = logging.getLogger(__name__)

# On shutdown, how long steps in flight may take to finish before they are cancelled.
STOP_GRACE_SECONDS = 10.0
# Steps that wait on the database or Discord after their provider call, beyond the slots.
TASKS_PER_POLL_SLOT = 2
# Least time between two passes over the queue: many steps ending at once start one query.
PASS_GAP_SECONDS = 0.02

POLLING = (JobState.SUBMITTED, JobState.RUNNING)
OTHER_STEPS = (JobState.QUEUED, JobState.SUCCEEDED)
# How often the queue is looked at with nothing telling the worker a slot freed: another
# process's job may have ended, or a job accepted as waiting may find a slot free.
QUEUE_LOOK_SECONDS = 1.0
# Most waiting jobs started in one pass (the next pass starts more).
STARTS_PER_PASS = 50
# A loop silent this long is stuck (a pass waits at most `idle_wait` between queries, and each
# query at most the database's 30 s busy timeout).
STALL_SECONDS = 60.0


class Worker:
    def __init__(
        self,
        *,
        jobs: JobStore,
        provider: VideoProvider,
        chat: ChatPort,
        delivery: VideoDelivery,
        clock: Clock,
        status_edit_interval: float,
        concurrency: int,
        poll_concurrency: int | None = None,
        schedule: PollSchedule | None = None,
        idle_wait: float = 1.0,
        on_provider_unusable: Callable[[ProviderHealth], bool] | None = None,
        scrub: Callable[[str], str] | None = None,
        lease: Lease | None = None,
        queue: QueueStore | None = None,
        places: QueuePlaces | None = None,
        may_start: Callable[[], bool] = lambda: True,
        keeps_board: Callable[[], bool] = lambda: True,
    ) -> None:
        self.jobs = jobs
        self.clock = clock
        self.idle_wait = idle_wait
        self.queue = queue or QueueStore(jobs)
        # False while the video service refuses jobs (no credits, key refused): waiting jobs
        # keep their places instead of failing one after another.
        self.may_start = may_start
        # Whether this process keeps the waiting jobs' status messages (one process does).
        self.keeps_board = keeps_board
        self._queue_moved = True  # a slot may have freed, or a job may wait with one free
        self._queue_looked_at = 0.0
        # Several processes on one database: each step's job is leased to this process (and
        # renewed while it runs), so no other worker moves it meanwhile. None: the only worker.
        self.lease = lease
        self._concurrency = concurrency
        self._poll_concurrency = poll_concurrency or concurrency
        # Held only around provider calls (checks) or whole steps (submits, deliveries).
        self._poll_slots = asyncio.Semaphore(self._poll_concurrency)
        self._other_slots = asyncio.Semaphore(concurrency)
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._polling: set[int] = set()  # the ids in `_inflight` that are status checks
        self._holding: set[int] = set()  # the ids in `_inflight` holding one of `_other_slots`
        self._lent: set[int] = set()  # of those, the ones that lent it while they compress
        self._wake = asyncio.Event()
        self._stopping = False
        self._running = False
        self._last_tick = 0.0  # time.monotonic() of the loop's latest pass
        self._outage = OutageNotice(log, "the worker")
        self.status = status = StatusMessages(
            jobs=jobs,
            chat=chat,
            profile=provider.profile,
            clock=clock,
            edit_interval=status_edit_interval,
            schedule=schedule,
        )
        self.steps = JobSteps(
            jobs=jobs,
            provider=provider,
            chat=chat,
            delivery=delivery,
            status=status,
            clock=clock,
            check_slots=self._poll_slots,
            lend_slot=self._slot_lent,
            schedule=schedule,
            on_provider_unusable=on_provider_unusable,
            scrub=scrub or Scrubber(),
            lease=lease,
        )
        self.board = QueueBoard(
            places=places or QueuePlaces(self.queue, clock, schedule),
            jobs=jobs,
            chat=chat,
            status=status,
            profile=provider.profile,
            clock=clock,
            edit_interval=status_edit_interval,
            on_channel_gone=self.steps.channel_gone,
        )

    # -- loop ---------------------------------------------------------------------------------

    def wake(self) -> None:
        """Look for due work now (a job was just accepted: it may also wait with a slot free)."""
        self._queue_moved = True
        self._wake.set()

    async def advance_now(self, job_id: int) -> bool:
        """Take the job's next step now instead of at its scheduled time; False if it is no
        longer in progress.

        This is where push news from a provider would land: a verified webhook saying a task
        finished calls this, and the status check that follows reads the outcome the usual way
        (the webhook's body is never trusted as the outcome itself). Rivya's webhook signature
        scheme is not published, so no receiver calls this yet.
        """
        job = await self.jobs.get(job_id)
        if job is None or not job.is_active:
            return False
        await self.jobs.reschedule(job, self.clock.now(), failed_attempt=False)
        self.wake()
        return True

    def is_alive(self, stall_seconds: float = STALL_SECONDS) -> bool:
        """True while the loop runs and has made a pass recently (the health endpoint)."""
        return (
            self._running
            and not self._stopping
            and time.monotonic() - self._last_tick < stall_seconds
        )

    def in_flight_ids(self) -> list[int]:
        return list(self._inflight)

    async def run(self) -> None:
        log.info("worker started")
        self._running = True
        renewer = asyncio.create_task(self._renew_leases()) if self.lease else None
        board = asyncio.create_task(self._keep_board(), name="queue-board")
        try:
            await self._withdraw_unserved()
            while not self._stopping:
                self._last_tick = time.monotonic()
                try:
                    started = await self.run_once()
                    self._outage.answered()
                    await self._sleep_until_due(bool(started))
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    # Never let the loop die. A database that does not answer is one line per
                    # outage (the next passes wait for it), anything else a traceback.
                    if is_unreachable(error):
                        self._outage.failed(error)
                    else:
                        log.exception("worker pass failed; retrying shortly")
                    await asyncio.sleep(self.idle_wait)
        finally:
            self._running = False
            helpers = [task for task in (renewer, board) if task is not None]
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)

    async def _renew_leases(self) -> None:
        """Renew the leases of the steps in flight at a third of their length, so a slow step
        (a long upload) keeps its job while a dead process's jobs are taken over. A step whose
        job this worker no longer holds stops at once: another worker has it now. When the
        database fails or does not answer, the steps stop before their leases could lapse."""
        lease = self.lease
        assert lease is not None
        loop = asyncio.get_running_loop()
        interval = lease.seconds / 3
        # The earliest the leases held could lapse: a renewal extends them from when it was
        # asked, at the latest.
        lapse_at = loop.time() + lease.seconds
        while True:
            await asyncio.sleep(interval)
            steps = dict(self._inflight)
            asked_at = loop.time()
            try:
                # A renewal that does not answer is given up in time to stop the steps.
                async with asyncio.timeout_at(min(asked_at + interval, lapse_at - interval / 2)):
                    held = await self.jobs.renew_leases(tuple(steps), lease)
            except Exception as error:  # TimeoutError included: no answer
                self._trouble(error, "could not renew job leases")
                if loop.time() + interval >= lapse_at:
                    # Unrenewed, the leases may lapse before the next try: stop rather than
                    # work on beside a worker that takes the jobs over.
                    self._stop_steps(steps, "its lease could not be renewed")
                continue
            lapse_at = asked_at + lease.seconds
            self._stop_steps({i: t for i, t in steps.items() if i not in held}, "its lease is lost")

    def _stop_steps(self, steps: dict[int, asyncio.Task[None]], why: str) -> None:
        for job_id, task in steps.items():
            if self._inflight.get(job_id) is task and not task.done():
                log.warning("job %s: %s; this worker stops moving it", job_id, why)
                task.cancel()

    async def _keep_board(self) -> None:
        """Keep the waiting jobs' status messages in step with the queue (bounded edits)."""
        keeping = False
        while True:
            await asyncio.sleep(self.board.pass_gap)
            if self._stopping or not self.keeps_board():
                keeping = False
                continue
            if not keeping:
                self.board.take_over()
                keeping = True
            try:
                await self.board.refresh()
            except Exception as error:  # the next pass tries again
                self._trouble(error, "could not show the queue's places")

    async def _withdraw_unserved(self) -> None:
        """Cancel the waiting jobs of servers the bot no longer serves (ALLOWED_GUILD_IDS
        changed since they were accepted): they are never to start."""
        try:
            withdrawn = await self.queue.withdraw_unserved()
        except Exception as error:  # they do not start meanwhile; the next start tries again
            self._trouble(error, "could not cancel the waiting jobs of servers not served")
            return
        if withdrawn:
            log.warning(
                "cancelled %d waiting job(s) of servers not in ALLOWED_GUILD_IDS; their units "
                "are given back",
                len(withdrawn),
            )

    async def start_waiting(self) -> list[Job]:
        """Give free slots to waiting jobs, in the fair order; the jobs started."""
        started: list[Job] = []
        while len(started) < STARTS_PER_PASS and not self._stopping:
            job = await self.queue.start_next_waiting(self.lease)
            if job is None:
                break
            if job.state is JobState.CANCELLED:  # barred while it waited: never made
                log.info("job %s left the queue cancelled: its member or prompt is barred", job.id)
                with contextlib.suppress(ChannelGone):  # nowhere left to say it
                    await self.status.refresh(job, force=True)
                continue
            log.info("job %s left the queue: it has a slot at the video service", job.id)
            started.append(job)
        return started

    async def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        """Stop taking work; let steps in flight finish (each is bounded by its own timeouts),
        and cancel what is left after `grace_seconds`. The database keeps anything cancelled."""
        self._stopping = True
        self._wake.set()
        tasks = list(self._inflight.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace_seconds)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def run_once(self) -> list[asyncio.Task[None]]:
        """Start waiting jobs that have a slot now, then a step for every due job not already
        being handled; return the new tasks."""
        now = self.clock.now()
        if self._queue_moved or now - self._queue_looked_at >= QUEUE_LOOK_SECONDS:
            self._queue_moved = False
            self._queue_looked_at = now
            if self.may_start():
                await self.start_waiting()
        checks = len(self._polling)
        others = len(self._inflight) - checks - len(self._lent)
        started = self._start(
            await self._due(now, POLLING, self._poll_concurrency * TASKS_PER_POLL_SLOT - checks)
        )
        started += self._start(await self._due(now, OTHER_STEPS, self._concurrency - others))
        return started

    async def _due(self, now: float, states: tuple[JobState, ...], free: int) -> list[Job]:
        if free <= 0 or self._stopping:
            return []
        if self.lease is not None:
            return await self.jobs.claim_due(now, free, states, tuple(self._inflight), self.lease)
        return await self.jobs.due(now, free, states, exclude=tuple(self._inflight))

    def _start(self, jobs: list[Job]) -> list[asyncio.Task[None]]:
        started = []
        for job in jobs:
            if self._stopping:
                break  # `stop()` may have begun while the query ran
            if job.id in self._inflight:
                continue
            task = asyncio.create_task(self._guarded_step(job), name=f"job-{job.id}")
            self._inflight[job.id] = task
            if job.state in POLLING:
                self._polling.add(job.id)
            task.add_done_callback(functools.partial(self._step_done, job.id))
            started.append(task)
        return started

    async def drain(self, limit_seconds: float) -> None:
        """Run passes until no job is due or in flight (used by tests and benchmarks)."""
        async with asyncio.timeout(limit_seconds):
            while True:
                started = await self.run_once()
                if started:
                    await asyncio.gather(*started)
                    continue
                if self._inflight:
                    await asyncio.gather(*self._inflight.values(), return_exceptions=True)
                    continue
                return

    def _step_done(self, job_id: int, _task: asyncio.Task[None]) -> None:
        self._inflight.pop(job_id, None)
        self._polling.discard(job_id)
        self._queue_moved = True  # the step may have freed a slot
        self._wake.set()

    async def _sleep_until_due(self, started: bool) -> None:
        # Steps in flight are not waited for: their ending wakes the loop.
        next_due = await self.jobs.next_due_at(tuple(self._inflight), self.lease)
        wait = min(self.idle_wait, QUEUE_LOOK_SECONDS)
        if next_due is not None:
            wait = max(0.0, min(wait, next_due - self.clock.now()))
        if wait == 0 and not started and self._inflight:
            wait = self.idle_wait  # due, but no room: a step ending makes some
        self._wake.clear()
        loop = asyncio.get_running_loop()
        wake_by = loop.time() + wait
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=wait)
        except TimeoutError:
            return  # a job's time has come: go at once
        # Woken by a step ending (or a new job): let others end too, then look once for all,
        # but never past the next job's time.
        await asyncio.sleep(min(PASS_GAP_SECONDS, max(0.0, wake_by - loop.time())))

    async def _guarded_step(self, job: Job) -> None:
        try:
            if job.state in POLLING:
                await self.step(job)  # holds a check slot around its provider call only
            else:
                await self._other_slots.acquire()
                self._holding.add(job.id)
                try:
                    await self.step(job)
                finally:
                    if job.id in self._holding:  # not while lent (see `_slot_lent`)
                        self._holding.discard(job.id)
                        self._other_slots.release()
        except asyncio.CancelledError:
            raise
        except ChannelGone as error:
            try:
                await self.steps.channel_gone(job, error)
            except Exception as recording:
                self._trouble(recording, "job %s: could not end it", job.id)
        except LeaseLost:
            log.warning("job %s: another worker holds it now; this one does not post", job.id)
        except Exception as error:
            if is_unreachable(error):
                # What this step did not write is done again, from the job as it stands, once
                # the database answers.
                self._outage.failed(error)
            else:
                try:
                    await self.steps.unexpected(job, error)
                except Exception as recording:
                    self._trouble(recording, "job %s: could not record the error", job.id)
        finally:
            if self.lease is not None:
                await self._release(job.id, self.lease)

    async def step(self, job: Job) -> None:
        """Move `job` one step forward, outside the loop's bounds (bot/jobs/steps.py)."""
        await self.steps.step(job)

    async def _release(self, job_id: int, lease: Lease) -> None:
        # The next step may be taken by any process; if this fails (or the database does not
        # answer: the step's slot is not held for it), the lease lapses instead.
        try:
            async with asyncio.timeout(lease.seconds / 3):
                await self.jobs.release_lease(job_id, lease)
        except Exception as error:
            self._trouble(error, "job %s: could not release its lease", job_id)

    def _trouble(self, error: BaseException, message: str, *args: object) -> None:
        """A failure of the worker's own bookkeeping: a database that does not answer is one
        line per outage; anything else is logged with its traceback."""
        if is_unreachable(error):
            self._outage.failed(error)
        else:
            log.warning(message, *args, exc_info=error)

    @contextlib.asynccontextmanager
    async def _slot_lent(self, job_id: int) -> AsyncIterator[None]:
        """Let other jobs use this delivery's slot while it waits for the encoder."""
        if job_id not in self._holding:
            yield  # run outside the loop's bound (a direct `step`): nothing to lend
            return
        self._holding.discard(job_id)
        self._lent.add(job_id)
        self._other_slots.release()
        self._wake.set()  # room for another step now
        try:
            yield
        finally:
            self._lent.discard(job_id)
            await self._other_slots.acquire()  # cancelled here (stopping): nothing held
            self._holding.add(job_id)
