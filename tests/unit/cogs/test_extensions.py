"""Every extension in cogs/ loads, and `/quota`'s Discord glue keeps its promises (its log
channel: test_log_channel.py)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import SimpleNamespace

import discord
import pytest
from discord import app_commands

import cogs
from cogs._client import EXTENSIONS
from cogs._members import actor_of, actor_of_reaction
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
        "pictures",
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


def test_a_reactions_actor_has_what_discord_sent_with_it() -> None:
    member = SimpleNamespace(
        roles=[SimpleNamespace(id=1), SimpleNamespace(id=900)],
        guild_permissions=discord.Permissions(manage_guild=True),
    )
    actor = actor_of_reaction(SimpleNamespace(guild_id=1, user_id=7, member=member))  # type: ignore[arg-type]
    assert (actor.guild_id, actor.user_id, actor.role_ids, actor.manage_guild) == (
        1,
        7,
        (1, 900),
        True,
    )
    # Without the member (not sent for every reaction): no roles, no permissions.
    bare = actor_of_reaction(SimpleNamespace(guild_id=1, user_id=7, member=None))  # type: ignore[arg-type]
    assert (bare.role_ids, bare.manage_guild) == ((), False)
