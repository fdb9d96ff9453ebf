"""Interaction callbacks (3-second window, single acknowledgement) and the interaction webhook
(followups and edits of the original response, valid for the token lifetime)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .. import errors
from ..bodies import RequestBody
from ..interactions import (
    ALLOWED_CALLBACKS,
    APPLICATION_COMMAND,
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    DEFERRED_UPDATE_MESSAGE,
    MODAL,
    UPDATE_MESSAGE,
    CallbackRecord,
    InteractionHandle,
)
from ..message_model import CHAT_INPUT_COMMAND, DEFAULT, EPHEMERAL, LOADING, MessageRecord
from ..modals import validate_modal
from ..payloads import JSON, user_payload
from ..rest import Call, Reply
from .common import check_upload

if TYPE_CHECKING:
    from ..rest import ApiRouter
    from ..server import FakeDiscord


def register(api: ApiRouter, sim: FakeDiscord) -> None:
    world, store = sim.world, sim.store

    def now() -> float:
        return asyncio.get_running_loop().time()

    def create_response_message(
        handle: InteractionHandle, data: JSON, body: RequestBody, *, extra_flags: int = 0
    ) -> MessageRecord:
        return store.create(
            channel_id=handle.channel.id,
            guild_id=handle.channel.guild_id,
            author_id=world.bot.id,
            body=RequestBody(json=data, files=body.files),
            type=CHAT_INPUT_COMMAND if handle.type == APPLICATION_COMMAND else DEFAULT,
            extra_flags=extra_flags,
            webhook_id=world.application_id,
            interaction_id=handle.id,
            interaction_metadata={
                "id": str(handle.id),
                "type": handle.type,
                "user": user_payload(handle.user),
                "authorizing_integration_owners": {"0": str(world.guild_id)},
                "name": handle.name,
            },
            allow_empty=bool(extra_flags & LOADING),
        )

    # -- callback -------------------------------------------------------------------------
    async def callback(call: Call) -> Reply:
        interaction_id = call.params["interaction_id"]
        handle = sim.interactions_by_id.get(int(interaction_id) if interaction_id.isdigit() else 0)
        if handle is None or handle.token != call.params["token"]:
            raise errors.unknown_interaction()
        latency = now() - handle.dispatched_at
        payload = call.json
        kind = int(payload.get("type", 0))
        data: JSON = payload.get("data") or {}

        def refuse(error: errors.ApiError) -> errors.ApiError:
            handle.callbacks.append(
                CallbackRecord(kind, data, latency, False, f"{error.code} {error.message}")
            )
            return error

        if handle.acknowledged:
            raise refuse(errors.already_acknowledged())
        if latency > sim.settings.ack_window:
            raise refuse(errors.unknown_interaction())
        if kind not in ALLOWED_CALLBACKS[handle.type]:
            raise refuse(
                errors.invalid_form_body(
                    "type", "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid interaction response type"
                )
            )
        try:
            check_upload(sim, call.body, handle.channel)
            resource = await apply_callback(handle, kind, data, call.body)
        except errors.ApiError as exc:
            raise refuse(exc) from None
        files = tuple(call.body.files)
        handle.callbacks.append(CallbackRecord(kind, data, latency, True, files=files))
        if not call.query_flag("with_response"):
            return Reply(status=204)
        message = handle.original
        interaction: JSON = {
            "id": str(handle.id),
            "type": handle.type,
            "activity_instance_id": None,
            "response_message_id": None if message is None else str(message.id),
            "response_message_loading": message is not None and message.loading,
            "response_message_ephemeral": message is not None and message.ephemeral,
        }
        return Reply({"interaction": interaction, "resource": resource})

    async def apply_callback(
        handle: InteractionHandle, kind: int, data: JSON, body: RequestBody
    ) -> JSON:
        resource: JSON = {"type": kind}
        if kind == CHANNEL_MESSAGE:
            handle.original = create_response_message(handle, data, body)
            await sim.events.created(handle.original)
        elif kind == DEFERRED_CHANNEL_MESSAGE:
            flags = LOADING | (int(data.get("flags") or 0) & EPHEMERAL)
            handle.original = create_response_message(handle, {}, body, extra_flags=flags)
            await sim.events.created(handle.original)
        elif kind in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE):
            handle.original = handle.source_message
            if kind == UPDATE_MESSAGE and handle.original is not None:
                store.edit(handle.original, RequestBody(json=data, files=body.files))
                await sim.events.updated(handle.original)
        elif kind == AUTOCOMPLETE_RESULT:
            handle.choices = list(data.get("choices") or [])
        elif kind == MODAL:
            validate_modal(data)
            handle.modal = data
        if handle.original is not None and kind in (CHANNEL_MESSAGE, UPDATE_MESSAGE):
            resource["message"] = store.payload(handle.original)
        return resource

    # -- webhook --------------------------------------------------------------------------
    def require_handle(call: Call) -> InteractionHandle:
        handle = sim.interactions_by_token.get(call.params["token"])
        if handle is None or call.params["application_id"] != str(world.application_id):
            raise errors.unknown_webhook()
        if handle.token_expired:
            raise errors.invalid_webhook_token()
        if not handle.acknowledged:
            raise errors.unknown_webhook()
        return handle

    def require_message(handle: InteractionHandle, ref: str) -> MessageRecord:
        if ref == "@original":
            message = handle.original
        else:
            message = next((m for m in handle.messages if str(m.id) == ref), None)
        if message is None or message.deleted:
            raise errors.unknown_message()
        return message

    async def followup(call: Call) -> Reply:
        handle = require_handle(call)
        check_upload(sim, call.body, handle.channel)
        original = handle.original
        fills_deferred = (
            sim.settings.followup_fills_deferred
            and handle.response_type == DEFERRED_CHANNEL_MESSAGE
            and original is not None
            and original.loading
        )
        if fills_deferred and original is not None:
            # Discord turns the first followup after a "thinking" defer into the original
            # response, keeping the defer's visibility (an ephemeral defer stays ephemeral).
            store.edit(original, call.body)
            message = original
            await sim.events.updated(message)
        else:
            flags = int(call.json.get("flags") or 0) & EPHEMERAL
            message = create_response_message(handle, call.json, call.body, extra_flags=flags)
            await sim.events.created(message)
        handle.followups.append(message)
        if not call.query_flag("wait"):
            return Reply(status=204)
        return Reply(store.payload(message))

    async def get_message(call: Call) -> Reply:
        handle = require_handle(call)
        return Reply(store.payload(require_message(handle, call.params["message_id"])))

    async def edit_message(call: Call) -> Reply:
        handle = require_handle(call)
        message = require_message(handle, call.params["message_id"])
        check_upload(sim, call.body, handle.channel)
        store.edit(message, call.body)
        await sim.events.updated(message)
        return Reply(store.payload(message))

    async def delete_message(call: Call) -> Reply:
        handle = require_handle(call)
        message = require_message(handle, call.params["message_id"])
        store.delete(message)
        await sim.events.deleted(message)
        return Reply(status=204)

    api.add("POST", "/interactions/{interaction_id}/{token}/callback", callback, auth=False)
    webhook = "/webhooks/{application_id}/{token}"
    api.add("POST", webhook, followup, auth=False)
    # {message_id} is a snowflake or "@original".
    api.add("GET", webhook + "/messages/{message_id}", get_message, auth=False)
    api.add("PATCH", webhook + "/messages/{message_id}", edit_message, auth=False)
    api.add("DELETE", webhook + "/messages/{message_id}", delete_message, auth=False)
