"""Fetch a finished video: streamed to a temporary file, never whole in memory, with a cap."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bot.models import Job
from bot.video.retention import written_longer_ago

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
# What Discord lets a bot upload on a server without boosts, used when Discord did not say.
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
# A conservative share of the provider links' unpublished lifetime (about a day).
PROVIDER_LINK_SECONDS = 12 * 3600


def upload_limit(reported: int | None, cap: int | None) -> int:
    """The size a post may carry: what Discord reported for the server (its boosts included),
    lowered to the operator's optional cap (`UPLOAD_LIMIT_MB`)."""
    limit = reported or DEFAULT_UPLOAD_LIMIT
    return min(limit, cap) if cap is not None else limit


def provider_link_while_valid(job: Job, now: float) -> str | None:
    """The provider's link to the original video while it can be trusted to work.

    Providers do not publish how long their links live (about a day in practice), so the link
    is offered only while the video is younger than `PROVIDER_LINK_SECONDS`."""
    made_at = job.finished_at or job.updated_at
    if job.result_url and now - made_at < PROVIDER_LINK_SECONDS:
        return job.result_url
    return None


@dataclass(frozen=True)
class Downloaded:
    path: Path
    size: int


class TooLargeToUpload(Exception):
    """The video is bigger than the download allows: post the link instead."""


class DownloadFailed(Exception):
    """`permanent` when retrying cannot help (the link is gone)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class VideoDownloader:
    def __init__(self, session: aiohttp.ClientSession, temp_dir: Path, timeout: float) -> None:
        self._session = session
        self._temp_dir = temp_dir
        # Large files take a while: bound the time between chunks, and the whole at 10 minutes.
        self._timeout = aiohttp.ClientTimeout(total=600, sock_connect=timeout, sock_read=timeout)

    def clear_leftovers(self, older_than: float = 0.0, now: float | None = None) -> int:
        """Delete partial downloads a crash left behind (call before any download starts).
        With `older_than`, only those last written longer ago than that (processes sharing
        MEDIA_DIR: another may be downloading right now)."""
        if not self._temp_dir.is_dir():
            return 0
        removed = 0
        for path in self._temp_dir.glob("video-*.mp4"):
            if not written_longer_ago(path, older_than, now):
                continue
            path.unlink(missing_ok=True)
            removed += 1
        return removed

    async def fetch(self, url: str, max_bytes: int) -> Downloaded:
        """Download `url`; raise `TooLargeToUpload` as soon as it is known to exceed `max_bytes`."""
        self._temp_dir.mkdir(parents=True, exist_ok=True)
        try:
            async with self._session.get(url, timeout=self._timeout) as response:
                if response.status in (403, 404, 410):
                    raise DownloadFailed(
                        f"the video link no longer works (HTTP {response.status})", permanent=True
                    )
                if response.status >= 400:
                    raise DownloadFailed(f"HTTP {response.status}", permanent=False)
                if response.content_length and response.content_length > max_bytes:
                    raise TooLargeToUpload()
                return await self._stream(response, max_bytes)
        except TimeoutError as error:
            raise DownloadFailed("the download timed out", permanent=False) from error
        except aiohttp.ClientError as error:
            raise DownloadFailed(
                f"download error ({type(error).__name__})", permanent=False
            ) from None

    async def _stream(self, response: aiohttp.ClientResponse, max_bytes: int) -> Downloaded:
        size = 0
        with tempfile.NamedTemporaryFile(
            dir=self._temp_dir, prefix="video-", suffix=".mp4", delete=False
        ) as handle:
            path = Path(handle.name)
            try:
                async for chunk in response.content.iter_chunked(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLargeToUpload()
                    handle.write(chunk)
            except BaseException:
                handle.close()
                path.unlink(missing_ok=True)
                raise
        if size == 0:
            path.unlink(missing_ok=True)
            raise DownloadFailed("the video service sent an empty file", permanent=False)
        return Downloaded(path, size)
