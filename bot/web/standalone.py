"""`sora-bot web`: the web gallery and dashboard as a process of its own, on the same database
and media folder as the bot, without a Discord gateway connection or a worker (a deployment
with several bot processes runs one of these)."""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.config import Settings
from bot.web.server import start_web
from bot.wiring import open_services

log = logging.getLogger(__name__)


async def run_web(settings: Settings) -> None:
    services = await open_services(settings)
    try:
        runner = await start_web(settings, services)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
            log.info("stopping")
        finally:
            await runner.cleanup()
    finally:
        await services.close()
