"""`/help`: a private overview of the commands, the member's quota and the server's rules, in
the member's language. The content is decided in bot/moderation/guide.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import i18n
from bot.moderation.guide import guide_for, guide_texts
from bot.pages import split_message
from cogs._members import actor_of
from cogs._replies import NO_PINGS
from cogs._translator import words

if TYPE_CHECKING:
    from cogs._client import SoraBot


class HelpCog(commands.Cog):
    def __init__(self, bot: SoraBot) -> None:
        self.bot = bot
        self.services = bot.services

    @app_commands.command(name="help", description=words("iterate.help.description"))
    @app_commands.guild_only()
    async def show_help(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        guide = await guide_for(
            self.services.moderation, actor_of(interaction), interaction.locale.value
        )
        text = i18n.join(guide_texts(guide), interaction.locale.value)
        for part in split_message(text):
            await interaction.followup.send(part, ephemeral=True, allowed_mentions=NO_PINGS)


async def setup(bot: SoraBot) -> None:
    await bot.add_cog(HelpCog(bot))
