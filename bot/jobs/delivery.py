"""Posting a finished video: the best thing there is for the upload limit, one way for every post.

The worker posting a new video and `/sora-show` posting one again ask the same question: what
is the best thing to post here? In order:

1. the bot's kept original, when it is within the limit;
2. else its copy compressed to fit that limit (made once per limit and kept, bot/video/shelf.py);
3. else, for a video posted before, a copy downloaded within the limit: the file of the earlier
   post, else the provider's link;
4. else the link.

Discord refusing a file as too large, or refusing a post with a file for good, ends in the link
the same way for both. What a post says, where, and with which buttons is the caller's: it
passes a `PostVideo` callable, which gets an `Offer` and raises the chat port's errors
(bot/jobs/chat_port.py). A member waiting for the answer (`/sora-show`) waits a limited time for
the encoder, and behind every delivery waiting for it, then gets what comes next instead.

Nothing downloaded is posted or kept before the encoder process has found it to be a video
whose streams decode, within its limits (`VideoFitter.inspect`): what is not a video is
`ResultRefused` (never posted, not even as a link), a video over a limit gets its link. While
the disk is below its floor (bot/video/space.py) the original is not kept: a download within
the upload limit is posted from where it was downloaded, then removed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Generic, TypeVar

from bot.clock import Clock
from bot.errors import Refusal
from bot.i18n import Text
from bot.jobs.chat_port import ChannelGone, DeliveryError, UploadTooLarge
from bot.jobs.store import JobStore
from bot.models import Job
from bot.video.download import (
    Downloaded,
    DownloadFailed,
    ResultRefused,
    TooLargeToUpload,
    VideoDownloader,
    provider_link_while_valid,
    upload_limit,
)
from bot.video.fitting import FitError, NotAVideo, Priority
from bot.video.shelf import Prepared, VideoShelf

log = logging.getLogger(__name__)

# How long a member waiting for a post (/sora-show) waits for a free encoder before they are
# offered another copy or the link instead.
SHOW_ENCODER_WAIT = 60.0
# The largest original downloaded (to keep and compress); a bigger one is posted as its link.
SOURCE_MAX_BYTES = 1024 * 1024 * 1024


@dataclass(frozen=True)
class Offer:
    """What to post: a video file (`compressed` to fit, then with the original's link as
    `full_quality_url` while it is likely to work), or no file and only the `link`."""

    video: Path | None = None
    compressed: bool = False
    full_quality_url: str | None = None
    link: str | None = None

    @property
    def kind(self) -> str:
        """What is posted, in the metrics' words: "file" (as it came), "fitted" (compressed
        to fit) or "link"."""
        if self.video is None:
            return "link"
        return "fitted" if self.compressed else "file"


Message = TypeVar("Message")
# Posts an offer and returns what the chat made of it; raises `UploadTooLarge` when the file
# was refused for its size, `DeliveryError` for anything else.
PostVideo = Callable[[Offer], Awaitable[Message]]
# Entered around an encode the caller waits for (the worker says so and lends its slot).
WhileEncoding = Callable[[], AbstractAsyncContextManager[None]]


@dataclass(frozen=True)
class Posted(Generic[Message]):
    message: Message
    kind: str  # the offer's kind: "file", "fitted" or "link"


@dataclass(frozen=True)
class Original:
    """What a delivery has of the video before it posts: `job`, with its kept copy if there is
    one, and a checked download that was not kept (the disk is below its floor), which the
    caller posts with `post_best(unkept=...)` and then removes."""

    job: Job
    unkept: Path | None = None


# Called after a video was kept, or not kept for lack of room: keeps the media in its bounds.
Upkeep = Callable[[], Awaitable[None]]


class VideoDelivery:
    def __init__(
        self,
        *,
        jobs: JobStore,
        shelf: VideoShelf,
        downloader: VideoDownloader,
        clock: Clock,
        upload_limit_cap: int | None,
        upkeep: Upkeep | None = None,
    ) -> None:
        self.jobs = jobs
        self.shelf = shelf
        self.downloader = downloader
        self.clock = clock
        self.upload_limit_cap = upload_limit_cap  # UPLOAD_LIMIT_MB; None: Discord's limit
        self.upkeep = upkeep

    def upload_limit(self, reported: int | None) -> int:
        return upload_limit(reported, self.upload_limit_cap)

    async def keep_original(self, job: Job) -> Original:
        """The bot's own copy of `job`'s video: the one kept before (a restart mid-delivery),
        else downloaded, checked and kept now. Without a copy (too big to take, over a limit
        of the encoder, the disk full) the link is posted; below the disk's floor a checked
        download within the upload limit comes back `unkept`.

        Raises `ResultRefused` when what the link gave is not a video (or the link led off
        limits), `DownloadFailed` when the download failed; whether to try again is the
        caller's.
        """
        assert job.result_url is not None
        if self.shelf.kept(job) is not None:
            return Original(job)
        limit = self.upload_limit(job.upload_limit_bytes)
        room = self.shelf.room()
        keeping = room is None or room > 0
        # No original larger than the room left above the disk's floor (a bigger one gets its
        # link). Below the floor: only what can be posted as it is, for as long as it is posted.
        most = SOURCE_MAX_BYTES if room is None else min(SOURCE_MAX_BYTES, max(limit, room))
        if not keeping:
            most = limit
        try:
            download = await self.downloader.fetch(job.result_url, most)
        except TooLargeToUpload:
            log.warning("job %s: the video is over %d bytes; posting the link", job.id, most)
            return Original(job)
        except OSError as error:  # e.g. the disk is full: the link still works
            log.warning(
                "job %s: could not download the video (%s); posting the link", job.id, error
            )
            return Original(job)
        if not await self._checked(job, download):
            return Original(job)
        if not keeping:
            log.warning(
                "job %s: the media disk is below MEDIA_MIN_FREE_MB; the video is posted, not kept",
                job.id,
            )
            await self._upkeep()
            return Original(job, unkept=download.path)
        try:
            kept = self.shelf.keep(job.id, download.path, download.kind)
        except OSError as error:  # e.g. the disk is full: the link still works
            download.path.unlink(missing_ok=True)
            log.warning("job %s: could not keep the video (%s); posting the link", job.id, error)
            return Original(job)
        await self.jobs.record_kept_video(job, kept, download.size)
        await self._upkeep()
        return Original(replace(job, video_path=kept, video_bytes=download.size))

    async def _checked(self, job: Job, download: Downloaded) -> bool:
        """Whether `download` is a video within the encoder's limits (else it is removed: False
        means its link is posted); `ResultRefused` if it is not a video at all."""
        try:
            await self.shelf.fitter.inspect(download.path, self.shelf.work_dir)
            return True
        except NotAVideo as error:
            download.path.unlink(missing_ok=True)
            raise ResultRefused(f"what the link gave is not a video: {error}") from None
        except (FitError, OSError) as error:  # over a limit, or the check itself failed
            download.path.unlink(missing_ok=True)
            log.warning("job %s: the video was not checked (%s); posting the link", job.id, error)
            return False

    async def _upkeep(self) -> None:
        if self.upkeep is not None:
            await self.upkeep()

    async def post_best(
        self,
        job: Job,
        reported_limit: int | None,
        post: PostVideo[Message],
        *,
        member_waiting: bool,
        while_encoding: WhileEncoding | None = None,
        posted_before: Callable[[], Awaitable[str | None]] | None = None,
        unkept: Path | None = None,
    ) -> Posted[Message]:
        """Post the best thing there is for `job`'s video within the upload limit Discord
        reported (lowered to UPLOAD_LIMIT_MB), through `post`.

        `member_waiting`: someone is waiting for the answer, so the encoder is waited for at
        most `SHOW_ENCODER_WAIT`, behind the deliveries. `posted_before`, for a video posted
        before, gives the link to that post's file (asked only when the bot has no copy that
        fits). `unkept`: a checked download that was not kept (see `keep_original`), posted if
        it is within the limit; the caller removes it.

        Raises `post`'s `DeliveryError` when the post may go through later (the caller tries
        again) or even the link was refused, and `Refusal` when there is nothing to post.
        """
        limit = self.upload_limit(reported_limit)
        prepared = await self._from_shelf(job, limit, member_waiting, while_encoding)
        if prepared is None and unkept is not None and not self.shelf.needs_fitting(unkept, limit):
            prepared = Prepared(unkept, compressed=False)
        downloaded = None
        if prepared is None and posted_before is not None:
            downloaded = await self._download_within(job, limit, await posted_before())
            prepared = Prepared(downloaded, compressed=False) if downloaded else None
        try:
            if prepared is not None:
                offer = Offer(
                    video=prepared.path,
                    compressed=prepared.compressed,
                    full_quality_url=(
                        provider_link_while_valid(job, self.clock.now())
                        if prepared.compressed
                        else None
                    ),
                )
                try:
                    return Posted(await post(offer), offer.kind)
                except UploadTooLarge:
                    log.info("job %s: the file was refused as too large; posting the link", job.id)
                except DeliveryError as error:
                    if not error.permanent or isinstance(error, ChannelGone):
                        raise
                    # Refused for good with the file (e.g. a button it would not take): the
                    # link may still go through, and the member gets their video either way.
                    log.warning(
                        "job %s: the file post was refused (%s); posting the link", job.id, error
                    )
        finally:
            if downloaded is not None:  # fetched for this post only; the kept copies stay
                downloaded.unlink(missing_ok=True)
        # An old provider link may still work: better than nothing.
        if job.result_url is None:
            raise Refusal(Text("results.show.unavailable", job=job.id))
        link = Offer(link=job.result_url)
        return Posted(await post(link), link.kind)

    async def _from_shelf(
        self,
        job: Job,
        limit: int,
        member_waiting: bool,
        while_encoding: WhileEncoding | None,
    ) -> Prepared | None:
        """The kept original if it fits, else its copy compressed to fit (made now if need
        be); None if there is no kept copy or it cannot be made to fit."""
        kept = self.shelf.kept(job)
        if kept is None:
            return None
        try:
            ready = self.shelf.ready(kept, limit)
            if ready is not None:
                return ready
            wait = SHOW_ENCODER_WAIT if member_waiting else None
            priority = Priority.REPOST if member_waiting else Priority.DELIVERY
            async with while_encoding() if while_encoding else contextlib.nullcontext():
                return await self.shelf.prepare(kept, limit, wait_seconds=wait, priority=priority)
        except (FitError, OSError) as error:
            log.warning(
                "job %s: could not compress the video to fit %d bytes (%s)", job.id, limit, error
            )
            return None

    async def _download_within(self, job: Job, limit: int, posted_file: str | None) -> Path | None:
        """The video downloaded within `limit` and checked, from the earlier post's file or the
        provider's link; None if it is bigger or over a limit of the encoder (the link is
        posted); `Refusal` if neither has it."""
        for url in (posted_file, job.result_url):
            if not url:
                continue
            try:
                download = await self.downloader.fetch(url, limit)
                return download.path if await self._checked(job, download) else None
            except TooLargeToUpload:
                return None
            except DownloadFailed as error:  # a refused result too: try the other source
                log.info("job %s: video not available at one source: %s", job.id, error)
        raise Refusal(Text("results.show.expired", job=job.id))
