"""Who may do what: who counts as a moderator, and who may manage a video."""

from __future__ import annotations

from bot.i18n import Text
from bot.models import Actor, Job
from bot.storage.audit import Action

NOT_A_MODERATOR = Text("quota.refusal.not_moderator")


def video_removal_record(actor: Actor, job: Job) -> Action | None:
    """What the audit log keeps of a video's removal: a moderator removing someone else's
    video is recorded; members removing their own are not."""
    if actor.user_id == job.user_id:
        return None
    return Action(
        action="remove_video",
        detail=Text("quota.action.remove_video", job=job.id, member=f"<@{job.user_id}>"),
        target_user_id=job.user_id,
    )
