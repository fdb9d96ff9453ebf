"""JSON shapes of world objects exactly as Discord sends them over REST and the gateway."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .world import DM, FakeChannel, FakeMember, FakeRole, FakeUser, World

JSON = dict[str, Any]


def iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def user_payload(user: FakeUser) -> JSON:
    data: JSON = {
        "id": str(user.id),
        "username": user.username,
        "discriminator": "0",
        "global_name": user.global_name,
        "avatar": None,
        "public_flags": 0,
        "flags": 0,
    }
    if user.bot:
        data["bot"] = True
    return data


def role_payload(role: FakeRole) -> JSON:
    data: JSON = {
        "id": str(role.id),
        "name": role.name,
        "permissions": str(role.permissions),
        "position": role.position,
        "color": role.color,
        "colors": {"primary_color": role.color, "secondary_color": None, "tertiary_color": None},
        "hoist": role.hoist,
        "icon": None,
        "unicode_emoji": None,
        "managed": role.managed,
        "mentionable": role.mentionable,
        "flags": 0,
    }
    if role.tags is not None:
        data["tags"] = role.tags
    return data


def member_payload(
    member: FakeMember, *, with_user: bool = True, permissions: int | None = None
) -> JSON:
    data: JSON = {
        "roles": [str(r) for r in member.role_ids],
        "nick": member.nick,
        "avatar": None,
        "banner": None,
        "joined_at": iso(member.joined_at),
        "premium_since": iso(member.premium_since),
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
        "communication_disabled_until": None,
    }
    if with_user:
        data["user"] = user_payload(member.user)
    if permissions is not None:
        data["permissions"] = str(permissions)
    return data


def channel_payload(channel: FakeChannel, world: World) -> JSON:
    if channel.type == DM:
        recipient = world.user_by_id(channel.recipient_id or 0)
        return {
            "id": str(channel.id),
            "type": DM,
            "last_message_id": None,
            "flags": 0,
            "recipients": [user_payload(recipient)] if recipient else [],
        }
    data: JSON = {
        "id": str(channel.id),
        "type": channel.type,
        "guild_id": str(channel.guild_id),
        "name": channel.name,
        "position": channel.position,
        "permission_overwrites": [dict(entry) for entry in channel.permission_overwrites],
        "nsfw": channel.nsfw,
        "rate_limit_per_user": 0,
        "flags": 0,
        "last_message_id": None,
    }
    if channel.is_thread:
        data.update(
            parent_id=str(channel.parent_id),
            owner_id=str(channel.owner_id),
            message_count=0,
            member_count=1,
            total_message_sent=0,
            thread_metadata={
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": "2024-01-01T00:00:00+00:00",
                "locked": False,
                "create_timestamp": "2024-01-01T00:00:00+00:00",
            },
        )
    else:
        data.update(topic=channel.topic, parent_id=None, default_auto_archive_duration=1440)
    return data


def guild_payload(world: World) -> JSON:
    """``GET /guilds/{id}``: the guild without members or channels."""
    return {
        "id": str(world.guild_id),
        "name": world.guild_name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(world.owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "features": [],
        "roles": [role_payload(r) for r in world.roles.values()],
        "emojis": [],
        "stickers": [],
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "vanity_url_code": None,
        "premium_tier": world.premium_tier,
        "premium_subscription_count": sum(
            1 for m in world.members.values() if m.premium_since is not None
        ),
        "preferred_locale": world.preferred_locale,
        "premium_progress_bar_enabled": False,
    }


def guild_create_payload(world: World) -> JSON:
    """GUILD_CREATE: the full guild, with ``member_count`` equal to the members sent so that
    discord.py considers the guild chunked and never asks for more."""
    members = [member_payload(m) for m in world.members.values()]
    guild_channels = [c for c in world.channels.values() if c.guild_id is not None]
    data = guild_payload(world)
    data.update(
        unavailable=False,
        large=False,
        joined_at="2024-01-01T00:00:00+00:00",
        member_count=len(members),
        members=members,
        channels=[channel_payload(c, world) for c in guild_channels if not c.is_thread],
        threads=[channel_payload(c, world) for c in guild_channels if c.is_thread],
        voice_states=[],
        presences=[],
        stage_instances=[],
        guild_scheduled_events=[],
        soundboard_sounds=[],
    )
    return data


def application_payload(world: World, *, owner: FakeUser) -> JSON:
    return {
        "id": str(world.application_id),
        "name": world.bot.username,
        "description": "Simulated application",
        "icon": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": user_payload(owner),
        "team": None,
        "verify_key": "0" * 64,
        "flags": 0,
        "bot": user_payload(world.bot),
        "interactions_endpoint_url": None,
        "redirect_uris": [],
        "approximate_guild_count": 1,
    }
