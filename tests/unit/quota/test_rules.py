"""Quota rules end to end through the real admission path: periods, precedence, grants,
blocks, caps, cooldown and the prompt blocklist, against a temporary database."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.errors import Refusal
from bot.models import Actor, Job, JobState
from bot.moderation.service import ModerationService
from bot.quota import blocklist
from bot.quota.allowance import QuotaPeriod
from bot.quota.blocklist import Entry, InvalidTerm, normalise_term
from bot.storage.database import Database
from tests.support.admission import ask, make_submitter
from tests.support.doubles import FakeClock, ts
from tests.support.jobs import make_store

GUILD = 1
MEMBER = 7
MOD = Actor(guild_id=GUILD, user_id=99, manage_guild=True)
BOOSTER, ARTIST, NEWCOMER = 501, 502, 503


class Rig:
    """The admission path as /sora uses it, plus a moderator to set the rules."""

    def __init__(
        self,
        db: Database,
        clock: FakeClock,
        media: Path,
        max_active_per_guild: int | None = None,
        **defaults: Any,
    ) -> None:
        self.db = db
        self.clock = clock
        self.jobs = make_store(
            db, clock, max_active_per_member=1000, max_active_per_guild=max_active_per_guild
        )
        self.submitter = make_submitter(self.jobs, media, **{"limit": 2, **defaults})
        self.policy = self.submitter.policy
        self.mod = ModerationService(db=db, clock=clock, jobs=self.jobs, policy=self.policy)

    async def submit(
        self, user: int = MEMBER, roles: tuple[int, ...] = (), prompt: str = "a fox in the snow"
    ) -> Job:
        return await self.submitter.submit(ask(prompt, by=Actor(GUILD, user, roles)))

    async def accepted(self, attempts: int, user: int = MEMBER, **kwargs: object) -> int:
        count = 0
        for _ in range(attempts):
            try:
                await self.submit(user, **kwargs)  # type: ignore[arg-type]
            except Refusal:
                continue
            count += 1
        return count

    async def limit_of(self, user: int = MEMBER, roles: tuple[int, ...] = ()) -> int:
        return (await self.policy.allowance(GUILD, user, roles)).limit


@pytest.fixture
def rig(db: Database, clock: FakeClock, tmp_path: Path) -> Rig:
    return Rig(db, clock, tmp_path)


# -- periods --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "zone", "moment", "reset"),
    [
        ("day", "UTC", "2026-03-10T12:00:00", "2026-03-11T00:00:00"),
        ("week", "Asia/Tokyo", "2026-03-15T23:00:00", "2026-03-16T00:00:00"),  # Sunday night
        # 20:00 in New York on 31 March is already April in UTC: the zone decides.
        ("month", "America/New_York", "2026-03-31T20:00:00", "2026-04-01T00:00:00"),
        ("day", "Europe/Paris", "2026-03-29T12:00:00", "2026-03-30T00:00:00"),  # 23-hour day
    ],
)
async def test_allowance_comes_back_exactly_at_local_midnight_of_the_next_period(
    db: Database, clock: FakeClock, tmp_path: Path, kind: str, zone: str, moment: str, reset: str
) -> None:
    rig = Rig(db, clock, tmp_path, limit=1, period=kind, timezone=ZoneInfo(zone))
    clock.value = ts(moment, zone)
    await rig.submit()
    with pytest.raises(Refusal, match=rf"<t:{int(ts(reset, zone))}:R>"):
        await rig.submit()
    clock.value = ts(reset, zone) - 1
    with pytest.raises(Refusal):
        await rig.submit()
    clock.value = ts(reset, zone)
    await rig.submit()


def test_span_covers_the_dates_of_the_period() -> None:
    moment = ts("2026-03-15T12:00:00")
    utc = ZoneInfo("UTC")
    assert QuotaPeriod("day", utc).span(moment) == ("2026-03-15", "2026-03-16")
    assert QuotaPeriod("week", utc).span(moment) == ("2026-03-09", "2026-03-16")
    assert QuotaPeriod("month", utc).span(moment) == ("2026-03-01", "2026-04-01")


async def test_switching_from_day_to_week_keeps_this_weeks_usage(
    rig: Rig, clock: FakeClock
) -> None:
    clock.value = ts("2026-03-09T10:00:00")  # Monday
    await rig.mod.set_default(MOD, 2, "day")
    assert await rig.accepted(5) == 2
    clock.value = ts("2026-03-10T10:00:00")
    assert await rig.accepted(5) == 2
    # Four used since Monday: a weekly limit of 5 leaves exactly one this week.
    await rig.mod.set_default(MOD, 5, "week")
    assert await rig.accepted(5) == 1
    clock.value = ts("2026-03-16T00:00:00")
    assert await rig.accepted(10) == 5


async def test_a_failed_job_after_midnight_refunds_the_day_it_was_taken(
    rig: Rig, clock: FakeClock
) -> None:
    first = await rig.submit()
    await rig.submit()
    clock.advance(24 * 3600)
    await rig.jobs.finish_unsuccessfully(first, JobState.FAILED, "x", "failed late")
    # Today's allowance is whole, and not one more: yesterday got its unit back, not today.
    assert await rig.accepted(5) == 2


# -- precedence -----------------------------------------------------------------------------


async def test_override_beats_roles_which_beat_the_default(rig: Rig) -> None:
    roles = (BOOSTER, ARTIST)
    assert await rig.limit_of(roles=roles) == 2  # settings: DEFAULT_QUOTA
    await rig.mod.set_default(MOD, 3, "day")
    assert await rig.limit_of(roles=roles) == 3
    await rig.mod.set_role(MOD, BOOSTER, 10)
    await rig.mod.set_role(MOD, ARTIST, 6)
    allowance = await rig.policy.allowance(GUILD, MEMBER, roles)
    assert (allowance.limit, allowance.source, allowance.role_id) == (10, "role", BOOSTER)
    await rig.mod.set_limit(MOD, MEMBER, 1)
    allowance = await rig.policy.allowance(GUILD, MEMBER, roles)
    assert (allowance.limit, allowance.source) == (1, "member")
    await rig.mod.clear_limit(MOD, MEMBER)
    assert await rig.limit_of(roles=roles) == 10
    await rig.mod.clear_role(MOD, BOOSTER)
    assert await rig.limit_of(roles=roles) == 6
    assert await rig.limit_of(roles=(NEWCOMER,)) == 3  # a role without a rule: the default


async def test_a_lower_role_allowance_restricts_and_rules_are_per_guild(rig: Rig) -> None:
    await rig.mod.set_role(MOD, NEWCOMER, 0)
    with pytest.raises(Refusal, match="not enabled"):
        await rig.submit(roles=(NEWCOMER,))
    other_guild_mod = Actor(guild_id=2, user_id=99, manage_guild=True)
    await rig.mod.set_limit(other_guild_mod, MEMBER, 9)
    assert await rig.limit_of() == 2


async def test_the_limit_is_enforced_with_an_override(rig: Rig) -> None:
    await rig.mod.set_limit(MOD, MEMBER, 4)
    assert await rig.accepted(10, roles=(BOOSTER,)) == 4


# -- grants ---------------------------------------------------------------------------------


async def test_grants_outlast_the_reset_and_are_used_after_the_period(
    rig: Rig, clock: FakeClock
) -> None:
    await rig.mod.grant(MOD, MEMBER, 3)
    assert await rig.accepted(1) == 1  # from today's allowance of 2
    clock.advance(24 * 3600)
    # The bonus did not reset: 2 for the new day, then the 3 bonus videos.
    assert await rig.accepted(10) == 5
    clock.advance(24 * 3600)
    assert await rig.accepted(10) == 2  # bonus spent, the daily allowance came back


async def test_a_failed_bonus_video_gives_the_bonus_back(rig: Rig, db: Database) -> None:
    await rig.mod.grant(MOD, MEMBER, 1)
    await rig.submit()
    await rig.submit()
    from_bonus = await rig.submit()
    hold = await db.fetch_one(
        "SELECT period_start FROM quota_ledger WHERE job_id = ? AND kind = 'hold'",
        (from_bonus.id,),
    )
    assert hold is not None and hold["period_start"] is None
    await rig.jobs.finish_unsuccessfully(from_bonus, JobState.FAILED, "x", "no video")
    assert await rig.accepted(3) == 1


async def test_a_deduction_is_taken_once_from_later_allowances(rig: Rig, clock: FakeClock) -> None:
    await rig.mod.set_default(MOD, 3, "day")
    await rig.mod.grant(MOD, MEMBER, -4)
    with pytest.raises(Refusal, match="deduction still takes 1 more"):
        await rig.submit()
    clock.advance(24 * 3600)
    assert await rig.accepted(10) == 2  # the last owed video came off today's 3
    clock.advance(24 * 3600)
    assert await rig.accepted(10) == 3  # settled: a full day again


async def test_a_negative_grant_first_takes_back_bonus(rig: Rig) -> None:
    await rig.mod.grant(MOD, MEMBER, 3)
    await rig.mod.grant(MOD, MEMBER, -2)
    assert await rig.accepted(10) == 3  # 2 for the day and 1 bonus


# -- concurrency ----------------------------------------------------------------------------


@pytest.mark.parametrize(("override", "grant", "expected"), [(3, 2, 5), (5, -2, 3), (0, 4, 4)])
async def test_concurrent_submits_never_overdraw_with_overrides_and_grants(
    rig: Rig, db: Database, override: int, grant: int, expected: int
) -> None:
    await rig.mod.set_role(MOD, BOOSTER, 50)
    await rig.mod.set_limit(MOD, MEMBER, override)
    await rig.mod.grant(MOD, MEMBER, grant)

    async def attempt() -> bool:
        try:
            await rig.submit(roles=(BOOSTER,))
        except Refusal:
            return False
        return True

    outcomes = await asyncio.gather(*(attempt() for _ in range(120)))
    assert sum(outcomes) == expected
    holds = await db.fetch_one("SELECT COUNT(*) FROM quota_ledger WHERE kind = 'hold'")
    assert holds is not None and holds[0] == expected
    status = await rig.mod.status(MOD, MEMBER, (BOOSTER,))
    assert status.balance.remaining == 0 and status.balance.bonus >= 0


async def test_concurrent_submits_never_exceed_the_guild_cap(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    rig = Rig(db, clock, tmp_path, max_active_per_guild=10)

    async def attempt(user: int) -> bool:
        try:
            await rig.submit(user=user)
        except Refusal:
            return False
        return True

    outcomes = await asyncio.gather(*(attempt(user) for user in range(100, 160)))
    assert sum(outcomes) == 10


# -- abuse controls -------------------------------------------------------------------------


async def test_guild_cap_refuses_with_the_wait_and_frees_up(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    rig = Rig(db, clock, tmp_path, max_active_per_guild=2)
    first = await rig.submit(user=10)
    await rig.submit(user=11)
    with pytest.raises(
        Refusal, match=r"The server has 2 videos in progress.*Try again in a few minutes"
    ):
        await rig.submit(user=12)
    await rig.jobs.finish_unsuccessfully(first, JobState.FAILED, "x", "done")
    await rig.submit(user=12)


async def test_cooldown_between_submits_says_how_long_to_wait(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    rig = Rig(db, clock, tmp_path, limit=10, cooldown_seconds=30)
    await rig.submit()
    clock.advance(10)
    with pytest.raises(Refusal, match=rf"another one <t:{math.ceil(clock.now() + 20)}:R>"):
        await rig.submit()
    await rig.submit(user=8)  # the cooldown is per member
    clock.advance(19.5)
    # Half a second left: the moment is rounded up, never shown as already passed.
    with pytest.raises(Refusal, match=rf"another one <t:{math.ceil(clock.now() + 0.5)}:R>"):
        await rig.submit()
    clock.advance(0.5)
    await rig.submit()


async def test_a_job_that_failed_or_expired_starts_no_cooldown(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    rig = Rig(db, clock, tmp_path, limit=10, cooldown_seconds=30)
    failed = await rig.submit()
    clock.advance(5)
    await rig.jobs.finish_unsuccessfully(failed, JobState.FAILED, "generation_failed", "no")
    expired = await rig.submit()  # at once: nothing was delivered
    await rig.jobs.finish_unsuccessfully(expired, JobState.EXPIRED, "deadline", "late")
    running = await rig.submit()
    clock.advance(10)
    with pytest.raises(Refusal, match=rf"another one <t:{math.ceil(clock.now() + 20)}:R>"):
        await rig.submit()  # a job still in progress (or delivered) does start it
    await rig.jobs.finish_unsuccessfully(running, JobState.FAILED, "generation_failed", "no")
    await rig.submit()


async def test_a_refusal_spends_nothing(db: Database, clock: FakeClock, tmp_path: Path) -> None:
    rig = Rig(db, clock, tmp_path, limit=5, cooldown_seconds=30)
    await rig.submit()
    with pytest.raises(Refusal):
        await rig.submit()
    rows = await db.fetch_one("SELECT COUNT(*) FROM quota_ledger")
    assert rows is not None and rows[0] == 1


# -- blocks ---------------------------------------------------------------------------------


async def test_blocked_members_are_told_and_nothing_is_held(rig: Rig, db: Database) -> None:
    await rig.mod.block(MOD, MEMBER, "spamming")
    with pytest.raises(Refusal, match="blocked you from making videos"):
        await rig.submit()
    await rig.submit(user=8)  # only that member
    rows = await db.fetch_all("SELECT user_id FROM quota_ledger")
    assert [row[0] for row in rows] == [8]
    await rig.mod.unblock(MOD, MEMBER)
    await rig.submit()


# -- prompt blocklist -----------------------------------------------------------------------


async def test_blocklisted_prompts_are_refused_without_echoing_the_term(
    rig: Rig, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await rig.mod.blocklist_add(MOD, "Gore")
    caplog.set_level("DEBUG")
    with pytest.raises(Refusal) as refused:
        await rig.submit(prompt="A lot of GORE, please")
    assert "gore" not in str(refused.value).lower()
    assert "not allowed on this server" in str(refused.value)
    assert "gore" not in caplog.text.lower()
    assert await db.fetch_all("SELECT * FROM quota_ledger") == []
    await rig.submit(prompt="a gorge at dawn")  # whole words only


@pytest.mark.parametrize(
    ("term", "prompt", "hit"),
    [
        ("gore", "so much Gore.", True),
        ("gore", "GORE", True),
        ("gore", "gorge", False),
        ("gore", "a gored bull", False),
        ("gore*", "a gored bull", True),
        ("*gore", "splattergore", True),
        ("*gore*", "xgorex", True),
        ("blood bath", "a Blood   bath at noon", True),
        ("blood bath", "a bloodbath", False),
        ("gore", "g\u200bore", True),  # zero-width space removed
        ("ｇｏｒｅ", "gore", True),  # full-width letters fold
        ("c++", "I like C++ code", True),
        ("a.b", "axb", False),  # punctuation is literal, not a pattern
        ("(a+)+$", "aaaa", False),
        ("(a+)+$", "say (a+)+$ twice", True),
        ("straße", "STRASSE", True),  # casefold
    ],
)
def test_blocklist_matching(term: str, prompt: str, hit: bool) -> None:
    entries = [Entry(1, normalise_term(term))]
    assert (blocklist.first_match(entries, prompt) is not None) is hit


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("   ", "empty"),
        ("x" * 101, "at most 100"),
        ("a*b", "start or the end"),
        ("**", "letter or digit"),
    ],
)
def test_blocklist_entries_are_validated(raw: str, problem: str) -> None:
    with pytest.raises(InvalidTerm, match=problem):
        normalise_term(raw)


def test_blocklist_matching_stays_fast_on_hostile_prompts() -> None:
    entries = [Entry(i, normalise_term(t)) for i, t in enumerate(["*aab*", "a a a b", "*ab"])]
    prompts = ["a" * 10_000, "a " * 5_000, ("a" * 50 + " ") * 190]
    started = time.perf_counter()
    for prompt in prompts:
        assert blocklist.first_match(entries, prompt) is None
    assert time.perf_counter() - started < 1.0
