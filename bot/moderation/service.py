"""`/quota`'s decisions, free of Discord, for any front end: plain ids in, words out, or
`Refusal` for "no".

One object for the commands to hold: who may do what (bot/moderation/permissions.py), what
`/quota` shows (bot/moderation/views.py) and the moderators' actions, each run in one frame
that requires a moderator, checks the reason and records the change with it in one
transaction (bot/moderation/actions.py). Who is a moderator is decided when they ask, from
what they have now (see `Actor`).
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.clock import Clock
from bot.config import DEFAULT_MAX_QUOTA_LIMIT
from bot.jobs.store import JobStore
from bot.models import Actor, Job
from bot.moderation.actions import (
    Block,
    BlocklistAdd,
    BlocklistRemove,
    ClearLimit,
    ClearRole,
    Done,
    Grant,
    ModeratorAction,
    ModeratorActions,
    Reset,
    SetDefault,
    SetLanguage,
    SetLimit,
    SetPictures,
    SetRole,
    Unblock,
)
from bot.moderation.cancellation import cancel_waiting
from bot.moderation.permissions import Moderators
from bot.moderation.views import QuotaStatus, QuotaViews
from bot.quota.allowance import QuotaPolicy
from bot.storage import pictures as picture_rows
from bot.storage.database import Database


class ModerationService:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        jobs: JobStore,
        policy: QuotaPolicy,
        mod_role_ids: Iterable[int] = (),
        max_quota_limit: int = DEFAULT_MAX_QUOTA_LIMIT,
    ) -> None:
        self.db = db
        self.jobs = jobs
        self.policy = policy
        self.moderators = Moderators(mod_role_ids)
        self.views = QuotaViews(
            db=db, clock=clock, jobs=jobs, policy=policy, moderators=self.moderators
        )
        self.actions = ModeratorActions(
            db=db,
            clock=clock,
            policy=policy,
            moderators=self.moderators,
            ceiling=max_quota_limit,
        )

    @property
    def max_quota_limit(self) -> int:
        """MAX_QUOTA_LIMIT: the most any limit or grant may be, from any front end."""
        return self.actions.ceiling

    def is_moderator(self, actor: Actor) -> bool:
        return self.moderators.includes(actor)

    def may_manage_video(self, actor: Actor, job: Job) -> bool:
        return self.moderators.may_manage_video(actor, job)

    async def cancel_waiting(self, actor: Actor, job_id: int) -> Job:
        """Cancel a job waiting in its server's queue (its member, or a moderator); the
        cancelled job, or `Refusal` (bot/moderation/cancellation.py)."""
        return await cancel_waiting(self.jobs, self.moderators, actor, job_id)

    async def perform(
        self, actor: Actor, action: ModeratorAction, reason: str | None = None
    ) -> Done:
        """Any moderator action (bot/moderation/actions.py), in its frame."""
        return await self.actions.perform(actor, action, reason)

    # -- anyone ---------------------------------------------------------------------------

    async def status(
        self, actor: Actor, member_id: int, member_role_ids: tuple[int, ...]
    ) -> QuotaStatus:
        return await self.views.status(actor, member_id, member_role_ids)

    async def view(
        self,
        actor: Actor,
        member_id: int,
        member_role_ids: tuple[int, ...],
        locale: str | None = None,
    ) -> str:
        return await self.views.view(actor, member_id, member_role_ids, locale)

    # -- moderators: what they read ---------------------------------------------------------

    async def log(
        self,
        actor: Actor,
        member_id: int | None = None,
        page: int = 1,
        locale: str | None = None,
    ) -> str:
        return await self.views.log(actor, member_id, page, locale)

    async def blocklist_list(self, actor: Actor, page: int = 1, locale: str | None = None) -> str:
        return await self.views.blocklist_list(actor, page, locale)

    # -- moderators: what they change -------------------------------------------------------

    async def set_limit(
        self, actor: Actor, member_id: int, limit: int, reason: str | None = None
    ) -> Done:
        return await self.perform(actor, SetLimit(member_id, limit), reason)

    async def clear_limit(self, actor: Actor, member_id: int, reason: str | None = None) -> Done:
        return await self.perform(actor, ClearLimit(member_id), reason)

    async def set_default(
        self, actor: Actor, limit: int, period: str, reason: str | None = None
    ) -> Done:
        return await self.perform(actor, SetDefault(limit, period), reason)

    async def set_role(
        self, actor: Actor, role_id: int, limit: int, reason: str | None = None
    ) -> Done:
        return await self.perform(actor, SetRole(role_id, limit), reason)

    async def clear_role(self, actor: Actor, role_id: int, reason: str | None = None) -> Done:
        return await self.perform(actor, ClearRole(role_id), reason)

    async def grant(
        self, actor: Actor, member_id: int, amount: int, reason: str | None = None
    ) -> Done:
        return await self.perform(actor, Grant(member_id, amount), reason)

    async def reset(self, actor: Actor, member_id: int, reason: str | None = None) -> Done:
        return await self.perform(actor, Reset(member_id), reason)

    async def block(self, actor: Actor, member_id: int, reason: str | None = None) -> Done:
        return await self.perform(actor, Block(member_id), reason)

    async def unblock(self, actor: Actor, member_id: int, reason: str | None = None) -> Done:
        return await self.perform(actor, Unblock(member_id), reason)

    async def blocklist_add(self, actor: Actor, text: str, reason: str | None = None) -> Done:
        return await self.perform(actor, BlocklistAdd(text), reason)

    async def blocklist_remove(self, actor: Actor, text: str, reason: str | None = None) -> Done:
        return await self.perform(actor, BlocklistRemove(text), reason)

    async def set_language(self, actor: Actor, setting: str, reason: str | None = None) -> Done:
        return await self.perform(actor, SetLanguage(setting), reason)

    async def set_pictures(self, actor: Actor, setting: str, reason: str | None = None) -> Done:
        return await self.perform(actor, SetPictures(setting), reason)

    # -- anyone: what a setting allows ------------------------------------------------------

    async def others_pictures_allowed(self, guild_id: int) -> bool:
        """Whether "Make a video" may use a picture from another member's message here."""
        async with self.db.reading() as conn:
            return await picture_rows.others_allowed(conn, guild_id)
