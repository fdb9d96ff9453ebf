"""The quota ledger table: one row per event, `units` the change in usage it causes in
`period_start` (hold +1, charge 0, release -1; NULL is the bonus bucket). The usage of a period
is the sum of its rows (bot/quota/allowance.py decides what the sums allow)."""

from __future__ import annotations

from bot.storage.connection import Connection

# Usage in a period (guild, user, first date, next period's first date), and the bonus
# bucket's ledger sum (guild, user): one rule, read alone or inside a larger statement.
USAGE_SQL = (
    "SELECT COALESCE(SUM(units), 0) FROM quota_ledger WHERE guild_id = ? AND user_id = ? "
    "AND period_start >= ? AND period_start < ?"
)
BONUS_SUM_SQL = (
    "SELECT COALESCE(SUM(units), 0) FROM quota_ledger "
    "WHERE guild_id = ? AND user_id = ? AND period_start IS NULL"
)


def balance_subqueries(
    guild_id: int, user_id: int, start: str, end: str
) -> tuple[str, tuple[object, ...]]:
    """The period's usage and the bonus ledger sum as two scalar subqueries (SQL, params), for
    a statement that reads them together with other facts."""
    return f"({USAGE_SQL}), ({BONUS_SUM_SQL})", (guild_id, user_id, start, end, guild_id, user_id)


async def _scalar(conn: Connection, sql: str, params: tuple[object, ...]) -> int:
    value = await conn.fetch_value(sql, params)
    return int(value) if value is not None else 0  # PostgreSQL's SUM is a Decimal


async def usage(conn: Connection, guild_id: int, user_id: int, start: str, end: str) -> int:
    return await _scalar(conn, USAGE_SQL, (guild_id, user_id, start, end))


async def bonus_sum(conn: Connection, guild_id: int, user_id: int) -> int:
    return await _scalar(conn, BONUS_SUM_SQL, (guild_id, user_id))


async def pending_holds(conn: Connection, guild_id: int, user_id: int, start: str, end: str) -> int:
    """Holds in the period whose job has no outcome yet."""
    return await _scalar(
        conn,
        "SELECT COUNT(*) FROM quota_ledger AS h WHERE h.guild_id = ? AND h.user_id = ? "
        "AND h.kind = 'hold' AND h.period_start >= ? AND h.period_start < ? "
        "AND NOT EXISTS (SELECT 1 FROM quota_ledger AS o WHERE o.job_id = h.job_id "
        "AND o.kind IN ('charge', 'release'))",
        (guild_id, user_id, start, end),
    )


async def insert_settlement(
    conn: Connection,
    guild_id: int,
    user_id: int,
    units: int,
    period_key: str | None,
    reason: str,
    now: float,
) -> None:
    """One side of settling an owed deduction (see `bot.quota.allowance.settle_owed`)."""
    await conn.execute(
        "INSERT INTO quota_ledger (guild_id, user_id, job_id, kind, units, period_start, "
        "actor_id, reason, created_at) VALUES (?, ?, NULL, 'adjustment', ?, ?, NULL, ?, ?)",
        (guild_id, user_id, units, period_key, reason, now),
    )


async def insert_hold(
    conn: Connection,
    job_id: int,
    guild_id: int,
    user_id: int,
    period_key: str | None,
    now: float,
) -> None:
    """Hold one unit for the job; `period_key` None takes it from the bonus balance."""
    await conn.execute(
        "INSERT INTO quota_ledger (guild_id, user_id, job_id, kind, units, period_start, "
        "actor_id, reason, created_at) VALUES (?, ?, ?, 'hold', 1, ?, ?, 'job accepted', ?)",
        (guild_id, user_id, job_id, period_key, user_id, now),
    )


async def insert_outcome(conn: Connection, job_id: int, kind: str, reason: str, now: float) -> bool:
    """Charge or release the job's hold; False if it had no hold or already has an outcome.

    The unique index on (job_id) for outcomes makes a second charge or release impossible.
    """
    assert kind in ("charge", "release")
    changed = await conn.execute(
        "INSERT INTO quota_ledger (guild_id, user_id, job_id, kind, units, "
        "period_start, actor_id, reason, created_at) "
        "SELECT guild_id, user_id, job_id, ?, ?, period_start, NULL, ?, ? "
        "FROM quota_ledger WHERE job_id = ? AND kind = 'hold' ON CONFLICT DO NOTHING",
        (kind, 0 if kind == "charge" else -1, reason, now, job_id),
    )
    return changed == 1


async def insert_adjustment(
    conn: Connection,
    guild_id: int,
    user_id: int,
    kind: str,
    units: int,
    period_key: str | None,
    actor_id: int,
    reason: str | None,
    now: float,
) -> int:
    """A moderator's grant (bonus, `period_key` None) or adjustment; returns the row id."""
    assert kind in ("grant", "adjustment")
    return await conn.insert_returning_id(
        "INSERT INTO quota_ledger (guild_id, user_id, job_id, kind, units, period_start, "
        "actor_id, reason, created_at) VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?)",
        (guild_id, user_id, kind, units, period_key, actor_id, reason, now),
    )
