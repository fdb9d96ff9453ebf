"""Message state: creation, edits (every version kept), deletion, history, nonces, reactions.

Pure state with Discord's message rules; the REST routes and the gateway sit on top of it.
"""

from __future__ import annotations

import datetime as dt

from . import errors
from .bodies import RequestBody
from .mentions import Mentions, resolve_mentions
from .message_model import (
    DEFAULT,
    EPHEMERAL,
    LOADING,
    REPLY,
    AttachmentRecord,
    MessageRecord,
    MessageVersion,
    ReactionEvent,
    emoji_payload,
)
from .payloads import JSON, iso, member_payload, user_payload
from .snowflake import SnowflakeFactory, snowflake_time_ms
from .world import World

MAX_CONTENT = 2000


class MessageStore:
    def __init__(self, world: World) -> None:
        self.world = world
        self.ids = SnowflakeFactory(worker=3)
        self.by_id: dict[int, MessageRecord] = {}
        self.blobs: dict[int, AttachmentRecord] = {}  # every attachment the CDN serves
        self.cdn_base = ""

    # -- attachments ----------------------------------------------------------------------
    def new_blob(
        self,
        channel_id: int,
        filename: str,
        content_type: str,
        data: bytes,
        *,
        description: str | None = None,
        ephemeral: bool = False,
    ) -> AttachmentRecord:
        attachment_id = self.ids.next()
        blob = AttachmentRecord(
            id=attachment_id,
            filename=filename,
            content_type=content_type,
            data=data,
            url=f"{self.cdn_base}/attachments/{channel_id}/{attachment_id}/{filename}",
            description=description,
            ephemeral=ephemeral,
        )
        self.blobs[attachment_id] = blob
        return blob

    def _attachments(
        self,
        channel_id: int,
        spec: list[JSON] | None,
        body: RequestBody,
        keep: list[AttachmentRecord],
    ) -> list[AttachmentRecord]:
        """Apply an ``attachments`` array: entries with a known snowflake keep an existing file,
        entries with a small ``id`` refer to the uploaded ``files[id]`` part."""
        if spec is None:
            spec = [{"id": i} for i in range(len(body.files))]
            result = list(keep)
        else:
            result = []
        existing = {a.id: a for a in keep}
        for entry in spec:
            ref = int(entry["id"])
            if ref in existing:
                result.append(existing[ref])
                continue
            upload = body.file_for(ref)
            if upload is None:
                raise errors.invalid_form_body(
                    "attachments", "ATTACHMENT_NOT_FOUND", f"Attachment {ref} was not uploaded"
                )
            result.append(
                self.new_blob(
                    channel_id,
                    entry.get("filename") or upload.filename,
                    upload.content_type,
                    upload.data,
                    description=entry.get("description"),
                )
            )
        return result

    # -- create / edit / delete -----------------------------------------------------------
    def create(
        self,
        *,
        channel_id: int,
        guild_id: int | None,
        author_id: int,
        body: RequestBody,
        type: int = DEFAULT,
        extra_flags: int = 0,
        webhook_id: int | None = None,
        interaction_id: int | None = None,
        interaction_metadata: JSON | None = None,
        allow_empty: bool = False,
    ) -> MessageRecord:
        payload: JSON = body.json if isinstance(body.json, dict) else {}
        reference = payload.get("message_reference")
        if reference is not None:
            reference = self._check_reference(reference)
        record = MessageRecord(
            id=self.ids.next(),
            channel_id=channel_id,
            guild_id=guild_id,
            author_id=author_id,
            type=REPLY if reference is not None and type == DEFAULT else type,
            content=payload.get("content") or "",
            embeds=list(payload.get("embeds") or []),
            components=list(payload.get("components") or []),
            flags=int(payload.get("flags") or 0) | extra_flags,
            tts=bool(payload.get("tts", False)),
            nonce=None if payload.get("nonce") is None else str(payload["nonce"]),
            reference=reference,
            allowed_mentions=payload.get("allowed_mentions"),
            webhook_id=webhook_id,
            interaction_id=interaction_id,
            interaction_metadata=interaction_metadata,
        )
        record.attachments = self._attachments(channel_id, payload.get("attachments"), body, [])
        self._validate(record, allow_empty=allow_empty)
        record.mentions = self._mentions(record)
        record.versions.append(self._snapshot(record))
        self.by_id[record.id] = record
        return record

    def edit(self, record: MessageRecord, body: RequestBody) -> MessageRecord:
        payload: JSON = body.json if isinstance(body.json, dict) else {}
        if "content" in payload:
            record.content = payload["content"] or ""
        if "embeds" in payload:
            record.embeds = list(payload["embeds"] or [])
        if "components" in payload:
            record.components = list(payload["components"] or [])
        if "allowed_mentions" in payload:
            record.allowed_mentions = payload["allowed_mentions"]
        if "flags" in payload and payload["flags"] is not None:
            # Ephemerality is fixed at creation; other flags follow the edit.
            record.flags = (int(payload["flags"]) & ~EPHEMERAL) | (record.flags & EPHEMERAL)
        if "attachments" in payload or body.files:
            record.attachments = self._attachments(
                record.channel_id, payload.get("attachments"), body, record.attachments
            )
        # A "thinking..." message stops loading as soon as it is edited.
        record.flags &= ~LOADING
        self._validate(record, allow_empty=False)
        record.mentions = self._mentions(record)
        record.edited_at = dt.datetime.now(dt.UTC)
        record.versions.append(self._snapshot(record))
        return record

    def delete(self, record: MessageRecord) -> None:
        record.deleted = True

    def _snapshot(self, record: MessageRecord) -> MessageVersion:
        return MessageVersion(
            content=record.content,
            embeds=list(record.embeds),
            components=list(record.components),
            attachments=tuple(record.attachments),
            flags=record.flags,
            at=dt.datetime.now(dt.UTC),
        )

    def _validate(self, record: MessageRecord, *, allow_empty: bool) -> None:
        if len(record.content) > MAX_CONTENT:
            raise errors.invalid_form_body(
                "content", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length."
            )
        has_body = record.content or record.embeds or record.components or record.attachments
        if not has_body and not allow_empty and not record.loading:
            raise errors.empty_message()

    def _check_reference(self, reference: JSON) -> JSON | None:
        target = self.by_id.get(int(reference.get("message_id", 0)))
        if target is None or target.deleted:
            if reference.get("fail_if_not_exists", True):
                raise errors.invalid_form_body(
                    "message_reference", "REPLIES_UNKNOWN_MESSAGE", "Unknown message"
                )
            return None
        return {
            "type": reference.get("type", 0),
            "message_id": str(target.id),
            "channel_id": str(target.channel_id),
            "guild_id": None if target.guild_id is None else str(target.guild_id),
        }

    def _mentions(self, record: MessageRecord) -> Mentions:
        return resolve_mentions(
            record.content,
            record.allowed_mentions,
            known_user_ids=[m for m in self.world.members]
            + [u.id for u in self.world.users.values()],
            known_role_ids=[r.id for r in self.world.roles.values()],
            is_reply=record.reply_to is not None,
        )

    # -- queries --------------------------------------------------------------------------
    def get(self, message_id: int) -> MessageRecord | None:
        record = self.by_id.get(message_id)
        return None if record is None or record.deleted else record

    def in_channel(
        self, channel_id: int, *, include_ephemeral: bool = False, include_deleted: bool = False
    ) -> list[MessageRecord]:
        """Messages of a channel, oldest first."""
        return [
            m
            for m in self.by_id.values()
            if m.channel_id == channel_id
            and (include_ephemeral or not m.ephemeral)
            and (include_deleted or not m.deleted)
        ]

    def history(
        self,
        channel_id: int,
        *,
        limit: int = 50,
        before: int | None = None,
        after: int | None = None,
        around: int | None = None,
    ) -> list[MessageRecord]:
        """``GET /channels/{id}/messages``: newest first, like Discord, for every anchor."""
        visible = sorted(self.in_channel(channel_id), key=lambda m: m.id)
        limit = max(1, min(limit, 100))
        if around is not None:
            older = [m for m in visible if m.id < around][-(limit // 2) :] if limit > 1 else []
            newer = [m for m in visible if m.id >= around][: limit - len(older)]
            chosen = older + newer
        elif after is not None:
            chosen = [m for m in visible if m.id > after][:limit]
        else:
            if before is not None:
                visible = [m for m in visible if m.id < before]
            chosen = visible[-limit:]
        return list(reversed(chosen))

    def find_nonce(self, author_id: int, nonce: str, window: float) -> MessageRecord | None:
        now_ms = dt.datetime.now(dt.UTC).timestamp() * 1000
        for record in reversed(list(self.by_id.values())):
            if record.author_id != author_id or record.nonce != nonce or record.deleted:
                continue
            if now_ms - snowflake_time_ms(record.id) <= window * 1000:
                return record
        return None

    # -- reactions ------------------------------------------------------------------------
    def add_reaction(self, record: MessageRecord, user_id: int, emoji: str) -> bool:
        users = record.reactions.setdefault(emoji, [])
        if user_id in users:
            return False
        users.append(user_id)
        record.reaction_events.append(ReactionEvent(user_id, emoji, added=True))
        return True

    def remove_reaction(self, record: MessageRecord, user_id: int, emoji: str) -> bool:
        users = record.reactions.get(emoji, [])
        if user_id not in users:
            return False
        users.remove(user_id)
        if not users:
            del record.reactions[emoji]
        record.reaction_events.append(ReactionEvent(user_id, emoji, added=False))
        return True

    # -- wire format ----------------------------------------------------------------------
    def payload(self, record: MessageRecord, *, with_member: bool = False, depth: int = 0) -> JSON:
        author = self.world.user_by_id(record.author_id)
        data: JSON = {
            "id": str(record.id),
            "channel_id": str(record.channel_id),
            "type": record.type,
            "author": user_payload(author) if author else {"id": str(record.author_id)},
            "content": record.content,
            "timestamp": iso(record.created_at),
            "edited_timestamp": iso(record.edited_at),
            "tts": record.tts,
            "mention_everyone": record.mentions.everyone,
            "mentions": self._mention_payloads(record),
            "mention_roles": [str(r) for r in sorted(record.mentions.role_ids)],
            "attachments": [a.payload() for a in record.attachments],
            "embeds": record.embeds,
            "components": record.components,
            "reactions": [
                {
                    "emoji": emoji_payload(emoji),
                    "count": len(users),
                    "count_details": {"burst": 0, "normal": len(users)},
                    "me": self.world.bot.id in users,
                    "me_burst": False,
                    "burst_colors": [],
                }
                for emoji, users in record.reactions.items()
            ],
            "pinned": False,
            "flags": record.flags,
        }
        if record.guild_id is not None:
            data["guild_id"] = str(record.guild_id)
            member = self.world.members.get(record.author_id)
            if with_member and member is not None and record.webhook_id is None:
                data["member"] = member_payload(member, with_user=False)
        if record.nonce is not None:
            data["nonce"] = record.nonce
        if record.webhook_id is not None:
            data["webhook_id"] = str(record.webhook_id)
            data["application_id"] = str(record.webhook_id)
        if record.interaction_metadata is not None:
            data["interaction_metadata"] = record.interaction_metadata
        if record.reference:
            data["message_reference"] = record.reference
            target = self.by_id.get(int(record.reference["message_id"]))
            if depth == 0:
                data["referenced_message"] = (
                    None if target is None or target.deleted else self.payload(target, depth=1)
                )
        return data

    def _mention_payloads(self, record: MessageRecord) -> list[JSON]:
        pinged = set(record.mentions.user_ids)
        if record.mentions.replied_user and record.reply_to is not None:
            target = self.by_id.get(record.reply_to)
            if target is not None:
                pinged.add(target.author_id)
        users = [self.world.user_by_id(u) for u in sorted(pinged)]
        return [user_payload(u) for u in users if u is not None]
