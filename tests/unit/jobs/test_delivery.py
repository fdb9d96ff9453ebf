"""The one way a finished video is posted: the kept original, else its compressed copy (made
once per limit), else for a repost another copy within the limit, else the link; a file
refused as too large or for good ends in the link."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from bot.errors import Refusal
from bot.i18n import Text
from bot.jobs import delivery as delivery_module
from bot.jobs.chat_port import DeliveryError, UploadTooLarge
from bot.jobs.delivery import Offer, Original, VideoDelivery
from bot.jobs.queue import SlotCaps
from bot.jobs.store import JobStore
from bot.models import Job, JobState
from bot.storage.database import open_database
from bot.video.destinations import Destinations
from bot.video.download import PROVIDER_LINK_SECONDS, ResultRefused, VideoDownloader
from bot.video.fitting import Priority, VideoFitter
from bot.video.sandbox import EncoderLimits
from bot.video.shelf import VideoShelf
from bot.video.space import MediaSpace
from tests.support.doubles import FakeClock
from tests.support.sims.core import html_page
from tests.support.video_server import fake_video, video_server
from tests.support.videos import write_undecodable
from tests.unit.jobs.test_wording import make_job
from tests.unit.video.test_shelf import CountingFitter

LIMIT = 2000


@dataclass
class Chat:
    """Posts offers; refuses every file with `refuse_files` if set."""

    refuse_files: Exception | None = None
    offers: list[Offer] = field(default_factory=list)
    posted: list[bytes | None] = field(default_factory=list)

    async def post(self, offer: Offer) -> int:
        self.offers.append(offer)
        if offer.video is not None and self.refuse_files is not None:
            raise self.refuse_files
        self.posted.append(offer.video.read_bytes() if offer.video else None)
        return len(self.offers)


@dataclass
class Rig:
    delivery: VideoDelivery
    shelf: VideoShelf
    fitter: CountingFitter
    clock: FakeClock
    videos: str  # the video server: `/video/<size>`, `/gone`, `/file/<name>`
    files: dict[str, bytes]
    tmp: Path
    encodes_said: int = 0
    upkeeps: int = 0

    def fresh_job(self, url: str) -> Job:
        """A job whose video was just made, at `url`, not downloaded yet."""
        base: dict[str, object] = {
            "state": JobState.SUCCEEDED,
            "result_url": url,
            "upload_limit_bytes": LIMIT,
            "finished_at": self.clock.now(),
            "updated_at": self.clock.now(),
        }
        return replace(make_job(), **base)  # type: ignore[arg-type]

    async def upkeep(self) -> None:
        self.upkeeps += 1

    def kept_files(self) -> list[str]:
        return (
            sorted(p.name for p in self.shelf.folder.iterdir())
            if self.shelf.folder.exists()
            else []
        )

    def downloads_left(self) -> list[Path]:
        return list((self.tmp / "tmp").glob("*")) if (self.tmp / "tmp").exists() else []

    def kept_job(self, size: int = 5000, **fields: object) -> Job:
        downloaded = self.tmp / "download.mp4"
        downloaded.write_bytes(fake_video(size))
        kept = self.shelf.keep(7, downloaded)
        base: dict[str, object] = {
            "state": JobState.DELIVERED,
            "result_url": f"{self.videos}/video/{size}",
            "video_path": kept,
            "video_bytes": size,
            "finished_at": self.clock.now(),
            "updated_at": self.clock.now(),
        }
        return replace(make_job(), **(base | fields))  # type: ignore[arg-type]

    @contextlib.asynccontextmanager
    async def saying_so(self) -> AsyncIterator[None]:
        self.encodes_said += 1
        yield


@pytest.fixture
async def rig(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Rig]:
    database = await open_database(f"sqlite:///{tmp_path / 'jobs.sqlite3'}")
    store = JobStore(
        database,
        clock,
        provider="rivya",
        model="sora-2-pro",
        deadline_seconds=1800,
        caps=SlotCaps(per_member=5),
    )
    fitter = CountingFitter()
    shelf = VideoShelf(tmp_path / "videos", tmp_path / "tmp", fitter)
    files: dict[str, bytes] = {}
    async with (
        video_server(files) as videos,
        VideoDownloader(tmp_path / "tmp", 5, Destinations(videos)) as downloader,
    ):
        delivery = VideoDelivery(
            jobs=store,
            shelf=shelf,
            downloader=downloader,
            clock=clock,
            upload_limit_cap=None,
        )
        rig = Rig(delivery, shelf, fitter, clock, videos, files, tmp_path)
        delivery.upkeep = rig.upkeep
        yield rig
    await database.close()


async def test_within_the_limit_the_kept_original_is_posted_as_it_came(rig: Rig) -> None:
    job = rig.kept_job(size=1500)
    chat = Chat()
    posted = await rig.delivery.post_best(
        job, LIMIT, chat.post, member_waiting=False, while_encoding=rig.saying_so
    )
    assert posted.kind == "file" and posted.message == 1
    assert chat.offers == [Offer(video=job.video_path)]
    assert rig.fitter.fits == [] and rig.encodes_said == 0


async def test_over_the_limit_the_copy_is_compressed_once_and_posted_again(rig: Rig) -> None:
    job = rig.kept_job()
    chat = Chat()
    first = await rig.delivery.post_best(
        job, LIMIT, chat.post, member_waiting=False, while_encoding=rig.saying_so
    )
    assert first.kind == "fitted" and rig.encodes_said == 1
    fitted = rig.shelf.fitted_path(job.video_path, LIMIT)  # type: ignore[arg-type]
    # While the provider's link is young, the original is one button away.
    assert chat.offers[0] == Offer(video=fitted, compressed=True, full_quality_url=job.result_url)
    # A day later, in the same server (same limit): the same copy, no encode, no button.
    rig.clock.advance(PROVIDER_LINK_SECONDS + 1)
    again = await rig.delivery.post_best(
        job, LIMIT, chat.post, member_waiting=True, while_encoding=rig.saying_so
    )
    assert again.kind == "fitted" and chat.offers[1] == Offer(video=fitted, compressed=True)
    assert rig.fitter.fits == [LIMIT] and rig.encodes_said == 1
    assert chat.posted[0] == chat.posted[1]


@pytest.mark.parametrize(
    "refusal",
    [
        UploadTooLarge(),
        DeliveryError("Discord answered 400 (50035): Invalid Form Body", permanent=True),
    ],
)
async def test_a_file_refused_as_too_large_or_for_good_falls_back_to_the_link(
    rig: Rig, refusal: Exception
) -> None:
    job = rig.kept_job(size=1500)
    chat = Chat(refuse_files=refusal)
    posted = await rig.delivery.post_best(job, LIMIT, chat.post, member_waiting=False)
    assert posted.kind == "link" and posted.message == 2
    assert chat.offers[1] == Offer(link=job.result_url)


async def test_a_file_post_that_may_work_later_is_not_replaced_by_the_link(rig: Rig) -> None:
    job = rig.kept_job(size=1500)
    chat = Chat(refuse_files=DeliveryError("Discord could not be reached", permanent=False))
    with pytest.raises(DeliveryError):
        await rig.delivery.post_best(job, LIMIT, chat.post, member_waiting=False)
    assert len(chat.offers) == 1  # the caller tries again later


async def test_a_member_waiting_gets_the_earlier_posts_file_when_the_encoder_is_busy(
    rig: Rig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery_module, "SHOW_ENCODER_WAIT", 0.05)
    fitter = VideoFitter(concurrency=1)
    rig.shelf.fitter = fitter
    await fitter._turns.acquire(Priority.DELIVERY)  # another video is being compressed
    job = rig.kept_job()
    rig.files["posted.mp4"] = fake_video(1800)  # the first post's (compressed) file
    chat = Chat()

    async def posted_before() -> str:
        return f"{rig.videos}/file/posted.mp4"

    posted = await rig.delivery.post_best(
        job, LIMIT, chat.post, member_waiting=True, posted_before=posted_before
    )
    assert posted.kind == "file" and chat.posted == [fake_video(1800)]
    # That download was for this post only; the kept original stays, and nothing was made.
    assert chat.offers[0].video is not None and not chat.offers[0].video.exists()
    assert rig.shelf.fitted_copies(job.video_path) == []  # type: ignore[arg-type]
    assert job.video_path is not None and job.video_path.exists()


async def test_a_repost_without_a_copy_within_reach(rig: Rig) -> None:
    chat = Chat()

    async def nothing_posted() -> None:
        return None

    # No copy kept, the earlier post gone and the provider's link too big: the link.
    job = replace(rig.kept_job(), video_path=None)
    posted = await rig.delivery.post_best(
        job, LIMIT, chat.post, member_waiting=True, posted_before=nothing_posted
    )
    assert posted.kind == "link" and chat.offers == [Offer(link=job.result_url)]
    # The provider's link dead as well: nothing can be fetched.
    dead = replace(job, result_url=f"{rig.videos}/gone")
    with pytest.raises(Refusal) as expired:
        await rig.delivery.post_best(
            dead, LIMIT, chat.post, member_waiting=True, posted_before=nothing_posted
        )
    assert expired.value.reason == Text("results.show.expired", job=job.id)


async def test_nothing_to_post_at_all_is_a_refusal(rig: Rig) -> None:
    job = replace(rig.kept_job(), video_path=None, result_url=None)
    with pytest.raises(Refusal) as unavailable:
        await rig.delivery.post_best(job, LIMIT, Chat().post, member_waiting=False)
    assert unavailable.value.reason == Text("results.show.unavailable", job=job.id)


async def test_the_kept_original_is_used_again_not_downloaded_again(rig: Rig) -> None:
    job = rig.kept_job()
    again = await rig.delivery.keep_original(replace(job, result_url=f"{rig.videos}/gone"))
    assert again.job.video_path == job.video_path and again.unkept is None
    assert not list((rig.tmp / "tmp").glob("video-*"))  # no download was started


# -- what the link gave is checked before it is kept or posted --------------------------------


@pytest.mark.parametrize(
    "content",
    [
        html_page(200).encode() * 20,  # an error page answered with "200 video/mp4"
        b"ffconcat version 1.0\nfile job-1.mp4\n" + b"#" * 3000,
        b"PK\x03\x04" + bytes(3000),
    ],
    ids=["html", "concat script", "zip"],
)
async def test_a_result_that_is_not_a_video_is_refused_and_nothing_is_kept(
    rig: Rig, content: bytes
) -> None:
    rig.files["result.mp4"] = content
    with pytest.raises(ResultRefused, match="not a video"):
        await rig.delivery.keep_original(rig.fresh_job(f"{rig.videos}/file/result.mp4"))
    assert rig.kept_files() == [] and rig.downloads_left() == [] and rig.upkeeps == 0


async def test_a_result_that_looks_like_a_video_but_does_not_decode_is_refused(
    rig: Rig, tmp_path: Path
) -> None:
    rig.files["result.mp4"] = write_undecodable(tmp_path / "broken.mp4", 5000).read_bytes()
    with pytest.raises(ResultRefused, match="not a readable video"):
        await rig.delivery.keep_original(rig.fresh_job(f"{rig.videos}/file/result.mp4"))
    assert rig.kept_files() == [] and rig.downloads_left() == []


async def test_a_video_over_a_limit_of_the_encoder_is_not_kept_and_gets_its_link(
    rig: Rig,
) -> None:
    rig.fitter.limits = EncoderLimits(max_side=8)  # the test videos are 16x16
    job = rig.fresh_job(f"{rig.videos}/video/1500")
    original = await rig.delivery.keep_original(job)
    assert original == Original(job) and rig.kept_files() == [] and rig.downloads_left() == []
    chat = Chat()
    posted = await rig.delivery.post_best(job, LIMIT, chat.post, member_waiting=False)
    assert posted.kind == "link" and chat.offers == [Offer(link=job.result_url)]


async def test_a_checked_video_is_kept_and_the_media_kept_in_bounds(rig: Rig) -> None:
    original = await rig.delivery.keep_original(rig.fresh_job(f"{rig.videos}/video/1500"))
    assert original.unkept is None and original.job.video_path is not None
    assert original.job.video_path.read_bytes() == fake_video(1500)
    assert rig.upkeeps == 1  # the bounds are kept after each saved video


async def test_below_the_disk_floor_a_video_is_posted_but_not_kept(rig: Rig) -> None:
    rig.shelf.space = MediaSpace(rig.tmp, floor_bytes=1 << 62)  # more than any disk has
    job = rig.fresh_job(f"{rig.videos}/video/1500")
    original = await rig.delivery.keep_original(job)
    assert original.job.video_path is None and original.unkept is not None
    assert rig.kept_files() == [] and rig.upkeeps == 1  # the sweep is asked to make room
    chat = Chat()
    posted = await rig.delivery.post_best(
        original.job, LIMIT, chat.post, member_waiting=False, unkept=original.unkept
    )
    assert posted.kind == "file" and chat.posted == [fake_video(1500)]
    # Over the upload limit it is not even taken whole (no room to compress it): its link.
    big = rig.fresh_job(f"{rig.videos}/video/5000")
    assert await rig.delivery.keep_original(big) == Original(big)
    assert rig.downloads_left() == [original.unkept]  # the caller removes what it posted


async def test_a_repost_takes_the_other_source_when_one_is_not_a_video(rig: Rig) -> None:
    rig.files["posted.mp4"] = html_page(200).encode() * 10
    job = replace(rig.kept_job(size=1500), video_path=None)
    chat = Chat()

    async def posted_before() -> str:
        return f"{rig.videos}/file/posted.mp4"

    posted = await rig.delivery.post_best(
        job, LIMIT, chat.post, member_waiting=True, posted_before=posted_before
    )
    assert posted.kind == "file" and chat.posted == [fake_video(1500)]  # the provider's link


async def test_a_member_waiting_queues_for_the_encoder_behind_deliveries(rig: Rig) -> None:
    job = rig.kept_job()
    await rig.delivery.post_best(job, LIMIT, Chat().post, member_waiting=True)
    await rig.delivery.post_best(job, LIMIT - 500, Chat().post, member_waiting=False)
    assert rig.fitter.priorities == [Priority.REPOST, Priority.DELIVERY]


async def test_no_original_is_taken_larger_than_the_room_above_the_floor(rig: Rig) -> None:
    # 3,000 bytes left above the floor; the upload limit is 2,000.
    rig.shelf.space = MediaSpace(rig.tmp, floor_bytes=10**6, free_bytes=lambda _: 10**6 + 3000)
    big = rig.fresh_job(f"{rig.videos}/video/5000")
    assert await rig.delivery.keep_original(big) == Original(big)  # its link, nothing filled
    assert rig.downloads_left() == [] and rig.kept_files() == []
    fits = await rig.delivery.keep_original(rig.fresh_job(f"{rig.videos}/video/2500"))
    assert fits.job.video_path is not None and fits.unkept is None


async def test_a_disk_full_while_downloading_gets_the_link(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def disk_full(url: str, max_bytes: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rig.delivery.downloader, "fetch", disk_full)
    job = rig.fresh_job(f"{rig.videos}/video/1500")
    assert await rig.delivery.keep_original(job) == Original(job)
