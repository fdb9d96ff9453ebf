"""The command_syncs table: what was last synced as the slash commands, per target."""

from __future__ import annotations

from bot.storage.connection import Connection


async def last_hash(conn: Connection, target: str) -> str | None:
    value = await conn.fetch_value(
        "SELECT payload_hash FROM command_syncs WHERE target = ?", (target,)
    )
    return str(value) if value is not None else None


async def record(conn: Connection, target: str, digest: str, now: float) -> None:
    await conn.execute(
        "INSERT INTO command_syncs (target, payload_hash, synced_at) VALUES (?, ?, ?) "
        "ON CONFLICT (target) DO UPDATE SET payload_hash = excluded.payload_hash, "
        "synced_at = excluded.synced_at",
        (target, digest, now),
    )


async def forget_all(conn: Connection) -> int:
    """Forget every recorded sync; how many there were."""
    return await conn.execute("DELETE FROM command_syncs")
