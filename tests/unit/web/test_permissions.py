"""Discord's permission algorithm, case by case as Discord documents it."""

from __future__ import annotations

from bot.web.permissions import (
    ADMINISTRATOR,
    ALL,
    MANAGE_GUILD,
    MEMBER_OVERWRITE,
    READ_MESSAGE_HISTORY,
    ROLE_OVERWRITE,
    SEES_POSTS,
    VIEW_CHANNEL,
    Channel,
    Overwrite,
    base_permissions,
    channel_permissions,
    has,
)

GUILD, OWNER, USER = 1, 2, 3
MODS, MUTED = 10, 11
ROLES = {GUILD: VIEW_CHANNEL | READ_MESSAGE_HISTORY, MODS: MANAGE_GUILD, MUTED: 0}


def base(*roles: int, user: int = USER, permissions: dict[int, int] = ROLES) -> int:
    return base_permissions(GUILD, OWNER, permissions, user, roles)


def in_channel(overwrites: tuple[Overwrite, ...], *roles: int) -> int:
    channel = Channel(5, 0, None, overwrites)
    return channel_permissions(base(*roles), GUILD, USER, roles, channel)


def role(role_id: int, allow: int = 0, deny: int = 0) -> Overwrite:
    return Overwrite(role_id, ROLE_OVERWRITE, allow, deny)


def test_base_permissions_are_everyone_and_every_role_and_the_owner_has_all() -> None:
    assert base() == VIEW_CHANNEL | READ_MESSAGE_HISTORY
    assert has(base(MODS), MANAGE_GUILD)
    assert base(user=OWNER) == ALL
    assert base(MODS, permissions=ROLES | {MODS: ADMINISTRATOR}) == ALL


def test_overwrites_apply_everyone_then_roles_together_then_the_member() -> None:
    hidden = role(GUILD, deny=VIEW_CHANNEL)
    assert not has(in_channel((hidden,)), VIEW_CHANNEL)
    # A role's allow wins over @everyone's deny.
    assert has(in_channel((hidden, role(MODS, allow=VIEW_CHANNEL)), MODS), SEES_POSTS)
    # Among roles, allows win over denies (they are applied together, denies first).
    both = (role(MODS, allow=VIEW_CHANNEL), role(MUTED, deny=VIEW_CHANNEL))
    assert has(in_channel(both, MODS, MUTED), VIEW_CHANNEL)
    # The member's own overwrite has the last word, either way.
    member_deny = Overwrite(USER, MEMBER_OVERWRITE, 0, VIEW_CHANNEL)
    assert in_channel((role(MODS, allow=VIEW_CHANNEL), member_deny), MODS) == 0
    member_allow = Overwrite(USER, MEMBER_OVERWRITE, VIEW_CHANNEL, 0)
    assert has(in_channel((hidden, member_allow)), VIEW_CHANNEL)
    # An overwrite for a role the member does not have, or for someone else, changes nothing.
    other = Overwrite(99, MEMBER_OVERWRITE, 0, VIEW_CHANNEL)
    assert has(in_channel((role(MUTED, deny=VIEW_CHANNEL), other)), VIEW_CHANNEL)


def test_without_view_channel_nothing_else_counts_and_administrators_see_everything() -> None:
    history_only = (role(GUILD, deny=VIEW_CHANNEL, allow=READ_MESSAGE_HISTORY),)
    assert in_channel(history_only) == 0
    no_history = (role(GUILD, deny=READ_MESSAGE_HISTORY),)
    assert has(in_channel(no_history), VIEW_CHANNEL) and not has(in_channel(no_history), SEES_POSTS)
    admin = base_permissions(GUILD, OWNER, ROLES | {MODS: ADMINISTRATOR}, USER, (MODS,))
    channel = Channel(5, 0, None, (role(GUILD, deny=VIEW_CHANNEL), role(MODS, deny=VIEW_CHANNEL)))
    assert channel_permissions(admin, GUILD, USER, (MODS,), channel) == ALL
