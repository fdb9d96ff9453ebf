"""Keeping the operator's credits safe, with the real bot process: only the servers the operator
chose, only as a server app, and every refusal private, in the member's language, spending
nothing."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Stack, public_bot_posts, sora_request, submit_sora
from tests.support.fake_discord import default_world

ANOTHER_GUILD_ID = "123456789012345678"
GUILD_ID = default_world().guild_id  # the default world's ids are fixed
LEAVE = "DELETE /users/@me/guilds/{guild_id}"


def assert_nothing_spent(stack: Stack) -> None:
    assert stack.provider.created_tasks == []
    assert stack.query("SELECT COUNT(*) FROM jobs") == [(0,)]
    assert stack.query("SELECT COUNT(*) FROM quota_ledger") == [(0,)]


@pytest.mark.bot_env(ALLOWED_GUILD_IDS=ANOTHER_GUILD_ID)
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
