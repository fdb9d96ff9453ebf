"""While the database is out of reach, a member is told the bot is briefly unavailable, not
that something went wrong."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import asyncpg
import discord

from cogs._replies import refusals_answered


class _Response:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bool]] = []

    def is_done(self) -> bool:
        return False

    async def send_message(self, content: str, *, ephemeral: bool = False, **_: Any) -> None:
        self.sent.append((content, ephemeral))


async def test_a_button_pressed_during_an_outage_is_answered_privately() -> None:
    async def pressed() -> None:
        raise asyncpg.ConnectionDoesNotExistError(
            "connection was closed in the middle of operation"
        )

    for locale, words in (("en-US", "I'm briefly unavailable"), ("zh-TW", "我暫時無法使用")):
        interaction = SimpleNamespace(
            response=_Response(), locale=discord.Locale(locale), data={"custom_id": "sora:x:1"}
        )
        await refusals_answered(interaction, pressed())  # type: ignore[arg-type]
        ((text, ephemeral),) = interaction.response.sent
        assert ephemeral and text.startswith(words), text
