"""Every call the web makes into the moderation decisions, in one place.

The web is another face on the same decisions as the Discord commands: a quota change here is
the `/quota` action itself, run in the moderation frame (bot/moderation/actions.py: the same
rules, ceilings and audit record, marked as taken on the web), and removing a video is the
Delete button's removal (bot/moderation/removal.py: the same rule on who may, the same
record, the same removal of its posts and kept copy).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from bot.errors import Refusal
from bot.i18n import Text
from bot.models import VIA_WEB, Actor, Job
from bot.moderation import audit
from bot.moderation.actions import (
    MAX_REASON_CHARS,
    PERIODS,
    PICTURE_SETTINGS,
    Block,
    BlocklistAdd,
    BlocklistRemove,
    ClearLimit,
    ClearRole,
    Done,
    Grant,
    ModeratorAction,
    Reset,
    SetDefault,
    SetLanguage,
    SetLimit,
    SetPictures,
    SetRole,
    Unblock,
)
from bot.moderation.languages import server_choices
from bot.moderation.log_channel import LogChannel, LogChannelUnavailable
from bot.moderation.removal import VideoRemoval
from bot.moderation.service import ModerationService
from bot.moderation.views import status_lines
from bot.storage.audit import LogEntry
from bot.web.access import Standing
from bot.web.discord_api import DiscordApi, DiscordUnavailable

log = logging.getLogger(__name__)

# What a setting may be.
QUOTA_PERIODS = PERIODS
LANGUAGE_CHOICES = server_choices()
PICTURE_CHOICES = PICTURE_SETTINGS


async def pictures_setting(moderation: ModerationService, guild_id: int) -> str:
    """Whose messages "Make a video" takes pictures from here, as `/quota pictures` sets it."""
    anyone = await moderation.others_pictures_allowed(guild_id)
    return PICTURE_SETTINGS[1] if anyone else PICTURE_SETTINGS[0]


def form_limits(moderation: ModerationService) -> dict[str, int]:
    """The ceilings the forms show; the moderation frame enforces them (MAX_QUOTA_LIMIT for
    every limit and grant, whichever front end asks)."""
    most = moderation.max_quota_limit
    return {"most_limit": most, "most_grant": most, "most_reason": MAX_REASON_CHARS}


def log_line(entry: LogEntry, locale: str) -> str:
    """An entry of the quota log in the words `/quota log` uses."""
    return audit.describe(entry, locale)


def actor_of(standing: Standing) -> Actor:
    return Actor(
        guild_id=standing.guild_id,
        user_id=standing.user_id,
        role_ids=standing.member.role_ids,
        manage_guild=standing.manage_guild,
        via=VIA_WEB,
    )


def is_moderator(moderation: ModerationService, standing: Standing) -> bool:
    """Manage Server (Administrator and the owner included) or a role in MOD_ROLE_IDS."""
    return moderation.is_moderator(actor_of(standing))


async def quota_lines(
    moderation: ModerationService,
    standing: Standing,
    member_id: int,
    member_roles: tuple[int, ...],
    locale: str,
) -> list[str]:
    """`/quota view` of a member, line by line, as a moderator sees it."""
    actor = actor_of(standing)
    status = await moderation.status(actor, member_id, member_roles)
    return status_lines(status, show_block_reason=moderation.is_moderator(actor), locale=locale)


def _number(form: Mapping[str, str], name: str) -> int:
    """A whole number as typed (a minus sign allowed); the action's own checks and the
    operator's ceiling (up to 1,000,000) decide whether it is too large."""
    text = (form.get(name) or "").strip()
    digits = text.removeprefix("-")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 7:
        raise Refusal(Text("web.refusal.number"))
    return int(text)


def _reason(form: Mapping[str, str]) -> str | None:
    return form.get("reason") or None


# Each quota action the dashboard's forms post, as the `/quota` command's action value; the
# moderation frame (bot/moderation/actions.py) checks, applies and records it.
BuildAction = Callable[[int | None, Mapping[str, str]], ModeratorAction]
QUOTA_ACTIONS: dict[str, BuildAction] = {
    "set": lambda who, f: SetLimit(_target(who), _number(f, "limit")),
    "clear": lambda who, f: ClearLimit(_target(who)),
    "grant": lambda who, f: Grant(_target(who), _number(f, "amount")),
    "reset": lambda who, f: Reset(_target(who)),
    "block": lambda who, f: Block(_target(who)),
    "unblock": lambda who, f: Unblock(_target(who)),
    "role": lambda who, f: SetRole(_target(who), _number(f, "limit")),
    "role-clear": lambda who, f: ClearRole(_target(who)),
    "default": lambda who, f: SetDefault(_number(f, "limit"), f.get("period", "")),
    "blocklist-add": lambda who, f: BlocklistAdd(f.get("text", "")),
    "blocklist-remove": lambda who, f: BlocklistRemove(f.get("text", "")),
    "language": lambda who, f: SetLanguage(f.get("setting", "")),
    "pictures": lambda who, f: SetPictures(f.get("setting", "")),
}


def _target(target_id: int | None) -> int:
    if target_id is None:
        raise Refusal(Text("web.refusal.no_target"))
    return target_id


async def act(
    moderation: ModerationService,
    standing: Standing,
    action: str,
    target_id: int | None,
    form: Mapping[str, str],
) -> Done:
    """Run one quota action as the moderator `standing`, in the moderation frame (a
    `Refusal` says why not); its record says it was taken on the web."""
    build = QUOTA_ACTIONS.get(action)
    if build is None:
        raise Refusal(Text("web.refusal.unknown_action"))
    return await moderation.perform(actor_of(standing), build(target_id, form), _reason(form))


class WebLogChannel:
    """The web's way to the moderators' log channel: Discord's REST API, for the rule in
    bot/moderation/log_channel.py, as `/quota` posts there."""

    def __init__(self, api: DiscordApi, standing: Standing) -> None:
        self.api = api
        self.standing = standing

    async def describe(self, channel_id: int) -> LogChannel:
        try:
            channel = await self.api.channel(channel_id)
        except DiscordUnavailable as error:
            raise LogChannelUnavailable(str(error)) from error
        if channel is None:
            raise LogChannelUnavailable("the channel is gone")
        # The server's own language is known for the server the moderator acts in; a line
        # is only ever posted there (another server's channel gets nothing).
        here = channel.guild_id == self.standing.guild_id
        return LogChannel(channel.guild_id, self.standing.guild.preferred_locale if here else None)

    async def post_line(self, channel_id: int, line: str) -> None:
        try:
            await self.api.post_message(channel_id, line)
        except DiscordUnavailable as error:
            raise LogChannelUnavailable(str(error)) from error


def may_remove(removal: VideoRemoval, actor: Actor, job: Job) -> bool:
    return removal.may_remove(actor, job)


async def remove_video(removal: VideoRemoval, api: DiscordApi, actor: Actor, job: Job) -> None:
    """The Delete button's removal (bot/moderation/removal.py: who may, every post, the
    record, the kept copy), with the posts deleted through Discord's REST API."""

    async def delete_post(channel_id: int, message_id: int) -> bool:
        try:
            return await api.delete_message(channel_id, message_id)
        except DiscordUnavailable as error:
            log.warning("job %s: could not delete the result: %s", job.id, error)
            return False

    await removal.remove(actor, job, delete_post)


def owner_actor(job: Job, user_id: int) -> Actor:
    """The member acting on their own video, whatever their standing in its server now."""
    return Actor(guild_id=job.guild_id, user_id=user_id, via=VIA_WEB)
