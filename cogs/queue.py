"""The Cancel button on a waiting job's status message.

The button is a `DynamicItem` whose custom_id carries the job id (cogs/_buttons.py), so it
works after a restart. Who may cancel, and why a job cannot be cancelled any more, is decided in
bot/moderation/cancellation.py; a refusal is answered privately.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.jobs.chat_port import DeliveryError
from bot.jobs.wording import outcome_notice, status_text
from cogs._buttons import QUEUE_COG, CancelButton
from cogs._job_messages import CALL_ERRORS
from cogs._members import actor_of
from cogs._replies import NO_PINGS

if TYPE_CHECKING:
    from cogs._client import SoraBot

log = logging.getLogger(__name__)


class QueueCog(commands.Cog, name=QUEUE_COG):
    def __init__(self, bot: SoraBot) -> None:
        self.bot = bot
        self.services = bot.services
        self.job_messages = bot.job_messages

    async def cancel_from_button(self, interaction: discord.Interaction, job_id: int) -> None:
        """Cancel the waiting job, and say so on its status message (the one pressed), the
        Cancel button gone. A moderator's cancel also tells the member who asked."""
        actor = actor_of(interaction)
        job = await self.services.moderation.cancel_waiting(actor, job_id)
        log.info("job %s cancelled by %s", job.id, actor.user_id)
        text = status_text(job, self.services.profile)
        message_id = interaction.message.id if interaction.message is not None else None
        try:
            await interaction.response.edit_message(
                content=text, view=None, allowed_mentions=NO_PINGS
            )
        except CALL_ERRORS as error:
            # The job is cancelled all the same: show it through the channel instead.
            log.warning("job %s: could not answer the Cancel button: %s", job.id, error)
            message_id = None
        if message_id is None:
            try:
                message_id = await self.job_messages.show_status(job, text)
            except DeliveryError as error:
                log.warning("job %s: status update failed: %s", job.id, error)
                return
        await self.services.jobs.record_status(job, message_id, text)
        if actor.user_id != job.user_id:
            try:
                await self.job_messages.notify_requester(job, outcome_notice(job))
            except DeliveryError as error:
                log.warning("job %s: could not tell the requester: %s", job.id, error)


async def setup(bot: SoraBot) -> None:
    bot.add_dynamic_items(CancelButton)
    await bot.add_cog(QueueCog(bot))
