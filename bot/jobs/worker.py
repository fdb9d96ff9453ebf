"""The background loop: submit queued jobs, poll running ones, deliver finished ones.

The database is the queue. Each pass picks the jobs whose `next_action_at` has come and moves
each one a single step; the result of every step is written before the next is taken, so a
restart resumes every unfinished job where it stood. One job's failure never stops the loop.

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
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

from bot import metrics
from bot.clock import Clock
from bot.i18n import Text
from bot.jobs.chat_port import ChannelGone, DeliveryError, JobPresenter, UploadTooLarge
from bot.jobs.store import JobStore, Lease
from bot.jobs.timings import PollSchedule
from bot.jobs.wording import outcome_notice, result_text, status_text
from bot.logging_setup import Scrubber
from bot.models import PENDING_AT_PROVIDER, Job, JobState
from bot.providers.base import (
    GenerationRequest,
    JobRejectedError,
    OutcomeUnknownError,
    ProviderHealth,
    ProviderMisconfiguredError,
    ProviderOutOfCreditsError,
    TransientProviderError,
    VideoProvider,
)
from bot.storage.outage import OutageNotice, is_unreachable
from bot.video.download import (
    DownloadFailed,
    TooLargeToUpload,
    VideoDownloader,
    provider_link_while_valid,
    upload_limit,
)
from bot.video.fitting import FitError
from bot.video.shelf import Prepared, VideoShelf

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300.0
# Delivery is not bound by the job deadline (the video exists); bound it by attempts instead.
MAX_DELIVERY_ATTEMPTS = 8
# Longest wait for one moderator alert: it is only a notice.
ALERT_TIMEOUT_SECONDS = 30.0
# A bug or unexpected answer must not retry forever either.
MAX_UNEXPECTED_ERRORS = 8
# On shutdown, how long steps in flight may take to finish before they are cancelled.
STOP_GRACE_SECONDS = 10.0
# Steps that wait on the database or Discord after their provider call, beyond the slots.
TASKS_PER_POLL_SLOT = 2
# Least time between two passes over the queue: many steps ending at once start one query.
PASS_GAP_SECONDS = 0.02

POLLING = (JobState.SUBMITTED, JobState.RUNNING)
OTHER_STEPS = (JobState.QUEUED, JobState.SUCCEEDED)
# A loop silent this long is stuck (a pass waits at most `idle_wait` between queries, and each
# query at most the database's 30 s busy timeout).
STALL_SECONDS = 60.0
# The largest original downloaded (to keep and compress); a bigger one is posted as its link.
SOURCE_MAX_BYTES = 1024 * 1024 * 1024


class LeaseLost(Exception):
    """This worker no longer holds the job it was moving: another one has taken it over."""


def backoff_delay(failures: int, base: float, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter, at least `retry_after` when the server asked for it."""
    delay = min(MAX_BACKOFF_SECONDS, base * (2 ** max(0, failures)))
    delay *= random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def retry_at(job: Job, wanted: float) -> float:
    """When to take `job` up again (a retry or the next poll): at `wanted`, but never after the
    deadline of a job still pending at the provider, so that it expires on time (delivery has
    no deadline)."""
    if job.state in PENDING_AT_PROVIDER:
        return min(wanted, job.deadline_at)
    return wanted


class Worker:
    def __init__(
        self,
        *,
        jobs: JobStore,
        provider: VideoProvider,
        presenter: JobPresenter,
        downloader: VideoDownloader,
        shelf: VideoShelf,
        clock: Clock,
        upload_limit_cap: int | None,
        status_edit_interval: float,
        concurrency: int,
        poll_concurrency: int | None = None,
        schedule: PollSchedule | None = None,
        idle_wait: float = 1.0,
        on_provider_unusable: Callable[[ProviderHealth], bool] | None = None,
        scrub: Callable[[str], str] | None = None,
        lease: Lease | None = None,
    ) -> None:
        self.jobs = jobs
        self.provider = provider
        self.presenter = presenter
        self.downloader = downloader
        self.shelf = shelf
        self.clock = clock
        self.upload_limit_cap = upload_limit_cap  # UPLOAD_LIMIT_MB; None: Discord's limit
        self.status_edit_interval = status_edit_interval
        self.idle_wait = idle_wait
        # Records a provider-wide problem; returns True when it is news (worth an alert).
        self.on_provider_unusable = on_provider_unusable
        # Provider reasons reach status messages, notices and alerts: never with a secret.
        self.scrub = scrub or Scrubber()
        # None: the configured gaps (`provider.poll_delay`), and nothing learned.
        self.schedule = schedule
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
        # The smallest poll gap is the backoff base: a gateway that wants 30 s between polls
        # must not be retried faster than that.
        min_gap = schedule.plan.min_gap if schedule is not None else 0.0
        self._backoff_base = max(0.05, min(provider.poll_seconds), min_gap)

    # -- loop ---------------------------------------------------------------------------------

    def wake(self) -> None:
        """Look for due work now (a job was just accepted)."""
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
        try:
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
            if renewer is not None:
                renewer.cancel()
                await asyncio.gather(renewer, return_exceptions=True)

    async def _renew_leases(self) -> None:
        """Renew the leases of the steps in flight at a third of their length, so a slow step
        (a long upload) keeps its job while a dead process's jobs are taken over. A step whose
        job this worker no longer holds stops at once: another worker has it now."""
        lease = self.lease
        assert lease is not None
        renewed_at = time.monotonic()
        while True:
            await asyncio.sleep(lease.seconds / 3)
            steps = dict(self._inflight)
            try:
                held = await self.jobs.renew_leases(tuple(steps), lease)
            except Exception as error:
                self._trouble(error, "could not renew job leases")
                if time.monotonic() - renewed_at + lease.seconds / 3 >= lease.seconds:
                    # Unrenewed, the leases may lapse before the next try: stop rather than
                    # work on beside a worker that takes the jobs over.
                    self._stop_steps(steps, "its lease could not be renewed")
                continue
            renewed_at = time.monotonic()
            self._stop_steps({i: t for i, t in steps.items() if i not in held}, "its lease is lost")

    def _stop_steps(self, steps: dict[int, asyncio.Task[None]], why: str) -> None:
        for job_id, task in steps.items():
            if self._inflight.get(job_id) is task and not task.done():
                log.warning("job %s: %s; this worker stops moving it", job_id, why)
                task.cancel()

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
        """Start a step for every due job not already being handled; return the new tasks."""
        now = self.clock.now()
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
        self._wake.set()

    async def _sleep_until_due(self, started: bool) -> None:
        # Steps in flight are not waited for: their ending wakes the loop.
        next_due = await self.jobs.next_due_at(tuple(self._inflight), self.lease)
        wait = self.idle_wait
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
            await self._channel_gone(job, error)
        except LeaseLost:
            log.warning("job %s: another worker holds it now; this one does not post", job.id)
        except Exception as error:
            if is_unreachable(error):
                # What this step did not write is done again, from the job as it stands, once
                # the database answers.
                self._outage.failed(error)
            else:
                try:
                    await self._unexpected(job, error)
                except Exception as recording:
                    self._trouble(recording, "job %s: could not record the error", job.id)
        finally:
            if self.lease is not None:
                await self._release(job.id, self.lease)

    async def _release(self, job_id: int, lease: Lease) -> None:
        # The next step may be taken by any process; if this fails, the lease lapses instead.
        try:
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

    # -- one step -----------------------------------------------------------------------------

    async def step(self, job: Job) -> None:
        """Move `job` one step forward."""
        if job.state in PENDING_AT_PROVIDER and await self.jobs.expire_if_overdue(job):
            await self._announce_end(job.id)
            return
        if job.provider != self.provider.name and job.state in PENDING_AT_PROVIDER:
            await self._other_providers_job(job)
            return
        if job.status_message_id is None:
            job = await self._refresh_status(job, force=True)
        if job.state is JobState.QUEUED:
            await self._submit(job)
        elif job.state in (JobState.SUBMITTED, JobState.RUNNING):
            await self._poll(job)
        elif job.state is JobState.SUCCEEDED:
            await self._deliver(job)

    async def _other_providers_job(self, job: Job) -> None:
        """PROVIDER was changed while this job was pending. A finished video (succeeded) is
        still delivered: that needs only its link."""
        if job.state is JobState.QUEUED:
            await self._fail(
                job,
                "provider_changed",
                "The bot's video service was changed before this job started; please ask again.",
            )
            return
        # Its task lives at the other service: do not poll the wrong one. At the deadline it
        # expires (checked first in `step`), releasing the quota, and the member is told.
        log.warning(
            "job %s belongs to provider %r, not %r; it waits for its deadline (set PROVIDER back "
            "to finish it)",
            job.id,
            job.provider,
            self.provider.name,
        )
        await self.jobs.reschedule(job, job.deadline_at, failed_attempt=False)

    async def _submit(self, job: Job) -> None:
        if job.model != self.provider.profile.model:
            await self._fail(
                job,
                "model_changed",
                "The bot's video model was changed before this job started; please ask again.",
            )
            return
        if job.submit_attempted and not self.provider.idempotent_create:
            log.warning(
                "job %s: a create was sent before a restart and this provider cannot say "
                "whether it started a task; a task may exist upstream",
                job.id,
            )
            await self._fail(
                job,
                "outcome_unknown",
                "The bot restarted while sending this job and cannot tell whether the video "
                "service received it.",
            )
            return
        claimed = await self.jobs.mark_submit_attempted(job)
        if not claimed and not self.provider.idempotent_create:
            return  # another worker (an old process still running) is sending it right now
        try:
            image = job.image
            reference_url = job.reference_url
            if image and reference_url is None:
                reference_url = await self.provider.prepare_reference(image, job.idempotency_key)
                # Kept so a retried create sends the same body under the same idempotency key.
                await self.jobs.record_reference(job, reference_url)
            task_id = await self.provider.create(
                GenerationRequest(
                    idempotency_key=job.idempotency_key,
                    model=job.model,
                    prompt=job.prompt,
                    orientation=job.options.orientation,
                    duration=job.options.duration,
                    quality=job.options.quality,
                    toggles=job.options.toggles,
                    reference_url=reference_url,
                    image=image,
                )
            )
        except OutcomeUnknownError as error:
            log.warning("job %s: create outcome unknown; a task may exist upstream", job.id)
            await self._fail(job, "outcome_unknown", error.user_message)
            return
        except TransientProviderError as error:
            # The provider said it did not take the job (busy, unreachable): safe to resend.
            await self._retry_later(job, error, resend_allowed=True)
            return
        except JobRejectedError as error:
            await self._reject(job, error)
            return
        now = self.clock.now()
        next_at = retry_at(job, now + await self._next_check_delay(job, now, 0))
        if await self.jobs.record_submitted(job, task_id, next_at):
            log.info("job %s submitted as provider task %s", job.id, task_id)
            await self._refresh_status(await self._reload(job))

    async def _poll(self, job: Job) -> None:
        assert job.provider_task_id is not None
        try:
            async with self._poll_slots:
                status = await self.provider.status(job.provider_task_id)
        except TransientProviderError as error:
            await self._retry_later(job, error)
            return
        except JobRejectedError as error:
            await self._reject(job, error)
            return
        now = self.clock.now()
        if status.state == "succeeded" and status.video_url:
            if await self.jobs.record_succeeded(job, status.video_url):
                await self._learn(job, status.took_seconds, now)
                await self._refresh_status(await self._reload(job), force=True)
                # Delivery is a step of its own (due now), under the small bound for
                # downloads and posts, so this check's slot is not held by a download.
            return
        if status.state == "failed":
            reason = status.failure_reason
            # No reason given: stored empty, so members read "gave no reason" in their language.
            await self._fail(job, "generation_failed", _sentence(reason) if reason else "")
            return
        state = JobState.RUNNING if status.state == "processing" else job.state
        next_at = retry_at(job, now + await self._next_check_delay(job, now, job.polls + 1))
        if await self.jobs.record_poll(job, state, status.progress, next_at):
            # What was just written, without reading it back.
            polled = replace(
                job,
                state=state,
                progress=status.progress,
                polls=job.polls + 1,
                next_action_at=next_at,
                transient_failures=0,
            )
            await self._refresh_status(polled)

    async def _next_check_delay(self, job: Job, now: float, polls_done: int) -> float:
        if self.schedule is None:
            return self.provider.poll_delay(polls_done)
        return await self.schedule.next_delay(job, now, polls_done)

    async def _learn(self, job: Job, took_seconds: float | None, now: float) -> None:
        """Keep how long the job took, for the schedule of later jobs of its kind."""
        if self.schedule is None or job.submitted_at is None:
            return
        # It finished between the previous check (the job's last write) and this one.
        earliest = (job.updated_at if job.polls else job.submitted_at) - job.submitted_at
        latest = now - job.submitted_at
        if took_seconds is None:
            took_seconds = (earliest + latest) / 2  # not reported: the unbiased guess
        # A reported time outside what was seen (another clock, a later edit) is not trusted.
        await self.schedule.times.record(job, min(max(took_seconds, earliest), latest))

    async def _deliver(self, job: Job) -> None:
        assert job.result_url is not None
        if job.delivery_started:
            existing = await self.presenter.find_posted_result(job)
            if existing is not None:
                log.info("job %s: found the result posted before a restart", job.id)
                await self._delivered(job, *existing)
                return
        await self.jobs.mark_delivery_started(job)
        # After a restart mid-delivery the kept copy is used again, not downloaded again.
        source = self.shelf.kept(job)
        if source is None:
            try:
                source = await self._download_and_keep(job)
            except OSError as error:  # e.g. the disk is full: the link still works
                log.warning(
                    "job %s: could not keep the video (%s); posting the link", job.id, error
                )
            except DownloadFailed as error:
                gave_up = error.permanent or job.transient_failures + 1 >= MAX_DELIVERY_ATTEMPTS
                if not gave_up:
                    await self._retry_later(job, error)
                    return
                log.warning(
                    "job %s: could not download the video (%s); posting the link", job.id, error
                )
        prepared = await self._prepare(job, source) if source is not None else None
        try:
            await self._post(job, prepared)
        finally:
            if prepared is not None:
                self.shelf.release(prepared)

    async def _download_and_keep(self, job: Job) -> Path | None:
        """Download the original onto the shelf; None if it is too big to take at all."""
        assert job.result_url is not None
        try:
            download = await self.downloader.fetch(job.result_url, SOURCE_MAX_BYTES)
        except TooLargeToUpload:
            log.warning(
                "job %s: the video is over %d bytes; posting the link", job.id, SOURCE_MAX_BYTES
            )
            return None
        kept = self.shelf.keep(job.id, download.path)
        await self.jobs.record_kept_video(job, kept, download.size)
        return kept

    async def _prepare(self, job: Job, source: Path) -> Prepared | None:
        """The file to upload within the job's limit; None (post the link) if it cannot be."""
        limit = upload_limit(job.upload_limit_bytes, self.upload_limit_cap)
        if not self.shelf.needs_fitting(source, limit):
            return await self.shelf.prepare(source, limit)
        await self._show_compressing(job)
        try:
            async with self._slot_lent(job.id):
                return await self.shelf.prepare(source, limit)
        except (FitError, OSError) as error:
            log.warning(
                "job %s: could not compress the video to fit %d bytes (%s); posting the link",
                job.id,
                limit,
                error,
            )
            return None

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

    async def _show_compressing(self, job: Job) -> None:
        """Say the video is being compressed (one edit, whatever the throttle)."""
        text = status_text(job, self.provider.profile, compressing=True)
        if text == job.status_text:
            return
        try:
            message_id = await self.presenter.show_status(job, text)
        except ChannelGone:
            raise  # the job ends (see `_guarded_step`)
        except DeliveryError as error:
            log.warning("job %s: status update failed: %s", job.id, error)
            return
        await self.jobs.record_status(job, message_id, text)

    async def _post(self, job: Job, prepared: Prepared | None) -> None:
        assert job.result_url is not None
        try:
            if prepared is not None:
                try:
                    await self._post_file(job, prepared)
                    return
                except UploadTooLarge:
                    log.info("job %s: the platform refused the file as too large", job.id)
                except DeliveryError as error:
                    if not error.permanent or isinstance(error, ChannelGone):
                        raise
                    # Refused for good with the file (e.g. a button it would not take): the
                    # link may still go through, and the member gets their video either way.
                    log.warning(
                        "job %s: the file post was refused (%s); posting the link", job.id, error
                    )
            await self._still_ours(job)
            message_id = await self.presenter.post_result(
                job, None, result_text(job, job.result_url)
            )
            await self._delivered(job, message_id, "link")
        except ChannelGone:
            raise  # the job ends (see `_guarded_step`)
        except DeliveryError as error:
            if error.permanent or job.transient_failures + 1 >= MAX_DELIVERY_ATTEMPTS:
                log.error("job %s: could not post the result: %s", job.id, error)
                await self._fail(
                    job,
                    "delivery_failed",
                    "The video was made but could not be posted in this channel.",
                )
                return
            await self._retry_later(job, error)

    async def _post_file(self, job: Job, prepared: Prepared) -> None:
        full_quality = None
        if prepared.compressed:
            full_quality = provider_link_while_valid(job, self.clock.now())
        text = result_text(
            job, None, compressed=prepared.compressed, full_quality=full_quality is not None
        )
        await self._still_ours(job)
        message_id = await self.presenter.post_result(
            job, prepared.path, text, full_quality_url=full_quality
        )
        await self._delivered(job, message_id, "fitted" if prepared.compressed else "file")

    async def _still_ours(self, job: Job) -> None:
        """Before a post, which cannot be taken back: this worker still holds the job (a slow
        download may have outlasted the lease, and another worker taken the job over)."""
        if self.lease is not None and not await self.jobs.holds_lease(job, self.lease):
            raise LeaseLost(job.id)

    async def _delivered(self, job: Job, message_id: int, kind: str) -> None:
        """Record the post; `kind` is "file", "fitted" (a compressed file) or "link"."""
        delivery = "link" if kind == "link" else "file"  # what the job records
        if await self.jobs.record_delivered(job, message_id, delivery):
            metrics.delivered(kind)
            log.info("job %s delivered as %s (message %s)", job.id, kind, message_id)
            await self._refresh_status(await self._reload(job), force=True)

    # -- outcomes -----------------------------------------------------------------------------

    async def _retry_later(self, job: Job, error: Exception, resend_allowed: bool = False) -> None:
        retry_after = getattr(error, "retry_after", None)
        delay = backoff_delay(job.transient_failures, self._backoff_base, retry_after)
        next_at = retry_at(job, self.clock.now() + delay)
        log.info("job %s: %s; retrying in %.1fs", job.id, error, next_at - self.clock.now())
        await self.jobs.reschedule(job, next_at, failed_attempt=True, resend_allowed=resend_allowed)

    async def _reject(self, job: Job, error: JobRejectedError) -> None:
        if isinstance(error, ProviderMisconfiguredError | ProviderOutOfCreditsError):
            await self._provider_unusable(job, error)
        await self._fail(job, _rejection_code(error), error.user_message)

    async def _provider_unusable(self, job: Job, error: JobRejectedError) -> None:
        """Stop accepting jobs that would fail the same way, and tell the moderators once."""
        out_of_credits = isinstance(error, ProviderOutOfCreditsError)
        code = self.scrub(error.code or "?")
        problem = (
            "the video service account is out of credits"
            if out_of_credits
            else f"the video service refused the API key ({code})"
        )
        alert = (
            Text("alerts.paused_credits")
            if out_of_credits
            else Text("alerts.paused_key", code=code)
        )
        log.error("job %s: %s", job.id, problem)
        if self.on_provider_unusable is not None and self.on_provider_unusable(
            ProviderHealth(
                key_ok=None if out_of_credits else False,
                model_available=None,
                detail=problem,
                out_of_credits=out_of_credits,
            )
        ):
            try:
                async with asyncio.timeout(ALERT_TIMEOUT_SECONDS):
                    await self.presenter.alert_moderators(alert)
            except Exception as alert_error:  # a notice: the job's own failure goes on
                log.warning("could not alert the moderators: %s", alert_error)

    async def _fail(self, job: Job, code: str, message: str) -> None:
        code, message = self.scrub(code), self.scrub(message)
        if await self.jobs.finish_unsuccessfully(job, JobState.FAILED, code, message):
            log.info("job %s failed (%s): %s", job.id, code, message)
            await self._announce_end(job.id)

    async def _announce_end(self, job_id: int) -> None:
        job = await self.jobs.get(job_id)
        assert job is not None
        await self._refresh_status(job, force=True)
        try:
            await self.presenter.notify_requester(job, outcome_notice(job))
        except ChannelGone:
            return  # nobody can read it there
        except DeliveryError as error:
            log.warning("job %s: could not notify the requester: %s", job.id, error)

    async def _channel_gone(self, job: Job, error: ChannelGone) -> None:
        """The job's channel was deleted: nothing can be posted there any more, so the job
        ends now, not delivered, and its hold is released (there is no one to tell)."""
        fresh = await self.jobs.get(job.id)
        if fresh is None or not fresh.is_active:
            return
        if await self.jobs.finish_unsuccessfully(
            fresh, JobState.FAILED, "no_channel_access", "The channel was deleted."
        ):
            log.info("job %s: its channel is gone (%s); ended, not delivered", job.id, error)

    async def _unexpected(self, job: Job, error: Exception) -> None:
        log.error("job %s: unexpected error in state %s", job.id, job.state, exc_info=error)
        fresh = await self.jobs.get(job.id)
        if fresh is None or not fresh.is_active:
            return
        if fresh.transient_failures + 1 >= MAX_UNEXPECTED_ERRORS:
            await self._fail(fresh, "internal_error", "Something went wrong inside the bot.")
            return
        await self._retry_later(fresh, error)

    # -- status message -----------------------------------------------------------------------

    async def _refresh_status(self, job: Job, force: bool = False) -> Job:
        """Edit the status message if its text changed and the throttle allows."""
        expected = await self.schedule.expected_ready_at(job) if self.schedule else None
        if expected is not None and expected <= self.clock.now():
            expected = None  # late: "expected 3 minutes ago" would help nobody
        text = status_text(job, self.provider.profile, expected_ready_at=expected)
        if text == job.status_text and job.status_message_id is not None:
            return job
        now = self.clock.now()
        recently = job.status_edited_at is not None and (
            now - job.status_edited_at < self.status_edit_interval
        )
        if recently and not force and job.status_message_id is not None:
            return job
        try:
            message_id = await self.presenter.show_status(job, text)
        except ChannelGone:
            raise  # the job ends (see `_guarded_step`)
        except DeliveryError as error:
            log.warning("job %s: status update failed: %s", job.id, error)
            return job
        await self.jobs.record_status(job, message_id, text)
        return await self._reload(job)

    async def _reload(self, job: Job) -> Job:
        fresh = await self.jobs.get(job.id)
        assert fresh is not None
        return fresh


def _sentence(reason: str) -> str:
    text = reason.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _rejection_code(error: JobRejectedError) -> str:
    """The code a refused job is failed with; the bot's own codes are said in each language
    (bot/jobs/wording.py), anything else quotes the service."""
    if isinstance(error, ProviderMisconfiguredError):
        return "provider_misconfigured"
    if isinstance(error, ProviderOutOfCreditsError):
        return "insufficient_credits"
    return error.code or "rejected"
