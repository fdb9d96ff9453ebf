"""Jobs for tests: a job store, a new job as /sora hands it to the store (values a test may
override), the quota period it is submitted under, a job row as the store reads it back, and a
job driven to delivered through the store's own steps."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.jobs.new_job import NewJob
from bot.jobs.queue import SlotCaps
from bot.jobs.store import JobStore
from bot.models import Actor, Job, JobOptions, JobState
from bot.quota.allowance import QuotaPeriod
from bot.storage.database import Database

DAY = QuotaPeriod("day", ZoneInfo("UTC"))  # the period of the allowances tests submit under


def make_store(
    db: Database,
    clock: Clock,
    *,
    provider: str = "rivya",
    model: str = "sora-2-pro",
    deadline_seconds: float = 1800,
    max_active_per_member: int = 2,
    max_active_per_guild: int | None = None,
    provider_max_active: int | None = None,
    max_queued_per_member: int = 0,
    max_queued_per_guild: int = 0,
) -> JobStore:
    """The job store on `db`, for jobs of `provider` that expire after `deadline_seconds`,
    under these caps on jobs at the video service; no queue unless given its limits."""
    return JobStore(
        db,
        clock,
        provider=provider,
        model=model,
        deadline_seconds=deadline_seconds,
        caps=SlotCaps(
            per_member=max_active_per_member,
            per_guild=max_active_per_guild,
            provider=provider_max_active,
            waiting_per_member=max_queued_per_member,
            waiting_per_guild=max_queued_per_guild,
        ),
    )


def new_job(
    user_id: int = 7,
    *,
    guild_id: int = 1,
    channel_id: int = 10,
    prompt: str = "a red fox in the snow",
    duration: int = 10,
    quality: str | None = "standard",
    public_locale: str | None = None,
) -> NewJob:
    """A landscape job of `user_id` in guild 1, channel 10."""
    return NewJob(
        by=Actor(guild_id, user_id),
        channel_id=channel_id,
        prompt=prompt,
        options=JobOptions("landscape", duration, quality),
        public_locale=public_locale,
    )


def make_job(**fields: object) -> Job:
    """A running job as the store reads it back, without a database; `fields` override."""
    base = dict(
        id=7,
        guild_id=1,
        channel_id=2,
        user_id=3,
        provider="rivya",
        model="sora-2-pro",
        prompt="a cat",
        options=JobOptions("portrait", 10, "standard"),
        image_path=None,
        image_name=None,
        image_mime=None,
        image_source_url=None,
        state=JobState.RUNNING,
        idempotency_key="k",
        submit_attempted=True,
        provider_task_id="t",
        progress=None,
        status_message_id=None,
        status_text=None,
        status_edited_at=None,
        reply_to_message_id=None,
        interaction_id=None,
        upload_limit_bytes=None,
        reference_url=None,
        result_url=None,
        result_message_id=None,
        delivery=None,
        delivery_started=False,
        delivery_started_at=None,
        error_code=None,
        error_message=None,
        transient_failures=0,
        polls=0,
        parent_job_id=None,
        next_action_at=0.0,
        deadline_at=0.0,
        created_at=0.0,
        updated_at=0.0,
        finished_at=None,
    )
    base.update(fields)
    return Job(**base)  # type: ignore[arg-type]


async def deliver(
    store: JobStore,
    job: Job,
    *,
    task_id: str = "task",
    next_action_at: float = 0.0,
    video_url: str = "https://v",
    kept_video: tuple[Path, int] | None = None,
    message_id: int = 1,
    delivery: str = "file",
) -> Job:
    """Move a queued `job` to delivered as the worker records it (sent, succeeded, optionally
    a kept copy, posted and charged); the delivered job as read back."""
    assert await store.record_submitted(job, task_id, next_action_at)
    submitted = await store.get(job.id)
    assert submitted is not None and await store.record_succeeded(submitted, video_url)
    succeeded = await store.get(job.id)
    assert succeeded is not None
    if kept_video is not None:
        assert await store.record_kept_video(succeeded, *kept_video)
        succeeded = await store.get(job.id)
        assert succeeded is not None
    assert await store.record_delivered(succeeded, message_id, delivery)
    delivered = await store.get(job.id)
    assert delivered is not None
    return delivered
