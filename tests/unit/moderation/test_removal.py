"""Deleting a video for good, as the Delete button and the web both do it: who may, every
recorded post of the video (and no other), the record, the kept copy and the reference image
no other job needs, and nothing of that when a post cannot go."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.errors import Refusal
from bot.i18n import Text
from bot.jobs.store import JobStore
from bot.models import VIA_WEB, Actor, Job, ReferenceImage
from bot.moderation.permissions import Moderators
from bot.moderation.removal import VideoRemoval
from bot.quota.allowance import Allowance
from bot.storage.database import Database
from bot.video.fitting import VideoFitter
from bot.video.shelf import VideoShelf
from tests.support.jobs import DAY, deliver, new_job

GUILD, OWNER, OTHER, MOD_ROLE = 1, 7, 8, 500
RESULT_POST = (10, 1000)  # new_job's channel, deliver's message id below
REPOST = (11, 2000)


class Posts:
    """The chat platform's posts: those deleted, and those it refuses to delete."""

    def __init__(self, refused: set[int] | None = None) -> None:
        self.deleted: list[tuple[int, int]] = []
        self.refused = refused or set()

    async def delete(self, channel_id: int, message_id: int) -> bool:
        if message_id in self.refused:
            return False
        self.deleted.append((channel_id, message_id))
        return True


def key_of(refusal: Refusal) -> str:
    assert isinstance(refusal.reason, Text)
    return refusal.reason.key


@pytest.fixture
def shelf(tmp_path: Path) -> VideoShelf:
    return VideoShelf(tmp_path / "videos", tmp_path / "tmp", VideoFitter())


@pytest.fixture
def removal(job_store: JobStore, shelf: VideoShelf) -> VideoRemoval:
    return VideoRemoval(jobs=job_store, shelf=shelf, moderators=Moderators([MOD_ROLE]))


async def delivered_with_copy(
    job_store: JobStore, shelf: VideoShelf, tmp_path: Path, image: ReferenceImage | None = None
) -> Job:
    job = await job_store.submit(
        dataclasses.replace(new_job(OWNER), image=image), Allowance(3, DAY)
    )
    download = tmp_path / "download.mp4"
    download.write_bytes(b"video")
    kept = shelf.keep(job.id, download)
    job = await deliver(job_store, job, kept_video=(kept, 5), message_id=RESULT_POST[1])
    await job_store.record_repost(job, *REPOST)
    return job


async def test_the_owner_deletes_every_post_and_the_copy_without_an_audit_row(
    db: Database, job_store: JobStore, shelf: VideoShelf, removal: VideoRemoval, tmp_path: Path
) -> None:
    job = await delivered_with_copy(job_store, shelf, tmp_path)
    posts = Posts()
    await removal.remove(Actor(GUILD, OWNER), job, posts.delete)
    assert sorted(posts.deleted) == sorted([RESULT_POST, REPOST])
    removed = await job_store.get(job.id)
    assert removed is not None and removed.result_deleted_at is not None
    assert shelf.kept(job) is None
    assert await db.fetch_all("SELECT action FROM moderation_actions") == []
    # Once removed, there is nothing left to delete.
    with pytest.raises(Refusal) as again:
        await removal.remove(Actor(GUILD, OWNER), removed, posts.delete)
    assert key_of(again.value) == "results.delete.nothing_posted"


async def test_a_moderator_on_the_web_deletes_anothers_video_on_the_record(
    db: Database, job_store: JobStore, shelf: VideoShelf, removal: VideoRemoval, tmp_path: Path
) -> None:
    job = await delivered_with_copy(job_store, shelf, tmp_path)
    moderator = Actor(GUILD, 99, role_ids=(MOD_ROLE,), via=VIA_WEB)
    posts = Posts()
    await removal.remove(moderator, job, posts.delete)
    # The recorded posts, each once: nothing a page or a button could name besides them.
    assert sorted(posts.deleted) == sorted([RESULT_POST, REPOST])
    rows = await db.fetch_all(
        "SELECT action, actor_id, target_user_id, via FROM moderation_actions"
    )
    assert [tuple(row) for row in rows] == [("remove_video", 99, OWNER, "web")]


async def test_another_member_may_not_and_nothing_happens(
    job_store: JobStore, shelf: VideoShelf, removal: VideoRemoval, tmp_path: Path
) -> None:
    job = await delivered_with_copy(job_store, shelf, tmp_path)
    posts = Posts()
    assert not removal.may_remove(Actor(GUILD, OTHER), job)
    with pytest.raises(Refusal) as refused:
        await removal.remove(Actor(GUILD, OTHER), job, posts.delete)
    assert key_of(refused.value) == "results.delete.not_yours"
    assert posts.deleted == [] and shelf.kept(job) is not None


async def test_a_post_the_platform_refuses_to_delete_keeps_the_video_and_its_record(
    db: Database, job_store: JobStore, shelf: VideoShelf, removal: VideoRemoval, tmp_path: Path
) -> None:
    job = await delivered_with_copy(job_store, shelf, tmp_path)
    with pytest.raises(Refusal) as refused:
        await removal.remove(Actor(GUILD, OWNER), job, Posts(refused={RESULT_POST[1]}).delete)
    assert key_of(refused.value) == "results.delete.refused"
    kept = await job_store.get(job.id)
    assert kept is not None and kept.result_deleted_at is None
    assert shelf.kept(job) is not None
    # Asked again once the platform lets it go, it is done.
    await removal.remove(Actor(GUILD, OWNER), kept, Posts().delete)
    assert shelf.kept(job) is None


def picture(tmp_path: Path) -> ReferenceImage:
    path = tmp_path / "references" / "holiday.png"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"png")
    return ReferenceImage(path, "holiday.png", "image/png", None)


async def test_the_reference_image_goes_with_the_video(
    job_store: JobStore, shelf: VideoShelf, removal: VideoRemoval, tmp_path: Path
) -> None:
    image = picture(tmp_path)
    job = await delivered_with_copy(job_store, shelf, tmp_path, image)
    await removal.remove(Actor(GUILD, OWNER), job, Posts().delete)
    assert not image.path.exists()


async def test_a_reference_image_another_live_job_uses_is_kept_until_that_one_goes(
    job_store: JobStore, shelf: VideoShelf, removal: VideoRemoval, tmp_path: Path
) -> None:
    image = picture(tmp_path)
    first = await delivered_with_copy(job_store, shelf, tmp_path, image)
    rerun = await delivered_with_copy(job_store, shelf, tmp_path, image)  # a re-run keeps it
    await removal.remove(Actor(GUILD, OWNER), first, Posts().delete)
    assert image.path.exists()  # the re-run may still be re-run, with this picture
    await removal.remove(Actor(GUILD, OWNER), rerun, Posts().delete)
    assert not image.path.exists()
