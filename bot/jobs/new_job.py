"""A video asked for, and the job row it is written as when accepted.

/sora, the "Make a video" form and re-runs each build a `NewJob`; admission checks it
(bot/jobs/admission.py, bot/jobs/acceptance.py), then the job store writes its row with the
quota hold (bot/jobs/store.py `submit`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from bot.models import Actor, JobOptions, JobState, ReferenceImage


@dataclass(frozen=True)
class NewJob:
    """A video asked for: who asks, what they asked for and where the answer goes.

    /sora, the "Make a video" form and re-runs each build one; admission checks it, then the
    store writes the checked copy (see bot/jobs/admission.py)."""

    by: Actor
    channel_id: int
    prompt: str
    options: JobOptions  # as chosen: admission fills in the default quality and toggles
    image: ReferenceImage | None = None  # a kept reference image (a re-run reuses its source's)
    upload_limit_bytes: int | None = None
    reply_to_message_id: int | None = None
    # The command this job may answer with its status message (see cogs/_job_messages.py).
    interaction_id: int | None = None
    parent_job_id: int | None = None
    public_locale: str | None = None  # the server's language when the job was asked for


def new_job_row(
    new: NewJob,
    state: JobState,
    now: float,
    *,
    provider: str,
    model: str,
    deadline_seconds: float,
    accept_grace_seconds: float,
) -> dict[str, Any]:
    """The new job's row, as the store inserts it: queued with a slot, or waiting."""
    image = new.image
    return {
        "guild_id": new.by.guild_id,
        "channel_id": new.channel_id,
        "user_id": new.by.user_id,
        "provider": provider,
        "model": model,
        "prompt": new.prompt,
        "options_json": new.options.to_json(),
        "image_path": str(image.path) if image else None,
        "image_name": image.filename if image else None,
        "image_mime": image.mime if image else None,
        "image_source_url": image.source_url if image else None,
        "idempotency_key": f"sorabot-{secrets.token_hex(12)}",
        "upload_limit_bytes": new.upload_limit_bytes,
        "reply_to_message_id": new.reply_to_message_id,
        "interaction_id": new.interaction_id,
        "parent_job_id": new.parent_job_id,
        "state": state.value,
        "next_action_at": now + accept_grace_seconds,  # `JobStore.hand_to_worker`
        # A waiting job's deadline starts when it takes its slot (`start_next_waiting`).
        "deadline_at": now + deadline_seconds,
        "started_at": now if state is JobState.QUEUED else None,
        "created_at": now,
        "updated_at": now,
        "public_locale": new.public_locale,
    }
