"""The core job flow, run once per backend: real provider client, simulator, worker, database.

Only the chat platform is a recording double here; the end-to-end suite covers Discord.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from bot.jobs.delivery import VideoDelivery
from bot.jobs.new_job import NewJob
from bot.jobs.store import JobStore
from bot.jobs.worker import Worker
from bot.models import Actor, Job, JobOptions, JobState, ReferenceImage
from bot.providers.base import VideoProvider
from bot.providers.profiles import RIVYA_SORA_2_PRO, UNIFIED_SORA_2_PRO
from bot.providers.rivya import RivyaProvider
from bot.providers.unified import UnifiedProvider
from bot.quota.allowance import Allowance
from bot.storage.database import Database
from bot.video.destinations import Destinations
from bot.video.download import VideoDownloader
from bot.video.fitting import VideoFitter
from bot.video.shelf import VideoShelf
from tests.support.doubles import FakeClock, RecordingChat
from tests.support.images import PNG
from tests.support.jobs import DAY, make_store
from tests.support.sims.rivya import RivyaSimulator
from tests.support.sims.unified import UnifiedVideoSimulator

UPLOAD_LIMIT = 1024 * 1024
STEP = 30.0  # fake seconds between worker passes; at least every poll gap


@dataclass
class Flow:
    backend: str
    sim: RivyaSimulator | UnifiedVideoSimulator
    session: aiohttp.ClientSession
    db: Database
    clock: FakeClock
    presenter: RecordingChat
    tmp: Path
    downloader: VideoDownloader
    worker: Worker | None = None

    def new_worker(self) -> Worker:
        """A fresh provider client and worker on the same database: what a restart gives."""
        provider: VideoProvider
        if self.backend == "rivya":
            provider = RivyaProvider(
                base_url=self.sim.base_url,
                api_key="key",
                profile=RIVYA_SORA_2_PRO,
                poll_seconds=(3, 5, 10),
                timeout_seconds=1,
                session=self.session,
            )
        else:
            provider = UnifiedProvider(
                base_url=self.sim.base_url,
                api_key="key",
                profile=UNIFIED_SORA_2_PRO,
                poll_seconds=(30,),
                timeout_seconds=1,
                session=self.session,
            )
        self.worker = Worker(
            jobs=self.store,
            provider=provider,
            chat=self.presenter,
            delivery=VideoDelivery(
                jobs=self.store,
                shelf=VideoShelf(self.tmp / "videos", self.tmp / "dl", VideoFitter()),
                downloader=self.downloader,
                clock=self.clock,
                upload_limit_cap=UPLOAD_LIMIT,
            ),
            clock=self.clock,
            status_edit_interval=0,
            concurrency=4,
        )
        return self.worker

    @property
    def store(self) -> JobStore:
        return make_store(self.db, self.clock, provider=self.backend, max_active_per_member=5)

    async def submit(self, image: ReferenceImage | None = None) -> Job:
        duration = 15 if self.backend == "rivya" else 25
        quality = "high" if self.backend == "rivya" else "large"
        return await self.store.submit(
            NewJob(
                by=Actor(guild_id=1, user_id=3),
                channel_id=2,
                prompt="a kite in the wind",
                options=JobOptions("landscape", duration, quality),
                image=image,
            ),
            Allowance(5, DAY),
        )

    async def run_until_done(self, job: Job, max_passes: int = 100) -> Job:
        assert self.worker is not None
        for _ in range(max_passes):
            await self.worker.drain(limit_seconds=10)
            current = await self.store.get(job.id)
            assert current is not None
            if not current.is_active:
                return current
            self.clock.advance(STEP)
        raise AssertionError(f"job {job.id} still {current.state} after {max_passes} passes")

    async def ledger(self, job: Job) -> list[str]:
        rows = await self.db.fetch_all(
            "SELECT kind FROM quota_ledger WHERE job_id = ? ORDER BY id", (job.id,)
        )
        return [row["kind"] for row in rows]


@pytest.fixture(params=["rivya", "unified"])
async def flow(
    request: pytest.FixtureRequest, db: Database, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[Flow]:
    sim_class = RivyaSimulator if request.param == "rivya" else UnifiedVideoSimulator
    async with (
        sim_class("key") as sim,
        aiohttp.ClientSession() as session,
        VideoDownloader(tmp_path / "dl", 2, Destinations(sim.base_url)) as downloader,
    ):
        flow = Flow(request.param, sim, session, db, clock, RecordingChat(), tmp_path, downloader)
        flow.new_worker()
        yield flow


async def test_happy_path(flow: Flow) -> None:
    job = await flow.submit()
    done = await flow.run_until_done(job)
    assert done.state is JobState.DELIVERED and done.delivery == "file"
    task = flow.sim.created_tasks[0]
    assert flow.presenter.results[0].video == flow.sim.media_bytes(task.id)
    assert await flow.ledger(job) == ["hold", "charge"]
    statuses = flow.presenter.statuses[job.id]
    assert any("Generating" in text for text in statuses)
    assert "✅ Done" in statuses[-1]


async def test_reference_image_reaches_the_provider(flow: Flow) -> None:
    path = flow.tmp / "ref.png"
    path.write_bytes(PNG)
    job = await flow.submit(
        ReferenceImage(path, "ref.png", "image/png", "https://cdn.test/ref.png")
    )
    done = await flow.run_until_done(job)
    assert done.state is JobState.DELIVERED
    if isinstance(flow.sim, RivyaSimulator):
        assert flow.sim.uploads[0].data == PNG
        params = flow.sim.requests_to("create")[0].json["params"]
        assert params["referenceMediaItems"][0]["url"] == flow.sim.uploads[0].url
    else:
        assert flow.sim.image_urls == ["https://cdn.test/ref.png"]


async def test_provider_failure_is_explained_and_released(flow: Flow) -> None:
    flow.sim.fail_next("The storm scene could not be drawn.")
    job = await flow.submit()
    done = await flow.run_until_done(job)
    assert done.state is JobState.FAILED
    assert "The storm scene could not be drawn." in flow.presenter.last_status(job.id)
    assert await flow.ledger(job) == ["hold", "release"]


async def test_a_burst_of_429s_is_ridden_out(flow: Flow) -> None:
    endpoint = "status" if isinstance(flow.sim, RivyaSimulator) else "query"
    flow.sim.inject(endpoint, "rate_limited", times=6, retry_after=20)
    job = await flow.submit()
    done = await flow.run_until_done(job)
    assert done.state is JobState.DELIVERED
    assert await flow.ledger(job) == ["hold", "charge"]


async def test_oversize_video_is_posted_as_a_link(flow: Flow) -> None:
    flow.sim.next_task(media_size=UPLOAD_LIMIT + 1)
    job = await flow.submit()
    done = await flow.run_until_done(job)
    assert done.delivery == "link" and done.result_url
    assert done.result_url in flow.presenter.results[0].text
    assert await flow.ledger(job) == ["hold", "charge"]


async def test_a_job_that_never_finishes_expires(flow: Flow) -> None:
    flow.sim.next_task(polls_until_done=10_000)
    job = await flow.submit()
    done = await flow.run_until_done(job)
    assert done.state is JobState.EXPIRED
    assert await flow.ledger(job) == ["hold", "release"]
    assert "⌛ Expired" in flow.presenter.last_status(job.id)


async def test_restart_mid_job_delivers_once_and_charges_once(flow: Flow) -> None:
    job = await flow.submit()
    assert flow.worker is not None
    await flow.worker.drain(limit_seconds=10)  # created upstream
    flow.clock.advance(STEP)
    await flow.worker.drain(limit_seconds=10)  # polled once
    await flow.worker.stop()
    flow.new_worker()  # a new process on the same database
    done = await flow.run_until_done(job)
    assert done.state is JobState.DELIVERED
    assert len(flow.sim.created_tasks) == 1
    assert len(flow.presenter.results) == 1
    assert await flow.ledger(job) == ["hold", "charge"]
