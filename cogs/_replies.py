"""Private answers to the member who clicked or typed, and the one way a `Refusal` is shown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TypeVar

import aiohttp
import discord

from bot import i18n, metrics
from bot.errors import Refusal
from bot.i18n import Text
from bot.storage.outage import describe, is_unreachable

log = logging.getLogger(__name__)

NO_PINGS = discord.AllowedMentions.none()
T = TypeVar("T")

# Discord shows "The application did not respond" when an interaction gets no first answer
# within 3 seconds of its creation. Work that takes longer than this is acknowledged first;
# the margin covers a busy event loop and the trip to Discord.
ANSWER_WITHIN_SECONDS = 1.5
DISCORD_ANSWER_WINDOW = 3.0
SAFETY_MARGIN_SECONDS = 1.0


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


def seconds_to_answer(interaction: discord.Interaction) -> float:
    """How long the first answer may still wait: `ANSWER_WITHIN_SECONDS` from now, and never
    past Discord's window counted from the interaction's creation (a badly set clock here only
    makes the wait shorter)."""
    age = (datetime.now(UTC) - interaction.created_at).total_seconds()
    left = DISCORD_ANSWER_WINDOW - SAFETY_MARGIN_SECONDS - max(age, 0.0)
    return max(0.0, min(ANSWER_WITHIN_SECONDS, left))


async def acknowledged_if_slow(interaction: discord.Interaction, work: Awaitable[T]) -> T:
    """Run `work`. If it has not finished when the first answer is due, acknowledge privately
    ("thinking…") meanwhile; otherwise leave the first answer to the caller, who can then
    answer with the result itself (one call to Discord instead of two or three). Either way the
    acknowledgement, if any, is done before this returns or raises."""
    loop = asyncio.get_running_loop()
    acknowledging: list[asyncio.Task[None]] = []
    timer = loop.call_later(
        seconds_to_answer(interaction),
        lambda: acknowledging.append(loop.create_task(_acknowledge(interaction))),
    )
    try:
        return await work
    finally:
        timer.cancel()
        if acknowledging:
            await acknowledging[0]


async def _acknowledge(interaction: discord.Interaction) -> None:
    metrics.answered_slowly()
    try:
        await interaction.response.defer(ephemeral=True, thinking=True)
    except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as error:
        # The work goes on: what it accepts is posted in the channel regardless.
        log.warning("could not acknowledge an interaction in time: %s", error)


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
    except Exception as error:
        if is_unreachable(error):
            await send_ephemeral(interaction, briefly_unavailable(error))
            return
        log.exception("a button or form failed (custom id %s)", interaction.data)
        await send_ephemeral(
            interaction, i18n.render(Text("common.error.unexpected"), interaction.locale.value)
        )


def briefly_unavailable(error: BaseException) -> Text:
    """What a member is told while the database does not answer: it is the bot's, and brief
    (the log has it once per outage, from the worker; here one line per request)."""
    log.info("a request could not reach the database (%s)", describe(error))
    return Text("access.error.briefly_unavailable")
