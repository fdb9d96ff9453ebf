"""Who may do what: who counts as a moderator, and who may manage a video.

Decided when the member asks, from what they have now (`Actor`): Discord's Manage Server
permission, or one of the moderator roles (`MOD_ROLE_IDS`).
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.errors import Refusal
from bot.i18n import Text
from bot.models import Actor, Job
from bot.storage.audit import Action

NOT_A_MODERATOR = Text("quota.refusal.not_moderator")


class Moderators:
    def __init__(self, role_ids: Iterable[int] = ()) -> None:
        self.role_ids = frozenset(role_ids)

    def includes(self, actor: Actor) -> bool:
        return actor.manage_guild or not self.role_ids.isdisjoint(actor.role_ids)

    def require(self, actor: Actor) -> None:
        """`Refusal` for anyone who is not a moderator."""
        if not self.includes(actor):
            raise Refusal(NOT_A_MODERATOR)

    def may_manage_video(self, actor: Actor, job: Job) -> bool:
        """The member who asked for a video, or a moderator, may delete it or show it again,
        and cancel it while it waits in the queue."""
        return actor.user_id == job.user_id or self.includes(actor)


def video_removal_record(actor: Actor, job: Job) -> Action | None:
    """What the audit log keeps of a video's removal: a moderator removing someone else's
    video is recorded; members removing their own are not."""
    if actor.user_id == job.user_id:
        return None
    return Action(
        action="remove_video",
        detail=Text("quota.action.remove_video", job=job.id, member=f"<@{job.user_id}>"),
        target_user_id=job.user_id,
        via=actor.via,
    )
