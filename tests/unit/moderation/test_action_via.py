"""A moderator action taken on the web dashboard is recorded as such, and the quota log says
so; the same action from a Discord command is recorded as before."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.jobs.store import JobStore
from bot.models import Actor
from bot.moderation.service import ModerationService
from bot.quota.allowance import QuotaDefaults, QuotaPolicy
from bot.storage.database import Database
from tests.support.doubles import FakeClock

GUILD, MEMBER = 1, 7


async def test_the_record_and_the_log_say_where_the_action_was_taken(
    db: Database, clock: FakeClock, job_store: JobStore
) -> None:
    policy = QuotaPolicy(db, QuotaDefaults(5, "day", ZoneInfo("UTC")))
    service = ModerationService(db=db, clock=clock, jobs=job_store, policy=policy)
    await service.set_limit(Actor(GUILD, 99, manage_guild=True), MEMBER, 3)
    clock.advance(1)
    await service.grant(Actor(GUILD, 99, manage_guild=True, via="web"), MEMBER, 2, "a prize")

    rows = await db.fetch_all("SELECT action, via FROM moderation_actions ORDER BY id")
    assert [(row[0], row[1]) for row in rows] == [("set_limit", None), ("grant", "web")]
    log = await service.log(Actor(GUILD, 99, manage_guild=True), locale="en")
    grant_line, set_line = log.splitlines()[1:3]
    assert "a prize" in grant_line and grant_line.endswith("on the web dashboard")
    assert "web" not in set_line
    zh = await service.log(Actor(GUILD, 99, manage_guild=True), locale="zh-TW")
    assert "網頁管理後台" in zh
