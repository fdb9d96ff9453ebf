"""Who is asking: the member behind an interaction or a reaction as the core sees them (an
`Actor`), and the language their server's public messages are written in."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import discord

from bot.jobs.mentions import (
    MAX_MEMBER_LOOKUPS,
    MentionNames,
    mentioned,
    write_mentions_as_names,
)
from bot.models import Actor
from bot.moderation.languages import Languages

log = logging.getLogger(__name__)

MENTION_LOOKUP_TIMEOUT = 5.0


def role_ids_of(user: discord.abc.User | discord.Member) -> tuple[int, ...]:
    return tuple(role.id for role in getattr(user, "roles", ()))


def upload_limit_of(interaction: discord.Interaction) -> int | None:
    """The upload limit Discord reports for the interaction's server (its boosts included)."""
    limit = getattr(interaction, "filesize_limit", None)
    return int(limit) if limit else None


async def public_locale_of(interaction: discord.Interaction, languages: Languages) -> str:
    """The language of the server's public messages, such as a job's status and result."""
    assert interaction.guild_id is not None  # the commands and buttons are guild-only
    community = interaction.guild_locale.value if interaction.guild_locale else None
    return await languages.public_locale(interaction.guild_id, community)


async def public_locale_of_reaction(
    payload: discord.RawReactionActionEvent, guild: discord.Guild | None, languages: Languages
) -> str:
    """The same for a 🔁 reaction: no interaction, so the community locale is the cached
    guild's (English if the guild is not cached)."""
    assert payload.guild_id is not None
    community = guild.preferred_locale.value if guild is not None else None
    return await languages.public_locale(payload.guild_id, community)


def actor_of(interaction: discord.Interaction) -> Actor:
    """The member running a command or pressing a button, with the roles their allowance
    depends on and what they may do right now."""
    assert interaction.guild_id is not None  # the commands are guild-only
    user = interaction.user
    member_perms = getattr(user, "guild_permissions", None)
    # Discord's own resolved permissions also count, in case the guild's roles are not cached.
    manage_guild = bool(member_perms and member_perms.manage_guild) or (
        interaction.permissions.manage_guild
    )
    return Actor(
        guild_id=interaction.guild_id,
        user_id=user.id,
        role_ids=role_ids_of(user),
        manage_guild=manage_guild,
    )


def actor_of_reaction(payload: discord.RawReactionActionEvent) -> Actor:
    """The member adding a reaction, with the roles and permissions Discord sent with it."""
    assert payload.guild_id is not None
    member = payload.member
    member_perms = getattr(member, "guild_permissions", None)
    return Actor(
        guild_id=payload.guild_id,
        user_id=payload.user_id,
        role_ids=role_ids_of(member) if member is not None else (),
        manage_guild=bool(member_perms and member_perms.manage_guild),
    )


def can_view(guild: discord.Guild, member: discord.Member, channel_id: int) -> bool:
    """Whether `member` can see the channel (or thread) `channel_id` now, by Discord's
    permissions there (roles and the channel's overwrites, as cached); not if it is gone."""
    channel = guild.get_channel_or_thread(channel_id)
    return channel is not None and channel.permissions_for(member).view_channel


async def named_mentions(interaction: discord.Interaction, text: str) -> str:
    """`text` with its mentions written out as names (`@Alice`, `#general`): a prompt is shown
    and sent that way, whichever way it was typed (/sora, or a form)."""
    return write_mentions_as_names(text, await mention_names(interaction, text))


async def mention_names(interaction: discord.Interaction, text: str) -> MentionNames:
    """Names for the mentions in `text`: from Discord's cache, else asked for (a few members,
    briefly; one not found reads as "unknown")."""
    wanted = mentioned(text)
    guild = interaction.guild
    if guild is None:
        return MentionNames()
    users = {i: member.display_name for i in wanted.users if (member := guild.get_member(i))}
    try:
        async with asyncio.timeout(MENTION_LOOKUP_TIMEOUT):
            for user_id in [i for i in wanted.users if i not in users][:MAX_MEMBER_LOOKUPS]:
                with contextlib.suppress(discord.HTTPException):
                    users[user_id] = (await guild.fetch_member(user_id)).display_name
    except TimeoutError:
        log.info("gave up looking up the members mentioned in a prompt")
    roles = {i: role.name for i in wanted.roles if (role := guild.get_role(i)) is not None}
    channels = {i: place.name for i in wanted.channels if (place := guild.get_channel_or_thread(i))}
    return MentionNames(users, roles, channels)
