"""Allowance rules and the quota ledger.

Usage in a period is the sum of ledger `units` for that period: a hold adds 1, a release takes
it back, a charge turns the hold into a spend without changing the sum. The hold row records
the period it counts against, so a job that ends after midnight refunds the day it was taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import aiosqlite


@dataclass(frozen=True)
class QuotaPeriod:
    kind: str  # day | week | month
    timezone: ZoneInfo

    def start_of(self, moment: float) -> datetime:
        local = datetime.fromtimestamp(moment, self.timezone)
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.kind == "week":
            day -= timedelta(days=day.weekday())
        elif self.kind == "month":
            day = day.replace(day=1)
        # Rebuild through the zone so a DST change between the two instants is respected.
        return datetime(day.year, day.month, day.day, tzinfo=self.timezone)

    def key(self, moment: float) -> str:
        """A stable label for the period containing `moment`, stored on ledger rows."""
        return self.start_of(moment).date().isoformat()

    def next_reset(self, moment: float) -> float:
        start = self.start_of(moment)
        if self.kind == "day":
            nxt = start.date() + timedelta(days=1)
        elif self.kind == "week":
            nxt = start.date() + timedelta(days=7)
        else:
            nxt = (start.date().replace(day=28) + timedelta(days=4)).replace(day=1)
        return datetime(nxt.year, nxt.month, nxt.day, tzinfo=self.timezone).timestamp()

    @property
    def noun(self) -> str:
        return {"day": "today", "week": "this week", "month": "this month"}[self.kind]


@dataclass(frozen=True)
class Allowance:
    limit: int
    period: QuotaPeriod


class QuotaPolicy:
    """Who may generate and how much. Here: the configured default for every member."""

    def __init__(self, default_limit: int, period: QuotaPeriod) -> None:
        self.default_limit = default_limit
        self.period = period

    async def allowance(self, guild_id: int, user_id: int, role_ids: tuple[int, ...]) -> Allowance:
        return Allowance(self.default_limit, self.period)

    async def check_admission(self, guild_id: int, user_id: int, prompt: str) -> None:
        """Raise `SubmissionRefused` for members or prompts that may not generate at all."""
        return None


async def usage(conn: aiosqlite.Connection, guild_id: int, user_id: int, period_key: str) -> int:
    cursor = await conn.execute(
        "SELECT COALESCE(SUM(units), 0) FROM quota_ledger "
        "WHERE guild_id = ? AND user_id = ? AND period_start = ?",
        (guild_id, user_id, period_key),
    )
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def write_hold(
    conn: aiosqlite.Connection,
    job_id: int,
    guild_id: int,
    user_id: int,
    period_key: str,
    now: float,
) -> None:
    await conn.execute(
        "INSERT INTO quota_ledger (guild_id, user_id, job_id, kind, units, period_start, "
        "actor_id, reason, created_at) VALUES (?, ?, ?, 'hold', 1, ?, ?, 'job accepted', ?)",
        (guild_id, user_id, job_id, period_key, user_id, now),
    )


async def write_outcome(
    conn: aiosqlite.Connection, job_id: int, kind: str, reason: str, now: float
) -> bool:
    """Charge or release the job's hold; False if it had no hold or already has an outcome.

    The unique index on (job_id) for outcomes makes a second charge or release impossible.
    """
    assert kind in ("charge", "release")
    cursor = await conn.execute(
        "INSERT OR IGNORE INTO quota_ledger (guild_id, user_id, job_id, kind, units, "
        "period_start, actor_id, reason, created_at) "
        "SELECT guild_id, user_id, job_id, ?, ?, period_start, NULL, ?, ? "
        "FROM quota_ledger WHERE job_id = ? AND kind = 'hold'",
        (kind, 0 if kind == "charge" else -1, reason, now, job_id),
    )
    return cursor.rowcount == 1
