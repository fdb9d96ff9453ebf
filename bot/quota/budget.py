"""DAILY_VIDEO_BUDGET: the most videos the deployment accepts in a day, across every server.

A day is a calendar day in QUOTA_TIMEZONE, like a day of the quota. A video counts from the
moment its job is accepted (held), whether it goes to the video service at once or waits in
its server's queue, and stays counted once charged; a job that failed, expired or was
cancelled gave it back. The check runs in the transaction that writes the job and its hold,
under the deployment-wide lock every process takes after the member's and the server's
(bot/jobs/acceptance.py), so a burst of requests, on one process or several, cannot pass it
together (bot/jobs/store.py). The operator is alerted once a day
at 80 % and once at 100 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.errors import Refusal, RefusalKind
from bot.i18n import Text
from bot.quota.allowance import QuotaPeriod
from bot.storage import budget as budget_rows
from bot.storage.connection import Connection

# Per cent of the budget at which the operator hears of it, once a day each.
ALERT_LEVELS = (80, 100)


@dataclass(frozen=True)
class BudgetDay:
    label: str  # the local date, YYYY-MM-DD
    start: float
    end: float  # when the next day's budget starts


@dataclass(frozen=True)
class DailyBudget:
    limit: int
    timezone: ZoneInfo

    def day(self, now: float) -> BudgetDay:
        period = QuotaPeriod("day", self.timezone)
        return BudgetDay(
            period.day_key(now), period.start_of(now).timestamp(), period.next_reset(now)
        )

    def refusal(self, day: BudgetDay) -> Refusal:
        return Refusal(
            Text("access.budget.used_up", reset=int(day.end)), RefusalKind.BUDGET_EXHAUSTED
        )

    def levels_reached(self, used: int) -> list[int]:
        """The alert levels `used` videos have reached, lowest first."""
        return [level for level in ALERT_LEVELS if used >= math.ceil(self.limit * level / 100)]

    def alert(self, level: int, used: int, day: BudgetDay) -> Text:
        """What the operator and the moderators are told when `level` is reached."""
        if level >= 100:
            return Text("access.budget.reached", budget=self.limit, reset=int(day.end))
        return Text(
            "access.budget.nearly_used",
            used=used,
            budget=self.limit,
            percent=level,
            reset=int(day.end),
        )

    async def alerts_raised(
        self, conn: Connection, day: BudgetDay, used: int, now: float
    ) -> list[Text]:
        """The alert an acceptance that brought the day to `used` videos raises, if it reached a
        level not announced yet today. Claimed in the accepting transaction, so it is raised
        once whichever process accepts; when one video reaches two levels, only the highest."""
        claimed = [
            level
            for level in self.levels_reached(used)
            if await budget_rows.claim_alert(conn, day.label, level, now)
        ]
        return [self.alert(max(claimed), used, day)] if claimed else []
