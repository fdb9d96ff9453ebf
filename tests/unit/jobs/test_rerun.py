"""Re-running a finished job through the same admission path, charged to the re-runner."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import Refusal
from bot.jobs.admission import Submitter
from bot.jobs.rerun import Remix, check_rerunnable, find_job_by_message, rerun
from bot.jobs.store import JobStore
from bot.models import Actor, Job, JobOptions, JobState, ReferenceImage
from bot.storage.database import Database
from tests.support.admission import ask, make_submitter
from tests.support.images import PNG
from tests.support.jobs import deliver

ALICE = Actor(guild_id=1, user_id=7)
BOB = Actor(guild_id=1, user_id=8)


@pytest.fixture
def submitter(job_store: JobStore, db: Database, tmp_path: Path) -> Submitter:
    return make_submitter(job_store, tmp_path, limit=2)


async def delivered_job(
    submitter: Submitter, image: ReferenceImage | None = None, by: Actor = ALICE
) -> Job:
    store = submitter.jobs
    job = await submitter.submit(
        ask(
            "a lantern festival",
            by=by,
            orientation="portrait",
            duration=15,
            quality="high",
            toggles={"remove_watermark": True},
            image=image,
            upload_limit_bytes=10 * 1024 * 1024,
        )
    )
    job = await deliver(store, job, task_id="task_1", message_id=9001)
    await store.record_status(job, 9000, "status")
    final = await store.get(job.id)
    assert final is not None
    return final


async def test_rerun_copies_the_settings_and_charges_the_reactor(
    submitter: Submitter, db: Database
) -> None:
    source = await delivered_job(submitter)
    copy = await rerun(submitter, source, BOB, image_retention_days=30)
    assert copy.user_id == BOB.user_id and copy.parent_job_id == source.id
    assert (copy.prompt, copy.options) == (source.prompt, source.options)
    assert copy.options == JobOptions("portrait", 15, "high", {"remove_watermark": True})
    assert copy.reply_to_message_id == 9001  # the status message replies to the video
    rows = await db.fetch_all("SELECT user_id, kind FROM quota_ledger WHERE job_id = ?", (copy.id,))
    assert [(r["user_id"], r["kind"]) for r in rows] == [(BOB.user_id, "hold")]


async def test_a_rerun_takes_the_upload_limit_of_where_it_was_asked(
    submitter: Submitter,
) -> None:
    source = await delivered_job(submitter)
    boosted = await rerun(
        submitter, source, BOB, image_retention_days=30, upload_limit_bytes=50 * 1024 * 1024
    )
    assert boosted.upload_limit_bytes == 50 * 1024 * 1024
    by_reaction = await rerun(submitter, source, Actor(1, 10), image_retention_days=30)
    assert by_reaction.upload_limit_bytes == 10 * 1024 * 1024  # a reaction reports none


async def test_found_by_result_or_status_message_in_the_same_guild(submitter: Submitter) -> None:
    source = await delivered_job(submitter)
    store = submitter.jobs
    assert (await find_job_by_message(store, 1, 9001)).id == source.id  # type: ignore[union-attr]
    assert (await find_job_by_message(store, 1, 9000)).id == source.id  # type: ignore[union-attr]
    assert await find_job_by_message(store, 2, 9001) is None
    assert await find_job_by_message(store, 1, 12345) is None


async def test_only_one_active_rerun_per_member_and_message(submitter: Submitter) -> None:
    source = await delivered_job(submitter)
    await rerun(submitter, source, BOB, image_retention_days=30)
    with pytest.raises(Refusal, match="still in progress"):
        await rerun(submitter, source, BOB, image_retention_days=30)
    # Someone else may still re-run it.
    await rerun(submitter, source, Actor(1, 9), image_retention_days=30)


async def test_unfinished_jobs_cannot_be_rerun(submitter: Submitter) -> None:
    job = await submitter.submit(ask("x", by=ALICE, orientation="portrait"))
    assert job.state is JobState.QUEUED
    with pytest.raises(Refusal, match="nothing to re-run"):
        await rerun(submitter, job, BOB, image_retention_days=30)


async def test_the_kept_image_is_reused_or_its_absence_explained(
    submitter: Submitter, tmp_path: Path
) -> None:
    path = tmp_path / "kept.png"
    path.write_bytes(PNG)
    source = await delivered_job(
        submitter, ReferenceImage(path, "kept.png", "image/png", "https://x")
    )
    copy = await rerun(submitter, source, BOB, image_retention_days=30)
    assert copy.image_path == path and copy.image_source_url is None
    path.unlink()
    with pytest.raises(Refusal, match=r"no longer kept.*30 days"):
        await rerun(submitter, source, Actor(1, 10), image_retention_days=30)


async def test_rerun_obeys_the_quota(submitter: Submitter) -> None:
    source = await delivered_job(submitter)
    for _ in range(2):  # bob uses his whole allowance of 2
        await delivered_job(submitter, by=BOB)
    with pytest.raises(Refusal, match="used all 2"):
        await rerun(submitter, source, BOB, image_retention_days=30)


# -- edit & re-run ----------------------------------------------------------------------------


async def test_a_remix_takes_the_edits_and_keeps_the_rest(
    submitter: Submitter, tmp_path: Path
) -> None:
    path = tmp_path / "kept.png"
    path.write_bytes(PNG)
    source = await delivered_job(
        submitter, ReferenceImage(path, "kept.png", "image/png", "https://x")
    )
    remix = Remix("a lantern festival in the rain", "landscape", 10)
    copy = await rerun(submitter, source, BOB, image_retention_days=30, remix=remix)
    assert (copy.user_id, copy.parent_job_id) == (BOB.user_id, source.id)
    assert copy.prompt == "a lantern festival in the rain"
    assert copy.options == JobOptions("landscape", 10, "high", {"remove_watermark": True})
    assert copy.image_path == path and copy.reply_to_message_id == source.result_message_id


async def test_a_remix_goes_through_the_same_checks(submitter: Submitter) -> None:
    source = await delivered_job(submitter)
    with pytest.raises(Refusal, match="prompt is empty"):
        await rerun(
            submitter, source, BOB, image_retention_days=30, remix=Remix(" ", "portrait", 10)
        )
    with pytest.raises(Refusal, match="makes videos of 10 or 15 seconds"):
        await rerun(
            submitter, source, BOB, image_retention_days=30, remix=Remix("x", "portrait", 12)
        )
    await rerun(submitter, source, BOB, image_retention_days=30, remix=Remix("x", "portrait", 10))
    with pytest.raises(Refusal, match="still in progress"):
        await rerun(
            submitter, source, BOB, image_retention_days=30, remix=Remix("y", "portrait", 10)
        )


async def test_what_cannot_be_rerun_is_refused_before_any_form(submitter: Submitter) -> None:
    job = await submitter.submit(ask("x", by=ALICE, orientation="portrait"))
    with pytest.raises(Refusal, match="nothing to re-run"):
        check_rerunnable(job, image_retention_days=30)
    source = await delivered_job(submitter)
    assert check_rerunnable(source, image_retention_days=30) is None
