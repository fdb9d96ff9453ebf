"""Two bot processes, shards 0 and 1 of 2, on one PostgreSQL database: the guild's shard takes
the commands, both workers share the jobs, and when the process moving a job is SIGKILLed the
other one finishes it: one post, one charge, and no quota overdrawn by concurrent submits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import migrate
from tests.e2e.conftest import (
    READY_TIMEOUT,
    RIVYA_KEY,
    Stack,
    answered_with_status,
    sora_request,
)
from tests.support.fake_discord import BotProcess, BotRunner, FakeDiscord
from tests.support.postgres_cluster import Databases
from tests.support.sims.rivya import RivyaSimulator

SHARDS = 2


async def start_shards(stack: Stack, runner: BotRunner) -> dict[int, BotProcess]:
    processes = {}
    for shard in range(SHARDS):
        env = stack.env() | {"SHARD_COUNT": str(SHARDS), "SHARD_IDS": str(shard)}
        processes[shard] = await runner.start("bot", env, cwd=stack.workdir)
    return processes


@pytest.mark.timeout(180)
async def test_two_shard_processes_share_one_postgresql_database(
    tmp_path: Path, postgres: Databases
) -> None:
    async with (
        FakeDiscord() as discord,
        RivyaSimulator(RIVYA_KEY) as provider,
        BotRunner(tmp_path / "logs") as runner,
    ):
        stack = Stack(discord, provider, runner, tmp_path, "rivya")
        stack.database_url = postgres.migrated(migrate)
        stack.env_overrides["MAX_ACTIVE_JOBS_PER_MEMBER"] = "10"
        processes = await start_shards(stack, runner)
        owner = (discord.guild_id >> 22) % SHARDS  # the shard Discord sends the guild to
        stack.bot = processes[owner]
        try:
            await discord.wait_until_ready(timeout=READY_TIMEOUT, identifies=SHARDS)
        except TimeoutError as error:
            logs = "\n".join(p.log_tail() for p in processes.values())
            raise TimeoutError(f"{error}\n{logs}") from None
        sessions = [s for s in discord.gateway.live_sessions]
        assert sorted(tuple(s.shard or ()) for s in sessions) == [(0, 2), (1, 2)]
        guilds = {tuple(s.shard or ()): "GUILD_CREATE" in s.events for s in sessions}
        assert guilds == {(owner, 2): True, (1 - owner, 2): False}

        # Six /sora at once against a quota of 3: exactly three are accepted.
        handles = await asyncio.gather(
            *(discord.invoke("sora", user="alice", options=sora_request(stack)) for _ in range(6))
        )
        for handle in handles:
            await handle.wait_original(timeout=20)
        replies = [handle.original_contents[-1] for handle in handles]
        accepted = [answered_with_status(stack, h) for h in handles if not h.ephemeral]
        assert len(accepted) == 3, replies
        for job_id in accepted:
            await stack.wait_finished(job_id)
        used = stack.query(
            "SELECT COALESCE(SUM(units), 0) FROM quota_ledger WHERE user_id = ?",
            (discord.user("alice").id,),
        )
        assert used == [(3,)]

        # A long job: kill whichever process is moving it; the other takes it over.
        provider.next_task(polls_until_done=12)
        handle = await discord.invoke("sora", user="bob", options=sora_request(stack))
        await handle.wait_original(timeout=20)
        job_id = answered_with_status(stack, handle)
        await stack.wait_for(
            lambda: (
                len(provider.created_tasks) == 4
                and provider.polls(provider.created_tasks[-1].id) >= 2
            ),
            "a few polls of the long job",
        )
        ((lease_owner,),) = stack.query("SELECT lease_owner FROM jobs WHERE id = ?", (job_id,))
        by_pid = {process.pid: shard for shard, process in processes.items()}
        moving = next(
            (by_pid[pid] for pid in by_pid if lease_owner and f":{pid}:" in lease_owner),
            owner,  # between two steps nobody holds it: kill the guild's process
        )
        await processes[moving].kill()
        stack.bot = processes[1 - moving]
        await stack.wait_for(
            lambda: stack.result_of(job_id), "the video from the other process", timeout=40
        )
        await stack.wait_finished(job_id)
        results = [m for m in stack.bot_posts() if f"job #{job_id} is ready" in m.content]
        assert len(results) == 1
        assert len(provider.created_tasks) == 4  # no second create for the taken-over job
        assert stack.ledger(job_id) == ["hold", "charge"]
        await runner.stop_all()
    assert not discord.internal_errors, "\n".join(discord.internal_errors)


@pytest.mark.discord(recommended_shards=2)
@pytest.mark.bot_env(SHARD_COUNT="auto")
async def test_one_process_opens_the_shards_discord_recommends(stack: Stack) -> None:
    # discord.py connects the shards one after the other.
    await stack.wait_for(lambda: len(stack.discord.gateway.live_sessions) == 2, "both shards")
    sessions = stack.discord.gateway.live_sessions
    assert sorted(tuple(s.shard or ()) for s in sessions) == [(0, 2), (1, 2)]
    handle = await stack.discord.invoke("sora", user="alice", options=sora_request(stack))
    await handle.wait_original(timeout=20)
    job_id = answered_with_status(stack, handle)
    await stack.wait_finished(job_id)
    assert stack.ledger(job_id) == ["hold", "charge"]
    stack.assert_clean_log()
