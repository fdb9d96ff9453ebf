"""What accepting a job locks, and in which order: the member's, the server's, then (with a
daily budget or a deployment-wide cap on jobs at the video service) the deployment's. The start
of a waiting job takes the same locks in the same order (bot/jobs/queue_store.py), so the two
never wait for each other in a circle; tests/unit/quota/test_budget.py runs both at once."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.jobs.acceptance import DEPLOYMENT_LOCK, AcceptanceRules
from bot.jobs.queue import SlotCaps
from bot.quota.budget import DailyBudget

MEMBER, SERVER = ("member", 1, 7), ("guild", 1)


def test_the_deployment_lock_comes_last_and_only_when_deployment_facts_are_read() -> None:
    assert AcceptanceRules(SlotCaps(per_member=2)).locks(1, 7) == (MEMBER, SERVER)
    budget = DailyBudget(100, ZoneInfo("UTC"))
    with_budget = AcceptanceRules(SlotCaps(per_member=2), budget)
    assert with_budget.locks(1, 7) == (MEMBER, SERVER, DEPLOYMENT_LOCK)
    with_cap = AcceptanceRules(SlotCaps(per_member=2, provider=5))
    assert with_cap.locks(1, 7) == (MEMBER, SERVER, DEPLOYMENT_LOCK)
