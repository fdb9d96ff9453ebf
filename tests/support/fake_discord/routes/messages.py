"""Channel messages (create with nonce de-duplication, history, edit, delete), reactions, typing."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .. import errors
from ..message_model import MessageRecord
from ..rest import Call, Reply
from ..world import DM
from .common import check_upload, require_channel

if TYPE_CHECKING:
    from ..rest import ApiRouter
    from ..server import FakeDiscord

MAX_NONCE = 25


def register(api: ApiRouter, sim: FakeDiscord) -> None:
    world, store = sim.world, sim.store

    def require_message(call: Call) -> MessageRecord:
        channel = require_channel(sim, call.params["channel_id"])
        message_id = call.params["message_id"]
        record = store.get(int(message_id)) if message_id.isdigit() else None
        if record is None or record.channel_id != channel.id or record.ephemeral:
            raise errors.unknown_message()
        return record

    async def create(call: Call) -> Reply:
        channel = require_channel(sim, call.params["channel_id"])
        if channel.type == DM:
            recipient = world.user_by_id(channel.recipient_id or 0)
            if recipient is None or not recipient.dms_open:
                raise errors.cannot_dm_user()
        check_upload(sim, call.body, channel)
        limit_headers: dict[str, str] = {}
        per_window = sim.settings.channel_posts_per_window
        if per_window is not None:
            limit = sim.post_limit(per_window, sim.settings.channel_post_window)
            refusal, limit_headers = limit.take(channel.id, asyncio.get_running_loop().time())
            if refusal is not None:
                return Reply(refusal, status=429, headers=limit_headers)
        payload = call.json
        nonce = payload.get("nonce")
        if nonce is not None:
            if len(str(nonce)) > MAX_NONCE:
                raise errors.invalid_form_body(
                    "nonce", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_NONCE} or fewer in length."
                )
            if payload.get("enforce_nonce"):
                existing = store.find_nonce(world.bot.id, str(nonce), sim.settings.nonce_window)
                if existing is not None:
                    # Discord answers with the message it already created; no new event.
                    existing.nonce_replays += 1
                    return Reply(store.payload(existing), headers=limit_headers)
        record = store.create(
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=world.bot.id,
            body=call.body,
        )
        await sim.events.created(record)
        return Reply(store.payload(record), headers=limit_headers)

    async def history(call: Call) -> Reply:
        channel = require_channel(sim, call.params["channel_id"])
        records = store.history(
            channel.id,
            limit=call.query_int("limit") or 50,
            before=call.query_int("before"),
            after=call.query_int("after"),
            around=call.query_int("around"),
        )
        return Reply([store.payload(r) for r in records])

    async def get_message(call: Call) -> Reply:
        return Reply(store.payload(require_message(call)))

    async def edit(call: Call) -> Reply:
        record = require_message(call)
        if record.author_id != world.bot.id:
            raise errors.cannot_edit_others_message()
        check_upload(sim, call.body, world.channel_by_id(record.channel_id))
        store.edit(record, call.body)
        await sim.events.updated(record)
        return Reply(store.payload(record))

    async def delete(call: Call) -> Reply:
        record = require_message(call)
        store.delete(record)
        await sim.events.deleted(record)
        return Reply(status=204)

    async def react(call: Call) -> Reply:
        record = require_message(call)
        emoji = call.params["emoji"]
        if not emoji:
            raise errors.unknown_emoji()
        if store.add_reaction(record, world.bot.id, emoji):
            await sim.events.reaction(record, world.bot.id, emoji, added=True)
        return Reply(status=204)

    async def unreact(call: Call) -> Reply:
        record = require_message(call)
        user_id = int(call.params.get("user_id", world.bot.id))
        emoji = call.params["emoji"]
        if store.remove_reaction(record, user_id, emoji):
            await sim.events.reaction(record, user_id, emoji, added=False)
        return Reply(status=204)

    async def typing(call: Call) -> Reply:
        require_channel(sim, call.params["channel_id"])
        return Reply(status=204)

    messages = "/channels/{channel_id}/messages"
    one = messages + "/{message_id}"
    api.add("POST", messages, create)
    api.add("GET", messages, history)
    api.add("GET", one, get_message)
    api.add("PATCH", one, edit)
    api.add("DELETE", one, delete)
    api.add("PUT", one + "/reactions/{emoji}/@me", react)
    api.add("DELETE", one + "/reactions/{emoji}/@me", unreact)
    api.add("DELETE", one + r"/reactions/{emoji}/{user_id:\d+}", unreact)
    api.add("POST", "/channels/{channel_id}/typing", typing)
