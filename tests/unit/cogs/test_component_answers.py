"""Buttons and forms always answer, and a result's buttons are ones Discord accepts."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import discord

from cogs._buttons import LINK_BUTTON_URL_CHARS, result_view
from cogs._replies import refusals_answered


class _Response:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bool]] = []

    def is_done(self) -> bool:
        return False

    async def send_message(self, content: str, *, ephemeral: bool = False, **_: Any) -> None:
        self.sent.append((content, ephemeral))


def _interaction(locale: str) -> Any:
    return SimpleNamespace(
        response=_Response(), locale=discord.Locale(locale), data={"custom_id": "sora:x:1"}
    )


async def test_an_unexpected_failure_still_gets_a_private_answer() -> None:
    async def broken() -> None:
        raise RuntimeError("database is locked")

    interaction = _interaction("zh-TW")
    await refusals_answered(interaction, broken())
    ((text, ephemeral),) = interaction.response.sent
    assert ephemeral and text.startswith("我這邊出了點問題")


def _links(view: discord.ui.View) -> list[str]:
    return [item.url for item in view.children if isinstance(item, discord.ui.Button) and item.url]


async def test_the_full_quality_button_only_carries_a_link_discord_takes() -> None:
    short = "https://cdn.example/v.mp4?sig=abc"
    assert _links(result_view(7, None, full_quality_url=short)) == [short]
    signed = "https://cdn.example/v.mp4?" + "x" * LINK_BUTTON_URL_CHARS
    assert _links(result_view(7, None, full_quality_url=signed)) == []
    assert _links(result_view(7, None, full_quality_url="ftp://cdn.example/v.mp4")) == []
