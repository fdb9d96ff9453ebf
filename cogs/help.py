"""`/help`: a private overview of the commands, the member's quota and the server's rules, in
the member's language. The content is decided in bot/moderation/guide.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import i18n
from bot.moderation.guide import guide_for, guide_texts
from cogs._members import actor_of
from cogs._replies import NO_PINGS
from cogs._translator import words

if TYPE_CHECKING:
    from cogs._client import SoraBot

MESSAGE_CHARS = 2000


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


def split_message(text: str, limit: int = MESSAGE_CHARS) -> list[str]:
    """Cut a long text into messages at line ends (a single over-long line is cut hard)."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            candidate = line
        current = candidate
    if current:
        parts.append(current)
    return parts


async def setup(bot: SoraBot) -> None:
    await bot.add_cog(HelpCog(bot))
