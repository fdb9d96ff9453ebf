"""Worker throughput: jobs taken from the queue to a posted video, against the Rivya simulator.

Prints jobs per second, provider requests per job, and the most status checks a job can make
under the default schedule before its 30-minute deadline. Its baseline, in the same run: the
provider client alone doing the same work for as many jobs (create, check until done, download,
8 at once), with no database, worker or chat.
Run: .venv/bin/python -m benchmarks.bench_worker [jobs]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bot.clock import SystemClock
from bot.config import DEFAULT_RIVYA_POLL
from bot.jobs.delivery import VideoDelivery
from bot.jobs.worker import Worker
from bot.models import JobState
from bot.providers.base import GenerationRequest
from bot.providers.profiles import RIVYA_SORA_2_PRO
from bot.providers.rivya import RivyaProvider
from bot.quota.allowance import Allowance
from bot.storage.database import open_database
from bot.video.destinations import Destinations
from bot.video.download import VideoDownloader
from bot.video.fitting import VideoFitter
from bot.video.shelf import VideoShelf
from tests.support.doubles import RecordingChat
from tests.support.jobs import DAY, make_store, new_job
from tests.support.sims.rivya import RivyaSimulator

IN_FLIGHT = 8
POLL_GAP = 0.01
UPLOAD_LIMIT = 10 * 1024 * 1024
POSTED_TIMEOUT = 120.0


def polls_within(deadline: float, gaps: tuple[float, ...]) -> int:
    elapsed, polls = 0.0, 0
    while True:
        elapsed += gaps[min(polls, len(gaps) - 1)]
        if elapsed > deadline:
            return polls
        polls += 1


async def provider_alone(provider: RivyaProvider, downloader: VideoDownloader, count: int) -> float:
    """Seconds the provider client takes, alone, to create `count` videos, check each until it
    is done (every `POLL_GAP` s) and download it, `IN_FLIGHT` at once."""
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def one(index: int) -> None:
        async with slots:
            task_id = await provider.create(
                GenerationRequest(
                    idempotency_key=f"baseline-{index}",
                    model=RIVYA_SORA_2_PRO.model,
                    prompt=f"prompt {index}",
                    orientation="landscape",
                    duration=10,
                    quality=None,
                    toggles={},
                    reference_url=None,
                    image=None,
                )
            )
            while (status := await provider.status(task_id)).state != "succeeded":
                assert status.state in ("queued", "processing"), status
                await asyncio.sleep(POLL_GAP)
            assert status.video_url is not None
            downloaded = await downloader.fetch(status.video_url, UPLOAD_LIMIT)
            downloaded.path.unlink()

    started = time.perf_counter()
    await asyncio.gather(*(one(index) for index in range(count)))
    return time.perf_counter() - started


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = await open_database(Path(folder) / "bench.sqlite3")
        clock = SystemClock()
        store = make_store(db, clock, max_active_per_member=count)
        async with (
            RivyaSimulator("key", credits=2 * 75 * count, media_size=300_000) as sim,
            aiohttp.ClientSession() as session,
        ):
            provider = RivyaProvider(
                base_url=sim.base_url,
                api_key="key",
                profile=RIVYA_SORA_2_PRO,
                poll_seconds=(POLL_GAP,),
                timeout_seconds=10,
                session=session,
            )
            presenter = RecordingChat()
            downloader = VideoDownloader(Path(folder) / "dl", 10, Destinations(sim.base_url))
            worker = Worker(
                jobs=store,
                provider=provider,
                chat=presenter,
                delivery=VideoDelivery(
                    jobs=store,
                    shelf=VideoShelf(Path(folder) / "videos", Path(folder) / "dl", VideoFitter()),
                    downloader=downloader,
                    clock=clock,
                    upload_limit_cap=UPLOAD_LIMIT,
                ),
                clock=clock,
                status_edit_interval=0,
                concurrency=IN_FLIGHT,
                idle_wait=POLL_GAP,
            )
            allowance = Allowance(count, DAY)
            for i in range(count):
                await store.submit(
                    new_job(3, channel_id=2, prompt=f"prompt {i}", quality=None), allowance
                )
            started = time.perf_counter()
            runner = asyncio.create_task(worker.run())
            try:
                await presenter.wait_for_results(count, timeout=POSTED_TIMEOUT)
            except TimeoutError:
                failed = await db.fetch_all(
                    "SELECT id, state, error_message FROM jobs WHERE state <> ?",
                    (JobState.DELIVERED.value,),
                )
                raise SystemExit(
                    f"only {len(presenter.results)} of {count} videos posted in "
                    f"{POSTED_TIMEOUT:g} s; jobs not delivered: {[tuple(row) for row in failed]}"
                ) from None
            elapsed = time.perf_counter() - started
            await worker.stop()
            runner.cancel()
            delivered = await db.fetch_one(
                "SELECT COUNT(*) FROM jobs WHERE state = ?", (JobState.DELIVERED.value,)
            )
            assert delivered is not None
            requests = len(sim.requests)
            alone = await provider_alone(provider, downloader, count)
            await downloader.close()
        await db.close()
    print(
        f"{count} jobs delivered ({delivered[0]} in the database) in {elapsed:.2f} s: "
        f"{count / elapsed:.1f} jobs/s with 8 in flight"
    )
    print(
        f"provider requests per job: {requests / count:.1f} "
        f"(create + {sim.polls_until_done} polls to finish + the video download)"
    )
    gaps = tuple(float(g) for g in DEFAULT_RIVYA_POLL.split(","))
    print(
        f"most status checks one job can make before the 30-minute deadline with the "
        f"default schedule: {polls_within(1800, gaps)}"
    )
    print(
        f"baseline, the provider client alone (create, check until done, download; "
        f"{IN_FLIGHT} at once, no database, worker or chat): {count / alone:.1f} jobs/s; "
        f"the worker reaches {alone / elapsed:.0%} of it"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100))
