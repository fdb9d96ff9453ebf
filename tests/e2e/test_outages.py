"""What breaks around the bot while it runs, with the real bot process: the database out of
reach for a while, and a job's channel deleted."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import migrate
from tests.e2e.conftest import (
    RIVYA_KEY,
    Stack,
    finished_job,
    free_port,
    job_id_from,
    sora_request,
    submit_sora,
)
from tests.support.fake_discord import BotRunner, FakeDiscord
from tests.support.postgres_cluster import Databases
from tests.support.sims.rivya import RivyaSimulator
from tests.support.tcp_proxy import TcpProxy
from tests.support.web_client import WebClient, web_env

OUTAGE_SECONDS = 4.0
BRIEFLY_UNAVAILABLE = "I'm briefly unavailable: I can't reach my database right now."


@contextlib.asynccontextmanager
async def database_behind_a_cut(
    tmp_path: Path, postgres: Databases
) -> AsyncIterator[tuple[Stack, TcpProxy, BotRunner, str]]:
    """A stack whose bot reaches PostgreSQL through a relay the test can cut, and the
    database's own address for the test's reads."""
    url = postgres.migrated(migrate)
    async with (
        FakeDiscord() as discord,
        RivyaSimulator(RIVYA_KEY) as provider,
        BotRunner(tmp_path / "logs") as runner,
        TcpProxy(postgres.cluster.port) as proxy,
    ):
        stack = Stack(discord, provider, runner, tmp_path, "rivya")
        stack.database_url = url.replace(f":{postgres.cluster.port}/", f":{proxy.port}/")
        yield stack, proxy, runner, url


@pytest.mark.timeout(120)
async def test_a_database_outage_is_one_line_and_members_hear_the_bot_is_briefly_away(
    tmp_path: Path, postgres: Databases
) -> None:
    async with database_behind_a_cut(tmp_path, postgres) as (stack, proxy, runner, url):
        discord = stack.discord
        bot = await stack.start_bot()
        # The test reads the database directly: the relay runs on the test's own event loop,
        # which a synchronous query blocks.
        stack.database_url = url
        await finished_job(stack, "alice")

        await proxy.cut()
        handle = await discord.invoke("sora", user="bob", options=sora_request(stack))
        await handle.wait_original(timeout=20)
        assert handle.ephemeral
        assert handle.original_contents[-1].startswith(BRIEFLY_UNAVAILABLE)
        await bot.wait_for_log("database unreachable", timeout=10)
        await asyncio.sleep(OUTAGE_SECONDS)  # the worker tries every second meanwhile
        await proxy.restore()
        await bot.wait_for_log("database reachable again", timeout=20)

        log = bot.log_text()
        assert log.count("database unreachable") == 1, log[-3000:]
        assert log.count("database reachable again") == 1
        stack.assert_clean_log()  # no traceback
        # And it carries on: the member asks again and gets the video.
        job_id = await submit_sora(stack, "bob")
        await stack.wait_finished(job_id)
        assert stack.ledger(job_id) == ["hold", "charge"]
        await runner.stop_all()


@pytest.mark.timeout(120)
async def test_the_web_says_it_is_briefly_away_while_the_database_is_out_of_reach(
    tmp_path: Path, postgres: Databases
) -> None:
    async with database_behind_a_cut(tmp_path, postgres) as (stack, proxy, runner, _):
        discord = stack.discord
        port = free_port()
        stack.env_overrides |= web_env(discord, port)
        bot = await stack.start_bot()
        await bot.wait_for_log("web gallery on", timeout=10)
        async with WebClient(f"http://127.0.0.1:{port}", discord) as alice:
            assert (await alice.sign_in("alice")).status == 200
            await proxy.cut()
            for path in ("/me", "/"):
                away = await alice.get(path)
                assert away.status == 503, (path, away.text[:300])
                assert "can&#39;t reach its database right now" in away.text, path
            await proxy.restore()
            back = await alice.get("/me")
            assert back.status == 200  # the session was kept
        log = bot.log_text()
        assert "web: GET /me could not reach the database" in log, log[-3000:]
        assert "Traceback" not in log and "ERROR" not in log, log[-3000:]
        await runner.stop_all()


async def test_a_job_whose_channel_is_deleted_ends_at_once_with_its_hold_released(
    stack: Stack,
) -> None:
    stack.provider.report_progress = True  # the status message changes at every check
    stack.provider.next_task(polls_until_done=1_000)
    handle = await stack.discord.invoke(
        "sora", user="alice", channel="videos", options=sora_request(stack)
    )
    await handle.wait_original()
    (task,) = await stack.wait_for(lambda: stack.provider.created_tasks, "the provider task")
    await stack.provider.wait_for(lambda: stack.provider.polls(task.id) >= 2, timeout=10)
    ((job_id,),) = stack.query("SELECT id FROM jobs")

    await stack.discord.delete_channel("videos")
    # A change in the database only, which the fake Discord does not see: looked at often.
    for _ in range(200):
        if stack.job_state(job_id) == "failed":
            break
        await asyncio.sleep(0.05)
    polls = stack.provider.polls(task.id)
    assert stack.ledger(job_id) == ["hold", "release"]
    assert stack.query("SELECT error_code FROM jobs") == [("no_channel_access",)]
    await asyncio.sleep(1.0)  # five checks' worth of time: none is made for an ended job
    assert stack.provider.polls(task.id) == polls
    stack.assert_clean_log()


async def test_an_answer_discord_made_whose_reply_was_lost_stays_the_one_status_message(
    stack: Stack,
) -> None:
    # Discord makes /sora's answer, but the bot's request gets no reply (it "timed out").
    lost = stack.discord.lose_answer("POST /interactions/{interaction_id}/{token}/callback")
    handle = await stack.discord.invoke("sora", user="alice", options=sora_request(stack))
    answer = await handle.wait_original()
    assert lost.hits and not handle.ephemeral
    job_id = job_id_from(answer.content)
    await stack.wait_finished(job_id)
    statuses = [m for m in stack.bot_posts() if m.content.startswith(answer.content[:20])]
    assert [m.id for m in statuses] == [answer.id], [m.content for m in statuses]
    assert stack.ledger(job_id) == ["hold", "charge"]
