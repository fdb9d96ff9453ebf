"""Who the signed-in member is in a server right now, read from Discord at each request (through
the short cache of bot/web/discord_api.py): whether they are in it, their roles, whether
they are a moderator (the same rule as `/quota`, bot/web/decisions.py), and which channels'
posts they can see (Discord's permissions, bot/web/permissions.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.web import permissions as perms
from bot.web.discord_api import DiscordApi, Guild, Member


@dataclass(frozen=True)
class Standing:
    """A member of a server, as they are now."""

    guild: Guild
    member: Member
    base_permissions: int

    @property
    def guild_id(self) -> int:
        return self.guild.id

    @property
    def user_id(self) -> int:
        return self.member.user_id

    @property
    def manage_guild(self) -> bool:
        return perms.has(self.base_permissions, perms.MANAGE_GUILD)


async def standing_in(api: DiscordApi, guild_id: int, user_id: int) -> Standing | None:
    """The member's standing in the server, or None when they (or the bot) are not in it."""
    member = await api.member(guild_id, user_id)
    if member is None:
        return None
    guild = await api.guild(guild_id)
    if guild is None:
        return None
    base = perms.base_permissions(
        guild.id, guild.owner_id, guild.role_permissions, user_id, member.role_ids
    )
    return Standing(guild, member, base)


async def visible_channels(
    api: DiscordApi, standing: Standing, channel_ids: Iterable[int]
) -> set[int]:
    """Those of `channel_ids` (channels or threads of the server) whose posts the member can
    read now: View Channel and Read Message History there (for a thread, in its parent; a
    private thread also needs the member in it, or Manage Threads)."""
    channels = await api.channels(standing.guild_id)
    seen: set[int] = set()
    for channel_id in channel_ids:
        if await _can_read(api, standing, channels, channel_id):
            seen.add(channel_id)
    return seen


async def can_read_channel(api: DiscordApi, standing: Standing, channel_id: int) -> bool:
    return await _can_read(api, standing, await api.channels(standing.guild_id), channel_id)


async def _can_read(api: DiscordApi, standing: Standing, channels: dict, channel_id: int) -> bool:
    info = channels.get(channel_id)
    if info is None:
        info = await api.channel(channel_id)  # a thread (the server's list has none)
        if info is None or info.guild_id != standing.guild_id or not info.channel.is_thread:
            return False  # gone, or not this server's
    channel = info.channel
    parent = channel
    if channel.is_thread:
        parent_info = channels.get(channel.parent_id or 0)
        if parent_info is None:
            return False
        parent = parent_info.channel
    allowed = perms.channel_permissions(
        standing.base_permissions,
        standing.guild_id,
        standing.user_id,
        standing.member.role_ids,
        parent,
    )
    if not perms.has(allowed, perms.SEES_POSTS):
        return False
    if channel.type == perms.PRIVATE_THREAD and not perms.has(allowed, perms.MANAGE_THREADS):
        return await api.in_thread(channel.id, standing.user_id)
    return True
