"""`sora-bot web`: the web gallery and dashboard as a process of its own, on the same database
and media folder as the bot, without a Discord gateway connection or a worker (a deployment
with several bot processes runs one of these).

Like `sora-bot run`, it stops cleanly on SIGTERM in every phase of its start (the database, the
video service's model profile, the web server) and keeps its liveness in LIVENESS_FILE for the
container's health check: its own file, not a bot's (the Compose file sets one)."""

from __future__ import annotations

import contextlib

from bot.config import Settings
from bot.ops.liveness import WebLiveness
from bot.ops.liveness_file import LivenessReporter
from bot.ops.startup_failures import explain
from bot.ops.stop_signal import StopRequested, StopSignal
from bot.web.server import start_web
from bot.wiring import open_services

SERVING = "starting the web server"


async def run_web(settings: Settings) -> None:
    def failure_line(error: BaseException) -> str | None:
        failure = explain(error, settings)
        return None if failure is None else failure.line

    liveness = LivenessReporter(settings.liveness_file, failure_line)
    stop = StopSignal(lambda: liveness.phase)
    stop.install()  # before anything that may wait
    async with liveness:
        # A stop during start-up is not a failure: the process exits with status 0.
        with contextlib.suppress(StopRequested):
            await _serve_until_stopped(settings, stop, liveness)


async def _serve_until_stopped(
    settings: Settings, stop: StopSignal, liveness: LivenessReporter
) -> None:
    liveness.starting("opening the database and reading the model's profile from the video service")
    services = await stop.unless_requested(open_services(settings))
    try:
        liveness.starting(SERVING)
        runner = await stop.unless_requested(start_web(settings, services))
        try:
            serving = WebLiveness(serving=lambda: bool(runner.addresses), db=services.db)
            liveness.watch(serving, until_alive=SERVING)
            await stop.wait()
        finally:
            await runner.cleanup()
    finally:
        await services.close()
