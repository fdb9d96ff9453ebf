"""The completion_times table: recent generation times per provider, model and duration."""

from __future__ import annotations

from bot.storage.connection import Connection

Kind = tuple[str, str, int]  # provider, model, duration


async def insert(conn: Connection, kind: Kind, seconds: float, job_id: int, now: float) -> bool:
    """Keep one job's time (once per job); False if it was already kept."""
    changed = await conn.execute(
        "INSERT INTO completion_times (provider, model, duration, seconds, job_id, "
        "recorded_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (*kind, seconds, job_id, now),
    )
    return changed == 1


async def keep_latest(conn: Connection, kind: Kind, keep: int) -> None:
    """Drop the times of `kind` older than its latest `keep`."""
    await conn.execute(
        "DELETE FROM completion_times WHERE provider = ? AND model = ? AND duration = ? "
        "AND id NOT IN (SELECT id FROM completion_times WHERE provider = ? AND model = ? "
        "AND duration = ? ORDER BY id DESC LIMIT ?)",
        (*kind, *kind, keep),
    )


async def latest(conn: Connection, kind: Kind, limit: int) -> list[float]:
    """The latest `limit` times of `kind`, newest first."""
    rows = await conn.fetch_all(
        "SELECT seconds FROM completion_times WHERE provider = ? AND model = ? "
        "AND duration = ? ORDER BY id DESC LIMIT ?",
        (*kind, limit),
    )
    return [float(row[0]) for row in rows]
