"""The moderation_actions table, and the quota log read from it and the ledger together
(bot/moderation/audit.py says what an entry means and how the log is paged)."""

from __future__ import annotations

from bot.moderation.audit import Action, LogEntry, stored_detail
from bot.storage.connection import Connection


async def record(conn: Connection, guild_id: int, actor_id: int, action: Action, now: float) -> int:
    detail, detail_key, detail_values = stored_detail(action.detail)
    return await conn.insert_returning_id(
        "INSERT INTO moderation_actions (guild_id, actor_id, action, target_user_id, "
        "target_role_id, detail, detail_key, detail_values, term, reason, ledger_id, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            guild_id,
            actor_id,
            action.action,
            action.target_user_id,
            action.target_role_id,
            detail,
            detail_key,
            detail_values,
            action.term,
            action.reason,
            action.ledger_id,
            now,
        ),
    )


_ACTIONS = (
    "SELECT 'action' AS source, id, created_at, actor_id, action AS kind, "
    "target_user_id AS user_id, detail, detail_key, detail_values, term, reason, "
    "CAST(NULL AS BIGINT) AS job_id, CAST(NULL AS BIGINT) AS units, "
    "CAST(NULL AS TEXT) AS period_start "
    "FROM moderation_actions WHERE guild_id = ? "
    "AND (CAST(? AS BIGINT) IS NULL OR target_user_id = ?)"
)
_LEDGER = (
    "SELECT 'ledger' AS source, id, created_at, actor_id, kind, user_id, NULL AS detail, "
    "NULL AS detail_key, NULL AS detail_values, NULL AS term, reason, job_id, units, "
    "period_start FROM quota_ledger AS l "
    "WHERE guild_id = ? AND (CAST(? AS BIGINT) IS NULL OR user_id = ?) "
    "AND NOT EXISTS (SELECT 1 FROM moderation_actions AS a WHERE a.ledger_id = l.id)"
)


async def log_entries(conn: Connection, guild_id: int, user_id: int | None) -> list[LogEntry]:
    """Every entry of the guild's log (or of one member's), newest first."""
    member = (guild_id, user_id, user_id)
    rows = await conn.fetch_all(
        f"{_ACTIONS} UNION ALL {_LEDGER} ORDER BY created_at DESC, source ASC, id DESC",
        (*member, *member),
    )
    return [LogEntry(**dict(row)) for row in rows]
