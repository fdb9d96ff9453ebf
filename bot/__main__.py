"""`python -m bot` / `sora-bot`: the command line (bot/cli.py), and running the bot."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.ops.stop_signal import (
    StopRequested,
    StopSignal,
    exit_on_sigterm_until_running,
)

if TYPE_CHECKING:
    from bot.ops.liveness import Liveness
    from bot.ops.liveness_file import LivenessReporter
    from bot.wiring import Services
    from cogs._client import SoraBot


def main() -> None:
    # First of all: as PID 1 in a container, SIGTERM without a handler would be ignored.
    exit_on_sigterm_until_running()
    from bot.cli import main as command_line

    sys.exit(command_line(sys.argv[1:], run_bot=run, discord_api=_discord_api))


def _discord_api() -> str:
    from cogs._startup import discord_api_base

    return discord_api_base()


async def run(settings: Settings) -> None:
    from bot.ops.liveness_file import LivenessReporter
    from bot.ops.startup_failures import explain

    def failure_line(error: BaseException) -> str | None:
        failure = explain(error, settings)
        return None if failure is None else failure.line

    liveness = LivenessReporter(settings.liveness_file, failure_line)
    stop = StopSignal(lambda: liveness.phase)
    stop.install()  # before anything that may wait: each start-up phase ends on SIGTERM
    async with liveness:
        # A stop during start-up is not a failure: the process exits with status 0.
        with contextlib.suppress(StopRequested):
            await _start_and_run(settings, stop, liveness)


async def _start_and_run(settings: Settings, stop: StopSignal, liveness: LivenessReporter) -> None:
    # Imported here so that a settings error is reported without loading discord.py.
    from bot.ops.liveness import Liveness
    from bot.ops.startup_failures import require_reachable
    from bot.wiring import open_services
    from cogs._client import make_bot

    liveness.starting("opening the database and reading the model's profile from the video service")
    services = await stop.unless_requested(open_services(settings))
    try:
        liveness.starting("checking the video service (key, credits and model)")
        require_reachable(settings, await stop.unless_requested(services.check_provider()))
        bot = make_bot(services)
        liveness.starting("connecting to Discord")
        probe = Liveness(
            gateway_connected=bot.gateway_connected, worker_alive=bot.worker_alive, db=services.db
        )
        async with bot, _metrics_endpoint(settings, bot, probe), _web(settings, services):
            liveness.watch(probe)
            await _run_until_stopped(bot, settings, stop)
    finally:
        await services.close()


async def _run_until_stopped(bot: SoraBot, settings: Settings, stop: StopSignal) -> None:
    from cogs._startup import discord_startup_failure

    runner = asyncio.create_task(bot.start(settings.discord_token.reveal()))
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    await bot.close()
    if runner not in done:
        # Stopped while still logging in or connecting: nothing of that is needed any more.
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        return
    try:
        runner.result()  # re-raise a login failure
    except Exception as error:
        failure = discord_startup_failure(error)
        if failure is None:
            raise
        raise failure from error


@contextlib.asynccontextmanager
async def _metrics_endpoint(
    settings: Settings, bot: SoraBot, liveness: Liveness
) -> AsyncIterator[None]:
    """`/metrics` and `/healthz` while the bot runs, when METRICS_PORT is set."""
    if settings.metrics_port is None:
        yield
        return
    from bot.ops.metrics_server import start_metrics_server

    runner = await start_metrics_server(
        settings.metrics_host, settings.metrics_port, bot.metrics_snapshot, liveness
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
