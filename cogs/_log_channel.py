"""The bot's way to the moderators' log channel: its gateway client, for the rule in
bot/moderation/log_channel.py (which server's news, in which language, best effort)."""

from __future__ import annotations

import aiohttp
import discord

from bot.moderation.log_channel import LogChannel, LogChannelUnavailable
from cogs._replies import NO_PINGS

# What asking Discord can end with: a refusal, or no answer at all.
DISCORD_ERRORS = (discord.DiscordException, aiohttp.ClientError, OSError)


class DiscordLogChannel:
    def __init__(self, client: discord.Client) -> None:
        self.client = client

    async def describe(self, channel_id: int) -> LogChannel:
        channel = await self._channel(channel_id)
        guild = getattr(channel, "guild", None)
        if guild is None:
            return LogChannel(None, None)
        return LogChannel(guild.id, guild.preferred_locale.value)

    async def post_line(self, channel_id: int, line: str) -> None:
        channel = await self._channel(channel_id)
        try:
            await channel.send(line, allowed_mentions=NO_PINGS)
        except DISCORD_ERRORS as error:
            raise LogChannelUnavailable(str(error) or type(error).__name__) from error

    async def _channel(self, channel_id: int) -> discord.abc.Messageable:
        try:
            channel = self.client.get_channel(channel_id) or await self.client.fetch_channel(
                channel_id
            )
        except DISCORD_ERRORS as error:
            raise LogChannelUnavailable(str(error) or type(error).__name__) from error
        if not isinstance(channel, discord.abc.Messageable):
            raise LogChannelUnavailable("the channel cannot hold messages")
        return channel
