"""The simulated guild: users, roles, channels and members, with a sensible default."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from . import permissions as perms
from .snowflake import SnowflakeFactory

# Channel types used by the simulator (Discord's numbering).
TEXT = 0
DM = 1
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12

# World ids all encode this instant, so the default world has the same ids on every run.
WORLD_EPOCH_MS = 1_700_000_000_000


@dataclass
class FakeUser:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    dms_open: bool = True
    locale: str = "en-US"

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@dataclass
class FakeRole:
    id: int
    name: str
    permissions: int = 0
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False
    tags: dict[str, object] | None = None

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"


@dataclass
class FakeChannel:
    id: int
    name: str
    type: int = TEXT
    position: int = 0
    guild_id: int | None = None
    parent_id: int | None = None
    owner_id: int | None = None
    topic: str | None = None
    nsfw: bool = False
    recipient_id: int | None = None
    # As Discord sends them: {"id", "type" (0 role, 1 member), "allow", "deny"} (strings).
    permission_overwrites: list[dict[str, object]] = field(default_factory=list)
    thread_members: set[int] = field(default_factory=set)  # private threads: who is in it

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    @property
    def is_thread(self) -> bool:
        return self.type in (PUBLIC_THREAD, PRIVATE_THREAD)


@dataclass
class FakeMember:
    user: FakeUser
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: dt.datetime = field(default_factory=lambda: dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    premium_since: dt.datetime | None = None


@dataclass
class World:
    """Everything Discord knows about the one guild the bot is in.

    Objects are looked up by a short key: users by key (``"alice"``), roles and channels by name.
    """

    ids: SnowflakeFactory
    guild_id: int
    guild_name: str
    bot: FakeUser
    owner_id: int = 0
    premium_tier: int = 0
    preferred_locale: str = "en-US"
    users: dict[str, FakeUser] = field(default_factory=dict)
    roles: dict[str, FakeRole] = field(default_factory=dict)
    channels: dict[str, FakeChannel] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    # False once the bot left the guild (DELETE /users/@me/guilds/{id}): the gateway no longer
    # sends it, though its commands stay installed and members can still run them.
    bot_in_guild: bool = True

    @property
    def application_id(self) -> int:
        # Modern applications share their id with their bot user.
        return self.bot.id

    # -- building -------------------------------------------------------------------------
    def add_role(self, name: str, permissions: int = 0, **fields: Any) -> FakeRole:
        role = FakeRole(
            id=self.ids.next(),
            name=name,
            permissions=permissions,
            position=len(self.roles),
            **fields,
        )
        self.roles[name] = role
        return role

    def add_user(
        self,
        key: str,
        *,
        roles: tuple[str, ...] = (),
        global_name: str | None = None,
        dms_open: bool = True,
        booster: bool = False,
        bot: bool = False,
    ) -> FakeUser:
        user = FakeUser(
            id=self.ids.next(),
            username=key,
            global_name=global_name or key.capitalize(),
            dms_open=dms_open,
            bot=bot,
        )
        self.users[key] = user
        role_ids = [self.roles[name].id for name in roles]
        premium_since = None
        if booster:
            role_ids.append(self.roles["Booster"].id)
            premium_since = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
        self.members[user.id] = FakeMember(
            user=user, role_ids=role_ids, premium_since=premium_since
        )
        return user

    def add_text_channel(self, name: str, *, topic: str | None = None) -> FakeChannel:
        channel = FakeChannel(
            id=self.ids.next(),
            name=name,
            type=TEXT,
            position=len(self.channels),
            guild_id=self.guild_id,
            topic=topic,
        )
        self.channels[name] = channel
        return channel

    def add_thread(self, name: str, *, parent: str, owner: str) -> FakeChannel:
        thread = FakeChannel(
            id=self.ids.next(),
            name=name,
            type=PUBLIC_THREAD,
            guild_id=self.guild_id,
            parent_id=self.channels[parent].id,
            owner_id=self.users[owner].id,
        )
        self.channels[name] = thread
        return thread

    def add_private_channel(
        self, name: str, *, roles: tuple[str, ...] = (), users: tuple[str, ...] = ()
    ) -> FakeChannel:
        """A text channel @everyone cannot see, open to `roles` and `users` (and the bot)."""
        channel = self.add_text_channel(name)
        view = str(perms.VIEW_CHANNEL)
        channel.permission_overwrites = [
            {"id": str(self.guild_id), "type": 0, "allow": "0", "deny": view},
            {"id": str(self.bot.id), "type": 1, "allow": view, "deny": "0"},
            *({"id": str(self.roles[r].id), "type": 0, "allow": view, "deny": "0"} for r in roles),
            *({"id": str(self.users[u].id), "type": 1, "allow": view, "deny": "0"} for u in users),
        ]
        return channel

    def add_private_thread(
        self, name: str, *, parent: str, owner: str, members: tuple[str, ...] = ()
    ) -> FakeChannel:
        """A private thread: seen only by those in it (and those who may manage threads)."""
        thread = self.add_thread(name, parent=parent, owner=owner)
        thread.type = PRIVATE_THREAD
        thread.thread_members = {self.users[key].id for key in (owner, *members)}
        return thread

    def remove_member(self, key: str) -> None:
        """The user leaves the server (or was never in it); they stay a Discord user."""
        self.members.pop(self.users[key].id, None)

    def open_dm(self, user: FakeUser) -> FakeChannel:
        """The DM channel with a user (``POST /users/@me/channels``), created once."""
        key = f"@dm:{user.username}"
        if key not in self.channels:
            self.channels[key] = FakeChannel(
                id=self.ids.next(), name=key, type=DM, recipient_id=user.id
            )
        return self.channels[key]

    def hide_channel(self, name: str, *, seen_by: tuple[str, ...]) -> FakeChannel:
        """Make a channel visible only to the roles named in `seen_by` (and the bot's role):
        @everyone is denied View Channel there, as a staff-only channel is set up."""
        channel = self.channels[name]
        allowed = [self.roles[role].id for role in (*seen_by, "SoraBot")]
        channel.permission_overwrites = [
            {"id": str(self.guild_id), "type": 0, "allow": "0", "deny": str(perms.VIEW_CHANNEL)},
            *(
                {"id": str(role_id), "type": 0, "allow": str(perms.VIEW_CHANNEL), "deny": "0"}
                for role_id in allowed
            ),
        ]
        return channel

    def remove_channel(self, name: str) -> FakeChannel:
        """Delete a channel (and its threads): requests naming it get 404 / 10003."""
        channel = self.channels.pop(name)
        for key, thread in list(self.channels.items()):
            if thread.parent_id == channel.id:
                del self.channels[key]
        return channel

    # -- lookups --------------------------------------------------------------------------
    @property
    def everyone(self) -> FakeRole:
        return self.roles["@everyone"]

    def user_by_id(self, user_id: int) -> FakeUser | None:
        if user_id == self.bot.id:
            return self.bot
        return next((u for u in self.users.values() if u.id == user_id), None)

    def role_by_id(self, role_id: int) -> FakeRole | None:
        return next((r for r in self.roles.values() if r.id == role_id), None)

    def channel_by_id(self, channel_id: int) -> FakeChannel | None:
        return next((c for c in self.channels.values() if c.id == channel_id), None)

    def member_permissions(self, user_id: int) -> int:
        """Guild-level permissions of a member, as Discord puts in ``member.permissions``."""
        member = self.members[user_id]
        role_perms = [r.permissions for r in self.roles.values() if r.id in member.role_ids]
        return perms.combine(
            self.everyone.permissions, role_perms, is_owner=user_id == self.owner_id
        )


def default_world(*, guild_name: str = "Sora Test Guild", premium_tier: int = 0) -> World:
    """One guild with the cast the bot's tests need.

    Users: ``alice``, ``bob``, ``carol`` (ordinary), ``dana`` (server booster), ``mod`` (Moderator
    role), ``admin`` (Admin role with Manage Server), ``owner`` (guild and application owner).
    Roles: ``@everyone``, ``Moderator``, ``Booster`` (Discord-managed), ``Admin``, ``SoraBot``
    (the bot's integration role). Channels: ``general``, ``videos``, thread ``sora-thread``.
    """
    ids = SnowflakeFactory(worker=2, fixed_ms=WORLD_EPOCH_MS)
    guild_id = ids.next()
    bot = FakeUser(id=ids.next(), username="SoraBot", global_name="Sora", bot=True)
    world = World(
        ids=ids, guild_id=guild_id, guild_name=guild_name, bot=bot, premium_tier=premium_tier
    )
    # @everyone shares the guild's id, as on Discord.
    world.roles["@everyone"] = FakeRole(
        id=guild_id, name="@everyone", permissions=perms.DEFAULT_EVERYONE
    )
    world.add_role("Booster", managed=True, tags={"premium_subscriber": None}, color=0xF47FFF)
    world.add_role("Moderator", perms.MODERATOR, hoist=True, mentionable=True, color=0x3498DB)
    world.add_role("Admin", perms.MANAGE_GUILD | perms.MODERATOR, hoist=True, color=0xE74C3C)
    bot_role = world.add_role(
        "SoraBot", perms.BOT_DEFAULT, managed=True, tags={"bot_id": str(bot.id)}
    )
    world.members[bot.id] = FakeMember(user=bot, role_ids=[bot_role.id])

    for key in ("alice", "bob", "carol"):
        world.add_user(key)
    world.add_user("dana", booster=True)
    world.add_user("mod", roles=("Moderator",))
    world.add_user("admin", roles=("Admin",))
    world.owner_id = world.add_user("owner").id

    world.add_text_channel("general", topic="Make videos with /sora")
    world.add_text_channel("videos")
    world.add_thread("sora-thread", parent="general", owner="alice")
    return world
