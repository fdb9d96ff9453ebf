"""MAX_QUOTA_LIMIT: the operator's ceiling over every moderator, held by the moderator-action
frame for `/quota set`, `default`, `role` and `grant` (and so for any other front end)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.errors import Refusal
from bot.jobs.store import JobStore
from bot.models import Actor
from bot.moderation.actions import Grant, SetDefault, SetLimit, SetRole
from bot.moderation.service import ModerationService
from bot.quota.allowance import QuotaDefaults, QuotaPolicy
from bot.storage.database import Database
from tests.support.doubles import FakeClock

MOD = Actor(1, 99, manage_guild=True)
CEILING = 20


@pytest.fixture
def service(db: Database, clock: FakeClock, job_store: JobStore) -> ModerationService:
    policy = QuotaPolicy(db, QuotaDefaults(5, "day", ZoneInfo("UTC")))
    return ModerationService(
        db=db, clock=clock, jobs=job_store, policy=policy, max_quota_limit=CEILING
    )


async def actions_recorded(db: Database) -> int:
    return int(await db.fetch_value("SELECT COUNT(*) FROM moderation_actions"))


@pytest.mark.parametrize(
    ("action", "words"),
    [
        (SetLimit(7, CEILING + 1), "The most a limit can be on this bot is 20 videos"),
        (SetDefault(CEILING + 1, "day"), "The most a limit can be on this bot is 20 videos"),
        (SetRole(501, 1000), "The most a limit can be on this bot is 20 videos"),
        (Grant(7, CEILING + 1), "One grant can give or take at most 20 videos"),
        (Grant(7, -(CEILING + 1)), "One grant can give or take at most 20 videos"),
    ],
)
async def test_above_the_ceiling_is_refused_with_the_ceiling_and_nothing_changes(
    service: ModerationService, db: Database, action: object, words: str
) -> None:
    with pytest.raises(Refusal) as refused:
        await service.perform(MOD, action)  # type: ignore[arg-type]
    assert refused.value.text_for("en").startswith(words)
    assert "20" in refused.value.text_for("zh-TW") and "20" in refused.value.text_for("zh-CN")
    assert await actions_recorded(db) == 0


async def test_up_to_the_ceiling_is_allowed(service: ModerationService, db: Database) -> None:
    await service.set_limit(MOD, 7, CEILING)
    await service.set_default(MOD, CEILING, "week")
    await service.set_role(MOD, 501, CEILING)
    await service.grant(MOD, 7, CEILING)
    await service.grant(MOD, 7, -CEILING)
    assert await actions_recorded(db) == 5
