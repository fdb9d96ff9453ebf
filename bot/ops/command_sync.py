"""Sync the slash commands only when they changed since the last sync.

The hash covers exactly what a sync would send (every command with its options, choices and
localizations) and the application it is sent for, so a new model, another DEV_GUILD_ID, a
changed catalog text or another bot token each cause one sync, and a plain restart none."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bot.storage import command_syncs as sync_rows
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
        async with self.db.reading() as conn:
            return await sync_rows.last_hash(conn, target)

    async def record(self, target: str, digest: str, now: float) -> None:
        async with self.db.transaction() as conn:
            await sync_rows.record(conn, target, digest, now)

    async def forget(self) -> int:
        """Forget every recorded sync, so the next start syncs again; the number forgotten."""
        async with self.db.transaction() as conn:
            return await sync_rows.forget_all(conn)
