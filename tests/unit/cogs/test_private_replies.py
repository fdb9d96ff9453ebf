"""Private answers are in the language of the member who clicked or typed."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.errors import Refusal
from bot.i18n import Text
from cogs._client import SoraTree
from tests.support.interactions import fake_interaction


async def test_an_unexpected_error_is_explained_in_the_members_language() -> None:
    tree = SoraTree(discord.Client(intents=discord.Intents.none()))
    answers = {}
    for locale in (
        discord.Locale.taiwan_chinese,
        discord.Locale.chinese,
        discord.Locale.american_english,
    ):
        asked = fake_interaction(locale)
        await tree.on_error(asked, app_commands.AppCommandError("boom"))
        answers[locale.value] = asked.response.sent
    assert answers["zh-TW"] == ["我這邊出了點問題，請再試一次。只有你實際收到的影片才會扣除額度。"]
    assert answers["zh-CN"][0].startswith("我这边出了点问题")
    assert answers["en-US"] == [
        "Something went wrong on my side. Please try again; you are only ever charged for "
        "videos you receive."
    ]


async def test_a_refusal_and_a_command_used_in_the_wrong_place_are_answered_privately() -> None:
    tree = SoraTree(discord.Client(intents=discord.Intents.none()))
    refused = fake_interaction(discord.Locale.chinese)
    command = app_commands.Command(name="demo", description="demo", callback=_noop)
    refusal = Refusal(Text("results.job_gone"))
    await tree.on_error(refused, app_commands.CommandInvokeError(command, refusal))
    assert refused.response.sent == ["那个任务已经不存在了。"]
    elsewhere = fake_interaction(discord.Locale.taiwan_chinese)
    await tree.on_error(elsewhere, app_commands.NoPrivateMessage())
    assert elsewhere.response.sent == ["這個指令不能在這裡使用。"]


async def _noop(interaction: discord.Interaction) -> None:
    del interaction
