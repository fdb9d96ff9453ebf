"""One step of one job: send it to the video service, check on it, deliver its video, or end it.

Each step moves the job once and writes the result before the next step is taken, so a
restart resumes every unfinished job where it stood. When steps run and how many at once is
the worker's (bot/jobs/worker.py): it hands the steps the slots they share, a status check
holding one only around its provider call, and a delivery lending its own while it waits for
the encoder. A failure is retried with backoff (never past the deadline of a job still pending
at the provider), or ends the job with a `FailureCode`, and the requester is told.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from pathlib import Path

from bot import metrics
from bot.clock import Clock
from bot.i18n import Text
from bot.jobs.chat_port import ChannelGone, ChatPort, DeliveryError
from bot.jobs.delivery import Offer, Original, VideoDelivery
from bot.jobs.status_messages import StatusMessages
from bot.jobs.store import JobStore, Lease
from bot.jobs.timings import PollSchedule
from bot.jobs.wording import outcome_notice, result_text
from bot.models import PENDING_AT_PROVIDER, FailureCode, Job, JobState
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
from bot.video.download import DownloadFailed, ResultRefused

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300.0
# Delivery is not bound by the job deadline (the video exists); bound it by attempts instead.
MAX_DELIVERY_ATTEMPTS = 8
# Longest wait for one moderator alert: it is only a notice.
ALERT_TIMEOUT_SECONDS = 30.0
# A bug or unexpected answer must not retry forever either.
MAX_UNEXPECTED_ERRORS = 8


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


class JobSteps:
    def __init__(
        self,
        *,
        jobs: JobStore,
        provider: VideoProvider,
        chat: ChatPort,
        delivery: VideoDelivery,
        status: StatusMessages,
        clock: Clock,
        check_slots: asyncio.Semaphore,
        lend_slot: Callable[[int], AbstractAsyncContextManager[None]],
        schedule: PollSchedule | None = None,
        on_provider_unusable: Callable[[ProviderHealth], bool] | None = None,
        scrub: Callable[[str], str],
        lease: Lease | None = None,
    ) -> None:
        self.jobs = jobs
        self.provider = provider
        self.chat = chat
        self.delivery = delivery
        self.status = status
        self.clock = clock
        # Held around each status check's provider call, and nothing else.
        self.check_slots = check_slots
        # Lends a step's slot to other jobs while it waits for the encoder.
        self.lend_slot = lend_slot
        # None: the configured gaps (`provider.poll_delay`), and nothing learned.
        self.schedule = schedule
        # Records a provider-wide problem; returns True when it is news (worth an alert).
        self.on_provider_unusable = on_provider_unusable
        # Provider reasons reach status messages, notices and alerts: never with a secret.
        self.scrub = scrub
        # Several processes on one database: this worker's claim on the jobs it moves.
        self.lease = lease
        # The smallest poll gap is the backoff base: a gateway that wants 30 s between polls
        # must not be retried faster than that.
        min_gap = schedule.plan.min_gap if schedule is not None else 0.0
        self._backoff_base = max(0.05, min(provider.poll_seconds), min_gap)

    async def step(self, job: Job) -> None:
        """Move `job` one step forward."""
        if job.state in PENDING_AT_PROVIDER and await self.jobs.expire_if_overdue(job):
            await self._announce_end(job.id)
            return
        if job.provider != self.provider.name and job.state in PENDING_AT_PROVIDER:
            await self._other_providers_job(job)
            return
        if job.status_message_id is None:
            job = await self.status.refresh(job, force=True)
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
                FailureCode.PROVIDER_CHANGED,
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
                FailureCode.MODEL_CHANGED,
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
                FailureCode.OUTCOME_UNKNOWN,
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
            await self._fail(job, FailureCode.OUTCOME_UNKNOWN, error.user_message)
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
            await self.status.refresh(await self._reload(job))

    async def _poll(self, job: Job) -> None:
        assert job.provider_task_id is not None
        try:
            async with self.check_slots:
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
                await self.status.refresh(await self._reload(job), force=True)
                # Delivery is a step of its own (due now), under the small bound for
                # downloads and posts, so this check's slot is not held by a download.
            return
        if status.state == "failed":
            reason = status.failure_reason
            # No reason given: stored empty, so members read "gave no reason" in their language.
            await self._fail(
                job, FailureCode.GENERATION_FAILED, _sentence(reason) if reason else ""
            )
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
            await self.status.refresh(polled)

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
            existing = await self.chat.find_posted_result(job)
            if existing is not None:
                log.info("job %s: found the result posted before a restart", job.id)
                await self._delivered(job, *existing)
                return
        await self.jobs.mark_delivery_started(job)
        original = Original(job)
        try:
            original = await self.delivery.keep_original(job)
        except ResultRefused as error:
            await self._refused_result(job, error)
            return
        except DownloadFailed as error:
            gave_up = error.permanent or job.transient_failures + 1 >= MAX_DELIVERY_ATTEMPTS
            if not gave_up:
                await self._retry_later(job, error)
                return
            log.warning(
                "job %s: could not download the video (%s); posting the link", job.id, error
            )
        job = original.job
        try:
            posted = await self.delivery.post_best(
                job,
                job.upload_limit_bytes,
                functools.partial(self._post_result, job),
                member_waiting=False,
                while_encoding=functools.partial(self._while_encoding, job),
                unkept=original.unkept,
            )
        except ChannelGone:
            raise  # the job ends (see `channel_gone`)
        except DeliveryError as error:
            if error.permanent or job.transient_failures + 1 >= MAX_DELIVERY_ATTEMPTS:
                log.error("job %s: could not post the result: %s", job.id, error)
                await self._fail(
                    job,
                    FailureCode.DELIVERY_FAILED,
                    "The video was made but could not be posted in this channel.",
                )
                return
            await self._retry_later(job, error)
            return
        finally:
            _remove(original.unkept)  # a download not kept (the disk is below its floor)
        await self._delivered(job, posted.message, posted.kind)

    async def _refused_result(self, job: Job, error: ResultRefused) -> None:
        """What the link gave is not a video (or led off limits): tried again like a network
        error until the job's deadline, then the job ends without a video and without its
        link (it does not lead to one), and the hold is released."""
        now = self.clock.now()
        if job.transient_failures == 0 or now < job.deadline_at:
            wanted = now + backoff_delay(job.transient_failures, self._backoff_base)
            # The last try at the deadline (past it already: one more try after the backoff).
            next_at = wanted if now >= job.deadline_at else min(wanted, job.deadline_at)
            log.info("job %s: %s; trying again in %.1fs", job.id, error, next_at - now)
            await self.jobs.reschedule(job, next_at, failed_attempt=True)
            return
        log.warning("job %s: the result is not a video (%s); not delivered", job.id, error)
        await self._fail(
            job,
            FailureCode.NOT_A_VIDEO,
            "The video service sent back something that is not a playable video.",
        )

    async def _post_result(self, job: Job, offer: Offer) -> int:
        full_quality = offer.full_quality_url is not None
        text = result_text(job, offer.link, compressed=offer.compressed, full_quality=full_quality)
        # A post cannot be taken back: this worker must still hold the job (a slow download
        # may have outlasted the lease, and another worker taken the job over).
        if self.lease is not None and not await self.jobs.holds_lease(job, self.lease):
            raise LeaseLost(job.id)
        return await self.chat.post_result(
            job, offer.video, text, full_quality_url=offer.full_quality_url
        )

    @contextlib.asynccontextmanager
    async def _while_encoding(self, job: Job) -> AsyncIterator[None]:
        """Say the video is being compressed, and lend the slot until the encoder is done."""
        await self.status.show_compressing(job)
        async with self.lend_slot(job.id):
            yield

    async def _delivered(self, job: Job, message_id: int, kind: str) -> None:
        """Record the post; `kind` is "file", "fitted" (a compressed file) or "link"."""
        delivery = "link" if kind == "link" else "file"  # what the job records
        if await self.jobs.record_delivered(job, message_id, delivery):
            metrics.delivered(kind)
            log.info("job %s delivered as %s (message %s)", job.id, kind, message_id)
            await self.status.refresh(await self._reload(job), force=True)

    # -- outcomes -----------------------------------------------------------------------------

    async def _retry_later(self, job: Job, error: Exception, resend_allowed: bool = False) -> None:
        retry_after = getattr(error, "retry_after", None)
        delay = backoff_delay(job.transient_failures, self._backoff_base, retry_after)
        next_at = retry_at(job, self.clock.now() + delay)
        log.info("job %s: %s; retrying in %.1fs", job.id, error, next_at - self.clock.now())
        await self.jobs.reschedule(job, next_at, failed_attempt=True, resend_allowed=resend_allowed)
        if job.state is JobState.QUEUED:
            # It may still show its place in the queue (and a Cancel button): it has left it.
            await self.status.refresh(job)

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
                    await self.chat.alert_moderators(alert)
            except Exception as alert_error:  # a notice: the job's own failure goes on
                log.warning("could not alert the moderators: %s", alert_error)

    async def _fail(self, job: Job, code: FailureCode | str, message: str) -> None:
        """Fail the job with one of the bot's codes, or a code the video service sent."""
        code, message = self.scrub(code), self.scrub(message)
        if await self.jobs.finish_unsuccessfully(job, JobState.FAILED, code, message):
            log.info("job %s failed (%s): %s", job.id, code, message)
            await self._announce_end(job.id)

    async def _announce_end(self, job_id: int) -> None:
        job = await self.jobs.get(job_id)
        assert job is not None
        await self.status.refresh(job, force=True)
        try:
            await self.chat.notify_requester(job, outcome_notice(job))
        except ChannelGone:
            return  # nobody can read it there
        except DeliveryError as error:
            log.warning("job %s: could not notify the requester: %s", job.id, error)

    async def channel_gone(self, job: Job, error: ChannelGone) -> None:
        """The job's channel was deleted: nothing can be posted there any more, so the job
        ends now, not delivered, and its hold is released (there is no one to tell)."""
        fresh = await self.jobs.get(job.id)
        if fresh is None or not fresh.is_active:
            return
        if await self.jobs.finish_unsuccessfully(
            fresh, JobState.FAILED, FailureCode.NO_CHANNEL_ACCESS, "The channel was deleted."
        ):
            log.info("job %s: its channel is gone (%s); ended, not delivered", job.id, error)

    async def unexpected(self, job: Job, error: Exception) -> None:
        """A step ended in an error nobody expected (a bug): try again later, a few times."""
        log.error("job %s: unexpected error in state %s", job.id, job.state, exc_info=error)
        fresh = await self.jobs.get(job.id)
        if fresh is None or not fresh.is_active:
            return
        if fresh.transient_failures + 1 >= MAX_UNEXPECTED_ERRORS:
            await self._fail(
                fresh, FailureCode.INTERNAL_ERROR, "Something went wrong inside the bot."
            )
            return
        await self._retry_later(fresh, error)

    async def _reload(self, job: Job) -> Job:
        fresh = await self.jobs.get(job.id)
        assert fresh is not None
        return fresh


def _remove(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)


def _sentence(reason: str) -> str:
    text = reason.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _rejection_code(error: JobRejectedError) -> FailureCode | str:
    """The code a refused job is failed with; the bot's own codes are said in each language
    (bot/jobs/wording.py), anything else quotes the service."""
    if isinstance(error, ProviderMisconfiguredError):
        return FailureCode.PROVIDER_MISCONFIGURED
    if isinstance(error, ProviderOutOfCreditsError):
        return FailureCode.INSUFFICIENT_CREDITS
    return error.code or FailureCode.REJECTED
