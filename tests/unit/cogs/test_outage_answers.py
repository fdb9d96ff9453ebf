"""While the database is out of reach, a member is told the bot is briefly unavailable, not
that something went wrong."""

from __future__ import annotations

import asyncpg

from cogs._replies import refusals_answered
from tests.support.interactions import fake_interaction


async def test_a_button_pressed_during_an_outage_is_answered_privately() -> None:
    async def pressed() -> None:
        raise asyncpg.ConnectionDoesNotExistError(
            "connection was closed in the middle of operation"
        )

    for locale, words in (("en-US", "I'm briefly unavailable"), ("zh-TW", "我暫時無法使用")):
        interaction = fake_interaction(locale, custom_id="sora:x:1")
        await refusals_answered(interaction, pressed())
        ((text, ephemeral),) = interaction.response.messages
        assert ephemeral and text.startswith(words), text
