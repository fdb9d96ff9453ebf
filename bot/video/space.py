"""The media folder's disk: how much room the kept videos and the work in progress take, and
a free-space floor that media never goes below.

The database usually shares the disk with MEDIA_DIR (both under ./data or the /data volume);
if videos filled it, the bot could not even record a delivery. So media keeps
`MEDIA_MIN_FREE_MB` free: below it no new copy is kept (the video is still posted, from its
temporary download), what may go is removed, and the operators are told once.
"""

from __future__ import annotations

import enum
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

# Back above the floor by this share of it before "low" is over: a disk hovering at the floor
# does not alert again with every video.
RECOVERY_MARGIN = 0.1


class SpaceNews(enum.Enum):
    LOW = "low"  # just went below the floor
    RECOVERED = "recovered"  # back above it (with the margin)


def disk_free_bytes(path: Path) -> int:
    """Free bytes on the file system holding `path` (its nearest existing folder)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def folder_bytes(folder: Path) -> int:
    """Bytes the files under `folder` take, each file counted once (hard links are one file:
    the encoder's box links the video it works on)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                info = os.lstat(os.path.join(root, name))
            except OSError:
                continue  # removed meanwhile
            if (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_size
    return total


class MediaSpace:
    """The floor under MEDIA_DIR's free space, and whether it was crossed since last asked."""

    def __init__(
        self,
        media_dir: Path,
        floor_bytes: int,
        free_bytes: Callable[[Path], int] = disk_free_bytes,
    ) -> None:
        self.media_dir = media_dir
        self.floor_bytes = floor_bytes
        self._free_bytes = free_bytes
        self._low = False

    def free(self) -> int:
        return self._free_bytes(self.media_dir)

    def room(self) -> int:
        """What may still be written before the floor: 0 at or below it."""
        return max(0, self.free() - self.floor_bytes)

    def shortfall(self) -> int:
        """What must be freed to be back above the floor (with the recovery margin)."""
        free = self.free()
        if free >= self.floor_bytes:
            return 0
        return int(self.floor_bytes * (1 + RECOVERY_MARGIN)) - free

    def allows_keeping(self) -> bool:
        """Whether a new copy may be kept (the disk is above the floor)."""
        return self.free() > self.floor_bytes

    def observe(self) -> SpaceNews | None:
        """Look at the disk; say so when it just went below the floor, or back above it."""
        free = self.free()
        if not self._low and free < self.floor_bytes:
            self._low = True
            log.error(
                "media disk low: %d MiB free, under MEDIA_MIN_FREE_MB=%d; new videos are "
                "posted but not kept",
                free // (1024 * 1024),
                self.floor_bytes // (1024 * 1024),
            )
            return SpaceNews.LOW
        if self._low and free >= self.floor_bytes * (1 + RECOVERY_MARGIN):
            self._low = False
            log.info("media disk back above its floor: %d MiB free", free // (1024 * 1024))
            return SpaceNews.RECOVERED
        return None
