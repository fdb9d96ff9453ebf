"""Interactions the simulator dispatched and everything the bot did with them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .message_model import AttachmentRecord, MessageRecord
from .notifier import StateNotifier
from .payloads import JSON
from .records import UploadedFile
from .world import FakeChannel, FakeUser

# Interaction types.
APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5

# Callback (response) types.
CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9

ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL},
    MESSAGE_COMPONENT: {
        CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
        MODAL,
    },
    AUTOCOMPLETE: {AUTOCOMPLETE_RESULT},
    # A form's submission cannot be answered with another form.
    MODAL_SUBMIT: {
        CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_UPDATE_MESSAGE,
        UPDATE_MESSAGE,
    },
}


@dataclass(frozen=True)
class CallbackRecord:
    """One ``POST /interactions/{id}/{token}/callback`` attempt, accepted or refused."""

    type: int
    data: JSON | None
    latency: float  # seconds between dispatching the interaction and this callback
    accepted: bool
    error: str | None = None  # e.g. "10062 Unknown interaction"
    files: tuple[UploadedFile, ...] = ()


@dataclass
class InteractionHandle:
    """What a test gets back from ``invoke``/``click``/``autocomplete``."""

    id: int
    token: str
    type: int
    name: str  # command path ("quota grant"), the component's or the form's custom_id
    user: FakeUser
    channel: FakeChannel
    payload: JSON = field(repr=False)  # the INTERACTION_CREATE data as dispatched
    dispatched_at: float = field(repr=False)  # event-loop time
    token_expires_at: float = field(repr=False)
    _notifier: StateNotifier = field(repr=False)
    _clock: Callable[[], float] = field(repr=False)
    source_message: MessageRecord | None = field(default=None, repr=False)
    user_attachments: list[AttachmentRecord] = field(default_factory=list, repr=False)
    callbacks: list[CallbackRecord] = field(default_factory=list)
    original: MessageRecord | None = None
    followups: list[MessageRecord] = field(default_factory=list)
    modal: JSON | None = None
    choices: list[JSON] | None = None  # autocomplete result

    # -- acknowledgement ------------------------------------------------------------------
    @property
    def ack(self) -> CallbackRecord | None:
        return next((c for c in self.callbacks if c.accepted), None)

    @property
    def acknowledged(self) -> bool:
        return self.ack is not None

    @property
    def ack_latency(self) -> float | None:
        return None if self.ack is None else self.ack.latency

    @property
    def response_type(self) -> int | None:
        return None if self.ack is None else self.ack.type

    @property
    def deferred(self) -> bool:
        return self.response_type in (DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE)

    @property
    def ephemeral(self) -> bool:
        """Whether the response (the original message) is only visible to the user."""
        if self.original is not None and self.original is not self.source_message:
            return self.original.ephemeral
        flags = ((self.ack.data or {}).get("flags") or 0) if self.ack else 0
        return bool(flags & 64)

    @property
    def refused_callbacks(self) -> list[CallbackRecord]:
        return [c for c in self.callbacks if not c.accepted]

    # -- messages -------------------------------------------------------------------------
    @property
    def original_contents(self) -> list[str]:
        """Every version of the original response's content, skipping the "thinking" state."""
        if self.original is None:
            return []
        return [v.content for v in self.original.versions if not v.flags & 128]

    @property
    def followup_contents(self) -> list[str]:
        return [m.content for m in self.followups]

    @property
    def messages(self) -> list[MessageRecord]:
        """Original response then followups, without duplicates."""
        found = [self.original] if self.original is not None else []
        found += [m for m in self.followups if m is not self.original]
        return found

    # -- token ----------------------------------------------------------------------------
    @property
    def token_expired(self) -> bool:
        return self._clock() >= self.token_expires_at

    def expire(self) -> None:
        """End the 15-minute token window now: webhook calls get 401 ``Invalid Webhook Token``."""
        self.token_expires_at = self._clock()

    # -- waiting --------------------------------------------------------------------------
    async def wait_ack(self, timeout: float = 5.0) -> CallbackRecord:
        return await self._notifier.wait_for(
            lambda: self.ack, timeout, f"interaction {self.name!r} acknowledged"
        )

    async def wait_original(
        self,
        predicate: Callable[[MessageRecord], bool] | None = None,
        timeout: float = 5.0,
    ) -> MessageRecord:
        """The original response once it is no longer "thinking" (and matches ``predicate``)."""

        def ready() -> MessageRecord | None:
            message = self.original
            if message is None or message.loading:
                return None
            return message if predicate is None or predicate(message) else None

        return await self._notifier.wait_for(ready, timeout, f"original response of {self.name!r}")

    async def wait_followups(self, count: int = 1, timeout: float = 5.0) -> list[MessageRecord]:
        await self._notifier.wait_for(
            lambda: len(self.followups) >= count, timeout, f"{count} followup(s) to {self.name!r}"
        )
        return list(self.followups)

    def __str__(self) -> str:
        return f"<interaction {self.name!r} by {self.user.username} ack={self.response_type}>"
