"""Two bot processes on one PostgreSQL database, one of them on a machine whose clock is a
minute ahead: each job is still moved by one process at a time, so every video is made once,
posted once and charged once."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import migrate
from tests.e2e.conftest import (
    READY_TIMEOUT,
    RIVYA_KEY,
    UNIFIED_KEY,
    Stack,
    answered_with_status,
    sora_request,
)
from tests.support.fake_discord import BotProcess, BotRunner, FakeDiscord
from tests.support.postgres_cluster import Databases
from tests.support.sims.rivya import RivyaSimulator
from tests.support.sims.unified import UnifiedVideoSimulator
from tests.support.skewed_clock import OFFSET_ENV

AHEAD_SECONDS = "60"
MEMBERS = ("alice", "bob", "carol", "dana", "mod")


async def start_two(stack: Stack, runner: BotRunner) -> list[BotProcess]:
    """Shard 0 and shard 1 of 2; the process without the guild runs a minute ahead."""
    owner = (stack.discord.guild_id >> 22) % 2
    processes = []
    for shard in (0, 1):
        env = stack.env() | {"SHARD_COUNT": "2", "SHARD_IDS": str(shard)}
        if shard == owner:
            processes.append(await runner.start("bot", env, cwd=stack.workdir))
        else:
            env |= {OFFSET_ENV: AHEAD_SECONDS}
            module = "tests.support.skewed_clock"
            processes.append(await runner.start(module, env, cwd=stack.workdir))
    stack.bot = processes[owner]
    try:
        await stack.discord.wait_until_ready(timeout=READY_TIMEOUT, identifies=2)
    except TimeoutError as error:
        logs = "\n".join(p.log_tail() for p in processes)
        raise TimeoutError(f"{error}\n{logs}") from None
    return processes


async def submit_all(stack: Stack, count: int) -> list[int]:
    handles = await asyncio.gather(
        *(
            stack.discord.invoke(
                "sora", user=MEMBERS[n % len(MEMBERS)], options=sora_request(stack)
            )
            for n in range(count)
        )
    )
    for handle in handles:
        await handle.wait_original(timeout=20)
    return [answered_with_status(stack, handle) for handle in handles]


def logs_of(processes: list[BotProcess]) -> str:
    return "\n".join(process.log_text() for process in processes)


@pytest.mark.timeout(180)
async def test_a_process_a_minute_ahead_takes_no_job_from_another(
    tmp_path: Path, postgres: Databases
) -> None:
    # The unified API cannot say whether a create it did not hear back from started a task:
    # a job taken over mid-create fails, and its paid task runs on untracked.
    async with (
        FakeDiscord() as discord,
        UnifiedVideoSimulator(UNIFIED_KEY, polls_until_done=4) as provider,
        BotRunner(tmp_path / "logs") as runner,
    ):
        provider.inject("create", "slow", delay=1.0, times=None)
        stack = Stack(discord, provider, runner, tmp_path, "unified")
        stack.database_url = postgres.migrated(migrate)
        stack.env_overrides |= {"MAX_ACTIVE_JOBS_PER_MEMBER": "5", "DEFAULT_QUOTA": "5"}
        processes = await start_two(stack, runner)
        jobs = await submit_all(stack, 5)
        for job_id in jobs:
            await stack.wait_finished(job_id)
        states = stack.query("SELECT state, COUNT(*) FROM jobs GROUP BY state")
        assert states == [("delivered", 5)], logs_of(processes)[-4000:]
        assert len(provider.created_tasks) == 5  # one paid task per job, each one delivered
        for job_id in jobs:
            assert stack.ledger(job_id) == ["hold", "charge"]
        await runner.stop_all()
    assert not discord.internal_errors, "\n".join(discord.internal_errors)


@pytest.mark.timeout(240)
async def test_with_slow_downloads_every_video_is_posted_once(
    tmp_path: Path, postgres: Databases
) -> None:
    async with (
        FakeDiscord() as discord,
        RivyaSimulator(RIVYA_KEY) as provider,
        BotRunner(tmp_path / "logs") as runner,
    ):
        provider.inject("media", "slow", delay=3.0, times=None)
        stack = Stack(discord, provider, runner, tmp_path, "rivya")
        stack.database_url = postgres.migrated(migrate)
        stack.env_overrides |= {"MAX_ACTIVE_JOBS_PER_MEMBER": "5", "DEFAULT_QUOTA": "5"}
        processes = await start_two(stack, runner)
        jobs = await submit_all(stack, 10)
        for job_id in jobs:
            await stack.wait_finished(job_id)
        posts = Counter(
            job_id
            for message in discord.requests_to("POST /channels/{channel_id}/messages")
            for job_id in jobs
            if f"job #{job_id} is ready" in str((message.json or {}).get("content", ""))
        )
        assert posts == {job_id: 1 for job_id in jobs}, logs_of(processes)[-4000:]
        assert len(provider.created_tasks) == 10
        for job_id in jobs:
            assert stack.ledger(job_id) == ["hold", "charge"]
        await runner.stop_all()
    assert not discord.internal_errors, "\n".join(discord.internal_errors)
