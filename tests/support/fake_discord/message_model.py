"""What a stored message looks like to tests: every version, attachments with bytes, reactions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .mentions import Mentions
from .payloads import JSON
from .snowflake import snowflake_time_ms

# Message flags the simulator interprets.
EPHEMERAL = 1 << 6
LOADING = 1 << 7

# Message types.
DEFAULT = 0
REPLY = 19
CHAT_INPUT_COMMAND = 20


@dataclass(frozen=True)
class AttachmentRecord:
    id: int
    filename: str
    content_type: str
    data: bytes = field(repr=False)
    url: str
    description: str | None = None
    ephemeral: bool = False

    @property
    def size(self) -> int:
        return len(self.data)

    def payload(self) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.url,
            "content_type": self.content_type,
        }
        if self.description is not None:
            data["description"] = self.description
        if self.ephemeral:
            data["ephemeral"] = True
        return data


@dataclass(frozen=True)
class MessageVersion:
    """The message as it stood after its creation or after one edit request."""

    content: str
    embeds: list[JSON]
    components: list[JSON]
    attachments: tuple[AttachmentRecord, ...]
    flags: int
    at: dt.datetime


@dataclass(frozen=True)
class ReactionEvent:
    user_id: int
    emoji: str
    added: bool


@dataclass
class MessageRecord:
    """A message as Discord stores it. ``versions[0]`` is the original, one more per edit."""

    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    type: int = DEFAULT
    content: str = ""
    embeds: list[JSON] = field(default_factory=list)
    components: list[JSON] = field(default_factory=list)
    attachments: list[AttachmentRecord] = field(default_factory=list)
    flags: int = 0
    tts: bool = False
    nonce: str | None = None
    reference: JSON | None = None  # message_reference as the sender gave it
    allowed_mentions: JSON | None = None
    mentions: Mentions = field(default_factory=Mentions)
    webhook_id: int | None = None
    interaction_id: int | None = None
    interaction_metadata: JSON | None = field(default=None, repr=False)
    versions: list[MessageVersion] = field(default_factory=list, repr=False)
    edited_at: dt.datetime | None = None
    deleted: bool = False
    reactions: dict[str, list[int]] = field(default_factory=dict)  # emoji -> user ids, in order
    reaction_events: list[ReactionEvent] = field(default_factory=list, repr=False)
    nonce_replays: int = 0  # times the same nonce came back and got this message instead

    @property
    def created_at(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(snowflake_time_ms(self.id) / 1000, dt.UTC)

    @property
    def contents(self) -> list[str]:
        """The content after creation and after every edit, oldest first."""
        return [v.content for v in self.versions]

    @property
    def edit_count(self) -> int:
        return len(self.versions) - 1

    @property
    def reply_to(self) -> int | None:
        if self.reference is None or "message_id" not in self.reference:
            return None
        return int(self.reference["message_id"])

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & LOADING)

    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for c in iter_components(self.components) if "custom_id" in c]

    def find_component(self, custom_id: str) -> JSON | None:
        return next(
            (c for c in iter_components(self.components) if c.get("custom_id") == custom_id), None
        )

    def reacted(self, emoji: str) -> list[int]:
        return list(self.reactions.get(emoji, []))

    def __str__(self) -> str:
        return f"<message {self.id} by {self.author_id}: {self.content!r}>"


def iter_components(components: list[JSON]) -> list[JSON]:
    """Every component, depth first, through action rows, sections and containers."""
    found: list[JSON] = []
    for component in components:
        found.append(component)
        found.extend(iter_components(component.get("components", [])))
        accessory = component.get("accessory")
        if isinstance(accessory, dict):
            found.append(accessory)
    return found


def emoji_payload(emoji: str) -> JSON:
    name, _, emoji_id = emoji.partition(":")
    if emoji_id:
        return {"id": emoji_id, "name": name, "animated": False}
    return {"id": None, "name": emoji}
