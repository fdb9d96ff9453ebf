"""`python -m bot` / `sora-bot`: the command line (bot/cli.py), and running the bot."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.ops.startup_failures import require_reachable

if TYPE_CHECKING:
    from bot.wiring import Services
    from cogs._client import SoraBot

log = logging.getLogger("bot")


def main() -> None:
    from bot.cli import main as command_line

    sys.exit(command_line(sys.argv[1:], run_bot=run, discord_api=_discord_api))


def _discord_api() -> str:
    from cogs._startup import discord_api_base

    return discord_api_base()


async def run(settings: Settings) -> None:
    # Imported here so that a settings error is reported without loading discord.py.
    from bot.wiring import open_services
    from cogs._client import make_bot
    from cogs._startup import discord_startup_failure

    services = await open_services(settings)
    try:
        require_reachable(settings, await services.check_provider())
        bot = make_bot(services)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with bot, _metrics_endpoint(settings, bot, services), _web(settings, services):
            runner = asyncio.create_task(bot.start(settings.discord_token.reveal()))
            stopper = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if stopper in done:
                log.info("stopping")
            await bot.close()
            stopper.cancel()
            if runner in done:
                try:
                    runner.result()  # re-raise a login failure
                except Exception as error:
                    failure = discord_startup_failure(error)
                    if failure is None:
                        raise
                    raise failure from error
    finally:
        await services.close()


@contextlib.asynccontextmanager
async def _metrics_endpoint(
    settings: Settings, bot: SoraBot, services: Services
) -> AsyncIterator[None]:
    """`/metrics` and `/healthz` while the bot runs, when METRICS_PORT is set."""
    if settings.metrics_port is None:
        yield
        return
    from bot.ops.liveness import HealthCheck
    from bot.ops.metrics_server import start_metrics_server

    health = HealthCheck(
        gateway_connected=bot.gateway_connected, worker_alive=bot.worker_alive, db=services.db
    )
    runner = await start_metrics_server(
        settings.metrics_host, settings.metrics_port, bot.metrics_snapshot, health
    )
    try:
        yield
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def _web(settings: Settings, services: Services) -> AsyncIterator[None]:
    """The web gallery and dashboard while the bot runs, when WEB_PORT is set."""
    if settings.web is None:
        yield
        return
    from bot.web.server import start_web

    runner = await start_web(settings, services)
    try:
        yield
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    main()
