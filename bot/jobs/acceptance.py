"""What accepting a new job checks besides the member's quota, on the facts the job store reads
in one statement (bot/storage/jobs.py: `admission_facts`): the deployment's daily budget, one
re-run of a video at a time, where the job goes (a slot at the video service now, a place in
the server's queue, or a refusal when both are full: bot/jobs/queue.py) and the cooldown.

The same rules answer twice: a quick look before an image is downloaded or a member looked
up (`JobStore.preview`, no lock), and the atomic check with the hold (`JobStore.submit`).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import Refusal, RefusalKind
from bot.i18n import Text
from bot.jobs.queue import Occupancy, SlotCaps, SlotCounts, placement
from bot.models import JobState
from bot.quota import allowance as quotas
from bot.quota.allowance import Allowance
from bot.quota.budget import DailyBudget
from bot.storage.connection import Connection
from bot.storage.jobs import AdmissionFacts

# Locks, in the order every process takes them: the member's, the server's, then this one for
# the facts of the whole deployment (the daily budget, the jobs at the video service across
# every server). Admission and the start of waiting jobs take them in that order, so they
# never wait for each other in a circle.
DEPLOYMENT_LOCK = ("deployment",)


def rerun_in_progress_message(parent_job_id: int) -> Text:
    return Text("admission.rerun_in_progress", job=parent_job_id)


def member_lock(guild_id: int, user_id: int) -> tuple[object, ...]:
    return ("member", guild_id, user_id)


def guild_lock(guild_id: int) -> tuple[object, ...]:
    return ("guild", guild_id)


@dataclass(frozen=True)
class AcceptanceRules:
    caps: SlotCaps
    daily_budget: DailyBudget | None = None  # None: no DAILY_VIDEO_BUDGET

    @property
    def deployment_wide(self) -> bool:
        """Whether accepting reads facts of the whole deployment (and so takes its lock)."""
        return self.daily_budget is not None or self.caps.provider is not None

    def locks(self, guild_id: int, user_id: int) -> tuple[tuple[object, ...], ...]:
        """The locks a submit holds until it commits, in the one order (see DEPLOYMENT_LOCK)."""
        locks = (member_lock(guild_id, user_id), guild_lock(guild_id))
        return (*locks, DEPLOYMENT_LOCK) if self.deployment_wide else locks

    def budget_span(self, now: float) -> tuple[float, float] | None:
        """The day whose accepted videos count against the budget, if there is one."""
        if self.daily_budget is None:
            return None
        day = self.daily_budget.day(now)
        return day.start, day.end

    def accepted_state(
        self, parent_job_id: int | None, facts: AdmissionFacts, allowance: Allowance, now: float
    ) -> JobState:
        """Where the job goes (the quota aside): `QUEUED`, with a slot at the video service
        now, or `WAITING` in the server's queue; raises `Refusal` when it cannot be accepted.
        A waiting job counts towards the daily budget like one sent at once: it holds its
        unit, and it will be sent without asking again."""
        budget, used = self.daily_budget, facts.budget_used
        if budget is not None and used is not None and used >= budget.limit:
            raise budget.refusal(budget.day(now))
        if parent_job_id is not None and facts.rerunning:
            # One re-run of a video per member at a time, checked with the insert: a double
            # click on Re-run (or a 🔁 and a click together) must not start two paid jobs.
            raise Refusal(rerun_in_progress_message(parent_job_id), RefusalKind.TOO_MANY_ACTIVE)
        state = placement(
            self.caps,
            Occupancy(
                SlotCounts(facts.mine_at_service, facts.guild_at_service, facts.all_at_service),
                member_waiting=facts.mine_waiting,
                guild_waiting=facts.guild_waiting,
                waiting_anywhere=facts.all_waiting,
            ),
        )
        last = facts.last_created_at
        if last is not None and now - last < allowance.cooldown_seconds:
            until = last + allowance.cooldown_seconds
            raise Refusal(quotas.cooldown_message(until), RefusalKind.COOLDOWN)
        return state

    async def budget_alerts(
        self, conn: Connection, facts: AdmissionFacts, now: float
    ) -> list[Text]:
        """The alerts a job just accepted raises about the day's budget (see
        `DailyBudget.alerts_raised`), inside the accepting transaction."""
        budget = self.daily_budget
        if budget is None or facts.budget_used is None:
            return []
        return await budget.alerts_raised(conn, budget.day(now), facts.budget_used + 1, now)
