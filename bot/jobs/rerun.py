"""Re-running a finished job: same prompt and settings (or, for a remix, the member's edits
of prompt, orientation and duration), charged to whoever asked.

The source job is found through the database (by its result or status message id), so a
re-run works on messages posted before a restart, with no message cache.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from bot.errors import Refusal
from bot.i18n import Text
from bot.jobs.admission import Submitter
from bot.jobs.new_job import NewJob
from bot.jobs.store import JobStore
from bot.models import Actor, Job, JobState, ReferenceImage


async def find_job_by_message(jobs: JobStore, guild_id: int, message_id: int) -> Job | None:
    """The job whose result, status message or /sora-show repost is `message_id`."""
    return await jobs.by_message(guild_id, message_id)


@dataclass(frozen=True)
class Remix:
    """What a member changed in a re-run (the rest is the original's)."""

    prompt: str
    orientation: str
    duration: int


def check_rerunnable(source: Job, *, image_retention_days: float) -> ReferenceImage | None:
    """Refuse a video that cannot be made again; else the reference image to reuse."""
    if source.result_deleted_at is not None:
        raise Refusal(Text("results.rerun.removed", job=source.id))
    if source.state is not JobState.DELIVERED:
        raise Refusal(Text("results.rerun.no_video", job=source.id))
    image = source.image
    if image is None:
        return None
    if not image.path.is_file():
        raise Refusal(
            Text("results.rerun.image_gone", job=source.id, days=f"{image_retention_days:g}")
        )
    # The original link has likely expired; the caller re-hosts the image.
    return replace(image, source_url=None)


@dataclass(frozen=True)
class Where:
    """Where a re-run's status message and video go, when not where the original's went: the
    channel a button was pressed in (a /sora-show repost elsewhere), replying to that post."""

    channel_id: int
    reply_to_message_id: int | None


async def rerun(
    submitter: Submitter,
    source: Job,
    actor: Actor,
    *,
    image_retention_days: float,
    remix: Remix | None = None,
    upload_limit_bytes: int | None = None,
    public_locale: str | None = None,
    where: Where | None = None,
    name_mentions: Callable[[str], Awaitable[str]] | None = None,
) -> Job:
    """Accept a re-run (or, with `remix`, an edited re-run) of `source` for `actor`, or raise
    `Refusal`. `upload_limit_bytes` is Discord's limit where the re-run was asked for (none
    for a reaction: then the original job's); `public_locale` is the server's language now.
    `name_mentions` writes out the mentions a member typed in a remix's prompt, once the
    checks that need no look-up have passed."""
    image = check_rerunnable(source, image_retention_days=image_retention_days)
    options = source.options
    if remix is not None:
        options = replace(options, orientation=remix.orientation, duration=remix.duration)
    new = NewJob(
        by=actor,
        channel_id=where.channel_id if where else source.channel_id,
        prompt=remix.prompt if remix else source.prompt,
        options=options,
        image=image,
        upload_limit_bytes=upload_limit_bytes or source.upload_limit_bytes,
        reply_to_message_id=(
            where.reply_to_message_id
            if where
            else source.result_message_id or source.status_message_id
        ),
        parent_job_id=source.id,
        public_locale=public_locale,
    )
    if name_mentions is not None:
        await submitter.preview(new)  # a refused re-run looks no one up
        new = replace(new, prompt=await name_mentions(new.prompt))
    # One re-run per member and video at a time: checked by `JobStore.submit`, atomically.
    return await submitter.submit(new)
