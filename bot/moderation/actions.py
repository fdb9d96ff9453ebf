"""The moderators' actions, and the one frame every action runs in.

`ModeratorActions.perform(actor, action, reason)` requires a moderator, checks the reason and
the action's own arguments, then makes the change and writes its one audit row in the same
transaction, so the record can never miss a change or show one that did not happen. It takes
plain ids and answers with words (`Done`) or `Refusal`, so any front end (the `/quota`
commands, a web page) runs the same rules, ceilings and records through it; the record says
which front end it came through (`Actor.via`: the web dashboard's actions are marked).

An action is a small value (`SetLimit(member_id=7, limit=10)`): `validated` checks its
arguments before anything is opened, `apply` makes the change inside the transaction and says
what it did (`Change`), or raises `Refusal` to change nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import ClassVar, Self

from bot.clock import Clock
from bot.config import DEFAULT_MAX_QUOTA_LIMIT
from bot.errors import Refusal
from bot.i18n import AUTO, Text, listing
from bot.jobs.withdrawal import cancel_members_waiting
from bot.models import Actor
from bot.moderation import languages
from bot.moderation.permissions import Moderators
from bot.moderation.wording import allowance_text, language_name, this_period_text, was_text
from bot.quota import allowance as quotas
from bot.quota import blocklist
from bot.quota.allowance import QuotaPolicy
from bot.storage import audit as audit_rows
from bot.storage import blocklist as blocklist_rows
from bot.storage import ledger as ledger_rows
from bot.storage import pictures as picture_rows
from bot.storage import rules as rule_rows
from bot.storage.audit import Action
from bot.storage.connection import Connection
from bot.storage.database import Database

MAX_REASON_CHARS = 200
# Whose messages "Make a video" may take a picture from: the member's own, or anyone's.
OWN_PICTURES, ANYONES_PICTURES = "own", "anyone"
PICTURE_SETTINGS = (OWN_PICTURES, ANYONES_PICTURES)
PERIODS = ("day", "week", "month")


@dataclass(frozen=True)
class Done:
    reply: Text  # for the moderator, privately, in their language
    log_line: Text  # for QUOTA_LOG_CHANNEL_ID, in the server's; never holds a blocklist term
    action_id: int


@dataclass(frozen=True)
class Change:
    """What an action did: the audit row's phrase and targets, and a note for the moderator."""

    detail: Text  # without its subject: "set <@7>'s personal limit to 10 (was not set)"
    target_user_id: int | None = None
    target_role_id: int | None = None
    term: str | None = None  # blocklist entries only; shown to moderators, never posted
    ledger_id: int | None = None
    note: Text | str | None = None  # said to the moderator after the detail, never posted


@dataclass(frozen=True)
class Deed:
    """What the frame hands an action: the open transaction, who acts, why and when."""

    conn: Connection
    actor: Actor
    reason: str | None
    now: float
    policy: QuotaPolicy

    @property
    def guild_id(self) -> int:
        return self.actor.guild_id


class ModeratorAction(ABC):
    """One thing a moderator may do; `name` is its audit rows' action."""

    name: ClassVar[str]

    def validated(self) -> Self:
        """The action with its arguments checked (and normalised), or `Refusal`."""
        return self

    def limit_asked(self) -> int | None:
        """The allowance this action sets, which the frame holds to the operator's ceiling."""
        return None

    def grant_asked(self) -> int | None:
        """The videos this action gives (or, negative, takes), held to the same ceiling."""
        return None

    @abstractmethod
    async def apply(self, deed: Deed) -> Change: ...


class ModeratorActions:
    """The frame: who may act, the reason, one transaction, one audit row."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        policy: QuotaPolicy,
        moderators: Moderators,
        ceiling: int = DEFAULT_MAX_QUOTA_LIMIT,
    ) -> None:
        self.db = db
        self.clock = clock
        self.policy = policy
        self.moderators = moderators
        # MAX_QUOTA_LIMIT: the operator's, over every moderator of every server.
        self.ceiling = ceiling

    async def perform(
        self, actor: Actor, action: ModeratorAction, reason: str | None = None
    ) -> Done:
        self.moderators.require(actor)
        reason = validated_reason(reason)
        self._hold_to_ceiling(action)
        action = action.validated()
        now = self.clock.now()
        async with self.db.transaction() as conn:
            change = await action.apply(Deed(conn, actor, reason, now, self.policy))
            record = Action(
                action.name,
                change.detail,
                target_user_id=change.target_user_id,
                target_role_id=change.target_role_id,
                reason=reason,
                term=change.term,
                ledger_id=change.ledger_id,
                via=actor.via,  # the quota log marks an action taken on the web dashboard
            )
            action_id = await audit_rows.record(conn, actor.guild_id, actor.user_id, record, now)
        return Done(_reply(change), _log_line(actor, change.detail, reason), action_id)

    def _hold_to_ceiling(self, action: ModeratorAction) -> None:
        """One rule for every limit and grant, from any front end: 0 to MAX_QUOTA_LIMIT for a
        limit, at most MAX_QUOTA_LIMIT given or taken by one grant."""
        most = self.ceiling
        limit = action.limit_asked()
        if limit is not None and limit < 0:
            raise Refusal(Text("quota.refusal.limit", most=most))
        if limit is not None and limit > most:
            raise Refusal(Text("access.ceiling.limit", most=most))
        grant = action.grant_asked()
        if grant == 0:
            raise Refusal(Text("quota.refusal.grant_amount", most=most))
        if grant is not None and abs(grant) > most:
            raise Refusal(Text("access.ceiling.grant", most=most))


def _reply(change: Change) -> Text:
    if change.note is None:
        return Text("quota.done", detail=change.detail)
    return Text("quota.done_with_note", detail=change.detail, note=change.note)


def _log_line(actor: Actor, detail: Text, reason: str | None) -> Text:
    who = f"<@{actor.user_id}>"
    if not reason:
        return Text("quota.log_line", actor=who, detail=detail)
    return Text("quota.log_line_reason", actor=who, detail=detail, reason=reason)


def validated_reason(reason: str | None) -> str | None:
    """The reason on one line, or None when there is none; `Refusal` if it is too long."""
    if reason is None:
        return None
    text = " ".join(reason.split())
    if len(text) > MAX_REASON_CHARS:
        raise Refusal(Text("quota.refusal.reason", most=MAX_REASON_CHARS))
    return text or None


def _member(member_id: int) -> str:
    return f"<@{member_id}>"


def _role(role_id: int) -> str:
    return f"<@&{role_id}>"


# -- limits ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetLimit(ModeratorAction):
    """A member's personal limit, which replaces the server's and their roles'."""

    name: ClassVar[str] = "set_limit"
    member_id: int
    limit: int

    def limit_asked(self) -> int:
        return self.limit

    async def apply(self, deed: Deed) -> Change:
        before = await rule_rows.get_override(deed.conn, deed.guild_id, self.member_id)
        await rule_rows.set_override(
            deed.conn, deed.guild_id, self.member_id, self.limit, deed.actor.user_id, deed.now
        )
        detail = Text(
            "quota.action.set_limit",
            member=_member(self.member_id),
            limit=self.limit,
            was=was_text(before),
        )
        return Change(detail, target_user_id=self.member_id)


@dataclass(frozen=True)
class ClearLimit(ModeratorAction):
    name: ClassVar[str] = "clear_limit"
    member_id: int

    async def apply(self, deed: Deed) -> Change:
        member = _member(self.member_id)
        before = await rule_rows.get_override(deed.conn, deed.guild_id, self.member_id)
        if before is None:
            raise Refusal(Text("quota.refusal.no_limit", member=member))
        await rule_rows.clear_override(deed.conn, deed.guild_id, self.member_id)
        detail = Text("quota.action.clear_limit", member=member, was=before)
        return Change(detail, target_user_id=self.member_id)


@dataclass(frozen=True)
class SetDefault(ModeratorAction):
    """The server's allowance for everyone without a role or personal limit."""

    name: ClassVar[str] = "set_default"
    limit: int
    period: str

    def limit_asked(self) -> int:
        return self.limit

    def validated(self) -> Self:
        if self.period not in PERIODS:
            periods = listing(Text(f"quota.choice.{name}") for name in PERIODS)
            raise Refusal(Text("quota.refusal.period", periods=periods))
        return self

    async def apply(self, deed: Deed) -> Change:
        before = await rule_rows.guild_default(deed.conn, deed.guild_id)
        await rule_rows.set_guild_default(
            deed.conn, deed.guild_id, self.limit, self.period, deed.actor.user_id, deed.now
        )
        if before is None:
            defaults = deed.policy.defaults
            settings = allowance_text(defaults.limit, defaults.period)
            was: Text = Text("quota.was.settings", allowance=settings)
        else:
            was = allowance_text(before.limit, before.period)
        allowance = allowance_text(self.limit, self.period)
        return Change(Text("quota.action.set_default", allowance=allowance, was=was))


@dataclass(frozen=True)
class SetRole(ModeratorAction):
    name: ClassVar[str] = "set_role"
    role_id: int
    limit: int

    def limit_asked(self) -> int:
        return self.limit

    async def apply(self, deed: Deed) -> Change:
        before = await rule_rows.get_role_limit(deed.conn, deed.guild_id, self.role_id)
        await rule_rows.set_role_limit(
            deed.conn, deed.guild_id, self.role_id, self.limit, deed.actor.user_id, deed.now
        )
        role = _role(self.role_id)
        detail = Text("quota.action.set_role", role=role, limit=self.limit, was=was_text(before))
        return Change(detail, target_role_id=self.role_id)


@dataclass(frozen=True)
class ClearRole(ModeratorAction):
    name: ClassVar[str] = "clear_role"
    role_id: int

    async def apply(self, deed: Deed) -> Change:
        role = _role(self.role_id)
        before = await rule_rows.get_role_limit(deed.conn, deed.guild_id, self.role_id)
        if before is None:
            raise Refusal(Text("quota.refusal.no_role_limit", role=role))
        await rule_rows.clear_role_limit(deed.conn, deed.guild_id, self.role_id)
        detail = Text("quota.action.clear_role", role=role, was=before)
        return Change(detail, target_role_id=self.role_id)


# -- usage -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant(ModeratorAction):
    """Add (or, negative, take away) bonus videos that do not reset with the period."""

    name: ClassVar[str] = "grant"
    member_id: int
    amount: int

    def grant_asked(self) -> int:
        return self.amount

    async def apply(self, deed: Deed) -> Change:
        conn, guild_id, member = deed.conn, deed.guild_id, _member(self.member_id)
        await conn.lock(("member", guild_id, self.member_id))  # the same lock as a submit
        # A grant lowers usage: its units are the negative of the videos given.
        ledger_id = await ledger_rows.insert_adjustment(
            conn,
            guild_id,
            self.member_id,
            "grant",
            -self.amount,
            None,
            deed.actor.user_id,
            deed.reason,
            deed.now,
        )
        bonus = await quotas.bonus_balance(conn, guild_id, self.member_id)
        if self.amount > 0:
            detail = Text("quota.action.grant", self.amount, member=member)
        else:
            detail = Text("quota.action.take", -self.amount, member=member)
        if bonus >= 0:
            note = Text("quota.note.bonus_now", bonus=bonus)
        else:
            note = Text("quota.note.owes", owed=-bonus)
        return Change(detail, target_user_id=self.member_id, ledger_id=ledger_id, note=note)


@dataclass(frozen=True)
class Reset(ModeratorAction):
    """Give back what the member used this period. Videos still in progress keep their hold:
    they are charged or given back as usual when they finish."""

    name: ClassVar[str] = "reset"
    member_id: int

    async def apply(self, deed: Deed) -> Change:
        conn, guild_id, member = deed.conn, deed.guild_id, _member(self.member_id)
        await conn.lock(("member", guild_id, self.member_id))  # the same lock as a submit
        period = await deed.policy.period_in(conn, guild_id)
        this_period = this_period_text(period.kind)
        used = await quotas.period_usage(conn, guild_id, self.member_id, period, deed.now)
        pending = await quotas.pending_holds(conn, guild_id, self.member_id, period, deed.now)
        returned = used - pending
        if returned <= 0:
            nothing = Text("quota.refusal.nothing_to_reset", member=member, period=this_period)
            if pending:
                nothing = Text("quota.refusal.nothing_to_reset_pending", pending, first=nothing)
            raise Refusal(nothing)
        ledger_id = await ledger_rows.insert_adjustment(
            conn,
            guild_id,
            self.member_id,
            "adjustment",
            -returned,
            period.day_key(deed.now),
            deed.actor.user_id,
            deed.reason,
            deed.now,
        )
        detail = Text("quota.action.reset", returned, member=member, period=this_period)
        return Change(detail, target_user_id=self.member_id, ledger_id=ledger_id)


# -- blocks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block(ModeratorAction):
    name: ClassVar[str] = "block"
    member_id: int

    async def apply(self, deed: Deed) -> Change:
        member = _member(self.member_id)
        if not await rule_rows.add_block(
            deed.conn, deed.guild_id, self.member_id, deed.reason, deed.actor.user_id, deed.now
        ):
            raise Refusal(Text("quota.refusal.already_blocked", member=member))
        # What waits in the queue was not sent yet: it is not made, its units given back (a
        # job accepted while this commits is caught when it would start: bot/jobs/queue_store.py).
        cancelled = await cancel_members_waiting(
            deed.conn, deed.guild_id, self.member_id, deed.now, by=deed.actor.user_id
        )
        detail = Text("quota.action.block", member=member)
        note = Text("quota.note.block")
        if cancelled:
            note = Text("quota.note.block_queue", len(cancelled), first=note)
        return Change(detail, target_user_id=self.member_id, note=note)


@dataclass(frozen=True)
class Unblock(ModeratorAction):
    name: ClassVar[str] = "unblock"
    member_id: int

    async def apply(self, deed: Deed) -> Change:
        member = _member(self.member_id)
        if not await rule_rows.remove_block(deed.conn, deed.guild_id, self.member_id):
            raise Refusal(Text("quota.refusal.not_blocked", member=member))
        return Change(Text("quota.action.unblock", member=member), target_user_id=self.member_id)


# -- the prompt blocklist ----------------------------------------------------------------------


@dataclass(frozen=True)
class BlocklistAdd(ModeratorAction):
    name: ClassVar[str] = "blocklist_add"
    term: str

    def validated(self) -> Self:
        return replace(self, term=blocklist.normalise_term(self.term))

    async def apply(self, deed: Deed) -> Change:
        conn, guild_id = deed.conn, deed.guild_id
        if await blocklist_rows.find(conn, guild_id, self.term) is not None:
            raise Refusal(Text("quota.refusal.blocklist_duplicate"))
        if await blocklist_rows.count(conn, guild_id) >= blocklist.MAX_ENTRIES_PER_GUILD:
            raise Refusal(
                Text("quota.refusal.blocklist_full", most=blocklist.MAX_ENTRIES_PER_GUILD)
            )
        entry = await blocklist_rows.add(conn, guild_id, self.term, deed.actor.user_id, deed.now)
        detail = Text("quota.action.blocklist_add", entry=entry.id)
        return Change(detail, term=self.term, note=f"(||{self.term}||)")


@dataclass(frozen=True)
class BlocklistRemove(ModeratorAction):
    name: ClassVar[str] = "blocklist_remove"
    term: str

    def validated(self) -> Self:
        return replace(self, term=blocklist.normalise_term(self.term))

    async def apply(self, deed: Deed) -> Change:
        entry = await blocklist_rows.find(deed.conn, deed.guild_id, self.term)
        if entry is None:
            raise Refusal(Text("quota.refusal.blocklist_missing"))
        await blocklist_rows.remove(deed.conn, entry)
        detail = Text("quota.action.blocklist_remove", entry=entry.id)
        return Change(detail, term=self.term, note=f"(||{self.term}||)")


# -- the server's language ---------------------------------------------------------------------


@dataclass(frozen=True)
class SetLanguage(ModeratorAction):
    """The language of the server's public messages: `auto` or one with a catalog."""

    name: ClassVar[str] = "set_language"
    setting: str

    def validated(self) -> Self:
        choices = languages.server_choices()
        if self.setting not in choices:
            names = listing(language_name(name) for name in choices)
            raise Refusal(Text("quota.refusal.language", choices=names))
        return self

    async def apply(self, deed: Deed) -> Change:
        before = await languages.set_server_language(
            deed.conn, deed.guild_id, self.setting, deed.actor.user_id, deed.now
        )
        language = language_name(self.setting)
        if (before or AUTO) == self.setting:
            raise Refusal(Text("quota.refusal.language_unchanged", language=language))
        was = language_name(before or AUTO)
        return Change(Text("quota.action.set_language", language=language, was=was))


@dataclass(frozen=True)
class SetPictures(ModeratorAction):
    """Whether "Make a video" may take its picture from anyone's message here, or only from
    the member's own (the default: a picture is used only with its poster's say-so)."""

    name: ClassVar[str] = "set_pictures"
    setting: str  # one of `PICTURE_SETTINGS`

    def validated(self) -> Self:
        if self.setting not in PICTURE_SETTINGS:
            raise Refusal(Text("access.refusal.pictures_setting"))
        return self

    async def apply(self, deed: Deed) -> Change:
        anyone = self.setting == ANYONES_PICTURES
        if await picture_rows.others_allowed(deed.conn, deed.guild_id) == anyone:
            raise Refusal(Text(f"access.refusal.pictures_unchanged.{self.setting}"))
        await picture_rows.set_others_allowed(
            deed.conn, deed.guild_id, anyone, deed.actor.user_id, deed.now
        )
        return Change(Text(f"access.action.pictures.{self.setting}"))
