"""The moderation_actions table, and the quota log read from it and the ledger together
(bot/moderation/audit.py says what an entry means and how the log is paged). The
records kept are `Action` (what a moderator did) and `LogEntry` (a line of the log)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.i18n import DEFAULT_LOCALE, Text, encode_text, render
from bot.storage.connection import Connection


@dataclass(frozen=True)
class Action:
    """What a moderator did: `detail` is a phrase without its subject, e.g.
    "set <@7>'s personal limit to 10 (was not set)", in any language. It never holds a
    blocklist term."""

    action: str
    detail: Text
    target_user_id: int | None = None
    target_role_id: int | None = None
    reason: str | None = None
    term: str | None = None  # blocklist entries only; shown to moderators, never posted
    ledger_id: int | None = None
    via: str | None = None  # None: a Discord command or button; "web": the dashboard


@dataclass(frozen=True)
class LogEntry:
    source: str  # "action" (a moderator did it) or "ledger" (a job or the bot did it)
    id: int
    created_at: float
    actor_id: int | None
    kind: str  # the action name, or the ledger kind
    user_id: int | None
    detail: str | None  # the action in English, as written (older rows have only this)
    detail_key: str | None  # the action as a message, for any language
    detail_values: str | None  # the whole message (key, values, count), JSON
    term: str | None
    reason: str | None
    job_id: int | None
    units: int | None
    period_start: str | None
    via: str | None = None  # where a moderator took the action (None: in Discord)


def stored_detail(detail: Text) -> tuple[str, str, str]:
    """What is kept of an action's `detail`: the sentence in English (as older rows have it),
    the message's key, and the whole message as JSON (to say it again in any language)."""
    return (
        render(detail, DEFAULT_LOCALE),
        detail.key,
        json.dumps(encode_text(detail), ensure_ascii=False),
    )


async def record(conn: Connection, guild_id: int, actor_id: int, action: Action, now: float) -> int:
    detail, detail_key, detail_values = stored_detail(action.detail)
    return await conn.insert_returning_id(
        "INSERT INTO moderation_actions (guild_id, actor_id, action, target_user_id, "
        "target_role_id, detail, detail_key, detail_values, term, reason, ledger_id, created_at, "
        "via) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            action.via,
        ),
    )


_ACTIONS = (
    "SELECT 'action' AS source, id, created_at, actor_id, action AS kind, "
    "target_user_id AS user_id, detail, detail_key, detail_values, term, reason, "
    "CAST(NULL AS BIGINT) AS job_id, CAST(NULL AS BIGINT) AS units, "
    "CAST(NULL AS TEXT) AS period_start, via "
    "FROM moderation_actions WHERE guild_id = ? "
    "AND (CAST(? AS BIGINT) IS NULL OR target_user_id = ?)"
)
_LEDGER = (
    "SELECT 'ledger' AS source, id, created_at, actor_id, kind, user_id, NULL AS detail, "
    "NULL AS detail_key, NULL AS detail_values, NULL AS term, reason, job_id, units, "
    "period_start, CAST(NULL AS TEXT) AS via FROM quota_ledger AS l "
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
