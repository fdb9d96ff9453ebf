"""`python -m bot` / `sora-bot`: load settings, open resources, run until stopped."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

from dotenv import load_dotenv

from bot.config import Settings, SettingsError, load_settings
from bot.logging_setup import configure_logging
from bot.providers.factory import ProfileUnavailable

log = logging.getLogger("bot")

EXIT_BAD_SETTINGS = 2


def main() -> None:
    # The working directory's .env, as documented (the default search starts from this file).
    load_dotenv(Path(".env"))
    try:
        settings = load_settings()
    except SettingsError as error:
        for problem in error.problems:
            print(f"config error: {problem}", file=sys.stderr)
        sys.exit(EXIT_BAD_SETTINGS)
    configure_logging(settings.log_level, settings.secrets)
    try:
        asyncio.run(run(settings))
    except KeyboardInterrupt:
        pass
    except ProfileUnavailable as error:
        log.error("%s", error)
        sys.exit(1)


async def run(settings: Settings) -> None:
    # Imported here so that a settings error is reported without loading discord.py.
    from bot.services import open_services
    from cogs._client import SoraBot

    services = await open_services(settings)
    try:
        await services.check_provider()
        bot = SoraBot(services)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with bot:
            runner = asyncio.create_task(bot.start(settings.discord_token.reveal()))
            stopper = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if stopper in done:
                log.info("stopping")
            await bot.close()
            stopper.cancel()
            if runner in done:
                runner.result()  # re-raise a login failure
    finally:
        await services.close()


if __name__ == "__main__":
    main()
