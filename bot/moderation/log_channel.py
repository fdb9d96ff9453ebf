"""The moderators' log channel (`QUOTA_LOG_CHANNEL_ID`): the one rule for every line posted
there, a moderator's action (taken in Discord or on the web) or an alert about the whole bot.

The channel is public: a line is written in its server's language and pings no one. A line
about an action is posted only when the action was taken in the server that owns the channel,
so one server's news never reaches another's. Posting is best effort: a failure is logged and
never undoes what was done.

Each front end reaches Discord its own way (the bot through its gateway client, the web through
its REST client): it says what the channel is and posts a line (`LogChannelPort`), and this
module decides whether and how.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from bot import i18n
from bot.i18n import Text
from bot.moderation.languages import Languages

log = logging.getLogger(__name__)

POST_TIMEOUT_SECONDS = 10.0


class LogChannelUnavailable(Exception):
    """Discord could not be asked, refused, or the channel is gone or holds no messages."""


@dataclass(frozen=True)
class LogChannel:
    guild_id: int | None  # the server that owns the channel
    community_locale: str | None  # that server's own language on Discord, if known


class LogChannelPort(Protocol):
    async def describe(self, channel_id: int) -> LogChannel:
        """What the channel is; `LogChannelUnavailable` if it cannot be posted in."""
        ...

    async def post_line(self, channel_id: int, line: str) -> None:
        """Post `line`, pinging no one; `LogChannelUnavailable` if it could not be posted."""
        ...


async def post_to_log_channel(
    port: LogChannelPort,
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
            channel = await port.describe(channel_id)
            if from_guild_id is not None and channel.guild_id != from_guild_id:
                return  # the channel belongs to another server: keep this one's news here
            language = await _server_language(channel, languages)
            await port.post_line(channel_id, i18n.render(text, language))
    except (LogChannelUnavailable, TimeoutError) as error:
        log.warning("could not post to the quota log channel %s: %s", channel_id, error)


async def _server_language(channel: LogChannel, languages: Languages | None) -> str:
    if channel.guild_id is None:
        return i18n.DEFAULT_LOCALE
    if languages is None:
        return i18n.public_locale(None, channel.community_locale)
    return await languages.public_locale(channel.guild_id, channel.community_locale)
