"""The quota log (moderator actions and ledger events, as `/quota log` shows them) read one page
at a time, for the web dashboard: filtered by member, kind and time, keyset-paged.

The order is `/quota log`'s: newest first, then actions before ledger rows, then by id. A page
after the first starts below the last entry shown (its `LogCursor`); each half of the union
reads at most one page from its own index (migrations 002 and 015), so a page costs the same
on a server with a long history as on a new one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.storage.audit import LogEntry
from bot.storage.connection import Connection, marks

ACTION_KINDS = (
    "set_limit",
    "clear_limit",
    "grant",
    "reset",
    "set_default",
    "set_role",
    "clear_role",
    "block",
    "unblock",
    "blocklist_add",
    "blocklist_remove",
    "remove_video",
    "set_language",
    "set_pictures",
)
# Ledger rows a moderator action did not write (those show as the action).
LEDGER_KINDS = ("hold", "charge", "release", "adjustment", "grant")
_SOURCES = {"action": 0, "ledger": 1}  # the order of the sources at the same instant


@dataclass(frozen=True)
class LogCursor:
    """Where the previous page ended: its last entry's time, source and id."""

    created_at: float
    source: str
    id: int

    def text(self) -> str:
        return f"{self.created_at!r}_{self.source}_{self.id}"

    @classmethod
    def parse(cls, text: str) -> LogCursor | None:
        """The cursor written by `text()`, or None for anything else."""
        parts = text.split("_")
        if len(parts) != 3 or parts[1] not in _SOURCES or not parts[2].isdigit():
            return None
        try:
            created_at = float(parts[0])
        except ValueError:
            return None
        if created_at != created_at or created_at in (float("inf"), float("-inf")):
            return None
        return cls(created_at, parts[1], int(parts[2]))

    @classmethod
    def after(cls, entry: LogEntry) -> LogCursor:
        return cls(entry.created_at, entry.source, entry.id)


@dataclass(frozen=True)
class LogFilter:
    member_id: int | None = None
    kinds: tuple[str, ...] = ()  # action names and ledger kinds; empty: every kind
    since: float | None = None  # inclusive
    until: float | None = None  # exclusive


def _below(source: str, cursor: LogCursor | None) -> tuple[str, list[object]]:
    """The condition "after `cursor` in the log's order" for rows of one source."""
    if cursor is None:
        return "", []
    mine, theirs = _SOURCES[source], _SOURCES[cursor.source]
    if mine > theirs:  # at the cursor's instant, every row of this source comes after it
        return " AND created_at <= ?", [cursor.created_at]
    if mine < theirs:
        return " AND created_at < ?", [cursor.created_at]
    return " AND (created_at < ? OR (created_at = ? AND id < ?))", [
        cursor.created_at,
        cursor.created_at,
        cursor.id,
    ]


def _common(
    where: LogFilter, member_column: str, kind_column: str, kinds: Sequence[str]
) -> tuple[str, list[object]]:
    sql, params = "", list[object]()
    if where.member_id is not None:
        sql += f" AND {member_column} = ?"
        params.append(where.member_id)
    if where.kinds:
        sql += f" AND {kind_column} IN ({marks(kinds)})"
        params += list(kinds)
    if where.since is not None:
        sql += " AND created_at >= ?"
        params.append(where.since)
    if where.until is not None:
        sql += " AND created_at < ?"
        params.append(where.until)
    return sql, params


async def log_page(
    conn: Connection,
    guild_id: int,
    where: LogFilter,
    cursor: LogCursor | None,
    limit: int,
) -> list[LogEntry]:
    """Up to `limit` entries of the server's log after `cursor`, in the log's order."""
    parts: list[str] = []
    params: list[object] = []
    actions = [k for k in where.kinds if k in ACTION_KINDS] if where.kinds else ACTION_KINDS
    ledger = [k for k in where.kinds if k in LEDGER_KINDS] if where.kinds else LEDGER_KINDS
    if actions:
        common, common_params = _common(where, "target_user_id", "action", actions)
        below, below_params = _below("action", cursor)
        parts.append(
            "SELECT * FROM (SELECT 'action' AS source, id, created_at, actor_id, "
            "action AS kind, target_user_id AS user_id, detail, detail_key, detail_values, "
            "term, reason, CAST(NULL AS BIGINT) AS job_id, CAST(NULL AS BIGINT) AS units, "
            "CAST(NULL AS TEXT) AS period_start, via FROM moderation_actions "
            f"WHERE guild_id = ?{common}{below} ORDER BY created_at DESC, id DESC LIMIT ?) AS a"
        )
        params += [guild_id, *common_params, *below_params, limit]
    if ledger:
        common, common_params = _common(where, "user_id", "kind", ledger)
        below, below_params = _below("ledger", cursor)
        parts.append(
            "SELECT * FROM (SELECT 'ledger' AS source, id, created_at, actor_id, kind, "
            "user_id, CAST(NULL AS TEXT) AS detail, CAST(NULL AS TEXT) AS detail_key, "
            "CAST(NULL AS TEXT) AS detail_values, CAST(NULL AS TEXT) AS term, reason, job_id, "
            "units, period_start, CAST(NULL AS TEXT) AS via FROM quota_ledger AS l "
            f"WHERE guild_id = ?{common}{below} "
            "AND NOT EXISTS (SELECT 1 FROM moderation_actions AS m WHERE m.ledger_id = l.id) "
            "ORDER BY created_at DESC, id DESC LIMIT ?) AS b"
        )
        params += [guild_id, *common_params, *below_params, limit]
    if not parts:
        return []
    rows = await conn.fetch_all(
        " UNION ALL ".join(parts) + " ORDER BY created_at DESC, source ASC, id DESC LIMIT ?",
        (*params, limit),
    )
    return [LogEntry(**dict(row)) for row in rows]
