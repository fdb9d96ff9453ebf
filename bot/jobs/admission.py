"""Admission: every check a new job must pass, then the atomic write with its quota hold.

`/sora` and re-runs both come through here, so they obey exactly the same rules.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot import metrics
from bot.errors import Refusal, RefusalKind
from bot.i18n import Text
from bot.jobs.store import JobStore, NewJob
from bot.jobs.validation import (
    check_image_bytes,
    check_options,
    check_prompt,
    check_toggles,
    store_image,
)
from bot.models import Actor, Job, JobOptions, ReferenceImage
from bot.providers.base import ProviderHealth
from bot.providers.profiles import ModelProfile
from bot.quota.allowance import QuotaPolicy, guild_full_refusal

# Returns the provider's latest start-up/periodic check result.
HealthSource = Callable[[], ProviderHealth]
# When the first of a full server's jobs in progress is likely done (None: no estimate).
SlotEstimate = Callable[[list[Job], float], Awaitable[float | None]]


@dataclass(frozen=True)
class ImageUpload:
    """A reference image as received: bytes not yet checked."""

    data: bytes
    filename: str
    source_url: str | None


@dataclass(frozen=True)
class Ask:
    """What a member asked for, and where the answer goes."""

    prompt: str
    orientation: str
    duration: int
    quality: str | None
    channel_id: int
    toggles: dict[str, bool | None] = field(default_factory=dict)
    upload: ImageUpload | None = None
    stored_image: ReferenceImage | None = None  # a re-run reuses the original's kept image
    upload_limit_bytes: int | None = None
    reply_to_message_id: int | None = None
    parent_job_id: int | None = None
    # The command this job may answer with its status message (see cogs/_job_messages.py).
    interaction_id: int | None = None
    # The language of the job's public messages: the server's, resolved by the Discord glue.
    public_locale: str | None = None


class Submitter:
    def __init__(
        self,
        *,
        jobs: JobStore,
        policy: QuotaPolicy,
        profile: ModelProfile,
        media_dir: Path,
        health: HealthSource,
        slot_estimate: SlotEstimate | None = None,
    ) -> None:
        self.jobs = jobs
        self.policy = policy
        self.profile = profile
        self.media_dir = media_dir
        self.health = health
        self.slot_estimate = slot_estimate

    async def submit(self, actor: Actor, ask: Ask) -> Job:
        """Accept the job or raise `Refusal`; a refusal spends nothing."""
        try:
            job = await self._admit(actor, ask)
        except Refusal as refusal:
            metrics.job_refused(refusal.kind)
            if refusal.kind is RefusalKind.SERVER_BUSY:
                raise await self._with_free_slot(actor.guild_id, refusal) from None
            raise
        metrics.job_submitted()
        return job

    async def _admit(self, actor: Actor, ask: Ask) -> Job:
        self._check_service()
        prompt = check_prompt(self.profile, ask.prompt)
        quality = check_options(self.profile, ask.orientation, ask.duration, ask.quality)
        toggles = check_toggles(self.profile, ask.toggles)
        # Read without the write lock; `jobs.submit` checks the rest with its hold, atomically.
        allowance = await self.policy.admit(actor.guild_id, actor.user_id, actor.role_ids, prompt)
        image = ask.stored_image
        if ask.upload is not None:
            mime = check_image_bytes(self.profile, ask.upload.data)
            image = await asyncio.to_thread(
                store_image,
                self.media_dir,
                ask.upload.data,
                mime,
                ask.upload.filename,
                ask.upload.source_url,
            )
        try:
            return await self.jobs.submit(
                NewJob(
                    guild_id=actor.guild_id,
                    channel_id=ask.channel_id,
                    user_id=actor.user_id,
                    prompt=prompt,
                    options=JobOptions(ask.orientation, ask.duration, quality, toggles),
                    image=image,
                    upload_limit_bytes=ask.upload_limit_bytes,
                    reply_to_message_id=ask.reply_to_message_id,
                    interaction_id=ask.interaction_id,
                    parent_job_id=ask.parent_job_id,
                    public_locale=ask.public_locale,
                ),
                allowance,
            )
        except Refusal:
            if image is not None and ask.upload is not None:
                image.path.unlink(missing_ok=True)  # only the copy made for this attempt
            raise

    async def _with_free_slot(self, guild_id: int, refusal: Refusal) -> Refusal:
        """A full server's refusal, saying when a slot is likely to free up if that is known."""
        if self.slot_estimate is None:
            return refusal
        active = await self.jobs.active_in_guild(guild_id)
        free_at = await self.slot_estimate(active, self.jobs.clock.now())
        if free_at is None:
            return refusal
        return guild_full_refusal(len(active), free_at)

    def _check_service(self) -> None:
        health = self.health()
        if health.model_available is False:
            raise Refusal(
                Text("admission.model_unavailable", model=self.profile.model),
                RefusalKind.SERVICE_UNAVAILABLE,
            )
        if health.out_of_credits:
            raise Refusal(Text("admission.out_of_credits"), RefusalKind.SERVICE_UNAVAILABLE)
        if health.key_ok is False:
            raise Refusal(Text("admission.key_refused"), RefusalKind.SERVICE_UNAVAILABLE)
