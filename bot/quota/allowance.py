"""Allowance rules and the quota ledger.

A ledger row's `units` is the change in usage it causes; its `period_start` says where:
- a local date (YYYY-MM-DD in QUOTA_TIMEZONE), the day the unit was taken. A period's usage is
  the sum over the dates it spans, so a guild that switches from day to week neither loses nor
  double-counts what was used this week.
- NULL: the member's bonus balance, which never resets. A grant of N is a row of -N there; a
  video paid from the bonus is a hold of +1 there.
A hold adds 1, a release takes it back, a charge turns the hold into a spend (0). An outcome
copies its hold's `period_start`, so a job ending after midnight refunds the day it was taken.

The limit itself comes from rules set by moderators (bot/storage/rules.py): a member's own
override, else the highest of their roles' allowances, else the guild default, else the
settings.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.errors import Refusal, RefusalKind
from bot.i18n import Text
from bot.quota import blocklist
from bot.storage import blocklist as blocklist_rows
from bot.storage import ledger as ledger_rows
from bot.storage import rules as rule_rows
from bot.storage.connection import Connection
from bot.storage.database import Database
from bot.storage.rules import MemberRules

log = logging.getLogger(__name__)

BLOCKED_MESSAGE = Text("admission.blocked")
BLOCKLIST_MESSAGE = Text("admission.blocklist")


@dataclass(frozen=True)
class QuotaPeriod:
    kind: str  # day | week | month
    timezone: ZoneInfo

    def start_of(self, moment: float) -> datetime:
        local = datetime.fromtimestamp(moment, self.timezone)
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.kind == "week":
            day -= timedelta(days=day.weekday())
        elif self.kind == "month":
            day = day.replace(day=1)
        # Rebuild through the zone so a DST change between the two instants is respected.
        return datetime(day.year, day.month, day.day, tzinfo=self.timezone)

    def key(self, moment: float) -> str:
        """A stable label for the period containing `moment`: the date it starts."""
        return self.start_of(moment).date().isoformat()

    def day_key(self, moment: float) -> str:
        """The local date of `moment`: the label a unit taken then is stored under."""
        return datetime.fromtimestamp(moment, self.timezone).date().isoformat()

    def span(self, moment: float) -> tuple[str, str]:
        """First date of the period containing `moment`, and first date of the next one."""
        start = self.start_of(moment).date()
        return start.isoformat(), self._next_start(start).isoformat()

    def next_reset(self, moment: float) -> float:
        nxt = self._next_start(self.start_of(moment).date())
        return datetime(nxt.year, nxt.month, nxt.day, tzinfo=self.timezone).timestamp()

    def _next_start(self, start: date) -> date:
        if self.kind == "day":
            return start + timedelta(days=1)
        if self.kind == "week":
            return start + timedelta(days=7)
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


@dataclass(frozen=True)
class Allowance:
    """What one member may do now; `JobStore.submit` checks all of it inside its transaction."""

    limit: int
    period: QuotaPeriod
    source: str = "default"  # which rule gave the limit: "member", "role" or "default"
    role_id: int | None = None  # the role, when source is "role"
    cooldown_seconds: float = 0.0  # least time between two accepted jobs of one member


@dataclass(frozen=True)
class Balance:
    """A member's standing in the current period, read from the ledger."""

    limit: int
    used: int  # units counted in the current period
    bonus: int  # grants not yet used; negative while a deduction is still owed

    @property
    def period_left(self) -> int:
        """What the period still offers, once anything owed is taken from it."""
        return max(0, self.limit - self.used + min(self.bonus, 0))

    @property
    def remaining(self) -> int:
        return self.period_left + max(self.bonus, 0)

    @property
    def owed(self) -> int:
        return max(0, -self.bonus)

    @property
    def from_bonus(self) -> bool:
        """True when the next video must come out of the bonus, the period being spent."""
        return self.limit - self.used <= 0 and self.bonus > 0


@dataclass(frozen=True)
class QuotaDefaults:
    """The settings a guild without rules of its own falls back to."""

    limit: int
    period: str
    timezone: ZoneInfo
    cooldown_seconds: float = 0.0


def resolve(defaults: QuotaDefaults, rules: MemberRules) -> Allowance:
    """Override, else the highest role allowance, else the guild default, else settings.

    A role allowance replaces the default even when it is lower, so a role can also restrict.
    """
    default = rules.guild_default
    base = Allowance(
        default.limit if default else defaults.limit,
        QuotaPeriod(default.period if default else defaults.period, defaults.timezone),
        cooldown_seconds=defaults.cooldown_seconds,
    )
    if rules.override is not None:
        return replace(base, limit=rules.override, source="member")
    if rules.role_limits:
        # Highest allowance; among equals the lowest role id, so the answer is stable.
        role_id, limit = max(rules.role_limits.items(), key=lambda item: (item[1], -item[0]))
        return replace(base, limit=limit, source="role", role_id=role_id)
    return base


class QuotaPolicy:
    """Who may generate and how much, from the rules moderators set in the database."""

    def __init__(self, db: Database, defaults: QuotaDefaults) -> None:
        self.db = db
        self.defaults = defaults

    async def allowance(
        self, guild_id: int, user_id: int, role_ids: tuple[int, ...] = ()
    ) -> Allowance:
        async with self.db.transaction() as conn:
            return await self.allowance_in(conn, guild_id, user_id, role_ids)

    async def allowance_in(
        self, conn: Connection, guild_id: int, user_id: int, role_ids: tuple[int, ...]
    ) -> Allowance:
        """The same, inside a transaction the caller already holds."""
        rules = await rule_rows.member_rules(conn, guild_id, user_id, role_ids)
        return resolve(self.defaults, rules)

    async def period_in(self, conn: Connection, guild_id: int) -> QuotaPeriod:
        default = await rule_rows.guild_default(conn, guild_id)
        kind = default.period if default else self.defaults.period
        return QuotaPeriod(kind, self.defaults.timezone)

    async def admit(
        self, guild_id: int, user_id: int, role_ids: tuple[int, ...], prompt: str
    ) -> Allowance:
        """Refuse a blocked member or a blocklisted prompt, else the member's allowance: two
        reads without the write lock (the accepting transaction re-checks everything that must
        be atomic with the hold)."""
        async with self.db.reading() as conn:
            standing = await rule_rows.member_standing(conn, guild_id, user_id, role_ids)
            entries = await blocklist_rows.entries(conn, guild_id)
        refuse_if_barred(guild_id, user_id, standing.blocked, entries, prompt)
        return resolve(self.defaults, standing.rules)


def refuse_if_barred(
    guild_id: int, user_id: int, blocked: bool, entries: list[blocklist.Entry], prompt: str
) -> None:
    """Raise `Refusal` if the member is blocked or the prompt is on the blocklist: for a new
    job, and again for a waiting one when its turn comes (bot/jobs/queue_store.py)."""
    if blocked:
        raise Refusal(BLOCKED_MESSAGE, RefusalKind.MEMBER_BLOCKED)
    hit = blocklist.first_match(entries, prompt)
    if hit is not None:
        # The entry's id, never its text: the log must not repeat the matched term.
        log.info("guild %s: a prompt by %s matched blocklist entry #%s", guild_id, user_id, hit.id)
        raise Refusal(BLOCKLIST_MESSAGE, RefusalKind.PROMPT_BLOCKED)


# -- ledger ---------------------------------------------------------------------------------


def balance_of(limit: int, usage: int, bonus_sum: int) -> Balance:
    """The balance from the period's usage and the bonus bucket's ledger sum."""
    return Balance(limit, int(usage), -int(bonus_sum))


async def period_usage(
    conn: Connection, guild_id: int, user_id: int, period: QuotaPeriod, now: float
) -> int:
    start, end = period.span(now)
    return await ledger_rows.usage(conn, guild_id, user_id, start, end)


async def pending_holds(
    conn: Connection, guild_id: int, user_id: int, period: QuotaPeriod, now: float
) -> int:
    """Holds in the current period whose job has no outcome yet."""
    start, end = period.span(now)
    return await ledger_rows.pending_holds(conn, guild_id, user_id, start, end)


async def bonus_balance(conn: Connection, guild_id: int, user_id: int) -> int:
    # The bonus bucket's rows are changes in usage: the bonus is their negative.
    return -(await ledger_rows.bonus_sum(conn, guild_id, user_id))


async def read_balance(
    conn: Connection,
    guild_id: int,
    user_id: int,
    limit: int,
    period: QuotaPeriod,
    now: float,
) -> Balance:
    used = await period_usage(conn, guild_id, user_id, period, now)
    return Balance(limit, used, await bonus_balance(conn, guild_id, user_id))


async def settle_owed(
    conn: Connection,
    guild_id: int,
    user_id: int,
    balance: Balance,
    period: QuotaPeriod,
    now: float,
) -> Balance:
    """Pay what a negative grant left owing out of this period's room, as two ledger rows.

    Runs when the member asks for a video, so a deduction costs only videos they would
    otherwise have made, once, and never resets away.
    """
    units = min(balance.owed, max(0, balance.limit - balance.used))
    if units == 0:
        return balance
    reason = f"{units} owed video(s) settled from this period"
    for label, change in ((period.day_key(now), units), (None, -units)):
        await ledger_rows.insert_settlement(conn, guild_id, user_id, change, label, reason, now)
    return Balance(balance.limit, balance.used + units, balance.bonus + units)


# -- refusals (the words; `JobStore.submit` raises them) -------------------------------------


def exhausted_message(balance: Balance, period: QuotaPeriod, now: float) -> Text:
    if balance.limit == 0 and balance.bonus <= 0:
        return Text("admission.not_enabled")
    reset = int(period.next_reset(now))
    period_words = Text(f"admission.period.{period.kind}")
    if balance.owed:
        return Text("admission.exhausted_owed", balance.owed, period=period_words, reset=reset)
    return Text("admission.exhausted", balance.limit, period=period_words, reset=reset)


def guild_full_message(active: int) -> Text:
    return Text("admission.server_full", active)


def guild_full_refusal(active: int, slot_free_at: float | None = None) -> Refusal:
    """The server is at its cap; with `slot_free_at`, say when a slot is likely to free up."""
    if slot_free_at is None:
        return Refusal(guild_full_message(active), RefusalKind.SERVER_BUSY)
    return Refusal(
        Text("iterate.refusal.slot_free", reason=guild_full_message(active), at=int(slot_free_at)),
        RefusalKind.SERVER_BUSY,
    )


def cooldown_message(until: float) -> Text:
    """The member may start another video at `until` (a Discord timestamp: their own clock)."""
    return Text("admission.cooldown", at=math.ceil(until))
