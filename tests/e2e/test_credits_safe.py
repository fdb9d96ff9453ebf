"""Keeping the operator's credits safe, with the real bot process: only the servers the operator
chose, only as a server app, and every refusal private, in the member's language, spending
nothing."""

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
    command_reply,
    public_bot_posts,
    sora_request,
    submit_sora,
)
from tests.support.fake_discord import BotRunner, FakeDiscord, World, default_world
from tests.support.postgres_cluster import Databases
from tests.support.sims.rivya import RivyaSimulator

ANOTHER_GUILD_ID = "123456789012345678"
GUILD_ID = default_world().guild_id  # the default world's ids are fixed
VIDEOS_CHANNEL_ID = default_world().channels["videos"].id
MEMBERS = ("alice", "bob", "carol", "dana", "mod", "admin", "owner", "erin", "frank", "grace")
USED_UP = "The bot's videos for today are used up. It resets <t:"


def ten_members() -> World:
    world = default_world()
    for key in MEMBERS[7:]:
        world.add_user(key)
    return world


LEAVE = "DELETE /users/@me/guilds/{guild_id}"


def assert_nothing_spent(stack: Stack) -> None:
    assert stack.provider.created_tasks == []
    assert stack.query("SELECT COUNT(*) FROM jobs") == [(0,)]
    assert stack.query("SELECT COUNT(*) FROM quota_ledger") == [(0,)]


# Its commands synced globally: the server it leaves is not its development server.
@pytest.mark.bot_env(ALLOWED_GUILD_IDS=ANOTHER_GUILD_ID, DEV_GUILD_ID="")
async def test_a_server_not_allowed_is_left_and_its_sora_refused(stack: Stack) -> None:
    (leave,) = await stack.wait_for(lambda: stack.discord.requests_to(LEAVE), "the bot leaving")
    assert leave.path == f"/users/@me/guilds/{stack.discord.guild_id}"
    assert stack.bot is not None
    log = await stack.bot.wait_for_log("it is not in ALLOWED_GUILD_IDS")
    assert log.count("it is not in ALLOWED_GUILD_IDS") == 1

    # Its commands may still be installed there: they are answered privately, and that is all.
    stack.discord.user("bob").locale = "zh-TW"
    for user, words in (("alice", "I only make videos on the servers chosen"), ("bob", "我只在")):
        handle = await stack.discord.invoke("sora", user=user, options=sora_request(stack))
        await handle.wait_original()
        assert handle.ephemeral
        assert handle.original_contents[-1].startswith(words), handle.original_contents
    assert_nothing_spent(stack)
    assert public_bot_posts(stack) == []
    stack.assert_clean_log()


@pytest.mark.parametrize("context", [0, 2])
async def test_a_user_install_interaction_is_refused_with_nothing_sent(
    stack: Stack, context: int
) -> None:
    provider_requests = len(stack.provider.requests)
    handle = await stack.discord.invoke(
        "sora", user="alice", options=sora_request(stack), user_install=True, context=context
    )
    await handle.wait_original()
    assert handle.ephemeral
    assert handle.original_contents[-1].startswith(
        "I only work inside servers that have added me"
    ), handle.original_contents
    assert_nothing_spent(stack)
    assert len(stack.provider.requests) == provider_requests  # nothing at all since
    assert public_bot_posts(stack) == []
    stack.assert_clean_log()


async def test_the_synced_commands_are_for_servers_only(stack: Stack) -> None:
    commands = stack.discord.commands.all()
    names = {command.name for command in commands}
    assert {"sora", "quota", "help", "sora-jobs", "sora-show", "Make a video"} <= names
    for command in commands:
        assert command.payload["integration_types"] == [0], command.name
        assert command.payload["contexts"] == [0], command.name


@pytest.mark.bot_env(ALLOWED_GUILD_IDS=f"{ANOTHER_GUILD_ID},{GUILD_ID}")
async def test_an_allowed_server_is_served_as_before(stack: Stack) -> None:
    job_id = await submit_sora(stack, "alice")
    await stack.wait_finished(job_id)
    assert stack.discord.requests_to(LEAVE) == []
    assert stack.ledger(job_id) == ["hold", "charge"]
    stack.assert_clean_log()


async def burst(stack: Stack) -> tuple[list[int], list[str]]:
    """Ten members ask for a video at the same moment: the jobs accepted, and the refusals."""
    handles = await asyncio.gather(
        *(stack.discord.invoke("sora", user=m, options=sora_request(stack)) for m in MEMBERS)
    )
    for handle in handles:
        await handle.wait_original(timeout=20)
    accepted = [answered_with_status(stack, h) for h in handles if not h.ephemeral]
    refusals = [h.original_contents[-1] for h in handles if h.ephemeral]
    return accepted, refusals


def assert_budget_of_two_held(stack: Stack, accepted: list[int], refusals: list[str]) -> None:
    assert len(accepted) == 2, refusals
    assert len(refusals) == 8 and all(r.startswith(USED_UP) for r in refusals), refusals
    assert stack.query("SELECT COUNT(*) FROM quota_ledger WHERE kind = 'hold'") == [(2,)]
    assert stack.query("SELECT COUNT(*) FROM jobs") == [(2,)]


@pytest.mark.discord(world=ten_members())
@pytest.mark.bot_env(DAILY_VIDEO_BUDGET="2", QUOTA_LOG_CHANNEL_ID=str(VIDEOS_CHANNEL_ID))
async def test_a_burst_of_ten_members_gets_exactly_the_daily_budget(stack: Stack) -> None:
    accepted, refusals = await burst(stack)
    assert_budget_of_two_held(stack, accepted, refusals)
    for job_id in accepted:
        await stack.wait_finished(job_id)
    assert len(stack.provider.created_tasks) == 2

    # The moderators hear it once, in the log channel; the operator once, in the log.
    (alert,) = await stack.wait_for(
        lambda: stack.discord.bot_messages("videos"), "the budget alert"
    )
    assert alert.content.startswith("⛔ The bot has accepted all 2 videos of its daily budget.")
    assert stack.bot is not None
    assert stack.bot.log_text().count("daily video budget:") == 1

    # A re-run is refused the same way, privately; a charged video still counts.
    (job_id, *_) = accepted
    result = stack.result_of(job_id)
    assert result is not None
    stack.discord.user("carol").locale = "zh-CN"
    press = await stack.discord.click(result, f"sora:rerun:{job_id}", user="carol")
    await press.wait_original(timeout=20)
    assert press.ephemeral
    assert press.original_contents[-1].startswith("机器人今天能生成的视频已经用完了")
    assert stack.query("SELECT COUNT(*) FROM jobs") == [(2,)]
    stack.assert_clean_log()


@pytest.mark.timeout(180)
async def test_a_burst_gets_exactly_the_daily_budget_with_two_processes_on_postgresql(
    tmp_path: Path, postgres: Databases
) -> None:
    async with (
        FakeDiscord(ten_members()) as discord,
        RivyaSimulator(RIVYA_KEY) as provider,
        BotRunner(tmp_path / "logs") as runner,
    ):
        stack = Stack(discord, provider, runner, tmp_path, "rivya")
        stack.database_url = postgres.migrated(migrate)
        stack.env_overrides |= {"DAILY_VIDEO_BUDGET": "2", "SHARD_COUNT": "2"}
        processes = [
            await runner.start("bot", stack.env() | {"SHARD_IDS": str(shard)}, cwd=tmp_path)
            for shard in (0, 1)
        ]
        stack.bot = processes[(discord.guild_id >> 22) % 2]  # the guild's shard
        try:
            await discord.wait_until_ready(timeout=READY_TIMEOUT, identifies=2)
        except TimeoutError as error:
            logs = "\n".join(p.log_tail() for p in processes)
            raise TimeoutError(f"{error}\n{logs}") from None
        accepted, refusals = await burst(stack)
        assert_budget_of_two_held(stack, accepted, refusals)
        for job_id in accepted:
            await stack.wait_finished(job_id)  # either process's worker may deliver it
        assert len(provider.created_tasks) == 2
        alerts = sum(p.log_text().count("daily video budget:") for p in processes)
        assert alerts == 1
        await runner.stop_all()
    assert not discord.internal_errors, "\n".join(discord.internal_errors)


@pytest.mark.bot_env(MAX_QUOTA_LIMIT="20")
async def test_a_limit_or_grant_above_max_quota_limit_is_refused(stack: Stack) -> None:
    ceiling = "The most a limit can be on this bot is 20 videos"
    asks = [
        ("quota set", {"member": "alice", "limit": 21}, ceiling),
        ("quota default", {"limit": 500, "period": "day"}, ceiling),
        ("quota role", {"role": "Moderator", "limit": 1000}, ceiling),
        ("quota grant", {"member": "alice", "amount": 25}, "One grant can give or take at most 20"),
        (
            "quota grant",
            {"member": "alice", "amount": -21},
            "One grant can give or take at most 20",
        ),
    ]
    for command, options, words in asks:
        reply = await command_reply(stack, command, "admin", **options)
        assert reply.startswith(words), (command, reply)
    assert stack.query("SELECT COUNT(*) FROM moderation_actions") == [(0,)]
    done = await command_reply(stack, "quota set", "admin", member="alice", limit=20)
    assert done.startswith("✅"), done
    assert stack.query("SELECT action FROM moderation_actions") == [("set_limit",)]
    stack.assert_clean_log()
