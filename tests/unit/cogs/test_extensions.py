"""Every extension in cogs/ loads, and `/quota`'s Discord glue keeps its promises."""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
from types import SimpleNamespace
from typing import Any

import discord
import pytest
from discord import app_commands

import cogs
from cogs._client import EXTENSIONS
from cogs._members import actor_of
from cogs.quota import QuotaCog
from tests.support.interactions import fake_interaction

EXTENSION_MODULES = sorted(
    f"cogs.{module.name}"
    for module in pkgutil.iter_modules(cogs.__path__)
    if not module.name.startswith("_")  # private helpers, not extensions
)


@pytest.mark.parametrize("name", EXTENSION_MODULES)
def test_every_extension_module_imports_and_has_setup(name: str) -> None:
    module = importlib.import_module(name)
    assert inspect.iscoroutinefunction(getattr(module, "setup", None)), name


def test_every_loaded_extension_exists() -> None:
    assert set(EXTENSIONS) <= set(EXTENSION_MODULES)
    assert "cogs.quota" in EXTENSIONS


def test_quota_group_is_guild_only_and_visible_to_everyone() -> None:
    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))
    declared = QuotaCog.quota.to_dict(tree)
    assert declared["dm_permission"] is False
    # Not hidden by default permissions: `/quota view` is for every member; the moderator
    # commands are checked when they run.
    assert declared["default_member_permissions"] is None
    commands = {option["name"]: option for option in declared["options"]}
    assert set(commands) == {
        "view",
        "set",
        "clear",
        "grant",
        "reset",
        "default",
        "role",
        "role-clear",
        "block",
        "unblock",
        "log",
        "language",
        "blocklist",
    }
    assert {option["name"] for option in commands["blocklist"]["options"]} == {
        "add",
        "remove",
        "list",
    }
    member_type = discord.AppCommandOptionType.user.value
    assert commands["set"]["options"][0]["type"] == member_type
    assert commands["role"]["options"][0]["type"] == discord.AppCommandOptionType.role.value
    language = commands["language"]["options"][0]
    assert [choice["value"] for choice in language["choices"]] == ["auto", "en", "zh-CN", "zh-TW"]


def test_actor_reads_permissions_and_roles_at_run_time() -> None:
    member = SimpleNamespace(
        id=7,
        roles=[SimpleNamespace(id=1), SimpleNamespace(id=900)],
        guild_permissions=discord.Permissions(manage_guild=True),
    )
    actor = actor_of(fake_interaction(user=member))
    assert (actor.user_id, actor.role_ids, actor.manage_guild) == (7, (1, 900), True)
    plain = SimpleNamespace(id=8, roles=[], guild_permissions=discord.Permissions.none())
    assert actor_of(fake_interaction(user=plain)).manage_guild is False
    assert actor_of(fake_interaction(user=plain, manage_guild=True)).manage_guild is True


class _RefusingChannel(discord.abc.Messageable):
    def __init__(self, guild_id: int) -> None:
        self.guild = SimpleNamespace(id=guild_id)
        self.sent: list[str] = []

    async def _get_channel(self) -> Any:
        return self

    async def send(self, content: str | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        raise discord.Forbidden(SimpleNamespace(status=403, reason="Forbidden"), "Missing Access")


class _RecordingChannel(_RefusingChannel):
    async def send(self, content: str | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        self.sent.append(content or "")


def _cog(channel: Any) -> QuotaCog:
    bot = SimpleNamespace(
        services=SimpleNamespace(
            moderation=None, settings=SimpleNamespace(quota_log_channel_id=555)
        ),
        get_channel=lambda channel_id: channel,
    )
    return QuotaCog(bot)  # type: ignore[arg-type]


async def test_a_log_channel_failure_is_logged_and_never_breaks_the_command(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cog = _cog(_RefusingChannel(guild_id=1))
    with caplog.at_level(logging.WARNING):
        await cog._post_to_log_channel(fake_interaction(), "<@99> blocked <@7>")
    assert "could not post to the quota log channel 555" in caplog.text


async def test_the_log_channel_gets_only_its_own_servers_actions() -> None:
    here, elsewhere = _RecordingChannel(guild_id=1), _RecordingChannel(guild_id=2)
    await _cog(here)._post_to_log_channel(fake_interaction(), "<@99> blocked <@7>")
    await _cog(elsewhere)._post_to_log_channel(fake_interaction(), "<@99> blocked <@7>")
    assert here.sent == ["<@99> blocked <@7>"]
    assert elsewhere.sent == []
