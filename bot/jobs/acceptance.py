"""What accepting a new job checks besides the member's quota, on the facts the job store reads
in one statement (bot/storage/jobs.py: `admission_facts`): the deployment's daily budget, one
re-run of a video at a time, the jobs in progress (the member's and the server's) and the
cooldown.

The same rules answer twice: a quick look before an image is downloaded or a member looked
up (`JobStore.preview`, no lock), and the atomic check with the hold (`JobStore.submit`).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import Refusal, RefusalKind
from bot.i18n import Text
from bot.quota import allowance as quotas
from bot.quota.allowance import Allowance
from bot.quota.budget import DailyBudget
from bot.storage.connection import Connection
from bot.storage.jobs import AdmissionFacts


def rerun_in_progress_message(parent_job_id: int) -> Text:
    return Text("admission.rerun_in_progress", job=parent_job_id)


@dataclass(frozen=True)
class AcceptanceRules:
    max_active_per_member: int
    daily_budget: DailyBudget | None = None  # None: no DAILY_VIDEO_BUDGET

    def budget_span(self, now: float) -> tuple[float, float] | None:
        """The day whose accepted videos count against the budget, if there is one."""
        if self.daily_budget is None:
            return None
        day = self.daily_budget.day(now)
        return day.start, day.end

    def first_refusal(
        self, parent_job_id: int | None, facts: AdmissionFacts, allowance: Allowance, now: float
    ) -> Refusal | None:
        """Why the job cannot be accepted now (the quota aside), or None."""
        budget, used = self.daily_budget, facts.budget_used
        if budget is not None and used is not None and used >= budget.limit:
            return budget.refusal(budget.day(now))
        if parent_job_id is not None and facts.rerunning:
            # One re-run of a video per member at a time, checked with the insert: a double
            # click on Re-run (or a 🔁 and a click together) must not start two paid jobs.
            return Refusal(rerun_in_progress_message(parent_job_id), RefusalKind.TOO_MANY_ACTIVE)
        if facts.active >= self.max_active_per_member:
            return Refusal(
                Text("admission.too_many_active", facts.active, most=self.max_active_per_member),
                RefusalKind.TOO_MANY_ACTIVE,
            )
        cap = allowance.max_active_per_guild
        if cap is not None and facts.in_guild >= cap:
            return quotas.guild_full_refusal(facts.in_guild)
        last = facts.last_created_at
        if last is not None and now - last < allowance.cooldown_seconds:
            until = last + allowance.cooldown_seconds
            return Refusal(quotas.cooldown_message(until), RefusalKind.COOLDOWN)
        return None

    async def budget_alerts(
        self, conn: Connection, facts: AdmissionFacts, now: float
    ) -> list[Text]:
        """The alerts a job just accepted raises about the day's budget (see
        `DailyBudget.alerts_raised`), inside the accepting transaction."""
        budget = self.daily_budget
        if budget is None or facts.budget_used is None:
            return []
        return await budget.alerts_raised(conn, budget.day(now), facts.budget_used + 1, now)
