"""`/sora` offers exactly what the active model profile allows."""

from __future__ import annotations

import dataclasses
from typing import Any

import discord
import pytest
from discord import app_commands

from bot.providers.profiles import RIVYA_SORA_2_PRO, UNIFIED_SORA_2_PRO, ModelProfile, Toggle
from cogs._translator import CatalogTranslator
from cogs.sora import SoraOptions, build_sora_command


class RecordingCog:
    def __init__(self) -> None:
        self.calls: list[Any] = []

    async def handle_sora(self, interaction: Any, options: Any) -> None:
        self.calls.append(options)


def declared(profile: ModelProfile) -> dict[str, dict[str, Any]]:
    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))
    command = build_sora_command(RecordingCog(), profile)  # type: ignore[arg-type]
    return {option["name"]: option for option in command.to_dict(tree)["options"]}


def choice_values(option: dict[str, Any]) -> list[Any]:
    return [choice["value"] for choice in option["choices"]]


def test_rivya_options() -> None:
    options = declared(RIVYA_SORA_2_PRO)
    assert list(options) == [
        "prompt",
        "orientation",
        "duration",
        "image",
        "quality",
        "remove_watermark",
    ]
    assert choice_values(options["duration"]) == [10, 15]
    assert choice_values(options["quality"]) == ["standard", "high"]
    assert choice_values(options["orientation"]) == ["landscape", "portrait"]
    assert [o["name"] for o in options.values() if o["required"]] == [
        "prompt",
        "orientation",
        "duration",
    ]


def test_the_prompt_option_promises_what_discord_can_carry() -> None:
    # Sora 2 Pro takes 10,000 characters, but Discord carries at most 6,000 in an option.
    prompt = declared(RIVYA_SORA_2_PRO)["prompt"]
    assert prompt["max_length"] == 6_000
    assert prompt["description"] == "What should happen in the video (up to 6,000 characters)"
    # A model with a smaller limit is held to its own.
    short = dataclasses.replace(RIVYA_SORA_2_PRO, prompt_limit=1_000)
    assert declared(short)["prompt"]["max_length"] == 1_000
    assert "(up to 1,000 characters)" in declared(short)["prompt"]["description"]


def test_unified_options_are_its_own() -> None:
    options = declared(UNIFIED_SORA_2_PRO)
    assert choice_values(options["duration"]) == [15, 25]
    assert "quality" not in options  # one size only: nothing to choose
    assert "remove_watermark" not in options
    assert options["watermark"]["type"] == 5 and options["private"]["type"] == 5


@pytest.mark.parametrize("profile", [RIVYA_SORA_2_PRO, UNIFIED_SORA_2_PRO])
async def test_callback_passes_every_option_through(profile: ModelProfile) -> None:
    cog = RecordingCog()
    command = build_sora_command(cog, profile)  # type: ignore[arg-type]
    toggles = {t.name: True for t in profile.toggles}
    await command.callback(  # type: ignore[call-arg]
        None, prompt="p", orientation="portrait", duration=profile.durations[-1], **toggles
    )
    assert cog.calls == [
        SoraOptions(
            prompt="p",
            orientation="portrait",
            duration=profile.durations[-1],
            image=None,
            quality=None,
            toggles=toggles,
        )
    ]


async def translated(profile: ModelProfile) -> dict[str, dict[str, Any]]:
    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))
    command = build_sora_command(RecordingCog(), profile)  # type: ignore[arg-type]
    payload = await command.get_translated_payload(tree, CatalogTranslator())
    return {option["name"]: option for option in payload["options"]}


async def test_a_models_own_options_are_named_in_each_language() -> None:
    rivya = await translated(RIVYA_SORA_2_PRO)
    assert rivya["remove_watermark"]["name_localizations"] == {
        "zh-TW": "移除浮水印",
        "zh-CN": "去除水印",
    }
    unified = await translated(UNIFIED_SORA_2_PRO)
    assert unified["watermark"]["name_localizations"] == {
        "zh-TW": "允許浮水印",
        "zh-CN": "允许水印",
    }
    assert unified["private"]["name_localizations"] == {"zh-TW": "不公開", "zh-CN": "不公开"}
    assert unified["private"]["description_localizations"]["zh-TW"].startswith("不在影片服務公開")


async def test_an_option_the_catalogs_do_not_know_keeps_its_own_name() -> None:
    # Rivya's catalogue may declare yes/no params of its own (bot/providers/rivya.py).
    own = dataclasses.replace(
        RIVYA_SORA_2_PRO, toggles=(Toggle("loop", "Loop the video (default: no)", False),)
    )
    option = (await translated(own))["loop"]
    assert option["description"] == "Loop the video (default: no)"
    assert not option.get("name_localizations")
