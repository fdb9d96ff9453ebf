"""Which language each place speaks.

- Private replies: the member's own client language (the interaction's `locale`).
- Public messages in a server (status, results, failure notices, the moderators' log
  channel): the server's setting, `auto` (Discord's community locale for the server) or a
  fixed language, chosen by moderators.
- Direct messages: the member's language as last seen in any interaction.
"""

from __future__ import annotations

import aiosqlite

from bot import i18n
from bot.clock import Clock
from bot.storage.database import Database


def server_choices() -> tuple[str, ...]:
    """What a server's language setting may be: `auto`, then every language with a catalog."""
    return (i18n.AUTO, *i18n.available_locales())


class Languages:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        # Members' locales already stored, so an interaction writes only when one changes.
        self._known_members: dict[int, str] = {}

    async def server_setting(self, guild_id: int) -> str:
        row = await self.db.fetch_one(
            "SELECT language FROM guild_languages WHERE guild_id = ?", (guild_id,)
        )
        return str(row[0]) if row else i18n.AUTO

    async def public_locale(self, guild_id: int, community_locale: str | None) -> str:
        """The language of the server's public messages right now."""
        return i18n.public_locale(await self.server_setting(guild_id), community_locale)

    async def remember_member(self, user_id: int, locale: str | None) -> None:
        """Keep the member's client language for later direct messages."""
        language = i18n.match_locale(locale)
        if self._known_members.get(user_id) == language:
            return
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO member_locales (user_id, locale, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET locale = excluded.locale, "
                "updated_at = excluded.updated_at",
                (user_id, language, self.clock.now()),
            )
        self._known_members[user_id] = language

    async def member_locale(self, user_id: int) -> str:
        """The member's last known language (the default one if never seen)."""
        known = self._known_members.get(user_id)
        if known is not None:
            return known
        row = await self.db.fetch_one(
            "SELECT locale FROM member_locales WHERE user_id = ?", (user_id,)
        )
        return i18n.match_locale(str(row[0])) if row else i18n.DEFAULT_LOCALE


async def set_server_language(
    conn: aiosqlite.Connection, guild_id: int, setting: str, actor_id: int, now: float
) -> str | None:
    """Store a server's setting (already checked against `server_choices`) inside the caller's
    transaction; returns the previous one (None when it was `auto` by default)."""
    cursor = await conn.execute(
        "SELECT language FROM guild_languages WHERE guild_id = ?", (guild_id,)
    )
    row = await cursor.fetchone()
    await conn.execute(
        "INSERT INTO guild_languages (guild_id, language, updated_by, updated_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET language = excluded.language, "
        "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        (guild_id, setting, actor_id, now),
    )
    return str(row[0]) if row else None
