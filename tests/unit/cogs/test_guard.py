"""Which interactions the bot serves: its servers, as a server app, from a server it is in."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest
from discord.ext import commands

from cogs._guard import NOT_THIS_SERVER, SERVERS_ONLY, ServerGuard, refusal_for

GUILD, OTHER, MEMBER = 111, 222, 333


def payload(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": 2,
        "guild_id": str(GUILD),
        "context": 0,
        "authorizing_integration_owners": {"0": str(GUILD)},
    }
    return {key: value for key, value in (base | changes).items() if value is not None}


def bot_is_in(guild_id: int) -> bool:
    return guild_id in (GUILD, OTHER)


@pytest.mark.parametrize("allowed", [frozenset(), frozenset({GUILD})])
def test_a_server_install_in_a_server_of_the_bot_is_served(allowed: frozenset[int]) -> None:
    assert refusal_for(payload(), allowed, bot_is_in) is None
    # Both installs (the server's and the member's): the server's counts.
    both = payload(authorizing_integration_owners={"0": str(GUILD), "1": str(MEMBER)})
    assert refusal_for(both, allowed, bot_is_in) is None
    # Payloads from before Discord sent installs and contexts: the server decides.
    old = payload(context=None, authorizing_integration_owners=None)
    assert refusal_for(old, allowed, bot_is_in) is None


def test_a_server_not_chosen_by_the_operator_is_refused() -> None:
    other = payload(guild_id=str(OTHER), authorizing_integration_owners={"0": str(OTHER)})
    assert refusal_for(other, frozenset({GUILD}), bot_is_in) == NOT_THIS_SERVER
    assert refusal_for(other, frozenset(), bot_is_in) is None  # unset: any server


@pytest.mark.parametrize(
    "changes",
    [
        # "User Install": the app on a member's own account, used in some server.
        {"authorizing_integration_owners": {"1": str(MEMBER)}},
        # ... in a direct message with someone, or a group chat (no server at all).
        {"guild_id": None, "context": 2, "authorizing_integration_owners": {"1": str(MEMBER)}},
        # ... in a direct message with the bot.
        {"guild_id": None, "context": 1, "authorizing_integration_owners": {"1": str(MEMBER)}},
        # A server that has the commands but not the bot (or that the bot has left).
        {"guild_id": "444", "authorizing_integration_owners": {"0": "444"}},
    ],
)
def test_anything_but_a_server_the_bot_is_in_is_refused(changes: dict[str, Any]) -> None:
    for allowed in (frozenset(), frozenset({GUILD, 444})):
        assert refusal_for(payload(**changes), allowed, bot_is_in) == SERVERS_ONLY


async def test_the_commands_are_synced_for_servers_only_and_the_gate_comes_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.none())
    original = bot._connection.parsers["INTERACTION_CREATE"]
    ServerGuard([GUILD]).install(bot)

    @bot.tree.command(name="ping", description="ping")
    async def ping(interaction: discord.Interaction) -> None: ...

    synced = ping.to_dict(bot.tree)
    assert synced["integration_types"] == [0] and synced["contexts"] == [0]
    assert bot._connection.parsers["INTERACTION_CREATE"] is not original

    answered: list[str] = []

    async def answer(bot: commands.Bot, data: dict[str, Any], refusal: Any) -> None:
        answered.append(refusal.key)

    monkeypatch.setattr("cogs._guard._answer", answer)
    seen: list[dict[str, Any]] = []
    gate = ServerGuard([])._gate(bot, seen.append)
    member = {"member": {"user": {"id": "5", "username": "x"}, "roles": []}}
    common = {"id": "1", "application_id": "9", "token": "t", "version": 1, "data": {}}
    common |= {"locale": "en-US", "attachment_size_limit": 1024} | member
    # The bot is in no server here: refused before discord.py sees it, and answered.
    gate(payload(**common))
    await asyncio.sleep(0)
    assert seen == [] and answered == [SERVERS_ONLY.key]
    monkeypatch.setattr(bot, "get_guild", lambda guild_id: object() if guild_id == GUILD else None)
    gate(payload(**common))
    assert len(seen) == 1 and answered == [SERVERS_ONLY.key]
    await bot.close()


async def test_a_reaction_in_a_server_not_allowed_goes_no_further() -> None:
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.none())
    guard = ServerGuard([GUILD])
    seen: list[dict[str, Any]] = []
    gate = guard._gate_reactions(seen.append)
    reaction = {"user_id": "5", "channel_id": "10", "message_id": "20", "emoji": {"name": "🔁"}}
    gate(reaction | {"guild_id": "444"})  # a server the bot could not leave
    assert seen == []
    gate(reaction | {"guild_id": str(GUILD)})
    gate(reaction)  # a direct message: the re-run ignores it itself
    assert [data.get("guild_id") for data in seen] == [str(GUILD), None]
    # Installed, the gate is what discord.py calls; with no ALLOWED_GUILD_IDS all pass.
    original = bot._connection.parsers["MESSAGE_REACTION_ADD"]
    guard.install(bot)
    assert bot._connection.parsers["MESSAGE_REACTION_ADD"] is not original
    open_gate = ServerGuard([])._gate_reactions(seen.append)
    open_gate(reaction | {"guild_id": "444"})
    assert len(seen) == 3
    await bot.close()
