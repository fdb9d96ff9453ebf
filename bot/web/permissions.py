"""Discord's permission algorithm, as Discord documents it ("Permissions": permission
hierarchy and overwrites), for deciding what a member may see on the web right now.

Base permissions: the server's owner has all; otherwise @everyone's permissions (the role
whose id is the server's) with those of every role of the member; Administrator gives all.
In a channel: @everyone's overwrite (deny, then allow), then the member's roles' overwrites
together (every deny, then every allow), then the member's own overwrite. Administrator
ignores overwrites. A thread follows its parent channel; a private thread also needs the
member in it, or Manage Threads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
VIEW_CHANNEL = 1 << 10
READ_MESSAGE_HISTORY = 1 << 16
MANAGE_THREADS = 1 << 34
ALL = (1 << 64) - 1

ROLE_OVERWRITE = 0
MEMBER_OVERWRITE = 1

# Channel types (Discord's numbering) whose permissions are their parent channel's.
ANNOUNCEMENT_THREAD = 10
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
THREAD_TYPES = (ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD)
# Seeing a posted video means seeing the channel and the messages already in it.
SEES_POSTS = VIEW_CHANNEL | READ_MESSAGE_HISTORY


@dataclass(frozen=True)
class Overwrite:
    id: int  # a role's id (the server's id for @everyone) or a member's id
    type: int  # ROLE_OVERWRITE or MEMBER_OVERWRITE
    allow: int
    deny: int


@dataclass(frozen=True)
class Channel:
    id: int
    type: int
    parent_id: int | None
    overwrites: tuple[Overwrite, ...] = ()

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES


def base_permissions(
    guild_id: int,
    owner_id: int,
    role_permissions: Mapping[int, int],
    user_id: int,
    member_roles: Iterable[int],
) -> int:
    """The member's server-wide permissions."""
    if user_id == owner_id:
        return ALL
    value = role_permissions.get(guild_id, 0)  # @everyone
    for role_id in member_roles:
        value |= role_permissions.get(role_id, 0)
    if value & ADMINISTRATOR:
        return ALL
    return value


def channel_permissions(
    base: int, guild_id: int, user_id: int, member_roles: Iterable[int], channel: Channel
) -> int:
    """The member's permissions in `channel` (not a thread: pass its parent)."""
    if base & ADMINISTRATOR:
        return ALL
    value = base
    roles = set(member_roles)
    for overwrite in channel.overwrites:
        if overwrite.type == ROLE_OVERWRITE and overwrite.id == guild_id:
            value = (value & ~overwrite.deny) | overwrite.allow
    allow = deny = 0
    for overwrite in channel.overwrites:
        if overwrite.type == ROLE_OVERWRITE and overwrite.id in roles and overwrite.id != guild_id:
            allow |= overwrite.allow
            deny |= overwrite.deny
    value = (value & ~deny) | allow
    for overwrite in channel.overwrites:
        if overwrite.type == MEMBER_OVERWRITE and overwrite.id == user_id:
            value = (value & ~overwrite.deny) | overwrite.allow
    # Without View Channel a member has no other permission in it.
    return value if value & VIEW_CHANNEL else 0


def has(value: int, wanted: int) -> bool:
    return value & wanted == wanted
