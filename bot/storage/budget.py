"""The deployment's daily video budget: how many videos were accepted in a span of time, and
the record of the alerts raised about a day (bot/quota/budget.py decides what they mean)."""

from __future__ import annotations

from bot.models import RELEASED_STATES
from bot.storage.connection import Connection, marks

# Every job accepted in the span (sent at once or waiting in a queue), less those whose hold
# was released: they failed, expired or were cancelled.
GIVEN_BACK = tuple(state.value for state in RELEASED_STATES)
USED_SQL = (
    "SELECT COUNT(*) FROM jobs WHERE created_at >= ? AND created_at < ? "
    f"AND state NOT IN ({marks(GIVEN_BACK)})"
)


def used_subquery(start: float, end: float) -> tuple[str, tuple[object, ...]]:
    """The count as a scalar subquery (SQL, params), for a statement that reads it with
    other facts."""
    return f"({USED_SQL})", (start, end, *GIVEN_BACK)


async def used(conn: Connection, start: float, end: float) -> int:
    value = await conn.fetch_value(USED_SQL, (start, end, *GIVEN_BACK))
    return int(value or 0)


async def claim_alert(conn: Connection, day: str, level: int, now: float) -> bool:
    """Record that the alert for `level` per cent of `day`'s budget is raised; False if it
    already was (by this process or another)."""
    changed = await conn.execute(
        "INSERT INTO budget_alerts (day, level, raised_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (day, level, now),
    )
    return changed == 1
