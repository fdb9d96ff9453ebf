"""`/quota`'s decisions, free of Discord: plain ids in, a reply out, or `Refusal`.

Every moderator action changes its rule and writes its one audit row in the same transaction,
so the record can never miss a change or show one that did not happen. Who is a moderator is
decided here, at run time, from what the member has now (see `Actor`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot import audit, blocklist, quota_rules, quotas
from bot.audit import Action
from bot.clock import Clock
from bot.errors import Refusal
from bot.jobs import JobStore
from bot.models import Job, JobState
from bot.pages import page_bounds, pick_page
from bot.quotas import Allowance, Balance, QuotaPolicy
from bot.storage import audit as audit_rows
from bot.storage import blocklist as blocklist_rows
from bot.storage import ledger as ledger_rows
from bot.storage import rules as rule_rows
from bot.storage.connection import Connection
from bot.storage.database import Database

MAX_LIMIT = 1000
MAX_GRANT = 1000
MAX_REASON_CHARS = 200
BLOCKLIST_PAGE_SIZE = 40
PERIODS = ("day", "week", "month")

NOT_A_MODERATOR = (
    "Only moderators can do that: it needs the Manage Server permission or one of this "
    "server's moderator roles."
)


@dataclass(frozen=True)
class Actor:
    """The member running a command, as they are right now."""

    guild_id: int
    user_id: int
    role_ids: tuple[int, ...] = ()
    manage_guild: bool = False


@dataclass(frozen=True)
class Done:
    reply: str  # for the moderator, privately
    log_line: str  # for QUOTA_LOG_CHANNEL_ID; never holds a blocklist term
    action_id: int


@dataclass(frozen=True)
class QuotaStatus:
    member_id: int
    allowance: Allowance
    balance: Balance
    resets_at: float
    active: list[Job]
    block: quota_rules.Block | None


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
            raise Refusal("Only moderators can look at another member's quota.")
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

    async def view(self, actor: Actor, member_id: int, member_role_ids: tuple[int, ...]) -> str:
        status = await self.status(actor, member_id, member_role_ids)
        return render_status(status, show_block_reason=self.is_moderator(actor))

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
            was = "not set" if before is None else str(before)
            action = Action(
                "set_limit",
                f"set <@{member_id}>'s personal limit to {limit} (was {was})",
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
                raise Refusal(f"<@{member_id}> has no personal limit to clear.")
            await rule_rows.clear_override(conn, actor.guild_id, member_id)
            action = Action(
                "clear_limit",
                f"cleared <@{member_id}>'s personal limit (was {before}); "
                "their roles or the server default apply again",
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
            raise Refusal(f"The period must be one of: {', '.join(PERIODS)}.")
        now = self.clock.now()
        async with self.db.transaction() as conn:
            before = await rule_rows.guild_default(conn, actor.guild_id)
            await rule_rows.set_guild_default(
                conn, actor.guild_id, limit, period, actor.user_id, now
            )
            if before is None:
                defaults = self.policy.defaults
                was = f"{defaults.limit} {quotas.per(defaults.period)} from the bot's settings"
            else:
                was = f"{before.limit} {quotas.per(before.period)}"
            action = Action(
                "set_default",
                f"set the server default to {limit} video(s) {quotas.per(period)} (was {was})",
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
            was = "not set" if before is None else str(before)
            action = Action(
                "set_role",
                f"set the allowance of <@&{role_id}> to {limit} (was {was})",
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
                raise Refusal(f"<@&{role_id}> has no allowance to remove.")
            await rule_rows.clear_role_limit(conn, actor.guild_id, role_id)
            action = Action(
                "clear_role",
                f"removed the allowance of <@&{role_id}> (was {before})",
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
            raise Refusal(f"The amount must be between -{MAX_GRANT} and {MAX_GRANT}, and not 0.")
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await conn.lock(("member", actor.guild_id, member_id))  # the same lock as a submit
            # A grant lowers usage: its units are the negative of the videos given.
            ledger_id = await ledger_rows.insert_adjustment(
                conn, actor.guild_id, member_id, "grant", -amount, None, actor.user_id, reason, now
            )
            bonus = await quotas.bonus_balance(conn, actor.guild_id, member_id)
            if amount > 0:
                detail = f"granted {amount} bonus video(s) to <@{member_id}>"
            else:
                detail = f"took {-amount} bonus video(s) from <@{member_id}>"
            if bonus >= 0:
                note = f"Their bonus is now {bonus}."
            else:
                note = f"They now owe {-bonus}, taken from their next allowance."
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
                note = (
                    f" Their {pending} video(s) in progress are charged or given back when "
                    "they finish."
                    if pending
                    else ""
                )
                raise Refusal(f"<@{member_id}> has nothing to give back for {period.noun}.{note}")
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
                f"reset <@{member_id}>'s usage for {period.noun} ({returned} video(s) given back)",
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
                raise Refusal(f"<@{member_id}> is already blocked.")
            action = Action(
                "block",
                f"blocked <@{member_id}> from making videos",
                target_user_id=member_id,
                reason=reason,
            )
            return await self._record(
                conn, actor, action, now, "Videos already in progress still finish."
            )

    async def unblock(self, actor: Actor, member_id: int, reason: str | None = None) -> Done:
        self._require_moderator(actor)
        reason = _check_reason(reason)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            if not await rule_rows.remove_block(conn, actor.guild_id, member_id):
                raise Refusal(f"<@{member_id}> is not blocked.")
            action = Action(
                "unblock",
                f"unblocked <@{member_id}>",
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
                raise Refusal("That is already on the blocklist.")
            if await blocklist_rows.count(conn, actor.guild_id) >= blocklist.MAX_ENTRIES_PER_GUILD:
                raise Refusal(
                    f"The blocklist is full ({blocklist.MAX_ENTRIES_PER_GUILD} entries). "
                    "Remove some first."
                )
            entry = await blocklist_rows.add(conn, actor.guild_id, term, actor.user_id, now)
            action = Action(
                "blocklist_add",
                f"added entry #{entry.id} to the prompt blocklist",
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
                raise Refusal(
                    "That is not on the blocklist. `/quota blocklist list` shows the entries."
                )
            await blocklist_rows.remove(conn, entry)
            action = Action(
                "blocklist_remove",
                f"removed entry #{entry.id} from the prompt blocklist",
                reason=reason,
                term=term,
            )
            return await self._record(conn, actor, action, now, f"(||{term}||)")

    async def blocklist_list(self, actor: Actor, page: int = 1) -> str:
        self._require_moderator(actor)
        async with self.db.transaction() as conn:
            entries = await blocklist_rows.entries(conn, actor.guild_id)
        if not entries:
            return "The prompt blocklist is empty. Add entries with `/quota blocklist add`."
        listed = [f"#{entry.id} ||{entry.term}||" for entry in entries]
        bounds = page_bounds([len(line) for line in listed], max_lines=BLOCKLIST_PAGE_SIZE)
        page, start, end = pick_page(bounds, page)
        pages = len(bounds)
        lines = [
            f"**Prompt blocklist** · {_count(len(entries), 'entry', 'entries')} · "
            f"page {page} of {pages} "
            "(hidden: click to reveal)",
            *listed[start:end],
        ]
        if page < pages:
            lines.append(f"More with `/quota blocklist list page:{page + 1}`.")
        return "\n".join(lines)

    # -- moderators: log ------------------------------------------------------------------

    async def log(self, actor: Actor, member_id: int | None = None, page: int = 1) -> str:
        self._require_moderator(actor)
        async with self.db.transaction() as conn:
            everything = await audit_rows.log_entries(conn, actor.guild_id, member_id)
            found = audit.page_of(everything, page)
        whose = f" for <@{member_id}>" if member_id is not None else ""
        if found.total == 0:
            return f"Nothing in the quota log{whose} yet."
        lines = [
            f"**Quota log{whose}** · newest first · page {found.page} of {found.pages} "
            f"({_count(found.total, 'entry', 'entries')})",
            *(audit.describe(entry) for entry in found.entries),
        ]
        if found.page < found.pages:
            lines.append(f"Older entries: `/quota log page:{found.page + 1}`.")
        return "\n".join(lines)

    # -- shared ---------------------------------------------------------------------------

    async def _record(
        self,
        conn: Connection,
        actor: Actor,
        action: Action,
        now: float,
        note: str | None = None,
    ) -> Done:
        action_id = await audit_rows.record(conn, actor.guild_id, actor.user_id, action, now)
        reply = f"✅ You {action.detail}."
        if note:
            reply += f" {note}"
        log_line = f"<@{actor.user_id}> {action.detail}"
        if action.reason:
            log_line += f" — reason: {action.reason}"
        return Done(reply, log_line, action_id)


def video_removal_record(actor: Actor, job: Job) -> Action | None:
    """What the audit log keeps of a video's removal: a moderator removing someone else's
    video is recorded; members removing their own are not."""
    if actor.user_id == job.user_id:
        return None
    return Action(
        action="remove_video",
        detail=f"removed the video of job #{job.id} by <@{job.user_id}>",
        target_user_id=job.user_id,
    )


def render_status(status: QuotaStatus, *, show_block_reason: bool) -> str:
    allowance, balance, period = status.allowance, status.balance, status.allowance.period
    if allowance.source == "member":
        source = "personal limit"
    elif allowance.source == "role":
        source = f"from the role <@&{allowance.role_id}>"
    else:
        source = "server default"
    left = f"**{balance.remaining}**"
    if balance.bonus > 0:
        left += f" ({balance.period_left} {period.noun} + {balance.bonus} bonus)"
    lines = [
        f"**Video quota for <@{status.member_id}>**",
        f"Allowance: {allowance.limit} {period.per} ({source})",
        f"Used {period.noun}: {max(0, balance.used)} · Left: {left}",
    ]
    if balance.bonus > 0:
        lines.append(f"Bonus videos: {balance.bonus} (kept when the allowance resets)")
    if balance.owed:
        lines.append(
            f"Owed: {balance.owed} video(s) from a moderator's deduction, "
            "taken from the next allowance"
        )
    reset = int(status.resets_at)
    lines.append(f"Resets <t:{reset}:R> (<t:{reset}:f>)")
    if status.active:
        lines.append("In progress: " + ", ".join(_describe_job(job) for job in status.active))
    else:
        lines.append("In progress: nothing")
    if status.block is not None:
        line = f"⛔ Blocked from making videos since <t:{int(status.block.blocked_at)}:f>"
        if show_block_reason and status.block.reason:
            line += f" — reason: {status.block.reason}"
        lines.append(line)
    return "\n".join(lines)


_JOB_STATES = {
    JobState.QUEUED: "queued",
    JobState.SUBMITTED: "waiting at the video service",
    JobState.RUNNING: "generating",
    JobState.SUCCEEDED: "being posted",
}


def _describe_job(job: Job) -> str:
    state = _JOB_STATES.get(job.state, job.state.value)
    if job.state is JobState.RUNNING and job.progress is not None:
        state += f", {job.progress}%"
    name = f"job #{job.id}"
    if job.status_message_id is not None:
        link = f"https://discord.com/channels/{job.guild_id}/{job.channel_id}"
        name = f"[{name}]({link}/{job.status_message_id})"
    return f"{name} ({state})"


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def _check_limit(limit: int) -> int:
    if not 0 <= limit <= MAX_LIMIT:
        raise Refusal(f"A limit must be between 0 and {MAX_LIMIT} (0 stops generation).")
    return limit


def _check_reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    text = " ".join(reason.split())
    if len(text) > MAX_REASON_CHARS:
        raise Refusal(f"A reason can be at most {MAX_REASON_CHARS} characters long.")
    return text or None
