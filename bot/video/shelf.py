"""The bot's own copies of finished videos, and the copies of them compressed to fit a limit.

Each delivered video's original, as downloaded, is kept under `MEDIA_DIR/videos` as
`job-<id>.mp4`, so a restart mid-delivery starts again from the copy and `/sora-show` can post
the video after the provider's link has expired. What is uploaded is the original itself when
it is within the upload limit, else a copy compressed to fit that limit, kept beside it as
`job-<id>.fit-<limit bytes>.mp4` and used again by every later post under the same limit (a
server's limit is the same for every post there), so a video is encoded once per limit.

Both are bounded by age and total size by the same sweep as the reference images
(bot/video/retention.py); a compressed copy goes with its original (when the original is swept
or its video deleted). An encode runs in a folder of its own (`<work dir>/fit-*`) and its result
is renamed into place, so processes sharing MEDIA_DIR only ever see whole files; a crash leaves
such folders behind, and `clear_leftovers` removes them at start-up.

The shelf's size bound counts the work folder too (downloads, checks and compressions in
progress), and no new copy is kept while the disk is below its free-space floor
(bot/video/space.py). A video kept as WebM or Matroska is named for its container
(`job-<id>.webm`); its compressed copies are MP4s like any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.models import Job
from bot.video.fitting import FitError, Priority, VideoFitter
from bot.video.media_types import ISO_MEDIA, VIDEO_TYPES, VideoType
from bot.video.retention import prune_folder, written_longer_ago
from bot.video.sandbox import BOX_PREFIX
from bot.video.space import MediaSpace, folder_bytes

log = logging.getLogger(__name__)

FIT_FOLDER_PREFIX = "fit-"
# Between a kept original's name and the limit its compressed copy fits: job-12.fit-250000.mp4
FITTED_MARK = ".fit-"


@dataclass(frozen=True)
class Prepared:
    """A file ready to upload: the kept original itself, or a compressed copy of it."""

    path: Path
    compressed: bool


class VideoShelf:
    def __init__(
        self,
        folder: Path,
        work_dir: Path,
        fitter: VideoFitter,
        space: MediaSpace | None = None,
    ) -> None:
        self.folder = folder
        self.work_dir = work_dir
        self.fitter = fitter
        self.space = space  # None: no floor (tests of other things)
        # One encode per (video, limit) at a time in this process; the others wait and reuse it.
        self._encodes: dict[Path, asyncio.Lock] = {}
        self._waiting: dict[Path, int] = {}

    def path_for(self, job_id: int, kind: VideoType = ISO_MEDIA) -> Path:
        return self.folder / f"job-{job_id}.{kind.extension}"

    @staticmethod
    def fitted_path(kept: Path, limit_bytes: int) -> Path:
        """Where the copy of `kept` compressed to fit `limit_bytes` is kept (an MP4)."""
        return kept.with_name(f"{kept.stem}{FITTED_MARK}{limit_bytes}.mp4")

    @staticmethod
    def fitted_copies(kept: Path) -> list[Path]:
        """Every compressed copy kept of `kept`, whatever its limit."""
        if not kept.parent.is_dir():
            return []
        return sorted(kept.parent.glob(f"{kept.stem}{FITTED_MARK}*.mp4"))

    def may_keep(self) -> bool:
        """Whether a new copy may be kept: not while the disk is below its floor."""
        return self.space is None or self.space.allows_keeping()

    def room(self) -> int | None:
        """What may still be written before the disk's floor; None: no floor."""
        return None if self.space is None else self.space.room()

    def keep(self, job_id: int, downloaded: Path, kind: VideoType = ISO_MEDIA) -> Path:
        """Move a finished download onto the shelf (same file system: a rename). Copies
        compressed from an earlier file of the same name are not of this one: they go."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path_for(job_id, kind)
        for stale in self.fitted_copies(target):
            stale.unlink(missing_ok=True)
        downloaded.replace(target)
        return target

    def kept(self, job: Job) -> Path | None:
        """The job's kept copy, if it is still there."""
        if job.video_path is not None and job.video_path.is_file():
            return job.video_path
        return None

    def discard(self, job: Job) -> None:
        """Remove the job's kept copy and its compressed copies for good (its video was
        deleted)."""
        named = {self.path_for(job.id, kind) for kind in VIDEO_TYPES.values()}
        for kept in {*named, *([job.video_path] if job.video_path else [])}:
            for path in [*self.fitted_copies(kept), kept]:
                path.unlink(missing_ok=True)

    @staticmethod
    def needs_fitting(source: Path, limit_bytes: int) -> bool:
        return source.stat().st_size > limit_bytes

    def ready(self, kept: Path, limit_bytes: int) -> Prepared | None:
        """What can be uploaded within `limit_bytes` without encoding: the original when it
        fits, else its copy compressed for this limit if one was made before; None if an
        encode is needed."""
        if not self.needs_fitting(kept, limit_bytes):
            return Prepared(kept, compressed=False)
        fitted = self.fitted_path(kept, limit_bytes)
        if fitted.is_file():
            return Prepared(fitted, compressed=True)
        return None

    async def prepare(
        self,
        kept: Path,
        limit_bytes: int,
        *,
        wait_seconds: float | None = None,
        priority: Priority = Priority.DELIVERY,
    ) -> Prepared:
        """`kept` as is if it fits `limit_bytes`, else its copy compressed to fit, made now
        unless it was made before (and kept for the next post under the same limit).

        Raises `bot.video.fitting.FitError` when it cannot be made to fit, or no encoder is free
        within `wait_seconds` (nothing is left then)."""
        found = self.ready(kept, limit_bytes)
        if found is not None:
            return found
        target = self.fitted_path(kept, limit_bytes)
        async with self._one_encode(target, wait_seconds) as remaining:
            found = self.ready(kept, limit_bytes)  # made while this one waited
            if found is not None:
                return found
            self.work_dir.mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(prefix=FIT_FOLDER_PREFIX, dir=self.work_dir))
            try:
                fitted = await self.fitter.fit(
                    kept, limit_bytes, work, wait_seconds=remaining, priority=priority
                )
                # Whole or not at all, for every process sharing the folder.
                fitted.replace(target)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        return Prepared(target, compressed=True)

    @contextlib.asynccontextmanager
    async def _one_encode(
        self, target: Path, wait_seconds: float | None
    ) -> AsyncIterator[float | None]:
        """Hold the turn to make `target`; yields what is left of `wait_seconds`."""
        lock = self._encodes.setdefault(target, asyncio.Lock())
        self._waiting[target] = self._waiting.get(target, 0) + 1
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            try:
                async with asyncio.timeout(wait_seconds):
                    await lock.acquire()
            except TimeoutError:
                raise FitError(
                    f"the same video was still being compressed after {wait_seconds:g} seconds"
                ) from None
            try:
                if wait_seconds is None:
                    yield None
                else:
                    yield max(0.0, wait_seconds - (loop.time() - started))
            finally:
                lock.release()
        finally:
            self._waiting[target] -= 1
            if not self._waiting[target]:
                del self._waiting[target], self._encodes[target]

    def clear_leftovers(self, older_than: float = 0.0, now: float | None = None) -> int:
        """Remove what encodes and checks stopped by a crash left (call before any delivery
        starts). With `older_than`, only folders last written longer ago than that (processes
        sharing MEDIA_DIR: another may be compressing right now)."""
        if not self.work_dir.is_dir():
            return 0
        folders = [
            p
            for prefix in (FIT_FOLDER_PREFIX, BOX_PREFIX)
            for p in self.work_dir.glob(f"{prefix}*")
            if p.is_dir() and written_longer_ago(p, older_than, now)
        ]
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        return len(folders)

    def prune(
        self,
        *,
        max_age_seconds: float,
        max_total_bytes: int,
        protected: Iterable[Path],
        now: float | None = None,
    ) -> int:
        """Bound the shelf by age, then size (oldest first), compressed copies counted with the
        originals and the work in progress in the work folder with them; below the disk's
        floor, remove the oldest until it is above again. `protected` originals stay, and so
        do their compressed copies. A compressed copy whose original is gone goes too."""
        kept = list(protected)
        removed = prune_folder(
            self.folder,
            max_age_seconds=max_age_seconds,
            max_total_bytes=max_total_bytes,
            protected=[*kept, *(copy for path in kept for copy in self.fitted_copies(path))],
            now=now,
            what="kept video",
            extra_bytes=folder_bytes(self.work_dir) if self.work_dir.is_dir() else 0,
            free_at_least=self.space.shortfall() if self.space is not None else 0,
        )
        return removed + self._remove_orphans()

    def _remove_orphans(self) -> int:
        if not self.folder.is_dir():
            return 0
        orphans = [
            path
            for path in self.folder.glob(f"*{FITTED_MARK}*")
            if not any(
                (self.folder / f"{path.name.split(FITTED_MARK)[0]}.{kind.extension}").exists()
                for kind in VIDEO_TYPES.values()
            )
        ]
        for path in orphans:
            path.unlink(missing_ok=True)
        if orphans:
            log.info("removed %d compressed video(s) whose original is gone", len(orphans))
        return len(orphans)
