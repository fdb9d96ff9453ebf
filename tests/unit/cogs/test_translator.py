"""Synced commands carry the catalogs' translations for zh-TW and zh-CN."""

from __future__ import annotations

import discord
from discord import app_commands

from cogs._translator import CatalogTranslator, words


async def test_commands_are_described_in_each_language() -> None:
    @app_commands.command(name="demo", description=words("common.error.not_here"))
    @app_commands.describe(language=words("common.language.auto"))
    @app_commands.choices(
        language=[app_commands.Choice(name=words("common.language.en"), value="en")]
    )
    async def demo(interaction: discord.Interaction, language: str) -> None:
        del interaction, language

    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))
    await tree.set_translator(CatalogTranslator())
    payload = await demo.get_translated_payload(tree, CatalogTranslator())

    assert payload["description"] == "You can't use this command here."
    assert payload["description_localizations"] == {
        "zh-TW": "這個指令不能在這裡使用。",
        "zh-CN": "这个命令不能在这里使用。",
    }
    option = payload["options"][0]
    assert option["description_localizations"]["zh-TW"] == "自動（依伺服器的社群語言）"
    choice = option["choices"][0]
    assert choice["name"] == "English"
    assert choice["name_localizations"] == {"zh-TW": "English（英文）", "zh-CN": "English（英语）"}


async def test_plain_strings_are_left_alone() -> None:
    translated = await CatalogTranslator().translate(
        app_commands.locale_str("plain"),
        discord.Locale.taiwan_chinese,
        app_commands.TranslationContext(app_commands.TranslationContextLocation.other, None),
    )
    assert translated is None


async def test_values_and_plurals_are_filled_in_every_language() -> None:
    context = app_commands.TranslationContext(app_commands.TranslationContextLocation.other, None)
    described = words("sora.command", model="Sora 2 Pro")
    seconds = words("sora.choice.seconds", 10)
    assert described.message == "Make a video with Sora 2 Pro"
    assert seconds.message == "10 seconds"
    translator = CatalogTranslator()
    assert await translator.translate(described, discord.Locale.taiwan_chinese, context) == (
        "用 Sora 2 Pro 製作影片"
    )
    assert await translator.translate(seconds, discord.Locale.chinese, context) == "10 秒"
    # English is Discord's default text, and a locale without a catalog gets none.
    assert await translator.translate(described, discord.Locale.british_english, context) is None
    assert await translator.translate(described, discord.Locale.japanese, context) is None
