"""Jobs for tests: a new job as /sora hands it to the store (values a test may override), the
quota period it is submitted under, and a job row as the store reads it back."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.jobs.store import NewJob
from bot.models import Job, JobOptions, JobState
from bot.quota.allowance import QuotaPeriod

DAY = QuotaPeriod("day", ZoneInfo("UTC"))  # the period of the allowances tests submit under


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
        guild_id=guild_id,
        channel_id=channel_id,
        user_id=user_id,
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
