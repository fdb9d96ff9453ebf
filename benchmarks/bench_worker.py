"""Worker throughput: jobs taken from the queue to a posted video, against the Rivya simulator.

Prints jobs per second, provider requests per job, and the most status checks a job can make
under the default schedule before its 30-minute deadline.
Run: .venv/bin/python -m benchmarks.bench_worker [jobs]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

from bot.clock import SystemClock
from bot.config import DEFAULT_RIVYA_POLL
from bot.jobs.store import JobStore, NewJob
from bot.jobs.worker import Worker
from bot.models import Actor, JobOptions, JobState
from bot.providers.profiles import RIVYA_SORA_2_PRO
from bot.providers.rivya import RivyaProvider
from bot.quota.allowance import Allowance, QuotaPeriod
from bot.storage.database import open_database
from bot.video.download import VideoDownloader
from bot.video.fitting import VideoFitter
from bot.video.shelf import VideoShelf
from tests.support.doubles import RecordingPresenter
from tests.support.sims.rivya import RivyaSimulator


class CountingPresenter(RecordingPresenter):
    """Sets `all_posted` once `target` results have been posted."""

    def __init__(self, target: int) -> None:
        super().__init__()
        self.target = target
        self.all_posted = asyncio.Event()

    async def post_result(self, job, video, text):  # type: ignore[no-untyped-def]
        message_id = await super().post_result(job, video, text)
        if len(self.results) >= self.target:
            self.all_posted.set()
        return message_id


def polls_within(deadline: float, gaps: tuple[float, ...]) -> int:
    elapsed, polls = 0.0, 0
    while True:
        elapsed += gaps[min(polls, len(gaps) - 1)]
        if elapsed > deadline:
            return polls
        polls += 1


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = await open_database(Path(folder) / "bench.sqlite3")
        clock = SystemClock()
        store = JobStore(
            db,
            clock,
            provider="rivya",
            model="sora-2-pro",
            deadline_seconds=1800,
            max_active_per_member=count,
        )
        async with (
            RivyaSimulator("key", credits=75 * count, media_size=300_000) as sim,
            aiohttp.ClientSession() as session,
        ):
            provider = RivyaProvider(
                base_url=sim.base_url,
                api_key="key",
                profile=RIVYA_SORA_2_PRO,
                poll_seconds=(0.01,),
                timeout_seconds=10,
                session=session,
            )
            presenter = CountingPresenter(count)
            worker = Worker(
                jobs=store,
                provider=provider,
                presenter=presenter,
                downloader=VideoDownloader(session, Path(folder) / "dl", 10),
                shelf=VideoShelf(Path(folder) / "videos", Path(folder) / "dl", VideoFitter()),
                clock=clock,
                upload_limit_cap=10 * 1024 * 1024,
                status_edit_interval=0,
                concurrency=8,
                idle_wait=0.01,
            )
            allowance = Allowance(count, QuotaPeriod("day", ZoneInfo("UTC")))
            for i in range(count):
                await store.submit(
                    NewJob(Actor(1, 3), 2, f"prompt {i}", JobOptions("landscape", 10)), allowance
                )
            started = time.perf_counter()
            runner = asyncio.create_task(worker.run())
            await asyncio.wait_for(presenter.all_posted.wait(), timeout=120)
            elapsed = time.perf_counter() - started
            await worker.stop()
            runner.cancel()
            delivered = await db.fetch_one(
                "SELECT COUNT(*) FROM jobs WHERE state = ?", (JobState.DELIVERED.value,)
            )
            requests = len(sim.requests)
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


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100))
