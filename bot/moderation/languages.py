"""Which language each place speaks.

- Private replies: the member's own client language (the interaction's `locale`).
- Public messages in a server (status, results, failure notices, the moderators' log
  channel): the server's setting, `auto` (Discord's community locale for the server) or a
  fixed language, chosen by moderators.
- Direct messages: the member's language as last seen in any interaction.
"""

from __future__ import annotations

from bot import i18n
from bot.clock import Clock
from bot.storage import languages as language_rows
from bot.storage.connection import Connection
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
        async with self.db.reading() as conn:
            setting = await language_rows.server_language(conn, guild_id)
        return setting if setting is not None else i18n.AUTO

    async def public_locale(self, guild_id: int, community_locale: str | None) -> str:
        """The language of the server's public messages right now."""
        return i18n.public_locale(await self.server_setting(guild_id), community_locale)

    async def remember_member(self, user_id: int, locale: str | None) -> None:
        """Keep the member's client language for later direct messages."""
        language = i18n.match_locale(locale)
        previous = self._known_members.get(user_id)
        if previous == language:
            return
        # Noted before writing: the member's other interactions arriving meanwhile (several
        # clicks at once) find it noted and do not write it again.
        self._known_members[user_id] = language
        try:
            async with self.db.writing() as conn:  # one statement
                await language_rows.set_member_locale(conn, user_id, language, self.clock.now())
        except BaseException:
            if self._known_members.get(user_id) == language:  # the next interaction tries again
                self._forget_member(user_id, previous)
            raise

    def _forget_member(self, user_id: int, previous: str | None) -> None:
        if previous is None:
            self._known_members.pop(user_id, None)
        else:
            self._known_members[user_id] = previous

    async def member_locale(self, user_id: int) -> str:
        """The member's last known language (the default one if never seen)."""
        known = self._known_members.get(user_id)
        if known is not None:
            return known
        async with self.db.reading() as conn:
            stored = await language_rows.member_locale(conn, user_id)
        return i18n.match_locale(stored) if stored is not None else i18n.DEFAULT_LOCALE


async def set_server_language(
    conn: Connection, guild_id: int, setting: str, actor_id: int, now: float
) -> str | None:
    """Store a server's setting (already checked against `server_choices`) inside the caller's
    transaction; returns the previous one (None when it was `auto` by default)."""
    await conn.lock(("guild_language", guild_id))  # two moderators at once: each sees the other
    before = await language_rows.server_language(conn, guild_id)
    await language_rows.set_server_language(conn, guild_id, setting, actor_id, now)
    return before
