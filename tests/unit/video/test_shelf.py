"""The bot's kept videos: kept, prepared for an upload (compressed when over the limit, once
per limit), bounded by the retention sweep, and removed for good when deleted."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path

import pytest

from bot.models import Job
from bot.video.fitting import FitError, Priority, VideoFitter
from bot.video.media_types import WEBM
from bot.video.shelf import VideoShelf
from bot.video.space import MediaSpace
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
    assert shelf.ready(source, source.stat().st_size) == prepared
    assert shelf.fitted_copies(source) == []


async def test_over_the_limit_a_compressed_copy_is_made_and_kept_beside_the_original(
    shelf: VideoShelf, tmp_path: Path
) -> None:
    job = kept_job(shelf, 5, write_video(tmp_path / "clip.mp4", VideoSpec(seconds=1.5)))
    assert job.video_path is not None and shelf.ready(job.video_path, 120_000) is None
    prepared = await shelf.prepare(job.video_path, 120_000)
    assert prepared.compressed and prepared.path == shelf.folder / "job-5.fit-120000.mp4"
    assert prepared.path.stat().st_size <= 120_000
    facts = decode_all(prepared.path)
    assert abs(facts.seconds - 1.5) < 0.1 and facts.audio_codec == "aac"
    # The encode's work folder is gone; the original and its compressed copy stay.
    assert list(shelf.work_dir.iterdir()) == [] and job.video_path.exists()
    assert shelf.ready(job.video_path, 120_000) == prepared


class CountingFitter(VideoFitter):
    """Writes a stand-in "compressed" file of half the limit, once let through; counts fits."""

    def __init__(self) -> None:
        super().__init__()
        self.fits: list[int] = []
        self.priorities: list[Priority] = []
        self.started = asyncio.Event()
        self.go_on = asyncio.Event()
        self.go_on.set()

    async def fit(
        self,
        source: Path,
        limit_bytes: int,
        work_dir: Path,
        *,
        wait_seconds: float | None = None,
        priority: Priority = Priority.DELIVERY,
    ) -> Path:
        self.fits.append(limit_bytes)
        self.priorities.append(priority)
        self.started.set()
        await self.go_on.wait()
        output = work_dir / f"{source.stem}.fitted.mp4"
        output.write_bytes(b"f" * (limit_bytes // 2))
        return output


@pytest.fixture
def counted(tmp_path: Path) -> tuple[VideoShelf, CountingFitter]:
    fitter = CountingFitter()
    return VideoShelf(tmp_path / "videos", tmp_path / "tmp", fitter), fitter


def big_kept(shelf: VideoShelf, job_id: int, tmp_path: Path, size: int = 5000) -> Path:
    downloaded = tmp_path / f"download-{job_id}.mp4"
    downloaded.write_bytes(b"o" * size)
    return shelf.keep(job_id, downloaded)


async def test_a_video_is_compressed_once_per_limit(
    counted: tuple[VideoShelf, CountingFitter], tmp_path: Path
) -> None:
    shelf, fitter = counted
    kept = big_kept(shelf, 7, tmp_path)
    first = await shelf.prepare(kept, 2000)
    again = await shelf.prepare(kept, 2000, wait_seconds=0)  # a member waiting: no encode
    assert again == first and fitter.fits == [2000]
    smaller = await shelf.prepare(kept, 1000)  # another server's limit: a copy of its own
    assert smaller.path != first.path and fitter.fits == [2000, 1000]
    assert shelf.fitted_copies(kept) == [shelf.folder / "job-7.fit-1000.mp4", first.path]
    assert (await shelf.prepare(kept, 9000)).path == kept  # fits as it is: nothing made


async def test_posts_at_the_same_time_wait_for_one_encode(
    counted: tuple[VideoShelf, CountingFitter], tmp_path: Path
) -> None:
    shelf, fitter = counted
    kept = big_kept(shelf, 8, tmp_path)
    fitter.go_on.clear()
    first = asyncio.create_task(shelf.prepare(kept, 2000))
    await fitter.started.wait()
    second = asyncio.create_task(shelf.prepare(kept, 2000))
    # Until the encode is done there is nothing at the copy's name, for any process to take.
    assert not shelf.fitted_path(kept, 2000).exists()
    # A member who may wait only briefly gives up (and is offered something else).
    with pytest.raises(FitError, match="still being compressed"):
        await shelf.prepare(kept, 2000, wait_seconds=0.05)
    fitter.go_on.set()
    assert await first == await second and fitter.fits == [2000]
    assert shelf._encodes == {} and shelf._waiting == {}  # nothing held once done


async def test_compressed_copies_go_with_their_original(
    counted: tuple[VideoShelf, CountingFitter], tmp_path: Path
) -> None:
    shelf, _ = counted
    kept = big_kept(shelf, 9, tmp_path)
    other = big_kept(shelf, 90, tmp_path)  # job-9's copies are not job-90's
    for path in (kept, other):
        await shelf.prepare(path, 2000)
        await shelf.prepare(path, 1000)
    job = replace(make_job(), id=9, video_path=kept)
    shelf.discard(job)
    assert sorted(shelf.folder.iterdir()) == sorted([other, *shelf.fitted_copies(other)])
    assert len(shelf.fitted_copies(other)) == 2


async def test_a_new_original_under_an_old_name_is_compressed_afresh(
    counted: tuple[VideoShelf, CountingFitter], tmp_path: Path
) -> None:
    # E.g. a database started over while MEDIA_DIR stayed: job 3 is another video now.
    shelf, fitter = counted
    await shelf.prepare(big_kept(shelf, 3, tmp_path), 2000)
    kept = big_kept(shelf, 3, tmp_path, size=6000)
    assert shelf.fitted_copies(kept) == []
    await shelf.prepare(kept, 2000)
    assert fitter.fits == [2000, 2000]


async def test_a_failed_compression_leaves_nothing(shelf: VideoShelf, tmp_path: Path) -> None:
    source = write_undecodable(tmp_path / "broken.mp4", 50_000)
    with pytest.raises(FitError):
        await shelf.prepare(source, 10_000)
    assert list(shelf.work_dir.iterdir()) == [] and shelf.fitted_copies(source) == []


def test_leftovers_of_stopped_compressions_are_cleared(shelf: VideoShelf) -> None:
    stopped = shelf.work_dir / "fit-k3j2"
    stopped.mkdir(parents=True)
    (stopped / "job-3.fitted.part.mp4").write_bytes(b"partial")
    checking = shelf.work_dir / "encoder-9xq1"  # a check's box
    checking.mkdir()
    (checking / "video.mp4").write_bytes(b"linked download")
    other = shelf.work_dir / "video-1.mp4"  # a download: the downloader's to clear
    other.write_bytes(b"x")
    assert shelf.clear_leftovers() == 2
    assert not stopped.exists() and not checking.exists() and other.exists()


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


class FakeDisk:
    """A disk whose free space the test sets, and which removing files frees."""

    def __init__(self, free: int) -> None:
        self.free = free

    def __call__(self, _path: Path) -> int:
        return self.free


def test_below_the_floor_no_copy_is_kept_and_the_oldest_go(tmp_path: Path) -> None:
    disk = FakeDisk(free=5_000)
    space = MediaSpace(tmp_path, floor_bytes=10_000, free_bytes=disk)
    shelf = VideoShelf(tmp_path / "videos", tmp_path / "tmp", VideoFitter(), space)
    old = aged(shelf.folder / "job-1.mp4", 4_000, age_days=3)
    older = aged(shelf.folder / "job-2.mp4", 4_000, age_days=4)
    recent = aged(shelf.folder / "job-3.mp4", 4_000, age_days=1)
    delivering = aged(shelf.folder / "job-4.mp4", 4_000, age_days=5)
    assert not shelf.may_keep()
    # 6,000 bytes short of the floor and its 10 % margin: the two oldest not in use go.
    removed = shelf.prune(
        max_age_seconds=30 * DAY, max_total_bytes=10**9, protected=[delivering], now=NOW
    )
    assert removed == 2 and not older.exists() and not old.exists()
    assert recent.exists() and delivering.exists()
    disk.free = 11_000
    assert shelf.may_keep()


def test_work_in_progress_counts_toward_the_shelfs_bound(shelf: VideoShelf) -> None:
    aged(shelf.folder / "job-1.mp4", 3_000, age_days=3)
    aged(shelf.folder / "job-2.mp4", 3_000, age_days=2)
    download = aged(shelf.work_dir / "video-x.mp4", 3_000, age_days=0)
    box = shelf.work_dir / "encoder-1"
    box.mkdir()
    os.link(download, box / "video.mp4")  # the same file, linked into the encoder's box
    aged(shelf.work_dir / "fit-2" / "job-9.fitted.mp4", 1_000, age_days=0)
    # 6,000 kept + 4,000 in progress (the link counted once) over a 8,000 bound: one goes.
    shelf.prune(max_age_seconds=30 * DAY, max_total_bytes=8_000, protected=[], now=NOW)
    assert sorted(p.name for p in shelf.folder.iterdir()) == ["job-2.mp4"]


def test_a_webm_is_kept_as_one(shelf: VideoShelf, tmp_path: Path) -> None:
    downloaded = tmp_path / "video-abc.mp4"
    downloaded.write_bytes(b"webm bytes")
    kept = shelf.keep(5, downloaded, WEBM)
    assert kept == shelf.folder / "job-5.webm"
    shelf.discard(replace(make_job(), id=5, video_path=None))
    assert not kept.exists()


def test_compressed_copies_count_towards_the_size_cap_and_outlive_no_original(
    shelf: VideoShelf,
) -> None:
    old = aged(shelf.path_for(1), 100, 3)
    old_fitted = aged(shelf.fitted_path(old, 60), 50, 1)  # made later, for a /sora-show
    new = aged(shelf.path_for(2), 100, 2)
    new_fitted = aged(shelf.fitted_path(new, 60), 50, 1)
    # 300 bytes over a cap of 200: the oldest file (job 1's original) goes, and its copy with it.
    removed = shelf.prune(max_age_seconds=30 * DAY, max_total_bytes=200, protected=[], now=NOW)
    assert removed == 2 and not old.exists() and not old_fitted.exists()
    assert new.exists() and new_fitted.exists()


def test_compressed_copies_of_videos_being_delivered_stay(shelf: VideoShelf) -> None:
    delivering = aged(shelf.path_for(1), 100, 90)
    fitted = aged(shelf.fitted_path(delivering, 60), 50, 90)
    removed = shelf.prune(max_age_seconds=DAY, max_total_bytes=0, protected=[delivering], now=NOW)
    assert removed == 0 and fitted.exists()
