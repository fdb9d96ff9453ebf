"""Everything the bot needs at run time, opened once in `main()` and injected."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import aiohttp

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.jobs import JobStore
from bot.providers.base import ProviderHealth, VideoProvider
from bot.providers.factory import build_provider
from bot.quotas import QuotaPeriod, QuotaPolicy
from bot.storage.database import Database
from bot.submission import Submitter

log = logging.getLogger(__name__)

HEALTH_CHECK_TIMEOUT = 20.0


@dataclass
class Services:
    settings: Settings
    db: Database
    http: aiohttp.ClientSession
    provider: VideoProvider
    jobs: JobStore
    clock: Clock
    policy: QuotaPolicy
    submitter: Submitter = field(init=False)
    health: ProviderHealth = field(
        default_factory=lambda: ProviderHealth(None, None, "not checked yet")
    )

    @property
    def profile(self):
        return self.provider.profile

    async def check_provider(self) -> ProviderHealth:
        """Ask the provider whether the key works and the model is available; never raises."""
        try:
            async with asyncio.timeout(HEALTH_CHECK_TIMEOUT):
                self.health = await self.provider.check()
        except TimeoutError:
            self.health = ProviderHealth(None, None, "the provider did not answer in time")
        level = logging.ERROR if self.health.refuses_jobs else logging.INFO
        log.log(
            level,
            "provider %s / model %s: %s",
            self.provider.name,
            self.provider.profile.model,
            self.health.detail,
        )
        return self.health

    async def close(self) -> None:
        await self.provider.close()
        await self.http.close()
        await self.db.close()


async def open_services(settings: Settings, clock: Clock | None = None) -> Services:
    db = await Database.open(settings.database_path)
    http = aiohttp.ClientSession()
    try:
        provider = await build_provider(settings, http)
    except BaseException:
        await http.close()
        await db.close()
        raise
    clock = clock or SystemClock()
    jobs = JobStore(
        db,
        clock,
        provider=provider.name,
        model=provider.profile.model,
        deadline_seconds=settings.job_deadline_seconds,
        max_active_per_member=settings.max_active_jobs_per_member,
    )
    policy = QuotaPolicy(
        settings.default_quota,
        QuotaPeriod(settings.quota_period, ZoneInfo(settings.quota_timezone)),
    )
    return Services(
        settings=settings,
        db=db,
        http=http,
        provider=provider,
        jobs=jobs,
        clock=clock,
        policy=policy,
    )
