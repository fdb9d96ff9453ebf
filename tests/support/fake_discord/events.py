"""Gateway events that follow message changes, shaped and intent-filtered as Discord does."""

from __future__ import annotations

from .gateway import (
    DIRECT_MESSAGE_REACTIONS,
    DIRECT_MESSAGES,
    GUILD_MESSAGE_REACTIONS,
    GUILD_MESSAGES,
    Gateway,
)
from .message_model import MessageRecord, emoji_payload
from .messages import MessageStore
from .payloads import JSON, member_payload
from .world import World


class MessageEvents:
    def __init__(self, world: World, store: MessageStore, gateway: Gateway) -> None:
        self.world = world
        self.store = store
        self.gateway = gateway

    async def created(self, record: MessageRecord) -> None:
        await self._message_event("MESSAGE_CREATE", record)

    async def updated(self, record: MessageRecord) -> None:
        await self._message_event("MESSAGE_UPDATE", record)

    async def deleted(self, record: MessageRecord) -> None:
        if record.ephemeral:
            return
        data: JSON = {"id": str(record.id), "channel_id": str(record.channel_id)}
        if record.guild_id is not None:
            data["guild_id"] = str(record.guild_id)
        await self.gateway.dispatch("MESSAGE_DELETE", data, intent=self._message_intent(record))

    async def reaction(
        self, record: MessageRecord, user_id: int, emoji: str, *, added: bool
    ) -> None:
        data: JSON = {
            "user_id": str(user_id),
            "channel_id": str(record.channel_id),
            "message_id": str(record.id),
            "emoji": emoji_payload(emoji),
            "burst": False,
            "type": 0,
        }
        if record.guild_id is not None:
            data["guild_id"] = str(record.guild_id)
        if added:
            data.update(message_author_id=str(record.author_id), burst_colors=[])
            member = self.world.members.get(user_id)
            if record.guild_id is not None and member is not None:
                data["member"] = member_payload(member)
        guild = record.guild_id is not None
        intent = GUILD_MESSAGE_REACTIONS if guild else DIRECT_MESSAGE_REACTIONS
        event = "MESSAGE_REACTION_ADD" if added else "MESSAGE_REACTION_REMOVE"
        await self.gateway.dispatch(event, data, intent=intent)

    async def _message_event(self, event: str, record: MessageRecord) -> None:
        # Ephemeral messages exist only for their user: the bot's gateway never sees them.
        if record.ephemeral:
            return
        data = self.store.payload(record, with_member=True)
        await self.gateway.dispatch(
            event,
            data,
            intent=self._message_intent(record),
            without_content=self._redacted(record, data),
        )

    def _message_intent(self, record: MessageRecord) -> int:
        return GUILD_MESSAGES if record.guild_id is not None else DIRECT_MESSAGES

    def _redacted(self, record: MessageRecord, data: JSON) -> JSON | None:
        """Without MESSAGE_CONTENT a bot gets other users' guild messages without content,
        unless the message mentions it."""
        bot_id = self.world.bot.id
        if record.guild_id is None or record.author_id == bot_id:
            return None
        if bot_id in record.mentions.user_ids:
            return None
        return data | {"content": "", "embeds": [], "attachments": [], "components": []}
