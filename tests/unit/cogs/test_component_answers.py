"""Buttons and forms always answer, and a result's buttons are ones Discord accepts."""

from __future__ import annotations

import discord

from cogs._buttons import LINK_BUTTON_URL_CHARS, result_view
from cogs._replies import refusals_answered
from tests.support.interactions import fake_interaction


async def test_an_unexpected_failure_still_gets_a_private_answer() -> None:
    async def broken() -> None:
        raise RuntimeError("database is locked")

    interaction = fake_interaction("zh-TW", custom_id="sora:x:1")
    await refusals_answered(interaction, broken())
    ((text, ephemeral),) = interaction.response.messages
    assert ephemeral and text.startswith("我這邊出了點問題")


def _links(view: discord.ui.View) -> list[str]:
    return [item.url for item in view.children if isinstance(item, discord.ui.Button) and item.url]


async def test_the_full_quality_button_only_carries_a_link_discord_takes() -> None:
    short = "https://cdn.example/v.mp4?sig=abc"
    assert _links(result_view(7, None, full_quality_url=short)) == [short]
    signed = "https://cdn.example/v.mp4?" + "x" * LINK_BUTTON_URL_CHARS
    assert _links(result_view(7, None, full_quality_url=signed)) == []
    assert _links(result_view(7, None, full_quality_url="ftp://cdn.example/v.mp4")) == []
