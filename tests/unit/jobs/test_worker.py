"""The worker's state machine, with a scripted backend and a recording presenter."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.config import Secret
from bot.jobs.chat_port import ChannelGone
from bot.jobs.delivery import VideoDelivery
from bot.jobs.new_job import NewJob
from bot.jobs.steps import MAX_DELIVERY_ATTEMPTS
from bot.jobs.store import JobStore
from bot.jobs.worker import Worker
from bot.logging_setup import Scrubber
from bot.models import Actor, FailureCode, Job, JobOptions, JobState, ReferenceImage
from bot.providers.base import (
    GenerationRequest,
    JobRejectedError,
    OutcomeUnknownError,
    ProviderMisconfiguredError,
    ProviderOutOfCreditsError,
    TaskStatus,
    TransientProviderError,
)
from bot.quota.allowance import Allowance
from bot.storage.database import Database
from bot.video.destinations import Destinations
from bot.video.download import VideoDownloader
from bot.video.fitting import Priority, VideoFitter
from bot.video.shelf import VideoShelf
from tests.support.doubles import FakeClock, RecordingChat, ScriptedProvider
from tests.support.images import PNG
from tests.support.jobs import DAY, make_store
from tests.support.video_server import fake_video, video_server
from tests.support.videos import VideoSpec, write_video


@dataclass
class Rig:
    worker: Worker
    store: JobStore
    provider: ScriptedProvider
    presenter: RecordingChat
    clock: FakeClock
    db: Database
    videos: str
    files: dict[str, bytes] = field(default_factory=dict)  # served at `{videos}/file/<name>`

    async def submit(self, user_id: int = 7, **overrides: object) -> Job:
        fields: dict[str, object] = {
            "by": Actor(1, user_id),
            "channel_id": 10,
            "prompt": "a lighthouse in a storm",
            "options": JobOptions("portrait", 15, "high"),
        }
        fields.update(overrides)
        return await self.store.submit(NewJob(**fields), Allowance(5, DAY))  # type: ignore[arg-type]

    async def run(self, seconds: float = 0.0) -> None:
        """Let `seconds` of fake time pass, then run every due step."""
        self.clock.advance(seconds)
        await self.worker.drain(limit_seconds=10)

    async def job(self, job_id: int) -> Job:
        job = await self.store.get(job_id)
        assert job is not None
        return job

    async def ledger(self, job_id: int) -> list[str]:
        rows = await self.db.fetch_all(
            "SELECT kind FROM quota_ledger WHERE job_id = ? ORDER BY id", (job_id,)
        )
        return [row["kind"] for row in rows]


def make_worker(rig_parts: dict, provider: ScriptedProvider) -> Worker:
    return Worker(
        jobs=rig_parts["store"],
        provider=provider,
        chat=rig_parts["presenter"],
        delivery=VideoDelivery(
            jobs=rig_parts["store"],
            shelf=rig_parts["shelf"],
            downloader=rig_parts["downloader"],
            clock=rig_parts["clock"],
            upload_limit_cap=1024 * 1024,
        ),
        clock=rig_parts["clock"],
        status_edit_interval=0,
        concurrency=4,
    )


@pytest.fixture
async def rig(db: Database, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Rig]:
    store = make_store(db, clock, provider="scripted", max_active_per_member=5)
    provider = ScriptedProvider(poll_seconds=(3, 5, 10))
    presenter = RecordingChat()
    files: dict[str, bytes] = {}
    async with (
        video_server(files) as videos,
        VideoDownloader(tmp_path / "tmp", 5, Destinations(videos)) as downloader,
    ):
        parts = {
            "store": store,
            "presenter": presenter,
            "downloader": downloader,
            "shelf": VideoShelf(tmp_path / "videos", tmp_path / "tmp", VideoFitter()),
            "clock": clock,
        }
        yield Rig(
            make_worker(parts, provider), store, provider, presenter, clock, db, videos, files
        )


async def test_happy_path_posts_once_and_charges_once(rig: Rig) -> None:
    job = await rig.submit()
    rig.provider.creates = ["task_9"]
    rig.provider.statuses = [
        TaskStatus("queued"),
        TaskStatus("processing", progress=35),
        TaskStatus("succeeded", video_url=f"{rig.videos}/video/5000"),
    ]
    await rig.run()
    assert (await rig.job(job.id)).state is JobState.SUBMITTED
    request = rig.provider.create_calls[0]
    assert request.idempotency_key == job.idempotency_key
    assert (request.orientation, request.duration, request.quality) == ("portrait", 15, "high")
    # Nothing is polled before the first gap of the schedule.
    await rig.run(2.9)
    assert rig.provider.status_calls == []
    await rig.run(0.2)
    await rig.run(5)
    assert (await rig.job(job.id)).progress == 35
    assert "Generating… 35%" in rig.presenter.last_status(job.id)
    await rig.run(10)
    done = await rig.job(job.id)
    assert done.state is JobState.DELIVERED and done.delivery == "file"
    assert len(rig.presenter.results) == 1
    assert rig.presenter.results[0].video == fake_video(5000)
    assert rig.presenter.results[0].text.startswith(f"<@7> your video for job #{job.id}")
    assert await rig.ledger(job.id) == ["hold", "charge"]
    assert "✅ Done" in rig.presenter.last_status(job.id)
    downloads = rig.worker.steps.delivery.downloader._temp_dir
    assert not list(downloads.glob("*")), "temp file left behind"


async def test_status_is_edited_only_when_its_text_changes(rig: Rig) -> None:
    job = await rig.submit()
    rig.provider.statuses = [TaskStatus("processing", progress=10)] * 3 + [
        TaskStatus("processing", progress=60)
    ]
    await rig.run()
    for gap in (3, 5, 10, 10):
        await rig.run(gap)
    texts = rig.presenter.statuses[job.id]
    assert len(texts) == len(set(texts)), texts
    assert [t for t in texts if "%" in t][-2:] == [t for t in texts if "10%" in t or "60%" in t]


async def test_provider_failure_releases_and_explains(rig: Rig) -> None:
    job = await rig.submit()
    rig.provider.statuses = [TaskStatus("failed", failure_reason="Prompt violates policy")]
    await rig.run()
    await rig.run(3)
    failed = await rig.job(job.id)
    assert failed.state is JobState.FAILED
    assert "Prompt violates policy." in rig.presenter.last_status(job.id)
    assert "did not count against your quota" in rig.presenter.last_status(job.id)
    assert rig.presenter.notices and rig.presenter.notices[0][1].startswith("<@7>")
    assert await rig.ledger(job.id) == ["hold", "release"]


async def test_a_failure_reason_quoting_a_key_is_scrubbed_everywhere_members_look(
    rig: Rig,
) -> None:
    rig.worker.steps.scrub = Scrubber([Secret("configured-key-1234")])
    rig.worker.steps.on_provider_unusable = lambda health: True
    first, second, third = await rig.submit(), await rig.submit(), await rig.submit()
    rig.provider.creates = [
        "task_1",
        JobRejectedError("The provider refused the request: key configured-key-1234 is bad"),
        ProviderMisconfiguredError("API key refused", code="api_key_invalid sk-abcdef123456"),
    ]
    rig.provider.statuses = [
        TaskStatus("failed", failure_reason="Header was 'Bearer rvya_sk_live_0123456789abcdef'")
    ]
    await rig.run()
    await rig.run(3)
    member_facing = [
        *(text for texts in rig.presenter.statuses.values() for text in texts),
        *(text for _, text in rig.presenter.notices),
        *rig.presenter.alerts,
    ]
    stored = await rig.db.fetch_all("SELECT error_code, error_message FROM jobs")
    everything = "\n".join(member_facing + [str(v) for row in stored for v in tuple(row)])
    for secret in ("configured-key-1234", "rvya_sk_live", "sk-abcdef123456", "0123456789abcdef"):
        assert secret not in everything
    assert {(await rig.job(j.id)).state for j in (first, second, third)} == {JobState.FAILED}
    # Which job meets which answer depends on which create call the provider sees first (on
    # PostgreSQL the three steps really run side by side).
    finals = "\n".join(rig.presenter.last_status(j.id) for j in (first, second, third))
    assert "key [redacted] is bad" in finals
    assert "Header was '[redacted]'" in finals
    assert len(rig.presenter.alerts) == 1


def test_the_scrubber_takes_configured_secrets_and_key_like_tokens() -> None:
    scrub = Scrubber([Secret("hunter2-long-secret")])
    assert scrub("a hunter2-long-secret b") == "a [redacted] b"
    assert scrub("key rvya_sk_abc123 refused") == "key [redacted] refused"
    assert scrub("Authorization: Bearer abc.def-ghi_jkl") == "Authorization: [redacted]"
    assert scrub("sk-proj-AbCdEf0123456789") == "[redacted]"
    # Ordinary words are left alone.
    for text in ("a desk-lamp", "task-12345678", "a bearer of news", "see sk-short"):
        assert scrub(text) == text


@pytest.mark.parametrize(
    "error",
    [
        JobRejectedError("The provider rejected the request: bad size", "validation_failed"),
        ProviderOutOfCreditsError("The video service account is out of credits."),
    ],
)
async def test_rejected_create_fails_without_retry(rig: Rig, error: Exception) -> None:
    job = await rig.submit()
    rig.provider.creates = [error]
    await rig.run()
    assert (await rig.job(job.id)).state is JobState.FAILED
    assert len(rig.provider.create_calls) == 1
    assert await rig.ledger(job.id) == ["hold", "release"]


async def test_transient_errors_back_off_then_succeed(rig: Rig) -> None:
    job = await rig.submit()
    rig.provider.creates = [
        TransientProviderError("busy", "rate_limited", retry_after=20),
        TransientProviderError("down", "http_503"),
        "task_2",
    ]
    await rig.run()
    assert len(rig.provider.create_calls) == 1
    await rig.run(19)  # Retry-After is honoured
    assert len(rig.provider.create_calls) == 1
    await rig.run(1.5)
    assert len(rig.provider.create_calls) == 2
    await rig.run(60)
    assert (await rig.job(job.id)).provider_task_id == "task_2"
    # Every attempt carries the same idempotency key: no second paid task.
    assert {c.idempotency_key for c in rig.provider.create_calls} == {job.idempotency_key}


async def test_deadline_expires_and_releases(rig: Rig) -> None:
    job = await rig.submit()
    rig.provider.statuses = [TaskStatus("processing")] * 500
    await rig.run()
    for _ in range(200):
        await rig.run(10)
        if (await rig.job(job.id)).state is JobState.EXPIRED:
            break
    expired = await rig.job(job.id)
    assert expired.state is JobState.EXPIRED
    assert expired.finished_at is not None and expired.finished_at >= expired.deadline_at
    assert "⌛ Expired" in rig.presenter.last_status(job.id)
    assert await rig.ledger(job.id) == ["hold", "release"]
    # The polling was bounded by the schedule: at most deadline / last gap (+ the faster start).
    assert len(rig.provider.status_calls) <= 1800 / 10 + 3


async def test_a_long_backoff_never_carries_a_job_past_its_deadline(rig: Rig) -> None:
    job = await rig.submit()
    rig.provider.creates = ["task_1"]
    # The provider keeps asking for 10 minutes' patience: far past the 30-minute deadline.
    rig.provider.statuses = [TransientProviderError("busy", "rate_limited", retry_after=600)] * 9
    await rig.run()
    await rig.run(1700)  # the first poll, 100 s before the deadline, is told to wait 10 minutes
    waiting = await rig.job(job.id)
    assert waiting.state is JobState.SUBMITTED
    assert waiting.next_action_at == waiting.deadline_at  # clamped to the deadline
    await rig.run(100)
    expired = await rig.job(job.id)
    assert expired.state is JobState.EXPIRED
    assert expired.finished_at == expired.deadline_at  # on time, not up to 10 minutes late
    assert await rig.ledger(job.id) == ["hold", "release"]


async def test_oversize_video_is_posted_as_a_link(rig: Rig) -> None:
    job = await rig.submit()
    url = f"{rig.videos}/video/{2 * 1024 * 1024}"
    rig.provider.statuses = [TaskStatus("succeeded", video_url=url)]
    await rig.run()
    await rig.run(3)
    done = await rig.job(job.id)
    assert done.state is JobState.DELIVERED and done.delivery == "link"
    assert done.result_url == url
    result = rig.presenter.results[0]
    assert result.video is None and url in result.text and "expires" in result.text


async def test_upload_refused_by_discord_falls_back_to_link(rig: Rig) -> None:
    rig.presenter.upload_limit = 1000  # Discord's real limit is lower than we were told
    job = await rig.submit()
    rig.provider.statuses = [TaskStatus("succeeded", video_url=f"{rig.videos}/video/5000")]
    await rig.run()
    await rig.run(3)
    done = await rig.job(job.id)
    assert done.delivery == "link" and len(rig.presenter.results) == 1


async def test_a_file_post_refused_for_good_still_delivers_the_link(rig: Rig) -> None:
    rig.presenter.refuse_files = True  # e.g. a button Discord would not take
    job = await rig.submit()
    rig.provider.statuses = [TaskStatus("succeeded", video_url=f"{rig.videos}/video/5000")]
    await rig.run()
    await rig.run(3)
    done = await rig.job(job.id)
    assert done.state is JobState.DELIVERED and done.delivery == "link"
    assert await rig.ledger(job.id) == ["hold", "charge"]


async def test_member_limit_smaller_than_setting_wins(rig: Rig) -> None:
    job = await rig.submit(upload_limit_bytes=1000)
    rig.provider.statuses = [TaskStatus("succeeded", video_url=f"{rig.videos}/video/5000")]
    await rig.run()
    await rig.run(3)
    assert (await rig.job(job.id)).delivery == "link"


async def test_expired_video_link_still_reaches_the_member(rig: Rig) -> None:
    job = await rig.submit()
    rig.provider.statuses = [TaskStatus("succeeded", video_url=f"{rig.videos}/gone")]
    await rig.run()
    await rig.run(3)
    done = await rig.job(job.id)
    assert done.delivery == "link" and done.state is JobState.DELIVERED


async def test_a_result_that_is_not_a_video_is_retried_then_not_delivered(rig: Rig) -> None:
    # The service's link answers an HTML page, as a "video/mp4", every time.
    rig.files["result.mp4"] = b"<!doctype html><html><body>Please log in</body></html>" * 40
    job = await rig.submit()
    url = f"{rig.videos}/file/result.mp4"
    rig.provider.statuses = [TaskStatus("succeeded", video_url=url)]
    await rig.run()
    await rig.run(3)
    tries = 1
    while (await rig.job(job.id)).state is JobState.SUCCEEDED:  # tried again, up to the deadline
        await rig.run(60)
        tries += 1
        assert rig.clock.now() < job.deadline_at + 400, "not given up at the deadline"
    final = await rig.job(job.id)
    assert tries > 3
    assert final.state is JobState.FAILED and final.error_code == "not_a_video"
    assert await rig.ledger(job.id) == ["hold", "release"]
    # Nothing posted: not a file, not the link (it does not lead to a video).
    assert rig.presenter.results == []
    assert not any(url in text for text in rig.presenter.statuses[job.id])
    assert "not a playable video" in rig.presenter.statuses[job.id][-1]
    assert [job_id for job_id, _ in rig.presenter.notices] == [job.id]
    assert final.video_path is None


async def test_a_result_that_becomes_a_video_before_the_deadline_is_delivered(rig: Rig) -> None:
    rig.files["result.mp4"] = b"<html>not yet</html>" * 100
    job = await rig.submit()
    rig.provider.statuses = [TaskStatus("succeeded", video_url=f"{rig.videos}/file/result.mp4")]
    await rig.run()
    await rig.run(3)
    assert (await rig.job(job.id)).state is JobState.SUCCEEDED
    rig.files["result.mp4"] = fake_video(3000)  # the service's storage caught up
    await rig.run(60)
    done = await rig.job(job.id)
    assert done.state is JobState.DELIVERED and done.delivery == "file"
    assert rig.presenter.results[0].video == fake_video(3000)


async def test_discord_outage_is_retried_then_given_up_with_release(rig: Rig) -> None:
    rig.presenter.fail_posts = 100
    job = await rig.submit()
    rig.provider.statuses = [TaskStatus("succeeded", video_url=f"{rig.videos}/video/1000")]
    await rig.run()
    await rig.run(3)
    for _ in range(MAX_DELIVERY_ATTEMPTS + 2):
        await rig.run(400)
    final = await rig.job(job.id)
    assert final.state is JobState.FAILED and final.error_code == "delivery_failed"
    assert final.result_url is not None  # the link is kept in the database
    assert await rig.ledger(job.id) == ["hold", "release"]


async def test_crash_after_posting_is_not_posted_twice(rig: Rig) -> None:
    job = await rig.submit()
    rig.provider.statuses = [TaskStatus("succeeded", video_url=f"{rig.videos}/video/1000")]
    await rig.run()
    await rig.run(3)
    # Simulate the crash: the post happened but the database still says `succeeded`.
    await rig.db.execute(
        "UPDATE jobs SET state = 'succeeded', result_message_id = NULL, finished_at = NULL "
        "WHERE id = ?",
        (job.id,),
    )
    await rig.db.execute("DELETE FROM quota_ledger WHERE kind = 'charge'")
    await rig.run()
    assert len(rig.presenter.results) == 1
    assert (await rig.job(job.id)).state is JobState.DELIVERED
    assert await rig.ledger(job.id) == ["hold", "charge"]


async def test_non_idempotent_create_is_never_retried_after_a_restart(rig: Rig) -> None:
    rig.provider.idempotent_create = False
    job = await rig.submit()
    rig.provider.creates = [OutcomeUnknownError("The request timed out after it was sent.")]
    await rig.run()
    failed = await rig.job(job.id)
    assert failed.state is JobState.FAILED and failed.error_code == "outcome_unknown"
    assert len(rig.provider.create_calls) == 1
    # And a job whose create was in flight when the process died is failed, not resent.
    second = await rig.submit()
    await rig.db.execute("UPDATE jobs SET submit_attempted = 1 WHERE id = ?", (second.id,))
    await rig.run()
    assert (await rig.job(second.id)).error_code == "outcome_unknown"
    assert len(rig.provider.create_calls) == 1


async def test_reference_image_is_uploaded_once_and_reused_on_retry(
    rig: Rig, tmp_path: Path
) -> None:
    image_path = tmp_path / "ref.png"
    image_path.write_bytes(PNG)
    image = ReferenceImage(image_path, "ref.png", "image/png", "https://cdn.example/ref.png")
    job = await rig.submit(image=image)
    rig.provider.creates = [TransientProviderError("timeout", "timeout"), "task_3"]
    await rig.run()
    await rig.run(60)
    assert len(rig.provider.references) == 1
    urls = [c.reference_url for c in rig.provider.create_calls]
    assert urls == [rig.provider.references[0]] * 2
    assert (await rig.job(job.id)).state is JobState.SUBMITTED


async def test_one_broken_job_does_not_stop_the_others(rig: Rig) -> None:
    first = await rig.submit(user_id=1)
    second = await rig.submit(user_id=2)
    # Whichever job is created first hits a bug (an unexpected exception type).
    rig.provider.creates = [KeyError("boom"), "task_ok"]
    await rig.run()
    jobs = sorted([await rig.job(first.id), await rig.job(second.id)], key=lambda j: j.state)
    assert [j.state for j in jobs] == [JobState.QUEUED, JobState.SUBMITTED]
    broken = jobs[0]  # rescheduled with backoff, not lost
    assert broken.transient_failures == 1 and broken.next_action_at > rig.clock.now()


class SlowCreate(ScriptedProvider):
    """A create that waits until the test lets it answer."""

    def __init__(self) -> None:
        super().__init__(poll_seconds=(3, 5, 10))
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def create(self, request):  # type: ignore[no-untyped-def]
        self.started.set()
        await self.release.wait()
        return await super().create(request)


@pytest.fixture
def slow_rig(rig: Rig) -> Rig:
    provider = SlowCreate()
    rig.worker.steps.provider = provider
    rig.provider = provider
    return rig


async def test_stop_lets_a_step_in_flight_finish(slow_rig: Rig) -> None:
    job = await slow_rig.submit()
    provider = slow_rig.provider
    assert isinstance(provider, SlowCreate)
    [step] = await slow_rig.worker.run_once()
    await provider.started.wait()
    stopping = asyncio.create_task(slow_rig.worker.stop(grace_seconds=5))
    provider.release.set()
    await stopping
    assert step.done() and not step.cancelled()
    assert (await slow_rig.job(job.id)).state is JobState.SUBMITTED


async def test_stop_cancels_a_step_past_the_grace_and_keeps_the_job(slow_rig: Rig) -> None:
    job = await slow_rig.submit()
    provider = slow_rig.provider
    assert isinstance(provider, SlowCreate)
    [step] = await slow_rig.worker.run_once()
    await provider.started.wait()
    await slow_rig.worker.stop(grace_seconds=0.05)
    assert step.cancelled()
    kept = await slow_rig.job(job.id)
    assert kept.state is JobState.QUEUED and kept.submit_attempted  # resumed on restart


async def test_non_idempotent_create_refused_as_busy_is_sent_again(rig: Rig) -> None:
    # A 429 or a refused connection means the gateway did not take the job: resend it.
    rig.provider.idempotent_create = False
    job = await rig.submit()
    rig.provider.creates = [TransientProviderError("busy", "rate_limited", retry_after=5), "t"]
    await rig.run()
    await rig.run(10)
    submitted = await rig.job(job.id)
    assert submitted.state is JobState.SUBMITTED and submitted.provider_task_id == "t"
    assert len(rig.provider.create_calls) == 2


async def test_a_second_worker_cannot_send_a_non_idempotent_create_twice(rig: Rig) -> None:
    rig.provider.idempotent_create = False
    job = await rig.submit()
    assert await rig.store.mark_submit_attempted(job)  # another process claimed it first
    await rig.worker.step(job)  # this worker holds a stale copy (submit_attempted = False)
    assert rig.provider.create_calls == []


async def test_out_of_credits_mid_run_pauses_new_jobs_and_alerts_once(rig: Rig) -> None:
    unusable: list[object] = []

    def record(health: object) -> bool:
        unusable.append(health)
        return len(unusable) == 1

    rig.worker.steps.on_provider_unusable = record  # type: ignore[assignment]
    first, second = await rig.submit(user_id=1), await rig.submit(user_id=2)
    rig.provider.creates = [ProviderOutOfCreditsError("empty", "insufficient_credits")] * 2
    await rig.run()
    assert {(await rig.job(j.id)).state for j in (first, second)} == {JobState.FAILED}
    assert len(unusable) == 2 and unusable[0].out_of_credits  # type: ignore[attr-defined]
    assert len(rig.presenter.alerts) == 1 and "out of credits" in rig.presenter.alerts[0]


async def test_jobs_of_a_previous_provider_wait_for_their_deadline(rig: Rig) -> None:
    job = await rig.submit()
    await rig.run()  # sent to the provider
    await rig.db.execute("UPDATE jobs SET provider = 'rivya' WHERE id = ?", (job.id,))
    rig.provider.statuses = [TaskStatus("processing")] * 10
    await rig.run(3)
    assert rig.provider.status_calls == []  # not polled at the wrong service
    await rig.run(1801)
    assert (await rig.job(job.id)).state is JobState.EXPIRED
    assert await rig.ledger(job.id) == ["hold", "release"]


async def test_a_queued_job_of_a_previous_provider_fails_at_once(rig: Rig) -> None:
    job = await rig.submit()
    await rig.db.execute("UPDATE jobs SET provider = 'rivya' WHERE id = ?", (job.id,))
    await rig.run()
    failed = await rig.job(job.id)
    assert failed.state is JobState.FAILED and failed.error_code == "provider_changed"
    assert rig.provider.create_calls == []


async def test_a_finished_video_of_a_previous_provider_is_still_delivered(rig: Rig) -> None:
    job = await rig.submit()
    rig.provider.statuses = [TaskStatus("succeeded", video_url=f"{rig.videos}/video/1000")]
    rig.presenter.fail_posts = 1  # the post fails once, so the job is left `succeeded`
    await rig.run()
    await rig.run(3)
    assert (await rig.job(job.id)).state is JobState.SUCCEEDED
    await rig.db.execute("UPDATE jobs SET provider = 'rivya' WHERE id = ?", (job.id,))
    await rig.run(60)
    assert (await rig.job(job.id)).state is JobState.DELIVERED
    assert await rig.ledger(job.id) == ["hold", "charge"]


async def test_partial_downloads_from_a_crash_are_cleared(rig: Rig) -> None:
    folder = rig.worker.steps.delivery.downloader._temp_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "video-abc.mp4").write_bytes(b"partial")
    (folder / "keep.txt").write_text("not ours")
    assert rig.worker.steps.delivery.downloader.clear_leftovers() == 1
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]


async def test_with_a_shared_media_dir_only_old_partial_downloads_are_cleared(rig: Rig) -> None:
    folder = rig.worker.steps.delivery.downloader._temp_dir
    folder.mkdir(parents=True, exist_ok=True)
    crashed, busy = folder / "video-old.mp4", folder / "video-new.mp4"
    for path in (crashed, busy):
        path.write_bytes(b"partial")
    now = time.time()
    os.utime(crashed, (now - 7200, now - 7200))  # another process is still writing `busy`
    assert rig.worker.steps.delivery.downloader.clear_leftovers(3600, now) == 1
    assert not crashed.exists() and busy.exists()


async def test_the_worker_is_alive_only_while_its_loop_ticks(rig: Rig) -> None:
    assert not rig.worker.is_alive()  # not started
    task = asyncio.create_task(rig.worker.run())
    try:
        await asyncio.sleep(0)  # the loop's first pass begins
        assert rig.worker.is_alive()
        assert not rig.worker.is_alive(stall_seconds=0)  # a silent loop counts as stuck
    finally:
        await rig.worker.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert not rig.worker.is_alive()


# -- compressing to fit ----------------------------------------------------------------------


class Seen:
    """What the worker did, as it happens, for waiting on it without sleeping."""

    def __init__(self, rig: Rig) -> None:
        self.events: list[tuple[str, str]] = []  # (what, detail)
        self._changed = asyncio.Condition()
        create, show, post = (
            rig.provider.create,
            rig.presenter.show_status,
            rig.presenter.post_result,
        )

        async def created(request: GenerationRequest) -> str:
            task_id = await create(request)
            await self._note("create", task_id)
            return task_id

        async def shown(job: Job, text: str) -> int:
            message_id = await show(job, text)
            await self._note(f"status {job.id}", text)
            return message_id

        async def posted(job: Job, video: Path | None, text: str, **kwargs: str | None) -> int:
            message_id = await post(job, video, text, **kwargs)
            await self._note(f"result {job.id}", text)
            return message_id

        rig.provider.create = created  # type: ignore[method-assign]
        rig.presenter.show_status = shown  # type: ignore[method-assign]
        rig.presenter.post_result = posted  # type: ignore[method-assign]

    async def _note(self, what: str, detail: str) -> None:
        async with self._changed:
            self.events.append((what, detail))
            self._changed.notify_all()

    async def wait(self, what: str, containing: str = "", timeout: float = 10) -> None:
        def happened() -> bool:
            return any(w == what and containing in d for w, d in self.events)

        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(happened)


async def test_a_video_over_the_limit_is_compressed_and_posted_with_the_original(
    rig: Rig, tmp_path: Path
) -> None:
    original = write_video(tmp_path / "clip.mp4", VideoSpec(seconds=1.5)).read_bytes()
    rig.files["clip.mp4"] = original
    url = f"{rig.videos}/file/clip.mp4"
    job = await rig.submit(upload_limit_bytes=150_000)  # what Discord reported
    rig.provider.statuses = [TaskStatus("succeeded", video_url=url)]
    await rig.run()
    await rig.run(3)
    done = await rig.job(job.id)
    assert done.state is JobState.DELIVERED and done.delivery == "file"
    posted = rig.presenter.results[0]
    assert posted.video is not None and len(posted.video) <= 150_000
    assert posted.full_quality_url == url and "Compressed to fit" in posted.text
    assert any("compressing it to fit" in text for text in rig.presenter.statuses[job.id])
    assert done.video_path is not None and done.video_path.read_bytes() == original
    assert done.video_bytes == len(original)
    assert await rig.ledger(job.id) == ["hold", "charge"]


async def test_a_delivery_lends_its_slot_while_it_waits_for_the_encoder(
    rig: Rig, tmp_path: Path
) -> None:
    rig.files["clip.mp4"] = write_video(tmp_path / "clip.mp4", VideoSpec(seconds=1.0)).read_bytes()
    fitter = VideoFitter(concurrency=1)
    shelf = VideoShelf(tmp_path / "videos", tmp_path / "work", fitter)
    worker = Worker(
        jobs=rig.store,
        provider=rig.provider,
        chat=rig.presenter,
        delivery=VideoDelivery(
            jobs=rig.store,
            shelf=shelf,
            downloader=rig.worker.steps.delivery.downloader,
            clock=rig.clock,
            upload_limit_cap=None,
        ),
        clock=rig.clock,
        status_edit_interval=0,
        concurrency=1,  # one slot for submits and deliveries
        idle_wait=0.01,
    )
    seen = Seen(rig)
    rig.provider.creates = ["task_a", "task_b"]
    rig.provider.statuses = [TaskStatus("succeeded", video_url=f"{rig.videos}/file/clip.mp4")]
    first = await rig.submit(upload_limit_bytes=60_000)
    await fitter._turns.acquire(Priority.DELIVERY)  # another video is being compressed
    loop = asyncio.create_task(worker.run())
    try:
        await seen.wait(f"status {first.id}", "Waiting in the video service")  # submitted
        rig.clock.advance(3)
        worker.wake()
        await seen.wait(f"status {first.id}", "compressing it to fit")
        second = await rig.submit(upload_limit_bytes=60_000)
        worker.wake()
        # The only slot is lent: the new job is sent while the first waits for the encoder.
        await seen.wait("create", "task_b")
        assert (await rig.job(first.id)).state is JobState.SUCCEEDED
        fitter._turns.release()
        await seen.wait(f"result {first.id}")
    finally:
        await worker.stop()
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert (await rig.job(first.id)).state is JobState.DELIVERED
    assert (await rig.job(second.id)).state is JobState.SUBMITTED
    assert len(rig.presenter.results[0].video or b"") <= 60_000


@dataclass
class DeletedChannelChat(RecordingChat):
    """Discord answers 10003 Unknown Channel for anything in `deleted_channel`."""

    deleted_channel: int = 99

    async def show_status(self, job: Job, text: str) -> int:
        if job.channel_id == self.deleted_channel:
            raise ChannelGone(f"channel {job.channel_id}: Unknown Channel")
        return await super().show_status(job, text)


async def test_a_waiting_job_whose_channel_was_deleted_ends_at_once(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    store = make_store(
        db,
        clock,
        provider="scripted",
        max_active_per_guild=1,
        max_queued_per_member=3,
        max_queued_per_guild=10,
    )
    chat = DeletedChannelChat()
    async with VideoDownloader(tmp_path / "tmp", 5, Destinations(None)) as downloader:
        parts = {
            "store": store,
            "presenter": chat,
            "downloader": downloader,
            "shelf": VideoShelf(tmp_path / "videos", tmp_path / "tmp", VideoFitter()),
            "clock": clock,
        }
        worker = make_worker(parts, ScriptedProvider())
        ask = {"prompt": "a lighthouse", "options": JobOptions("portrait", 15, "high")}
        await store.submit(NewJob(Actor(1, 7), 10, **ask), Allowance(5, DAY))  # the slot
        gone = await store.submit(NewJob(Actor(1, 8), 99, **ask), Allowance(5, DAY))
        assert gone.state is JobState.WAITING
        clock.advance(60)  # past its acceptance grace: the queue's board shows its place
        await worker.board.refresh()
    ended = await store.get(gone.id)
    assert ended is not None and ended.state is JobState.FAILED
    assert ended.error_code == FailureCode.NO_CHANNEL_ACCESS
    rows = await db.fetch_all("SELECT kind FROM quota_ledger WHERE job_id = ?", (gone.id,))
    assert [row["kind"] for row in rows] == ["hold", "release"]
    assert gone.id not in chat.statuses  # nothing was shown: there is nowhere to show it
