"""`/quota`'s options are named in each moderator's language, as `/sora`'s are."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot import i18n
from cogs._translator import CatalogTranslator
from cogs.quota import QuotaCog


async def quota_options() -> dict[str, list[dict[str, Any]]]:
    """Every `/quota` subcommand (`log`, `blocklist list`...) and its options, as synced."""
    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))
    payload = await QuotaCog.quota.get_translated_payload(tree, CatalogTranslator())
    found: dict[str, list[dict[str, Any]]] = {}

    def collect(prefix: str, command: dict[str, Any]) -> None:
        options = command.get("options", [])
        if options and options[0].get("type") in (1, 2):  # subcommands (or a group of them)
            for sub in options:
                collect(f"{prefix} {sub['name']}".strip(), sub)
        else:
            found[prefix] = options

    collect("", payload)
    return found


async def test_every_quota_option_has_a_name_in_each_language() -> None:
    commands = await quota_options()
    assert {"view", "log", "blocklist list", "language"} <= set(commands)
    for command, options in commands.items():
        for option in options:
            name = option["name"]
            assert option["name_localizations"] == {
                locale: i18n.translation(f"quota.option_name.{name}", locale)
                for locale in ("zh-TW", "zh-CN")
            }, f"/quota {command} {name}"


async def test_what_members_see_in_the_guides() -> None:
    commands = await quota_options()
    view = {o["name"]: o["name_localizations"] for o in commands["view"]}
    assert view == {"member": {"zh-TW": "成員", "zh-CN": "成员"}}
    log = {o["name"]: o["name_localizations"] for o in commands["log"]}
    assert log["page"] == {"zh-TW": "頁碼", "zh-CN": "页码"}
