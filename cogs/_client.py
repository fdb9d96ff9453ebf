"""The discord.py client: loads the cogs, syncs commands, runs the worker and health checks.

It is handed the services `bot/__main__.py` opened; everything Discord-specific starts here."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import Refusal
from bot.i18n import Text
from bot.jobs.worker import Worker
from bot.metrics import Snapshot
from bot.models import ShardSlice
from bot.ops.command_sync import SyncRecords, payload_hash, sync_target
from bot.ops.duties import COMMAND_SYNC_LOCK
from bot.ops.metrics_server import read_snapshot
from bot.storage.outage import is_unreachable
from bot.wiring import Services
from cogs._guard import ServerGuard
from cogs._job_messages import DiscordJobMessages
from cogs._replies import briefly_unavailable, refuse, send_ephemeral
from cogs._translator import CatalogTranslator

log = logging.getLogger(__name__)

EXTENSIONS = ("cogs.sora", "cogs.quota", "cogs.results", "cogs.queue", "cogs.help")
HEALTH_RECHECK_SECONDS = 600
RETENTION_SWEEP_SECONDS = 6 * 3600


class SoraTree(app_commands.CommandTree):
    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """One place for every slash-command error: log it, tell the member kindly."""
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        if isinstance(cause, Refusal):
            await refuse(interaction, cause)  # an answer, not a failure: nothing to log
            return
        message: Text | str
        if isinstance(error, app_commands.NoPrivateMessage) or (
            isinstance(error, app_commands.CheckFailure) and not str(error)
        ):
            message = Text("common.error.not_here")
        elif isinstance(error, app_commands.CheckFailure):
            message = str(error)
        elif is_unreachable(cause):
            message = briefly_unavailable(cause)
        else:
            log.error(
                "command %s failed", getattr(interaction.command, "name", "?"), exc_info=error
            )
            # Always true, even if the error came after the job was accepted.
            message = Text("common.error.unexpected")
        await send_ephemeral(interaction, message)


class SoraBot(commands.Bot):
    def __init__(self, services: Services, **client_options: Any) -> None:
        # Only the events the bot acts on: servers and their channels and roles, and 🔁 on a
        # video. Without the message intents Discord does not send every chat message of every
        # channel, which a busy server would otherwise make the bot receive and parse.
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_reactions = True
        super().__init__(
            **client_options,
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=SoraTree,
        )
        self.services = services
        self.worker: Worker | None = None
        # The one Discord-specific service: every job message, and the worker's chat port.
        self.job_messages = DiscordJobMessages(
            self,
            jobs=services.jobs,
            profile=services.profile,
            delivery=services.delivery,
            alert_channel_id=services.settings.quota_log_channel_id,
            languages=services.languages,
            on_handed_over=self._wake_worker,
            places=services.places,
        )
        self._background: list[asyncio.Task[None]] = []
        # Until Discord has said which servers the bot is in, waiting jobs do not start: one
        # may belong to a server that removed the bot while it was offline.
        self._servers_known = False

    def _wake_worker(self) -> None:
        if self.worker is not None:
            self.worker.wake()

    async def setup_hook(self) -> None:
        # First: the servers and installs the bot serves (cogs/_guard.py), before any event.
        ServerGuard(self.services.settings.allowed_guild_ids).install(self)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.services.attach_alerts(self.job_messages.alert_moderators)
        # Before the sync: the synced commands carry every catalog's translations.
        await self.tree.set_translator(CatalogTranslator())
        self.worker = self.services.worker_for(
            self.job_messages, servers_known=lambda: self._servers_known
        )
        await self.services.clear_media_leftovers()
        async with self.services.db.deployment_lock(*COMMAND_SYNC_LOCK, wait=True):
            # One process at a time: the next one finds the commands already synced.
            await self._sync_commands()
        if self.services.duties is not None:
            duties = asyncio.create_task(self.services.duties.run(), name="duties")
            self._background.append(duties)
        self._background.append(asyncio.create_task(self.worker.run(), name="worker"))
        self._background.append(asyncio.create_task(self._recheck_health(), name="health"))
        self._background.append(asyncio.create_task(self._sweep_media(), name="retention"))

    async def _sync_commands(self) -> None:
        """Sync the command tree only when it differs from what was last synced here."""
        guild_id = self.services.settings.dev_guild_id
        guild = discord.Object(id=guild_id) if guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        assert self.application_id is not None  # known once logged in, before setup_hook
        target = sync_target(guild_id)
        digest = payload_hash(self.application_id, await self._command_payload(guild))
        records = SyncRecords(self.services.db)
        if await records.last_hash(target) == digest:
            log.info("commands unchanged since their last sync (%s); not syncing", target)
            return
        synced = await self.tree.sync(guild=guild)
        await records.record(target, digest, self.services.clock.now())
        if guild is not None:
            log.info("synced %d command(s) to guild %s", len(synced), guild_id)
        else:
            log.info(
                "synced %d global command(s); Discord may take a while to show them", len(synced)
            )

    async def _command_payload(self, guild: discord.abc.Snowflake | None) -> list[dict[str, Any]]:
        """The commands exactly as `tree.sync` sends them, translations included."""
        translator = self.tree.translator
        payload = []
        for command in self.tree.get_commands(guild=guild):
            if translator is not None:
                payload.append(await command.get_translated_payload(self.tree, translator))
            else:
                payload.append(command.to_dict(self.tree))
        return payload

    # -- facts for the health endpoint ---------------------------------------------------------

    def gateway_connected(self) -> bool:
        """Logged in, and the gateway connection is open right now."""
        return not self.is_closed() and self.is_ready() and self.ws is not None and self.ws.open

    def worker_alive(self) -> bool:
        return self.worker is not None and self.worker.is_alive()

    async def metrics_snapshot(self) -> Snapshot:
        in_flight = self.worker.in_flight_ids() if self.worker is not None else []
        return await read_snapshot(self.services.jobs, self.services.clock.now(), in_flight)

    async def _recheck_health(self) -> None:
        # A model or key problem found at start-up may be fixed upstream later.
        while True:
            await asyncio.sleep(HEALTH_RECHECK_SECONDS)
            await self.services.check_provider()

    async def _sweep_media(self) -> None:
        """Bound the kept reference images and videos, now and every few hours."""
        duties = self.services.duties
        while True:
            if duties is not None:
                await duties.wait_until_held()  # one process sweeps for the deployment
            await self.services.sweep_media()
            await asyncio.sleep(RETENTION_SWEEP_SECONDS)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Remember each member's client language, for direct messages later (a write only
        when it changed)."""
        try:
            await self.services.languages.remember_member(
                interaction.user.id, interaction.locale.value
            )
        except Exception as error:
            if not is_unreachable(error):  # an outage is told once, by the worker
                log.exception("could not remember member %s's language", interaction.user.id)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """The bot left a server (or was removed from it): its waiting jobs will never start
        there, so they are cancelled and their units given back (nothing can be posted there
        any more, so nobody is told)."""
        try:
            withdrawn = await self.services.queue.withdraw_from(guild.id)
        except Exception as error:
            if not is_unreachable(error):  # an outage is told once, by the worker
                log.exception("could not cancel the waiting jobs of server %s", guild.id)
            return
        if withdrawn:
            log.info(
                "cancelled %d waiting job(s) of server %s, which the bot left",
                len(withdrawn),
                guild.id,
            )

    async def on_ready(self) -> None:
        log.info(
            "connected as %s (id %s) to %d guild(s)",
            self.user,
            getattr(self.user, "id", "?"),
            len(self.guilds),
        )
        await self._withdraw_from_absent_servers()

    async def _withdraw_from_absent_servers(self) -> None:
        """Cancel the waiting jobs of servers that removed the bot while it was offline (Discord
        does not say so afterwards; they are simply missing from the servers it lists, where
        a server in an outage is still listed), then let waiting jobs start."""
        present = [guild.id for guild in self.guilds]
        self.services.queue.shards = self.shard_slice()
        delay = 1.0
        while True:
            try:
                withdrawn = await self.services.queue.withdraw_absent(present)
                break
            except Exception as error:  # waiting jobs stay put meanwhile; nothing is lost
                if not is_unreachable(error):
                    log.exception("could not check the waiting jobs of servers left")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
        if withdrawn:
            log.info(
                "cancelled %d waiting job(s) of servers that removed the bot while it was "
                "offline; their units are given back",
                len(withdrawn),
            )
        self._servers_known = True
        self._wake_worker()

    def shard_slice(self) -> ShardSlice | None:
        """The shards this process connects, when other processes run the rest; None when
        Discord tells it about every server the bot is in."""
        return None

    async def close(self) -> None:
        if self.worker is not None:
            await self.worker.stop()
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await super().close()


class ShardedSoraBot(SoraBot, commands.AutoShardedBot):
    """The bot running several gateway connections (shards): all of them, or the slice given
    in SHARD_IDS while other processes run the rest."""

    def shard_slice(self) -> ShardSlice | None:
        count = self.shard_count or 1
        if self.shard_ids is None or set(range(count)) <= set(self.shard_ids):
            return None  # all of them, here
        return ShardSlice(count, tuple(sorted(self.shard_ids)))

    def gateway_connected(self) -> bool:
        """Logged in, and every shard of this process has its connection open."""
        return (
            not self.is_closed()
            and self.is_ready()
            and bool(self.shards)
            and all(not shard.is_closed() for shard in self.shards.values())
        )


def make_bot(services: Services) -> SoraBot:
    """The client for the settings: sharded when SHARD_COUNT is set."""
    settings = services.settings
    if settings.shard_count is None:
        return SoraBot(services)
    return ShardedSoraBot(
        services,
        shard_count=settings.shard_count or None,  # 0 (auto): as Discord recommends
        shard_ids=list(settings.shard_ids) if settings.shard_ids is not None else None,
    )
