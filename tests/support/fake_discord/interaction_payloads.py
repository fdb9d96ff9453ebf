"""Builds INTERACTION_CREATE payloads the way the Discord client + API would for a user action."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from .commands import MESSAGE_COMMAND, SyncedCommand
from .interactions import APPLICATION_COMMAND, MESSAGE_COMPONENT, MODAL_SUBMIT
from .message_model import AttachmentRecord, MessageRecord
from .messages import MessageStore
from .options import BuiltOptions, InvocationError, Upload
from .payloads import JSON, channel_payload, member_payload, role_payload, user_payload
from .snowflake import SnowflakeFactory
from .world import FakeChannel, FakeRole, FakeUser, World

# Where an interaction happens (Discord's `context`): 0 a guild, 1 a DM with the bot, 2 another
# private channel (a DM between users or a group chat).
GUILD_CONTEXT, BOT_DM_CONTEXT, PRIVATE_CHANNEL_CONTEXT = 0, 1, 2


@dataclass(frozen=True)
class NewInteraction:
    id: int
    token: str
    payload: JSON


class InteractionFactory:
    """Also the ``Resolver`` option building uses: maps test references to world objects."""

    def __init__(self, world: World, store: MessageStore) -> None:
        self.world = world
        self.store = store
        self.ids = SnowflakeFactory(worker=5)

    # -- references -----------------------------------------------------------------------
    def resolve_user(self, ref: Any) -> FakeUser:
        """A user from a ``FakeUser``, an id, or a key like ``"alice"``."""
        if isinstance(ref, FakeUser):
            return ref
        user = self.world.user_by_id(ref) if isinstance(ref, int) else self.world.users.get(ref)
        if user is None:
            raise InvocationError(f"no such user {ref!r}; known: {list(self.world.users)}")
        return user

    def resolve_role(self, ref: Any) -> FakeRole:
        """A role from a ``FakeRole``, an id, or its name."""
        if isinstance(ref, FakeRole):
            return ref
        role = self.world.role_by_id(ref) if isinstance(ref, int) else self.world.roles.get(ref)
        if role is None:
            raise InvocationError(f"no such role {ref!r}; known: {list(self.world.roles)}")
        return role

    def resolve_channel(self, ref: Any) -> FakeChannel:
        """A channel from a ``FakeChannel``, an id, or its name."""
        if isinstance(ref, FakeChannel):
            return ref
        found = (
            self.world.channel_by_id(ref) if isinstance(ref, int) else self.world.channels.get(ref)
        )
        if found is None:
            raise InvocationError(f"no such channel {ref!r}; known: {list(self.world.channels)}")
        return found

    def is_role_ref(self, ref: Any) -> bool:
        if isinstance(ref, FakeRole):
            return True
        if isinstance(ref, int):
            return self.world.role_by_id(ref) is not None
        return isinstance(ref, str) and ref in self.world.roles

    # -- resolved data --------------------------------------------------------------------
    def store_upload(self, channel_id: int, upload: Upload) -> AttachmentRecord:
        return self.store.new_blob(
            channel_id,
            upload.filename,
            upload.content_type or "application/octet-stream",
            upload.data,
            ephemeral=True,  # slash-command uploads live on the ephemeral CDN
        )

    def resolved_user(self, user: FakeUser) -> tuple[JSON, JSON | None]:
        member = self.world.members.get(user.id)
        if member is None:
            return user_payload(user), None
        permissions = self.world.member_permissions(user.id)
        return user_payload(user), member_payload(member, with_user=False, permissions=permissions)

    def resolved_role(self, role: FakeRole) -> JSON:
        return role_payload(role)

    def resolved_channel(self, channel: FakeChannel, user_id: int) -> JSON:
        # The invoking user's permissions there (channels carry no overwrites in the sim).
        permissions = self.world.member_permissions(user_id)
        return channel_payload(channel, self.world) | {"permissions": str(permissions)}

    # -- payloads -------------------------------------------------------------------------
    def command(
        self,
        command: SyncedCommand,
        built: BuiltOptions,
        *,
        user: FakeUser,
        channel: FakeChannel,
        interaction_type: int = APPLICATION_COMMAND,
        attachment_size_limit: int,
        user_install: bool = False,
        context: int = GUILD_CONTEXT,
    ) -> NewInteraction:
        data: JSON = {
            "id": str(command.id),
            "name": command.name,
            "type": 1,
            "options": built.options,
        }
        if built.resolved:
            data["resolved"] = built.resolved
        if command.guild_id is not None:
            # discord.py looks guild commands up by this id; without it only globals match.
            data["guild_id"] = str(command.guild_id)
        new = self._new(interaction_type, data, user, channel, attachment_size_limit)
        if user_install:
            # The app installed on the user's own account ("User Install"), not by the guild.
            new.payload["authorizing_integration_owners"] = {"1": str(user.id)}
        if context != GUILD_CONTEXT:
            # A direct message (1: with the bot) or a group chat (2): no guild, no member.
            for key in ("guild_id", "guild", "guild_locale", "member"):
                new.payload.pop(key)
            new.payload.update(
                {
                    "context": context,
                    "user": user_payload(user),
                    "channel": channel_payload(channel, self.world),
                }
            )
        return new

    def component(
        self,
        message: MessageRecord,
        component: JSON,
        *,
        user: FakeUser,
        channel: FakeChannel,
        values: list[str] | None,
        attachment_size_limit: int,
    ) -> NewInteraction:
        data: JSON = {"custom_id": component["custom_id"], "component_type": component["type"]}
        if values is not None:
            data["values"] = values
        new = self._new(MESSAGE_COMPONENT, data, user, channel, attachment_size_limit)
        new.payload["message"] = self.store.payload(message)
        return new

    def message_command(
        self,
        command: SyncedCommand,
        message: MessageRecord,
        *,
        user: FakeUser,
        channel: FakeChannel,
        attachment_size_limit: int,
    ) -> NewInteraction:
        """Apps → <command> on a message: the message comes resolved, as the client sends it."""
        data: JSON = {
            "id": str(command.id),
            "name": command.name,
            "type": MESSAGE_COMMAND,
            "target_id": str(message.id),
            "resolved": {"messages": {str(message.id): self.store.payload(message)}},
        }
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        return self._new(APPLICATION_COMMAND, data, user, channel, attachment_size_limit)

    def modal_submit(
        self,
        custom_id: str,
        components: list[JSON],
        *,
        user: FakeUser,
        channel: FakeChannel,
        message: MessageRecord | None,
        attachment_size_limit: int,
    ) -> NewInteraction:
        """A form sent back: its custom_id and every text box's value, laid out as shown."""
        data: JSON = {"custom_id": custom_id, "components": components}
        new = self._new(MODAL_SUBMIT, data, user, channel, attachment_size_limit)
        if message is not None:
            # A form opened from a message's button carries that message.
            new.payload["message"] = self.store.payload(message)
        return new

    def _new(
        self, kind: int, data: JSON, user: FakeUser, channel: FakeChannel, size_limit: int
    ) -> NewInteraction:
        interaction_id = self.ids.next()
        token = f"aW50ZXJhY3Rpb246{secrets.token_urlsafe(64)}"
        member = self.world.members[user.id]
        guild_id = str(self.world.guild_id)
        payload: JSON = {
            "id": str(interaction_id),
            "application_id": str(self.world.application_id),
            "type": kind,
            "token": token,
            "version": 1,
            "guild_id": guild_id,
            "guild": {"id": guild_id, "locale": self.world.preferred_locale, "features": []},
            "guild_locale": self.world.preferred_locale,
            "locale": user.locale,
            "channel_id": str(channel.id),
            "channel": channel_payload(channel, self.world)
            | {"permissions": str(self.world.member_permissions(user.id))},
            "member": member_payload(member, permissions=self.world.member_permissions(user.id)),
            "app_permissions": str(self.world.member_permissions(self.world.bot.id)),
            "entitlements": [],
            "authorizing_integration_owners": {"0": guild_id},
            "context": 0,
            "attachment_size_limit": size_limit,
            "data": data,
        }
        return NewInteraction(interaction_id, token, payload)
