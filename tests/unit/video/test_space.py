"""The free-space floor under the media folder: crossing it is news once, and so is recovery."""

from __future__ import annotations

import os
from pathlib import Path

from bot.video.space import MediaSpace, SpaceNews, disk_free_bytes, folder_bytes


def test_crossing_the_floor_is_news_once_and_so_is_coming_back(tmp_path: Path) -> None:
    free = {"bytes": 5_000}
    space = MediaSpace(tmp_path, floor_bytes=1_000, free_bytes=lambda _: free["bytes"])
    assert space.observe() is None and space.allows_keeping()
    assert space.room() == 4_000 and space.shortfall() == 0
    free["bytes"] = 900
    assert space.observe() is SpaceNews.LOW
    assert space.observe() is None  # still low: said already
    assert not space.allows_keeping() and space.room() == 0 and space.shortfall() == 200
    free["bytes"] = 1_050  # above the floor, not yet by the margin: no news
    assert space.observe() is None and space.allows_keeping()
    free["bytes"] = 1_100
    assert space.observe() is SpaceNews.RECOVERED
    free["bytes"] = 999
    assert space.observe() is SpaceNews.LOW


def test_the_real_disk_is_read_from_the_nearest_existing_folder(tmp_path: Path) -> None:
    assert disk_free_bytes(tmp_path / "not" / "made" / "yet") == disk_free_bytes(tmp_path)
    assert disk_free_bytes(tmp_path) > 0


def test_a_folder_counts_each_file_once(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 100)
    (tmp_path / "sub").mkdir()
    os.link(tmp_path / "a", tmp_path / "sub" / "link")
    (tmp_path / "sub" / "b").write_bytes(b"y" * 50)
    assert folder_bytes(tmp_path) == 150
