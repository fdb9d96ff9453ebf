"""pytest fixtures; import them into a conftest:
``from tests.support.fake_discord.fixtures import *``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from .harness import BotRunner
from .server import FakeDiscord

__all__ = ["bot_runner", "discord_sim"]


@pytest_asyncio.fixture
async def discord_sim() -> AsyncIterator[FakeDiscord]:
    """A default ``FakeDiscord``; build your own for other settings. Fails the test at
    teardown if the simulator itself hit a bug while serving it."""
    async with FakeDiscord() as sim:
        yield sim
    assert not sim.internal_errors, "\n".join(sim.internal_errors)


@pytest_asyncio.fixture
async def bot_runner(tmp_path: Path) -> AsyncIterator[BotRunner]:
    """Starts bot processes (logs under tmp_path) and kills + reaps them after the test.

    List it after ``discord_sim`` so bots die before the simulator closes. With a custom
    simulator, prefer ``async with FakeDiscord(...) as sim, BotRunner(path) as runner:``."""
    async with BotRunner(tmp_path / "bot-logs") as runner:
        yield runner
