"""Jobs for tests: a new job as /sora hands it to the store, with values a test may override,
and the quota period it is submitted under."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.jobs.store import NewJob
from bot.models import JobOptions
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
