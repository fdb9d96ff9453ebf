"""The bot's kept videos: kept, prepared for an upload (compressed when over the limit),
bounded by the retention sweep, and removed for good when deleted."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from bot.models import Job
from bot.video.fitting import FitError, VideoFitter
from bot.video.shelf import VideoShelf
from tests.support.jobs import make_job
from tests.support.videos import VideoSpec, decode_all, write_undecodable, write_video

DAY = 86_400.0
NOW = 1_800_000_000.0


@pytest.fixture
def shelf(tmp_path: Path) -> VideoShelf:
    return VideoShelf(tmp_path / "videos", tmp_path / "tmp", VideoFitter())


def kept_job(shelf: VideoShelf, job_id: int, downloaded: Path) -> Job:
    path = shelf.keep(job_id, downloaded)
    return replace(make_job(), id=job_id, video_path=path, video_bytes=path.stat().st_size)


def aged(path: Path, size: int, age_days: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"v" * size)
    os.utime(path, (NOW - age_days * DAY, NOW - age_days * DAY))
    return path


def test_a_download_is_kept_and_found_again(shelf: VideoShelf, tmp_path: Path) -> None:
    downloaded = tmp_path / "video-abc.mp4"
    downloaded.write_bytes(b"original")
    job = kept_job(shelf, 12, downloaded)
    assert not downloaded.exists()
    assert shelf.kept(job) == shelf.folder / "job-12.mp4"
    assert shelf.kept(job).read_bytes() == b"original"  # type: ignore[union-attr]
    shelf.discard(job)
    assert shelf.kept(job) is None and not (shelf.folder / "job-12.mp4").exists()


async def test_within_the_limit_the_kept_copy_itself_is_uploaded(
    shelf: VideoShelf, tmp_path: Path
) -> None:
    source = write_video(tmp_path / "small.mp4", VideoSpec(seconds=1.0))
    prepared = await shelf.prepare(source, source.stat().st_size)
    assert prepared.path == source and not prepared.compressed
    shelf.release(prepared)
    assert source.exists()


async def test_over_the_limit_a_compressed_copy_is_made_and_released(
    shelf: VideoShelf, tmp_path: Path
) -> None:
    source = write_video(tmp_path / "clip.mp4", VideoSpec(seconds=1.5))
    prepared = await shelf.prepare(source, 120_000)
    assert prepared.compressed and prepared.path.stat().st_size <= 120_000
    assert prepared.work_folder is not None and prepared.work_folder.parent == shelf.work_dir
    facts = decode_all(prepared.path)
    assert abs(facts.seconds - 1.5) < 0.1 and facts.audio_codec == "aac"
    shelf.release(prepared)
    assert not prepared.work_folder.exists() and source.exists()


async def test_a_failed_compression_leaves_nothing(shelf: VideoShelf, tmp_path: Path) -> None:
    source = write_undecodable(tmp_path / "broken.mp4", 50_000)
    with pytest.raises(FitError):
        await shelf.prepare(source, 10_000)
    assert list(shelf.work_dir.iterdir()) == []


def test_leftovers_of_stopped_compressions_are_cleared(shelf: VideoShelf) -> None:
    stopped = shelf.work_dir / "fit-k3j2"
    stopped.mkdir(parents=True)
    (stopped / "job-3.fitted.part.mp4").write_bytes(b"partial")
    other = shelf.work_dir / "video-1.mp4"  # a download: the downloader's to clear
    other.write_bytes(b"x")
    assert shelf.clear_leftovers() == 1
    assert not stopped.exists() and other.exists()


def test_with_a_shared_media_dir_only_old_leftovers_are_cleared(shelf: VideoShelf) -> None:
    # Another process may be compressing in a folder it made a minute ago.
    crashed, busy = shelf.work_dir / "fit-old", shelf.work_dir / "fit-new"
    for folder in (crashed, busy):
        folder.mkdir(parents=True)
    os.utime(crashed, (NOW - 2 * 3600, NOW - 2 * 3600))
    os.utime(busy, (NOW - 60, NOW - 60))
    assert shelf.clear_leftovers(older_than=3600, now=NOW) == 1
    assert not crashed.exists() and busy.exists()


def test_old_videos_go_and_recent_ones_stay(shelf: VideoShelf) -> None:
    old = aged(shelf.path_for(1), 10, 31)
    recent = aged(shelf.path_for(2), 10, 2)
    removed = shelf.prune(max_age_seconds=30 * DAY, max_total_bytes=10**9, protected=[], now=NOW)
    assert removed == 1 and not old.exists() and recent.exists()


def test_over_the_size_cap_the_oldest_videos_go_first(shelf: VideoShelf) -> None:
    videos = [aged(shelf.path_for(n), 100, age) for n, age in ((1, 3), (2, 2), (3, 1))]
    shelf.prune(max_age_seconds=30 * DAY, max_total_bytes=150, protected=[], now=NOW)
    assert [v.exists() for v in videos] == [False, False, True]


def test_videos_of_jobs_being_delivered_are_never_removed(shelf: VideoShelf) -> None:
    delivering = aged(shelf.path_for(1), 100, 90)
    removed = shelf.prune(max_age_seconds=DAY, max_total_bytes=0, protected=[delivering], now=NOW)
    assert removed == 0 and delivering.exists()
