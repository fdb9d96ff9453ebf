"""Who is asking: the member behind an interaction or a reaction, as the core sees them."""

from __future__ import annotations

import discord

from bot.moderation import Actor
from bot.submission import Requester


def role_ids_of(user: discord.abc.User | discord.Member) -> tuple[int, ...]:
    return tuple(role.id for role in getattr(user, "roles", ()))


def requester_of(interaction: discord.Interaction) -> Requester:
    """The member asking for a video, with the roles their allowance depends on."""
    assert interaction.guild_id is not None  # the commands and buttons are guild-only
    return Requester(
        guild_id=interaction.guild_id,
        user_id=interaction.user.id,
        role_ids=role_ids_of(interaction.user),
    )


def requester_of_reaction(payload: discord.RawReactionActionEvent) -> Requester:
    assert payload.guild_id is not None
    return Requester(
        payload.guild_id, payload.user_id, role_ids_of(payload.member) if payload.member else ()
    )


def actor_of(interaction: discord.Interaction) -> Actor:
    """The member running a command, with what they may do right now."""
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
