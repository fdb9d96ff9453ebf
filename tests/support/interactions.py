"""A Discord interaction as the cogs' helpers read it, without Discord: who asked, where, in
which language, when, and a response that records what the bot answered.

For the small pieces of glue tested alone; whole commands run through the fake Discord
(tests/support/fake_discord) in the end-to-end tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import discord


class SentMessage(NamedTuple):
    content: str
    ephemeral: bool


@dataclass
class FakeResponse:
    """`interaction.response`: keeps each first answer (a message or a "thinking…")."""

    deferred: list[dict[str, Any]] = field(default_factory=list)
    messages: list[SentMessage] = field(default_factory=list)

    def is_done(self) -> bool:
        return bool(self.deferred or self.messages)

    async def defer(self, **options: Any) -> None:
        self.deferred.append(options)

    async def send_message(self, content: str, *, ephemeral: bool = False, **_: Any) -> None:
        self.messages.append(SentMessage(content, ephemeral))

    @property
    def sent(self) -> list[str]:
        """The text of each message sent, oldest first."""
        return [message.content for message in self.messages]


@dataclass
class FakeInteraction:
    locale: discord.Locale
    created_at: datetime
    guild_id: int | None
    user: Any  # a member (`id`, `roles`, `guild_permissions`) where a test needs one
    permissions: discord.Permissions
    data: dict[str, Any]
    command: Any = None
    response: FakeResponse = field(default_factory=FakeResponse)


def fake_interaction(
    locale: str | discord.Locale = "en-US",
    *,
    age_seconds: float = 0.0,
    guild_id: int | None = 1,
    user: Any = None,
    manage_guild: bool = False,
    custom_id: str | None = None,
) -> FakeInteraction:
    """An interaction made `age_seconds` ago in guild 1 by `user`, in `locale`; `custom_id`
    makes it a button press."""
    return FakeInteraction(
        locale=locale if isinstance(locale, discord.Locale) else discord.Locale(locale),
        created_at=datetime.now(UTC) - timedelta(seconds=age_seconds),
        guild_id=guild_id,
        user=user,
        permissions=discord.Permissions(manage_guild=manage_guild),
        data={} if custom_id is None else {"custom_id": custom_id},
    )
