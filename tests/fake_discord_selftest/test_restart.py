"""Process crashes, restarts and gateway reconnects, each with its own simulator and bot."""

from __future__ import annotations

import signal

import pytest

from tests.support.fake_discord import BotRunner, FakeDiscord

from .conftest import DEMO_MODULE, demo_env, start_demo


async def test_sigkill_then_restart_reconnects(
    discord_sim: FakeDiscord, bot_runner: BotRunner
) -> None:
    sim = discord_sim
    first = await start_demo(bot_runner, sim)
    posted = await (await sim.invoke("button", user="alice", options={"job": 9})).wait_original()

    assert await first.kill() == -signal.SIGKILL
    await sim.wait_for(lambda: not sim.gateway.live_sessions, timeout=5, what="socket closed")
    with pytest.raises(RuntimeError, match="no bot is connected"):
        await sim.invoke("ping", user="alice")

    second = await bot_runner.start(DEMO_MODULE, demo_env(sim))
    await sim.wait_until_ready(timeout=15, identifies=2)
    assert sim.gateway.resumes == 0 and sim.commands.sync_count == 2

    # The new process handles the button on a message the old one posted.
    click = await sim.click(posted, "demo:retry:9", user="bob")
    await click.wait_ack()
    assert posted.contents[-1] == "retrying job 9"

    assert await second.terminate(timeout=5) == -signal.SIGTERM
    assert not second.running and "commands synced" in second.log_text()


async def test_reconnect_resumes_and_invalidation_reidentifies(
    discord_sim: FakeDiscord, bot_runner: BotRunner
) -> None:
    sim = discord_sim
    await start_demo(bot_runner, sim)
    session = sim.gateway.live_sessions[0]

    await sim.reconnect_gateway()
    await sim.wait_for(lambda: session.resumes == 1 and session.connected, timeout=10)
    await sim.drop_gateway()
    await sim.wait_for(lambda: session.resumes == 2 and session.connected, timeout=10)
    assert sim.gateway.identifies == 1 and session.events.count("RESUMED") == 2

    handle = await sim.invoke("ping", user="carol")
    await handle.wait_followups(1)

    await sim.invalidate_sessions()
    fresh = await sim.wait_until_ready(timeout=15, identifies=2)
    assert fresh.session_id != session.session_id
    handle = await sim.invoke("ping", user="carol")
    assert (await handle.wait_followups(1))[0].content == "second"
