"""Sync the slash commands only when they changed since the last sync.

The hash covers exactly what a sync would send (every command with its options, choices and
localizations) and the application it is sent for, so a new model, another DEV_GUILD_ID, a
changed catalog text or another bot token each cause one sync, and a plain restart none."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bot.storage.database import Database


def sync_target(guild_id: int | None) -> str:
    """Where the commands go: everywhere (global) or one development server."""
    return f"guild:{guild_id}" if guild_id else "global"


def payload_hash(application_id: int, payload: list[dict[str, Any]]) -> str:
    """A stable digest of the commands as they would be synced (key order does not matter)."""
    text = json.dumps(
        {"application_id": application_id, "commands": payload},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class SyncRecords:
    """The last synced hash per target, kept in the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def last_hash(self, target: str) -> str | None:
        row = await self.db.fetch_one(
            "SELECT payload_hash FROM command_syncs WHERE target = ?", (target,)
        )
        return str(row[0]) if row else None

    async def record(self, target: str, digest: str, now: float) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO command_syncs (target, payload_hash, synced_at) VALUES (?, ?, ?) "
                "ON CONFLICT (target) DO UPDATE SET payload_hash = excluded.payload_hash, "
                "synced_at = excluded.synced_at",
                (target, digest, now),
            )

    async def forget(self) -> int:
        """Forget every recorded sync, so the next start syncs again; the number forgotten."""
        async with self.db.transaction() as conn:
            return await conn.execute("DELETE FROM command_syncs")
