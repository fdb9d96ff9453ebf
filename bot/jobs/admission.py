"""Admission: everything a new job must pass, then the atomic write with its quota hold.

`/sora` and re-runs both come through here, so they obey exactly the same rules.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

from bot import metrics
from bot.errors import Refusal, RefusalKind
from bot.i18n import Text
from bot.jobs.new_job import NewJob
from bot.jobs.store import JobStore
from bot.jobs.validation import (
    store_image,
    validate_image_bytes,
    validate_options,
    validate_prompt,
    validate_toggles,
)
from bot.models import Job
from bot.providers.base import ProviderHealth
from bot.providers.profiles import ModelProfile
from bot.quota.allowance import QuotaPolicy, guild_full_refusal

# The latest probe of the provider (at start-up, then every few minutes).
HealthSource = Callable[[], ProviderHealth]
# When the first of a full server's jobs in progress is likely done (None: no estimate).
SlotEstimate = Callable[[list[Job], float], Awaitable[float | None]]


@dataclass(frozen=True)
class ImageUpload:
    """A reference image as received: bytes not yet checked."""

    data: bytes
    filename: str
    source_url: str | None


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

    async def submit(self, new: NewJob, upload: ImageUpload | None = None) -> Job:
        """Accept the job or raise `Refusal`; a refusal spends nothing. `upload` is a
        reference image as received: it is checked and kept here."""
        async with self._refusals_counted(new):
            job = await self._admit(new, upload)
        metrics.job_submitted()
        return job

    async def preview(self, new: NewJob) -> None:
        """Raise now the `Refusal` that `submit` would raise for `new` as it stands, before
        the work a request needs from Discord (downloading its image, looking up the members
        its prompt mentions): a blocked member, a used-up quota or budget cost nothing. The
        prompt itself is checked by `submit`, once its mentions are written out."""
        async with self._refusals_counted(new):
            self._refuse_if_service_unusable()
            checked = self._options_checked(new)
            who = new.by
            allowance = await self.policy.admit(who.guild_id, who.user_id, who.role_ids, new.prompt)
            await self.jobs.preview(checked, allowance)

    @contextlib.asynccontextmanager
    async def _refusals_counted(self, new: NewJob) -> AsyncIterator[None]:
        try:
            yield
        except Refusal as refusal:
            metrics.job_refused(refusal.kind)
            if refusal.kind is RefusalKind.SERVER_BUSY:
                raise await self._with_free_slot(new.by.guild_id, refusal) from None
            raise

    def _options_checked(self, new: NewJob) -> NewJob:
        options = new.options
        return replace(
            new,
            options=replace(
                options,
                quality=validate_options(
                    self.profile, options.orientation, options.duration, options.quality
                ),
                toggles=validate_toggles(self.profile, options.toggles),
            ),
        )

    async def _admit(self, new: NewJob, upload: ImageUpload | None) -> Job:
        self._refuse_if_service_unusable()
        checked = self._options_checked(
            replace(new, prompt=validate_prompt(self.profile, new.prompt))
        )
        # Read without the write lock; `jobs.submit` checks the rest with its hold, atomically.
        who = new.by
        allowance = await self.policy.admit(who.guild_id, who.user_id, who.role_ids, checked.prompt)
        if upload is not None:
            mime = validate_image_bytes(self.profile, upload.data)
            image = await asyncio.to_thread(
                store_image, self.media_dir, upload.data, mime, upload.filename, upload.source_url
            )
            checked = replace(checked, image=image)
        try:
            return await self.jobs.submit(checked, allowance)
        except Refusal:
            if upload is not None and checked.image is not None:
                checked.image.path.unlink(missing_ok=True)  # only the copy made for this attempt
            raise

    async def _with_free_slot(self, guild_id: int, refusal: Refusal) -> Refusal:
        """A full server's refusal, saying when a slot is likely to free up if that is known."""
        if self.slot_estimate is None:
            return refusal
        active = await self.jobs.at_service_in_guild(guild_id)
        free_at = await self.slot_estimate(active, self.jobs.clock.now())
        if free_at is None:
            return refusal
        return guild_full_refusal(len(active), free_at)

    def _refuse_if_service_unusable(self) -> None:
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
