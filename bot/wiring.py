"""Everything the bot needs at run time, opened once in `main()` and injected.

Every service that is not the chat platform's is built here: the database, the provider, the
job store, quotas, moderation, the downloader, the kept videos, the delivery path, video
removal, and the worker once it is given the chat adapter (`worker_for`). cogs/_client.py only
makes the Discord side and hands it in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import aiohttp

from bot import metrics
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.i18n import DEFAULT_LOCALE, Text, render
from bot.jobs.admission import Submitter
from bot.jobs.chat_port import ChatPort
from bot.jobs.delivery import VideoDelivery
from bot.jobs.queue import SlotCaps
from bot.jobs.queue_places import QueuePlaces
from bot.jobs.queue_store import QueueStore
from bot.jobs.schedule import PollPlan
from bot.jobs.show_cooldown import ShowCooldown
from bot.jobs.store import JobStore, Lease
from bot.jobs.timings import CompletionTimes, PollSchedule
from bot.jobs.worker import Worker
from bot.logging_setup import Scrubber
from bot.moderation.languages import Languages
from bot.moderation.removal import VideoRemoval
from bot.moderation.service import ModerationService
from bot.ops.duties import DeploymentDuties
from bot.providers.base import ProviderHealth, VideoProvider, probe_provider
from bot.providers.credit_watch import CreditWatch
from bot.providers.factory import build_provider
from bot.providers.profiles import ModelProfile
from bot.quota.allowance import QuotaDefaults, QuotaPolicy
from bot.quota.budget import DailyBudget
from bot.storage.clock import DatabaseClock
from bot.storage.database import Database, open_database
from bot.video.destinations import Destinations
from bot.video.download import VideoDownloader
from bot.video.fitting import VideoFitter
from bot.video.retention import prune_references
from bot.video.sandbox import EncoderLimits
from bot.video.shelf import VideoShelf
from bot.video.space import MediaSpace, SpaceNews

log = logging.getLogger(__name__)

MiB = 1024 * 1024
# Longest wait for one moderator alert; it is only a notice, start-up must not hang on it.
ALERT_TIMEOUT = 30.0

AlertSink = Callable[[Text], Awaitable[None]]
# Processes sharing MEDIA_DIR: a partial download or compression older than this is a crash's
# leftover (a download takes 10 minutes at most; a compression TRANSCODE_TIMEOUT_SECONDS, then
# its upload).
SHARED_LEFTOVER_SECONDS = 3600.0
# A new job waits this long for its status message before the worker takes it anyway (the
# command hands it over at once; this only matters if the bot stopped in between).
ACCEPT_GRACE_SECONDS = 30.0


@dataclass
class Services:
    settings: Settings
    db: Database
    http: aiohttp.ClientSession
    provider: VideoProvider
    jobs: JobStore
    clock: Clock
    policy: QuotaPolicy
    moderation: ModerationService
    schedule: PollSchedule
    languages: Languages
    # Several processes may share a PostgreSQL database: the worker leases what it moves.
    lease: Lease | None = None
    duties: DeploymentDuties | None = None  # None: this process does them (tests)
    submitter: Submitter = field(init=False)
    # The servers' queues: where each waiting job stands, and the store that starts them.
    queue: QueueStore = field(init=False)
    places: QueuePlaces = field(init=False)
    show_cooldown: ShowCooldown = field(init=False)
    health: ProviderHealth = field(
        default_factory=lambda: ProviderHealth(None, None, "not checked yet")
    )
    credit_watch: CreditWatch = field(default_factory=lambda: CreditWatch(None))
    # Set once the chat client can post; alerts raised before that wait in `pending_alerts`.
    alert_moderators: AlertSink | None = None
    pending_alerts: list[Text] = field(default_factory=list)
    _alerting: set[asyncio.Task[None]] = field(default_factory=set)  # kept until posted
    # Finished videos: downloaded, kept with their compressed copies, and posted one way.
    downloader: VideoDownloader = field(init=False)
    shelf: VideoShelf = field(init=False)
    delivery: VideoDelivery = field(init=False)
    # Deleting a finished video for good, for the Delete button and the web alike.
    removal: VideoRemoval = field(init=False)

    @property
    def profile(self) -> ModelProfile:
        return self.provider.profile

    async def check_provider(self) -> ProviderHealth:
        """Ask the provider whether the key works and the model is available; never raises."""
        self.health = await probe_provider(self.provider)
        level = logging.ERROR if self.health.refuses_jobs else logging.INFO
        log.log(
            level,
            "provider %s / model %s: %s",
            self.provider.name,
            self.provider.profile.model,
            self.health.detail,
        )
        if self.health.credits is not None:
            metrics.credits_left(self.provider.name, self.health.credits)
        notice = self.credit_watch.observe(self.health.credits)
        if notice is not None:
            log.warning("%s", render(notice, DEFAULT_LOCALE))
            await self._alert(notice)
        return self.health

    async def attach_alerts(self, sink: AlertSink) -> None:
        """Route moderator alerts to `sink` from now on, and deliver those raised before."""
        self.alert_moderators = sink
        pending, self.pending_alerts = self.pending_alerts, []
        for text in pending:
            await self._alert(text)

    def alert_soon(self, text: Text) -> None:
        """Alert the moderators without waiting for it: a member's request raised it, and it
        was claimed once for the deployment (the daily budget), so this process posts it."""
        task = asyncio.get_running_loop().create_task(self._post_alert(text))
        self._alerting.add(task)
        task.add_done_callback(self._alerting.discard)

    async def _alert(self, text: Text) -> None:
        if self.duties is not None and not self.duties.held:
            return  # the process with the deployment's duties alerts (each one logs it)
        await self._post_alert(text)

    async def _post_alert(self, text: Text) -> None:
        if self.alert_moderators is None:
            self.pending_alerts.append(text)
            return
        try:
            async with asyncio.timeout(ALERT_TIMEOUT):
                await self.alert_moderators(text)
        except Exception as error:  # a notice; the log line above already has it
            log.warning("could not alert the moderators: %s", error)

    def worker_for(
        self, chat: ChatPort, servers_known: Callable[[], bool] = lambda: True
    ) -> Worker:
        """The background worker, posting through `chat` (the chat platform's adapter).
        Waiting jobs start only once `servers_known`: the chat platform has said which servers
        the bot is in, and those it was removed from meanwhile had their waiting jobs cancelled."""
        settings = self.settings
        return Worker(
            jobs=self.jobs,
            provider=self.provider,
            chat=chat,
            delivery=self.delivery,
            clock=self.clock,
            status_edit_interval=settings.status_edit_interval_seconds,
            concurrency=settings.worker_concurrency,
            poll_concurrency=settings.poll_concurrency,
            schedule=self.schedule,
            on_provider_unusable=self.provider_unusable,
            scrub=Scrubber(settings.secrets),
            lease=self.lease,
            queue=self.queue,
            places=self.places,
            may_start=lambda: servers_known() and not self.health.refuses_jobs,
            keeps_board=lambda: self.duties is None or self.duties.held,
        )

    async def clear_media_leftovers(self) -> None:
        """Remove the partial downloads and compressions an earlier run left (call before any
        delivery starts)."""
        # Processes sharing a database share MEDIA_DIR: only what none of them can still be
        # downloading or compressing is a leftover.
        older_than = 0.0
        if self.db.shared:
            transcode = self.settings.transcode_timeout_seconds
            older_than = max(SHARED_LEFTOVER_SECONDS, 2 * transcode)
        leftovers = await asyncio.to_thread(self.downloader.clear_leftovers, older_than)
        if leftovers:
            log.info("removed %d partial download(s) left by an earlier run", leftovers)
        stopped_encodes = await asyncio.to_thread(self.shelf.clear_leftovers, older_than)
        if stopped_encodes:
            log.info("removed %d unfinished compression(s) left by an earlier run", stopped_encodes)

    async def sweep_media(self) -> None:
        """Bound the kept reference images (see README: re-runs) and videos with their
        compressed copies (/sora-show) by age and size, once; never raises."""
        settings = self.settings
        try:
            in_use = await self.jobs.image_paths_in_use()
            await asyncio.to_thread(
                prune_references,
                settings.media_dir / "references",
                max_age_seconds=settings.image_retention_days * 86_400,
                max_total_bytes=settings.media_max_bytes,
                protected=in_use,
            )
        except Exception:
            log.exception("reference image sweep failed; trying again later")
        await self.bound_kept_videos()

    async def bound_kept_videos(self) -> None:
        """Bound the kept videos by age and size (the work in progress counted), and keep the
        disk above its floor; tell the operators when it goes below the floor, or is back
        above it. Run by the sweep and after each delivered video; never raises."""
        space = self.shelf.space
        news = space.observe() if space is not None else None
        settings = self.settings
        try:
            delivering = await self.jobs.video_paths_in_use()
            await asyncio.to_thread(
                self.shelf.prune,
                max_age_seconds=settings.video_retention_days * 86_400,
                max_total_bytes=settings.video_max_bytes,
                protected=delivering,
            )
        except Exception:
            log.exception("kept video sweep failed; trying again later")
        if space is not None and news is not None:
            key = "alerts.disk_low" if news is SpaceNews.LOW else "alerts.disk_recovered"
            free, floor = space.free() // MiB, space.floor_bytes // MiB
            await self._alert(Text(key, free=f"{free:,}", floor=f"{floor:,}"))

    def provider_unusable(self, health: ProviderHealth) -> bool:
        """Record a problem the worker met mid-run; True if it is new (so alert once).

        The periodic check replaces it with a fresh reading."""
        is_new = not self.health.refuses_jobs
        self.health = health
        return is_new

    async def close(self) -> None:
        await self.provider.close()
        await self.downloader.close()
        await self.http.close()
        await self.db.close()


async def open_services(settings: Settings, clock: Clock | None = None) -> Services:
    db = await open_database(settings.database_url)
    http = aiohttp.ClientSession()
    try:
        provider = await build_provider(settings, http)
    except BaseException:
        await http.close()
        await db.close()
        raise
    if clock is None:
        clock = SystemClock()
        if db.shared:
            # Processes sharing the database keep its time, whatever their machines' clocks.
            clock = DatabaseClock(db)
            await clock.sync()
    jobs = JobStore(
        db,
        clock,
        provider=provider.name,
        model=provider.profile.model,
        deadline_seconds=settings.job_deadline_seconds,
        caps=SlotCaps(
            per_member=settings.max_active_jobs_per_member,
            per_guild=settings.max_active_jobs_per_guild,
            provider=settings.provider_max_active_jobs,
            waiting_per_member=settings.max_queued_jobs_per_member,
            waiting_per_guild=settings.max_queued_jobs_per_guild,
        ),
        accept_grace_seconds=ACCEPT_GRACE_SECONDS,
        daily_budget=(
            DailyBudget(settings.daily_video_budget, ZoneInfo(settings.quota_timezone))
            if settings.daily_video_budget is not None
            else None
        ),
    )
    policy = QuotaPolicy(
        db,
        QuotaDefaults(
            limit=settings.default_quota,
            period=settings.quota_period,
            timezone=ZoneInfo(settings.quota_timezone),
            cooldown_seconds=settings.submit_cooldown_seconds,
        ),
    )
    moderation = ModerationService(
        db=db,
        clock=clock,
        jobs=jobs,
        policy=policy,
        mod_role_ids=settings.mod_role_ids,
        max_quota_limit=settings.max_quota_limit,
    )
    services = Services(
        settings=settings,
        db=db,
        http=http,
        provider=provider,
        jobs=jobs,
        clock=clock,
        policy=policy,
        moderation=moderation,
        credit_watch=CreditWatch(settings.credit_warning),
        duties=DeploymentDuties(db),
        lease=(
            Lease.for_this_process(settings.job_lease_seconds)
            if db.engine == "postgresql"
            else None  # SQLite: one process, as always
        ),
        languages=Languages(db, clock),
        schedule=PollSchedule(
            PollPlan(provider.poll_seconds, settings.min_poll_gap, settings.dense_poll_seconds),
            CompletionTimes(db, clock),
            provider.name,
        ),
    )
    services.queue = QueueStore(jobs, settings.allowed_guild_ids)
    services.places = QueuePlaces(services.queue, clock, services.schedule)
    services.show_cooldown = ShowCooldown(settings.show_cooldown_seconds, clock)
    jobs.on_budget_alert = services.alert_soon
    services.downloader = VideoDownloader(
        settings.media_dir / "tmp",
        settings.provider_timeout_seconds,
        Destinations(settings.provider_base_url),
    )
    # One fitter for the whole bot: its bound on encodes at once is the machine's.
    fitter = VideoFitter(
        concurrency=settings.transcode_concurrency,
        timeout_seconds=settings.transcode_timeout_seconds,
        limits=EncoderLimits(
            memory_bytes=settings.encoder_memory_bytes,
            cpu_seconds=settings.encoder_cpu_seconds,
            output_margin=settings.encoder_output_margin,
            max_side=settings.max_video_side,
            max_seconds=settings.max_video_seconds,
        ),
    )
    services.shelf = VideoShelf(
        settings.media_dir / "videos",
        settings.media_dir / "tmp",
        fitter,
        MediaSpace(settings.media_dir, settings.media_min_free_bytes),
    )
    services.delivery = VideoDelivery(
        jobs=jobs,
        shelf=services.shelf,
        downloader=services.downloader,
        clock=clock,
        upload_limit_cap=settings.upload_limit_cap_bytes,
        upkeep=services.bound_kept_videos,
    )
    services.removal = VideoRemoval(
        jobs=jobs, shelf=services.shelf, moderators=moderation.moderators
    )
    # Built last: its health source reads `services.health`, which checks keep updating.
    services.submitter = Submitter(
        jobs=jobs,
        policy=policy,
        profile=provider.profile,
        media_dir=settings.media_dir,
        health=lambda: services.health,
        slot_estimate=services.schedule.first_free_slot_at,
    )
    return services
