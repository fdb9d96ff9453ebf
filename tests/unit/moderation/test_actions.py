"""The frame every moderator action runs in: a moderator first, then the reason and the
arguments, then the change and its one audit row together, or nothing at all; and another
front end reaches it with plain ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self
from zoneinfo import ZoneInfo

import pytest

from bot.errors import Refusal
from bot.i18n import Text, render
from bot.models import Actor
from bot.moderation.actions import (
    MAX_REASON_CHARS,
    Change,
    Deed,
    Done,
    Grant,
    ModeratorAction,
    ModeratorActions,
    SetLimit,
)
from bot.moderation.permissions import NOT_A_MODERATOR, Moderators
from bot.quota.allowance import QuotaDefaults, QuotaPolicy
from bot.storage import rules as rule_rows
from bot.storage.database import Database
from tests.support.doubles import FakeClock

GUILD = 1
MEMBER = 7
MOD_ROLE = 900
MOD = Actor(GUILD, 99, role_ids=(MOD_ROLE,))
PLAIN = Actor(GUILD, MEMBER)


@pytest.fixture
def actions(db: Database, clock: FakeClock) -> ModeratorActions:
    policy = QuotaPolicy(db, QuotaDefaults(5, "day", ZoneInfo("UTC")))
    return ModeratorActions(db=db, clock=clock, policy=policy, moderators=Moderators([MOD_ROLE]))


@dataclass(frozen=True)
class Probe(ModeratorAction):
    """An action that sets a limit, then refuses if asked to: what the frame does around it."""

    name: ClassVar[str] = "set_limit"  # the audit table knows its actions by name
    member_id: int
    refuse_after_change: bool = False
    refuse_arguments: bool = False
    calls: list[str] | None = None

    def validated(self) -> Self:
        if self.calls is not None:
            self.calls.append("validated")
        if self.refuse_arguments:
            raise Refusal(Text("quota.refusal.limit", most=1000))
        return self

    async def apply(self, deed: Deed) -> Change:
        if self.calls is not None:
            self.calls.append("apply")
        await rule_rows.set_override(
            deed.conn, deed.guild_id, self.member_id, 3, deed.actor.user_id, deed.now
        )
        if self.refuse_after_change:
            raise Refusal(Text("quota.refusal.no_limit", member="x"))
        detail = Text("quota.action.set_limit", member="x", limit=3, was=1)
        return Change(detail, target_user_id=self.member_id)


async def _rows(db: Database) -> tuple[int, int]:
    actions = await db.fetch_one("SELECT COUNT(*) FROM moderation_actions")
    overrides = await db.fetch_one("SELECT COUNT(*) FROM quota_member_overrides")
    assert actions is not None and overrides is not None
    return actions[0], overrides[0]


async def test_a_member_is_refused_before_anything_is_checked_or_opened(
    actions: ModeratorActions, db: Database
) -> None:
    calls: list[str] = []
    with pytest.raises(Refusal) as refused:
        await actions.perform(PLAIN, Probe(MEMBER, refuse_arguments=True, calls=calls), "x" * 999)
    assert refused.value.reason == NOT_A_MODERATOR
    assert calls == []
    assert await _rows(db) == (0, 0)


async def test_the_reason_then_the_arguments_are_checked_before_the_transaction(
    actions: ModeratorActions, db: Database
) -> None:
    calls: list[str] = []
    too_long = "x" * (MAX_REASON_CHARS + 1)
    with pytest.raises(Refusal, match=f"at most {MAX_REASON_CHARS}"):
        await actions.perform(MOD, Probe(MEMBER, calls=calls), too_long)
    assert calls == []
    with pytest.raises(Refusal, match="between 0 and 1000"):
        await actions.perform(MOD, Probe(MEMBER, refuse_arguments=True, calls=calls))
    assert calls == ["validated"]
    assert await _rows(db) == (0, 0)


async def test_a_refusal_inside_the_action_undoes_its_change_and_records_nothing(
    actions: ModeratorActions, db: Database
) -> None:
    with pytest.raises(Refusal, match="has no personal limit"):
        await actions.perform(MOD, Probe(MEMBER, refuse_after_change=True))
    assert await _rows(db) == (0, 0)


async def test_the_change_and_its_record_are_written_together(
    actions: ModeratorActions, db: Database, clock: FakeClock
) -> None:
    done = await actions.perform(MOD, Probe(MEMBER), "  spam,\n again ")
    assert await _rows(db) == (1, 1)
    row = await db.fetch_one("SELECT * FROM moderation_actions WHERE id = ?", (done.action_id,))
    assert row is not None
    assert (row["action"], row["guild_id"], row["actor_id"], row["target_user_id"]) == (
        "set_limit",
        GUILD,
        MOD.user_id,
        MEMBER,
    )
    assert (row["reason"], row["created_at"]) == ("spam, again", clock.now())
    assert render(done.log_line, "en") == (
        "<@99> set x's personal limit to 3 (was 1) — reason: spam, again"
    )


async def test_another_front_end_calls_an_action_with_plain_ids(
    actions: ModeratorActions,
) -> None:
    # What a web page would do: who asks (ids, roles, permission), the action, the reason.
    done = await actions.perform(
        Actor(guild_id=GUILD, user_id=42, manage_guild=True), SetLimit(member_id=7, limit=10)
    )
    assert isinstance(done, Done)
    assert render(done.reply, "zh-TW").startswith("✅")
    assert render(done.log_line, "en") == ("<@42> set <@7>'s personal limit to 10 (was not set)")
    granted = await actions.perform(MOD, Grant(member_id=7, amount=2))
    assert "Their bonus is now 2." in render(granted.reply, "en")
    with pytest.raises(Refusal, match="not 0"):
        await actions.perform(MOD, Grant(member_id=7, amount=0))
