from __future__ import annotations

import os
from pathlib import Path

from bot.video.retention import prune_references

DAY = 86_400.0
NOW = 1_800_000_000.0


def make(folder: Path, name: str, size: int, age_days: float) -> Path:
    path = folder / name
    path.write_bytes(b"x" * size)
    os.utime(path, (NOW - age_days * DAY, NOW - age_days * DAY))
    return path


def test_old_images_go_and_recent_ones_stay(tmp_path: Path) -> None:
    old = make(tmp_path, "old.png", 10, 40)
    new = make(tmp_path, "new.png", 10, 1)
    removed = prune_references(tmp_path, max_age_seconds=30 * DAY, max_total_bytes=10**9, now=NOW)
    assert not old.exists() and new.exists()
    assert removed == 1


def test_size_bound_removes_the_oldest_first(tmp_path: Path) -> None:
    a = make(tmp_path, "a.png", 100, 3)
    b = make(tmp_path, "b.png", 100, 2)
    c = make(tmp_path, "c.png", 100, 1)
    prune_references(tmp_path, max_age_seconds=30 * DAY, max_total_bytes=150, now=NOW)
    assert [p.exists() for p in (a, b, c)] == [False, False, True]


def test_images_of_active_jobs_are_protected(tmp_path: Path) -> None:
    busy = make(tmp_path, "busy.png", 100, 99)
    removed = prune_references(
        tmp_path, max_age_seconds=DAY, max_total_bytes=0, protected=[busy], now=NOW
    )
    assert busy.exists() and removed == 0


def test_missing_folder_is_fine(tmp_path: Path) -> None:
    assert prune_references(tmp_path / "nope", max_age_seconds=1, max_total_bytes=1) == 0
