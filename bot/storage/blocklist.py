"""The prompt blocklist table: each guild's refused words and phrases, stored normalised
(bot/quota/blocklist.py says how they are normalised and matched)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.storage.connection import Connection


@dataclass(frozen=True)
class Entry:
    id: int
    term: str


async def entries(conn: Connection, guild_id: int) -> list[Entry]:
    rows = await conn.fetch_all(
        "SELECT id, term FROM prompt_blocklist WHERE guild_id = ? ORDER BY term", (guild_id,)
    )
    return [Entry(int(row[0]), str(row[1])) for row in rows]


async def find(conn: Connection, guild_id: int, term: str) -> Entry | None:
    row = await conn.fetch_one(
        "SELECT id, term FROM prompt_blocklist WHERE guild_id = ? AND term = ?", (guild_id, term)
    )
    return Entry(int(row[0]), str(row[1])) if row else None


async def count(conn: Connection, guild_id: int) -> int:
    value = await conn.fetch_value(
        "SELECT COUNT(*) FROM prompt_blocklist WHERE guild_id = ?", (guild_id,)
    )
    return int(value or 0)


async def add(conn: Connection, guild_id: int, term: str, actor_id: int, now: float) -> Entry:
    entry_id = await conn.insert_returning_id(
        "INSERT INTO prompt_blocklist (guild_id, term, added_by, added_at) VALUES (?, ?, ?, ?)",
        (guild_id, term, actor_id, now),
    )
    return Entry(entry_id, term)


async def remove(conn: Connection, entry: Entry) -> None:
    await conn.execute("DELETE FROM prompt_blocklist WHERE id = ?", (entry.id,))
