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
the encoder, then gets what comes next instead.
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
    DownloadFailed,
    TooLargeToUpload,
    VideoDownloader,
    provider_link_while_valid,
    upload_limit,
)
from bot.video.fitting import FitError
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


class VideoDelivery:
    def __init__(
        self,
        *,
        jobs: JobStore,
        shelf: VideoShelf,
        downloader: VideoDownloader,
        clock: Clock,
        upload_limit_cap: int | None,
    ) -> None:
        self.jobs = jobs
        self.shelf = shelf
        self.downloader = downloader
        self.clock = clock
        self.upload_limit_cap = upload_limit_cap  # UPLOAD_LIMIT_MB; None: Discord's limit

    def upload_limit(self, reported: int | None) -> int:
        return upload_limit(reported, self.upload_limit_cap)

    async def keep_original(self, job: Job) -> Job:
        """`job` with the bot's own copy of its video: the one kept before (a restart
        mid-delivery), else downloaded and kept now. The job as it is when there can be no
        copy (the video is too big to take, the disk is full): its link is posted then.

        Raises `DownloadFailed` when the download failed; whether to try again is the caller's.
        """
        assert job.result_url is not None
        if self.shelf.kept(job) is not None:
            return job
        try:
            download = await self.downloader.fetch(job.result_url, SOURCE_MAX_BYTES)
            try:
                kept = self.shelf.keep(job.id, download.path)
            except OSError:
                download.path.unlink(missing_ok=True)
                raise
        except TooLargeToUpload:
            log.warning(
                "job %s: the video is over %d bytes; posting the link", job.id, SOURCE_MAX_BYTES
            )
            return job
        except OSError as error:  # e.g. the disk is full: the link still works
            log.warning("job %s: could not keep the video (%s); posting the link", job.id, error)
            return job
        await self.jobs.record_kept_video(job, kept, download.size)
        return replace(job, video_path=kept, video_bytes=download.size)

    async def post_best(
        self,
        job: Job,
        reported_limit: int | None,
        post: PostVideo[Message],
        *,
        member_waiting: bool,
        while_encoding: WhileEncoding | None = None,
        posted_before: Callable[[], Awaitable[str | None]] | None = None,
    ) -> Posted[Message]:
        """Post the best thing there is for `job`'s video within the upload limit Discord
        reported (lowered to UPLOAD_LIMIT_MB), through `post`.

        `member_waiting`: someone is waiting for the answer, so the encoder is waited for at
        most `SHOW_ENCODER_WAIT`. `posted_before`, for a video posted before, gives the link to
        that post's file (asked only when the bot has no copy that fits).

        Raises `post`'s `DeliveryError` when the post may go through later (the caller tries
        again) or even the link was refused, and `Refusal` when there is nothing to post.
        """
        limit = self.upload_limit(reported_limit)
        prepared = await self._from_shelf(job, limit, member_waiting, while_encoding)
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
            async with while_encoding() if while_encoding else contextlib.nullcontext():
                return await self.shelf.prepare(kept, limit, wait_seconds=wait)
        except (FitError, OSError) as error:
            log.warning(
                "job %s: could not compress the video to fit %d bytes (%s)", job.id, limit, error
            )
            return None

    async def _download_within(self, job: Job, limit: int, posted_file: str | None) -> Path | None:
        """The video downloaded within `limit`, from the earlier post's file or the provider's
        link; None if it is bigger (the link is posted); `Refusal` if neither has it."""
        for url in (posted_file, job.result_url):
            if not url:
                continue
            try:
                return (await self.downloader.fetch(url, limit)).path
            except TooLargeToUpload:
                return None
            except DownloadFailed as error:
                log.info("job %s: video not available at one source: %s", job.id, error)
        raise Refusal(Text("results.show.expired", job=job.id))
