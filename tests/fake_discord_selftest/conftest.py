"""Fixtures for the simulator's self-tests: a simulator plus the demo bot running against it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import pytest
import pytest_asyncio

from tests.support.fake_discord import BotProcess, BotRunner, FakeDiscord
from tests.support.fake_discord.fixtures import bot_runner, discord_sim

__all__ = ["bot_runner", "discord_sim", "shared"]

DEMO_MODULE = "tests.fake_discord_selftest.demo_bot"


def demo_env(sim: FakeDiscord) -> Mapping[str, str]:
    return {**sim.launcher_env, "DEMO_TOKEN": sim.token, "DEMO_GUILD_ID": str(sim.guild_id)}


async def start_demo(runner: BotRunner, sim: FakeDiscord) -> BotProcess:
    process = await runner.start(DEMO_MODULE, demo_env(sim))
    try:
        await sim.wait_until_ready(timeout=15)
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}\n--- bot log ---\n{process.log_tail()}") from None
    return process


class Shared:
    """One simulator and one demo bot for a whole test module (starting a bot costs ~1 s)."""

    def __init__(self, sim: FakeDiscord, bot: BotProcess) -> None:
        self.sim = sim
        self.bot = bot


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shared]:
    log_dir = tmp_path_factory.mktemp("demo-bot")
    async with FakeDiscord(ack_window=1.0) as sim, BotRunner(log_dir) as runner:
        bot = await start_demo(runner, sim)
        yield Shared(sim, bot)
