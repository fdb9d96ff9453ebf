"""Keeps the reference-image folder bounded: by age, then by total size (oldest first).

Re-runs reuse these files long after Discord's and the provider's links have expired, so they
are kept for a while; images of jobs still in progress are never removed.
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
    """Delete images older than `max_age_seconds`, then the oldest until under the size bound;
    return how many were removed."""
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
    total = sum(size for _, size, _ in files)
    for mtime, size, path in files:
        too_old = now - mtime > max_age_seconds
        if path.resolve() not in keep and (too_old or total > max_total_bytes):
            path.unlink(missing_ok=True)
            removed += 1
            freed += size
            total -= size
    if removed:
        log.info("removed %d old reference image(s), %d bytes", removed, freed)
    return removed
