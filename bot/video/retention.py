"""Keeps a media folder bounded: by age, then by total size (oldest first).

Used for the reference images (re-runs reuse them long after Discord's and the provider's
links have expired) and the kept videos (/sora-show posts them after the provider's link has
expired); files of jobs still in progress are never removed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)


def prune_references(
    folder: Path,
    *,
    max_age_seconds: float,
    max_total_bytes: int,
    protected: Iterable[Path] = (),
    now: float | None = None,
) -> int:
    """Bound the reference-image folder (see `prune_folder`)."""
    return prune_folder(
        folder,
        max_age_seconds=max_age_seconds,
        max_total_bytes=max_total_bytes,
        protected=protected,
        now=now,
        what="reference image",
    )


def prune_folder(
    folder: Path,
    *,
    max_age_seconds: float,
    max_total_bytes: int,
    protected: Iterable[Path] = (),
    now: float | None = None,
    what: str = "file",
    extra_bytes: int = 0,
    free_at_least: int = 0,
) -> int:
    """Delete files older than `max_age_seconds`, then the oldest until under the size bound
    (counting `extra_bytes` taken elsewhere, e.g. work in progress), then, if asked, the oldest
    until `free_at_least` more bytes were freed; return how many were removed. `what` names
    the files in the log."""
    if not folder.is_dir():
        return 0
    now = time.time() if now is None else now
    keep = {path.resolve() for path in protected}
    files = []
    for path in folder.iterdir():
        if path.is_file():
            stat = path.stat()
            files.append((stat.st_mtime, stat.st_size, path))
    files.sort()  # oldest first
    removed = freed = 0
    total = sum(size for _, size, _ in files) + extra_bytes
    for mtime, size, path in files:
        too_old = now - mtime > max_age_seconds
        wanted = too_old or total > max_total_bytes or freed < free_at_least
        if path.resolve() not in keep and wanted:
            path.unlink(missing_ok=True)
            removed += 1
            freed += size
            total -= size
    if removed:
        log.info("removed %d old %s(s), %d bytes", removed, what, freed)
    return removed


def written_longer_ago(path: Path, seconds: float, now: float | None = None) -> bool:
    """Whether `path` was last written more than `seconds` ago (always, for 0). A leftover
    folder shared by several processes is cleared only of what none of them can still be
    writing; a path already gone counts as new (nothing to remove)."""
    if seconds <= 0:
        return True
    try:
        modified = path.stat().st_mtime
    except OSError:
        return False
    return (time.time() if now is None else now) - modified > seconds
