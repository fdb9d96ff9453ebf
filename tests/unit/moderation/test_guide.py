"""`/help`: the commands, the member's own quota as /quota view shows it, and the server's
rules as they apply now (the blocklist only said to exist)."""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from bot import i18n
from bot.models import Actor
from bot.moderation.guide import ServerRules, guide_for, guide_texts, rule_texts, wait_text
from bot.moderation.service import ModerationService
from bot.quota.allowance import QuotaDefaults, QuotaPolicy
from bot.storage.database import Database
from tests.support.doubles import FakeClock
from tests.support.jobs import make_store

GUILD = 1
MEMBER = Actor(GUILD, 7)
MOD = Actor(GUILD, 99, manage_guild=True)


@pytest.fixture
def service(db: Database, clock: FakeClock) -> ModerationService:
    defaults = QuotaDefaults(5, "day", ZoneInfo("UTC"), cooldown_seconds=45)
    jobs = make_store(db, clock, max_active_per_guild=6)
    return ModerationService(db=db, clock=clock, jobs=jobs, policy=QuotaPolicy(db, defaults))


def rendered(parts: list[i18n.Text | str], locale: str) -> str:
    return i18n.join(parts, locale)


async def test_help_shows_the_members_quota_and_the_rules_in_force(
    service: ModerationService,
) -> None:
    await service.set_default(MOD, 3, "week")
    guide = await guide_for(service, MEMBER)
    text = rendered(guide_texts(guide), "en-US")
    assert "`/sora`" in text and "Make a video" in text and "Edit & re-run" in text
    assert guide.quota == await service.view(MEMBER, MEMBER.user_id, ())
    assert guide.quota in text
    assert "Allowances start again every Monday, at midnight." in text
    assert "up to 2 videos in progress at a time" in text  # the per-member cap
    assert "The whole server can have up to 6 videos" in text
    assert "Wait 45 seconds after starting a video" in text
    assert "not allowed in prompts" not in text  # no blocklist yet
    assert "**Moderators**" not in text
    # In the member's language, the quota section included.
    taiwan = await guide_for(service, MEMBER, "zh-TW")
    assert taiwan.quota == await service.view(MEMBER, MEMBER.user_id, (), "zh-TW")
    assert "額度：每週 3 部影片（伺服器預設）" in rendered(guide_texts(taiwan), "zh-TW")


async def test_the_blocklist_is_mentioned_but_never_its_words(
    service: ModerationService,
) -> None:
    await service.blocklist_add(MOD, "splatter")
    for actor in (MEMBER, MOD):
        text = rendered(guide_texts(await guide_for(service, actor)), "en")
        assert "Some words and phrases are not allowed in prompts here" in text
        assert "splatter" not in text
    assert "**Moderators**" in text  # the last one was a moderator


def test_rules_in_each_language() -> None:
    rules = ServerRules(
        period="month",
        max_active_per_member=1,
        max_active_per_guild=None,
        cooldown_seconds=0,
        has_blocklist=False,
    )
    english = rendered(list(rule_texts(rules)), "en")
    assert "on the 1st of every month" in english
    assert "You can have 1 video in progress at a time." in english
    assert "whole server" not in english and "Wait" not in english
    assert "額度在每月 1 日午夜重置。" in rendered(list(rule_texts(rules)), "zh-TW")
    assert "额度在每月 1 日零点重置。" in rendered(list(rule_texts(rules)), "zh-CN")


def test_waits_are_said_in_seconds_then_minutes() -> None:
    assert i18n.render(wait_text(1), "en") == "1 second"
    assert i18n.render(wait_text(88.2), "en") == "89 seconds"
    assert i18n.render(wait_text(600), "en") == "10 minutes"
    assert i18n.render(wait_text(600), "zh-TW") == "10 分鐘"


async def test_help_explains_the_queue_when_there_is_one(db: Database, clock: FakeClock) -> None:
    jobs = make_store(
        db,
        clock,
        max_active_per_guild=5,
        provider_max_active=20,
        max_queued_per_member=3,
        max_queued_per_guild=50,
    )
    policy = QuotaPolicy(db, QuotaDefaults(5, "day", ZoneInfo("UTC")))
    service = ModerationService(db=db, clock=clock, jobs=jobs, policy=policy)
    english = rendered(guide_texts(await guide_for(service, MEMBER)), "en")
    assert "a new video waits in this server's queue instead of being refused" in english
    assert "you can have up to 3 videos waiting (the server up to 50)" in english
    assert "**Cancel**" in english
    assert "up to 20 videos at a time, for all its servers together" in english
    taiwan = rendered(guide_texts(await guide_for(service, MEMBER, "zh-TW")), "zh-TW")
    assert "佇列" in taiwan and "最多可以有 3 部影片在排隊" in taiwan
    mainland = rendered(guide_texts(await guide_for(service, MEMBER, "zh-CN")), "zh-CN")
    assert "队列" in mainland and "最多可以有 3 个视频在排队" in mainland
    # Without a queue, /help says nothing of one.
    jobs.caps = replace(jobs.caps, waiting_per_guild=0)
    assert "queue" not in rendered(guide_texts(await guide_for(service, MEMBER)), "en")
