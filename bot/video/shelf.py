"""The bot's own copies of finished videos, and the files it uploads made from them.

Each delivered video's original, as downloaded, is kept under `MEDIA_DIR/videos` (bounded by
age and total size, by the same sweep as the reference images: bot/video/retention.py), so a restart
mid-delivery starts again from the copy and `/sora-show` can post the video after the
provider's link has expired. What is uploaded is the copy itself when it is within the upload
limit, else a compressed version made for that one upload in a folder of its own
(`<work dir>/fit-*`), removed afterwards; a crash leaves such folders behind, and
`clear_leftovers` removes them at start-up.

The shelf's size bound counts the work folder too (downloads and compressions in progress),
and no new copy is kept while the disk is below its free-space floor (bot/video/space.py).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot.models import Job
from bot.video.fitting import VideoFitter
from bot.video.media_types import ISO_MEDIA, VIDEO_TYPES, VideoType
from bot.video.retention import prune_folder, written_longer_ago
from bot.video.sandbox import BOX_PREFIX
from bot.video.space import MediaSpace, folder_bytes

log = logging.getLogger(__name__)

FIT_FOLDER_PREFIX = "fit-"


@dataclass(frozen=True)
class Prepared:
    """A file ready to upload: the kept copy itself, or a compressed version of it."""

    path: Path
    compressed: bool
    work_folder: Path | None = None  # holds the compressed file; removed by `release`


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

    def path_for(self, job_id: int, kind: VideoType = ISO_MEDIA) -> Path:
        return self.folder / f"job-{job_id}.{kind.extension}"

    def may_keep(self) -> bool:
        """Whether a new copy may be kept: not while the disk is below its floor."""
        return self.space is None or self.space.allows_keeping()

    def keep(self, job_id: int, downloaded: Path, kind: VideoType = ISO_MEDIA) -> Path:
        """Move a finished download onto the shelf (same file system: a rename)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path_for(job_id, kind)
        downloaded.replace(target)
        return target

    def kept(self, job: Job) -> Path | None:
        """The job's kept copy, if it is still there."""
        if job.video_path is not None and job.video_path.is_file():
            return job.video_path
        return None

    def discard(self, job: Job) -> None:
        """Remove the job's kept copy for good (its video was deleted)."""
        named = {self.path_for(job.id, kind) for kind in VIDEO_TYPES.values()}
        for path in {*named, *([job.video_path] if job.video_path else [])}:
            path.unlink(missing_ok=True)

    @staticmethod
    def needs_fitting(source: Path, limit_bytes: int) -> bool:
        return source.stat().st_size > limit_bytes

    async def prepare(
        self, source: Path, limit_bytes: int, *, wait_seconds: float | None = None
    ) -> Prepared:
        """`source` as is if it fits `limit_bytes`, else a compressed copy that does.

        Raises `bot.video.fitting.FitError` when it cannot be made to fit, or no encoder is free
        within `wait_seconds` (nothing is left then). Call `release` when the upload is done."""
        if not self.needs_fitting(source, limit_bytes):
            return Prepared(source, compressed=False)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=FIT_FOLDER_PREFIX, dir=self.work_dir))
        try:
            fitted = await self.fitter.fit(source, limit_bytes, work, wait_seconds=wait_seconds)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        return Prepared(fitted, compressed=True, work_folder=work)

    @staticmethod
    def release(prepared: Prepared) -> None:
        if prepared.work_folder is not None:
            shutil.rmtree(prepared.work_folder, ignore_errors=True)

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
        protected: list[Path],
        now: float | None = None,
    ) -> int:
        """Bound the shelf by age, then size (oldest first) counting the work in progress in
        the work folder; below the disk's floor, remove the oldest until above it again.
        Copies in `protected` stay."""
        shortfall = self.space.shortfall() if self.space is not None else 0
        return prune_folder(
            self.folder,
            max_age_seconds=max_age_seconds,
            max_total_bytes=max_total_bytes,
            protected=protected,
            now=now,
            what="kept video",
            extra_bytes=folder_bytes(self.work_dir) if self.work_dir.is_dir() else 0,
            free_at_least=shortfall,
        )
