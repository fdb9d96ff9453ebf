"""`/quota`'s decisions, free of Discord: plain ids in, a reply out, or `Refusal`.

Every moderator action changes its rule and writes its one audit row in the same transaction,
so the record can never miss a change or show one that did not happen. Who is a moderator is
decided here, at run time, from what the member has now (see `Actor`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from bot.clock import Clock
from bot.errors import Refusal
from bot.i18n import AUTO, Text, listing, render
from bot.jobs.store import JobStore
from bot.models import Job, JobState
from bot.moderation import audit, languages
from bot.pages import page_bounds, pick_page
from bot.quota import allowance as quotas
from bot.quota import blocklist
from bot.quota.allowance import Allowance, Balance, QuotaPolicy
from bot.storage import audit as audit_rows
from bot.storage import blocklist as blocklist_rows
from bot.storage import ledger as ledger_rows
from bot.storage import rules as rule_rows
from bot.storage.audit import Action
from bot.storage.connection import Connection
from bot.storage.database import Database

MAX_LIMIT = 1000
MAX_GRANT = 1000
MAX_REASON_CHARS = 200
BLOCKLIST_PAGE_SIZE = 40
PERIODS = ("day", "week", "month")

NOT_A_MODERATOR = Text("quota.refusal.not_moderator")


@dataclass(frozen=True)
class Actor:
    """The member running a command, as they are right now."""

    guild_id: int
    user_id: int
    role_ids: tuple[int, ...] = ()
    manage_guild: bool = False


@dataclass(frozen=True)
class Done:
    reply: Text  # for the moderator, privately, in their language
    log_line: Text  # for QUOTA_LOG_CHANNEL_ID, in the server's; never holds a blocklist term
    action_id: int


@dataclass(frozen=True)
class QuotaStatus:
    member_id: int
    allowance: Allowance
    balance: Balance
    resets_at: float
    active: list[Job]
    block: rule_rows.Block | None


class ModerationService:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        jobs: JobStore,
        policy: QuotaPolicy,
        mod_role_ids: Iterable[int] = (),
    ) -> None:
        self.db = db
        self.clock = clock
        self.jobs = jobs
        self.policy = policy
        self.mod_role_ids = frozenset(mod_role_ids)

    def is_moderator(self, actor: Actor) -> bool:
        return actor.manage_guild or not self.mod_role_ids.isdisjoint(actor.role_ids)

    def may_manage_video(self, actor: Actor, job: Job) -> bool:
        """The member who asked for a video, or a moderator, may delete it or show it again."""
        return actor.user_id == job.user_id or self.is_moderator(actor)

    def _require_moderator(self, actor: Actor) -> None:
        if not self.is_moderator(actor):
            raise Refusal(NOT_A_MODERATOR)

    # -- anyone ---------------------------------------------------------------------------

    async def status(
        self, actor: Actor, member_id: int, member_role_ids: tuple[int, ...]
    ) -> QuotaStatus:
        if member_id != actor.user_id and not self.is_moderator(actor):
            raise Refusal(Text("quota.refusal.not_yours"))
        now = self.clock.now()
        async with self.db.transaction() as conn:
            allowance = await self.policy.allowance_in(
                conn, actor.guild_id, member_id, member_role_ids
            )
            balance = await quotas.read_balance(
                conn, actor.guild_id, member_id, allowance.limit, allowance.period, now
            )
            block = await rule_rows.get_block(conn, actor.guild_id, member_id)
        active = await self.jobs.active_for_member(actor.guild_id, member_id)
        return QuotaStatus(
            member_id, allowance, balance, allowance.period.next_reset(now), active, block
        )

    async def view(
        self,
        actor: Actor,
        member_id: int,
        member_role_ids: tuple[int, ...],
        locale: str | None = None,
    ) -> str:
        status = await self.status(actor, member_id, member_role_ids)
        lines = status_lines(status, show_block_reason=self.is_moderator(actor), locale=locale)
        return "\n".join(lines)

    # -- moderators: limits ---------------------------------------------------------------

    async def set_limit(
        self, actor: Actor, member_id: int, limit: int, reason: str | None = None
    ) -> Done:
        self._require_moderator(actor)
        limit, reason = _check_limit(limit), _check_reason(reason)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            before = await rule_rows.get_override(conn, actor.guild_id, member_id)
            await rule_rows.set_override(conn, actor.guild_id, member_id, limit, actor.user_id, now)
            action = Action(
                "set_limit",
                Text(
                    "quota.action.set_limit",
                    member=f"<@{member_id}>",
                    limit=limit,
                    was=_was(before),
                ),
                target_user_id=member_id,
                reason=reason,
            )
            return await self._record(conn, actor, action, now)

    async def clear_limit(self, actor: Actor, member_id: int, reason: str | None = None) -> Done:
        self._require_moderator(actor)
        reason = _check_reason(reason)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            before = await rule_rows.get_override(conn, actor.guild_id, member_id)
            if before is None:
                raise Refusal(Text("quota.refusal.no_limit", member=f"<@{member_id}>"))
            await rule_rows.clear_override(conn, actor.guild_id, member_id)
            action = Action(
                "clear_limit",
                Text("quota.action.clear_limit", member=f"<@{member_id}>", was=before),
                target_user_id=member_id,
                reason=reason,
            )
            return await self._record(conn, actor, action, now)

    async def set_default(
        self, actor: Actor, limit: int, period: str, reason: str | None = None
    ) -> Done:
        self._require_moderator(actor)
        limit, reason = _check_limit(limit), _check_reason(reason)
        if period not in PERIODS:
            periods = listing(Text(f"quota.choice.{name}") for name in PERIODS)
            raise Refusal(Text("quota.refusal.period", periods=periods))
        now = self.clock.now()
        async with self.db.transaction() as conn:
            before = await rule_rows.guild_default(conn, actor.guild_id)
            await rule_rows.set_guild_default(
                conn, actor.guild_id, limit, period, actor.user_id, now
            )
            if before is None:
                defaults = self.policy.defaults
                was = Text(
                    "quota.was.settings", allowance=allowance_text(defaults.limit, defaults.period)
                )
            else:
                was = allowance_text(before.limit, before.period)
            action = Action(
                "set_default",
                Text("quota.action.set_default", allowance=allowance_text(limit, period), was=was),
                reason=reason,
            )
            return await self._record(conn, actor, action, now)

    async def set_role(
        self, actor: Actor, role_id: int, limit: int, reason: str | None = None
    ) -> Done:
        self._require_moderator(actor)
        limit, reason = _check_limit(limit), _check_reason(reason)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            before = await rule_rows.get_role_limit(conn, actor.guild_id, role_id)
            await rule_rows.set_role_limit(conn, actor.guild_id, role_id, limit, actor.user_id, now)
            action = Action(
                "set_role",
                Text("quota.action.set_role", role=f"<@&{role_id}>", limit=limit, was=_was(before)),
                target_role_id=role_id,
                reason=reason,
            )
            return await self._record(conn, actor, action, now)

    async def clear_role(self, actor: Actor, role_id: int, reason: str | None = None) -> Done:
        self._require_moderator(actor)
        reason = _check_reason(reason)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            before = await rule_rows.get_role_limit(conn, actor.guild_id, role_id)
            if before is None:
                raise Refusal(Text("quota.refusal.no_role_limit", role=f"<@&{role_id}>"))
            await rule_rows.clear_role_limit(conn, actor.guild_id, role_id)
            action = Action(
                "clear_role",
                Text("quota.action.clear_role", role=f"<@&{role_id}>", was=before),
                target_role_id=role_id,
                reason=reason,
            )
            return await self._record(conn, actor, action, now)

    # -- moderators: usage ----------------------------------------------------------------

    async def grant(
        self, actor: Actor, member_id: int, amount: int, reason: str | None = None
    ) -> Done:
        """Add (or, negative, take away) bonus videos that do not reset with the period."""
        self._require_moderator(actor)
        reason = _check_reason(reason)
        if amount == 0 or abs(amount) > MAX_GRANT:
            raise Refusal(Text("quota.refusal.grant_amount", most=MAX_GRANT))
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await conn.lock(("member", actor.guild_id, member_id))  # the same lock as a submit
            # A grant lowers usage: its units are the negative of the videos given.
            ledger_id = await ledger_rows.insert_adjustment(
                conn, actor.guild_id, member_id, "grant", -amount, None, actor.user_id, reason, now
            )
            bonus = await quotas.bonus_balance(conn, actor.guild_id, member_id)
            member = f"<@{member_id}>"
            if amount > 0:
                detail = Text("quota.action.grant", amount, member=member)
            else:
                detail = Text("quota.action.take", -amount, member=member)
            if bonus >= 0:
                note = Text("quota.note.bonus_now", bonus=bonus)
            else:
                note = Text("quota.note.owes", owed=-bonus)
            action = Action(
                "grant", detail, target_user_id=member_id, reason=reason, ledger_id=ledger_id
            )
            return await self._record(conn, actor, action, now, note)

    async def reset(
        self,
        actor: Actor,
        member_id: int,
        reason: str | None = None,
    ) -> Done:
        """Give back what the member used this period. Videos still in progress keep their
        hold: they are charged or given back as usual when they finish."""
        self._require_moderator(actor)
        reason = _check_reason(reason)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await conn.lock(("member", actor.guild_id, member_id))  # the same lock as a submit
            period = await self.policy.period_in(conn, actor.guild_id)
            used = await quotas.period_usage(conn, actor.guild_id, member_id, period, now)
            pending = await quotas.pending_holds(conn, actor.guild_id, member_id, period, now)
            returned = used - pending
            if returned <= 0:
                nothing = Text(
                    "quota.refusal.nothing_to_reset",
                    member=f"<@{member_id}>",
                    period=this_period_text(period.kind),
                )
                if pending:
                    nothing = Text("quota.refusal.nothing_to_reset_pending", pending, first=nothing)
                raise Refusal(nothing)
            ledger_id = await ledger_rows.insert_adjustment(
                conn,
                actor.guild_id,
                member_id,
                "adjustment",
                -returned,
                period.day_key(now),
                actor.user_id,
                reason,
                now,
            )
            action = Action(
                "reset",
                Text(
                    "quota.action.reset",
                    returned,
                    member=f"<@{member_id}>",
                    period=this_period_text(period.kind),
                ),
                target_user_id=member_id,
                reason=reason,
                ledger_id=ledger_id,
            )
            return await self._record(conn, actor, action, now)

    # -- moderators: blocks ---------------------------------------------------------------

    async def block(self, actor: Actor, member_id: int, reason: str | None = None) -> Done:
        self._require_moderator(actor)
        reason = _check_reason(reason)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            if not await rule_rows.add_block(
                conn, actor.guild_id, member_id, reason, actor.user_id, now
            ):
                raise Refusal(Text("quota.refusal.already_blocked", member=f"<@{member_id}>"))
            action = Action(
                "block",
                Text("quota.action.block", member=f"<@{member_id}>"),
                target_user_id=member_id,
                reason=reason,
            )
            return await self._record(conn, actor, action, now, Text("quota.note.block"))

    async def unblock(self, actor: Actor, member_id: int, reason: str | None = None) -> Done:
        self._require_moderator(actor)
        reason = _check_reason(reason)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            if not await rule_rows.remove_block(conn, actor.guild_id, member_id):
                raise Refusal(Text("quota.refusal.not_blocked", member=f"<@{member_id}>"))
            action = Action(
                "unblock",
                Text("quota.action.unblock", member=f"<@{member_id}>"),
                target_user_id=member_id,
                reason=reason,
            )
            return await self._record(conn, actor, action, now)

    # -- moderators: prompt blocklist -----------------------------------------------------

    async def blocklist_add(self, actor: Actor, text: str, reason: str | None = None) -> Done:
        self._require_moderator(actor)
        term, reason = blocklist.normalise_term(text), _check_reason(reason)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            if await blocklist_rows.find(conn, actor.guild_id, term) is not None:
                raise Refusal(Text("quota.refusal.blocklist_duplicate"))
            if await blocklist_rows.count(conn, actor.guild_id) >= blocklist.MAX_ENTRIES_PER_GUILD:
                raise Refusal(
                    Text("quota.refusal.blocklist_full", most=blocklist.MAX_ENTRIES_PER_GUILD)
                )
            entry = await blocklist_rows.add(conn, actor.guild_id, term, actor.user_id, now)
            action = Action(
                "blocklist_add",
                Text("quota.action.blocklist_add", entry=entry.id),
                reason=reason,
                term=term,
            )
            return await self._record(conn, actor, action, now, f"(||{term}||)")

    async def blocklist_remove(self, actor: Actor, text: str, reason: str | None = None) -> Done:
        self._require_moderator(actor)
        term, reason = blocklist.normalise_term(text), _check_reason(reason)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            entry = await blocklist_rows.find(conn, actor.guild_id, term)
            if entry is None:
                raise Refusal(Text("quota.refusal.blocklist_missing"))
            await blocklist_rows.remove(conn, entry)
            action = Action(
                "blocklist_remove",
                Text("quota.action.blocklist_remove", entry=entry.id),
                reason=reason,
                term=term,
            )
            return await self._record(conn, actor, action, now, f"(||{term}||)")

    async def blocklist_list(self, actor: Actor, page: int = 1, locale: str | None = None) -> str:
        self._require_moderator(actor)
        async with self.db.reading() as conn:
            entries = await blocklist_rows.entries(conn, actor.guild_id)
        if not entries:
            return render(Text("quota.blocklist.empty"), locale)
        listed = [f"#{entry.id} ||{entry.term}||" for entry in entries]
        bounds = page_bounds([len(line) for line in listed], max_lines=BLOCKLIST_PAGE_SIZE)
        page, start, end = pick_page(bounds, page)
        pages = len(bounds)
        header = Text(
            "quota.blocklist.header",
            entries=Text("quota.entries", len(entries)),
            page=page,
            pages=pages,
        )
        lines = [render(header, locale), *listed[start:end]]
        if page < pages:
            lines.append(render(Text("quota.blocklist.more", next=page + 1), locale))
        return "\n".join(lines)

    # -- moderators: the server's language --------------------------------------------------

    async def set_language(self, actor: Actor, setting: str, reason: str | None = None) -> Done:
        """The language of the server's public messages: `auto` or one with a catalog."""
        self._require_moderator(actor)
        reason = _check_reason(reason)
        if setting not in languages.server_choices():
            choices = listing(language_name(name) for name in languages.server_choices())
            raise Refusal(Text("quota.refusal.language", choices=choices))
        now = self.clock.now()
        async with self.db.transaction() as conn:
            before = await languages.set_server_language(
                conn, actor.guild_id, setting, actor.user_id, now
            )
            if (before or AUTO) == setting:
                raise Refusal(
                    Text("quota.refusal.language_unchanged", language=language_name(setting))
                )
            action = Action(
                "set_language",
                Text(
                    "quota.action.set_language",
                    language=language_name(setting),
                    was=language_name(before or AUTO),
                ),
                reason=reason,
            )
            return await self._record(conn, actor, action, now)

    # -- moderators: log ------------------------------------------------------------------

    async def log(
        self,
        actor: Actor,
        member_id: int | None = None,
        page: int = 1,
        locale: str | None = None,
    ) -> str:
        self._require_moderator(actor)
        # Plain reads (no write lock), and the paging, which renders every line to measure
        # it, off the event loop: a server's log grows with every job.
        async with self.db.reading() as conn:
            everything = await audit_rows.log_entries(conn, actor.guild_id, member_id)
        found = await asyncio.to_thread(audit.page_of, everything, page, locale)
        member = f"<@{member_id}>" if member_id is not None else None
        if found.total == 0:
            if member is None:
                return render(Text("quota.log.empty"), locale)
            return render(Text("quota.log.empty_member", member=member), locale)
        entries = Text("quota.entries", found.total)
        header = (
            Text("quota.log.header", page=found.page, pages=found.pages, entries=entries)
            if member is None
            else Text(
                "quota.log.header_member",
                member=member,
                page=found.page,
                pages=found.pages,
                entries=entries,
            )
        )
        lines = [render(header, locale), *(audit.describe(e, locale) for e in found.entries)]
        if found.page < found.pages:
            lines.append(render(Text("quota.log.older", next=found.page + 1), locale))
        return "\n".join(lines)

    # -- shared ---------------------------------------------------------------------------

    async def _record(
        self,
        conn: Connection,
        actor: Actor,
        action: Action,
        now: float,
        note: Text | str | None = None,
    ) -> Done:
        action_id = await audit_rows.record(conn, actor.guild_id, actor.user_id, action, now)
        reply = (
            Text("quota.done", detail=action.detail)
            if note is None
            else Text("quota.done_with_note", detail=action.detail, note=note)
        )
        who = f"<@{actor.user_id}>"
        log_line = (
            Text("quota.log_line", actor=who, detail=action.detail)
            if not action.reason
            else Text(
                "quota.log_line_reason", actor=who, detail=action.detail, reason=action.reason
            )
        )
        return Done(reply, log_line, action_id)


def video_removal_record(actor: Actor, job: Job) -> Action | None:
    """What the audit log keeps of a video's removal: a moderator removing someone else's
    video is recorded; members removing their own are not."""
    if actor.user_id == job.user_id:
        return None
    return Action(
        action="remove_video",
        detail=Text("quota.action.remove_video", job=job.id, member=f"<@{job.user_id}>"),
        target_user_id=job.user_id,
    )


def allowance_text(limit: int, period: str) -> Text:
    """A limit for a period kind: "5 videos per day"."""
    return Text(f"quota.allowance.{period}", limit)


def this_period_text(period: str) -> Text:
    """The current period: "today", "this week", "this month"."""
    return Text(f"quota.period.this_{period}")


def language_name(setting: str) -> Text:
    return Text(f"common.language.{setting}")


def _was(before: int | None) -> Text | int:
    return Text("quota.was.not_set") if before is None else before


def status_lines(status: QuotaStatus, *, show_block_reason: bool, locale: str | None) -> list[str]:
    """`/quota view`: a member's allowance, usage, bonus, reset time and jobs in progress."""
    allowance, balance, kind = status.allowance, status.balance, status.allowance.period.kind
    if allowance.source == "member":
        source = Text("quota.source.member")
    elif allowance.source == "role":
        source = Text("quota.source.role", role=f"<@&{allowance.role_id}>")
    else:
        source = Text("quota.source.default")
    this_period = this_period_text(kind)
    left = (
        Text(
            "quota.view.left_with_bonus",
            left=balance.remaining,
            period_left=balance.period_left,
            period=this_period,
            bonus=balance.bonus,
        )
        if balance.bonus > 0
        else Text("quota.view.left", left=balance.remaining)
    )
    lines = [
        Text("quota.view.title", member=f"<@{status.member_id}>"),
        Text(
            "quota.view.allowance", allowance=allowance_text(allowance.limit, kind), source=source
        ),
        Text("quota.view.usage", period=this_period, used=max(0, balance.used), left=left),
    ]
    if balance.bonus > 0:
        lines.append(Text("quota.view.bonus", balance.bonus))
    if balance.owed:
        lines.append(Text("quota.view.owed", balance.owed))
    lines.append(Text("quota.view.resets", at=int(status.resets_at)))
    if status.active:
        separator = render(Text("quota.view.separator"), locale)
        jobs = separator.join(render(_describe_job(job), locale) for job in status.active)
        lines.append(Text("quota.view.in_progress", jobs=jobs))
    else:
        lines.append(Text("quota.view.in_progress_none"))
    if status.block is not None:
        since = int(status.block.blocked_at)
        if show_block_reason and status.block.reason:
            lines.append(Text("quota.view.blocked_reason", at=since, reason=status.block.reason))
        else:
            lines.append(Text("quota.view.blocked", at=since))
    return [render(line, locale) for line in lines]


_JOB_STATES = {
    JobState.QUEUED: "queued",
    JobState.SUBMITTED: "submitted",
    JobState.RUNNING: "running",
    JobState.SUCCEEDED: "succeeded",
}


def _describe_job(job: Job) -> Text:
    state = Text(f"quota.job.{_JOB_STATES.get(job.state, 'running')}")
    if job.state is JobState.RUNNING and job.progress is not None:
        state = Text("quota.job.running_progress", progress=job.progress)
    if job.status_message_id is None:
        return Text("quota.job.plain", id=job.id, state=state)
    link = f"https://discord.com/channels/{job.guild_id}/{job.channel_id}/{job.status_message_id}"
    return Text("quota.job.linked", id=job.id, link=link, state=state)


def _check_limit(limit: int) -> int:
    if not 0 <= limit <= MAX_LIMIT:
        raise Refusal(Text("quota.refusal.limit", most=MAX_LIMIT))
    return limit


def _check_reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    text = " ".join(reason.split())
    if len(text) > MAX_REASON_CHARS:
        raise Refusal(Text("quota.refusal.reason", most=MAX_REASON_CHARS))
    return text or None
