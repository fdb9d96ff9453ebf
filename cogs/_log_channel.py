"""The moderators' log channel (`QUOTA_LOG_CHANNEL_ID`): every line the bot posts there, a
moderator's action or an alert about the whole bot, goes through `post_to_log_channel`.

The channel is public: a line is written in its server's language and pings no one. A line
about an action is posted only when the action was taken in the server that owns the channel,
so one server's news never reaches another's. Posting is best effort: a failure is logged and
never undoes what was done.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import discord

from bot import i18n
from bot.i18n import Text
from bot.moderation.languages import Languages
from cogs._replies import NO_PINGS

log = logging.getLogger(__name__)

POST_TIMEOUT_SECONDS = 10.0
# What posting can end with: Discord refusing, or no answer at all.
POST_ERRORS = (discord.DiscordException, aiohttp.ClientError, TimeoutError, OSError)


async def post_to_log_channel(
    client: discord.Client,
    channel_id: int | None,
    text: Text,
    *,
    languages: Languages | None,
    from_guild_id: int | None = None,
) -> None:
    """Post `text` in the log channel, if there is one. `from_guild_id` is the server where
    the action was taken; None for news about the whole bot (an alert)."""
    if channel_id is None:
        return  # the operator's log has it
    try:
        async with asyncio.timeout(POST_TIMEOUT_SECONDS):
            channel = client.get_channel(channel_id) or await client.fetch_channel(channel_id)
            guild = getattr(channel, "guild", None)
            if from_guild_id is not None and (guild is None or guild.id != from_guild_id):
                return  # the channel belongs to another server: keep this one's news here
            if not isinstance(channel, discord.abc.Messageable):
                raise discord.ClientException("the channel cannot hold messages")
            language = await _server_language(guild, languages)
            await channel.send(i18n.render(text, language), allowed_mentions=NO_PINGS)
    except POST_ERRORS as error:
        log.warning("could not post to the quota log channel %s: %s", channel_id, error)


async def _server_language(guild: discord.Guild | None, languages: Languages | None) -> str:
    if guild is None:
        return i18n.DEFAULT_LOCALE
    community = guild.preferred_locale.value
    if languages is None:
        return i18n.public_locale(None, community)
    return await languages.public_locale(guild.id, community)
