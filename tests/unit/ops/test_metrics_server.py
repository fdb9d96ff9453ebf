"""The daily budget on /metrics, scraped from a bot built from its settings as the running bot
serves it: with DAILY_VIDEO_BUDGET set, the videos accepted today (QUOTA_TIMEZONE's day) next
to the budget; without it, no budget gauge at all."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.config import load_settings
from bot.models import JobState
from bot.ops.liveness import Liveness
from bot.ops.metrics_server import build_app, read_snapshot
from bot.quota.allowance import Allowance, QuotaPeriod
from bot.wiring import Services, open_services
from tests.support.doubles import FakeClock
from tests.support.jobs import new_job
from tests.support.sims.rivya import RivyaSimulator

KEY = "rvya_sk_metrics_budget_test"
TAIPEI = ZoneInfo("Asia/Taipei")
ALLOWANCE = Allowance(10, QuotaPeriod("day", TAIPEI))
BUDGET_GAUGES = {"sora_daily_budget", "sora_daily_budget_used"}


def taipei(day: int, hour: int) -> float:
    return dt.datetime(2026, 3, day, hour, tzinfo=TAIPEI).timestamp()


@asynccontextmanager
async def bot_services(tmp_path: Path, clock: FakeClock, **env: str) -> AsyncIterator[Services]:
    async with RivyaSimulator(KEY) as sim:
        settings = load_settings(
            {
                "DISCORD_TOKEN": "discord-token-value",
                "RIVYA_API_KEY": KEY,
                "RIVYA_BASE_URL": sim.base_url,
                "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
                "QUOTA_TIMEZONE": "Asia/Taipei",
            }
            | env
        )
        services = await open_services(settings, clock)
        try:
            yield services
        finally:
            await services.close()


async def scrape(services: Services, clock: FakeClock) -> dict[str, float]:
    """GET /metrics as the running bot serves it: every sample without labels, by name."""

    async def snapshot() -> metrics.Snapshot:  # what the bot's endpoint reads (cogs/_client.py)
        return await read_snapshot(services.jobs, clock.now(), in_flight=[])

    liveness = Liveness(gateway_connected=lambda: True, worker_alive=lambda: True, db=services.db)
    metrics.DATABASE_COUNTS.snapshot = None  # nothing left from an earlier scrape
    try:
        async with TestClient(TestServer(build_app(snapshot, liveness))) as client:
            answer = await client.get("/metrics")
            assert answer.status == 200
            text = await answer.text()
    finally:
        metrics.DATABASE_COUNTS.snapshot = None
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if not sample.labels:
                found[sample.name] = sample.value
            elif sample.name == "sora_jobs":
                found[f"sora_jobs.{sample.labels['state']}"] = sample.value
    return found


async def accept_the_days_videos(services: Services, clock: FakeClock) -> None:
    """One video late on 9 March and three early on the 10th in Taipei (still the 9th in
    UTC), one of which failed at once (its unit given back)."""
    clock.value = taipei(9, 23)
    await services.jobs.submit(new_job(1), ALLOWANCE)
    clock.value = taipei(10, 1)
    today = [await services.jobs.submit(new_job(user), ALLOWANCE) for user in (2, 3, 4)]
    await services.jobs.finish_unsuccessfully(today[0], JobState.FAILED, "test", "failed")
    clock.value = taipei(10, 7)


async def test_with_a_budget_metrics_show_todays_videos_and_the_budget(tmp_path: Path) -> None:
    clock = FakeClock()
    async with bot_services(tmp_path, clock, DAILY_VIDEO_BUDGET="5") as services:
        await accept_the_days_videos(services, clock)
        scraped = await scrape(services, clock)
    assert scraped["sora_jobs.queued"] == 3  # this scrape read this database
    assert scraped["sora_daily_budget"] == 5
    # Today in Taipei: two held; yesterday's and the failed one's units do not count.
    assert scraped["sora_daily_budget_used"] == 2


async def test_without_a_budget_metrics_show_no_budget_gauge(tmp_path: Path) -> None:
    clock = FakeClock()
    async with bot_services(tmp_path, clock) as services:
        await accept_the_days_videos(services, clock)
        scraped = await scrape(services, clock)
    assert scraped["sora_jobs.queued"] == 3
    assert not BUDGET_GAUGES & set(scraped)
