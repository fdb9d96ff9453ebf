"""Deleting a finished video for good, the same way from every front end: the Delete button
(cogs/results.py) and the web (bot/web/decisions.py).

The member who asked for the video or a moderator may (bot/moderation/permissions.py). Every
post of the video goes: the result and each `/sora-show` repost, as the database records them
(never a message a button or a form names: a client can forge those), each removed through the
front end's `DeletePost`. Only then is the removal recorded (a moderator's removal of someone
else's video is audited) and the kept copy with its compressed copies discarded, and the kept
reference image too unless another live job still uses it. If the chat platform refuses a
post, nothing is recorded or discarded and the member is told (`Refusal`): they may try again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.errors import Refusal
from bot.i18n import Text
from bot.jobs.store import JobStore
from bot.models import Actor, Job, JobState
from bot.moderation.permissions import Moderators, video_removal_record
from bot.video.shelf import VideoShelf

log = logging.getLogger(__name__)

# Remove one post (channel id, message id): True once it is gone (a post already gone, or in
# a channel that is gone, counts), False if the chat platform refused.
DeletePost = Callable[[int, int], Awaitable[bool]]


class VideoRemoval:
    def __init__(self, *, jobs: JobStore, shelf: VideoShelf, moderators: Moderators) -> None:
        self.jobs = jobs
        self.shelf = shelf
        self.moderators = moderators

    def may_remove(self, actor: Actor, job: Job) -> bool:
        return self.moderators.may_manage_video(actor, job)

    async def posts(self, job: Job) -> list[tuple[int, int]]:
        """(channel id, message id) of every post of the job's video."""
        places = await self.jobs.reposts(job)
        if job.result_message_id:
            places.append((job.channel_id, job.result_message_id))
        return places

    async def remove(self, actor: Actor, job: Job, delete_post: DeletePost) -> None:
        """Delete the video of `job` as `actor`; `Refusal` says why not."""
        if not self.may_remove(actor, job):
            raise Refusal(Text("results.delete.not_yours"))
        if job.state is not JobState.DELIVERED or job.result_deleted_at is not None:
            raise Refusal(Text("results.delete.nothing_posted", job=job.id))
        for channel_id, message_id in await self.posts(job):
            if not await delete_post(channel_id, message_id):
                raise Refusal(Text("results.delete.refused"))
        await self.jobs.record_video_removed(job, actor.user_id, video_removal_record(actor, job))
        await asyncio.to_thread(self.shelf.discard, job)  # gone for good: the copies too
        if job.image_path is not None and not await self.jobs.image_needed_elsewhere(job):
            # Its reference image too, unless a re-run of it still needs it.
            await asyncio.to_thread(job.image_path.unlink, missing_ok=True)
        where = "on the web" if actor.via else "in Discord"
        log.info("job %s: video removed by %s %s", job.id, actor.user_id, where)
