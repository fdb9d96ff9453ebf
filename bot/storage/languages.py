"""The guild_languages and member_locales tables: each server's language setting and each
member's last seen client language (bot/moderation/languages.py says which place speaks which)."""

from __future__ import annotations

from bot.storage.connection import Connection


async def server_language(conn: Connection, guild_id: int) -> str | None:
    """The server's stored setting, or None when it has none (it follows Discord's)."""
    value = await conn.fetch_value(
        "SELECT language FROM guild_languages WHERE guild_id = ?", (guild_id,)
    )
    return str(value) if value is not None else None


async def set_server_language(
    conn: Connection, guild_id: int, setting: str, actor_id: int, now: float
) -> None:
    await conn.execute(
        "INSERT INTO guild_languages (guild_id, language, updated_by, updated_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET language = excluded.language, "
        "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        (guild_id, setting, actor_id, now),
    )


async def member_locale(conn: Connection, user_id: int) -> str | None:
    value = await conn.fetch_value(
        "SELECT locale FROM member_locales WHERE user_id = ?", (user_id,)
    )
    return str(value) if value is not None else None


async def set_member_locale(conn: Connection, user_id: int, locale: str, now: float) -> None:
    await conn.execute(
        "INSERT INTO member_locales (user_id, locale, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET locale = excluded.locale, "
        "updated_at = excluded.updated_at",
        (user_id, locale, now),
    )
