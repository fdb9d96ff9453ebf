"""The guild_pictures table: whether "Make a video" may use pictures from anyone's messages in
a server (bot/moderation/actions.py: `SetPictures` changes it)."""

from __future__ import annotations

from bot.storage.connection import Connection


async def others_allowed(conn: Connection, guild_id: int) -> bool:
    """Whether pictures from other members' messages may be used (no row: no)."""
    value = await conn.fetch_value(
        "SELECT others_allowed FROM guild_pictures WHERE guild_id = ?", (guild_id,)
    )
    return bool(value)


async def set_others_allowed(
    conn: Connection, guild_id: int, allowed: bool, actor_id: int, now: float
) -> None:
    await conn.execute(
        "INSERT INTO guild_pictures (guild_id, others_allowed, updated_by, updated_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET "
        "others_allowed = excluded.others_allowed, updated_by = excluded.updated_by, "
        "updated_at = excluded.updated_at",
        (guild_id, int(allowed), actor_id, now),
    )
