"""The moderators' log channel through the bot's Discord client (the rule is
bot/moderation/log_channel.py's): the server's language, no pings, only its own server's
actions, and a failure that is logged and never raised."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import discord
import pytest

from bot.i18n import Text, render
from bot.moderation.log_channel import post_to_log_channel
from cogs._log_channel import DiscordLogChannel
from cogs._replies import NO_PINGS

LOG_CHANNEL = 555
LINE = Text("quota.log_line", actor="<@99>", detail="x")


class _RefusingChannel(discord.abc.Messageable):
    def __init__(self, guild_id: int, community: str = "en-US") -> None:
        self.guild = SimpleNamespace(id=guild_id, preferred_locale=discord.Locale(community))
        self.sent: list[tuple[str, Any]] = []

    async def _get_channel(self) -> Any:
        return self

    async def send(self, content: str | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        raise discord.Forbidden(SimpleNamespace(status=403, reason="Forbidden"), "Missing Access")


class _RecordingChannel(_RefusingChannel):
    async def send(self, content: str | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        self.sent.append((content or "", kwargs.get("allowed_mentions")))


class _Languages:
    """The server's language setting: Simplified Chinese in server 1, else the community's."""

    async def public_locale(self, guild_id: int, community: str | None) -> str:
        return "zh-CN" if guild_id == 1 else (community or "en")


def _client(channel: Any) -> Any:
    return SimpleNamespace(get_channel=lambda channel_id: channel)


async def _post(channel: Any, from_guild_id: int | None = 1, text: Text = LINE) -> None:
    await post_to_log_channel(
        DiscordLogChannel(_client(channel)),
        LOG_CHANNEL,
        text,
        languages=_Languages(),  # type: ignore[arg-type]
        from_guild_id=from_guild_id,
    )


async def test_a_log_channel_failure_is_logged_and_never_breaks_the_command(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        await _post(_RefusingChannel(guild_id=1))
    assert "could not post to the quota log channel 555" in caplog.text


async def test_the_log_channel_gets_only_its_own_servers_actions() -> None:
    here, elsewhere = _RecordingChannel(guild_id=1), _RecordingChannel(guild_id=2)
    await _post(here)
    await _post(elsewhere)
    assert [content for content, _ in here.sent] == ["<@99> x"]
    assert elsewhere.sent == []


async def test_lines_follow_the_servers_language_and_ping_no_one() -> None:
    set_to_chinese, by_community = _RecordingChannel(guild_id=1), _RecordingChannel(2, "zh-TW")
    reason = Text("quota.log_line_reason", actor="<@99>", detail="x", reason="y")
    await _post(set_to_chinese, text=reason)
    await _post(by_community, from_guild_id=2, text=Text("alerts.paused_credits"))
    (line, mentions), (alert, _) = set_to_chinese.sent[0], by_community.sent[0]
    assert line == "<@99> x（原因：y）"
    assert mentions is NO_PINGS
    assert alert == render(Text("alerts.paused_credits"), "zh-TW")


async def test_an_alert_about_the_whole_bot_goes_to_the_channel_whatever_its_server() -> None:
    channel = _RecordingChannel(guild_id=2)
    await _post(channel, from_guild_id=None, text=Text("alerts.paused_credits"))
    assert len(channel.sent) == 1


async def test_without_a_log_channel_nothing_is_posted() -> None:
    def no_lookup(channel_id: int) -> Any:
        raise AssertionError("no channel to look up")

    await post_to_log_channel(
        DiscordLogChannel(SimpleNamespace(get_channel=no_lookup)),  # type: ignore[arg-type]
        None,
        LINE,
        languages=None,
        from_guild_id=1,
    )


async def test_a_channel_that_holds_no_messages_or_cannot_be_found_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def not_found(channel_id: int) -> Any:
        raise discord.NotFound(SimpleNamespace(status=404, reason="Not Found"), "Unknown Channel")

    category = SimpleNamespace(guild=SimpleNamespace(id=1))  # a category: no messages
    clients = [
        SimpleNamespace(get_channel=lambda channel_id: category),
        SimpleNamespace(get_channel=lambda channel_id: None, fetch_channel=not_found),
    ]
    with caplog.at_level(logging.WARNING):
        for client in clients:
            await post_to_log_channel(
                DiscordLogChannel(client),  # type: ignore[arg-type]
                LOG_CHANNEL,
                LINE,
                languages=None,
                from_guild_id=1,
            )
    assert caplog.text.count("could not post to the quota log channel 555") == 2
    assert "cannot hold messages" in caplog.text and "Unknown Channel" in caplog.text
