"""Cancelling a waiting job: who may, and what they are told when it cannot be cancelled.

The member who asked for the job, or a moderator, may cancel it while it waits in its server's
queue: it ends as cancelled and its quota unit is given back, with nothing sent to the video
service. Once the job has its slot it is at the video service, which has no cancel.
"""

from __future__ import annotations

from bot.errors import Refusal
from bot.i18n import Text
from bot.jobs.store import JobStore
from bot.models import Actor, Job, JobState
from bot.moderation.permissions import Moderators

JOB_GONE = Text("results.job_gone")


async def cancel_waiting(jobs: JobStore, moderators: Moderators, actor: Actor, job_id: int) -> Job:
    """Cancel job `job_id` for `actor`; the cancelled job, or `Refusal` saying why not."""
    job = await jobs.get(job_id)
    if job is None or job.guild_id != actor.guild_id:
        raise Refusal(JOB_GONE)
    if not moderators.may_manage_video(actor, job):
        raise Refusal(Text("queue.cancel.not_yours", job=job.id))
    if await jobs.cancel(job, actor.user_id):
        cancelled = await jobs.get(job.id)
        assert cancelled is not None
        return cancelled
    now = await jobs.get(job.id)  # it moved on before the click: say where it is
    raise Refusal(why_not_cancelled(now or job))


def why_not_cancelled(job: Job) -> Text:
    """Why a job that is no longer waiting cannot be cancelled."""
    if job.state in (JobState.QUEUED, JobState.SUBMITTED, JobState.RUNNING):
        return Text("queue.cancel.at_service", job=job.id)
    if job.state in (JobState.SUCCEEDED, JobState.DELIVERED):
        return Text("queue.cancel.made", job=job.id)
    return Text("queue.cancel.ended", job=job.id)
