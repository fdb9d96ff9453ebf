"""The one exception for "no, and nothing was spent": a friendly reason for the member.

Core code raises `Refusal` wherever a request cannot be done (bad input, no quota, not a
moderator...); `str(refusal)` is the text shown to the member, privately. The Discord glue
renders it in one place (the command tree's error handler, and one helper for buttons), so
no command has to catch it.
"""

from __future__ import annotations

from enum import StrEnum


class RefusalKind(StrEnum):
    """Why a new job was refused, in a few stable words (the metrics' `reason` label)."""

    SERVICE_UNAVAILABLE = "service_unavailable"  # the video service refuses jobs right now
    INVALID_REQUEST = "invalid_request"  # prompt, option or image not acceptable
    MEMBER_BLOCKED = "member_blocked"
    PROMPT_BLOCKED = "prompt_blocked"  # matched the server's blocklist
    TOO_MANY_ACTIVE = "too_many_active"  # the member's own jobs (or re-runs) in progress
    SERVER_BUSY = "server_busy"  # the server's jobs in progress
    COOLDOWN = "cooldown"
    QUOTA_EXHAUSTED = "quota_exhausted"
    OTHER = "other"


class Refusal(Exception):
    """A member-facing reason why a request was not done. Nothing was spent or changed."""

    def __init__(self, message: str, kind: RefusalKind = RefusalKind.OTHER) -> None:
        super().__init__(message)
        self.kind = kind  # for counting refusals; the member sees only the message
