"""Admission for tests: the `Submitter` as /sora uses it, who asks, and what they ask for."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.jobs.admission import SlotEstimate, Submitter
from bot.jobs.new_job import NewJob
from bot.jobs.store import JobStore
from bot.models import Actor, JobOptions
from bot.providers.base import ProviderHealth
from bot.providers.profiles import RIVYA_SORA_2_PRO
from bot.quota.allowance import QuotaDefaults, QuotaPolicy

UTC = ZoneInfo("UTC")
MEMBER = Actor(guild_id=1, user_id=7)
HEALTHY = ProviderHealth(True, True, "ok")


def make_submitter(
    store: JobStore,
    media_dir: Path,
    health: ProviderHealth = HEALTHY,
    *,
    limit: int = 1,
    period: str = "day",
    timezone: ZoneInfo = UTC,
    cooldown_seconds: float = 0.0,
    slot_estimate: SlotEstimate | None = None,
) -> Submitter:
    """Admission of Rivya Sora 2 Pro jobs into `store` (whose caps bound the jobs at the
    video service), under a quota of `limit` videos per `period` for every member (no rules
    of the guild's own yet)."""
    defaults = QuotaDefaults(limit, period, timezone, cooldown_seconds)
    return Submitter(
        jobs=store,
        policy=QuotaPolicy(store.db, defaults),
        profile=RIVYA_SORA_2_PRO,
        media_dir=media_dir,
        health=lambda: health,
        slot_estimate=slot_estimate,
    )


def ask(
    prompt: str = "waves at dusk",
    *,
    by: Actor = MEMBER,
    orientation: str = "landscape",
    duration: int = 10,
    quality: str | None = None,
    toggles: dict[str, bool] | None = None,
    **fields: Any,
) -> NewJob:
    """A landscape 10-second video asked by `by` (MEMBER) in channel 5 at the model's default
    quality; `fields` override any other part of the new job."""
    options = JobOptions(orientation, duration, quality, dict(toggles or {}))
    return replace(NewJob(by, channel_id=5, prompt=prompt, options=options), **fields)
