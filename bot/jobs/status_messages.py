"""Each job's public status message, kept in step with the job as the worker moves it.

The message is edited only when its words change, and at most once per `edit_interval` unless
the change matters now (`force`: a job sent, a video ready, an end), so a job checked every few
seconds does not spend Discord's rate limits on progress ticks. The expected ready time comes
from the learned schedule (bot/jobs/timings.py) when one is given.
"""

from __future__ import annotations

import logging

from bot.clock import Clock
from bot.jobs.chat_port import ChannelGone, ChatPort, DeliveryError
from bot.jobs.store import JobStore
from bot.jobs.timings import PollSchedule
from bot.jobs.wording import status_text
from bot.models import Job
from bot.providers.profiles import ModelProfile

log = logging.getLogger(__name__)


class StatusMessages:
    def __init__(
        self,
        *,
        jobs: JobStore,
        chat: ChatPort,
        profile: ModelProfile,
        clock: Clock,
        edit_interval: float,
        schedule: PollSchedule | None = None,
    ) -> None:
        self.jobs = jobs
        self.chat = chat
        self.profile = profile
        self.clock = clock
        self.edit_interval = edit_interval
        self.schedule = schedule

    async def refresh(self, job: Job, force: bool = False) -> Job:
        """Edit the status message if its text changed and the throttle allows; return the
        job as it now stands."""
        text = await self._text(job)
        if text == job.status_text and job.status_message_id is not None:
            return job
        now = self.clock.now()
        recently = job.status_edited_at is not None and (
            now - job.status_edited_at < self.edit_interval
        )
        if recently and not force and job.status_message_id is not None:
            return job
        try:
            message_id = await self.chat.show_status(job, text)
        except ChannelGone:
            raise  # the job ends (bot/jobs/steps.py: `channel_gone`)
        except DeliveryError as error:
            log.warning("job %s: status update failed: %s", job.id, error)
            return job
        await self.jobs.record_status(job, message_id, text)
        fresh = await self.jobs.get(job.id)
        assert fresh is not None
        return fresh

    async def repair(self, job: Job) -> None:
        """Show the job as it stands now, whatever was recorded as shown: another edit (the
        queue's, made as the job left it) may have landed after the one recorded."""
        text = await self._text(job)
        try:
            message_id = await self.chat.show_status(job, text)
        except DeliveryError as error:
            log.warning("job %s: status update failed: %s", job.id, error)
            return
        await self.jobs.record_status(job, message_id, text)

    async def _text(self, job: Job) -> str:
        expected = await self.schedule.expected_ready_at(job) if self.schedule else None
        if expected is not None and expected <= self.clock.now():
            expected = None  # late: "expected 3 minutes ago" would help nobody
        return status_text(job, self.profile, expected_ready_at=expected)

    async def show_compressing(self, job: Job) -> None:
        """Say the video is being compressed (one edit, whatever the throttle)."""
        text = status_text(job, self.profile, compressing=True)
        if text == job.status_text:
            return
        try:
            message_id = await self.chat.show_status(job, text)
        except ChannelGone:
            raise  # the job ends (bot/jobs/steps.py: `channel_gone`)
        except DeliveryError as error:
            log.warning("job %s: status update failed: %s", job.id, error)
            return
        await self.jobs.record_status(job, message_id, text)
