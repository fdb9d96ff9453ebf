"""Private answers to the member who clicked or typed, and the one way a `Refusal` is shown."""

from __future__ import annotations

import logging
from collections.abc import Awaitable

import discord

from bot import i18n
from bot.errors import Refusal
from bot.i18n import Text

log = logging.getLogger(__name__)

NO_PINGS = discord.AllowedMentions.none()


def said(interaction: discord.Interaction, text: Text | str) -> str:
    """`text` in the language of the member who clicked or typed (for private replies)."""
    return i18n.render(text, interaction.locale.value)


async def send_ephemeral(interaction: discord.Interaction, message: Text | str) -> None:
    """Reply privately, in the member's language, whether or not the interaction was
    acknowledged yet."""
    message = said(interaction, message)
    try:
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True, allowed_mentions=NO_PINGS)
        else:
            await interaction.response.send_message(
                message, ephemeral=True, allowed_mentions=NO_PINGS
            )
    except discord.HTTPException:
        log.warning("could not send an ephemeral reply (the interaction may have expired)")


async def refuse(interaction: discord.Interaction, refusal: Refusal) -> None:
    """Show a refusal privately. Slash commands get here through the command tree's error
    handler; buttons and other components through `refusals_answered`."""
    await send_ephemeral(interaction, refusal.text_for(interaction.locale.value))


async def refusals_answered(interaction: discord.Interaction, handling: Awaitable[None]) -> None:
    """Run a component's handler; a `Refusal` it raises is shown to the member privately, and
    any other failure gets the "something went wrong" answer (discord.py would say nothing)."""
    try:
        await handling
    except Refusal as refusal:
        await refuse(interaction, refusal)
    except Exception:
        log.exception("a button or form failed (custom id %s)", interaction.data)
        await send_ephemeral(
            interaction, i18n.render(Text("common.error.unexpected"), interaction.locale.value)
        )
