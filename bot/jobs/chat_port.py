"""The worker's view of the chat platform: a port implemented by the Discord glue in cogs/."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from bot.i18n import Text
from bot.models import Job


class UploadTooLarge(Exception):
    """The platform refused the file for its size (Discord's 413)."""


class DeliveryError(Exception):
    """Posting failed. `permanent` means retrying cannot help (channel gone, no access)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class ChannelGone(DeliveryError):
    """The job's channel no longer exists (Discord's 10003 Unknown Channel): nothing about the
    job can be posted any more."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


class ChatPort(Protocol):
    async def show_status(self, job: Job, text: str) -> int:
        """Create the job's status message, or edit it to `text`; return its message id."""
        ...

    async def find_posted_result(self, job: Job) -> tuple[int, str] | None:
        """A result already posted for `job` (after a crash mid-post): its message id and
        whether it was a "file", a compressed file ("fitted") or a "link"; None if none."""
        ...

    async def post_result(
        self, job: Job, video: Path | None, text: str, *, full_quality_url: str | None = None
    ) -> int:
        """Post the video file (or, when `video` is None, just `text` with the link); with
        `full_quality_url`, a "Full quality" link button to the original goes with it."""
        ...

    async def notify_requester(self, job: Job, text: str) -> None:
        """Tell the requester about an outcome that is not a video (failure, expiry)."""
        ...

    async def alert_moderators(self, text: Text) -> None:
        """Tell the moderators about a problem only they or the operator can fix."""
        ...
