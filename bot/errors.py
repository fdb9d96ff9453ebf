"""The one exception for "no, and nothing was spent": a friendly reason for the member.

Core code raises `Refusal` wherever a request cannot be done (bad input, no quota, not a
moderator...). The reason is plain text or an `i18n.Text` still to be put into words; the
Discord glue renders it in the member's language in one place (the command tree's error
handler, and one helper for buttons and forms), so no command has to catch it. `str(refusal)`
is the reason in the default language.
"""

from __future__ import annotations

from enum import StrEnum

from bot.i18n import DEFAULT_LOCALE, Text, render


class RefusalKind(StrEnum):
    """Why a new job was refused, in a few stable words (the metrics' `reason` label)."""

    SERVICE_UNAVAILABLE = "service_unavailable"  # the video service refuses jobs right now
    INVALID_REQUEST = "invalid_request"  # prompt, option or image not acceptable
    MEMBER_BLOCKED = "member_blocked"
    PROMPT_BLOCKED = "prompt_blocked"  # matched the server's blocklist
    TOO_MANY_ACTIVE = "too_many_active"  # the member's own jobs (or re-runs) in progress
    SERVER_BUSY = "server_busy"  # the server's jobs in progress
    SERVICE_BUSY = "service_busy"  # the deployment's jobs at the video service
    QUEUE_FULL = "queue_full"  # the server's queue (or the member's place in it) is full
    COOLDOWN = "cooldown"
    QUOTA_EXHAUSTED = "quota_exhausted"
    BUDGET_EXHAUSTED = "budget_exhausted"  # the deployment's DAILY_VIDEO_BUDGET is used up
    OTHER = "other"


class Refusal(Exception):
    """A member-facing reason why a request was not done. Nothing was spent or changed."""

    def __init__(self, reason: str | Text, kind: RefusalKind = RefusalKind.OTHER) -> None:
        super().__init__(render(reason, DEFAULT_LOCALE))
        self.reason = reason
        self.kind = kind  # for counting refusals; the member sees only the reason

    def text_for(self, locale: str | None) -> str:
        """The reason in the member's language (plain-text reasons are shown as they are)."""
        return render(self.reason, locale)
