"""The bot as members meet it: the real bot process (`python -m bot`), the fake Discord and the
Rivya simulator on 127.0.0.1, as in the end-to-end tests (tests/e2e/conftest.py).

Time is compressed by scaling settings: every polling gap is given in real-world seconds and
multiplied by `scale`, so figures divide back by it.
"""

from __future__ import annotations

import asyncio
import math
import re
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import DEFAULT_RIVYA_POLL
from tests.support.fake_discord import (
    BotProcess,
    BotRunner,
    FakeDiscord,
    InteractionHandle,
    default_world,
)
from tests.support.sims.rivya import RivyaSimulator

RIVYA_KEY = "rvya_sk_benchmark_key"
READY_TIMEOUT = 30.0
SORA_TIMEOUT = 120.0
REAL_POLL_GAPS = tuple(float(gap) for gap in DEFAULT_RIVYA_POLL.split(","))
REAL_MIN_POLL = 3.0  # Rivya's guidance: no more often than every few seconds per task
REAL_DENSE_POLL = 5.0  # the default DENSE_POLL_SECONDS
FIXED_POLL = 5.0  # the comparison: a plain check every 5 s


def scaled(gaps: Sequence[float], scale: float) -> str:
    return ",".join(f"{gap * scale:g}" for gap in gaps)


@dataclass
class BotStack:
    discord: FakeDiscord
    sim: RivyaSimulator
    runner: BotRunner
    workdir: Path
    members: list[str]
    env: dict[str, str] = field(default_factory=dict)
    bot: BotProcess | None = None
    database: Path | None = None

    async def start_bot(self, database_name: str = "bot.sqlite3") -> BotProcess:
        """Start a bot process on a database of its own (a fresh one for a new name)."""
        if self.bot is not None:
            await self.bot.terminate()
        self.database = self.workdir / "data" / database_name
        identifies = self.discord.gateway.identifies + 1
        env = self.env | {"DATABASE_PATH": str(self.database)}
        self.bot = await self.runner.start("bot", env, cwd=self.workdir)
        try:
            await self.discord.wait_until_ready(timeout=READY_TIMEOUT, identifies=identifies)
        except TimeoutError as error:
            raise TimeoutError(f"{error}\n--- bot log ---\n{self.bot.log_tail()}") from None
        return self.bot

    async def sora(
        self, user: str, duration: int = 10, prompt: str = "a lighthouse in a storm"
    ) -> int | None:
        """Run /sora as `user`; the accepted job's id, or None if it was refused."""
        return (await self.sora_many([user], duration, prompts=[prompt]))[0]

    async def sora_many(
        self, users: Sequence[str], duration: int = 10, prompts: Sequence[str] | None = None
    ) -> list[int | None]:
        """Run /sora as each of `users` at once (with `prompts`, one each); for each, the
        accepted job's id or None.

        One waiter for all the answers: a waiter per invocation would make the fake Discord
        re-check every one of them on each change, and its own cost would be measured."""
        texts = prompts if prompts is not None else ["a lighthouse in a storm"] * len(users)
        handles = await asyncio.gather(
            *(
                self.discord.invoke(
                    "sora",
                    user=user,
                    options={"prompt": text, "orientation": "landscape", "duration": duration},
                )
                for user, text in zip(users, texts, strict=True)
            )
        )
        pending = list(handles)

        def all_answered() -> bool:
            while pending and _answered(pending[-1]):
                pending.pop()
            return not pending

        await self.discord.wait_for(all_answered, timeout=SORA_TIMEOUT, what="/sora answers")
        return [_job_id(handle) for handle in handles]

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        assert self.database is not None
        with sqlite3.connect(self.database) as conn:
            return conn.execute(sql, params).fetchall()


@asynccontextmanager
async def bot_stack(members: int, env: dict[str, str]) -> AsyncIterator[BotStack]:
    """A fake Discord with `members` ordinary members, the simulator, and a bot runner; the
    bot itself starts with `BotStack.start_bot`. `env` adds to (or overrides) the settings."""
    world = default_world()
    names = [f"member{index:02d}" for index in range(members)]
    for name in names:
        world.add_user(name)
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        async with (
            FakeDiscord(world) as discord,
            RivyaSimulator(RIVYA_KEY, credits=10**9) as sim,
            BotRunner(workdir / "logs") as runner,
        ):
            stack = BotStack(discord, sim, runner, workdir, names)
            stack.env = {
                **discord.launcher_env,
                "DISCORD_TOKEN": discord.token,
                "PROVIDER": "rivya",
                "RIVYA_API_KEY": RIVYA_KEY,
                "RIVYA_BASE_URL": sim.base_url,
                "DEV_GUILD_ID": str(discord.guild_id),
                "SUBMIT_COOLDOWN_SECONDS": "0",
                "LOG_LEVEL": "warning",
                **env,
            }
            try:
                yield stack
            finally:
                await runner.stop_all()


def _answered(handle: InteractionHandle) -> bool:
    original = handle.original
    return original is not None and not original.loading


def _job_id(handle: InteractionHandle) -> int | None:
    """The accepted job's number: a quick /sora is answered with the job's public status
    message ('🎬 Video job #12 …'), a slow one privately ('Job #12 accepted: …'); None for a
    refusal (always private)."""
    reply = handle.original_contents[-1]
    if handle.ephemeral and "accepted" not in reply:
        return None
    digits = re.match(r"\d+", reply.split("#", 1)[1])
    assert digits is not None, reply
    return int(digits.group())


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def fixed_poll(generation: float, gap: float) -> tuple[int, float]:
    """(checks, detection delay) of a plain poll every `gap` seconds for a job that took
    `generation` seconds."""
    checks = max(1, math.ceil(generation / gap))
    return checks, checks * gap - generation
