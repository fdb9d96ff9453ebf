"""Fetch a finished video: streamed to a temporary file, never whole in memory, with a cap,
and only from where a video should be.

What the link gives is not trusted: only `http(s)`, at most `MAX_REDIRECTS` redirects, each
followed here (not by the HTTP client) and each connecting only to a public address (or the
provider's own, see bot/video/destinations.py); and the first bytes must be those of a video
container (bot/video/media_types.py), so an HTML page, a playlist or a script answered with
"200 video/mp4" is refused before the rest is fetched. Whether its streams decode is checked
afterwards, in the encoder process (`VideoFitter.inspect`).
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from yarl import URL

from bot.models import Job
from bot.video.destinations import Destinations, GuardedResolver, RefusedAddress
from bot.video.media_types import VIDEO_HEAD_BYTES, VideoType, sniff_video_type
from bot.video.retention import written_longer_ago

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
MAX_REDIRECTS = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
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
    kind: VideoType  # what its first bytes show


class TooLargeToUpload(Exception):
    """The video is bigger than the download allows: post the link instead."""


class DownloadFailed(Exception):
    """`permanent` when retrying cannot help (the link is gone)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class ResultRefused(DownloadFailed):
    """What the link gave is not a video, or the link (or a redirect) leads somewhere a video
    should not be. Retried like a network error (the service may answer better later); the
    link itself is never posted, since it does not lead to a video."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=False)


class VideoDownloader:
    """Downloads finished videos through a session of its own, whose every connection goes
    only where `destinations` allows. Call `close` when done."""

    def __init__(self, temp_dir: Path, timeout: float, destinations: Destinations) -> None:
        self._temp_dir = temp_dir
        self._destinations = destinations
        self._session: aiohttp.ClientSession | None = None
        # Large files take a while: bound the time between chunks, and the whole at 10 minutes.
        self._timeout = aiohttp.ClientTimeout(total=600, sock_connect=timeout, sock_read=timeout)

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(self._destinations))
            # Proxy settings from the environment are not used: the checked address is the
            # address connected to.
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> VideoDownloader:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

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
        """Download `url`; raise `TooLargeToUpload` as soon as it is known to exceed `max_bytes`,
        `ResultRefused` when it is not a video or not where one should be, `DownloadFailed`
        for anything else."""
        self._temp_dir.mkdir(parents=True, exist_ok=True)
        session = self._open_session()
        target = URL(url)
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                await self._check_destination(target)
                async with session.get(
                    target, timeout=self._timeout, allow_redirects=False
                ) as response:
                    if response.status in REDIRECT_STATUSES:
                        target = _next_hop(target, response)
                        continue
                    if response.status in (403, 404, 410):
                        raise DownloadFailed(
                            f"the video link no longer works (HTTP {response.status})",
                            permanent=True,
                        )
                    if response.status >= 400:
                        raise DownloadFailed(f"HTTP {response.status}", permanent=False)
                    if response.status != 200:
                        raise ResultRefused(
                            f"the link answered HTTP {response.status}, not a video"
                        )
                    if response.content_length and response.content_length > max_bytes:
                        raise TooLargeToUpload()
                    return await self._stream(response, max_bytes)
        except TimeoutError as error:
            raise DownloadFailed("the download timed out", permanent=False) from error
        except aiohttp.ClientConnectorDNSError as error:
            if isinstance(error.os_error, RefusedAddress):
                raise ResultRefused(f"the link leads off limits: {error.os_error}") from None
            raise DownloadFailed(
                "download error (the name could not be resolved)", permanent=False
            ) from None
        except aiohttp.ClientError as error:
            raise DownloadFailed(
                f"download error ({type(error).__name__})", permanent=False
            ) from None
        raise ResultRefused(f"the link redirected more than {MAX_REDIRECTS} times")

    async def _check_destination(self, target: URL) -> None:
        if target.scheme not in ("http", "https") or not target.host:
            raise ResultRefused(f"the link is not an http(s) address ({target.scheme or '?'}:)")
        try:
            await self._destinations.check_literal(target.host)
        except RefusedAddress as refused:
            raise ResultRefused(f"the link leads off limits: {refused}") from None

    async def _stream(self, response: aiohttp.ClientResponse, max_bytes: int) -> Downloaded:
        size = 0
        kind: VideoType | None = None
        head = b""
        with tempfile.NamedTemporaryFile(
            dir=self._temp_dir, prefix="video-", suffix=".mp4", delete=False
        ) as handle:
            path = Path(handle.name)
            try:
                async for chunk in response.content.iter_chunked(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLargeToUpload()
                    if kind is None:
                        head += chunk
                        if len(head) >= VIDEO_HEAD_BYTES:
                            kind = _video_type(head)
                    handle.write(chunk)
                if size == 0:
                    raise DownloadFailed("the video service sent an empty file", permanent=False)
                if kind is None:
                    kind = _video_type(head)
            except BaseException:
                handle.close()
                path.unlink(missing_ok=True)
                raise
        return Downloaded(path, size, kind)


def _video_type(head: bytes) -> VideoType:
    kind = sniff_video_type(head[:VIDEO_HEAD_BYTES])
    if kind is None:
        raise ResultRefused("what the link gave is not a video (MP4/MOV or WebM/Matroska)")
    return kind


def _next_hop(current: URL, response: aiohttp.ClientResponse) -> URL:
    location = response.headers.get("Location")
    if not location:
        raise DownloadFailed(f"HTTP {response.status} without a Location", permanent=False)
    return current.join(URL(location))
