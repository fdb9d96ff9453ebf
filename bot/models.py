"""The job record, its states, and the state machine they obey.

The job row is the queue, and it moves only along these arrows (`TRANSITIONS`)::

    waiting ──► queued ──► submitted ──► running ──► succeeded ──► delivered   (charge)
      │  │        │           │  ↺          │  ↺        │
      │  │        │           └─────────────┴───────────┤      a poll may find the video at once
      │  └────────┼───────────┴─────────────┴───────────┴────► failed      (release)
      │           └───────────┴─────────────┴────────────────► expired     (release)
      └──────────────────────────────────────────────────────► cancelled   (release)

A job beyond the caps on jobs at the video service waits in its server's queue (`waiting`, its
quota unit already held) until the worker gives it a slot (`queued`); only a waiting job can
be cancelled, since the video service has no cancel. ↺: a poll that only records progress. A
finished video is delivered whatever the deadline, so `succeeded` never expires, and a waiting
job has no deadline yet (it starts when the job takes its slot). Each terminal state settles
the job's quota hold in the same write (`QUOTA_OUTCOMES`): delivered charges it, failed,
expired and cancelled give it back. `JobStore` makes every state change through
`check_transition`; a move not drawn here is a bug and raises `IllegalTransition`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class JobState(StrEnum):
    WAITING = "waiting"  # in its server's queue, quota hold written; no slot yet
    QUEUED = "queued"  # has a slot at the video service; nothing sent to it yet
    SUBMITTED = "submitted"  # provider task id known
    RUNNING = "running"  # the provider reports it is generating
    SUCCEEDED = "succeeded"  # the provider has a video; not yet posted
    DELIVERED = "delivered"  # posted in the channel and charged
    FAILED = "failed"  # terminal, quota released
    EXPIRED = "expired"  # terminal, deadline passed, quota released
    CANCELLED = "cancelled"  # terminal, withdrawn from the queue by a person, quota released


class FailureCode(StrEnum):
    """Why a job ended without a video, as the bot records it (`Job.error_code`).

    The bot says each in the reader's language (bot/jobs/wording.py), except the ones that
    `quotes_the_service`: their message is the video service's own reason, shown as given. A
    code the service itself sent with a refusal (`validation_failed`, `http_400`, ...) is
    stored as it came, and its message quoted the same way. The values are what the database
    holds: never change one.
    """

    DEADLINE = "deadline"  # not ready within the job's deadline (the job expired)
    PROVIDER_CHANGED = "provider_changed"  # PROVIDER changed before the job was sent
    MODEL_CHANGED = "model_changed"  # MODEL changed before the job was sent
    OUTCOME_UNKNOWN = "outcome_unknown"  # sent, but whether the service took it is unknown
    TASK_NOT_FOUND = "not_found"  # the service no longer knows the job's task
    PROVIDER_MISCONFIGURED = "provider_misconfigured"  # the service refused the API key
    INSUFFICIENT_CREDITS = "insufficient_credits"  # the service's account is out of credits
    GENERATION_FAILED = "generation_failed"  # the service failed to make it (its reason)
    REJECTED = "rejected"  # the service refused it without a code of its own (its reason)
    DELIVERY_FAILED = "delivery_failed"  # made, but Discord would not take the post
    # What the service's link gave was not a video, or led somewhere a video should not be
    NOT_A_VIDEO = "not_a_video"
    NO_CHANNEL_ACCESS = "no_channel_access"  # the channel is gone or closed to the bot
    # Cancelled before it started: its prompt matched a blocklist entry added while it waited
    PROMPT_BLOCKED = "prompt_blocked"
    INTERNAL_ERROR = "internal_error"  # a bug or an unexpected answer, again and again

    @property
    def quotes_the_service(self) -> bool:
        """Whether the job's message is the video service's reason rather than the bot's."""
        return self in (FailureCode.GENERATION_FAILED, FailureCode.REJECTED)

    @classmethod
    def of(cls, stored: str | None) -> FailureCode | None:
        """The code a stored `error_code` is, or None for a service's own code (or none)."""
        if stored is None or stored not in cls._value2member_map_:
            return None
        return cls(stored)


class QuotaOutcome(StrEnum):
    """What a job's end does to its quota hold (the ledger row's kind)."""

    CHARGE = "charge"
    RELEASE = "release"


_S = JobState
TRANSITIONS: Mapping[JobState, frozenset[JobState]] = {
    _S.WAITING: frozenset({_S.QUEUED, _S.CANCELLED, _S.FAILED}),
    _S.QUEUED: frozenset({_S.SUBMITTED, _S.FAILED, _S.EXPIRED}),
    _S.SUBMITTED: frozenset({_S.SUBMITTED, _S.RUNNING, _S.SUCCEEDED, _S.FAILED, _S.EXPIRED}),
    _S.RUNNING: frozenset({_S.RUNNING, _S.SUCCEEDED, _S.FAILED, _S.EXPIRED}),
    _S.SUCCEEDED: frozenset({_S.DELIVERED, _S.FAILED}),
    _S.DELIVERED: frozenset(),
    _S.FAILED: frozenset(),
    _S.EXPIRED: frozenset(),
    _S.CANCELLED: frozenset(),
}
QUOTA_OUTCOMES: Mapping[JobState, QuotaOutcome] = {
    _S.DELIVERED: QuotaOutcome.CHARGE,
    _S.FAILED: QuotaOutcome.RELEASE,
    _S.EXPIRED: QuotaOutcome.RELEASE,
    _S.CANCELLED: QuotaOutcome.RELEASE,
}

ACTIVE_STATES = tuple(state for state in JobState if TRANSITIONS[state])
# The jobs that ended giving their unit back: they delivered nothing, so they count in no
# cooldown and no daily budget.
RELEASED_STATES = tuple(
    state for state, outcome in QUOTA_OUTCOMES.items() if outcome is QuotaOutcome.RELEASE
)
# The jobs at the video service (or about to be sent there): each holds one of the slots the
# caps count, and each expires at its deadline.
PENDING_AT_PROVIDER = tuple(state for state in ACTIVE_STATES if _S.EXPIRED in TRANSITIONS[state])
# The jobs waiting for a slot: in progress, but with no step for the worker to take.
IN_QUEUE = tuple(state for state in ACTIVE_STATES if _S.CANCELLED in TRANSITIONS[state])
# The active jobs the worker moves one step at a time.
WORKER_STATES = tuple(state for state in ACTIVE_STATES if state not in IN_QUEUE)


class IllegalTransition(AssertionError):
    """A state change the machine does not allow: always a bug in the caller."""


def check_transition(current: JobState, target: JobState) -> None:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(f"a job cannot go from {current.value} to {target.value}")


@dataclass(frozen=True)
class Actor:
    """Who is asking, for a video or for a moderator action, as they are right now: their
    server, their id, their roles and whether they may manage the server. Plain ids, read
    when they ask, so any front end can say who it is and a rule sees what they have now."""

    guild_id: int
    user_id: int
    role_ids: tuple[int, ...] = ()
    manage_guild: bool = False
    # The front end they ask through, for the record: None for Discord, VIA_WEB for the web
    # dashboard. No rule depends on it.
    via: str | None = None


VIA_WEB = "web"


@dataclass(frozen=True)
class ShardSlice:
    """The shards one bot process connects (of `count`): Discord tells it about the servers
    whose id falls in them, and nothing of the others."""

    count: int
    ids: tuple[int, ...]

    def covers(self, guild_id: int) -> bool:
        # Discord's rule for which shard a server's events go to.
        return (guild_id >> 22) % self.count in self.ids


@dataclass(frozen=True)
class ReferenceImage:
    """A member's reference image as kept in the data directory; `source_url` is a public
    link to the same picture, when there is one that still works."""

    path: Path
    filename: str
    mime: str
    source_url: str | None


@dataclass(frozen=True)
class JobOptions:
    orientation: str
    duration: int
    quality: str | None = None
    toggles: dict[str, bool] = field(default_factory=dict)  # backend-specific yes/no options

    def to_json(self) -> str:
        return json.dumps(
            {
                "orientation": self.orientation,
                "duration": self.duration,
                "quality": self.quality,
                "toggles": self.toggles,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> JobOptions:
        data = json.loads(text)
        return cls(
            orientation=data["orientation"],
            duration=int(data["duration"]),
            quality=data.get("quality"),
            toggles={str(k): bool(v) for k, v in (data.get("toggles") or {}).items()},
        )


@dataclass(frozen=True)
class Job:
    id: int
    guild_id: int
    channel_id: int
    user_id: int
    provider: str
    model: str
    prompt: str
    options: JobOptions
    image_path: Path | None
    image_name: str | None
    image_mime: str | None
    image_source_url: str | None
    state: JobState
    idempotency_key: str
    submit_attempted: bool
    provider_task_id: str | None
    progress: int | None
    status_message_id: int | None
    status_text: str | None
    status_edited_at: float | None
    reply_to_message_id: int | None
    interaction_id: int | None  # the /sora answered with the status message, if it was
    upload_limit_bytes: int | None
    reference_url: str | None
    result_url: str | None
    result_message_id: int | None
    delivery: str | None
    delivery_started: bool
    delivery_started_at: float | None
    error_code: str | None
    error_message: str | None
    transient_failures: int
    polls: int
    parent_job_id: int | None
    next_action_at: float
    deadline_at: float
    created_at: float
    updated_at: float
    finished_at: float | None
    result_deleted_by: int | None = None
    result_deleted_at: float | None = None
    submitted_at: float | None = None  # when the provider took it (None before, or if older)
    video_path: Path | None = None  # the bot's own copy of the finished video, if kept
    video_bytes: int | None = None
    public_locale: str | None = None  # the language of its public messages (None: English)
    started_at: float | None = None  # when it took its slot at the video service (None: waits)
    cancelled_by: int | None = None  # who cancelled it, when it was

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def is_waiting(self) -> bool:
        return self.state in IN_QUEUE

    @property
    def image(self) -> ReferenceImage | None:
        if self.image_path is None:
            return None
        return ReferenceImage(
            path=self.image_path,
            filename=self.image_name or self.image_path.name,
            mime=self.image_mime or "image/png",
            source_url=self.image_source_url,
        )

    @classmethod
    def from_row(cls, row: Any) -> Job:
        data = dict(row)
        return cls(
            id=data["id"],
            guild_id=data["guild_id"],
            channel_id=data["channel_id"],
            user_id=data["user_id"],
            provider=data["provider"],
            model=data["model"],
            prompt=data["prompt"],
            options=JobOptions.from_json(data["options_json"]),
            image_path=Path(data["image_path"]) if data["image_path"] else None,
            image_name=data["image_name"],
            image_mime=data["image_mime"],
            image_source_url=data["image_source_url"],
            state=JobState(data["state"]),
            idempotency_key=data["idempotency_key"],
            submit_attempted=bool(data["submit_attempted"]),
            provider_task_id=data["provider_task_id"],
            progress=data["progress"],
            status_message_id=data["status_message_id"],
            status_text=data["status_text"],
            status_edited_at=data["status_edited_at"],
            reply_to_message_id=data["reply_to_message_id"],
            interaction_id=data["interaction_id"],
            upload_limit_bytes=data["upload_limit_bytes"],
            reference_url=data["reference_url"],
            result_url=data["result_url"],
            result_message_id=data["result_message_id"],
            delivery=data["delivery"],
            delivery_started=bool(data["delivery_started"]),
            delivery_started_at=data["delivery_started_at"],
            error_code=data["error_code"],
            error_message=data["error_message"],
            transient_failures=data["transient_failures"],
            polls=data["polls"],
            parent_job_id=data["parent_job_id"],
            next_action_at=data["next_action_at"],
            deadline_at=data["deadline_at"],
            created_at=data["created_at"],
            updated_at=data["updated_at"],
            finished_at=data["finished_at"],
            result_deleted_by=data["result_deleted_by"],
            result_deleted_at=data["result_deleted_at"],
            submitted_at=data["submitted_at"],
            video_path=Path(data["video_path"]) if data["video_path"] else None,
            video_bytes=data["video_bytes"],
            public_locale=data.get("public_locale"),
            started_at=data.get("started_at"),
            cancelled_by=data.get("cancelled_by"),
        )
