"""What the moderators' dashboard reads: jobs per day, failures, the most active members, and
the quota rules as they stand (each a few indexed queries; see migration 015)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.storage.connection import Connection


@dataclass(frozen=True)
class DayCount:
    day: int  # the index of the day in the caller's list of days
    state: str
    model: str
    provider: str
    jobs: int


@dataclass(frozen=True)
class ReasonCount:
    state: str  # failed or expired
    code: str | None
    jobs: int


@dataclass(frozen=True)
class MemberCount:
    user_id: int
    videos: int


@dataclass(frozen=True)
class RuleRow:
    target_id: int  # a member's id (overrides, blocks) or a role's id
    limit: int | None
    reason: str | None
    by: int
    at: float


async def jobs_per_day(
    conn: Connection, guild_id: int, days: Sequence[tuple[float, float]]
) -> list[DayCount]:
    """Jobs made in the server on each day, by state and model; `days` are [start, end) in
    Unix time (the caller's time zone decides where a day starts). Each day is one range of
    the (guild_id, created_at) index."""
    if not days:
        return []
    values = ", ".join(
        "(CAST(? AS BIGINT), CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION))"
        for _ in days
    )
    params: list[object] = []
    for index, (start, end) in enumerate(days):
        params += [index, start, end]
    rows = await conn.fetch_all(
        f"WITH days (day, day_start, day_end) AS (VALUES {values}) "
        "SELECT days.day, jobs.state, jobs.model, jobs.provider, COUNT(*) FROM days "
        "JOIN jobs ON jobs.guild_id = ? AND jobs.created_at >= days.day_start "
        "AND jobs.created_at < days.day_end "
        "GROUP BY days.day, jobs.state, jobs.model, jobs.provider",
        (*params, guild_id),
    )
    return [
        DayCount(int(row[0]), str(row[1]), str(row[2]), str(row[3]), int(row[4])) for row in rows
    ]


async def failure_reasons(conn: Connection, guild_id: int, since: float) -> list[ReasonCount]:
    rows = await conn.fetch_all(
        "SELECT state, error_code, COUNT(*) FROM jobs WHERE guild_id = ? AND created_at >= ? "
        "AND state IN ('failed', 'expired') GROUP BY state, error_code ORDER BY COUNT(*) DESC",
        (guild_id, since),
    )
    return [ReasonCount(str(row[0]), row[1], int(row[2])) for row in rows]


async def top_members(
    conn: Connection, guild_id: int, since: float, limit: int
) -> list[MemberCount]:
    """The members with the most videos delivered since `since`."""
    rows = await conn.fetch_all(
        "SELECT user_id, COUNT(*) FROM jobs WHERE guild_id = ? AND created_at >= ? "
        "AND state = 'delivered' GROUP BY user_id ORDER BY COUNT(*) DESC, user_id LIMIT ?",
        (guild_id, since, limit),
    )
    return [MemberCount(int(row[0]), int(row[1])) for row in rows]


async def member_overrides(conn: Connection, guild_id: int) -> list[RuleRow]:
    rows = await conn.fetch_all(
        "SELECT user_id, quota_limit, updated_by, updated_at FROM quota_member_overrides "
        "WHERE guild_id = ? ORDER BY updated_at DESC",
        (guild_id,),
    )
    return [RuleRow(int(r[0]), int(r[1]), None, int(r[2]), float(r[3])) for r in rows]


async def role_limits(conn: Connection, guild_id: int) -> dict[int, int]:
    rows = await conn.fetch_all(
        "SELECT role_id, quota_limit FROM quota_role_limits WHERE guild_id = ?", (guild_id,)
    )
    return {int(row[0]): int(row[1]) for row in rows}


async def blocks(conn: Connection, guild_id: int) -> list[RuleRow]:
    rows = await conn.fetch_all(
        "SELECT user_id, reason, blocked_by, blocked_at FROM quota_blocks WHERE guild_id = ? "
        "ORDER BY blocked_at DESC",
        (guild_id,),
    )
    return [RuleRow(int(r[0]), None, r[1], int(r[2]), float(r[3])) for r in rows]
